"""Ranking rules around the score: the floor, the exact-wording rule, supporters' balance, pair scoring."""

from __future__ import annotations

from dataclasses import replace

from matchmaker import DEFAULT_WEIGHTS, HashingEmbedder, build_index, embed_profiles, profile_from_dict, recommend
from matchmaker.engine import DEFAULT_FLOOR, score_pairs


def _index(rows):
    profiles = [profile_from_dict(r) for r in rows]
    return build_index(profiles, embed_profiles(profiles, HashingEmbedder(64)))


def test_floor_leaves_out_weak_matches(index):
    everything = recommend(index, "p-textile", k=10, floor=0.0)
    kept = recommend(index, "p-textile", k=10)
    assert [m.id for m in kept] == [m.id for m in everything if m.score > DEFAULT_FLOOR]
    assert len(kept) < len(everything)


def test_supporters_see_both_sides_in_turn():
    rows = [dict(id="bank", name="Bank", kind="financial_institution", country="JP",
                 offers=["loans for solar power plants"], needs=["solar power projects to finance"],
                 technology_categories=["renewable_energy"], target_countries=["TH"])]
    # Many strong providers, a few weaker hosts: a plain ranking would fill the top with providers.
    rows += [dict(id=f"jp{i}", name=f"JP {i}", kind="japanese_company", country="JP",
                  offers=[f"solar power plants and solar power projects, model {i}"],
                  technology_categories=["renewable_energy"], target_countries=["TH"]) for i in range(12)]
    rows += [dict(id=f"th{i}", name=f"TH {i}", kind="partner_company", country="TH",
                  needs=[f"rooftop solar for factory {i}"], technology_categories=["renewable_energy"])
             for i in range(4)]
    index = _index(rows)
    sides = [index.profile(m.id).side for m in recommend(index, "bank", k=8, floor=0.0)]
    assert sides.count("host") == 4 and sides.count("provider") == 4
    for n in range(1, len(sides) + 1):
        assert abs(sides[:n].count("host") - sides[:n].count("provider")) <= 1


def test_exact_wording_moves_the_rare_phrase_first():
    rows = [dict(id="host", name="Host", kind="partner_company", country="TH",
                 needs=["Mechanical vapor recompression evaporator for a caustic soda plant"],
                 technology_categories=["energy_efficiency"]),
            dict(id="rare", name="Rare", kind="japanese_company", country="JP",
                 offers=["caustic soda evaporator retrofit"], target_countries=["VN"]),
            dict(id="near", name="Near", kind="japanese_company", country="JP",
                 offers=["energy efficiency for plants"], technology_categories=["energy_efficiency"],
                 target_countries=["TH"])]
    index = _index(rows)
    plain = recommend(index, "host", k=2, floor=0.0, weights=replace(DEFAULT_WEIGHTS, exact_rank=-1))
    ruled = recommend(index, "host", k=2, floor=0.0)
    # By score the near-topic maker with a country fit leads; the only candidate sharing the specific phrase moves up.
    assert [m.id for m in plain] == ["near", "rare"] and plain[0].score > plain[1].score
    assert [m.id for m in ruled] == ["rare", "near"]
    assert ruled[0].reasons[0].code == "closest_wording" and "caustic" in ruled[0].reasons[0].params["terms"]


def test_score_pairs_matches_recommend_components(index):
    full = {m.id: m.components for m in recommend(index, "p-textile", k=len(index), floor=0.0, with_reasons=False)}
    pairs = score_pairs(index, "p-textile", ["j-chiller", "j-solar", "p-mall"])
    assert set(pairs) == {"j-chiller", "j-solar"}  # the same side is never scored
    for other, components in pairs.items():
        for name in ("dense", "lexical", "category", "country", "sector"):
            assert abs(components[name] - full[other][name]) < 1e-5
