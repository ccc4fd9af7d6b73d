"""Counting rows per local day in SQL, on SQLite and PostgreSQL alike.

Days are days in a time zone (the event's, or the organizer's for the platform), not UTC days: a
registration at 08:00 in Tokyo belongs to that Tokyo day. PostgreSQL converts with its own time
zone database (`timezone()`), exact across daylight-saving changes. SQLite has no zone data, so
the offset is applied as a `date(col, '+540 minutes')` modifier; where the offset changes inside
the range (a DST zone), a CASE picks the offset of each stretch, found here with zoneinfo. Either
way the database returns one (day, count) row per day with activity, a bounded result that
Python then places in days or weeks.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import Date, case, cast, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement


def _offset_minutes(zone: ZoneInfo, moment: datetime) -> int:
    return int(moment.astimezone(zone).utcoffset().total_seconds() // 60)


def offset_periods(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """(until, offset in minutes) for each stretch of constant UTC offset in [start, end); the last until is end."""
    periods: list[tuple[datetime, int]] = []
    probes = [start + timedelta(days=n) for n in range(max(1, (end - start).days + 1))]
    probes = [p for p in probes if p < end] + [end - timedelta(seconds=1)]
    previous, current = probes[0], _offset_minutes(zone, probes[0])
    for probe in probes[1:]:
        offset = _offset_minutes(zone, probe)
        if offset != current:
            # Bisect to the second the offset changed: the first moment with the new offset.
            low, high = int(previous.timestamp()), int(probe.timestamp())
            while high - low > 1:
                middle = (low + high) // 2
                if _offset_minutes(zone, datetime.fromtimestamp(middle, timezone.utc)) == current:
                    low = middle
                else:
                    high = middle
            periods.append((datetime.fromtimestamp(high, timezone.utc), current))
            current = offset
        previous = probe
    periods.append((end, current))
    return periods


def local_day(dialect: str, column: ColumnElement, zone: ZoneInfo, start: datetime,
              end: datetime) -> ColumnElement:
    """An SQL expression for the local date of a UTC timestamp column, valid for rows in [start, end)."""
    if dialect == "postgresql":
        # Stored as UTC without a zone: read it as UTC, then express it in the zone.
        return cast(func.timezone(zone.key, func.timezone("UTC", column)), Date)
    periods = offset_periods(zone, start, end)
    if len(periods) == 1:
        modifier = literal(f"{periods[0][1]:+d} minutes")
    else:
        modifier = case(*[(column < until, f"{minutes:+d} minutes") for until, minutes in periods[:-1]],
                        else_=f"{periods[-1][1]:+d} minutes")
    return func.date(column, modifier)


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def day_bounds(zone: ZoneInfo, first: date, last: date) -> tuple[datetime, datetime]:
    """The UTC instants where local day `first` starts and local day `last` ends."""
    start = datetime.combine(first, time(), zone).astimezone(timezone.utc)
    end = datetime.combine(last + timedelta(days=1), time(), zone).astimezone(timezone.utc)
    return start, end


def count_per_day(session: Session, column: ColumnElement, conditions: Iterable[ColumnElement], zone: ZoneInfo,
                  first: date, last: date) -> dict[date, int]:
    """Rows per local day from `first` to `last` (inclusive) whose column falls in those days."""
    start, end = day_bounds(zone, first, last)
    day = local_day(session.get_bind().dialect.name, column, zone, start, end).label("local_day")
    # Grouped by the output name: PostgreSQL would not see two separately bound copies of the
    # expression (the zone is a parameter) as the same.
    query = (select(day, func.count()).where(column >= start, column < end, *conditions).group_by("local_day"))
    counts: dict[date, int] = {}
    for value, number in session.execute(query):
        if value is not None:
            counts[_as_date(value)] = counts.get(_as_date(value), 0) + number
    return counts


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def week_start(day: date) -> date:
    """The Monday of the day's week."""
    return day - timedelta(days=day.weekday())


def per_week(counts: dict[date, int], weeks: list[date]) -> list[int]:
    """Day counts summed into the given weeks (Mondays)."""
    totals = dict.fromkeys(weeks, 0)
    for day, number in counts.items():
        monday = week_start(day)
        if monday in totals:
            totals[monday] += number
    return [totals[w] for w in weeks]
