"""The timetable solver: hard rules, stability, optimality, fairness, reasons and input checks."""

from __future__ import annotations

import itertools
import random
import re

import pytest

from matchmaker import scheduling
from matchmaker.scheduling_core import FreeProblem, objective
from matchmaker.scheduling_milp import build_model, solve_model
from matchmaker.scheduling import (
    UNPLACED_REASONS, MeetingSpec, Placement, ScheduleProblem, check_schedule, schedule_meetings, upper_bound,
)


def random_problem(seed: int, parties: int = 14, meetings: int = 30, slots: int = 6, tables: int | None = 3,
                   published: float = 0.0) -> ScheduleProblem:
    """Return a random event: each party misses a few slots; some meetings published where they sit now."""
    rng = random.Random(seed)
    availability = {p: frozenset(s for s in range(slots) if rng.random() > 0.3) for p in range(parties)
                    if rng.random() < 0.8}
    pairs = rng.sample(list(itertools.combinations(range(parties), 2)), meetings)
    specs = []
    for i, pair in enumerate(pairs):
        current = None
        if rng.random() < published:
            current = (rng.randrange(slots), rng.randint(1, tables) if tables else None)
        specs.append(MeetingSpec(id=100 + i, parties=pair, current=current, published=current is not None,
                                 pinned=current is not None and rng.random() < 0.3))
    return ScheduleProblem(n_slots=slots, tables=tables, availability=availability, meetings=specs)


def brute_force(problem: ScheduleProblem) -> tuple[int, int]:
    """Return the best (meetings placed, participants with a meeting) over every slot assignment."""
    best = (0, 0)
    everyone = frozenset(range(problem.n_slots))
    for choice in itertools.product(range(-1, problem.n_slots), repeat=len(problem.meetings)):
        busy, load, ok = set(), [0] * problem.n_slots, True
        for m, s in zip(problem.meetings, choice):
            if s < 0:
                continue
            load[s] += 1
            for p in m.parties:
                if (p, s) in busy or s not in problem.availability.get(p, everyone):
                    ok = False
                busy.add((p, s))
        if ok and (problem.tables is None or max(load, default=0) <= problem.tables):
            best = max(best, (sum(s >= 0 for s in choice), len({p for p, _ in busy})))
    return best


def fairness(problem: ScheduleProblem, placements) -> tuple[int, int]:
    parties = {p for mid in placements for m in problem.meetings if m.id == mid for p in m.parties}
    return len(placements), len(parties)


@pytest.fixture
def heuristic_only(monkeypatch):
    """Send every problem to the heuristic, as problems above the MILP threshold are."""
    monkeypatch.setattr(scheduling, "MILP_MAX_VARIABLES", 0)


@pytest.mark.parametrize("tables", [3, 1, None])
@pytest.mark.parametrize("seed", range(4))
def test_schedule_valid_on_random_instances(seed, tables):
    problem = random_problem(seed, tables=tables, published=0.3)
    result = schedule_meetings(problem, seed=seed, compute_bound=True)
    assert check_schedule(problem, result.placements) == []
    assert len(result.placements) <= result.upper_bound == upper_bound(problem)
    assert set(result.placements) | {u.meeting_id for u in result.unplaced} == {m.id for m in problem.meetings}
    assert [u.meeting_id for u in result.unplaced] == [m.id for m in problem.meetings if m.id not in result.placements]
    assert all(u.reason in UNPLACED_REASONS for u in result.unplaced)


@pytest.mark.parametrize("tables", [10, None])
@pytest.mark.parametrize("seed", range(2))
def test_heuristic_valid_on_larger_random_instances(heuristic_only, seed, tables):
    problem = random_problem(seed, parties=40, meetings=250, slots=8, tables=tables, published=0.2)
    result = schedule_meetings(problem, seed=seed)
    assert result.solver == "greedy+repair"
    assert check_schedule(problem, result.placements) == []


@pytest.mark.parametrize("tables", [10, None])
@pytest.mark.parametrize("seed", range(2))
def test_heuristic_near_the_bound_on_larger_random_instances(heuristic_only, seed, tables):
    # Dense: 12.5 requests each for about 5.6 free slots, so parties bind and the heuristic must search.
    problem = random_problem(seed, parties=40, meetings=250, slots=8, tables=tables)
    result = schedule_meetings(problem, seed=seed)
    assert check_schedule(problem, result.placements) == []
    assert len(result.placements) >= 0.97 * upper_bound(problem)
    assert result.participants_with_meeting == result.participants_possible


def test_check_schedule_accepts_an_empty_timetable():
    assert check_schedule(random_problem(0), {}) == []


def test_check_schedule_detects_each_violation():
    problem = ScheduleProblem(n_slots=2, tables=2, availability={1: frozenset({0})}, meetings=[
        MeetingSpec(1, (1, 2)), MeetingSpec(2, (2, 3)), MeetingSpec(3, (3, 4)), MeetingSpec(4, (5, 6)),
    ])
    cases = {
        "not available": {1: Placement(1, 1, 1)},
        "in meetings 1 and 2": {1: Placement(1, 0, 1), 2: Placement(2, 0, 2)},
        "share table 1": {2: Placement(2, 1, 1), 4: Placement(4, 1, 1)},
        "table 3, expected a table in 1..2": {2: Placement(2, 1, 3)},
        "table None, expected": {2: Placement(2, 1, None)},
        "outside 0..1": {2: Placement(2, 2, 1)},
        "not in the problem": {9: Placement(9, 0, 1)},
        "names meeting 3": {2: Placement(3, 0, 1)},
        "holds 3 meetings for 2 tables": {1: Placement(1, 0, 1), 3: Placement(3, 0, 2), 4: Placement(4, 0, 5)},
    }
    for expected, placements in cases.items():
        errors = check_schedule(problem, placements)
        assert any(expected in e for e in errors), (expected, errors)
    online = ScheduleProblem(n_slots=2, tables=None, availability={}, meetings=problem.meetings)
    assert any("expected no table" in e for e in check_schedule(online, {1: Placement(1, 0, 1)}))
    assert check_schedule(online, {1: Placement(1, 0, None), 3: Placement(3, 0, None)}) == []


def test_published_meeting_kept_exactly_when_still_valid():
    # Slot 1 table 2 is not where a fresh solver would put it, so only the promise keeps it there.
    problem = ScheduleProblem(n_slots=3, tables=2, availability={}, meetings=[
        MeetingSpec(1, (1, 2), current=(1, 2), published=True), MeetingSpec(2, (1, 3)), MeetingSpec(3, (2, 3)),
    ])
    result = schedule_meetings(problem)
    assert result.placements[1] == Placement(1, 1, 2)
    assert result.kept == 1 and result.moved == []
    assert len(result.placements) == 3


def test_published_meeting_moved_and_reported_when_party_no_longer_available():
    problem = ScheduleProblem(n_slots=3, tables=2, availability={2: frozenset({0, 2})}, meetings=[
        MeetingSpec(1, (1, 2), current=(1, 1), published=True), MeetingSpec(2, (3, 4), current=(1, 2), pinned=True),
    ])
    result = schedule_meetings(problem)
    assert result.moved == [1] and result.kept == 1
    assert result.placements[1].slot in (0, 2)
    assert result.placements[2] == Placement(2, 1, 2)
    assert check_schedule(problem, result.placements) == []


def test_pinned_meeting_wins_over_published_on_a_clash():
    # Both promise party 1 in slot 0; the published one has the lower id but the pinned one wins.
    problem = ScheduleProblem(n_slots=2, tables=3, availability={}, meetings=[
        MeetingSpec(1, (1, 2), current=(0, 1), published=True), MeetingSpec(2, (1, 3), current=(0, 2), pinned=True),
    ])
    result = schedule_meetings(problem)
    assert result.placements[2] == Placement(2, 0, 2)
    assert result.moved == [1] and result.kept == 1
    assert result.placements[1].slot == 1


def test_lower_id_wins_a_table_clash_and_the_other_stays_in_its_slot_at_a_free_table():
    problem = ScheduleProblem(n_slots=2, tables=3, availability={}, meetings=[
        MeetingSpec(7, (3, 4), current=(0, 1), published=True), MeetingSpec(5, (1, 2), current=(0, 1), published=True),
    ])
    result = schedule_meetings(problem)
    assert result.placements[5] == Placement(5, 0, 1)
    assert result.placements[7] == Placement(7, 0, 2)  # same slot, lowest free table
    assert result.moved == [7] and result.kept == 1


def test_promised_meeting_on_an_event_gone_online_is_moved_to_no_table():
    problem = ScheduleProblem(n_slots=2, tables=None, availability={}, meetings=[
        MeetingSpec(1, (1, 2), current=(1, 4), published=True), MeetingSpec(2, (3, 4), pinned=True),
    ])
    result = schedule_meetings(problem)
    assert result.placements[1] == Placement(1, 1, None)  # same slot, by the stability tie-break
    assert result.moved == [1] and result.kept == 0  # meeting 2 had no place to keep


def test_unpublished_meeting_keeps_its_slot_and_table_when_nothing_is_lost():
    problem = ScheduleProblem(n_slots=4, tables=3, availability={}, meetings=[
        MeetingSpec(1, (1, 2), current=(2, 3)), MeetingSpec(2, (3, 4), current=(3, 2)), MeetingSpec(3, (1, 3)),
    ])
    result = schedule_meetings(problem)
    assert result.placements[1] == Placement(1, 2, 3)
    assert result.placements[2] == Placement(2, 3, 2)
    assert result.placements[3].table == 1 and result.moved == [] and result.kept == 0


def test_unpublished_meeting_moves_when_staying_would_cost_a_meeting():
    # Meeting 2 can only happen in slot 0, where meeting 1 sits now: the count wins over stability.
    problem = ScheduleProblem(n_slots=2, tables=1, availability={3: frozenset({0})}, meetings=[
        MeetingSpec(1, (1, 2), current=(0, 1)), MeetingSpec(2, (3, 4)),
    ])
    result = schedule_meetings(problem)
    assert result.placements[2] == Placement(2, 0, 1)
    assert result.placements[1] == Placement(1, 1, 1)


@pytest.mark.parametrize("seed", range(8))
def test_schedule_optimal_on_small_instances_against_brute_force(seed):
    rng = random.Random(seed)
    problem = random_problem(seed, parties=6, meetings=7, slots=3, tables=rng.choice([1, 2, None]))
    result = schedule_meetings(problem)
    assert fairness(problem, result.placements) == brute_force(problem)
    assert len(result.placements) <= upper_bound(problem)


def free_problem(problem: ScheduleProblem) -> FreeProblem:
    """Return the problem as the solvers see it when nothing is placed beforehand."""
    parties = sorted({p for m in problem.meetings for p in m.parties})
    index = {p: i for i, p in enumerate(parties)}
    avail = {p: sum(1 << s for s in problem.availability.get(p, range(problem.n_slots))) for p in parties}
    cap = [len(problem.meetings) if problem.tables is None else problem.tables] * problem.n_slots
    pairs = [m.parties for m in problem.meetings]
    return FreeProblem(problem.n_slots, len(parties), cap, [(index[a], index[b]) for a, b in pairs],
                       [avail[a] & avail[b] for a, b in pairs], [-1] * len(pairs), [False] * len(parties))


@pytest.mark.parametrize("seed", range(8))
def test_milp_optimal_on_small_instances_against_brute_force(seed):
    problem = random_problem(seed, parties=6, meetings=7, slots=3, tables=random.Random(seed).choice([1, 2, None]))
    fp = free_problem(problem)
    slots, optimal = solve_model(build_model(fp), time_limit=10)
    assert optimal and objective(fp, slots)[:2] == brute_force(problem)


def fairness_trap() -> ScheduleProblem:
    """Two places; party 1 is in every request but one: count alone happily gives party 4 nothing."""
    return ScheduleProblem(n_slots=2, tables=1, availability={}, meetings=[
        MeetingSpec(1, (1, 2)), MeetingSpec(2, (1, 3)), MeetingSpec(3, (1, 4)), MeetingSpec(4, (3, 4)),
        MeetingSpec(5, (1, 5)),
    ])


def test_fairness_prefers_a_timetable_where_nobody_is_left_out():
    problem = fairness_trap()
    result = schedule_meetings(problem)
    assert fairness(problem, result.placements) == brute_force(problem) == (2, 4)
    assert result.participants_with_meeting == 4 and result.participants_possible == 5


def test_fairness_holds_in_the_heuristic_too(heuristic_only):
    problem = fairness_trap()
    result = schedule_meetings(problem)
    assert result.solver == "greedy+repair"
    assert fairness(problem, result.placements) == (2, 4)


def test_unplaced_reason_no_common_slot():
    problem = ScheduleProblem(n_slots=3, tables=2, availability={1: frozenset({0}), 2: frozenset({1, 2})},
                              meetings=[MeetingSpec(1, (1, 2))])
    result = schedule_meetings(problem)
    assert result.unplaced == [scheduling.Unplaced(1, "no_common_slot", None)]
    assert result.participants_possible == 0


def test_unplaced_reason_party_busy_names_the_party_in_the_way():
    problem = ScheduleProblem(n_slots=2, tables=3, availability={1: frozenset({0})}, meetings=[
        MeetingSpec(1, (1, 2), current=(0, 1), pinned=True), MeetingSpec(2, (1, 3)),
    ])
    result = schedule_meetings(problem)
    assert result.unplaced == [scheduling.Unplaced(2, "party_busy", 1)]


def test_unplaced_reason_party_busy_names_the_busier_when_both_are_in_the_way():
    problem = ScheduleProblem(n_slots=2, tables=3, availability={1: frozenset({0})}, meetings=[
        MeetingSpec(1, (1, 2), current=(0, 1), pinned=True), MeetingSpec(2, (3, 4), current=(0, 2), pinned=True),
        MeetingSpec(3, (3, 5), current=(1, 1), pinned=True), MeetingSpec(4, (1, 3)),
    ])
    result = schedule_meetings(problem)
    assert result.unplaced == [scheduling.Unplaced(4, "party_busy", 3)]


def test_unplaced_reason_no_table():
    problem = ScheduleProblem(n_slots=1, tables=1, availability={}, meetings=[
        MeetingSpec(1, (1, 2)), MeetingSpec(2, (3, 4)),
    ])
    result = schedule_meetings(problem)
    assert len(result.placements) == 1
    assert result.unplaced[0].reason == "no_table" and result.unplaced[0].party is None


def test_online_event_has_no_tables_and_no_table_limit():
    problem = ScheduleProblem(n_slots=1, tables=None, availability={}, meetings=[
        MeetingSpec(i, (2 * i, 2 * i + 1)) for i in range(50)
    ])
    result = schedule_meetings(problem)
    assert len(result.placements) == 50
    assert {p.table for p in result.placements.values()} == {None}


def test_schedule_is_deterministic_for_a_seed(heuristic_only):
    problem = random_problem(3, parties=40, meetings=200, slots=8, published=0.2)
    first = schedule_meetings(problem, seed=5)
    assert schedule_meetings(problem, seed=5).placements == first.placements


def test_exact_schedule_is_deterministic():
    problem = random_problem(2, published=0.2)
    assert schedule_meetings(problem).placements == schedule_meetings(problem).placements


def test_upper_bound_ignores_pins_and_respects_simple_bounds():
    problem = ScheduleProblem(n_slots=2, tables=1, availability={3: frozenset()}, meetings=[
        MeetingSpec(1, (1, 2), current=(0, 1), pinned=True), MeetingSpec(2, (1, 3)), MeetingSpec(3, (4, 5)),
        MeetingSpec(4, (6, 7)),
    ])
    assert upper_bound(problem) == 2  # tables x slots; meeting 2 has no common slot
    result = schedule_meetings(problem, compute_bound=True)
    assert result.upper_bound == 2 and len(result.placements) == 2


def test_upper_bound_is_tighter_than_counting_where_parties_bind():
    # Party 1 is in all six requests and can meet once per slot: three meetings at most.
    problem = ScheduleProblem(n_slots=3, tables=None, availability={}, meetings=[
        MeetingSpec(i, (1, i + 1)) for i in range(1, 7)
    ])
    assert upper_bound(problem) == 3


@pytest.mark.parametrize("problem", [
    ScheduleProblem(n_slots=0, tables=2, availability={}, meetings=[MeetingSpec(1, (1, 2))]),
    ScheduleProblem(n_slots=3, tables=0, availability={},
                    meetings=[MeetingSpec(1, (1, 2), current=(0, 1), pinned=True)]),
    ScheduleProblem(n_slots=3, tables=2, availability={}, meetings=[]),
])
def test_degenerate_events_place_nothing_and_say_why(problem):
    result = schedule_meetings(problem, compute_bound=True)
    assert result.placements == {} and result.upper_bound == 0
    assert [u.reason for u in result.unplaced] == ["no_common_slot" if problem.n_slots == 0 else "no_table"] * len(
        problem.meetings)
    assert result.moved == [m.id for m in problem.meetings if m.pinned]


def test_numpy_integers_are_accepted_as_slots_and_tables():
    np = pytest.importorskip("numpy")
    problem = ScheduleProblem(n_slots=3, tables=2, availability={1: frozenset(np.arange(2))}, meetings=[
        MeetingSpec(1, (1, 2), current=(np.int64(1), np.int64(2)), published=True),
    ])
    result = schedule_meetings(problem)
    assert result.placements[1] == Placement(1, 1, 2) and result.kept == 1
    assert type(result.placements[1].slot) is int


@pytest.mark.parametrize(("problem", "message"), [
    (ScheduleProblem(2, 1, {1: frozenset({2})}, [MeetingSpec(1, (1, 2))]), "party 1 names slots [2] outside 0..1"),
    (ScheduleProblem(2, 1, {1: frozenset({-1})}, [MeetingSpec(1, (1, 2))]), "outside 0..1"),
    (ScheduleProblem(2, 1, {}, [MeetingSpec(1, (3, 3))]), "meeting 1 has the same party twice (3)"),
    (ScheduleProblem(2, 1, {}, [MeetingSpec(1, (1, 2)), MeetingSpec(1, (3, 4))]),
     "meeting id 1 appears more than once"),
    (ScheduleProblem(2, -1, {}, []), "tables must be None (online) or >= 0"),
])
def test_bad_input_raises_value_error(problem, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        schedule_meetings(problem)
    with pytest.raises(ValueError):
        upper_bound(problem)
