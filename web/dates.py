"""Dates in the UI language exactly as Babel formats them (CLDR patterns), with each pattern compiled once.

babel.dates.format_datetime parses the locale and walks the pattern on every call: about 150 us, and a requests
tab shows two dates per row. Here a (pattern, language) is compiled once into a format string and the few
field functions it needs; patterns with a field not handled here (time-zone names, era, quarter...) fall back to
Babel itself. tests/web/test_dates.py checks the result against Babel for every format the templates use.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache

from babel import Locale
from babel.dates import (
    format_datetime as babel_format_datetime,
    get_date_format,
    get_datetime_format,
    get_day_names,
    get_month_names,
    get_period_names,
    get_time_format,
    parse_pattern,
)

NAMED = ("full", "long", "medium", "short")
FIELD_RE = re.compile(r"%\((\w+)\)s")
Field = Callable[[datetime], str]


def _number(get: Callable[[datetime], int], width: int) -> Field:
    return lambda value: "%0*d" % (width, get(value))


def _period(locale: Locale) -> Field:
    names = {}
    for period in ("am", "pm"):
        for width in ("abbreviated", "wide", "narrow"):
            found = get_period_names(width=width, context="format", locale=locale)
            if period in found:
                names[period] = found[period]
                break
    return lambda value: names["pm" if value.hour >= 12 else "am"]


def _field(key: str, locale: Locale) -> Field | None:
    char, width = key[0], len(key)
    if char == "y":
        return _number(lambda v: v.year % 100, 2) if width == 2 else _number(lambda v: v.year, width)
    if char == "M":
        if width <= 2:
            return _number(lambda v: v.month, width)
        names = get_month_names({3: "abbreviated", 4: "wide", 5: "narrow"}[width], "format", locale)
        return lambda value: names[value.month]
    if char == "d":
        return _number(lambda v: v.day, width)
    if char == "E" and width <= 5:
        names = get_day_names({4: "wide", 5: "narrow"}.get(width, "abbreviated"), "format", locale)
        return lambda value: names[value.weekday()]
    if char == "h":
        return _number(lambda v: v.hour % 12 or 12, width)
    if char == "H":
        return _number(lambda v: v.hour, width)
    if char == "m":
        return _number(lambda v: v.minute, width)
    if char == "s":
        return _number(lambda v: v.second, width)
    if char == "a" and width <= 3:
        return _period(locale)
    return None


def _compile(pattern: str, locale: Locale) -> Callable[[datetime], str] | None:
    compiled = parse_pattern(pattern).format
    keys = sorted(set(FIELD_RE.findall(compiled)))
    fields = {key: _field(key, locale) for key in keys}
    if any(field is None for field in fields.values()):
        return None
    return lambda value: compiled % {key: field(value) for key, field in fields.items()}


@lru_cache(maxsize=64)
def _formatter(fmt: str, language: str) -> Callable[[datetime], str]:
    locale = Locale.parse(language)
    if fmt in NAMED:
        date = _compile(get_date_format(fmt, locale).pattern, locale)
        time = _compile(get_time_format(fmt, locale).pattern, locale)
        both = get_datetime_format(fmt, locale).replace("'", "")
        if date is not None and time is not None:
            return lambda value: both.replace("{0}", time(value)).replace("{1}", date(value))
    else:
        whole = _compile(fmt, locale)
        if whole is not None:
            return whole
    return lambda value: babel_format_datetime(value, format=fmt, locale=locale)


def format_local(value: datetime, fmt: str, language: str) -> str:
    """An aware datetime, already in the zone to show, formatted like babel.dates.format_datetime."""
    return _formatter(fmt, language)(value)
