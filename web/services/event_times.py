"""Meeting times of an event as people read them: in the event's zone, and in the viewer's when it differs."""

from __future__ import annotations

from datetime import datetime, timedelta

from babel.dates import format_date

from web.i18n import _, current_language
from web.services.events import local


def span_text(starts_at: datetime, minutes: int, zone: str, *, with_date: bool = True) -> str:
    """'Mar 10, 2026 10:20–10:40 JST' (or just '10:20–10:40') in the zone and the current language."""
    start = local(starts_at, zone)
    end = start + timedelta(minutes=minutes)
    times = f"{start:%H:%M}–{end:%H:%M}"
    if not with_date:
        return times
    return f"{format_date(start, 'medium', locale=current_language())} {times} {start:%Z}"


def when_text(starts_at: datetime, minutes: int, event_zone: str, viewer_zone: str | None = None) -> str:
    """The span in the event's zone, followed by the viewer's own time when their zone shows another clock."""
    text = span_text(starts_at, minutes, event_zone)
    if viewer_zone and local(starts_at, viewer_zone).utcoffset() != local(starts_at, event_zone).utcoffset():
        text += " " + _("(%(time)s your time)") % {"time": span_text(starts_at, minutes, viewer_zone)}
    return text


def place_text(table: int | None) -> str:
    """'Table 3', or 'Online' for an event without tables."""
    return _("Table %(n)s") % {"n": table} if table is not None else _("Online")
