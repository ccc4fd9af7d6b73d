"""Meetings the two sides of a match arrange outside events: one side proposes up to three times, the other
confirms one or declines; the proposer may withdraw an open proposal, either side may cancel the meeting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import MeetingProposal, MeetingProposalOption, MeetingRequest, User
from models.base import utcnow
from web.errors import DomainError, Forbidden, NotFound, ValidationFailed
from web.i18n import N_, _
from web.services import notifications
from web.services.agenda import is_zone, when, zone_info
from web.services.messages import get_match_for

MAX_OPTIONS = 3
MAX_DURATION = timedelta(hours=8)
MAX_MESSAGE = 2000
MAX_LOCATION = 300
MAX_URL = 500
OPTION_FIELDS = ("date", "start", "end", "duration", "location", "online_url")
STATUS_LABELS = {
    "open": N_("Waiting for an answer"),
    "confirmed": N_("Confirmed"),
    "declined": N_("Declined"),
    "withdrawn": N_("Withdrawn"),
    "cancelled": N_("Cancelled"),
}


class ProposalConflict(DomainError):
    """The proposal is not in a state that allows this (answered already, another one is live, time passed)."""

    status_code = 409
    code = "proposal_conflict"


def status_label(status: str) -> str:
    return _(STATUS_LABELS.get(status, status))


@dataclass
class OptionInput:
    starts_at: datetime
    ends_at: datetime
    location: str
    online_url: str


def _blank(raw: dict[str, Any]) -> bool:
    return not any(str(raw.get(name) or "").strip() for name in OPTION_FIELDS)


def _local(day: date, clock: time, zone) -> datetime | None:
    """A wall-clock time in the zone as UTC; None when the clocks skip it (the hour lost to summer time)."""
    moment = datetime.combine(day, clock).replace(tzinfo=zone)
    utc = moment.astimezone(timezone.utc)
    return utc if utc.astimezone(zone).replace(tzinfo=None) == moment.replace(tzinfo=None) else None


def _parse(value: str, parser) -> Any:
    try:
        return parser(value)
    except ValueError:
        return None


def _valid_url(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("http", "https") and bool(parsed.hostname) and " " not in url


def _option(raw: dict[str, Any], n: int, zone_name: str, now: datetime, errors: dict[str, str]) -> OptionInput | None:
    """One option from the form's strings (date, start, end or duration, place, link), or errors by field."""
    zone = zone_info(zone_name)
    values = {name: str(raw.get(name) or "").strip() for name in OPTION_FIELDS}
    found: dict[str, str] = {}
    day = _parse(values["date"], date.fromisoformat)
    start = _parse(values["start"], time.fromisoformat)
    end = _parse(values["end"], time.fromisoformat) if values["end"] else None
    minutes = _parse(values["duration"], int) if values["duration"] else None
    if day is None:
        found["date"] = _("Give the date.") if not values["date"] else _("Give a date such as 2026-03-10.")
    if start is None:
        found["start"] = _("Give the start time.") if not values["start"] else _("Give a time such as 14:30.")
    if values["end"] and end is None:
        found["end"] = _("Give a time such as 15:30.")
    if values["duration"] and (minutes is None or minutes <= 0):
        found["duration"] = _("Give the duration in minutes.")
    if not values["end"] and not values["duration"]:
        found["end"] = _("Give an end time or a duration.")
    starts_at = ends_at = None
    if day is not None and start is not None:
        starts_at = _local(day, start, zone)
        if starts_at is None:
            found["start"] = (_("This time does not exist in %(zone)s: the clocks change that day.")
                              % {"zone": zone_name})
        elif starts_at <= now:
            found["start"] = _("Choose a time in the future.")
    if starts_at is not None and "end" not in found and "duration" not in found:
        by_duration = starts_at + timedelta(minutes=minutes) if minutes else None
        if end is not None:
            ends_at = _local(day, end, zone)
            if ends_at is not None and ends_at <= starts_at:
                # 23:30 to 00:30 ends the next day; 14:00 to 13:00 is a slip, not a 23-hour meeting.
                next_day = _local(day + timedelta(days=1), end, zone)
                ends_at = next_day if next_day is not None and next_day - starts_at <= MAX_DURATION else starts_at
            if ends_at is None:
                found["end"] = (_("This time does not exist in %(zone)s: the clocks change that day.")
                                % {"zone": zone_name})
            elif ends_at <= starts_at:
                found["end"] = _("The end must be after the start.")
            elif by_duration is not None and by_duration != ends_at:
                found["end"] = _("The end time and the duration disagree: give one of them.")
        else:
            ends_at = by_duration
        if ends_at is not None and "end" not in found and ends_at - starts_at > MAX_DURATION:
            found["end" if end is not None else "duration"] = _("A meeting can last at most 8 hours.")
    if not values["location"] and not values["online_url"]:
        found["location"] = _("Give a place, an online link, or both.")
    elif len(values["location"]) > MAX_LOCATION:
        found["location"] = _("Keep the place to 300 characters.")
    if values["online_url"] and (len(values["online_url"]) > MAX_URL or not _valid_url(values["online_url"])):
        found["online_url"] = _("Give a link that starts with http:// or https:// (at most 500 characters).")
    errors.update({f"{name}_{n}": message for name, message in found.items()})
    if found:
        return None
    return OptionInput(starts_at, ends_at, values["location"], values["online_url"])


def parse_options(raw_options: list[dict[str, Any]], zone_name: str, now: datetime | None = None) -> list[OptionInput]:
    """1-3 future options from the form, in the proposer's zone; ValidationFailed names each field at fault.

    Blank rows are skipped; errors are keyed `<field>_<row>` (rows counted from 1), `options` for the count.
    """
    now = now or utcnow()
    errors: dict[str, str] = {}
    filled = [(n, raw) for n, raw in enumerate(raw_options, start=1) if not _blank(raw)]
    if not filled:
        errors["options"] = _("Propose at least one time: a date, a start, and an end or a duration.")
    elif len(filled) > MAX_OPTIONS:
        errors["options"] = _("Propose at most three times.")
    options: list[OptionInput] = []
    for n, raw in filled[:MAX_OPTIONS]:
        option = _option(raw, n, zone_name, now, errors)
        if option is None:
            continue
        if any(o.starts_at == option.starts_at for o in options):
            errors[f"start_{n}"] = _("You proposed this time already.")
            continue
        options.append(option)
    if errors:
        raise ValidationFailed(next(iter(errors.values())), field_errors=errors)
    return options


def _match_for_party(session: Session, user: User, request_id: int) -> MeetingRequest:
    """The match, if the user belongs to one of its two organizations (404 to strangers, 403 to organizers)."""
    req = get_match_for(session, user, request_id)
    if not req.involves(user.organization_id):
        raise Forbidden(_("Only the two matched organizations can arrange their meetings."))
    return req


def live_proposal(session: Session, request_id: int) -> MeetingProposal | None:
    """The match's open or confirmed proposal, if any."""
    return session.scalar(select(MeetingProposal).where(MeetingProposal.active_key == request_id))


def _already_live() -> ProposalConflict:
    return ProposalConflict(_("There is already a proposal or a confirmed meeting for this match. "
                              "Answer, withdraw or cancel it first."), code="proposal_exists")


def _release_past_meeting(session: Session, request_id: int, now: datetime) -> None:
    """A confirmed meeting that has ended no longer holds the match's place: a follow-up can be proposed."""
    ended = (select(MeetingProposalOption.id).where(MeetingProposalOption.id == MeetingProposal.confirmed_option_id,
                                                    MeetingProposalOption.ends_at <= now).exists())
    session.execute(update(MeetingProposal)
                    .where(MeetingProposal.active_key == request_id, MeetingProposal.status == "confirmed", ended)
                    .values(active_key=None).execution_options(synchronize_session=False))


def _notify(session: Session, settings, org_id: int, kind: str, proposal: MeetingProposal, action: str) -> None:
    notifications.notify_org(session, settings, org_id, kind, proposal.request,
                             dedupe_prefix=f"proposal:{proposal.id}:{action}",
                             extra={"proposal": proposal, "action": action, "when": when})


def propose_meeting(session: Session, settings, user: User, request_id: int, raw_options: list[dict[str, Any]],
                    message: str = "", now: datetime | None = None) -> MeetingProposal:
    """Propose 1-3 times to the other side of a match, in the proposer's time zone; 409 while another is live."""
    now = now or utcnow()
    req = _match_for_party(session, user, request_id)
    zone = user.time_zone if is_zone(user.time_zone) else settings.default_time_zone
    message = (message or "").strip()
    try:
        options = parse_options(raw_options, zone, now)
        if len(message) > MAX_MESSAGE:
            raise ValidationFailed(_("Keep the message to 2,000 characters."),
                                   field_errors={"message": _("Keep the message to 2,000 characters.")})
    except ValidationFailed:
        _release_past_meeting(session, req.id, now)
        if live_proposal(session, req.id) is not None:
            raise _already_live()  # the form is gone from the page: say why rather than mark its fields
        raise
    _release_past_meeting(session, req.id, now)
    proposal = MeetingProposal(
        request_id=req.id, proposed_by_org_id=user.organization_id, proposed_by_user_id=user.id, active_key=req.id,
        status="open", message=message, time_zone=zone, sequence=0,
        options=[MeetingProposalOption(starts_at=o.starts_at, ends_at=o.ends_at, location=o.location,
                                       online_url=o.online_url) for o in options])
    try:
        with session.begin_nested():
            session.add(proposal)
    except IntegrityError:
        # The unique active_key: another proposal for this match landed first (or was already there).
        raise _already_live()
    session.expire(req, ["proposals"])
    _notify(session, settings, req.other_org(user.organization_id).id, "meeting_proposed", proposal, "proposed")
    return proposal


def _proposal_of(session: Session, req: MeetingRequest, proposal_id: int) -> MeetingProposal:
    proposal = session.get(MeetingProposal, proposal_id)
    if proposal is None or proposal.request_id != req.id:
        raise NotFound(_("There is no such proposal."))
    return proposal


def _transition(session: Session, proposal: MeetingProposal, from_status: str, to_status: str, now: datetime,
                **values: Any) -> bool:
    """One conditional UPDATE: of two concurrent answers exactly one wins."""
    result = session.execute(
        update(MeetingProposal)
        .where(MeetingProposal.id == proposal.id, MeetingProposal.status == from_status)
        .values(status=to_status, updated_at=now, **values)
        .execution_options(synchronize_session=False))
    session.refresh(proposal)
    session.expire(proposal.request, ["proposals"])
    return result.rowcount == 1


def _refuse(proposal: MeetingProposal, expected: str) -> ProposalConflict:
    if expected == "open":
        message = _("This proposal is no longer open: %(status)s.")
    else:
        message = _("This meeting is no longer confirmed: %(status)s.")
    return ProposalConflict(message % {"status": status_label(proposal.status)}, code="proposal_not_" + expected)


def _acting(session: Session, user: User, request_id: int, proposal_id: int, side: str) -> MeetingProposal:
    """The proposal, if the user's organization is on the side that may act ("proposer", "other" or "either")."""
    proposal = _proposal_of(session, _match_for_party(session, user, request_id), proposal_id)
    mine = proposal.proposed_by_org_id == user.organization_id
    if side == "other" and mine:
        raise Forbidden(_("The other organization answers the times you proposed."))
    if side == "proposer" and not mine:
        raise Forbidden(_("Only the organization that proposed these times can withdraw them."))
    return proposal


def confirm_proposal(session: Session, settings, user: User, request_id: int, proposal_id: int, option_id: Any,
                     now: datetime | None = None) -> MeetingProposal:
    """The other side confirms one of the proposed times: the meeting is in both agendas."""
    now = now or utcnow()
    proposal = _acting(session, user, request_id, proposal_id, "other")
    option = next((o for o in proposal.options if str(o.id) == str(option_id)), None)
    if proposal.status != "open":
        raise _refuse(proposal, "open")
    if option is None:
        raise ValidationFailed(_("Choose one of the proposed times."),
                               field_errors={"option_id": _("Choose one of the proposed times.")})
    if option.starts_at <= now:
        raise ProposalConflict(_("This time has passed. Choose another one, or decline and propose new times."),
                               code="option_passed")
    if not _transition(session, proposal, "open", "confirmed", now, confirmed_option_id=option.id, confirmed_at=now):
        raise _refuse(proposal, "open")
    _notify(session, settings, proposal.proposed_by_org_id, "meeting_confirmed", proposal, "confirmed")
    return proposal


def decline_proposal(session: Session, settings, user: User, request_id: int, proposal_id: int,
                     now: datetime | None = None) -> MeetingProposal:
    """The other side declines every proposed time; either side may then propose again."""
    proposal = _acting(session, user, request_id, proposal_id, "other")
    if not _transition(session, proposal, "open", "declined", now or utcnow(), active_key=None):
        raise _refuse(proposal, "open")
    _notify(session, settings, proposal.proposed_by_org_id, "meeting_cancelled", proposal, "declined")
    return proposal


def withdraw_proposal(session: Session, settings, user: User, request_id: int, proposal_id: int,
                      now: datetime | None = None) -> MeetingProposal:
    """The proposer takes back an open proposal."""
    proposal = _acting(session, user, request_id, proposal_id, "proposer")
    if not _transition(session, proposal, "open", "withdrawn", now or utcnow(), active_key=None):
        raise _refuse(proposal, "open")
    other = proposal.request.other_org(proposal.proposed_by_org_id)
    _notify(session, settings, other.id, "meeting_cancelled", proposal, "withdrawn")
    return proposal


def cancel_confirmed_meeting(session: Session, settings, user: User, request_id: int, proposal_id: int,
                             now: datetime | None = None) -> MeetingProposal:
    """Either side cancels a confirmed meeting that has not started; calendars get it as CANCELLED."""
    now = now or utcnow()
    proposal = _acting(session, user, request_id, proposal_id, "either")
    option = proposal.confirmed_option
    if proposal.status == "confirmed" and option is not None and option.starts_at <= now:
        raise ProposalConflict(_("This meeting has already started, so it cannot be cancelled."),
                               code="meeting_started")
    if not _transition(session, proposal, "confirmed", "cancelled", now, active_key=None,
                       sequence=MeetingProposal.sequence + 1):
        raise _refuse(proposal, "confirmed")
    _notify(session, settings, proposal.request.other_org(user.organization_id).id, "meeting_cancelled", proposal,
            "cancelled")
    return proposal
