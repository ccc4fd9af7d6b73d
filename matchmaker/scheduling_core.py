"""The free part of a timetable problem, as both solvers see it: compact ids, slot bitmasks, one objective."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FreeProblem:
    """Meetings left to place once the kept meetings are fixed; parties are 0..n_parties-1, slots are bits."""

    n_slots: int
    n_parties: int
    cap: list[int]                    # free places per slot (len(pairs) when the event is online)
    pairs: list[tuple[int, int]]      # per free meeting: its two parties (compact indexes)
    masks: list[int]                  # per free meeting: slots where both are available and not in a kept meeting
    prefer: list[int]                 # per free meeting: the slot it is in now (stability tie-break), or -1
    covered: list[bool]               # per party: already has a kept meeting

    def coverable(self) -> list[int]:
        """Return the parties without a kept meeting that have a meeting with at least one usable slot."""
        seen = [False] * self.n_parties
        for (a, b), mask in zip(self.pairs, self.masks):
            if mask:
                seen[a] = seen[b] = True
        return [p for p in range(self.n_parties) if seen[p] and not self.covered[p]]


def bits(mask: int) -> list[int]:
    """Return the set bits of mask, lowest first."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


def objective(fp: FreeProblem, slots: list[int]) -> tuple[int, int, int]:
    """Return (meetings placed, parties newly given a meeting, meetings left in their current slot), to maximise."""
    placed = stay = 0
    got = list(fp.covered)
    new = 0
    for m, s in enumerate(slots):
        if s < 0:
            continue
        placed += 1
        stay += s == fp.prefer[m]
        for p in fp.pairs[m]:
            if not got[p]:
                got[p] = True
                new += 1
    return placed, new, stay


def weights(fp: FreeProblem) -> tuple[int, int]:
    """Return (weight of a meeting, weight of a newly covered party) making objective() one sum, stay weighing 1."""
    stay_max = sum(1 for m, s in enumerate(fp.prefer) if s >= 0 and fp.masks[m] >> s & 1)
    w_cover = stay_max + 1
    return w_cover * (len(fp.coverable()) + 1), w_cover


def weighted(fp: FreeProblem, slots: list[int]) -> int:
    """Return objective() as one number, with weights()."""
    w_meeting, w_cover = weights(fp)
    placed, new, stay = objective(fp, slots)
    return w_meeting * placed + w_cover * new + stay


def fill_gaps(fp: FreeProblem, slots: list[int]) -> list[int]:
    """Return slots with every unplaced meeting that fits directly put in (a time-limited MILP can leave such gaps)."""
    slots = list(slots)
    busy = [0] * fp.n_parties
    load = [0] * fp.n_slots
    for m, s in enumerate(slots):
        if s >= 0:
            load[s] += 1
            for p in fp.pairs[m]:
                busy[p] |= 1 << s
    for m, s in enumerate(slots):
        a, b = fp.pairs[m]
        open_slots = fp.masks[m] & ~busy[a] & ~busy[b]
        if s >= 0 or not open_slots:
            continue
        for t in bits(open_slots):
            if load[t] < fp.cap[t]:
                slots[m] = t
                load[t] += 1
                busy[a] |= 1 << t
                busy[b] |= 1 << t
                break
    return slots
