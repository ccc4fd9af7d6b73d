"""The dense first stage over half-precision copies, with an error bound that keeps the ranking exact.

A full scan is memory-bound: reading the candidates' float32 offer and need rows is most of a query's time. Half
precision (IEEE float16) copies halve those bytes. The scan then knows each dense cosine only to within a bound E
(below), so each fused first-stage score only to within delta = |w.dense| * E: `refine` rescores in float32 every
candidate whose approximate score could still reach the shortlist, and the shortlist (hence the ranking) is the one
the float32 scan gives. Used on sides with more than `MatchIndex.half_threshold` candidates (and at most
`ann_threshold`, above which the approximate candidate path runs); torch supplies the half GEMV and is imported only
when such an index is built.

The bound, for a row a, the query v and their half copies a', v' (u = 2^-11, half's unit roundoff):
  |a'.v' - a.v| <= ||a' - a|| ||v|| + ||a'|| ||v' - v||                      (exact arithmetic)
  torch accumulates in float32 (checked: reduced-precision reduction off)    <= gamma_d ||a'|| ||v'||
  and rounds the result to half                                             <= u |result| (+ 2^-25 if subnormal)
  the float32 reference (a GEMV) is itself within gamma_d ||a|| ||v|| of a.v,
with gamma_d = d 2^-24 / (1 - d 2^-24). Each term is taken at its maximum over the matrix.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from matchmaker.scoring import _fuse, dense_rows

U16 = 2.0 ** -11
_TINY = 2.0 ** -24
_THREADS = threading.local()
# Threads a query's half GEMVs may use together (matchmaker.engine.set_blas_threads keeps it equal to the BLAS
# threads): with two, their rows are split between the calling thread and _PAIR's one thread (Gemvs), as the float32
# scan's GEMVs each run on two BLAS threads. Python threads, not torch's OpenMP workers, which spin after each call
# (see _single_thread).
_PAIR_THREADS = 1
_PAIR: ThreadPoolExecutor | None = None
_PAIR_LOCK = threading.Lock()


def set_threads(threads: int) -> None:
    """Let a query's two half GEMVs run on up to `threads` threads (1: one after the other)."""
    global _PAIR_THREADS
    _PAIR_THREADS = max(1, int(threads))


def _pair_pool() -> ThreadPoolExecutor:
    global _PAIR
    with _PAIR_LOCK:
        if _PAIR is None:
            _PAIR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="halfscan")
        return _PAIR


def _torch():
    import torch  # noqa: PLC0415 - heavy: only indexes big enough for the half scan pay for it

    return torch


def available() -> bool:
    """Tell whether the half GEMV accumulates in float32 (the bound assumes it); False without torch."""
    try:
        torch = _torch()
    except ImportError:
        return False
    flag = getattr(torch._C, "_get_cpu_allow_fp16_reduced_precision_reduction", None)
    return flag is None or not flag()


def _gamma(d: int) -> float:
    return d * 2.0 ** -24 / (1 - d * 2.0 ** -24)


class HalfMatrix:
    """A float16 copy of a float32 matrix with the largest row rounding error and row norm, for the bound."""

    def __init__(self, matrix: np.ndarray) -> None:
        torch = _torch()
        self.data = torch.from_numpy(np.ascontiguousarray(matrix, np.float32)).to(torch.float16)
        err, norm = 0.0, 0.0
        for lo in range(0, len(matrix), 65536):
            exact = matrix[lo:lo + 65536]
            half = self.data[lo:lo + 65536].numpy().astype(np.float32)
            if len(exact):
                err = max(err, float(np.linalg.norm((exact - half).astype(np.float64), axis=1).max()))
                norm = max(norm, float(np.linalg.norm(exact.astype(np.float64), axis=1).max()),
                           float(np.linalg.norm(half.astype(np.float64), axis=1).max()))
        self.row_error, self.row_norm, self.dim = err, norm, matrix.shape[1]

    @property
    def nbytes(self) -> int:
        """Return the bytes the half copy holds."""
        return self.data.numel() * 2

    def matvec_pair(self, vec: np.ndarray | None, spans: list[tuple[int, int, int]], out: np.ndarray,
                    other: HalfMatrix, other_vec: np.ndarray | None, other_spans: list[tuple[int, int, int]],
                    other_out: np.ndarray) -> float:
        """matvec_into on self and on other (distinct outputs) as one piece of work; return the larger E."""
        return Gemvs(((self, vec, spans, out), (other, other_vec, other_spans, other_out))).finish()

    def begin_pair(self, vec: np.ndarray | None, spans: list[tuple[int, int, int]], out: np.ndarray,
                   other: HalfMatrix, other_vec: np.ndarray | None, other_spans: list[tuple[int, int, int]],
                   other_out: np.ndarray, caller_share: float = 0.5) -> Gemvs:
        """matvec_pair begun: the helper thread's share runs while the caller goes on; Gemvs.finish() ends it."""
        return Gemvs(((self, vec, spans, out), (other, other_vec, other_spans, other_out)), caller_share)

    def matvec_into(self, vec: np.ndarray | None, spans: list[tuple[int, int, int]], out: np.ndarray) -> float:
        """Write half-precision matrix[lo:hi] @ vec to out[pos:...] per span, zero elsewhere; return the bound E.

        |out - float32 GEMV| <= E at every entry (zero entries are exact).
        """
        return Gemvs(((self, vec, spans, out),)).finish()

    def bound(self, vec: np.ndarray, half, out: np.ndarray) -> float:
        """E for the GEMVs of vec (as float32) and its half copy that wrote out."""
        v = vec.astype(np.float64)
        v_half = half.numpy().astype(np.float64)
        v_norm, v_err = float(np.linalg.norm(v)), float(np.linalg.norm(v_half - v))
        g = _gamma(self.dim)
        top = float(np.abs(out).max()) if len(out) else 0.0
        bound = (self.row_error * v_norm + self.row_norm * v_err
                 + 2 * g * self.row_norm * max(v_norm, float(np.linalg.norm(v_half)))
                 + U16 * (1 + 2 * U16) * top + _TINY)
        return bound * (1 + 1e-3)


# Below this many rows in all a query's GEMVs run on the calling thread: a hand-off costs more than it saves.
_PAIR_MIN_ROWS = 8192


def _single_thread(torch) -> None:
    if not getattr(_THREADS, "single", False):
        # One torch thread per calling thread: after each call torch's OpenMP workers spin for a while, and on a
        # shared 2-core box they take the core the rest of the query needs (measured at 100k: p50 44 ms with two,
        # 21 ms with one, the float32 scan 31 ms). torch's intra-op thread count is per OS thread under OpenMP: this
        # sets the calling thread's (and the default of threads that start torch work later without setting theirs).
        torch.set_num_threads(1)
        _THREADS.single = True


def _gemvs(torch, pieces: list) -> None:
    """Run (matrix rows, half vector, output slice) GEMVs on this thread."""
    _single_thread(torch)
    with torch.inference_mode():
        for rows, half, part in pieces:
            part[:] = torch.mv(rows, half).numpy()


class Gemvs:
    """The GEMVs of (HalfMatrix, vector or None, spans, out) tasks, begun at once; finish() completes them.

    With two threads allowed (set_threads) a helper thread starts on its share of the rows at once and the rest is
    left for the calling thread, which may do other work first (scoring.scan computes the lexical and structured
    signals meanwhile) and then runs its share in finish(). torch releases the GIL inside the GEMV, so the
    memory-bound halves overlap on two cores. `caller_share` is the calling thread's part of the rows.
    """

    def __init__(self, tasks, caller_share: float = 0.5) -> None:
        pieces, self.halves, total = [], [], 0
        self.torch = None
        for matrix, vec, spans, out in tasks:
            out.fill(0)
            if vec is None or not spans:
                continue
            self.torch = self.torch or _torch()
            vec = np.ascontiguousarray(vec, np.float32)
            half = self.torch.from_numpy(vec).to(self.torch.float16)
            self.halves.append((matrix, vec, half, out))
            for lo, hi, pos in spans:
                pieces.append((matrix.data, lo, hi, half, out[pos:pos + hi - lo]))
                total += hi - lo
        self.pending = None
        self.mine = [(data[lo:hi], half, part) for data, lo, hi, half, part in pieces]
        if _PAIR_THREADS < 2 or total < _PAIR_MIN_ROWS:
            return
        # The helper takes the first rows (a span may be cut in two), the calling thread the last caller_share.
        theirs, self.mine, left = [], [], total - int(total * caller_share)
        for data, lo, hi, half, part in pieces:
            take = min(left, hi - lo)
            if take:
                theirs.append((data[lo:lo + take], half, part[:take]))
                left -= take
            if take < hi - lo:
                self.mine.append((data[lo + take:hi], half, part[take:]))
        self.pending = _pair_pool().submit(_gemvs, self.torch, theirs)

    def finish(self) -> float:
        """Run the calling thread's share, wait for the helper's, and return the largest bound E."""
        try:
            if self.mine:
                _gemvs(self.torch, self.mine)
        finally:
            if self.pending is not None:
                self.pending.result()
        return max((matrix.bound(vec, half, out) for matrix, vec, half, out in self.halves), default=0.0)


# Rounding inside the fused score (a dozen float32 operations on values near 1) stays far below this.
_FUSE_SLACK = 1e-5


def refine(index, found, w, groups: list[tuple[int, int, int]]) -> None:
    """Rescore in float32 every entry whose half-precision first-stage score could reach its group's top k.

    `groups` holds (first entry, end, k) per group the shortlist takes its best k from. Afterwards found.scores
    is exact at found.exact_at (sorted), and every other entry is below its group's k-th best exact score.
    """
    scores = found.scores
    keep = []
    for lo, hi, k in groups:
        part = scores[lo:hi]
        m = hi - lo
        if k <= 0:
            continue
        kth = float(np.partition(part, m - k)[m - k]) if k < m else -np.inf
        if not np.isfinite(kth):
            keep.append(np.flatnonzero(np.isfinite(part)) + lo)
            continue
        # An exact score is within delta of its approximation, so an entry below kth - 2 delta has at least k
        # entries certainly above it.
        margin = 2 * found.delta + _FUSE_SLACK * max(1.0, abs(kth))
        keep.append(np.flatnonzero(part >= kth - margin) + lo)
    at = np.concatenate(keep) if keep else np.zeros(0, np.int64)
    cands = index.candidates[index.profiles[found.a].side]
    x, y = dense_rows(index, found.a, cands.rows[at])
    found.x_dense[at], found.y_dense[at] = x, y
    m = len(at)
    big_x, big_y, ia, ib, t = (np.empty(m, np.float32) for _ in range(5))
    # found.structure already includes the country term: fuse adds w.country * 0.
    _fuse(w, np.float32(index.alpha[found.a]), cands.alpha[at], x, y, found.x_lex[at], found.y_lex[at],
         np.zeros(m, np.float32), found.structure[at], big_x, big_y, ia, ib, t)
    scores[at] = ia
    found.exact_at = at

