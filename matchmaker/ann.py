"""Approximate candidate generation for big indexes: dense IVF search, TF-IDF postings and structure, unioned.

Above `MatchIndex.ann_threshold` candidates on the scanned side, recommend() scores exactly only the union of
  - dense: an inverted-file (faiss IVF, inner product) search in both directions, the query's need vector
    against candidates' offer vectors and its offer vector against their need vectors;
  - lexical: candidates sharing the query's highest-weight TF-IDF terms, ranked by their partial cosine;
  - structure: candidates in the query's country or targets with the best category/sector/country fit, capped;
a few thousand positions instead of the whole side. faiss is imported only when such an index is built.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from matchmaker.engine import blas_threads
from matchmaker.index import ANN_MIN_CANDIDATES, SIDE_ORDER, CandidateSet, MatchIndex  # noqa: F401 - re-exported
from matchmaker.lexical import range_positions, sparse_row
from matchmaker.scoring import overlap


@dataclass(frozen=True)
class AnnParams:
    """Sizes of the candidate generators (per query) and of the IVF lists."""

    dense_k: int = 3000  # per direction, shared among candidate sides by their number of rows
    nprobe: int = 24
    lexical_k: int = 1000  # per direction
    lexical_postings: int = 50_000  # postings read per direction, highest-weight terms first
    structure_k: int = 500
    train_size: int = 60_000  # vectors sampled to train each IVF's centroids
    # 8-bit scalar-quantized lists: a quarter of float32's memory (0.6 GB instead of 2.4 GB at 1M organizations);
    # the generated candidates are rescored exactly, so only their choice sees the rounding.
    quantized: bool = True


DEFAULT_ANN = AnnParams()


def _nlist(n: int) -> int:
    """Return about 1.5 sqrt(n) lists (a power of two), with the 39 training points per list k-means asks for."""
    return int(max(1, min(4096, n // 39, 2 ** round(np.log2(max(1.0, 1.5 * np.sqrt(n)))))))


class DenseIVF:
    """An IVF index over one contiguous row span of a matrix; search returns index rows."""

    def __init__(self, matrix: np.ndarray, lo: int, hi: int, params: AnnParams, seed: int = 0) -> None:
        import faiss  # noqa: PLC0415 - optional at import time, needed only above the threshold

        # faiss trains and adds with OpenMP, by default one thread per core, and its threads wait for each other
        # spinning: next to one busy core, an IVF of 50,000 vectors took 1.71 s with two threads and 0.77 s with
        # one. It takes the process's BLAS thread count (1 in a server); the setting is per calling thread
        # (OpenMP's), so searches set it too.
        faiss.omp_set_num_threads(blas_threads())
        self.lo = lo
        data = matrix[lo:hi]
        n, dim = data.shape
        nlist = _nlist(n)
        quantizer = faiss.IndexFlatIP(dim)
        if params.quantized:
            self.ivf = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit,
                                                     faiss.METRIC_INNER_PRODUCT)
        else:
            self.ivf = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(seed)
        sample = data[np.sort(rng.choice(n, size=min(n, max(params.train_size, 40 * nlist)), replace=False))]
        self.ivf.train(np.ascontiguousarray(sample))
        for start in range(0, n, 65536):
            self.ivf.add(np.ascontiguousarray(data[start:start + 65536]))
        self.nlist = nlist
        self._faiss = faiss

    def search(self, vec: np.ndarray, k: int, nprobe: int) -> np.ndarray:
        """Return the index rows of about the k highest inner products with vec, visiting nprobe lists."""
        self._faiss.omp_set_num_threads(blas_threads())
        params = self._faiss.SearchParametersIVF(nprobe=min(nprobe, self.nlist))
        _, ids = self.ivf.search(vec.reshape(1, -1), k, params=params)
        ids = ids[0]
        return ids[ids >= 0] + self.lo


class CandidateGenerator:
    """Per-side dense IVF indexes (built lazily, once per side and matrix) and the union of the three generators."""

    def __init__(self, index: MatchIndex, params: AnnParams = DEFAULT_ANN) -> None:
        self.index = index
        self.params = params
        self._ivf: dict[tuple[str, str], DenseIVF | None] = {}
        self._lock = threading.Lock()

    def ivf(self, matrix: str, side: str) -> DenseIVF | None:
        """Return the IVF over `side`'s rows of the "offer" or "need" matrix (None when the side has none)."""
        key = (matrix, side)
        if key not in self._ivf:
            with self._lock:
                if key not in self._ivf:
                    lo, hi = (self.index.offer_span if matrix == "offer" else self.index.need_span)[side]
                    self._ivf[key] = DenseIVF(getattr(self.index, matrix), lo, hi, self.params) if hi > lo else None
        return self._ivf[key]

    def build(self, sides: tuple[str, ...] = SIDE_ORDER) -> None:
        """Build every IVF that queries from these sides would use (otherwise built by the first such query)."""
        for side in sides:
            for s in self.index.candidates[side].sides:
                self.ivf("offer", s)
                self.ivf("need", s)

    def generate(self, a: int) -> np.ndarray:
        """Return the sorted, distinct candidate positions of query row `a` from all generators."""
        index, prm = self.index, self.params
        cands = index.candidates[index.profiles[a].side]
        v = index._vectors[a]
        found = []
        for s, (lo, hi, _) in zip(cands.sides, cands.segments):
            k = max(10, round(prm.dense_k * (hi - lo) / len(cands.rows)))
            for vec, matrix in ((v.need, "offer"), (v.offer, "need")):
                if vec is None:
                    continue
                ivf = self.ivf(matrix, s)
                if ivf is not None:
                    found.append(ivf.search(np.ascontiguousarray(vec, np.float32), k, prm.nprobe))
        for query, rows_t in ((sparse_row(index.lex_need, a), index.lex_offer_t),
                              (sparse_row(index.lex_offer, a), index.lex_need_t)):
            found.append(_lexical_rows(query, rows_t, cands, prm.lexical_k, prm.lexical_postings))
        pos = cands.positions(np.concatenate(found)) if found else np.zeros(0, np.int64)
        pos = np.concatenate([pos[pos >= 0], _structure_positions(index, a, cands, prm.structure_k)])
        return np.unique(pos)


def _lexical_rows(query: tuple[np.ndarray, np.ndarray], rows_t, cands: CandidateSet, k: int,
                  budget: int) -> np.ndarray:
    """Return rows among the candidates with the k best partial cosines over the query's heaviest terms."""
    terms, values = query
    if len(terms) == 0:
        return np.zeros(0, np.int64)
    order = np.argsort(-values, kind="stable")
    terms, values = terms[order], values[order]
    starts, stops = rows_t.indptr[terms], rows_t.indptr[terms + 1]
    lengths = stops - starts
    # Heaviest (rarest, most repeated) terms first, until the postings budget is spent.
    keep = max(1, int(np.searchsorted(np.cumsum(lengths), budget, side="right")))
    starts, lengths, values = starts[:keep], lengths[:keep], values[:keep]
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    take = range_positions(starts, lengths)
    rows = rows_t.indices[take]
    weights = rows_t.data[take] * np.repeat(values, lengths)
    rows, inverse = np.unique(rows, return_inverse=True)
    score = np.bincount(inverse.reshape(-1), weights=weights, minlength=len(rows))
    inside = np.zeros(len(rows), bool)
    for lo, hi, _ in cands.segments:
        inside |= (rows >= lo) & (rows < hi)
    rows, score = rows[inside], score[inside]
    if len(rows) > k:
        rows = rows[np.argpartition(-score, k)[:k]]
    return rows.astype(np.int64)


def _structure_positions(index: MatchIndex, a: int, cands: CandidateSet, k: int) -> np.ndarray:
    """Return up to k positions with the best category/sector fit among candidates of full country fit."""
    p = index.profiles[a]
    pools = [cands.country_rows(index.country_code[c]) for c in p.target_countries]
    pools.append(cands.targeting_rows(int(index.country[a])))
    pool = np.unique(np.concatenate(pools))
    if len(pool) == 0 or k <= 0:
        return np.zeros(0, np.int64)
    category = overlap(cands.key_category, int(index.category_mask[a]), cands.key_count,
                       float(index.category_count[a]))
    sector = overlap(cands.key_sector, int(index.sector_mask[a]), None, 0.0)
    fit = (2 * category + sector)[cands.structure_code[pool]]
    if len(pool) > k:
        # Ties (many candidates share a fit) are broken by a per-query hash, not always the lowest rows.
        jitter = ((pool * 2654435761 + a) % 1000003).astype(np.float64) / 1e7
        pool = pool[np.argpartition(-(fit + jitter), k)[:k]]
    return pool


def configure(index: MatchIndex, params: AnnParams) -> CandidateGenerator:
    """Give an index a candidate generator with these sizes (before its first approximate query)."""
    generator = CandidateGenerator(index, params)
    index._ann = generator
    return generator
