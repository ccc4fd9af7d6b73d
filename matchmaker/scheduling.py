"""Event timetables: place accepted one-to-one meetings into time slots and meeting tables.

Hard rules: a placed meeting sits in a slot where both parties are available; nobody is in two meetings of
one slot; a slot holds at most `tables` meetings, at distinct tables 1..tables (table None for online events).

Stability is not traded: a published or pinned meeting whose current place is still valid (slot exists, both
parties available, the table exists - None for an online event -, no clash with another kept meeting) stays
exactly there. When kept meetings clash, pinned ones win over published ones, then lower ids; the others are
placed like new meetings. `moved` lists every published/pinned meeting with a current place that did not end
exactly there (other slot, other table, or unplaced); one without a current place has nothing to keep.

The other meetings are placed to maximise, lexicographically:
  1. the number of meetings placed;
  2. the number of participants with at least one meeting (fairness: nobody is left with nothing while
     others have several, where the data allows it; by (1) it never costs a meeting);
  3. the number of meetings left in their current slot (fewer surprises for the organizer).
Then tables: a meeting staying in its slot keeps its table when free, the others take the lowest free table.

Solvers (`solver` says which answered): the heuristic of matchmaker.scheduling_greedy always runs first. Up to
MILP_MAX_VARIABLES, HiGHS then solves the LP relaxation of the exact model (matchmaker.scheduling_milp): if the
heuristic meets its bound it is optimal ("greedy+repair (optimal)"); else the heuristic is rerun from the
rounded LP and from a few other seeds, and then the MILP runs in the time left ("milp" when proven optimal),
the better answer winning when the MILP is cut short. Answers are deterministic for one input and seed
unless a time limit cuts a solver short; `seconds` can pass time_limit by the final bookkeeping.

Unplaced meetings carry a reason: no_common_slot (the parties share no available slot), no_table (in some
common slot both are free but every table is taken), else party_busy with `party` the one busy in more of
the common slots (a tie goes to the one with more meetings, then to the first party).
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass
from typing import Mapping, Sequence

from matchmaker.scheduling_core import FreeProblem, fill_gaps, weighted
from matchmaker.scheduling_greedy import solve_greedy
from matchmaker.scheduling_milp import build_model, lp_bound, relax, solve_model

UNPLACED_REASONS = ("no_common_slot", "party_busy", "no_table")
# Above this many (meeting, usable slot) variables only the heuristic runs. Measured on events shaped like
# benchmarks/schedule.py's on the shared 2-core box: up to ~10k variables HiGHS's LP relaxation took 0.3-1 s and
# proved the heuristic optimal outright on most events, and where it did not, the MILP found 1-3 more meetings
# on dense ones (2-8 s to optimality, or its incumbent at 10 s). From ~12k variables the LP alone took 6-10 s and
# the MILP never beat the heuristic inside 10 s; the default benchmark (152k variables) needs 3-20 s for the LP.
MILP_MAX_VARIABLES = 10_000
# Heuristic reruns with other seeds before the MILP: on the seminar benchmark's events (seeds 0-3) the best
# of four runs met the LP bound on two, one run on one; a run takes 0.1-0.3 s there, the MILP 2-9 s.
_RESTARTS = 3
# Seconds kept back from the MILP's limit for what follows it (HiGHS can overrun its limit a little).
_MARGIN = 0.3


@dataclass(frozen=True)
class MeetingSpec:
    """One accepted meeting to place, with where it is now and whether that place is promised."""

    id: int                                          # the caller's meeting id
    parties: tuple[int, int]                         # the two participants (organization ids), distinct
    current: tuple[int, int | None] | None = None    # (slot, table or None) in the working timetable, if placed
    published: bool = False                          # participants have seen `current`: keep it while possible
    pinned: bool = False                             # the organizer placed it by hand: keep it while possible


@dataclass(frozen=True)
class ScheduleProblem:
    """Slots, tables (None for an online event), who is available when, and the meetings."""

    n_slots: int                                 # slots are 0..n_slots-1, in time order
    tables: int | None                           # tables per slot, numbered 1..tables; None: online, no limit
    availability: Mapping[int, frozenset[int]]   # party -> slots it can meet in; absent: every slot
    meetings: Sequence[MeetingSpec]


@dataclass(frozen=True)
class Placement:
    """Where one meeting takes place."""

    meeting_id: int
    slot: int
    table: int | None


@dataclass(frozen=True)
class Unplaced:
    """A meeting left out, why (one of UNPLACED_REASONS), and for party_busy whose meetings are in the way."""

    meeting_id: int
    reason: str
    party: int | None


@dataclass
class ScheduleResult:
    """A timetable with what changed for promised meetings, how it was found and how fair it is."""

    placements: dict[int, Placement]     # by meeting id
    unplaced: list[Unplaced]             # every meeting not placed, in input order
    moved: list[int]                     # published/pinned meetings not left exactly at `current`, input order
    kept: int                            # published/pinned meetings kept exactly where they were
    solver: str                          # what produced the answer (see the module docstring)
    seconds: float                       # wall time of the whole call
    participants_with_meeting: int
    participants_possible: int           # participants with a meeting whose parties share an available slot
    upper_bound: int | None = None       # upper_bound(problem) when compute_bound=True


def _validate(problem: ScheduleProblem) -> None:
    """Raise ValueError naming the first thing wrong with the problem's shape."""
    if problem.n_slots < 0:
        raise ValueError(f"n_slots must be >= 0, got {problem.n_slots}")
    if problem.tables is not None and problem.tables < 0:
        raise ValueError(f"tables must be None (online) or >= 0, got {problem.tables}")
    for party, slots in problem.availability.items():
        bad = sorted(s for s in slots if not (_is_int(s) and 0 <= s < problem.n_slots))
        if bad:
            raise ValueError(f"availability of party {party} names slots {bad} outside 0..{problem.n_slots - 1}")
    seen: set[int] = set()
    for m in problem.meetings:
        if m.id in seen:
            raise ValueError(f"meeting id {m.id} appears more than once")
        seen.add(m.id)
        if len(m.parties) != 2:
            raise ValueError(f"meeting {m.id} must have exactly two parties, got {m.parties}")
        if m.parties[0] == m.parties[1]:
            raise ValueError(f"meeting {m.id} has the same party twice ({m.parties[0]})")


def _availability(problem: ScheduleProblem) -> dict[int, int]:
    """Return party -> bitmask of available slots, for every party of every meeting."""
    everything = (1 << problem.n_slots) - 1
    out = {}
    for m in problem.meetings:
        for p in m.parties:
            if p not in out:
                slots = problem.availability.get(p)
                out[p] = everything if slots is None else sum(1 << s for s in {int(s) for s in slots})
    return out


def _is_int(x: object) -> bool:
    """Whether x is an integer (numpy's too), not a bool."""
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _table_ok(problem: ScheduleProblem, table: int | None) -> bool:
    if problem.tables is None:
        return table is None
    return _is_int(table) and 1 <= table <= problem.tables


def _keep(problem: ScheduleProblem, avail: dict[int, int]) -> dict[int, tuple[int, int | None]]:
    """Return meeting id -> current place of the published/pinned meetings kept exactly (pinned, then lower id win)."""
    promised = [m for m in problem.meetings if (m.published or m.pinned) and m.current is not None]
    promised.sort(key=lambda m: (not m.pinned, m.id))
    kept: dict[int, tuple[int, int | None]] = {}
    busy: set[tuple[int, int]] = set()
    taken: set[tuple[int, int | None]] = set()
    for m in promised:
        s, t = m.current
        if not (_is_int(s) and 0 <= s < problem.n_slots and _table_ok(problem, t)):
            continue
        a, b = m.parties
        if not (avail[a] >> s & 1 and avail[b] >> s & 1) or (a, s) in busy or (b, s) in busy:
            continue
        if t is not None and (s, t) in taken:
            continue
        s, t = int(s), None if t is None else int(t)
        kept[m.id] = (s, t)
        busy.update(((a, s), (b, s)))
        taken.add((s, t))
    return kept


def _free_problem(problem: ScheduleProblem, avail: dict[int, int], kept: dict[int, tuple[int, int | None]],
                  index: dict[int, int]) -> tuple[FreeProblem, list[MeetingSpec]]:
    """Return the problem left once kept meetings are fixed, and its meetings in input order."""
    n = problem.n_slots
    free = [m for m in problem.meetings if m.id not in kept]
    busy = [0] * len(index)
    load = [0] * n
    covered = [False] * len(index)
    for m in problem.meetings:
        if m.id in kept:
            s = kept[m.id][0]
            load[s] += 1
            for p in m.parties:
                busy[index[p]] |= 1 << s
                covered[index[p]] = True
    cap = [len(free) if problem.tables is None else problem.tables - load[s] for s in range(n)]
    open_slots = sum(1 << s for s in range(n) if cap[s] > 0)
    pairs, masks, prefer = [], [], []
    for m in free:
        a, b = index[m.parties[0]], index[m.parties[1]]
        pairs.append((a, b))
        masks.append(avail[m.parties[0]] & avail[m.parties[1]] & ~busy[a] & ~busy[b] & open_slots)
        s = m.current[0] if m.current is not None else -1
        prefer.append(int(s) if _is_int(s) and 0 <= s < n else -1)
    return FreeProblem(n, len(index), cap, pairs, masks, prefer, covered), free


def _tables(problem: ScheduleProblem, kept: dict[int, tuple[int, int | None]], free: list[MeetingSpec],
            slots: list[int]) -> dict[int, Placement]:
    """Return placements with tables: kept ones as they are, stayers keep a free table, the rest the lowest free."""
    out = {mid: Placement(mid, s, t) for mid, (s, t) in kept.items()}
    if problem.tables is None:
        out.update((m.id, Placement(m.id, s, None)) for m, s in zip(free, slots) if s >= 0)
        return out
    used = {(s, t) for s, t in kept.values()}
    placed = [(m, s) for m, s in zip(free, slots) if s >= 0]
    later = []
    for m, s in sorted(placed, key=lambda x: (not x[0].pinned, not x[0].published, x[0].id)):
        t = m.current[1] if m.current is not None and m.current[0] == s else None
        if _table_ok(problem, t) and t is not None and (s, t) not in used:
            used.add((s, t))
            out[m.id] = Placement(m.id, s, int(t))
        else:
            later.append((m, s))
    lowest = {}
    for m, s in later:
        t = lowest.get(s, 1)
        while (s, t) in used:
            t += 1
        used.add((s, t))
        lowest[s] = t + 1
        out[m.id] = Placement(m.id, s, t)
    return out


def _reason(m: MeetingSpec, avail: dict[int, int], busy: dict[int, int],
            count: dict[int, int], full: int) -> Unplaced:
    """Explain why meeting m is not placed in the final timetable."""
    a, b = m.parties
    common = avail[a] & avail[b]
    if not common:
        return Unplaced(m.id, "no_common_slot", None)
    ba, bb = busy.get(a, 0), busy.get(b, 0)
    if common & ~ba & ~bb & full:
        return Unplaced(m.id, "no_table", None)
    # The party in the way in more common slots; on a tie, the one with more meetings, then the first.
    party = max((a, b), key=lambda p: ((common & busy.get(p, 0)).bit_count(), count.get(p, 0), p == a))
    return Unplaced(m.id, "party_busy", party)


def _exact(fp: FreeProblem, slots: list[int], seed: int, deadline: float) -> tuple[list[int], str]:
    """Return the best of the heuristic, its reruns (from the rounded LP, other seeds) and the MILP, and its name."""
    model = build_model(fp)
    value = weighted(fp, slots)
    # Half the time at most for the LP: without time left for the MILP its only use would be the proof.
    relaxed = relax(model, (deadline - time.perf_counter()) / 2)
    if relaxed is None:
        return slots, "greedy+repair (lp time limit)"
    # The LP optimum bounds every timetable; a hair of slack keeps HiGHS's tolerance on the safe side.
    bound = math.floor(relaxed[0] + 1e-6 * (1 + abs(relaxed[0])))
    if value >= bound:
        return slots, "greedy+repair (optimal)"
    # Cheaper than the MILP and often enough: the heuristic from the rounded LP, then from other seeds.
    for start, other in [(relaxed[1], seed)] + [(None, seed + k) for k in range(1, _RESTARTS + 1)]:
        if time.perf_counter() >= deadline:
            break
        again = solve_greedy(fp, seed=other, deadline=deadline, start=start)
        if weighted(fp, again) > value:
            slots, value = again, weighted(fp, again)
            if value >= bound:
                return slots, "greedy+repair (optimal)"
    if time.perf_counter() >= deadline - _MARGIN:
        return slots, "greedy+repair (milp time limit)"
    exact, optimal = solve_model(model, deadline - _MARGIN - time.perf_counter())
    if exact is not None and optimal:
        return exact, "milp"
    if exact is not None and weighted(fp, exact) > value:
        return exact, "milp (time limit)"
    return slots, "greedy+repair (milp time limit)"


def schedule_meetings(problem: ScheduleProblem, *, time_limit: float = 10.0, seed: int = 0,
                      compute_bound: bool = False) -> ScheduleResult:
    """Place the meetings into slots and tables by the module docstring's rules (compute_bound: + up to time_limit)."""
    started = time.perf_counter()
    deadline = started + time_limit
    _validate(problem)
    avail = _availability(problem)
    index = {p: i for i, p in enumerate(avail)}
    kept = _keep(problem, avail)
    fp, free = _free_problem(problem, avail, kept, index)

    slots = solve_greedy(fp, seed=seed, deadline=deadline)
    solver = "greedy+repair"
    n_vars = sum(mask.bit_count() for mask in fp.masks)
    if 0 < n_vars <= MILP_MAX_VARIABLES and time.perf_counter() < deadline:
        slots, solver = _exact(fp, slots, seed, deadline)
    slots = fill_gaps(fp, slots)

    placements = _tables(problem, kept, free, slots)
    busy: dict[int, int] = {}
    count: dict[int, int] = {}
    load = [0] * problem.n_slots
    by_id = {m.id: m for m in problem.meetings}
    for pl in placements.values():
        load[pl.slot] += 1
        for p in by_id[pl.meeting_id].parties:
            busy[p] = busy.get(p, 0) | 1 << pl.slot
            count[p] = count.get(p, 0) + 1
    full = sum(1 << s for s in range(problem.n_slots) if problem.tables is not None and load[s] >= problem.tables)
    unplaced = [_reason(m, avail, busy, count, full) for m in problem.meetings if m.id not in placements]
    moved = [m.id for m in problem.meetings if (m.published or m.pinned) and m.current is not None
             and (m.id not in placements or (placements[m.id].slot, placements[m.id].table) != tuple(m.current))]
    possible = {p for m in problem.meetings if avail[m.parties[0]] & avail[m.parties[1]] for p in m.parties}
    bound = _bound(problem, time_limit, len(placements)) if compute_bound else None
    return ScheduleResult(placements, unplaced, moved, len(kept), solver, time.perf_counter() - started,
                          len(count), len(possible), bound)


def upper_bound(problem: ScheduleProblem, *, time_limit: float = 60.0) -> int:
    """Return a bound on the meetings placeable if every meeting were free (kept places ignored).

    The LP relaxation of the placement model solved by HiGHS, floored, and never above the meetings whose
    parties share a slot nor tables x slots; those simple bounds alone when the LP does not finish in time.
    """
    return _bound(problem, time_limit, 0)


def _bound(problem: ScheduleProblem, time_limit: float, placed: int) -> int:
    """Return upper_bound(problem), without the LP when a valid timetable of `placed` meetings meets the simple one."""
    _validate(problem)
    avail = _availability(problem)
    index = {p: i for i, p in enumerate(avail)}
    pairs = [(index[m.parties[0]], index[m.parties[1]]) for m in problem.meetings]
    masks = [avail[m.parties[0]] & avail[m.parties[1]] for m in problem.meetings]
    simple = sum(1 for mask in masks if mask)
    if problem.tables is not None:
        simple = min(simple, problem.tables * problem.n_slots)
    if placed >= simple:
        return simple  # the LP is at least any timetable's count, so it cannot go below the simple bound
    cap = [len(pairs) if problem.tables is None else problem.tables] * problem.n_slots
    lp = lp_bound(problem.n_slots, cap, pairs, masks, time_limit)
    # A hair of slack so HiGHS's tolerance never floors a whole number one below itself.
    return simple if lp is None else min(simple, math.floor(lp + 1e-6 * (1 + lp)))


def check_schedule(problem: ScheduleProblem, placements: Mapping[int, Placement]) -> list[str]:
    """Return the hard-rule violations of placements as sentences; [] when the timetable is valid."""
    _validate(problem)
    avail = _availability(problem)
    by_id = {m.id: m for m in problem.meetings}
    errors = []
    who: dict[tuple[int, int], int] = {}
    at: dict[tuple[int, int | None], int] = {}
    load: dict[int, int] = {}
    for mid, pl in placements.items():
        if pl.meeting_id != mid:
            errors.append(f"placement under meeting {mid} names meeting {pl.meeting_id}")
        m = by_id.get(mid)
        if m is None:
            errors.append(f"meeting {mid} is not in the problem")
            continue
        if not (_is_int(pl.slot) and 0 <= pl.slot < problem.n_slots):
            errors.append(f"meeting {mid} is in slot {pl.slot}, outside 0..{problem.n_slots - 1}")
            continue
        for p in m.parties:
            if not avail[p] >> pl.slot & 1:
                errors.append(f"meeting {mid}: party {p} is not available in slot {pl.slot}")
            if (p, pl.slot) in who:
                errors.append(f"party {p} is in meetings {who[p, pl.slot]} and {mid} in slot {pl.slot}")
            else:
                who[p, pl.slot] = mid
        if not _table_ok(problem, pl.table):
            want = "no table (online event)" if problem.tables is None else f"a table in 1..{problem.tables}"
            errors.append(f"meeting {mid} has table {pl.table}, expected {want}")
        elif pl.table is not None:
            if (pl.slot, pl.table) in at:
                errors.append(f"meetings {at[pl.slot, pl.table]} and {mid} share table {pl.table} in slot {pl.slot}")
            else:
                at[pl.slot, pl.table] = mid
        load[pl.slot] = load.get(pl.slot, 0) + 1
    if problem.tables is not None:
        errors += [f"slot {s} holds {n} meetings for {problem.tables} tables"
                   for s, n in sorted(load.items()) if n > problem.tables]
    return errors
