"""Reciprocal recommendation: a dense and structured scan, then lexical and item-level re-ranking."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import numpy as np

from matchmaker import halfscan
from matchmaker.halfscan import refine
from matchmaker.index import MatchIndex
from matchmaker.profiles import PROVIDER, SUPPORTER
from matchmaker.lexical import sparse_row, word_similarity
from matchmaker.reasons import Reason, explain
from matchmaker.scoring import (
    DEFAULT_WEIGHTS, FusionWeights, Scan, best_items_many, dense_block, dense_rows, directional, interests,
    reciprocal, scan, scan_subset,
)

DEFAULT_SHORTLIST = 200
# Matches scoring at most this are never recommended (the page says there are no more good matches). Set on the
# dev benchmark's gold pairs: see docs/matching.md.
DEFAULT_FLOOR = 0.2


@dataclass
class Match:
    """One recommended organization with its score, score components and reasons."""

    id: str
    score: float
    components: dict[str, float] = field(default_factory=dict)
    reasons: list[Reason] = field(default_factory=list)


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Return the positions of the k highest finite scores, best first; equal scores in position order.

    Ties are broken the same way whatever subset holds them, so a half-precision scan refined to a few thousand
    entries (matchmaker.halfscan) picks what a full float32 scan picks.
    """
    n = len(scores)
    k = min(k, n)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    if k < n:
        kth = np.partition(scores, n - k)[n - k]
        above = np.flatnonzero(scores > kth)
        part = np.concatenate([above, np.flatnonzero(scores == kth)[:k - len(above)]])
    else:
        part = np.arange(n)
    part = part[np.isfinite(scores[part])]
    return part[np.argsort(-scores[part], kind="stable")]


# BLAS threads of the process. A scan is memory-bound: on the 2-core reference machine two threads cut a
# 100k-row top-10 from p50 11 to 7 ms when the box is idle; one thread is kinder when many queries run at
# once on a loaded box (the web app sets MATCHMAKER_BLAS_THREADS, 1 by default). set_blas_threads() chooses.
_BLAS_THREADS = min(2, os.cpu_count() or 1)
# What was last applied to the loaded BLAS libraries (None: nothing yet); changed only under _BLAS_LOCK.
_BLAS_APPLIED: int | None = None
_BLAS_LOCK = threading.Lock()


def set_blas_threads(threads: int) -> None:
    """Set the BLAS threads of the whole process; call at start-up, before queries run in other threads.

    OpenBLAS keeps one process-wide thread count and thread pool: changing it while another thread is inside a
    BLAS call is unsafe (threadpoolctl documents that its limits are not thread-safe), so queries never change
    it, not even for their own duration; only this call does, once.
    """
    global _BLAS_THREADS
    with _BLAS_LOCK:
        _BLAS_THREADS = max(1, int(threads))
        _apply_blas_threads()


def blas_threads() -> int:
    """Return the BLAS threads one query uses."""
    return _BLAS_THREADS


def _apply_blas_threads() -> None:
    """Limit every BLAS library the process uses to _BLAS_THREADS (the caller holds _BLAS_LOCK)."""
    global _BLAS_APPLIED
    import scipy.linalg  # noqa: F401, PLC0415 - load scipy's own OpenBLAS now: one loaded later keeps its default
    import threadpoolctl  # noqa: PLC0415 - shipped with scikit-learn

    # threadpoolctl (3.8+) lets only the first thread that set a pthreads-OpenBLAS limit change it later and
    # silently ignores the others; this is the process's one place that sets it, so it takes that role.
    controller_class = getattr(threadpoolctl, "OpenBLASController", None)
    if hasattr(controller_class, "clear_controlling_thread"):
        controller_class.clear_controlling_thread(force=True)
    threadpoolctl.ThreadpoolController().limit(limits=_BLAS_THREADS, user_api="blas")  # kept, never restored
    halfscan.set_threads(_BLAS_THREADS)
    _BLAS_APPLIED = _BLAS_THREADS


def _ensure_blas_threads() -> None:
    """Apply the configured BLAS threads the first time a process ranks (a no-op afterwards)."""
    if _BLAS_APPLIED is None:
        with _BLAS_LOCK:
            if _BLAS_APPLIED is None:
                _apply_blas_threads()


def recommend(index: MatchIndex, org_id: str, k: int = 10, exclude: Iterable[str] = frozenset(),
              weights: FusionWeights = DEFAULT_WEIGHTS, shortlist: int = DEFAULT_SHORTLIST,
              with_reasons: bool = True, *, exact: bool = False, floor: float = DEFAULT_FLOOR) -> list[Match]:
    """Return the top-k organizations for org_id, best first, never the same side nor excluded ids.

    Matches scoring `floor` or less are left out. Supporters get both other sides in balance. Sides with more
    candidates than index.ann_threshold score only generated candidates unless `exact`; `exact` also scans in
    float32 where the index would read half-precision copies (the same results, slower: the reference).
    """
    _ensure_blas_threads()
    a = index.row[org_id]
    if not exact and index.uses_ann(index.profiles[a].side):
        return _recommend_approx(index, a, k, exclude, weights, shortlist, with_reasons, floor)
    return _recommend(index, org_id, k, exclude, weights, shortlist, with_reasons, floor=floor, half=not exact)


def _recommend_approx(index: MatchIndex, a: int, k: int, exclude: Iterable[str], weights: FusionWeights,
                      shortlist: int, with_reasons: bool, floor: float = DEFAULT_FLOOR) -> list[Match]:
    """Score exactly only the candidates the generators of matchmaker.ann propose, then re-rank as usual."""
    cands = index.candidates[index.profiles[a].side]
    pos = index.ann().generate(a)
    exclude = list(exclude)
    ex = [index.row[e] for e in exclude if e in index.row]
    if ex:
        pos = np.setdiff1d(pos, cands.positions(np.array(ex, np.int64)), assume_unique=True)
    if len(pos) < k:
        # Next to nothing in common with anyone (no text, no country fit): scan everyone instead.
        return _recommend(index, index.profiles[a].id, k, exclude, weights, shortlist, with_reasons, floor=floor)
    found = scan_subset(index, a, weights, pos)
    short = _pick(index, found, max(shortlist, k))
    if len(short) == 0:
        return []
    return _rerank(index, found, short, k, weights, with_reasons, floor)


# Candidates with the most shared wording join the shortlist whatever their first-stage score: the exact-wording
# rule looks among them.
EXACT_POOL = 20


def _pick(index: MatchIndex, found: Scan, size: int) -> np.ndarray:
    """Return the entries of the `size` best first-stage scores (for supporters, the best half of each side), plus
    the EXACT_POOL entries with the most shared wording."""
    # Lexical cosines are never negative: entries sharing no term (wording 0) and excluded ones (score -inf) are
    # dropped after the top is taken, as _top orders equal values by position whatever else the array holds.
    wording = found.x_lex + found.y_lex
    wording[~np.isfinite(found.scores)] = -np.inf
    most = _top(wording, EXACT_POOL)
    return np.union1d(_pick_scores(index, found, size), most[wording[most] > 0])


def _groups(index: MatchIndex, found: Scan, size: int) -> list[tuple[int, int, int]]:
    """Return (first entry, end, how many) of each group the shortlist takes its best from.

    Supporters match hosts and providers: a shortlist of one side only could not be balanced later, so each side
    gives its best half.
    """
    cands = index.candidates[index.profiles[found.a].side]
    if len(cands.segments) < 2:
        return [(0, len(found.scores), size)]
    positions = found.candidate_positions(np.arange(len(found.scores)))
    out = []
    for lo, hi, p in cands.segments:
        # Entries are in position order (a scan's are the positions themselves), so each side's are one run.
        first, end = np.searchsorted(positions, [p, p + hi - lo])
        out.append((int(first), int(end), (size + 1) // 2))
    return out


def _pick_scores(index: MatchIndex, found: Scan, size: int) -> np.ndarray:
    # After a half-precision scan only the refined entries can be among the best (halfscan.refine).
    at = found.exact_at if found.approximate else None
    out = []
    for lo, hi, k in _groups(index, found, size):
        if at is None:
            out.append(lo + _top(found.scores[lo:hi], k))
        else:
            inside = at[(at >= lo) & (at < hi)]
            out.append(inside[_top(found.scores[inside], k)])
    return np.concatenate(out)


def _shortlist(index: MatchIndex, found: Scan, exclude: Iterable[str], size: int,
               weights: FusionWeights = DEFAULT_WEIGHTS) -> np.ndarray:
    """Return the positions of the `size` best first-stage scores, excluded ids left out."""
    cands = index.candidates[index.profiles[found.a].side]
    ex = [index.row[e] for e in exclude if e in index.row]
    if ex:
        pos = cands.positions(np.array(ex, np.int64))
        found.scores[pos[pos >= 0]] = -np.inf
    if found.approximate:
        refine(index, found, weights, _groups(index, found, size))
    return _pick(index, found, size)


def _recommend(index: MatchIndex, org_id: str, k: int = 10, exclude: Iterable[str] = frozenset(),
               weights: FusionWeights = DEFAULT_WEIGHTS, shortlist: int = DEFAULT_SHORTLIST,
               with_reasons: bool = True, dense: tuple[np.ndarray, np.ndarray] | None = None,
               floor: float = DEFAULT_FLOOR, half: bool = True) -> list[Match]:
    a = index.row[org_id]
    found = scan(index, a, weights, dense, half=half)
    short = _shortlist(index, found, exclude, max(shortlist, k), weights)
    if len(short) == 0:
        return []
    return _rerank(index, found, short, k, weights, with_reasons, floor)


def _balanced(order: np.ndarray, provider: np.ndarray, k: int) -> np.ndarray:
    """Return up to k entries of a best-first order so neither side leads the other by more than one at any point."""
    rank = {int(e): r for r, e in enumerate(order)}
    sides = [[int(e) for e in order[~provider[order]]], [int(e) for e in order[provider[order]]]]
    out: list[int] = []
    counts = [0, 0]
    while len(out) < k and (sides[0] or sides[1]):
        heads = [s[0] if s else None for s in sides]
        if heads[0] is None or heads[1] is None:
            pick = 0 if heads[1] is None else 1
        elif counts[0] > counts[1]:
            pick = 1
        elif counts[1] > counts[0]:
            pick = 0
        else:
            pick = 0 if rank[heads[0]] < rank[heads[1]] else 1
        out.append(sides[pick].pop(0))
        counts[pick] += 1
    return np.array(out, dtype=np.int64)


def _exact_first(index: MatchIndex, a: int, rows: np.ndarray, ranked: np.ndarray, wording: np.ndarray,
                 weights: FusionWeights) -> tuple[np.ndarray, int]:
    """Move the candidate closest in its own words (concepts left out) up to weights.exact_rank.

    Returns (new order, the moved entry or -1). Only candidates above the floor (in `ranked`) take part.
    """
    alpha_a = float(index.alpha[a])
    q_need, q_offer = sparse_row(index.lex_need, a), sparse_row(index.lex_offer, a)
    # The closest own wording is among those sharing the most terms overall: look at those few only.
    pool = np.argsort(-wording[ranked], kind="stable")[:EXACT_POOL]
    pool = pool[wording[ranked][pool] > 0]
    if len(pool) == 0:
        return ranked, -1
    cand = rows[ranked[pool]]
    x = word_similarity(q_need, float(index.lex_need_words[a]), index.lex_offer, index.lex_offer_words, cand,
                        index.lex_concept)
    y = word_similarity(q_offer, float(index.lex_offer_words[a]), index.lex_need, index.lex_need_words, cand,
                        index.lex_concept)
    wa, wb = directional(alpha_a, index.alpha[cand], x, y)
    mutual = (wa + wb) / 2
    top = int(np.argmax(mutual))
    best = int(pool[top])  # its rank in `ranked`
    if mutual[top] < weights.exact_min or best <= weights.exact_rank:
        return ranked, -1
    order = ranked.tolist()
    moved = order.pop(best)
    order.insert(weights.exact_rank, moved)
    return np.array(order, dtype=np.int64), moved


def _rerank(index: MatchIndex, found: Scan, short: np.ndarray, k: int, weights: FusionWeights,
            with_reasons: bool, floor: float = DEFAULT_FLOOR) -> list[Match]:
    """Re-rank a shortlist with the best offer/need item pairs and exact sectors; explain the top k."""
    a = found.a
    me = index.profiles[a]
    rows = index.candidates[me.side].rows[found.candidate_positions(short)]
    # Recomputed row by row (a few hundred rows): the same bits whether a float32 GEMV, a half-precision scan or a
    # GEMM block chose the shortlist, so near-ties order alike.
    x_dense, y_dense = dense_rows(index, a, rows)
    x_lex, y_lex = found.x_lex[short], found.y_lex[short]
    category, country = found.category(short), found.country[short]
    va = index._vectors[a]
    # Best single offer/need pairs, in both directions, for the whole shortlist at once.
    xi = best_items_many(va.need_items, index.offer_items, index.offer_ptr, rows)
    yi = best_items_many(va.offer_items, index.need_items, index.need_ptr, rows)
    # The best single pair sharpens whole-profile texts that average many items.
    s_ = weights.item_share
    x_dense = np.where(xi[1] >= 0, (1 - s_) * x_dense + s_ * xi[0], x_dense)
    y_dense = np.where(yi[1] >= 0, (1 - s_) * y_dense + s_ * yi[0], y_dense)
    # Hashed sector bits may collide: confirm the few hits exactly.
    sector = found.sector(short)
    for n in np.nonzero(sector)[0]:
        sector[n] = float(bool(set(me.sectors) & set(index.profiles[rows[n]].sectors)))
    ia, ib = interests(float(index.alpha[a]), index.alpha[rows], x_dense, y_dense, x_lex, y_lex,
                       category, country, sector, weights)
    final = reciprocal(ia, ib)
    ranked = _top(np.where(final > max(floor, 0.0), final, -np.inf), len(final))
    exact = -1
    if weights.exact_rank >= 0 and len(ranked):
        ranked, exact = _exact_first(index, a, rows, ranked, x_lex + y_lex, weights)
    if me.side == SUPPORTER:
        ranked = _balanced(ranked, rows >= index.side_range[PROVIDER][0], k)
    out = []
    for n in ranked[:k]:
        b = int(rows[n])
        other = index.profiles[b]
        dense_a, dense_b = directional(float(index.alpha[a]), float(index.alpha[b]),
                                       max(0.0, float(x_dense[n])), max(0.0, float(y_dense[n])))
        lex_a, lex_b = directional(float(index.alpha[a]), float(index.alpha[b]), float(x_lex[n]), float(y_lex[n]))
        components = {
            "dense": (dense_a + dense_b) / 2,
            "lexical": (lex_a + lex_b) / 2,
            "category": float(category[n]),
            "country": float(country[n]),
            "sector": float(sector[n]),
            "interest_self": float(ia[n]),
            "interest_other": float(ib[n]),
        }
        reasons: list[Reason] = []
        if with_reasons:
            terms = index.lexical.shared_terms([sparse_row(index.lex_need, a), sparse_row(index.lex_offer, a)],
                                               [sparse_row(index.lex_offer, b), sparse_row(index.lex_need, b)])
            reasons = explain(me, other, (float(xi[0][n]), int(xi[1][n]), int(xi[2][n])),
                              (float(yi[0][n]), int(yi[2][n]), int(yi[1][n])), terms, closest_wording=n == exact)
        out.append(Match(other.id, float(final[n]), components, reasons))
    return out


# Queries per GEMM block in recommend_all, capped so the two (block, candidates) float32 blocks stay ~64 MB.
BATCH = 128
_BATCH_FLOATS = 8_000_000


def recommend_all(index: MatchIndex, k: int = 10, exclude: Mapping[str, Iterable[str]] | None = None,
                  weights: FusionWeights = DEFAULT_WEIGHTS, ids: Iterable[str] | None = None,
                  with_reasons: bool = True, floor: float = DEFAULT_FLOOR) -> dict[str, list[Match]]:
    """Return recommend() for every organization (or the given ids), keyed by id.

    Queries of one side share their candidates, so their dense stage runs as matrix-matrix products in blocks;
    sides above index.ann_threshold take recommend()'s approximate path query by query.
    """
    exclude = exclude or {}
    targets = list(ids) if ids is not None else [p.id for p in index.profiles]
    by_side: dict[str, list[str]] = {}
    for i in targets:
        by_side.setdefault(index.profile(i).side, []).append(i)
    done: dict[str, list[Match]] = {}
    _ensure_blas_threads()
    for side, ids_ in by_side.items():
        if index.uses_ann(side):
            # Above the threshold a generated pool costs less than a row of the GEMM: one query at a time.
            for i in ids_:
                done[i] = _recommend_approx(index, index.row[i], k, exclude.get(i, ()), weights,
                                            DEFAULT_SHORTLIST, with_reasons, floor)
            continue
        cands = index.candidates[side]
        m = len(cands.rows)
        size = max(1, min(BATCH, _BATCH_FLOATS // max(m, 1)))
        for start in range(0, len(ids_), size):
            block = ids_[start:start + size]
            xs, ys = dense_block(index, [index.row[i] for i in block], cands)
            for j, i in enumerate(block):
                done[i] = _recommend(index, i, k, exclude.get(i, ()), weights, DEFAULT_SHORTLIST,
                                     with_reasons, dense=(xs[j], ys[j]), floor=floor)
    return {i: done[i] for i in targets}


def score_pairs(index: MatchIndex, org_id: str, other_ids: Iterable[str],
                weights: FusionWeights = DEFAULT_WEIGHTS) -> dict[str, dict[str, float]]:
    """Return the score components of org_id with each given candidate, scoring only those (no ranking).

    What learning from feedback needs: its cost follows the number of pairs, not the size of the index. Pairs
    that score nothing (or may not be matched) get no entry.
    """
    a = index.row[org_id]
    cands = index.candidates[index.profiles[a].side]
    rows = np.array([index.row[o] for o in other_ids if o in index.row], np.int64)
    pos = np.unique(cands.positions(rows)) if len(rows) else np.zeros(0, np.int64)
    pos = pos[pos >= 0]
    if len(pos) == 0:
        return {}
    _ensure_blas_threads()
    found = scan_subset(index, a, weights, pos)
    matches = _rerank(index, found, np.arange(len(pos)), len(pos), weights, False, 0.0)
    return {m.id: m.components for m in matches}
