"""Score components for one query against the candidates of the other sides, and their reciprocal fusion."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from matchmaker.index import MatchIndex
from matchmaker.lexical import range_positions, similarity_into, similarity_rows, sparse_row

COMPONENTS = ("dense", "lexical", "category", "country", "sector")


@dataclass(frozen=True)
class FusionWeights:
    """Weights of the score components inside each side's interest in the other, and the exact-wording rule.

    Defaults chosen by cross-validation over the dev benchmark folds (docs/matching.md).
    """

    dense: float = 0.15
    lexical: float = 0.45
    category: float = 0.2
    country: float = 0.15
    sector: float = 0.05
    # Share of the best single offer/need pair in the dense signal (the rest is whole-profile texts).
    item_share: float = 0.3
    # Exact-wording rule: the candidate whose own words (glossary concepts left out) are closest to the query's is
    # moved up to this rank (0 = first; negative: off) when that closeness is at least exact_min. It keeps one rare,
    # specific phrase (a plant type, a process) that a single candidate shares from being washed out.
    exact_rank: int = 0
    exact_min: float = 0.1

    def as_dict(self) -> dict[str, float]:
        """Return the component weights by name."""
        d = asdict(self)
        for key in ("item_share", "exact_rank", "exact_min"):
            d.pop(key)
        return d


DEFAULT_WEIGHTS = FusionWeights()


def overlap(masks: np.ndarray, mask: int, counts: np.ndarray | None, count: float) -> np.ndarray:
    """Return the overlap coefficient |A and B| / min(|A|, |B|) from bitmasks (indicator without counts)."""
    shared = np.bitwise_count(masks & np.int64(mask)).astype(np.float32)
    if counts is None:
        return (shared > 0).astype(np.float32)
    denom = np.minimum(counts, np.float32(count))
    return np.divide(shared, denom, out=np.zeros_like(shared), where=denom > 0)


def directional(alpha_a: float, alpha_b, x, y):
    """Return each side's view of a text signal: x = candidate offers vs query needs, y = the reverse."""
    # A side with needs is interested in what the other offers; a side without needs in who needs its offers.
    return alpha_a * x + (1 - alpha_a) * y, alpha_b * y + (1 - alpha_b) * x


def interests(alpha_a: float, alpha_b: np.ndarray | float, x_dense, y_dense, x_lex, y_lex,
              category, country, sector, w: FusionWeights):
    """Return (query's interest in candidates, candidates' interest in the query)."""
    struct = w.category * category + w.country * country + w.sector * sector
    dense_a, dense_b = directional(alpha_a, alpha_b, np.maximum(x_dense, 0), np.maximum(y_dense, 0))
    lex_a, lex_b = directional(alpha_a, alpha_b, x_lex, y_lex)
    return w.dense * dense_a + w.lexical * lex_a + struct, w.dense * dense_b + w.lexical * lex_b + struct


def reciprocal(interest_a, interest_b):
    """Return the harmonic mean of both sides' interests, so a match must suit both."""
    interest_a = np.maximum(interest_a, 0)
    interest_b = np.maximum(interest_b, 0)
    total = interest_a + interest_b
    return np.divide(2 * interest_a * interest_b, total, out=np.zeros_like(total), where=total > 1e-9)


def best_items_many(queries: np.ndarray, items: np.ndarray, ptr: np.ndarray, rows: np.ndarray):
    """Return per row (best cosine, query item, row item) between query items and each row's items.

    Rows without items (or an empty query) get (-1, -1, -1). One matmul over the gathered items.
    """
    n = len(rows)
    best = np.full(n, -1.0, np.float32)
    q_idx = np.full(n, -1, np.int64)
    r_idx = np.full(n, -1, np.int64)
    starts, stops = ptr[rows], ptr[rows + 1]
    counts = stops - starts
    present = counts > 0
    if len(queries) == 0 or not present.any():
        return best, q_idx, r_idx
    lengths = counts[present]
    flat = range_positions(starts[present], lengths)
    sims = queries @ items[flat].T  # (query items, gathered items)
    col_best = sims.max(axis=0)
    col_arg = sims.argmax(axis=0)
    offsets = np.concatenate([[0], np.cumsum(counts[present])[:-1]])
    seg_best = np.maximum.reduceat(col_best, offsets)
    # Position of the maximum inside each segment: the first column equal to the segment's best.
    owner = np.repeat(np.arange(len(offsets)), counts[present])
    hit = col_best == seg_best[owner]
    first = np.full(len(offsets), -1, np.int64)
    positions = np.nonzero(hit)[0]
    first_pos = positions[np.unique(owner[positions], return_index=True)[1]]
    first[:] = first_pos
    where = np.nonzero(present)[0]
    best[where] = seg_best
    q_idx[where] = col_arg[first]
    r_idx[where] = first - offsets
    return best, q_idx, r_idx


@dataclass
class Scan:
    """First-stage scores of one query over its candidate positions, and the components to re-rank a shortlist.

    The arrays live in per-thread scratch buffers: index them (which copies) before the next scan.
    """

    a: int
    scores: np.ndarray
    x_dense: np.ndarray
    y_dense: np.ndarray
    x_lex: np.ndarray
    y_lex: np.ndarray
    country: np.ndarray
    category_table: np.ndarray  # per structure code
    sector_table: np.ndarray  # per structure code, from hashed bits (confirm exactly on a shortlist)
    code: np.ndarray
    # Candidate positions the arrays stand for when only a subset was scored (scan_subset); None: all of them.
    pos: np.ndarray | None = None
    # Half-precision scan (matchmaker.halfscan): dense rows and scores are within `delta` of the float32 scan's until
    # refined, then exact at `exact_at` (None: exact everywhere); `structure` holds each entry's category, sector and
    # country terms.
    approximate: bool = False
    delta: float = 0.0
    exact_at: np.ndarray | None = None
    structure: np.ndarray | None = None

    def candidate_positions(self, at: np.ndarray) -> np.ndarray:
        """Return the candidate positions of entries of these arrays."""
        return at if self.pos is None else self.pos[at]

    def category(self, pos: np.ndarray) -> np.ndarray:
        """Return the category overlap at these positions."""
        return self.category_table[self.code[pos]]

    def sector(self, pos: np.ndarray) -> np.ndarray:
        """Return the (hashed) sector indicator at these positions."""
        return self.sector_table[self.code[pos]]


_SCAN_BUFFERS = ("x", "y", "xl", "yl", "country", "s", "X", "Y", "ia", "ib", "t")


def dense_into(matrix: np.ndarray, vec: np.ndarray | None, spans: list[tuple[int, int, int]],
               out: np.ndarray) -> None:
    """Write matrix[lo:hi] @ vec to out[pos:...] for each span, zero elsewhere: one GEMV per span."""
    out.fill(0)
    if vec is None:
        return
    for lo, hi, pos in spans:
        np.matmul(matrix[lo:hi], vec, out=out[pos:pos + hi - lo])


_CHUNK = 16384
# The calling thread's share of a half scan's rows when two threads are allowed: it also computes the lexical and
# structured signals (about a fifth of a 100k query) while the helper thread scans the rest.
HALF_CALLER_SHARE = 0.4


def _fuse(w: FusionWeights, alpha_a, alpha_b, x, y, xl, yl, country, s, big_x, big_y, ia, ib, t) -> None:
    """Write the first-stage reciprocal score (harmonic mean / 2) to ia, in place over one chunk."""
    np.multiply(country, np.float32(w.country), out=t)
    s += t
    # X, Y: each direction's text signal; interests are blends of them by each side's alpha.
    for raw, lex, out in ((x, xl, big_x), (y, yl, big_y)):
        np.maximum(raw, 0, out=out)
        out *= np.float32(w.dense)
        np.multiply(lex, np.float32(w.lexical), out=t)
        out += t
    np.multiply(big_x, alpha_a, out=ia)
    np.multiply(big_y, np.float32(1) - alpha_a, out=t)
    ia += t
    ia += s
    np.subtract(big_y, big_x, out=ib)
    ib *= alpha_b
    ib += big_x
    ib += s
    np.maximum(ia, 0, out=ia)
    np.maximum(ib, 0, out=ib)
    # Harmonic mean up to the factor 2, which does not change the order.
    np.add(ia, ib, out=t)
    np.maximum(t, np.float32(1e-9), out=t)
    ia *= ib
    ia /= t


def scan(index: MatchIndex, a: int, w: FusionWeights, dense: tuple[np.ndarray, np.ndarray] | None = None,
         half: bool = True) -> Scan:
    """Score every candidate of query row `a` with whole-profile texts in a fixed number of in-place passes.

    `dense`, when given, holds the query's (x, y) dense rows already computed (recommend_all's GEMM blocks). On sides
    index.scans_half() names the dense rows come from half-precision copies (unless not `half`) and the result must
    be refined (matchmaker.halfscan.refine) before a shortlist is taken.
    """
    p = index.profiles[a]
    cands = index.candidates[p.side]
    b = index.scratch(p.side, _SCAN_BUFFERS)
    x, y, xl, yl, country, s = b["x"], b["y"], b["xl"], b["yl"], b["country"], b["s"]
    big_x, big_y, ia, ib, t = b["X"], b["Y"], b["ia"], b["ib"], b["t"]
    v = index._vectors[a]
    delta, approximate, gemvs = 0.0, False, None
    if dense is not None:
        x[:], y[:] = dense
    elif half and index.scans_half(p.side):
        # Begun now, finished below: a helper thread scans its share of the rows while this one computes the
        # lexical and structured signals.
        gemvs = index.half_offer.begin_pair(None if v.need is None else index.need[a], cands.offer_spans, x,
                                            index.half_need, None if v.offer is None else index.offer[a],
                                            cands.need_spans, y, caller_share=HALF_CALLER_SHARE)
        approximate = True
    else:
        dense_into(index.offer, None if v.need is None else index.need[a], cands.offer_spans, x)
        dense_into(index.need, None if v.offer is None else index.offer[a], cands.need_spans, y)
    try:
        category, sector = _signals_into(index, a, p, cands, w, xl, yl, country, s)
    finally:
        if gemvs is not None:
            # Each interest moves by at most |w.dense| * error and the harmonic mean is 1-Lipschitz in each of them
            # jointly (its two partial derivatives' squares sum to at most 1): delta bounds the score's error.
            delta = abs(w.dense) * gemvs.finish()
    alpha_a = np.float32(index.alpha[a])
    # In cache-sized chunks: a dozen passes over one chunk stay in L2 where whole arrays would not.
    for lo in range(0, len(s), _CHUNK):
        hi = lo + _CHUNK
        _fuse(w, alpha_a, cands.alpha[lo:hi], x[lo:hi], y[lo:hi], xl[lo:hi], yl[lo:hi], country[lo:hi], s[lo:hi],
              big_x[lo:hi], big_y[lo:hi], ia[lo:hi], ib[lo:hi], t[lo:hi])
    return Scan(a, ia, x, y, xl, yl, country, category.astype(np.float32), sector.astype(np.float32),
                cands.structure_code, approximate=approximate, delta=delta,
                structure=s if approximate else None)


def _signals_into(index: MatchIndex, a: int, p, cands, w: FusionWeights, xl, yl, country,
                  s) -> tuple[np.ndarray, np.ndarray]:
    """Write the lexical signals, the structured score (category, sector) and the country fit of row a's candidates."""
    similarity_into(sparse_row(index.lex_need, a), index.lex_offer_t, xl, cands.segments)
    similarity_into(sparse_row(index.lex_offer, a), index.lex_need_t, yl, cands.segments)
    # Category and sector per distinct (mask, count, sector mask) key, gathered to positions.
    category = overlap(cands.key_category, int(index.category_mask[a]), cands.key_count,
                       float(index.category_count[a]))
    sector = overlap(cands.key_sector, int(index.sector_mask[a]), None, 0.0)
    np.take((w.category * category + w.sector * sector).astype(np.float32), cands.structure_code, out=s)
    # Country fit by scatter: 0.5 for shared targets, 1 where either works in the other's country.
    country.fill(0)
    targets = [index.country_code[c] for c in p.target_countries]
    for c in targets:
        country[cands.targeting_rows(c)] = 0.5
    for c in targets:
        country[cands.country_rows(c)] = 1.0
    country[cands.targeting_rows(int(index.country[a]))] = 1.0
    return category, sector


def dense_rows(index: MatchIndex, a: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the (x, y) dense scores of query row `a` against index rows, one row-wise float32 sum per row.

    Each value depends only on its row (not on which other rows come along, as a GEMV's blocking may): the scores a
    shortlist is re-ranked with are the same bits whichever first stage chose it.
    """
    v = index._vectors[a]
    x = (index.offer[rows] * index.need[a]).sum(axis=1) if v.need is not None else np.zeros(len(rows), np.float32)
    y = (index.need[rows] * index.offer[a]).sum(axis=1) if v.offer is not None else np.zeros(len(rows), np.float32)
    return x, y


def scan_subset(index: MatchIndex, a: int, w: FusionWeights, pos: np.ndarray) -> Scan:
    """Score the candidates at positions `pos` exactly as scan() scores them, by gathering their rows."""
    p = index.profiles[a]
    cands = index.candidates[p.side]
    rows = cands.rows[pos]
    m = len(pos)
    v = index._vectors[a]
    x = index.offer[rows] @ index.need[a] if v.need is not None else np.zeros(m, np.float32)
    y = index.need[rows] @ index.offer[a] if v.offer is not None else np.zeros(m, np.float32)
    xl = similarity_rows(sparse_row(index.lex_need, a), index.lex_offer, rows)
    yl = similarity_rows(sparse_row(index.lex_offer, a), index.lex_need, rows)
    category = overlap(cands.key_category, int(index.category_mask[a]), cands.key_count,
                       float(index.category_count[a]))
    sector = overlap(cands.key_sector, int(index.sector_mask[a]), None, 0.0)
    code = cands.structure_code[pos]
    s = (w.category * category + w.sector * sector).astype(np.float32)[code]
    # Country fit as in scan(): 0.5 for shared targets, 1 where either works in the other's country.
    country = np.zeros(m, np.float32)
    targets = np.array([index.country_code[c] for c in p.target_countries], np.int32)
    starts, lengths = index.target_ptr[rows], index.target_ptr[rows + 1] - index.target_ptr[rows]
    theirs = index.target_codes[range_positions(starts, lengths)]
    owner = np.repeat(np.arange(m), lengths)
    country[owner[np.isin(theirs, targets)]] = 0.5
    country[np.isin(index.country[rows], targets)] = 1.0
    country[owner[theirs == index.country[a]]] = 1.0
    big_x, big_y, ia, ib, t = (np.empty(m, np.float32) for _ in range(5))
    _fuse(w, np.float32(index.alpha[a]), cands.alpha[pos], x, y, xl, yl, country, s, big_x, big_y, ia, ib, t)
    return Scan(a, ia, x, y, xl, yl, country, category.astype(np.float32), sector.astype(np.float32), code, pos)


def dense_block(index: MatchIndex, rows: list[int], cands) -> tuple[np.ndarray, np.ndarray]:
    """Return (x, y) dense scores of several queries of one side over their candidates, as GEMMs over the spans."""
    m = len(cands.rows)
    out = []
    for matrix, queries, spans in ((index.offer, index.need[rows], cands.offer_spans),
                                   (index.need, index.offer[rows], cands.need_spans)):
        block = np.zeros((len(rows), m), np.float32)
        for lo, hi, pos in spans:
            np.matmul(queries, matrix[lo:hi].T, out=block[:, pos:pos + hi - lo])
        out.append(block)
    return out[0], out[1]
