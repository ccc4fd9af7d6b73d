"""Proposed meeting times read from the form: end or duration, the proposer's zone, and a message beside each
field at fault."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from tests.web.agenda_support import TOKYO, at, option
from web.errors import ValidationFailed
from web.services import proposals


def _errors(raw_options, zone=TOKYO):
    with pytest.raises(ValidationFailed) as caught:
        proposals.parse_options(raw_options, zone)
    return caught.value.field_errors


def test_parse_options_takes_end_or_duration_in_the_proposers_zone():
    start = at(TOKYO, 5, 14, 30)
    by_end, by_duration = proposals.parse_options([option(start, 90),
                                                   option(start + timedelta(days=1), 90, use_end=False)], TOKYO)
    assert by_end.starts_at == start.astimezone(timezone.utc)
    assert by_end.ends_at - by_end.starts_at == by_duration.ends_at - by_duration.starts_at == timedelta(minutes=90)
    assert by_end.starts_at.tzinfo is not None


def test_parse_options_end_past_midnight_is_the_next_day():
    start = at(TOKYO, 5, 23, 30)
    (parsed,) = proposals.parse_options([option(start, 60)], TOKYO)
    assert parsed.ends_at - parsed.starts_at == timedelta(hours=1)


@pytest.mark.parametrize("change, field", [
    ({"start": "14:00", "end": "13:00"}, "end_1"),  # a slip, not a 23-hour meeting
    ({"start": "09:00", "end": "18:00"}, "end_1"),  # longer than 8 hours
    ({"end": "", "duration": "600"}, "duration_1"),
    ({"end": "", "duration": ""}, "end_1"),
    ({"end": "10:30", "duration": "30"}, "end_1"),  # 09:00 + 30 min is not 10:30
    ({"location": "", "online_url": ""}, "location_1"),
    ({"online_url": "ftp://files.example.com"}, "online_url_1"),
    ({"online_url": "meet.example.com/abc"}, "online_url_1"),
    ({"date": "10/03/2027"}, "date_1"),
    ({"start": "9am"}, "start_1"),
])
def test_parse_options_names_the_field_at_fault(change, field):
    raw = option(at(TOKYO, 5, 9), 60) | change
    assert field in _errors([raw])


def test_parse_options_refuses_a_time_in_the_past():
    assert "start_1" in _errors([option(at(TOKYO, -1, 9))])


def test_parse_options_refuses_a_time_the_clocks_skip():
    # Britain moves its clocks from 01:00 to 02:00 on 28 March 2027: 01:30 never happens.
    raw = {"date": "2027-03-28", "start": "01:30", "end": "03:00", "duration": "", "location": "London",
           "online_url": ""}
    assert "clocks change" in _errors([raw], "Europe/London")["start_1"]


def test_parse_options_counts_one_to_three_and_skips_blank_rows():
    blank = {name: "" for name in proposals.OPTION_FIELDS}
    assert "options" in _errors([blank, blank, blank])
    four = [option(at(TOKYO, 5 + n, 10)) for n in range(4)]
    assert "options" in _errors(four)
    assert len(proposals.parse_options([blank, option(at(TOKYO, 5, 10)), blank], TOKYO)) == 1


def test_parse_options_refuses_the_same_time_twice():
    start = at(TOKYO, 5, 10)
    assert "start_2" in _errors([option(start), option(start, 30)])
