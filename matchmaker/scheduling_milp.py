"""The exact timetable model for HiGHS (scipy.optimize.milp), and its LP relaxation as an upper bound.

One binary x[m, s] per free meeting m and usable slot s, one y[p] per party that could get its first meeting:
    sum_s x[m, s] <= 1                      each meeting at most once
    sum_{m of p} x[m, s] <= 1               no party twice in a slot
    sum_m x[m, s] <= free places in s       tables (rows only where they can bind)
    y[p] <= sum_{m of p, s} x[m, s]         y[p] = 1 only if p meets someone
The lexicographic objective of matchmaker.scheduling becomes one weighted sum: a meeting weighs more than all
coverage and stability terms together, and a covered party more than all stability terms together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import coo_array, csr_array

from matchmaker.scheduling_core import FreeProblem, bits, weights


def _columns(pairs: list[tuple[int, int]], masks: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Return (meeting, slot) of every x variable, meeting-major."""
    ms, ss = [], []
    for m, mask in enumerate(masks):
        for s in bits(mask):
            ms.append(m)
            ss.append(s)
    return np.array(ms, dtype=np.int64), np.array(ss, dtype=np.int64)


def _rows(n_slots: int, cap: list[int], pairs: list[tuple[int, int]], mi: np.ndarray, si: np.ndarray):
    """Return (row, column, upper bound) arrays of the placement constraints that can bind, over the x columns."""
    pa = np.array([p for p, _ in pairs], dtype=np.int64)[mi] if len(mi) else np.zeros(0, np.int64)
    pb = np.array([p for _, p in pairs], dtype=np.int64)[mi] if len(mi) else np.zeros(0, np.int64)
    col = np.arange(len(mi))
    rows, cols, ubs = [], [], []
    base = 0

    def group(keys: np.ndarray, members: np.ndarray, limit: np.ndarray, ub_of_key) -> None:
        nonlocal base
        uniq, inv, counts = np.unique(keys, return_inverse=True, return_counts=True)
        binding = counts > limit(uniq)
        remap = np.full(len(uniq), -1)
        remap[binding] = base + np.arange(int(binding.sum()))
        keep = binding[inv]
        rows.append(remap[inv[keep]])
        cols.append(members[keep])
        ubs.append(ub_of_key(uniq[binding]))
        base += int(binding.sum())

    one = lambda k: np.ones(len(k))  # noqa: E731
    group(mi, col, one, one)
    group(np.concatenate([pa, pb]) * n_slots + np.concatenate([si, si]), np.concatenate([col, col]), one, one)
    caps = np.array(cap, dtype=float)
    group(si, col, lambda k: caps[k], lambda k: caps[k])
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(ubs), base


@dataclass
class Model:
    """The weighted placement MILP of one FreeProblem, in HiGHS's terms (minimise c @ x)."""

    c: np.ndarray
    a: csr_array
    lb: np.ndarray
    ub: np.ndarray
    meeting: np.ndarray  # per x column
    slot: np.ndarray     # per x column
    n_meetings: int


def build_model(fp: FreeProblem) -> Model:
    """Return the model of the module docstring for fp, weighted by scheduling_core.weights."""
    mi, si = _columns(fp.pairs, fp.masks)
    n_x = len(mi)
    rows, cols, ubs, n_rows = _rows(fp.n_slots, fp.cap, fp.pairs, mi, si)
    vals = [np.ones(len(rows))]
    parties = fp.coverable() if n_x else []
    n_y = len(parties)
    if parties:
        # y[p] - sum of p's x <= 0, one row per party; y columns follow the x columns
        y_of = np.full(fp.n_parties, -1)
        y_of[parties] = np.arange(n_y)
        extra_rows, extra_cols = [n_rows + np.arange(n_y)], [n_x + np.arange(n_y)]
        for side in (0, 1):
            y = y_of[np.array([pair[side] for pair in fp.pairs], dtype=np.int64)[mi]]
            extra_rows.append(n_rows + y[y >= 0])
            extra_cols.append(np.flatnonzero(y >= 0))
        rows = np.concatenate([rows, *extra_rows])
        cols = np.concatenate([cols, *extra_cols])
        vals += [np.ones(n_y), -np.ones(len(rows) - len(vals[0]) - n_y)]
        ubs = np.concatenate([ubs, np.zeros(n_y)])
        n_rows += n_y
    w_meeting, w_cover = weights(fp)
    stay = (np.array(fp.prefer, dtype=np.int64)[mi] == si).astype(float) if n_x else np.zeros(0)
    c = np.concatenate([-(w_meeting + stay), np.full(n_y, -float(w_cover))])
    a = csr_array(coo_array((np.concatenate(vals), (rows, cols)), shape=(n_rows, n_x + n_y)))
    return Model(c, a, np.full(n_rows, -np.inf), ubs, mi, si, len(fp.pairs))


def relax(model: Model, time_limit: float) -> tuple[float, list[int]] | None:
    """Return the LP relaxation's optimum (largest weighted objective) and its x > 0.5 as slots; None if not in time."""
    slots = [-1] * model.n_meetings
    if len(model.c) == 0:
        return 0.0, slots
    res = linprog(model.c, A_ub=model.a if len(model.ub) else None, b_ub=model.ub if len(model.ub) else None,
                  bounds=(0, 1), method="highs", options={"time_limit": max(time_limit, 0.01)})
    if res.status != 0:
        return None
    for j in np.flatnonzero(res.x[:len(model.meeting)] > 0.5):
        slots[int(model.meeting[j])] = int(model.slot[j])
    return float(-res.fun), slots


def solve_model(model: Model, time_limit: float) -> tuple[list[int] | None, bool]:
    """Return (slot per free meeting, or None if HiGHS found no solution in time; whether proven optimal)."""
    if len(model.c) == 0:
        return [-1] * model.n_meetings, True
    # mip_rel_gap 0: the weights make a relative gap of 1e-4 worth several covered participants.
    res = milp(model.c, constraints=LinearConstraint(model.a, model.lb, model.ub),
               integrality=np.ones(len(model.c)), bounds=Bounds(0, 1),
               options={"time_limit": max(time_limit, 0.01), "mip_rel_gap": 0.0})
    if res.x is None:
        return None, False
    slots = [-1] * model.n_meetings
    for j in np.flatnonzero(res.x[:len(model.meeting)] > 0.5):
        slots[int(model.meeting[j])] = int(model.slot[j])
    return slots, res.status == 0


def lp_bound(n_slots: int, cap: list[int], pairs: list[tuple[int, int]], masks: list[int],
             time_limit: float) -> float | None:
    """Return the LP relaxation's optimum of the placement count, or None when HiGHS does not finish in time."""
    mi, si = _columns(pairs, masks)
    if len(mi) == 0:
        return 0.0
    rows, cols, ubs, n_rows = _rows(n_slots, cap, pairs, mi, si)
    a = csr_array(coo_array((np.ones(len(rows)), (rows, cols)), shape=(n_rows, len(mi))))
    res = linprog(-np.ones(len(mi)), A_ub=a if n_rows else None, b_ub=ubs if n_rows else None, bounds=(0, 1),
                  method="highs", options={"time_limit": max(time_limit, 0.01)})
    return float(-res.fun) if res.status == 0 else None
