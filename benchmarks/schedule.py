"""Timetable quality and speed: meetings placed by schedule_meetings against the LP upper bound, and fairness.

Usage: python benchmarks/schedule.py [--participants 2000] [--meetings 10000] [--slots 24] [--tables 200]
                                     [--seed 0] [--time-limit 10] [--scenario large|seminar]
Synthetic event, seeded: each participant is away for one contiguous block of 0..slots/3 slots (arriving
late, leaving early or a session of their own) and, outside it, for each slot with probability 0.05; a
participant away for nothing is left out of the availability mapping (available throughout, as the API allows).
Requests are distinct unordered pairs: the requester is uniform, the requested party is drawn in proportion
to a lognormal popularity (sigma 0.8), so popular firms are asked more often than they can meet and fairness
decides who gets the places. No meeting is placed, published or pinned beforehand. The bound is the LP
relaxation of the placement problem (matchmaker.scheduling.upper_bound), timed apart from the scheduler.
--scenario seminar is a real seminar's size: 60 participants, 300 requests, 12 slots, 20 tables. At sizes
where schedule_meetings may use the MILP, the heuristic and the MILP are also timed alone.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matchmaker.scheduling import (  # noqa: E402
    MILP_MAX_VARIABLES, MeetingSpec, ScheduleProblem, schedule_meetings, upper_bound,
)
from matchmaker.scheduling_core import FreeProblem, objective  # noqa: E402
from matchmaker.scheduling_greedy import solve_greedy  # noqa: E402
from matchmaker.scheduling_milp import build_model, solve_model  # noqa: E402

SCENARIOS = {
    "large": dict(participants=2000, meetings=10000, slots=24, tables=200),
    "seminar": dict(participants=60, meetings=300, slots=12, tables=20),
}


def synthetic(participants: int, meetings: int, slots: int, tables: int | None, seed: int = 0) -> ScheduleProblem:
    """Return a random event following the model in the module docstring."""
    rng = np.random.default_rng(seed)
    availability = {}
    for p in range(participants):
        away = np.zeros(slots, dtype=bool)
        block = int(rng.integers(0, slots // 3 + 1))
        start = int(rng.integers(0, slots - block + 1))
        away[start:start + block] = True
        away |= rng.random(slots) < 0.05
        if away.any():
            availability[p] = frozenset(int(s) for s in np.flatnonzero(~away))
    if meetings > participants * (participants - 1) // 2:
        raise SystemExit(f"{participants} participants make fewer than {meetings} distinct pairs")
    popularity = rng.lognormal(0.0, 0.8, size=participants)
    popularity /= popularity.sum()
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < meetings:
        need = meetings - len(pairs)
        a = rng.integers(0, participants, size=2 * need)
        b = rng.choice(participants, size=2 * need, p=popularity)
        for x, y in zip(a.tolist(), b.tolist()):
            if x != y and len(pairs) < meetings:
                pairs.add((min(x, y), max(x, y)))
    specs = [MeetingSpec(id=i + 1, parties=pair) for i, pair in enumerate(sorted(pairs, key=lambda _: rng.random()))]
    return ScheduleProblem(n_slots=slots, tables=tables, availability=availability, meetings=specs)


def free_problem(problem: ScheduleProblem) -> FreeProblem:
    """Return the problem as the solvers see it when nothing is placed beforehand (as here)."""
    everything = (1 << problem.n_slots) - 1
    parties = sorted({p for m in problem.meetings for p in m.parties})
    index = {p: i for i, p in enumerate(parties)}
    avail = {p: sum(1 << s for s in problem.availability[p]) if p in problem.availability else everything
             for p in parties}
    cap = [len(problem.meetings) if problem.tables is None else problem.tables] * problem.n_slots
    pairs = [(index[a], index[b]) for a, b in (m.parties for m in problem.meetings)]
    masks = [avail[a] & avail[b] for a, b in (m.parties for m in problem.meetings)]
    return FreeProblem(problem.n_slots, len(parties), cap, pairs, masks, [-1] * len(pairs), [False] * len(parties))


def solvers_alone(problem: ScheduleProblem, seed: int, time_limit: float) -> None:
    """Print what the heuristic and the MILP each find on their own, and how long each takes."""
    fp = free_problem(problem)
    s = time.perf_counter()
    placed, covered, _ = objective(fp, solve_greedy(fp, seed=seed))
    print(f"heuristic alone: {placed} meetings, {covered} participants with one, {time.perf_counter() - s:.2f} s")
    s = time.perf_counter()
    model = build_model(fp)
    slots, optimal = solve_model(model, time_limit)
    took = time.perf_counter() - s
    if slots is None:
        print(f"milp alone: no solution within {time_limit:.0f} s ({len(model.c)} variables)")
    else:
        placed, covered, _ = objective(fp, slots)
        print(f"milp alone: {placed} meetings, {covered} participants with one, {took:.2f} s, "
              f"{'proven optimal' if optimal else 'time limit'} ({len(model.c)} variables, {model.a.shape[0]} rows)")


def cpu() -> str:
    """Return the CPU model and whether it has avx2 and avx512_bf16, from /proc/cpuinfo."""
    model, flags = "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model == "unknown":
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    has = {flag: "yes" if flag in flags else "no" for flag in ("avx2", "avx512_bf16")}
    return f"{model} (avx2={has['avx2']}, avx512_bf16={has['avx512_bf16']})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", choices=sorted(SCENARIOS), default="large")
    ap.add_argument("--participants", type=int)
    ap.add_argument("--meetings", type=int)
    ap.add_argument("--slots", type=int)
    ap.add_argument("--tables", type=int, help="tables per slot; 0 for an online event (no table limit)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=10.0)
    args = ap.parse_args()
    size = {k: getattr(args, k) if getattr(args, k) is not None else v for k, v in SCENARIOS[args.scenario].items()}
    tables = size["tables"] or None
    problem = synthetic(size["participants"], size["meetings"], size["slots"], tables, args.seed)
    print(f"cpu: {cpu()}")
    print(f"event: {size['participants']} participants, {len(problem.meetings)} requests, {size['slots']} slots, "
          f"{'online' if tables is None else f'{tables} tables'} (seed {args.seed}), "
          f"MILP up to {MILP_MAX_VARIABLES} variables")
    result = schedule_meetings(problem, time_limit=args.time_limit, seed=args.seed)
    s = time.perf_counter()
    bound = upper_bound(problem, time_limit=max(60.0, args.time_limit))
    bound_seconds = time.perf_counter() - s
    scheduled = len(result.placements)
    print(f"scheduled: {scheduled} meetings by {result.solver} in {result.seconds:.2f} s")
    places = tables * size["slots"] if tables else "unlimited"
    print(f"bound: {bound} (LP relaxation, {bound_seconds:.2f} s; places {places})")
    if sum(mask.bit_count() for mask in free_problem(problem).masks) <= MILP_MAX_VARIABLES:
        solvers_alone(problem, args.seed, args.time_limit)
    reasons = {r: sum(u.reason == r for u in result.unplaced) for r in ("no_common_slot", "party_busy", "no_table")}
    print(f"unplaced: {len(result.unplaced)} ({', '.join(f'{k}={v}' for k, v in reasons.items())})")
    print(f"fairness: {result.participants_with_meeting} of {result.participants_possible} participants who could "
          f"meet have a meeting ({result.participants_with_meeting / max(result.participants_possible, 1):.2%})")
    parties = {m.id: m.parties for m in problem.meetings}
    per = np.zeros(size["participants"], dtype=int)
    for mid in result.placements:
        per[list(parties[mid])] += 1
    asked = np.bincount(np.array([p for pair in parties.values() for p in pair]), minlength=len(per))
    q = np.percentile(per[asked > 0], [0, 10, 50, 90, 100]).astype(int)
    print(f"meetings per participant with requests: min {q[0]}, p10 {q[1]}, median {q[2]}, p90 {q[3]}, max {q[4]}")
    print(f"scheduled={scheduled} bound={bound} ratio={scheduled / max(bound, 1):.4f} seconds={result.seconds:.2f}")


if __name__ == "__main__":
    main()
