"""The organizer's event form: reading it, checking it, and turning local times into UTC.

The organizer types times in the event's own zone; they are stored in UTC. A local time that does
not exist (the hour skipped when clocks go forward) or happens twice (when they go back) is
refused with a message saying so, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date, datetime, time, timezone
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, available_timezones

from matchmaker.slots import event_slots
from models import Event
from web.errors import ValidationFailed
from web.i18n import _

MAX_BREAKS = 12
MAX_TITLE = 200
MAX_DESCRIPTION = 10_000
MAX_VENUE = 300
MAX_URL = 500
MAX_LABEL = 100
MIN_MINUTES, MAX_MINUTES = 5, 240
MAX_TABLES = 1000
MAX_CAPACITY = 10_000
TEXT_FIELDS = ("title_en", "title_ja", "description_en", "description_ja", "venue", "online_url", "time_zone",
               "date", "opens_at", "closes_at", "meeting_minutes", "table_mode", "table_count",
               "deadline_date", "deadline_time", "capacity", "approval")


@dataclass
class EventInput:
    """A checked event form: every time in UTC."""

    title_en: str
    title_ja: str
    description_en: str
    description_ja: str
    venue: str
    online_url: str
    time_zone: str
    starts_at: datetime
    ends_at: datetime
    meeting_minutes: int
    table_count: int | None
    registration_deadline: datetime
    capacity: int
    auto_approve: bool
    breaks: list[tuple[datetime, datetime, str]] = field(default_factory=list)


def blank_values(time_zone: str = "Asia/Tokyo") -> dict[str, Any]:
    """A new event's form: a half-day seminar with 20-minute meetings, tables and automatic approval."""
    return {"title_en": "", "title_ja": "", "description_en": "", "description_ja": "", "venue": "", "online_url": "",
            "time_zone": time_zone, "date": "", "opens_at": "13:00", "closes_at": "17:00", "meeting_minutes": "20",
            "table_mode": "tables", "table_count": "10", "deadline_date": "", "deadline_time": "17:00",
            "capacity": "40", "approval": "auto", "breaks": []}


def read_event_form(form: Any) -> dict[str, Any]:
    """The form's values exactly as typed (strings), breaks as rows of start, end and label."""
    values: dict[str, Any] = {name: str(form.get(name, "") or "") for name in TEXT_FIELDS}
    starts, ends, labels = (form.getlist(name) for name in ("break_starts", "break_ends", "break_labels"))
    count = max(len(starts), len(ends), len(labels))
    pad = lambda items, i: str(items[i]) if i < len(items) else ""  # noqa: E731
    values["breaks"] = [{"starts": pad(starts, i), "ends": pad(ends, i), "label": pad(labels, i)} for i in range(count)]
    return values


def event_values(event: Event) -> dict[str, Any]:
    """A stored event as the form shows it: local times in the event's zone."""
    zone = ZoneInfo(event.time_zone)
    start, end = event.starts_at.astimezone(zone), event.ends_at.astimezone(zone)
    deadline = event.registration_deadline.astimezone(zone)
    return {"title_en": event.title_en, "title_ja": event.title_ja, "description_en": event.description_en,
            "description_ja": event.description_ja, "venue": event.venue, "online_url": event.online_url,
            "time_zone": event.time_zone, "date": start.date().isoformat(), "opens_at": start.strftime("%H:%M"),
            "closes_at": end.strftime("%H:%M"), "meeting_minutes": str(event.meeting_minutes),
            "table_mode": "online" if event.table_count is None else "tables",
            "table_count": "" if event.table_count is None else str(event.table_count),
            "deadline_date": deadline.date().isoformat(), "deadline_time": deadline.strftime("%H:%M"),
            "capacity": str(event.capacity), "approval": "auto" if event.auto_approve else "manual",
            "breaks": [{"starts": b.starts_at.astimezone(zone).strftime("%H:%M"),
                        "ends": b.ends_at.astimezone(zone).strftime("%H:%M"), "label": b.label} for b in event.breaks]}


def edit_breaks(values: dict[str, Any], add: str = "", remove: str = "") -> dict[str, Any]:
    """The no-JavaScript Add/Remove buttons of the break list: change the rows, save nothing."""
    if add == "breaks" and len(values["breaks"]) < MAX_BREAKS:
        values["breaks"] = [*values["breaks"], {"starts": "", "ends": "", "label": ""}]
    name, _sep, index = remove.partition(":")
    if name == "breaks" and index.isdigit() and int(index) < len(values["breaks"]):
        del values["breaks"][int(index)]
    return values


def is_valid_zone(name: str) -> bool:
    """True for an IANA time zone name zoneinfo knows."""
    return bool(name) and name in _zone_names()


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def local_to_utc(day: date, clock: time, zone_name: str) -> datetime:
    """A wall-clock time in a zone as UTC; ValueError('missing'|'ambiguous') at a DST change."""
    zone = ZoneInfo(zone_name)
    naive = datetime.combine(day, clock)
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        # The two readings differ: either the hour is skipped (no reading survives a round trip) or repeated.
        back = first.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None)
        raise ValueError("missing" if back != naive else "ambiguous")
    return first.astimezone(timezone.utc)


def _dst_message(kind: str, clock: time, day: date, zone: str) -> str:
    names = {"time": clock.strftime("%H:%M"), "date": day.isoformat(), "zone": zone}
    if kind == "missing":
        return _("%(time)s does not exist on %(date)s in %(zone)s: the clocks go forward at that hour. "
                 "Choose another time.") % names
    return _("%(time)s happens twice on %(date)s in %(zone)s: the clocks go back at that hour. "
             "Choose a time outside that hour.") % names


def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def _parse_time(text: str) -> time | None:
    text = text.strip()
    if len(text) not in (4, 5) or ":" not in text:
        return None
    try:
        return time.fromisoformat(text.zfill(5))
    except ValueError:
        return None


def _parse_int(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def _valid_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in url


class _Checker:
    """Collects one message per field while reading the form."""

    def __init__(self, values: dict[str, Any]):
        self.values = values
        self.errors: dict[str, str] = {}

    def text(self, name: str, limit: int, required_message: str = "") -> str:
        value = self.values.get(name, "").strip()
        if not value and required_message:
            self.errors[name] = required_message
        elif len(value) > limit:
            self.errors[name] = _("Keep this to %(n)d characters.") % {"n": limit}
        return value

    def number(self, name: str, low: int, high: int, message: str) -> int | None:
        value = _parse_int(self.values.get(name, ""))
        if value is None or not low <= value <= high:
            self.errors[name] = message
            return None
        return value

    def clock(self, name: str) -> time | None:
        value = _parse_time(self.values.get(name, ""))
        if value is None:
            self.errors[name] = _("Enter a time as HH:MM (24-hour clock), such as 13:00.")
        return value

    def utc(self, name: str, day: date | None, clock: time | None, zone: str | None) -> datetime | None:
        if day is None or clock is None or zone is None:
            return None
        try:
            return local_to_utc(day, clock, zone)
        except ValueError as exc:
            self.errors.setdefault(name, _dst_message(str(exc), clock, day, zone))
            return None


def validate_event(values: dict[str, Any], now: datetime, event: Event | None = None) -> EventInput:
    """The checked form, or ValidationFailed with a message beside every field at fault."""
    c = _Checker(values)
    title_en = c.text("title_en", MAX_TITLE, _("Give the event an English title."))
    title_ja = c.text("title_ja", MAX_TITLE)
    description_en = c.text("description_en", MAX_DESCRIPTION)
    description_ja = c.text("description_ja", MAX_DESCRIPTION)
    venue = c.text("venue", MAX_VENUE)
    online_url = c.text("online_url", MAX_URL)
    if online_url and "online_url" not in c.errors and not _valid_url(online_url):
        c.errors["online_url"] = _("Enter a full web address starting with https:// or http://.")
    if not venue and not online_url and "venue" not in c.errors:
        c.errors["venue"] = _("Give a venue, an online meeting link, or both.")

    zone: str | None = values.get("time_zone", "").strip()
    if not is_valid_zone(zone or ""):
        c.errors["time_zone"] = _("Choose a time zone from the list.")
        zone = None
    day = _parse_date(values.get("date", ""))
    if day is None:
        c.errors["date"] = _("Enter a real date as YYYY-MM-DD, such as 2026-09-12.")
    opens, closes = c.clock("opens_at"), c.clock("closes_at")
    if opens and closes and closes <= opens:
        c.errors["closes_at"] = _("The closing time must be after the opening time.")
    starts_at, ends_at = c.utc("opens_at", day, opens, zone), c.utc("closes_at", day, closes, zone)
    minutes = c.number("meeting_minutes", MIN_MINUTES, MAX_MINUTES,
                       _("Give the meeting length in whole minutes, from 5 to 240."))
    breaks = _check_breaks(c, day, opens, closes, zone)

    if starts_at and ends_at and minutes and "closes_at" not in c.errors and "breaks" not in c.errors:
        if not event_slots(starts_at, ends_at, minutes, [(b[0], b[1]) for b in breaks]):
            c.errors["meeting_minutes"] = _("No meeting slot fits: the opening hours minus the breaks leave less "
                                            "than one meeting. Shorten the meetings or the breaks, or open longer.")
    changed_start = event is None or starts_at != event.starts_at
    if starts_at and changed_start and starts_at <= now and "date" not in c.errors:
        c.errors["date"] = _("This date and opening time have passed. Choose a time in the future.")

    table_count = None
    if values.get("table_mode") != "online":
        table_count = c.number("table_count", 1, MAX_TABLES,
                               _("Give at least one meeting table (whole number), or choose an online event."))
    deadline_day = _parse_date(values.get("deadline_date", ""))
    deadline_clock = _parse_time(values.get("deadline_time", ""))
    deadline = None
    if deadline_day is None or deadline_clock is None:
        c.errors["deadline"] = _("Enter the registration deadline as a date (YYYY-MM-DD) and a time (HH:MM).")
    else:
        deadline = c.utc("deadline", deadline_day, deadline_clock, zone)
    if deadline and starts_at and deadline > starts_at:
        c.errors["deadline"] = _("The registration deadline must be no later than the opening of the event.")

    capacity = c.number("capacity", 1, MAX_CAPACITY,
                        _("Give the number of organizations that may register: at least 1."))
    if capacity is not None and event is not None and capacity < event.places_taken:
        c.errors["capacity"] = _("%(n)d organizations already hold a place: the capacity cannot be lower.") % {
            "n": event.places_taken}
    if values.get("approval") not in ("auto", "manual"):
        c.errors["approval"] = _("Choose how registrations are approved.")
    if c.errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=c.errors)
    assert zone and starts_at and ends_at and minutes and deadline and capacity
    return EventInput(title_en=title_en, title_ja=title_ja, description_en=description_en,
                      description_ja=description_ja, venue=venue, online_url=online_url, time_zone=zone,
                      starts_at=starts_at, ends_at=ends_at, meeting_minutes=minutes, table_count=table_count,
                      registration_deadline=deadline, capacity=capacity,
                      auto_approve=values.get("approval") == "auto", breaks=breaks)


def _check_breaks(c: _Checker, day: date | None, opens: time | None, closes: time | None,
                  zone: str | None) -> list[tuple[datetime, datetime, str]]:
    """Each break inside the opening hours, ending after it starts, none overlapping another."""
    rows = [(i, row) for i, row in enumerate(c.values.get("breaks", []))
            if any(str(row.get(key, "")).strip() for key in ("starts", "ends", "label"))]
    if len(rows) > MAX_BREAKS:
        c.errors["breaks"] = _("Give at most %(n)d breaks.") % {"n": MAX_BREAKS}
        return []
    spans: list[tuple[time, time, str, int]] = []
    for i, row in rows:
        start, end = _parse_time(row.get("starts", "")), _parse_time(row.get("ends", ""))
        label = str(row.get("label", "")).strip()
        key = f"break-{i}"
        if start is None or end is None:
            c.errors[key] = _("Give the break's start and end as HH:MM.")
        elif end <= start:
            c.errors[key] = _("A break must end after it starts.")
        elif opens and closes and (start < opens or end > closes):
            c.errors[key] = _("This break is outside the opening hours (%(opens)s to %(closes)s).") % {
                "opens": opens.strftime("%H:%M"), "closes": closes.strftime("%H:%M")}
        elif len(label) > MAX_LABEL:
            c.errors[key] = _("Keep the label to %(n)d characters.") % {"n": MAX_LABEL}
        else:
            spans.append((start, end, label, i))
    spans.sort()
    for (s1, e1, _l1, i1), (s2, _e2, _l2, i2) in zip(spans, spans[1:]):
        if s2 < e1:
            c.errors[f"break-{i2}"] = _("This break overlaps another break (%(start)s to %(end)s).") % {
                "start": s1.strftime("%H:%M"), "end": e1.strftime("%H:%M")}
    if any(key.startswith("break-") for key in c.errors):
        c.errors["breaks"] = _("Correct the marked breaks.")
        return []
    if day is None or zone is None:
        return []
    result = []
    for start, end, label, i in spans:
        begins, finishes = c.utc(f"break-{i}", day, start, zone), c.utc(f"break-{i}", day, end, zone)
        if begins and finishes:
            result.append((begins, finishes, label))
    if any(key.startswith("break-") for key in c.errors):
        c.errors["breaks"] = _("Correct the marked breaks.")
    return result
