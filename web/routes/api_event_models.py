"""Bodies of the events, registrations and agenda parts of JSON API v1, and the conversions to them.

Times are UTC ISO 8601 (`...Z`); each event (and agenda item) also names its IANA time zone and gives
the same instants in that zone (`*_local`, ISO 8601 with the zone's offset). Input of the event form
keeps the form's wall-clock fields (date, HH:MM in the event's zone), so the API and the page share
one validation, including the refusal of a local time skipped or repeated at a DST change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from matchmaker.slots import Slot
from models import Event, EventRegistration
from web.routes.api import OrganizationRef
from web.services import events, registrations
from web.services.event_form import event_values

# Ids beyond a 32-bit INTEGER column are refused as input (PostgreSQL would fail on them), not looked up.
MAX_ID = 2_147_483_647
EventId = Annotated[int, Path(ge=1, le=MAX_ID, description="The event's id.")]
RegistrationId = Annotated[int, Path(ge=1, le=MAX_ID, description="The registration's id.")]
EventFilter = Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this event's items.")]
RegistrationStatus = Literal["pending", "approved", "rejected", "withdrawn"]
ClosedReason = Literal["event_not_published", "event_over", "deadline_passed", "event_full"]


class SlotOut(BaseModel):
    starts_at: datetime = Field(description="Start in UTC; this value names the slot in availability.")
    ends_at: datetime = Field(description="End in UTC.")
    starts_local: str = Field(description="Start in the event's time zone, ISO 8601 with the offset.")
    ends_local: str = Field(description="End in the event's time zone, ISO 8601 with the offset.")


class BreakOut(BaseModel):
    starts_at: datetime = Field(description="Start in UTC.")
    ends_at: datetime = Field(description="End in UTC.")
    starts_local: str = Field(description="Start in the event's time zone, ISO 8601 with the offset.")
    ends_local: str = Field(description="End in the event's time zone, ISO 8601 with the offset.")
    label: str = Field(description="What happens in the break (lunch, talks); may be empty.")


class LocalTimes(BaseModel):
    date: str = Field(description="The event's day in its time zone (YYYY-MM-DD).")
    opens_at: str = Field(description="Opening, HH:MM in the event's time zone.")
    closes_at: str = Field(description="Closing, HH:MM in the event's time zone.")
    deadline_date: str = Field(description="Registration deadline's day in the event's time zone.")
    deadline_time: str = Field(description="Registration deadline, HH:MM in the event's time zone.")


class RegistrationState(BaseModel):
    id: int = Field(description="The registration's id.")
    status: RegistrationStatus = Field(description="pending, approved, rejected or withdrawn.")
    status_label: str = Field(description="The status in the caller's language.")


class RegistrationCounts(BaseModel):
    pending: int = Field(description="Registrations waiting for approval.")
    approved: int = Field(description="Approved registrations.")
    rejected: int = Field(description="Declined registrations.")
    withdrawn: int = Field(description="Withdrawn registrations.")
    all: int = Field(description="All registrations.")


class EventSummary(BaseModel):
    id: int = Field(description="The event's id.")
    status: Literal["draft", "published"] = Field(description="Drafts are seen by organizers only.")
    title: str = Field(description="The title in the caller's language (English when there is no Japanese one).")
    title_en: str = Field(description="English title.")
    title_ja: str = Field(description="Japanese title; may be empty.")
    venue: str = Field(description="Where the event takes place; may be empty for an online event.")
    online: bool = Field(description="True when the event has an online meeting link.")
    online_url: str | None = Field(description="The online link: for organizers and approved participants only, "
                                               "otherwise null.")
    time_zone: str = Field(description="The event's IANA time zone, e.g. Asia/Bangkok.")
    starts_at: datetime = Field(description="Opening in UTC.")
    ends_at: datetime = Field(description="Closing in UTC.")
    registration_deadline: datetime = Field(description="Registration closes at this instant (UTC).")
    meeting_minutes: int = Field(description="Length of each one-to-one meeting slot in minutes.")
    table_count: int | None = Field(description="Meeting tables per slot; null for an online event without tables.")
    capacity: int = Field(description="Organizations that may register.")
    places_left: int = Field(description="Places not held by a pending or approved registration.")
    auto_approve: bool = Field(description="True: registrations are approved at once; false: organizers review them.")
    registration_open: bool = Field(description="True while an approved organization may register.")
    registration_closed_reason: ClosedReason | None = Field(description="Why registration is closed, or null.")
    my_registration: RegistrationState | None = Field(description="The caller's organization's registration, "
                                                                  "or null.")


class EventOut(EventSummary):
    description: str = Field(description="The description in the caller's language.")
    description_en: str = Field(description="English description.")
    description_ja: str = Field(description="Japanese description; may be empty.")
    local: LocalTimes = Field(description="Day and clock times in the event's time zone, as the form has them.")
    breaks: list[BreakOut] = Field(description="Breaks in time order; no slot overlaps one.")
    slots: list[SlotOut] = Field(description="The one-to-one meeting slots in time order.")
    registration_counts: RegistrationCounts | None = Field(description="Registrations per status (organizers only; "
                                                                       "null for others).")


class EventPage(BaseModel):
    items: list[EventSummary] = Field(description="The events of this page.")
    total: int = Field(description="Events matching the filter, all pages together.")
    limit: int = Field(description="Page size asked for.")
    offset: int = Field(description="Events skipped before this page.")


class BreakIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    starts: str = Field(description="HH:MM in the event's time zone, within the opening hours.")
    ends: str = Field(description="HH:MM in the event's time zone, after the start.")
    label: str = Field(default="", description="Optional, up to 100 characters.")


class EventIn(BaseModel):
    """The organizer's event form. On create, a field left out takes the form's default; on PATCH it keeps its value."""

    model_config = ConfigDict(extra="forbid")
    title_en: str | None = Field(None, description="Required; up to 200 characters.")
    title_ja: str | None = Field(None, description="Optional Japanese title.")
    description_en: str | None = Field(None, description="Optional, up to 10,000 characters.")
    description_ja: str | None = Field(None, description="Optional, up to 10,000 characters.")
    venue: str | None = Field(None, description="A venue, an online link, or both are required.")
    online_url: str | None = Field(None, description="https:// or http:// link, shown to approved participants only.")
    time_zone: str | None = Field(None, description="IANA zone in which the times below are given "
                                                    "(default on create: the site's default zone).")
    date: str | None = Field(None, description="The event's day, YYYY-MM-DD, in its time zone. Required.")
    opens_at: str | None = Field(None, description="HH:MM in the event's zone (default 13:00).")
    closes_at: str | None = Field(None, description="HH:MM in the event's zone, after the opening (default 17:00).")
    meeting_minutes: int | None = Field(None, description="Meeting length, 5 to 240 minutes (default 20).")
    table_count: int | None = Field(None, description="Meeting tables, 1 to 1,000 (default 10); null for an online "
                                                      "event without tables.")
    deadline_date: str | None = Field(None, description="Registration deadline's day, YYYY-MM-DD. Required.")
    deadline_time: str | None = Field(None, description="Registration deadline, HH:MM (default 17:00); no later "
                                                        "than the opening.")
    capacity: int | None = Field(None, description="Organizations that may register, 1 to 10,000 (default 40).")
    auto_approve: bool | None = Field(None, description="Approve registrations at once (default true).")
    breaks: list[BreakIn] | None = Field(None, max_length=50, description="Up to 12 breaks; replaces the list.")


class EventChangeOut(BaseModel):
    event: EventOut = Field(description="The event as saved.")
    slots_changed: bool = Field(description="The meeting slots differ from before the edit.")
    timetable_affected: bool = Field(description="The slots changed and the event already has a timetable: "
                                                 "it must be run again.")
    availability_cleared: int = Field(description="Participants' unavailable slots removed because the slot is gone.")


class Attendee(BaseModel):
    model_config = ConfigDict(extra="forbid")
    full_name: str = Field(description="Required, up to 200 characters.")
    job_title: str = Field(default="", description="Optional, up to 200 characters.")
    email: str = Field(default="", description="Optional; a valid address when given.")


class AttendeesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    attendees: list[Attendee] = Field(max_length=100, description="The people who attend, 1 to 10.")


class RegistrationOut(BaseModel):
    id: int = Field(description="The registration's id.")
    event_id: int = Field(description="The event's id.")
    organization: OrganizationRef = Field(description="The registered organization.")
    status: RegistrationStatus = Field(description="pending, approved, rejected or withdrawn.")
    status_label: str = Field(description="The status in the caller's language.")
    status_reason: str = Field(description="The organizers' reason when they declined it; empty otherwise.")
    created_at: datetime = Field(description="When it was (last) registered, UTC.")
    decided_at: datetime | None = Field(description="When it was approved or declined, UTC.")
    withdrawn_at: datetime | None = Field(description="When the organization withdrew, UTC.")
    attendees: list[Attendee] = Field(description="The people who attend.")
    unavailable_slots: int = Field(description="Slots in which the organization cannot meet.")


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", description="Required, up to 2,000 characters; the organization sees it.")


class AvailabilitySlot(SlotOut):
    available: bool = Field(description="True when the organization can meet in this slot.")


class AvailabilityOut(BaseModel):
    event_id: int = Field(description="The event's id.")
    registration_id: int = Field(description="The caller's organization's registration.")
    time_zone: str = Field(description="The event's IANA time zone.")
    slots: list[AvailabilitySlot] = Field(description="Every slot of the event, in time order.")


class AvailabilityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    available: list[str] = Field(max_length=2000, description=(
        "Starts of the slots in which the organization CAN meet (ISO 8601 with an offset or Z, as `starts_at` "
        "gives them); every other slot becomes unavailable. An empty list: available in none. A value that is "
        "not a slot of the event refuses the whole request (422) and nothing is stored."))


class EventRef(BaseModel):
    id: int = Field(description="The event's id.")
    title: str = Field(description="The title in the caller's language.")


class AgendaItemOut(BaseModel):
    kind: Literal["event", "event_meeting", "meeting"] = Field(
        description="An event the organization is registered for, a meeting at an event, or a meeting arranged "
                    "outside events.")
    id: int = Field(description="The event's, event meeting's or meeting proposal's id.")
    title: str = Field(description="The event's title, or 'Meeting with ...' in the caller's language.")
    starts_at: datetime = Field(description="Start in UTC.")
    ends_at: datetime = Field(description="End in UTC.")
    time_zone: str = Field(description="The item's own IANA zone (the event's, or the one the meeting was agreed in).")
    starts_local: str = Field(description="Start in the item's zone, ISO 8601 with the offset.")
    ends_local: str = Field(description="End in the item's zone, ISO 8601 with the offset.")
    event: EventRef | None = Field(description="The event, for events and meetings at events.")
    other_organization: OrganizationRef | None = Field(description="Whom the organization meets (meetings only).")
    request_id: int | None = Field(description="The match (accepted request) of a meeting.")
    table_number: int | None = Field(description="The table of a meeting at an event; null online or for others.")
    location: str = Field(description="Venue or meeting place; may be empty.")
    online_url: str = Field(description="Online link; may be empty.")
    link: str = Field(description="The page about the item on this site.")


# --- conversions ---------------------------------------------------------------------------------

def _local(value: datetime, zone: str) -> str:
    return events.local(value, zone).isoformat()


def slot_out(slot: Slot, zone: str, **extra: Any) -> dict[str, Any]:
    return {"starts_at": slot.starts_at, "ends_at": slot.ends_at, "starts_local": _local(slot.starts_at, zone),
            "ends_local": _local(slot.ends_at, zone)} | extra


def state_out(reg: EventRegistration | None) -> RegistrationState | None:
    if reg is None:
        return None
    return RegistrationState(id=reg.id, status=reg.status, status_label=registrations.status_label(reg.status))


def summary_values(event: Event, language: str, reg: EventRegistration | None, shows_link: bool) -> dict[str, Any]:
    closed = registrations.closed_reason(event)
    return {"id": event.id, "status": event.status, "title": event.title(language), "title_en": event.title_en,
            "title_ja": event.title_ja, "venue": event.venue, "online": bool(event.online_url),
            "online_url": event.online_url if event.online_url and shows_link else None,
            "time_zone": event.time_zone, "starts_at": event.starts_at, "ends_at": event.ends_at,
            "registration_deadline": event.registration_deadline, "meeting_minutes": event.meeting_minutes,
            "table_count": event.table_count, "capacity": event.capacity, "places_left": events.places_left(event),
            "auto_approve": event.auto_approve, "registration_open": closed is None,
            "registration_closed_reason": closed[0] if closed else None, "my_registration": state_out(reg)}


def detail_values(event: Event, language: str) -> dict[str, Any]:
    zone = event.time_zone
    form = event_values(event)
    return {"description": event.description(language), "description_en": event.description_en,
            "description_ja": event.description_ja,
            "local": {key: form[key] for key in ("date", "opens_at", "closes_at", "deadline_date", "deadline_time")},
            "breaks": [{"starts_at": b.starts_at, "ends_at": b.ends_at, "starts_local": _local(b.starts_at, zone),
                        "ends_local": _local(b.ends_at, zone), "label": b.label} for b in event.breaks],
            "slots": [slot_out(slot, zone) for slot in events.slots_of(event)]}


def registration_out(reg: EventRegistration) -> RegistrationOut:
    org = reg.organization
    return RegistrationOut(
        id=reg.id, event_id=reg.event_id,
        organization=OrganizationRef(id=org.id, name=org.name, country=org.country, kind=org.kind),
        status=reg.status, status_label=registrations.status_label(reg.status), status_reason=reg.status_reason,
        created_at=reg.created_at, decided_at=reg.decided_at, withdrawn_at=reg.withdrawn_at,
        attendees=[Attendee(full_name=a.full_name, job_title=a.job_title, email=a.email) for a in reg.attendees],
        unavailable_slots=len(reg.unavailable_slots))


# --- input to the services' form rows, and their error keys back to the API's fields ----------------

def form_values(body: EventIn, base: dict[str, Any]) -> dict[str, Any]:
    """The event form's values (strings, as typed) from the fields given, over `base`."""
    values = dict(base)
    for name, value in body.model_dump(exclude_unset=True).items():
        if name == "table_count":
            values["table_mode"] = "online" if value is None else "tables"
            values["table_count"] = "" if value is None else str(value)
        elif name == "auto_approve":
            values["approval"] = {True: "auto", False: "manual"}.get(value, "")
        elif name == "breaks":
            values["breaks"] = [{"starts": b.starts, "ends": b.ends, "label": b.label} for b in body.breaks or []]
        else:
            values[name] = "" if value is None else str(value)
    return values


def event_fields(errors: dict[str, str]) -> dict[str, str]:
    """The form's error keys as the API's field names (deadline -> deadline_date, break-2 -> breaks.2)."""
    renamed = {"deadline": "deadline_date", "approval": "auto_approve"}
    return {renamed.get(key, key.replace("break-", "breaks.")): message for key, message in errors.items()}


def attendee_rows(body: AttendeesIn) -> list[dict[str, str]]:
    return [{"name": a.full_name, "title": a.job_title, "email": a.email} for a in body.attendees]


def attendee_fields(errors: dict[str, str]) -> dict[str, str]:
    """attendee-1-name -> attendees.1.full_name, attendee-1-email -> attendees.1.email."""
    result = {}
    for key, message in errors.items():
        if key.startswith("attendee-"):
            _prefix, index, part = key.split("-", 2)
            key = f"attendees.{index}.{'full_name' if part == 'name' else part}"
        result[key] = message
    return result
