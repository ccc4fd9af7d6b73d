"""Meeting slots of an event day: fixed-length slots from opening to closing, none overlapping a break."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Slot:
    """One meeting slot; `index` counts from 0 in time order, `starts_at` identifies it in storage."""

    index: int
    starts_at: datetime
    ends_at: datetime


def event_slots(starts_at: datetime, ends_at: datetime, meeting_minutes: int,
                breaks: Iterable[tuple[datetime, datetime]] = ()) -> list[Slot]:
    """The slots between opening and closing; a slot that would overlap a break starts after it instead."""
    if meeting_minutes <= 0:
        raise ValueError("meeting_minutes must be positive")
    length = timedelta(minutes=meeting_minutes)
    pauses = sorted((b_start, b_end) for b_start, b_end in breaks if b_end > b_start)
    slots: list[Slot] = []
    t = starts_at
    while t + length <= ends_at:
        overlapping = [b_end for b_start, b_end in pauses if b_start < t + length and b_end > t]
        if overlapping:
            t = max(overlapping)
            continue
        slots.append(Slot(len(slots), t, t + length))
        t += length
    return slots
