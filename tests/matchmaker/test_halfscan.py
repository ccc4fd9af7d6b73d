"""The half-precision first stage gives the float32 scan's ranking: same top-k, scores and reasons."""

from __future__ import annotations

import numpy as np
import pytest

from matchmaker import DEFAULT_WEIGHTS, ProfileVectors, build_index, profile_from_dict, recommend
from matchmaker.engine import _shortlist
from matchmaker.halfscan import HalfMatrix, available, set_threads
from matchmaker.index import HALF_MIN_CANDIDATES
from matchmaker.scoring import scan

pytestmark = pytest.mark.skipif(not available(), reason="torch's float16 GEMV with float32 accumulation is needed")

KINDS = ["japanese_company", "partner_company", "financial_institution", "consultant", "public_body"]
COUNTRIES = ["ID", "VN", "TH", "KE", "MN"]


def _generated(n: int, dim: int, seed: int, near_duplicates: bool):
    """Profiles of every kind and vector pattern; with near_duplicates, vectors differ from a few centres by less
    than the half-precision error, so the float16 scores alone cannot order them."""
    rng = np.random.default_rng(seed)
    words = [f"term{i}" for i in range(60)]
    centres = rng.standard_normal((4, dim)).astype(np.float32)
    profiles, vectors = [], {}
    for i in range(n):
        kind = KINDS[i % 5] if i % 7 else "partner_company"
        offers = tuple(" ".join(rng.choice(words, 4)) for _ in range(1 + i % 2)) if kind != "partner_company" else ()
        needs = tuple(" ".join(rng.choice(words, 4)) for _ in range(1 + i % 2)) \
            if kind != "japanese_company" or i % 4 == 0 else ()
        p = profile_from_dict(dict(
            id=f"o{i}", name=f"O{i}", kind=kind, country="JP" if kind == "japanese_company" else COUNTRIES[i % 5],
            offers=offers, needs=needs, sectors=[f"s{i % 4}"], technology_categories=[["waste", "water", "air"][i % 3]],
            target_countries=[COUNTRIES[(i + j) % 5] for j in range(i % 3)]))
        count = 2 + len(offers) + len(needs)
        if near_duplicates:
            unit = centres[rng.integers(0, 4, count)] + 1e-4 * rng.standard_normal((count, dim)).astype(np.float32)
        else:
            unit = rng.standard_normal((count, dim)).astype(np.float32)
        unit /= np.linalg.norm(unit, axis=1, keepdims=True)
        vectors[p.id] = ProfileVectors(unit[0], unit[1] if needs else None, unit[2:2 + len(offers)],
                                       unit[2 + len(offers):])
        profiles.append(p)
    return profiles, vectors


@pytest.fixture(params=[1, 2], ids=["one-thread", "paired"])
def pair_threads(request):
    """Run with a query's two half GEMVs one after the other, then at once (matchmaker.halfscan.set_threads)."""
    import matchmaker.halfscan as halfscan

    before = halfscan._PAIR_THREADS
    halfscan.set_threads(request.param)
    yield request.param
    halfscan.set_threads(before)


def test_half_scan_ranks_as_float32_scan(pair_threads):
    profiles, vectors = _generated(900, 48, seed=3, near_duplicates=False)
    half = build_index(profiles, vectors, half_threshold=0)
    plain = build_index(profiles, vectors)
    assert all(half.scans_half(s) for s in half.candidates)
    assert not any(plain.scans_half(s) for s in plain.candidates)
    checked = 0
    for p in profiles[::3]:
        # A short shortlist makes the refinement choose among many entries; exclusions must stay out.
        for shortlist, exclude in ((200, ()), (12, ()), (12, {profiles[1].id, profiles[2].id, profiles[8].id})):
            got = recommend(half, p.id, k=10, shortlist=shortlist, exclude=exclude)
            want = recommend(plain, p.id, k=10, shortlist=shortlist, exclude=exclude)
            assert [m.id for m in got] == [m.id for m in want], (p.id, shortlist)
            assert [m.score for m in got] == [m.score for m in want]
            assert [m.reasons for m in got] == [m.reasons for m in want]
            assert not set(exclude) & {m.id for m in got}
            checked += bool(got)
    assert checked > 500


def test_half_scan_shortlist_on_near_ties_is_the_float32_one():
    # Vectors within 1e-4 of four centres: many first-stage scores lie within the half-precision error of the
    # shortlist's last one, so the refinement must rescore beyond the shortlist's size to decide.
    profiles, vectors = _generated(900, 48, seed=3, near_duplicates=True)
    half = build_index(profiles, vectors, half_threshold=0)
    plain = build_index(profiles, vectors)
    widened = 0
    for p in profiles[::3]:
        a = half.row[p.id]
        fast, ref = scan(half, a, DEFAULT_WEIGHTS), scan(plain, a, DEFAULT_WEIGHTS)
        got = set(_shortlist(half, fast, (), 12).tolist())
        want = set(_shortlist(plain, ref, (), 12).tolist())
        widened += len(fast.exact_at) > 12 + 1
        # Equal, but for candidates tied with the last one to float32 rounding (a GEMV and a row-wise sum round
        # the same dot product differently in the last bit).
        for e in got - want:
            assert any(abs(ref.scores[e] - ref.scores[f]) < 1e-6 for f in want - got), (p.id, e)
        assert len(got) == len(want)
    assert widened > 50


def test_exact_recommend_scans_float32_with_the_same_result():
    profiles, vectors = _generated(300, 32, seed=5, near_duplicates=False)
    half = build_index(profiles, vectors, half_threshold=0)
    for p in profiles[::10]:
        got, want = recommend(half, p.id, k=10), recommend(half, p.id, k=10, exact=True)
        assert [m.id for m in got] == [m.id for m in want]
        assert [m.score for m in got] == pytest.approx([m.score for m in want], abs=1e-6)


@pytest.mark.parametrize("positive", [False, True])
def test_half_matvec_error_stays_within_its_bound(positive):
    # All-positive vectors make the largest products and sums: the worst case for rounding.
    rng = np.random.default_rng(11)
    matrix = rng.standard_normal((3000, 384)).astype(np.float32)
    if positive:
        matrix = np.abs(matrix)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix[100:110] = 0  # rows without a vector
    half = HalfMatrix(matrix)
    out = np.empty(2850, np.float32)
    spans = [(50, 1500, 0), (1600, 3000, 1450)]
    for q in range(5):
        vec = matrix[1000 + q]
        bound = half.matvec_into(vec, spans, out)
        exact = np.concatenate([matrix[50:1500] @ vec, matrix[1600:3000] @ vec])
        assert 0 < np.abs(out - exact).max() <= bound
        assert bound < 2e-3
    assert half.matvec_into(None, spans, out) == 0 and not out.any()


def test_small_indexes_keep_the_float32_scan():
    profiles, vectors = _generated(60, 16, seed=1, near_duplicates=False)
    index = build_index(profiles, vectors)
    assert HALF_MIN_CANDIDATES > 1000
    assert index.half_offer is None and not any(index.scans_half(s) for s in index.candidates)


def test_paired_matvecs_write_what_single_ones_do():
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((700, 32)).astype(np.float32), rng.standard_normal((500, 32)).astype(np.float32)
    va, vb = rng.standard_normal(32).astype(np.float32), rng.standard_normal(32).astype(np.float32)
    ha, hb = HalfMatrix(a), HalfMatrix(b)
    spans_a, spans_b = [(0, 300, 0), (400, 700, 300)], [(100, 500, 0)]
    alone_a, alone_b = np.empty(600, np.float32), np.empty(400, np.float32)
    bound = max(ha.matvec_into(va, spans_a, alone_a), hb.matvec_into(vb, spans_b, alone_b))
    import matchmaker.halfscan as halfscan

    before = halfscan._PAIR_THREADS
    try:
        set_threads(2)
        for _ in range(20):
            out_a, out_b = np.full(600, 7, np.float32), np.full(400, 7, np.float32)
            assert ha.matvec_pair(va, spans_a, out_a, hb, vb, spans_b, out_b) == bound
            assert np.array_equal(out_a, alone_a) and np.array_equal(out_b, alone_b)
        out_a, out_b = np.full(600, 7, np.float32), np.full(400, 7, np.float32)
        ha.matvec_pair(va, spans_a, out_a, hb, None, spans_b, out_b)  # a profile without an offer: zeros
        assert np.array_equal(out_a, alone_a) and not out_b.any()
    finally:
        set_threads(before)
