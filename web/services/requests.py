"""Meeting-request verbs: request, accept, decline, cancel, expire; feedback pairs (the tabs' lists: request_lists)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    Event,
    EventMeeting,
    EventRegistration,
    MeetingRequest,
    MeetingRequestEvent,
    Organization,
    User,
)
from models.base import utcnow
from models.meeting import pair_key
from web.errors import DomainError, Forbidden, NotFound, ValidationFailed
from web.i18n import N_, _, current_language
from web.services import invitations, notifications
from web.values import parse_id

MAX_MESSAGE = 2000
MAX_REASON = 2000
MAX_TOPICS = 20
MAX_TOPIC_LENGTH = 100
EXPIRING_WINDOW = timedelta(days=2)
STATUS_LABELS = {
    "pending": N_("Pending"),
    "accepted": N_("Accepted"),
    "declined": N_("Declined"),
    "cancelled": N_("Cancelled"),
    "expired": N_("Expired"),
}


class RequestConflict(DomainError):
    """The request is not in a state that allows this (already answered, expired, duplicate)."""

    status_code = 409
    code = "request_conflict"


def status_label(status: str) -> str:
    """A status in the UI language."""
    return _(STATUS_LABELS.get(status, status))


def clean_topics(raw: Any) -> list[str]:
    """Topics from a list or a comma/newline separated string: trimmed, de-duplicated, order kept."""
    items = raw if isinstance(raw, (list, tuple)) else [raw or ""]
    topics: list[str] = []
    for item in items:
        for part in str(item).replace("\n", ",").split(","):
            part = part.strip()
            if part and part not in topics:
                topics.append(part)
    return topics


def validate_request_input(message: str, topics: Any, event_id: Any) -> tuple[str, list[str], int | None]:
    """The cleaned message, topics and event id, or ValidationFailed with the fields at fault."""
    errors: dict[str, str] = {}
    message = (message or "").strip()
    if not message:
        errors["message"] = _("Write a short message: who you are and what you would like to discuss.")
    elif len(message) > MAX_MESSAGE:
        errors["message"] = _("Keep the message to 2,000 characters.")
    cleaned = clean_topics(topics)
    if len(cleaned) > MAX_TOPICS or any(len(topic) > MAX_TOPIC_LENGTH for topic in cleaned):
        errors["topics"] = _("Give at most 20 topics of up to 100 characters each.")
    event: int | None = None
    if event_id not in (None, ""):
        event = parse_id(event_id)
        if event is None:
            errors["event_id"] = _("Unknown event.")
    if errors:
        raise ValidationFailed(next(iter(errors.values())), field_errors=errors)
    return message, cleaned, event


def open_request_between(session: Session, org_a: int, org_b: int) -> MeetingRequest | None:
    """The pending request between two organizations, in either direction."""
    return session.scalar(select(MeetingRequest).where(MeetingRequest.open_pair_key == pair_key(org_a, org_b)))


def relation_between(session: Session, viewer_org_id: int | None,
                     org_id: int) -> tuple[MeetingRequest | None, MeetingRequest | None]:
    """The newest accepted request (a match) and the open request between two organizations, if any."""
    if viewer_org_id is None or viewer_org_id == org_id:
        return None, None
    pair = or_(and_(MeetingRequest.requester_org_id == viewer_org_id, MeetingRequest.recipient_org_id == org_id),
               and_(MeetingRequest.requester_org_id == org_id, MeetingRequest.recipient_org_id == viewer_org_id))
    match = session.scalar(select(MeetingRequest).where(pair, MeetingRequest.status == "accepted")
                           .order_by(MeetingRequest.id.desc()).limit(1))
    return match, open_request_between(session, viewer_org_id, org_id)


def check_can_request(session: Session, user: User, to_org_id: int) -> Organization:
    """The recipient, if the user may send it a request now; otherwise a clear refusal."""
    own = user.organization
    if own is None or not own.is_approved:
        raise Forbidden(_("Only members of an approved organization can request meetings."), code="not_approved")
    target = session.get(Organization, to_org_id)
    # A pending, rejected or suspended organization is not visible to members: answer as for a missing one, so
    # the answer does not tell which ids are applicants.
    if target is None or (not target.is_approved and target.id != own.id):
        raise NotFound(_("There is no such organization."))
    if target.id == own.id:
        raise DomainError(_("You cannot request a meeting with your own organization."), code="own_organization")
    if open_request_between(session, own.id, target.id) is not None:
        raise RequestConflict(_("There is already an open request between your organizations."), code="request_exists")
    if not target.contact_email and invitations.is_unclaimed(session, target.id):
        # Nobody could ever read it: refuse instead of accepting a request that silently expires.
        raise RequestConflict(_("%(name)s is not on the platform yet, and there is no email address to invite it, "
                                "so nobody could answer a request. The organizers can invite it.")
                              % {"name": target.name}, code="recipient_unreachable")
    return target


def _parse_event_id(event_id: Any) -> int | None:
    try:
        return int(event_id) if event_id not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _event_refusal(session: Session, event: Event | None, requester_org_id: int | None, recipient: Organization,
                   now: datetime | None = None) -> str:
    """Why a request cannot be tied to the event ('' when it can): published, not over, both confirmed there."""
    if event is None or not event.is_published:
        return _("There is no such event.")
    names = {"event": event.title(current_language()), "org": recipient.name}
    if event.ends_at <= (now or utcnow()):
        return _("%(event)s is over: a request can no longer be tied to it.") % names
    statuses = dict(session.execute(
        select(EventRegistration.organization_id, EventRegistration.status)
        .where(EventRegistration.event_id == event.id,
               EventRegistration.organization_id.in_((requester_org_id, recipient.id)))).all())
    own = statuses.get(requester_org_id)
    if own == "pending":
        return _("Your registration for %(event)s is still waiting for approval; you can request meetings there "
                 "once it is confirmed.") % names
    if own != "approved":
        return _("Your organization is not registered for %(event)s. Register first, or send the request "
                 "without the event.") % names
    if statuses.get(recipient.id) != "approved":
        return _("%(org)s is not a confirmed participant of %(event)s.") % names
    planned = session.scalar(
        select(EventMeeting.id).join(MeetingRequest, MeetingRequest.id == EventMeeting.request_id)
        .where(EventMeeting.event_id == event.id, MeetingRequest.status == "accepted",
               or_(and_(MeetingRequest.requester_org_id == requester_org_id,
                        MeetingRequest.recipient_org_id == recipient.id),
                   and_(MeetingRequest.requester_org_id == recipient.id,
                        MeetingRequest.recipient_org_id == requester_org_id))).limit(1))
    if planned is not None:
        return _("You already have a meeting with %(org)s at %(event)s.") % names
    return ""


def event_for_request(session: Session, user: User, recipient: Organization,
                      event_id: Any) -> tuple[Event | None, str]:
    """The event a request form is tied to (None if unknown) and why it cannot be ('' when it can)."""
    if event_id in (None, ""):
        return None, ""
    number = _parse_event_id(event_id)
    event = session.get(Event, number) if number is not None else None
    if event is not None and not event.is_published:
        event = None  # drafts stay unknown to members
    return event, _event_refusal(session, event, user.organization_id, recipient)


def add_event_meeting(session: Session, req: MeetingRequest) -> EventMeeting | None:
    """An accepted request made at an event waits, unplaced, for the event's timetable (not once it is over)."""
    event = session.get(Event, req.event_id) if req.event_id is not None else None
    if event is None or event.ends_at <= utcnow():
        return None
    meeting = EventMeeting(event_id=event.id, request_id=req.id, unplaced_reason="")
    session.add(meeting)
    session.flush()
    return meeting


def _record(session: Session, req: MeetingRequest, from_status: str | None, to_status: str,
            actor: User | None, note: str = "") -> None:
    session.add(MeetingRequestEvent(request_id=req.id, from_status=from_status, to_status=to_status,
                                    actor_user_id=actor.id if actor else None, note=note))
    session.flush()


def request_meeting(session: Session, settings, user: User, to_org_id: int, message: str,
                    topics: Any = None, event_id: Any = None) -> MeetingRequest:
    """Send a meeting request from the user's organization to another approved one (optionally at an event)."""
    target = check_can_request(session, user, to_org_id)
    _event, event_error = event_for_request(session, user, target, event_id)
    try:
        message, cleaned, event = validate_request_input(message, topics, event_id)
    except ValidationFailed as exc:
        if event_error:
            exc.field_errors.setdefault("event_id", event_error)
        raise
    if event_error:
        raise ValidationFailed(event_error, field_errors={"event_id": event_error})
    now = utcnow()
    req = MeetingRequest(requester_org_id=user.organization_id, recipient_org_id=target.id, requester_user_id=user.id,
                         message=message, topics=cleaned, event_id=event, status="pending",
                         open_pair_key=pair_key(user.organization_id, target.id), created_at=now,
                         expires_at=now + timedelta(days=settings.request_expiry_days))
    try:
        with session.begin_nested():
            session.add(req)
    except IntegrityError:
        # Another request for this pair was created at the same moment.
        raise RequestConflict(_("There is already an open request between your organizations."), code="request_exists")
    _record(session, req, None, "pending", user)
    notifications.notify_org(session, settings, target.id, "request_new", req)
    invitations.invite_for_request(session, settings, req, target)  # nobody answers for it yet: ask its contact
    return req


def get_request_for(session: Session, user: User, request_id: int) -> MeetingRequest:
    """A request the user may see (either party, or an organizer); 404 for anyone else."""
    req = session.get(MeetingRequest, request_id)
    if req is None or not (user.is_organizer or req.involves(user.organization_id)):
        raise NotFound(_("There is no such request."))
    return req


def _transition(session: Session, req: MeetingRequest, to_status: str, actor: User | None, note: str = "",
                *, now: datetime | None = None, **values: Any) -> bool:
    """Move a pending request with one conditional UPDATE: of two concurrent changes exactly one wins."""
    now = now or utcnow()
    due = MeetingRequest.expires_at <= now if to_status == "expired" else MeetingRequest.expires_at > now
    result = session.execute(
        update(MeetingRequest)
        .where(MeetingRequest.id == req.id, MeetingRequest.status == "pending", due)
        .values(status=to_status, open_pair_key=None, responded_at=now, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(req)
    if result.rowcount != 1:
        return False
    _record(session, req, "pending", to_status, actor, note)
    return True


def _respond(session: Session, user: User, request_id: int, side: str) -> MeetingRequest:
    req = get_request_for(session, user, request_id)
    org_id = req.recipient_org_id if side == "recipient" else req.requester_org_id
    if user.organization_id != org_id:
        if side == "recipient":
            raise Forbidden(_("Only the organization that received the request can answer it."))
        raise Forbidden(_("Only the organization that sent the request can cancel it."))
    return req


def _refuse_not_pending(req: MeetingRequest) -> None:
    if req.status == "pending":
        raise RequestConflict(_("This request has expired."), code="request_expired")
    raise RequestConflict(_("This request is no longer pending: %(status)s.") % {"status": status_label(req.status)},
                          code="request_not_pending")


def accept_meeting(session: Session, settings, user: User, request_id: int) -> MeetingRequest:
    """The recipient accepts: the two organizations are matched."""
    req = _respond(session, user, request_id, "recipient")
    if not _transition(session, req, "accepted", user):
        _refuse_not_pending(req)
    if req.event_id is not None:
        add_event_meeting(session, req)
    notifications.notify_org(session, settings, req.requester_org_id, "request_accepted", req)
    return req


def decline_meeting(session: Session, settings, user: User, request_id: int, reason: str = "") -> MeetingRequest:
    """The recipient declines, optionally with a reason the requester sees."""
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON:
        raise ValidationFailed(_("Keep the reason to 2,000 characters."),
                               field_errors={"reason": _("Keep the reason to 2,000 characters.")})
    req = _respond(session, user, request_id, "recipient")
    if not _transition(session, req, "declined", user, reason, decline_reason=reason):
        _refuse_not_pending(req)
    notifications.notify_org(session, settings, req.requester_org_id, "request_declined", req)
    return req


def cancel_meeting(session: Session, settings, user: User, request_id: int) -> MeetingRequest:
    """The requester withdraws a pending request."""
    req = _respond(session, user, request_id, "requester")
    if not _transition(session, req, "cancelled", user):
        _refuse_not_pending(req)
    notifications.notify_org(session, settings, req.recipient_org_id, "request_cancelled", req)
    return req


def expire_due_requests(session: Session, settings, now: datetime | None = None) -> int:
    """Expire pending requests past their date (scheduler); returns how many this call expired."""
    now = now or utcnow()
    ids = session.scalars(select(MeetingRequest.id).where(MeetingRequest.status == "pending",
                                                          MeetingRequest.expires_at <= now)).all()
    expired = 0
    for request_id in ids:
        req = session.get(MeetingRequest, request_id)
        if req is not None and _transition(session, req, "expired", None, now=now):
            expired += 1
            notifications.notify_org(session, settings, req.requester_org_id, "request_expired", req)
    return expired


def notify_expiring_requests(session: Session, settings, now: datetime | None = None) -> int:
    """Remind recipients of requests expiring within two days, once per request and user."""
    now = now or utcnow()
    reqs = session.scalars(select(MeetingRequest).where(
        MeetingRequest.status == "pending", MeetingRequest.expires_at > now,
        MeetingRequest.expires_at <= now + EXPIRING_WINDOW)).all()
    return sum(notifications.notify_org(session, settings, req.recipient_org_id, "request_expiring", req,
                                        dedupe_prefix=f"expiring:{req.id}") for req in reqs)


def feedback_pairs(session: Session) -> list[tuple[int, int, int]]:
    """(requester org, recipient org, label) for the matching engine: 1 accepted, 0 declined or expired."""
    rows = session.execute(select(MeetingRequest.requester_org_id, MeetingRequest.recipient_org_id,
                                  MeetingRequest.status)
                           .where(MeetingRequest.status.in_(("accepted", "declined", "expired")))
                           .order_by(MeetingRequest.id)).all()
    return [(requester, recipient, 1 if status == "accepted" else 0) for requester, recipient, status in rows]
