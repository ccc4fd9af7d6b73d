"""Ranking, reciprocity, exclusion and reasons on a hand-made set."""

from __future__ import annotations

import numpy as np

from matchmaker import (
    HashingEmbedder, build_index, can_match, embed_profiles, format_reason, profile_from_dict, recommend,
    recommend_all, refresh_index,
)
from matchmaker.profiles import HOST, PROVIDER


def test_chiller_maker_ranks_first_for_cooling_need(index):
    matches = recommend(index, "p-textile", k=5)
    companies = [m.id for m in matches if m.id.startswith("j-")]
    assert companies[0] == "j-chiller"
    assert matches[0].score >= matches[-1].score


def test_never_same_side_and_supporters_for_both(index):
    for pid, ms in recommend_all(index, k=10).items():
        me = index.profile(pid)
        for m in ms:
            other = index.profile(m.id)
            assert can_match(me, other) and other.side != me.side
    host_ids = {m.id for m in recommend(index, "p-textile", k=10)}
    provider_ids = {m.id for m in recommend(index, "j-chiller", k=10)}
    assert "b-bank" in host_ids and "b-bank" in provider_ids
    bank = {index.profile(m.id).side for m in recommend(index, "b-bank", k=10)}
    assert bank == {HOST, PROVIDER}


def test_excluded_ids_are_dropped(index):
    ids = [m.id for m in recommend(index, "p-textile", k=10, exclude={"j-chiller", "b-bank"})]
    assert "j-chiller" not in ids and "b-bank" not in ids and ids


def test_reasons_quote_offer_need_country_category(index):
    match = next(m for m in recommend(index, "p-textile", k=5) if m.id == "j-chiller")
    texts = [format_reason(r, country_names={"ID": "Indonesia"}) for r in match.reasons]
    assert any("centrifugal chillers" in t and "textile plant" in t for t in texts), texts
    assert "works in Indonesia" in texts
    assert "both in energy efficiency" in texts
    assert "shared sector: textiles" in texts
    viewer = next(m for m in recommend(index, "j-chiller", k=5) if m.id == "p-textile")
    texts = [format_reason(r, translate=lambda s: s.replace("needs", "NEEDS", 1)) for r in viewer.reasons]
    assert any(t.startswith("NEEDS “cooling energy savings") for t in texts), texts


def test_reciprocity_prefers_mutual_interest(embedder):
    rows = [
        dict(id="p-a", name="A", kind="partner_company", country="ID", needs=["solar power for a factory"]),
        # Offers the same, but what it is looking for (a cement partner) is nothing A has.
        dict(id="j-one-way", name="One way", kind="japanese_company", country="JP",
             offers=["solar power systems for factories"], needs=["cement kiln operator for waste heat trials"]),
        dict(id="j-mutual", name="Mutual", kind="japanese_company", country="JP",
             offers=["solar power systems for factories"]),
    ]
    ps = [profile_from_dict(r) for r in rows]
    idx = build_index(ps, embed_profiles(ps, embedder))
    ms = recommend(idx, "p-a", k=2)
    assert [m.id for m in ms] == ["j-mutual", "j-one-way"]
    one_way = ms[1].components
    assert one_way["interest_self"] > one_way["interest_other"]


def test_refresh_index_reuses_vectors_and_updates(index, embedder):
    new = profile_from_dict(dict(id="j-new", name="New", kind="japanese_company", country="JP",
                                 offers=["cooling energy savings at a textile plant with chillers"],
                                 technology_categories=["energy_efficiency"], target_countries=["ID"]))
    idx2 = refresh_index(index, [new], embed_profiles([new], embedder), removed=["j-solar"])
    assert "j-solar" not in idx2 and "j-new" in idx2
    assert np.array_equal(idx2.vectors("j-chiller").offer, index.vectors("j-chiller").offer)
    assert "j-new" in [m.id for m in recommend(idx2, "p-textile", k=3)]


def test_hashing_embedder_is_deterministic_and_unit():
    e = HashingEmbedder(dim=64)
    a, b, c = e.encode(["solar power plant", "solar power station", "bank loan terms"])
    assert np.allclose(e.encode(["solar power plant"])[0], a)
    assert abs(np.linalg.norm(a) - 1) < 1e-5
    assert a @ b > a @ c
