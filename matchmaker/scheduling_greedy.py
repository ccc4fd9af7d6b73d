"""The fast timetable heuristic: cover participants first, fill by scarcity, then repair by local search.

Phases, each keeping the lexicographic objective of matchmaker.scheduling from getting worse:
1. cover: participants with the fewest requests first, each given one meeting (a partner who has none yet
   preferred, since one place then covers two people);
2. fill: the remaining meetings, fewest usable slots first (DSatur's order, recomputed lazily), each in the
   usable slot that the parties' other unplaced meetings need least;
3. repair the count: an unplaced meeting takes a slot by pushing out the meetings in its way (the same parties
   in that slot, or one meeting of a full slot); each pushed meeting either moves to another slot, pushing in
   turn (ejection chains, Kempe-like), or is replaced by another unplaced meeting of the party it freed in that
   slot (an augmenting path of that slot's matching); to depth _REPAIR_DEPTH, rolled back when it fails;
4. repair the coverage: a participant still without a meeting takes a place from meetings whose loss leaves
   fewer people with nothing, and what was pushed out is re-placed when it can be;
5. stability: a meeting that can sit in its current slot without pushing anything goes back there.
Work is bounded by counts, not by the clock (the deadline is a safety net), so a given seed gives one answer.
"""

from __future__ import annotations

import heapq
import random
import time

from matchmaker.scheduling_core import FreeProblem, bits

# Expansions one repair attempt may spend, and how deep its chains go. Measured on benchmarks/schedule.py
# events: on the seminar (seed 0) depth 3 placed 220 meetings and depth 6 the optimum, 223; on a dense online
# event of 600 requests, budgets of 2,000-10,000 at depth 8-12 moved the count by -3..+2 for 2-3x the time.
_ATTEMPT_BUDGET = 400
_REPAIR_DEPTH = 6
# Rounds of count and coverage repair; they stop early once a round gains nothing.
_ROUNDS = 4
# Meetings of a full slot a participant without any may displace, fewest people left out first.
_COVER_TRIES = 3


class _State:
    """A partial timetable with an undo log, so a repair that does not pay is rolled back exactly."""

    def __init__(self, fp: FreeProblem):
        self.fp = fp
        n, parties = fp.n_slots, fp.n_parties
        self.slot = [-1] * len(fp.pairs)
        self.busy = [0] * parties
        self.who = [-1] * (parties * n)  # (party, slot) -> meeting
        self.load = [0] * n
        self.full = sum(1 << s for s in range(n) if fp.cap[s] <= 0)
        self.members: list[dict[int, None]] = [{} for _ in range(n)]  # insertion-ordered, so iteration is stable
        self.cnt = [1 if c else 0 for c in fp.covered]
        self.slots_of = [bits(mask) for mask in fp.masks]
        # Unplaced meetings of a party that could use a slot: what placing something there takes from others.
        # Kept up to date while the timetable is built only: keeping it through the repairs doubled their time
        # for 5 more meetings in 15 runs of 300-600 meeting events (0.1%).
        self.tracking = True
        self.demand = [0] * (parties * n)
        for m, (a, b) in enumerate(fp.pairs):
            for s in self.slots_of[m]:
                self.demand[a * n + s] += 1
                self.demand[b * n + s] += 1
        self.placed = 0
        self.gained = 0  # parties given their first meeting
        self.log: list[tuple[int, int, bool]] = []

    def feasible(self, m: int) -> int:
        a, b = self.fp.pairs[m]
        return self.fp.masks[m] & ~(self.busy[a] | self.busy[b] | self.full)

    def _put(self, m: int, s: int) -> None:
        fp, n = self.fp, self.fp.n_slots
        a, b = fp.pairs[m]
        self.slot[m] = s
        self.load[s] += 1
        if self.load[s] >= fp.cap[s]:
            self.full |= 1 << s
        self.members[s][m] = None
        self.placed += 1
        for p in (a, b):
            self.busy[p] |= 1 << s
            self.who[p * n + s] = m
            self.cnt[p] += 1
            self.gained += self.cnt[p] == 1
        if self.tracking:
            for t in self.slots_of[m]:
                self.demand[a * n + t] -= 1
                self.demand[b * n + t] -= 1

    def _take(self, m: int) -> int:
        fp, n = self.fp, self.fp.n_slots
        a, b = fp.pairs[m]
        s = self.slot[m]
        self.slot[m] = -1
        self.load[s] -= 1
        self.full &= ~(1 << s)
        del self.members[s][m]
        self.placed -= 1
        for p in (a, b):
            self.busy[p] &= ~(1 << s)
            self.who[p * n + s] = -1
            self.gained -= self.cnt[p] == 1
            self.cnt[p] -= 1
        if self.tracking:
            for t in self.slots_of[m]:
                self.demand[a * n + t] += 1
                self.demand[b * n + t] += 1
        return s

    def place(self, m: int, s: int) -> None:
        self._put(m, s)
        self.log.append((m, s, True))

    def unplace(self, m: int) -> None:
        self.log.append((m, self._take(m), False))

    def rollback(self, mark: int) -> None:
        while len(self.log) > mark:
            m, s, put = self.log.pop()
            if put:
                self._take(m)
            else:
                self._put(m, s)

    def choose(self, m: int, feas: int) -> int:
        """Return the slot for m among feas: its current slot, else the one taking least from other meetings."""
        fp, n = self.fp, self.fp.n_slots
        if fp.prefer[m] >= 0 and feas >> fp.prefer[m] & 1:
            return fp.prefer[m]
        if not self.tracking:
            return min(bits(feas), key=lambda s: (self.load[s] - fp.cap[s], s))
        a, b = fp.pairs[m]
        return min(bits(feas), key=lambda s: (self.demand[a * n + s] + self.demand[b * n + s],
                                              self.load[s] - fp.cap[s], s))

    def blockers(self, m: int, s: int) -> list[int]:
        """Return the placed meetings sharing a party with m in slot s."""
        n = self.fp.n_slots
        a, b = self.fp.pairs[m]
        out = [x for x in (self.who[a * n + s], self.who[b * n + s]) if x >= 0]
        return out[:1] if len(out) == 2 and out[0] == out[1] else out


class _Search:
    """Ejection chains and alternating paths over a _State, with a per-attempt expansion budget."""

    def __init__(self, st: _State, rng: random.Random, of: list[list[int]]):
        self.st, self.rng, self.of = st, rng, of
        self.budget = 0

    def augment(self, m: int, depth: int, seen: set[int]) -> bool:
        """Place unplaced m, pushing the meetings in its way out of the slot; False leaves the state as found."""
        st = self.st
        feas = st.feasible(m)
        if feas:
            st.place(m, st.choose(m, feas))
            return True
        if depth == 0:
            return False
        slots = list(st.slots_of[m])
        self.rng.shuffle(slots)
        for s in slots:
            self.budget -= 1
            if self.budget <= 0:
                return False
            way = st.blockers(m, s)
            if not way:
                if self._through_full_slot(m, s):
                    return True
                continue
            if any(x in seen for x in way):
                continue
            mark = len(st.log)
            for x in way:
                st.unplace(x)
            st.place(m, s)
            seen.update(way)
            # Pushed meetings are not restored to `seen` on failure: like Hopcroft-Karp's search, a meeting
            # that led nowhere once in this attempt is not tried again, which keeps an attempt near-linear.
            if all(self.resolve(x, s, depth - 1, seen) for x in way):
                return True
            st.rollback(mark)
        return False

    def resolve(self, x: int, s: int, depth: int, seen: set[int]) -> bool:
        """Make up for meeting x pushed out of slot s: place it elsewhere, or gain another meeting in s instead."""
        if self.augment(x, depth, seen):
            return True
        for u in self.st.fp.pairs[x]:
            if not self.st.busy[u] >> s & 1 and self.extend(u, s, depth, seen):
                return True
        return False

    def extend(self, v: int, s: int, depth: int, seen: set[int]) -> bool:
        """Party v is free in slot s: place one of its unplaced meetings there, along an alternating path in s."""
        st = self.st
        key = -1 - (v * st.fp.n_slots + s)  # negative keys: (party, slot) pairs, apart from meeting ids
        if key in seen:
            return False
        seen.add(key)
        n = st.fp.n_slots
        for m in self.of[v]:
            if st.slot[m] >= 0 or m in seen or not st.fp.masks[m] >> s & 1:
                continue
            self.budget -= 1
            if self.budget <= 0:
                return False
            a, b = st.fp.pairs[m]
            w = b if a == v else a
            z = st.who[w * n + s]
            if z < 0:
                if st.load[s] < st.fp.cap[s]:
                    st.place(m, s)
                    return True
                continue
            if depth == 0 or z in seen:
                continue
            mark = len(st.log)
            st.unplace(z)
            st.place(m, s)
            seen.update((z, m))
            if self.resolve(z, s, depth - 1, seen):
                return True
            st.rollback(mark)
        return False

    def _through_full_slot(self, m: int, s: int) -> bool:
        """Place m in full slot s by moving one of its meetings to a slot where it fits directly."""
        st = self.st
        if not st.fp.cap[s] or not ~st.full & ((1 << st.fp.n_slots) - 1):
            return False
        for x in st.members[s]:
            self.budget -= 1
            alt = st.feasible(x)
            if alt:
                st.unplace(x)
                st.place(m, s)
                st.place(x, st.choose(x, alt))
                return True
            if self.budget <= 0:
                break
        return False

    def cover(self, p: int, meetings: list[int]) -> bool:
        """Give party p (no meeting yet) one of its meetings if that gains more participants than it loses."""
        st = self.st
        before = (st.placed, st.gained)
        for m in meetings:
            if st.slot[m] >= 0:
                continue
            gain = sum(st.cnt[q] == 0 for q in st.fp.pairs[m])
            for s in st.slots_of[m]:
                ways = [st.blockers(m, s)]
                if not ways[0]:
                    if st.load[s] < st.fp.cap[s]:
                        st.place(m, s)
                        return True
                    # A full slot: give up the meetings there that leave fewer people with nothing than m helps.
                    loss = {x: sum(st.cnt[q] == 1 for q in st.fp.pairs[x]) for x in st.members[s]}
                    ways = [[x] for x in sorted(loss, key=loss.get) if loss[x] < gain][:_COVER_TRIES]
                for way in ways:
                    mark = len(st.log)
                    for x in way:
                        st.unplace(x)
                    st.place(m, s)
                    self.budget = _ATTEMPT_BUDGET
                    seen = {m, *way}
                    for x in way:
                        self.resolve(x, s, 1, seen)
                    if (st.placed, st.gained) > before:
                        return True
                    st.rollback(mark)
        return False


def solve_greedy(fp: FreeProblem, seed: int = 0, deadline: float = float("inf"),
                 start: list[int] | None = None) -> list[int]:
    """Return a slot per free meeting (-1 when unplaced) by the phases in the module docstring.

    `start` (a slot per meeting, -1 for none) is placed first where it fits, e.g. a rounded LP solution.
    """
    rng = random.Random(seed)
    st = _State(fp)
    for m, s in enumerate(start or ()):
        if s >= 0 and st.feasible(m) >> s & 1:
            st.place(m, s)
    n_meetings = len(fp.pairs)
    rank = list(range(n_meetings))
    rng.shuffle(rank)
    of: list[list[int]] = [[] for _ in range(fp.n_parties)]
    for m, (a, b) in enumerate(fp.pairs):
        if fp.masks[m]:
            of[a].append(m)
            of[b].append(m)
    deg = [len(x) for x in of]
    prank = list(range(fp.n_parties))
    rng.shuffle(prank)
    todo = sorted(fp.coverable(), key=lambda p: (deg[p], prank[p]))

    # 1. cover
    for p in todo:
        if st.cnt[p]:
            continue
        best, key = -1, None
        for m in of[p]:
            if st.slot[m] >= 0:
                continue
            feas = st.feasible(m)
            if not feas:
                continue
            a, b = fp.pairs[m]
            q = b if a == p else a
            k = (st.cnt[q] > 0, deg[q], feas.bit_count(), rank[m])
            if key is None or k < key:
                best, key = m, k
        if best >= 0:
            st.place(best, st.choose(best, st.feasible(best)))

    # 2. fill, fewest usable slots first
    heap = [(st.feasible(m).bit_count(), rank[m], m) for m in range(n_meetings) if st.slot[m] < 0 and fp.masks[m]]
    heapq.heapify(heap)
    while heap:
        k, r, m = heapq.heappop(heap)
        feas = st.feasible(m)
        if not feas:
            continue
        if feas.bit_count() != k:
            heapq.heappush(heap, (feas.bit_count(), r, m))
            continue
        st.place(m, st.choose(m, feas))

    st.log.clear()
    st.tracking = False
    search = _Search(st, rng, of)
    total_cap = sum(min(c, n_meetings) for c in fp.cap)
    for _ in range(_ROUNDS):
        if time.perf_counter() > deadline:
            break
        before = (st.placed, st.gained)
        # 3. repair the count (nothing to gain once every place is taken)
        for m in sorted(range(n_meetings), key=lambda m: (fp.masks[m].bit_count(), rank[m])):
            if st.placed >= total_cap or time.perf_counter() > deadline:
                break
            if st.slot[m] < 0 and fp.masks[m]:
                search.budget = _ATTEMPT_BUDGET
                search.augment(m, _REPAIR_DEPTH, {m})
        # 4. repair the coverage
        for p in todo:
            if time.perf_counter() > deadline:
                break
            if not st.cnt[p]:
                search.cover(p, sorted(of[p], key=lambda m: (st.cnt[sum(fp.pairs[m]) - p] > 0, rank[m])))
        if (st.placed, st.gained) == before:
            break
        st.log.clear()

    # 5. stability: back to the current slot where nothing is in the way
    for m in range(n_meetings):
        s = fp.prefer[m]
        if st.slot[m] >= 0 and s >= 0 and st.slot[m] != s and st.feasible(m) >> s & 1:
            st.unplace(m)
            st.place(m, s)
    return list(st.slot)
