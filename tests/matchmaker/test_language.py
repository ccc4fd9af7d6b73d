"""Japanese text in matching: SudachiPy words, the bilingual glossary, English glosses, honest reasons, no codes."""

from __future__ import annotations

import csv

import pytest

from matchmaker import HashingEmbedder, Reason, build_index, embed_profiles, format_reason, profile_from_dict, recommend
from matchmaker.language import (
    GLOSSARY_FILE,
    CONCEPT_PREFIX,
    default_glossary,
    embedding_text,
    is_japanese,
    japanese_share,
    japanese_tokens,
    technology_overlap,
)
from matchmaker.reasons import TEMPLATES, explain, quotable
from matchmaker.text import build_texts


def test_japanese_tokens_keep_compounds_and_their_parts():
    tokens = japanese_tokens("工場の屋上に太陽光発電システムと高効率ターボ冷凍機を導入する")
    assert "太陽光発電" in tokens and "太陽" in tokens  # the compound and a part of it
    assert "冷凍機" in tokens and "屋上" in tokens
    assert "の" not in tokens and "を" not in tokens and "する" not in tokens  # particles and light verbs dropped


def test_glossary_finds_the_same_concept_in_both_languages():
    g = default_glossary()
    assert g.find("高効率ターボ冷凍機を導入") == ["high_efficiency", "centrifugal_chiller"]
    assert g.find("High-efficiency centrifugal chillers") == ["high_efficiency", "centrifugal_chiller"]
    assert "solar_pv" in g.find("Rooftop Solar PV Systems") and "rooftop" in g.find("屋上太陽光発電")
    assert g.find("solar inverter") == ["solar_pv", "inverter"]  # words stay whole: "pv" is not found in "pvc"
    assert "solar_pv" not in g.find("PVC pipes")


def test_a_wording_runs_across_spaces_and_hyphens_only():
    g = default_glossary()
    assert g.find("heat - pump") == g.find("heat-pump") == g.find("Heat  pumps") == ["heat_pump"]
    assert g.find("heat, pump") == ["pump"]  # a comma ends a wording: "heat" alone names nothing
    assert g.find("waste heat. roof-top") == ["waste_heat", "rooftop"]


def test_the_words_a_glossary_keeps_are_bounded(monkeypatch):
    from matchmaker import language

    monkeypatch.setattr(language, "MAX_KEPT_WORDS", 50)
    g = language.load_glossary()
    many = " ".join(f"word{n}" for n in range(500)) + " rooftop solar panels"
    assert g.find(many) == ["rooftop", "solar_pv"] and len(g._starts) == 50
    assert g.find(many) == ["rooftop", "solar_pv"]  # answers past the bound are worked out again, the same


def test_every_glossary_row_names_its_source():
    with open(GLOSSARY_FILE, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) > 100 and len({r["concept"] for r in rows}) == len(rows)
    for r in rows:
        assert r["en"] and r["ja"] and r["source"].startswith("en: ") and " | ja: " in r["source"], r


def test_japanese_share_counts_kana_and_kanji_among_letters():
    assert japanese_share("Rooftop solar, 1.5 MW") == 0.0 and japanese_share("") == 0.0 and japanese_share("42") == 0.0
    assert japanese_share("CO₂ reduction – café") == 0.0  # not ASCII, still no Japanese
    assert japanese_share("太陽光") == 1.0
    assert japanese_share("ab太陽") == 0.5  # two of four letters
    assert japanese_share("ＬＥＤ照明") == pytest.approx(2 / 5)  # full-width Latin letters are letters too


def test_japanese_text_is_embedded_as_its_english_gloss():
    assert is_japanese("ライター工場に0.95MW屋上太陽光発電システムを導入") and not is_japanese("Rooftop solar (屋上)")
    gloss = embedding_text("ライター工場に0.95MW屋上太陽光発電システムを導入")
    assert gloss.startswith("factory, rooftop, solar power") and "mw" in gloss
    assert embedding_text("Rooftop solar for a factory") == "Rooftop solar for a factory"
    assert embedding_text("御社の歴史") == "御社の歴史"  # no known concept: embedded as written


def test_japanese_offer_matches_english_need_through_the_glossary():
    rows = [
        dict(id="host", name="Host", kind="partner_company", country="TH",
             needs=["Introduction of rooftop solar power system in a food factory"]),
        dict(id="jp-solar", name="Solar JP", kind="japanese_company", country="JP",
             offers=["食品工場に屋上太陽光発電システムを導入"], target_countries=["VN"]),
        dict(id="jp-boiler", name="Boiler JP", kind="japanese_company", country="JP",
             offers=["セメント工場の排熱回収発電"], target_countries=["VN"]),
    ]
    profiles = [profile_from_dict(r) for r in rows]
    embedder = HashingEmbedder(64)
    index = build_index(profiles, embed_profiles(profiles, embedder))
    ranked = recommend(index, "host", k=3, floor=0.0)
    assert ranked[0].id == "jp-solar" and ranked[0].components["lexical"] > 0.1
    # The Japanese offer is embedded through its English gloss.
    assert build_texts(profiles[1]).offer_items[0].startswith("food processing, factory, rooftop, solar power")


def test_reason_quotes_only_genuinely_close_pairs():
    assert quotable(0.7, "cookstoves for households", "chiller optimisation")  # a high cosine on its own
    assert not quotable(0.5, "Improved cookstove programme", "Chiller plant optimization")
    assert quotable(0.5, "Rooftop solar for a factory", "屋上太陽光発電システム")
    assert technology_overlap("equity co-investors for clean energy", "inverter centrifugal chillers") == 0


def test_reasons_show_no_codes_in_either_language():
    viewer = profile_from_dict(dict(id="v", name="V", kind="partner_company", country="TH",
                                    needs=["Cooling for a textile plant"], sectors=["industry"],
                                    technology_categories=["energy_efficiency"], target_countries=["TH"]))
    other = profile_from_dict(dict(id="o", name="O", kind="japanese_company", country="JP",
                                   offers=["高効率ターボ冷凍機"], sectors=["industry"],
                                   technology_categories=["energy_efficiency", "fluorocarbons"],
                                   target_countries=["TH"]))
    reasons = explain(viewer, other, (0.8, 0, 0), (-1.0, -1, -1),
                      [CONCEPT_PREFIX + "centrifugal_chiller", "chiller"])
    assert {r.code for r in reasons} >= {"offer_for_need", "works_in", "shared_category"}
    names = {"en": ({"TH": "Thailand"}, {"energy_efficiency": "Energy efficiency"}),
             "ja": ({"TH": "タイ"}, {"energy_efficiency": "省エネルギー"})}
    for language, (countries, categories) in names.items():
        for reason in [*reasons, Reason("shared_terms", {"terms": CONCEPT_PREFIX + "centrifugal_chiller"}),
                       Reason("shared_sector", {"sectors": "industry"})]:
            text = format_reason(reason, country_names=countries, category_names=categories, language=language)
            assert CONCEPT_PREFIX not in text and "energy_efficiency" not in text and " TH" not in text, text
    ja = format_reason(Reason("shared_terms", {"terms": CONCEPT_PREFIX + "centrifugal_chiller"}), language="ja")
    assert "ターボ冷凍機" in ja
    assert set(TEMPLATES) >= {"closest_wording", "offer_for_need", "need_for_offer"}
