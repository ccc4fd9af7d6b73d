"""Meeting times of an event as people read them: in the event's zone, and in the viewer's when it differs."""

from __future__ import annotations

from datetime import datetime, timedelta

from babel.dates import format_date

from web.i18n import _, current_language
from web.services.events import local


def zone_label(moment: datetime) -> str:
    """'JST', or 'UTC+07' for zones without a common abbreviation."""
    abbreviation = moment.strftime("%Z")
    return f"UTC{abbreviation}" if abbreviation[:1] in "+-" else abbreviation


def span_text(starts_at: datetime, minutes: int, zone: str, *, with_date: bool = True) -> str:
    """'Mar 10, 2026 10:20–10:40 JST' (or just '10:20–10:40') in the zone and the current language."""
    start = local(starts_at, zone)
    end = start + timedelta(minutes=minutes)
    times = f"{start:%H:%M}–{end:%H:%M}"
    if not with_date:
        return times
    return f"{format_date(start, 'medium', locale=current_language())} {times} {zone_label(start)}"


def day_text(starts_at: datetime, ends_at: datetime, zone: str) -> str:
    """'Mar 10, 2026 · 10:00–12:00 JST': an event's day and opening hours in its zone."""
    start, end = local(starts_at, zone), local(ends_at, zone)
    day = format_date(start, "medium", locale=current_language())
    return f"{day} · {start:%H:%M}–{end:%H:%M} {zone_label(start)}"


def when_text(starts_at: datetime, minutes: int, event_zone: str, viewer_zone: str | None = None) -> str:
    """The span in the event's zone, followed by the viewer's own clock when their zone shows another time."""
    text = span_text(starts_at, minutes, event_zone)
    if not viewer_zone:
        return text
    there, here = local(starts_at, event_zone), local(starts_at, viewer_zone)
    if here.utcoffset() == there.utcoffset():
        return text
    own = span_text(starts_at, minutes, viewer_zone, with_date=here.date() != there.date())
    if here.date() == there.date():
        own += " " + zone_label(here)
    return text + " " + _("(your time: %(time)s)") % {"time": own}


def place_text(table: int | None) -> str:
    """'Table 3', or 'Online' for an event without tables."""
    return _("Table %(n)s") % {"n": table} if table is not None else _("Online")
