"""The timetable as organizers read it: a grid of slots and tables, each meeting's status, and the CSV file."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from babel.dates import format_skeleton
from sqlalchemy.orm import Session

from matchmaker.slots import Slot
from models import Event, EventMeeting, Organization
from web.i18n import N_, _, current_language
from web.services.event_matching import approved_org_ids
from web.services.event_times import span_text
from web.services.events import local, slots_of
from web.services.timetable import event_meetings, is_removed, withdrawn_party

# Why a meeting has no place; %(org)s is the organization named by the reason, %(a)s/%(b)s the two sides.
REASON_TEXTS = {
    "no_common_slot": N_("%(a)s and %(b)s have no available slot in common."),
    "party_busy": N_("%(org)s is in other meetings in every slot both sides can make."),
    "no_table": N_("Every table is taken in the slots both sides can make."),
    "withdrawn": N_("%(org)s is no longer a confirmed participant."),
    "removed": N_("Taken off the timetable by an organizer."),
    "": N_("Not placed yet: run the timetable."),
}
# Short forms of the same reasons, for charts and tables that count them.
REASON_LABELS = {
    "no_common_slot": N_("No slot free on both sides"),
    "party_busy": N_("A participant is fully booked"),
    "no_table": N_("No table free"),
    "withdrawn": N_("A participant withdrew"),
    "registration_rejected": N_("A registration was declined"),
    "removed": N_("Taken off by an organizer"),
    "": N_("Waiting for a timetable run"),
}
STATUS_LABELS = {
    "published": N_("Published"),
    "changed": N_("Changed since publishing"),
    "new": N_("Not published yet"),
    "unplaced": N_("Unplaced"),
    "removed": N_("Taken off"),
    "withdrawn": N_("Withdrawn"),
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def status_label(status: str) -> str:
    return _(STATUS_LABELS.get(status, status))


def slot_value(slot: Slot | datetime) -> str:
    """A slot's identity in forms: its UTC start, which survives slots being renumbered."""
    starts = slot.starts_at if isinstance(slot, Slot) else slot
    return starts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class MeetingRow:
    """One meeting as the organizer sees it."""

    meeting: EventMeeting
    a: Organization
    b: Organization
    status: str
    reason: str = ""
    # Where publishing would leave it (None: off the timetable) differs from what participants saw.
    pending_change: bool = False

    @property
    def id(self) -> int:
        return self.meeting.id

    @property
    def placed(self) -> bool:
        return self.meeting.starts_at is not None


@dataclass
class SlotRow:
    slot: Slot
    label: str
    viewer_label: str
    cells: list[MeetingRow | None] = field(default_factory=list)  # one per table (events with tables)
    meetings: list[MeetingRow] = field(default_factory=list)  # every meeting of the slot (online events)


@dataclass
class TimetableView:
    event: Event
    slots: list[SlotRow]
    tables: list[int] | None
    rows: list[MeetingRow]
    slot_options: list[tuple[str, str]]
    counts: dict[str, int]

    @property
    def table_options(self) -> list[tuple[int, int]]:
        """(value, label) of each table, for option_tags."""
        return [(table, table) for table in self.tables or ()]

    @property
    def unplaced(self) -> list[MeetingRow]:
        return [row for row in self.rows if not row.placed]

    @property
    def changes(self) -> list[MeetingRow]:
        return [row for row in self.rows if row.pending_change]

    def by_id(self, ids: list[int]) -> list[MeetingRow]:
        rows = {row.id: row for row in self.rows}
        return [rows[i] for i in ids if i in rows]


# The same reasons when the stored code does not say which organization (written by another area, say).
UNNAMED_REASON_TEXTS = {
    "party_busy": N_("%(a)s or %(b)s is in other meetings in every slot both sides can make."),
    "withdrawn": N_("%(a)s or %(b)s is no longer a confirmed participant."),
}


def reason_key(code: str) -> str:
    """The reason of a stored code without the organization it names ('party_busy:12' -> 'party_busy')."""
    return code.partition(":")[0]


def reason_label(code: str) -> str:
    """A stored reason code as a short label in the current language (unknown codes shown readably)."""
    key = reason_key(code or "")
    if key in REASON_LABELS:
        return _(REASON_LABELS[key])
    return key.replace("_", " ").strip().capitalize()


def reason_text(code: str, a: Organization, b: Organization) -> str:
    """A stored reason code ('party_busy:12') in the current language, naming the organization."""
    key, _sep, party = code.partition(":")
    org = a if party == str(a.id) else b if party == str(b.id) else None
    if org is None and key in UNNAMED_REASON_TEXTS:
        return _(UNNAMED_REASON_TEXTS[key]) % {"a": a.name, "b": b.name}
    text = _(REASON_TEXTS.get(key, REASON_TEXTS[""]))
    return text % {"a": a.name, "b": b.name, "org": org.name if org else ""}


def meeting_row(meeting: EventMeeting, approved: set[int]) -> MeetingRow:
    """The meeting's status: published, changed since publishing, new, unplaced, taken off, or withdrawn."""
    a, b = meeting.request.requester_org, meeting.request.recipient_org
    gone = withdrawn_party(meeting, approved)
    working = (meeting.starts_at, meeting.table_number) if gone is None else (None, None)
    pending = working != (meeting.published_starts_at, meeting.published_table_number)
    if gone is not None:
        return MeetingRow(meeting, a, b, "withdrawn", reason_text(f"withdrawn:{gone}", a, b), pending)
    if meeting.starts_at is not None:
        status = "new" if not meeting.is_published else "changed" if pending else "published"
        return MeetingRow(meeting, a, b, status, "", pending)
    reason = reason_text("removed" if is_removed(meeting) else meeting.unplaced_reason, a, b)
    status = "changed" if meeting.is_published else "removed" if is_removed(meeting) else "unplaced"
    return MeetingRow(meeting, a, b, status, reason, pending)


def timetable_view(session: Session, event: Event, viewer_zone: str | None = None) -> TimetableView:
    """Everything the organizer's timetable page shows."""
    approved = approved_org_ids(session, event.id)
    slots = slots_of(event)
    rows = [meeting_row(m, approved) for m in event_meetings(session, event.id)]
    far = datetime.max.replace(tzinfo=timezone.utc)
    rows.sort(key=lambda r: (r.meeting.starts_at or far, r.meeting.table_number or 0, r.id))
    tables = list(range(1, event.table_count + 1)) if event.table_count is not None else None
    by_start: dict[datetime, list[MeetingRow]] = {}
    for row in rows:
        if row.placed:
            by_start.setdefault(row.meeting.starts_at, []).append(row)
    grid = []
    for slot in slots:
        label = span_text(slot.starts_at, event.meeting_minutes, event.time_zone, with_date=False)
        other = ""
        own, theirs = (local(slot.starts_at, zone) for zone in (viewer_zone or event.time_zone, event.time_zone))
        if own.utcoffset() != theirs.utcoffset():
            other = span_text(slot.starts_at, event.meeting_minutes, viewer_zone, with_date=False)
            if own.date() != theirs.date():
                # A Santiago afternoon is the next morning in Tokyo: say which day the viewer's clock is on.
                other = f"{format_skeleton('MMMd', own, locale=current_language())} {other}"
        here = by_start.get(slot.starts_at, [])
        cells = [next((r for r in here if r.meeting.table_number == t), None) for t in tables] if tables else []
        grid.append(SlotRow(slot, label, other, cells, here))
    options = [(slot_value(s), row.label) for s, row in zip(slots, grid)]
    counts = {"total": len(rows), "placed": sum(r.placed for r in rows),
              "unplaced": sum(not r.placed and r.status != "withdrawn" for r in rows),
              "changes": sum(r.pending_change for r in rows), "slots": len(slots),
              "capacity": len(slots) * event.table_count if event.table_count is not None else 0}
    return TimetableView(event, grid, tables, rows, options, counts)


def csv_status(row: MeetingRow) -> str:
    if row.placed and row.status in ("published", "changed", "new"):
        return status_label(row.status)
    return "%s: %s" % (status_label(row.status), row.reason) if row.reason else status_label(row.status)


def _safe(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def timetable_csv(view: TimetableView) -> Iterator[str]:
    """The timetable as CSV (UTF-8 with a BOM for spreadsheets): times in the event's zone, one meeting a line."""
    event = view.event
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    zone = event.time_zone
    writer.writerow([_("Start (%(zone)s)") % {"zone": zone}, _("End (%(zone)s)") % {"zone": zone}, _("Table"),
                     _("Organization 1"), _("Organization 2"), _("Status")])
    yield "\ufeff" + buffer.getvalue()
    for row in view.rows:
        buffer.seek(0)
        buffer.truncate()
        start = end = ""
        if row.placed:
            begin = local(row.meeting.starts_at, zone)
            start = begin.strftime("%Y-%m-%d %H:%M")
            end = (begin + timedelta(minutes=event.meeting_minutes)).strftime("%Y-%m-%d %H:%M")
        table = "" if not row.placed else row.meeting.table_number if event.table_count is not None else _("Online")
        writer.writerow([start, end, table, _safe(row.a.name), _safe(row.b.name), _safe(csv_status(row))])
        yield buffer.getvalue()

