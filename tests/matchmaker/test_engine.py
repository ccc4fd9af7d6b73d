"""Ranking, reciprocity, exclusion and reasons on a hand-made set."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from matchmaker import (
    DEFAULT_WEIGHTS, HashingEmbedder, ProfileVectors, build_index, can_match, embed_profiles, format_reason,
    profile_from_dict, recommend, recommend_all, refresh_index,
)
from matchmaker.profiles import HOST, PROVIDER, SUPPORTER
from matchmaker.scoring import scan
from tests.matchmaker.reference_scoring import block_scores, score_block


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
    assert "shared sector: Textiles" in texts
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


def _random_index(n: int = 240, dim: int = 16, seed: int = 7):
    """An index of random profiles mixing every kind and every vector pattern (offer, need, both)."""
    rng = np.random.default_rng(seed)
    kinds = ["japanese_company", "partner_company", "financial_institution", "consultant", "public_body"]
    words = [f"term{i}" for i in range(40)]
    countries = ["ID", "VN", "TH", "KE", "MN"]
    profiles, vectors = [], {}
    for i in range(n):
        kind = kinds[i % 5] if i % 7 else "partner_company"
        offers = tuple(" ".join(rng.choice(words, 4)) for _ in range(i % 3)) if kind != "partner_company" else ()
        needs = tuple(" ".join(rng.choice(words, 4)) for _ in range((i // 3) % 3)) if kind != "japanese_company" \
            or i % 4 == 0 else ()
        p = profile_from_dict(dict(
            id=f"o{i}", name=f"O{i}", kind=kind, country="JP" if kind == "japanese_company" else countries[i % 5],
            offers=offers, needs=needs, sectors=[f"s{i % 4}"], technology_categories=[["waste", "water", "air"][i % 3]],
            target_countries=[countries[(i + j) % 5] for j in range(i % 3)]))
        unit = rng.standard_normal((2 + len(offers) + len(needs), dim)).astype(np.float32)
        unit /= np.linalg.norm(unit, axis=1, keepdims=True)
        vectors[p.id] = ProfileVectors(unit[0] if offers or i % 2 else None, unit[1] if needs else None,
                                       unit[2:2 + len(offers)], unit[2 + len(offers):])
        profiles.append(p)
    return build_index(profiles, vectors)


def test_scan_scores_equal_reference_block_scores():
    idx = _random_index()
    for org in idx.profiles[::7]:
        a = idx.row[org.id]
        found = scan(idx, a, DEFAULT_WEIGHTS)
        reference = block_scores(idx, a, score_block(idx, a, 0, len(idx)), DEFAULT_WEIGHTS)
        rows = idx.candidates[org.side].rows
        # scan drops the harmonic mean's factor 2, which does not change the order.
        assert np.allclose(2 * found.scores, reference[rows], atol=1e-5)
        assert all(idx.profiles[r].side != org.side for r in rows)
        assert len(rows) == sum(p.side != org.side for p in idx.profiles)


def test_recommend_all_equals_recommend_per_query():
    idx = _random_index()
    ids = [p.id for p in idx.profiles[::5]]
    exclude = {ids[0]: {m.id for m in recommend(idx, ids[0], k=2)}}
    batched = recommend_all(idx, k=5, exclude=exclude, ids=ids)
    assert list(batched) == ids
    for i in ids:
        single = recommend(idx, i, k=5, exclude=exclude.get(i, ()))
        assert [m.id for m in batched[i]] == [m.id for m in single]
        assert [m.score for m in batched[i]] == pytest.approx([m.score for m in single], abs=1e-6)
        assert [m.reasons for m in batched[i]] == [m.reasons for m in single]
    assert not exclude[ids[0]] & {m.id for m in batched[ids[0]]}


def test_supporter_exclusion_reaches_both_candidate_slices():
    idx = _random_index()
    supporter = next(p for p in idx.profiles if p.side == SUPPORTER)
    first = recommend(idx, supporter.id, k=40, with_reasons=False)
    hosts = [m.id for m in first if idx.profile(m.id).side == HOST][:2]
    providers = [m.id for m in first if idx.profile(m.id).side == PROVIDER][:2]
    assert hosts and providers
    again = {m.id for m in recommend(idx, supporter.id, k=40, exclude=set(hosts + providers), with_reasons=False)}
    assert not again & set(hosts + providers)


def test_index_reads_vector_rows_only():
    idx = _random_index()
    for side in (HOST, SUPPORTER, PROVIDER):
        lo, hi = idx.offer_span[side]
        s_lo, s_hi = idx.side_range[side]
        with_offer = {i for i in range(s_lo, s_hi) if idx._vectors[i].offer is not None}
        assert with_offer == set(range(lo, hi))
        lo, hi = idx.need_span[side]
        assert {i for i in range(s_lo, s_hi) if idx._vectors[i].need is not None} == set(range(lo, hi))


def test_recommend_from_threads_equals_serial():
    idx = _random_index()
    ids = [p.id for p in idx.profiles[::3]]
    serial = {i: [m.id for m in recommend(idx, i, k=5, with_reasons=False)] for i in ids}

    def run(chunk):
        return {i: [m.id for m in recommend(idx, i, k=5, with_reasons=False)] for i in chunk}

    with ThreadPoolExecutor(max_workers=4) as pool:
        parts = list(pool.map(run, [ids[j::4] for j in range(4)] * 3))
    for part in parts:
        assert all(serial[i] == ranked for i, ranked in part.items())


def test_lexical_model_without_usable_terms_scores_zero():
    from matchmaker.lexical import LexicalModel

    for corpus in ([], ["", "  "], ["the and of"]):
        model = LexicalModel.fit(corpus)
        assert model.transform(["centrifugal chiller"]).nnz == 0


def test_lexical_model_meets_english_and_japanese_through_the_glossary():
    from matchmaker.lexical import LexicalModel

    model = LexicalModel.fit(["高効率ターボ冷凍機", "繊維工場の省エネ", "rooftop solar power"])
    english, japanese, other = model.transform(["centrifugal chiller", "ターボ冷凍機の導入", "rooftop solar"])
    assert (english @ japanese.T).toarray()[0, 0] > 0  # the shared concept: turbo = centrifugal chiller
    assert (english @ other.T).toarray()[0, 0] == 0
