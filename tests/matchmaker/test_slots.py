"""Slots of an event day."""

from datetime import datetime, timedelta, timezone

import pytest

from matchmaker.slots import event_slots

T0 = datetime(2026, 9, 12, 6, 0, tzinfo=timezone.utc)  # 13:00 in Bangkok


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_event_slots_fill_the_day_in_fixed_lengths():
    slots = event_slots(at(0), at(240), 30)
    assert [s.starts_at for s in slots] == [at(m) for m in range(0, 240, 30)]
    assert [s.index for s in slots] == list(range(8)) and slots[-1].ends_at == at(240)


def test_event_slots_drop_a_last_slot_that_does_not_fit():
    assert len(event_slots(at(0), at(100), 30)) == 3


def test_event_slots_start_again_after_a_break():
    slots = event_slots(at(0), at(240), 30, [(at(50), at(75))])
    assert [s.starts_at for s in slots] == [at(0), at(75), at(105), at(135), at(165), at(195)]
    assert not any(s.starts_at < at(75) and s.ends_at > at(50) for s in slots)


def test_event_slots_ignore_empty_breaks_and_refuse_zero_length():
    assert len(event_slots(at(0), at(60), 20, [(at(10), at(10))])) == 3
    with pytest.raises(ValueError):
        event_slots(at(0), at(60), 0)
