"""A plain reference of the engine's scores: every component over rows lo:hi, then the reciprocal fusion.

Written for clarity, not speed; tests check that matchmaker.scoring.scan (the one the engine runs) gives the same
scores. It lives with the tests so the engine carries no second, unused scoring path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matchmaker.index import MatchIndex
from matchmaker.lexical import similarity_to_all, sparse_row
from matchmaker.scoring import FusionWeights, interests, overlap, reciprocal


@dataclass
class Block:
    """Per-candidate component arrays for one query over rows lo:hi of the index."""

    lo: int
    hi: int
    x_dense: np.ndarray  # candidates' offers against the query's needs
    y_dense: np.ndarray  # the query's offers against candidates' needs
    x_lex: np.ndarray
    y_lex: np.ndarray
    category: np.ndarray
    country: np.ndarray
    sector: np.ndarray


def _matvec(matrix: np.ndarray, vec: np.ndarray, lo: int, hi: int) -> np.ndarray:
    if not vec.any():
        return np.zeros(hi - lo, np.float32)
    return matrix[lo:hi] @ vec


def country_fit(index: MatchIndex, a: int, lo: int, hi: int) -> np.ndarray:
    """Return 1 where a candidate works in the query's country or sits in one of its targets, 0.5 for shared targets."""
    p = index.profiles[a]
    fit = np.zeros(hi - lo, np.float32)
    targets = [index.country_code[c] for c in p.target_countries]
    for c in targets:
        # Both work in the same third country (e.g. a bank and a maker both active in Viet Nam).
        rows = index.targeting.get(c)
        if rows is not None:
            rows = rows[(rows >= lo) & (rows < hi)] - lo
            fit[rows] = 0.5
    if targets:
        fit[np.isin(index.country[lo:hi], np.array(targets, np.int32))] = 1.0
    rows = index.targeting.get(index.country[a])
    if rows is not None:
        rows = rows[(rows >= lo) & (rows < hi)] - lo
        fit[rows] = 1.0
    return fit


def score_block(index: MatchIndex, a: int, lo: int, hi: int) -> Block:
    """Compute every component for query row `a` against rows lo:hi in a few vectorised passes."""
    lex_x = similarity_to_all(sparse_row(index.lex_need, a), index.lex_offer_t)[lo:hi]
    lex_y = similarity_to_all(sparse_row(index.lex_offer, a), index.lex_need_t)[lo:hi]
    return Block(
        lo, hi,
        x_dense=_matvec(index.offer, index.need[a], lo, hi),
        y_dense=_matvec(index.need, index.offer[a], lo, hi),
        x_lex=lex_x, y_lex=lex_y,
        category=overlap(index.category_mask[lo:hi], int(index.category_mask[a]),
                         index.category_count[lo:hi], float(index.category_count[a])),
        country=country_fit(index, a, lo, hi),
        sector=overlap(index.sector_mask[lo:hi], int(index.sector_mask[a]), None, 0.0),
    )


def block_scores(index: MatchIndex, a: int, block: Block, w: FusionWeights) -> np.ndarray:
    """Return the reciprocal score of every candidate in a block (before item-level refinement)."""
    ia, ib = interests(float(index.alpha[a]), index.alpha[block.lo:block.hi], block.x_dense, block.y_dense,
                       block.x_lex, block.y_lex, block.category, block.country, block.sector, w)
    return reciprocal(ia, ib)
