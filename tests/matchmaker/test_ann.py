"""The approximate candidate path, forced on a small topic-clustered index by a low threshold."""

from __future__ import annotations

import numpy as np
import pytest

from matchmaker import Profile, ProfileVectors, build_index, recommend, recommend_all, refresh_index
from matchmaker.profiles import HOST, PROVIDER, SUPPORTER

pytest.importorskip("faiss")

from matchmaker.ann import AnnParams, configure  # noqa: E402

KINDS = ("partner_company", "japanese_company", "financial_institution")
COUNTRIES = ("ID", "VN", "TH", "KE", "MX")
CATEGORIES = ("energy_efficiency", "renewable_energy", "waste_management")
DIM = 32


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def _clustered(n: int = 2400, topics: int = 20, seed: int = 0):
    """Return (profiles, vectors): vectors around per-topic centroids, texts drawn mostly from topic words."""
    rng = np.random.default_rng(seed)
    centroids = _unit(rng.standard_normal((topics, DIM)))
    profiles, vectors = [], {}
    for i in range(n):
        t = int(rng.integers(topics))
        kind = KINDS[int(rng.choice(3, p=[0.45, 0.45, 0.10]))]

        def text(t: int = t) -> str:
            own = [f"topic{t}word{int(w)}" for w in rng.integers(0, 15, size=4)]
            return " ".join(own + [f"common{int(w)}" for w in rng.integers(0, 200, size=3)])

        offers = (text(),) if kind != "partner_company" else ()
        needs = (text(),) if kind != "japanese_company" else ()
        vec = _unit(centroids[t] + 0.5 * rng.standard_normal((3, DIM)) / np.sqrt(DIM))
        pid = f"org{i}"
        profiles.append(Profile(
            id=pid, name=pid, kind=kind, country="JP" if kind == "japanese_company" else COUNTRIES[i % 5],
            offers=offers, needs=needs, sectors=(f"sector{i % 7}",), technology_categories=(CATEGORIES[t % 3],),
            target_countries=(COUNTRIES[(i + 1) % 5],) if kind != "partner_company" else ()))
        vectors[pid] = ProfileVectors(vec[0], vec[1] if needs else None,
                                      vec[2:3] if offers else np.zeros((0, DIM), np.float32),
                                      vec[2:3] if needs else np.zeros((0, DIM), np.float32))
    return profiles, vectors


# Generators far smaller than the sides, so the approximate path has to find the best candidates, not all of them.
SMALL = AnnParams(dense_k=40, nprobe=4, lexical_k=40, lexical_postings=2000, structure_k=20, train_size=2000)


@pytest.fixture(scope="module")
def clustered_index():
    profiles, vectors = _clustered()
    index = build_index(profiles, vectors, ann_threshold=100)
    configure(index, SMALL)
    return index


def _queries(index, n: int = 60) -> list[str]:
    rng = np.random.default_rng(1)
    return [index.profiles[i].id for i in rng.choice(len(index), size=n, replace=False)]


def test_ann_path_scores_a_small_pool(clustered_index):
    for side in (HOST, PROVIDER, SUPPORTER):
        assert clustered_index.uses_ann(side)
    q = _queries(clustered_index, 1)[0]
    a = clustered_index.row[q]
    pool = clustered_index.ann().generate(a)
    assert 0 < len(pool) < len(clustered_index.candidates[clustered_index.profile(q).side].rows) / 4


def test_ann_recall_at_10_against_exact_on_clustered_data(clustered_index):
    hits = total = 0
    for q in _queries(clustered_index):
        want = [m.id for m in recommend(clustered_index, q, 10, exact=True, with_reasons=False)]
        got = {m.id for m in recommend(clustered_index, q, 10, with_reasons=False)}
        hits += len(got.intersection(want))
        total += len(want)
    assert hits / total >= 0.9


def test_ann_scores_equal_exact_scores_for_shared_matches(clustered_index):
    q = _queries(clustered_index, 1)[0]
    exact = {m.id: m.score for m in recommend(clustered_index, q, 10, exact=True)}
    approx = {m.id: m.score for m in recommend(clustered_index, q, 10)}
    shared = set(exact) & set(approx)
    assert shared
    for i in shared:
        assert approx[i] == pytest.approx(exact[i], rel=1e-5, abs=1e-6)


def test_ann_path_respects_exclusions(clustered_index):
    for q in _queries(clustered_index, 10):
        first = [m.id for m in recommend(clustered_index, q, 10)]
        banned = set(first[:3])
        again = [m.id for m in recommend(clustered_index, q, 10, exclude=banned)]
        assert again and not banned & set(again)


def test_ann_path_respects_sides(clustered_index):
    seen_by_supporters = set()
    for q in _queries(clustered_index, 40):
        me = clustered_index.profile(q)
        for m in recommend(clustered_index, q, 10, with_reasons=False):
            other = clustered_index.profile(m.id)
            assert other.side != me.side and m.id != q
            if me.side == SUPPORTER:
                seen_by_supporters.add(other.side)
    assert seen_by_supporters <= {HOST, PROVIDER}


def test_supporters_get_hosts_and_providers_on_ann_path(clustered_index):
    supporter = next(p.id for p in clustered_index.profiles if p.side == SUPPORTER)
    sides = {clustered_index.profile(m.id).side for m in recommend(clustered_index, supporter, 50)}
    assert sides == {HOST, PROVIDER}


def test_recommend_all_takes_the_ann_path_like_recommend(clustered_index):
    ids = _queries(clustered_index, 15)
    ranked = recommend_all(clustered_index, k=10, ids=ids, exclude={ids[0]: {ids[1]}})
    for i in ids:
        exclude = {ids[1]} if i == ids[0] else frozenset()
        assert [m.id for m in ranked[i]] == [m.id for m in recommend(clustered_index, i, 10, exclude=exclude)]


def test_exact_path_below_threshold_and_threshold_kept_by_refresh():
    profiles, vectors = _clustered(n=300)
    index = build_index(profiles, vectors)
    assert not any(index.uses_ann(s) for s in (HOST, PROVIDER, SUPPORTER))
    q = profiles[0].id
    assert [m.id for m in recommend(index, q)] == [m.id for m in recommend(index, q, exact=True)]
    forced = build_index(profiles, vectors, ann_threshold=10)
    assert refresh_index(forced, removed=[profiles[1].id]).ann_threshold == 10


def test_a_pickled_index_ranks_as_the_original_and_builds_its_approximate_search_again():
    # The server gets an index built in a child process by pickle (web.services.matching_index): per-thread
    # buffers, locks and the faiss structures stay behind and are made again where the index is used.
    import pickle

    profiles, vectors = _clustered(n=1200)
    original = build_index(profiles, vectors, ann_threshold=100)
    queries = _queries(original, 8)
    before = {q: [(m.id, m.score) for m in recommend(original, q, 10)] for q in queries}
    copy = pickle.loads(pickle.dumps(original))
    assert copy._ann is None and copy is not original
    # Each profile's vectors come back as rows of the stacked matrices: the same values, types and shapes.
    for mine, theirs in zip(original._vectors, copy._vectors):
        for name in ("offer", "need", "offer_items", "need_items"):
            a, b = getattr(mine, name), getattr(theirs, name)
            assert (a is None) == (b is None)
            if a is not None:
                assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    for q in queries:
        assert [(m.id, m.score) for m in recommend(copy, q, 10)] == before[q]
        assert [m.id for m in recommend(copy, q, 10, exact=True)] == [m.id for m in recommend(original, q, 10,
                                                                                            exact=True)]
    assert copy.uses_ann(HOST) and copy._ann is not None  # built again on first use
