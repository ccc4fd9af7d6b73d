"""Dates formatted by web.dates are Babel's, character for character, in both languages."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime

from web.dates import format_local
from web.templating import format_datetime as template_filter

# Every format the templates pass to |datetime, and the named ones.
FORMATS = ["medium", "short", "long", "full", "yyyy-MM-dd HH:mm", "y/MM/dd (EEE) H:mm", "EEE, MMM d, y, h:mm a"]


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_format_local_matches_babel(language, fmt):
    start = datetime(2026, 1, 1, 0, 0, 5, tzinfo=timezone.utc)
    for step in range(0, 24 * 400, 37):  # every hour of the day, month and weekday, several times
        value = (start + timedelta(hours=step, minutes=step % 60)).astimezone(ZoneInfo("America/Santiago"))
        assert format_local(value, fmt, language) == format_datetime(value, format=fmt, locale=language)


def test_template_filter_adds_the_zone_abbreviation():
    value = datetime(2026, 3, 5, 1, 2, 3, tzinfo=timezone.utc)
    assert template_filter(value, "Asia/Tokyo") == "Mar 5, 2026, 10:02:03\u202fAM JST"
    assert template_filter(None) == ""
