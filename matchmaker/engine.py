"""Reciprocal recommendation: a dense and structured scan, then lexical and item-level re-ranking."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

import numpy as np

from matchmaker.index import MatchIndex
from matchmaker.lexical import sparse_row
from matchmaker.profiles import SUPPORTER
from matchmaker.reasons import Reason, explain
from matchmaker.scoring import (
    DEFAULT_WEIGHTS, FusionWeights, best_items_many, block_scores, directional, interests, reciprocal, score_block,
)

DEFAULT_SHORTLIST = 200


@dataclass
class Match:
    """One recommended organization with its score, score components and reasons."""

    id: str
    score: float
    components: dict[str, float] = field(default_factory=dict)
    reasons: list[Reason] = field(default_factory=list)


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    k = min(k, int(np.isfinite(scores).sum()))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return part[np.argsort(-scores[part], kind="stable")]


def _mask_unmatchable(index: MatchIndex, a: int, lo: int, scores: np.ndarray, exclude: Iterable[str]) -> None:
    if index.profiles[a].side == SUPPORTER:
        s_lo, s_hi = index.side_range[SUPPORTER]
        scores[s_lo - lo:s_hi - lo] = -np.inf
    if lo <= a < lo + len(scores):
        scores[a - lo] = -np.inf
    for other in exclude:
        b = index.row.get(other)
        if b is not None and lo <= b < lo + len(scores):
            scores[b - lo] = -np.inf


_BLAS = None


def _one_blas_thread():
    """Return a context limiting BLAS to one thread: a matvec is memory-bound, and threads contend on a shared box."""
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController  # noqa: PLC0415 - shipped with scikit-learn

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


def recommend(index: MatchIndex, org_id: str, k: int = 10, exclude: Iterable[str] = frozenset(),
              weights: FusionWeights = DEFAULT_WEIGHTS, shortlist: int = DEFAULT_SHORTLIST,
              with_reasons: bool = True) -> list[Match]:
    """Return the top-k organizations for org_id, best first, never the same side nor excluded ids."""
    with _one_blas_thread():
        return _recommend(index, org_id, k, exclude, weights, shortlist, with_reasons)


def _recommend(index: MatchIndex, org_id: str, k: int = 10, exclude: Iterable[str] = frozenset(),
              weights: FusionWeights = DEFAULT_WEIGHTS, shortlist: int = DEFAULT_SHORTLIST,
              with_reasons: bool = True) -> list[Match]:
    a = index.row[org_id]
    me = index.profiles[a]
    lo, hi = index.candidate_range(me.side)
    block = score_block(index, a, lo, hi)
    scores = block_scores(index, a, block, weights)
    _mask_unmatchable(index, a, lo, scores, exclude)
    short = _top(scores, max(shortlist, k))
    if len(short) == 0:
        return []
    rows = short + lo
    x_dense, y_dense = block.x_dense[short].copy(), block.y_dense[short].copy()
    va = index.vectors(org_id)
    # Best single offer/need pairs, in both directions, for the whole shortlist at once.
    xi = best_items_many(va.need_items, index.offer_items, index.offer_ptr, rows)
    yi = best_items_many(va.offer_items, index.need_items, index.need_ptr, rows)
    # The best single pair sharpens whole-profile texts that average many items.
    s_ = weights.item_share
    x_dense = np.where(xi[1] >= 0, (1 - s_) * x_dense + s_ * xi[0], x_dense)
    y_dense = np.where(yi[1] >= 0, (1 - s_) * y_dense + s_ * yi[0], y_dense)
    # Hashed sector bits may collide: confirm the few hits exactly.
    sector = block.sector[short].copy()
    for n in np.nonzero(sector)[0]:
        sector[n] = float(bool(set(me.sectors) & set(index.profiles[rows[n]].sectors)))
    ia, ib = interests(float(index.alpha[a]), index.alpha[rows], x_dense, y_dense, block.x_lex[short],
                       block.y_lex[short], block.category[short], block.country[short], sector, weights)
    final = reciprocal(ia, ib)
    out = []
    for n in _top(np.where(final > 0, final, -np.inf), k):
        b = int(rows[n])
        other = index.profiles[b]
        dense_a, dense_b = directional(float(index.alpha[a]), float(index.alpha[b]),
                                       max(0.0, float(x_dense[n])), max(0.0, float(y_dense[n])))
        lex_a, lex_b = directional(float(index.alpha[a]), float(index.alpha[b]),
                                   float(block.x_lex[short[n]]), float(block.y_lex[short[n]]))
        components = {
            "dense": (dense_a + dense_b) / 2,
            "lexical": (lex_a + lex_b) / 2,
            "category": float(block.category[short[n]]),
            "country": float(block.country[short[n]]),
            "sector": float(sector[n]),
            "interest_self": float(ia[n]),
            "interest_other": float(ib[n]),
        }
        reasons: list[Reason] = []
        if with_reasons:
            terms = index.lexical.shared_terms([sparse_row(index.lex_need, a), sparse_row(index.lex_offer, a)],
                                               [sparse_row(index.lex_offer, b), sparse_row(index.lex_need, b)])
            reasons = explain(me, other, (float(xi[0][n]), int(xi[1][n]), int(xi[2][n])),
                              (float(yi[0][n]), int(yi[2][n]), int(yi[1][n])), terms)
        out.append(Match(other.id, float(final[n]), components, reasons))
    return out


def recommend_all(index: MatchIndex, k: int = 10, exclude: Mapping[str, Iterable[str]] | None = None,
                  weights: FusionWeights = DEFAULT_WEIGHTS, ids: Iterable[str] | None = None,
                  with_reasons: bool = True) -> dict[str, list[Match]]:
    """Return recommend() for every organization (or the given ids), keyed by id."""
    exclude = exclude or {}
    targets = list(ids) if ids is not None else [p.id for p in index.profiles]
    with _one_blas_thread():
        return {i: _recommend(index, i, k, exclude.get(i, ()), weights, DEFAULT_SHORTLIST, with_reasons)
                for i in targets}
