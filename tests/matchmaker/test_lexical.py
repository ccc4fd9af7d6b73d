"""Sparse helpers of the lexical signal."""

from __future__ import annotations

import numpy as np

from matchmaker import build_index, embed_profiles, profile_from_dict
from matchmaker.embedding import HashingEmbedder
from matchmaker.lexical import LexicalModel, range_positions
from matchmaker.text import build_lexical_texts


def test_range_positions_lays_ranges_end_to_end():
    starts, lengths = np.array([5, 0, 9, 2]), np.array([3, 0, 1, 2])
    expected = [p for s, n in zip(starts, lengths) for p in range(s, s + n)]
    assert range_positions(starts, lengths).tolist() == expected == [5, 6, 7, 9, 2, 3]
    assert range_positions(np.array([], int), np.array([], int)).tolist() == []


CORPUS = ["Rooftop solar power for factories", "", "   ", "高効率ターボ冷凍機を導入する",
          "LED lighting retrofit; solar PV", "Energy-efficient chillers and boilers", "",
          "Waste heat recovery for textile dyeing (排熱回収)"]


def test_fit_transform_is_fit_then_transform_with_each_text_analysed_once(monkeypatch):
    fitted = LexicalModel.fit(CORPUS)
    expected = fitted.transform(CORPUS)
    analysed = []
    model, rows = LexicalModel.fit_transform(CORPUS)
    assert list(model.feature_names()) == list(fitted.feature_names())
    # The same rows, blank texts empty, each row's terms in column order as transform() gives them.
    assert rows.shape == expected.shape and rows.dtype == expected.dtype == np.float32
    for name in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(rows, name), getattr(expected, name)), name
    analyzer = model.vectorizer.analyzer
    monkeypatch.setattr(type(analyzer), "__call__", lambda self, text: analysed.append(text) or ["term"])
    LexicalModel.fit_transform(CORPUS)
    assert sorted(analysed) == sorted(t for t in CORPUS if t.strip())  # once each; blank texts not at all


def test_fit_transform_without_any_usable_term_gives_empty_rows():
    model, rows = LexicalModel.fit_transform(["", "  ", "の"])
    assert rows.shape[0] == 3 and rows.nnz == 0 and len(model.feature_names()) == 1


def test_an_index_fits_its_lexical_model_on_both_sides_and_reads_each_side_from_it():
    profiles = [profile_from_dict(dict(id=f"o{i}", name=f"Org {i}", kind=kind, country="TH", offers=offers,
                                       needs=needs))
                for i, (kind, offers, needs) in enumerate([
                    ("japanese_company", ["Rooftop solar power"], []),
                    ("partner_company", [], ["Solar power for a food factory", "LED lighting"]),
                    ("japanese_company", ["高効率ターボ冷凍機"], ["Local installer"]),
                ])]
    index = build_index(profiles, embed_profiles(profiles, HashingEmbedder(dim=32)))
    offer_texts, need_texts = zip(*(build_lexical_texts(p) for p in index.profiles))
    refit = LexicalModel.fit([*offer_texts, *need_texts])
    assert list(index.lexical.feature_names()) == list(refit.feature_names())
    assert (index.lex_offer != refit.transform(list(offer_texts))).nnz == 0
    assert (index.lex_need != refit.transform(list(need_texts))).nnz == 0
