"""Notifications: in-app rows, per-user email preferences, and emails in the recipient's language."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    NOTIFICATION_KINDS,
    Event,
    MeetingRequest,
    Notification,
    NotificationPreference,
    Organization,
    User,
)
from models.base import utcnow
from web import i18n
from web.errors import NotFound
from web.i18n import N_, _
from web.services import outbox

EMAIL_TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates" / "email"
KIND_LABELS = {
    "request_new": N_("New meeting requests"),
    "request_accepted": N_("Accepted requests"),
    "request_declined": N_("Declined requests"),
    "request_cancelled": N_("Cancelled requests"),
    "request_expiring": N_("Requests about to expire"),
    "request_expired": N_("Expired requests"),
    "message_new": N_("New messages"),
    "event_registration_new": N_("Event registrations to review (organizers)"),
    "event_registration_approved": N_("Event registrations approved"),
    "event_registration_rejected": N_("Event registrations declined"),
    "event_reminder": N_("Reminders before an event"),
    "event_meeting_scheduled": N_("Meetings placed in an event timetable"),
    "event_meeting_moved": N_("Event meetings moved"),
    "event_meeting_cancelled": N_("Event meetings taken off the timetable"),
    "meeting_proposed": N_("Meeting times proposed"),
    "meeting_confirmed": N_("Meeting times confirmed"),
    "meeting_cancelled": N_("Meetings cancelled"),
    "meeting_reminder": N_("Reminders before a meeting"),
    "organization_applied": N_("New organizations to review (organizers)"),
    "organization_approved": N_("Your organization approved"),
    "organization_rejected": N_("Your organization's application rejected"),
    "organization_suspended": N_("Your organization suspended"),
    "technology_submitted": N_("Technologies to review (organizers)"),
    "technology_published": N_("Your technologies published"),
    "technology_unpublished": N_("Your technologies unpublished"),
    "technology_changes_declined": N_("Changes to your technologies not accepted"),
}
# In-app text; %(org)s is the organization on the other side, %(event)s the event's title.
KIND_TEXTS = {
    "request_new": N_("%(org)s sent you a meeting request."),
    "request_accepted": N_("%(org)s accepted your meeting request."),
    "request_declined": N_("%(org)s declined your meeting request."),
    "request_cancelled": N_("%(org)s withdrew its meeting request."),
    "request_expiring": N_("The meeting request from %(org)s expires soon."),
    "request_expired": N_("Your meeting request to %(org)s expired without an answer."),
    "message_new": N_("New message from %(org)s"),
    "event_registration_new": N_("%(org)s registered for %(event)s and waits for your approval."),
    "event_registration_approved": N_("Your registration for %(event)s is confirmed."),
    "event_registration_rejected": N_("Your registration for %(event)s was declined."),
    "event_reminder": N_("%(event)s starts soon."),
    "event_meeting_scheduled": N_("Your meeting with %(org)s at %(event)s has a time and a table."),
    "event_meeting_moved": N_("Your meeting with %(org)s at %(event)s has moved."),
    "event_meeting_cancelled": N_("Your meeting with %(org)s at %(event)s was taken off the timetable."),
    "meeting_proposed": N_("%(org)s proposed times for a meeting."),
    "meeting_confirmed": N_("%(org)s confirmed a meeting time."),
    "meeting_cancelled": N_("The meeting with %(org)s was cancelled."),
    "meeting_reminder": N_("Your meeting with %(org)s starts soon."),
    "organization_applied": N_("%(org)s signed up and waits for your review."),
    "organization_approved": N_("%(org)s is approved: Pre-Matching, requests and events are open to you."),
    "organization_rejected": N_("The application of %(org)s was rejected. Your profile shows the reason."),
    "organization_suspended": N_("%(org)s is suspended. Your profile shows the reason."),
    "technology_submitted": N_("%(org)s sent a technology, or changes to one, for review."),
    "technology_published": N_("A technology of %(org)s is published in the catalogue."),
    "technology_unpublished": N_("A technology of %(org)s is not published. Your technologies page shows the reason."),
    "technology_changes_declined": N_("Changes to a technology of %(org)s were not accepted. Your technologies page "
                                      "shows the reason."),
}
SUBJECTS = {
    "request_new": N_("Meeting request from %(org)s"),
    "request_accepted": N_("%(org)s accepted your meeting request"),
    "request_declined": N_("%(org)s declined your meeting request"),
    "request_cancelled": N_("%(org)s withdrew its meeting request"),
    "request_expiring": N_("Reminder: the meeting request from %(org)s expires soon"),
    "request_expired": N_("Your meeting request to %(org)s expired"),
    "message_new": N_("New message from %(org)s"),
    "event_registration_new": N_("New registration for %(event)s: %(org)s"),
    "event_registration_approved": N_("Registration confirmed: %(event)s"),
    "event_registration_rejected": N_("Registration declined: %(event)s"),
    "event_reminder": N_("Reminder: %(event)s"),
    "event_meeting_scheduled": N_("Your meeting with %(org)s at %(event)s"),
    "event_meeting_moved": N_("Moved: your meeting with %(org)s at %(event)s"),
    "event_meeting_cancelled": N_("Off the timetable: your meeting with %(org)s at %(event)s"),
    "meeting_proposed": N_("%(org)s proposed meeting times"),
    "meeting_confirmed": N_("Meeting confirmed with %(org)s"),
    "meeting_cancelled": N_("Meeting cancelled: %(org)s"),
    "meeting_reminder": N_("Reminder: meeting with %(org)s"),
    "organization_applied": N_("New organization to review: %(org)s"),
    "organization_approved": N_("Welcome: %(org)s is approved on JCM Matchmaker"),
    "organization_rejected": N_("Your application for %(org)s was not approved"),
    "organization_suspended": N_("%(org)s is suspended on JCM Matchmaker"),
    "technology_submitted": N_("Technology to review: %(org)s"),
    "technology_published": N_("Published in the technology catalogue: %(org)s"),
    "technology_unpublished": N_("Not published in the technology catalogue: %(org)s"),
    "technology_changes_declined": N_("Technology changes not accepted: %(org)s"),
}
# Kinds that open the match thread, the agenda, or the event's page; others open the request.
MATCH_KINDS = {"request_accepted", "message_new", "meeting_proposed", "meeting_cancelled"}
AGENDA_KINDS = {"event_meeting_scheduled", "event_meeting_moved", "meeting_confirmed", "meeting_reminder"}
# An organization's own status: the profile shows it (and the reason for a rejection or suspension).
ORGANIZATION_KINDS_TO_PROFILE = {"organization_approved", "organization_rejected", "organization_suspended"}
EVENT_KINDS = {"event_registration_approved", "event_registration_rejected", "event_reminder",
               "event_meeting_cancelled"}


@lru_cache(maxsize=1)
def email_environment() -> Environment:
    """Plain-text email templates: no HTML escaping, gettext in the language set by use_language."""
    env = Environment(loader=FileSystemLoader(EMAIL_TEMPLATES_DIR), autoescape=False, undefined=StrictUndefined,
                      extensions=["jinja2.ext.i18n"], keep_trailing_newline=True,
                      auto_reload=False)  # compiled once per process: no file check inside a write's lock
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    return env


def kind_label(kind: str) -> str:
    return _(KIND_LABELS.get(kind, kind))


def link_for(kind: str, request_id: int | None, event_id: int | None = None) -> str:
    """Where a notification leads: the match thread, the agenda, the event, or the request it belongs to."""
    if kind == "organization_applied":
        return "/organizer/applications"
    if kind == "technology_submitted":
        return "/organizer/technologies"
    if kind.startswith("technology_"):
        return "/technologies/mine"
    if kind in ORGANIZATION_KINDS_TO_PROFILE:
        return "/profile"
    if kind == "event_registration_new" and event_id is not None:
        return f"/events/{event_id}/registrations"
    if kind in AGENDA_KINDS:
        return "/agenda"
    if kind in EVENT_KINDS and event_id is not None:
        return f"/events/{event_id}"
    if request_id is None:
        return "/notifications"
    if kind in MATCH_KINDS:
        return f"/matches/{request_id}"
    return f"/requests/{request_id}"


def email_enabled(session: Session, user_id: int, kind: str) -> bool:
    """False when the user switched this kind of email off."""
    pref = session.get(NotificationPreference, user_id)
    return pref is None or kind not in (pref.email_off or [])


def email_preferences(session: Session, user: User) -> dict[str, bool]:
    """Kind -> email on, for the settings page."""
    return {kind: email_enabled(session, user.id, kind) for kind in NOTIFICATION_KINDS}


def set_email_preferences(session: Session, user: User, enabled: set[str]) -> dict[str, bool]:
    """Keep email on for the kinds given, off for the rest."""
    pref = session.get(NotificationPreference, user.id)
    if pref is None:
        pref = NotificationPreference(user_id=user.id, email_off=[])
        session.add(pref)
    pref.email_off = [kind for kind in NOTIFICATION_KINDS if kind not in enabled]
    session.flush()
    return email_preferences(session, user)


def _subject_names(user: User, req: MeetingRequest | None, event: Event | None,
                   org: Organization | None, language: str) -> dict[str, str]:
    """The %(org)s and %(event)s of a notification's text, in the reader's language."""
    if org is None and req is not None:
        org = req.other_org(user.organization_id)
    return {"org": org.name if org is not None else "", "event": event.title(language) if event is not None else ""}


def render_email(settings, user: User, kind: str, req: MeetingRequest | None, extra: dict[str, Any] | None = None,
                 *, event: Event | None = None, org: Organization | None = None) -> tuple[str, str]:
    """(subject, body) in the recipient's language; templates get request, event, org and the link."""
    language = user.language or settings.default_language
    with i18n.use_language(language):
        names = _subject_names(user, req, event, org, language)
        base = settings.base_url.rstrip("/")
        link = base + link_for(kind, req.id if req else None, event.id if event else None)
        context = {"user": user, "org": names["org"], "event_title": names["event"], "request": req, "event": event,
                   "base_url": base, "link": link, "settings_link": base + "/notifications/settings"} | (extra or {})
        subject = _(SUBJECTS[kind]) % names
        body = email_environment().get_template(f"{kind}.txt").render(context)
    return subject, body


def notify_user(session: Session, settings, user: User, kind: str, req: MeetingRequest | None,
                dedupe_key: str | None = None, extra: dict[str, Any] | None = None, *,
                event: Event | None = None, org: Organization | None = None) -> bool:
    """One in-app notification and, unless switched off, one queued email; False if already notified.

    `req` is the meeting request it is about (if any), `event` the event, `org` the organization on
    the other side when there is no request (it defaults to the request's other side).
    """
    note = Notification(user_id=user.id, kind=kind, request_id=req.id if req else None,
                        event_id=event.id if event else None, organization_id=org.id if org else None,
                        dedupe_key=dedupe_key)
    try:
        with session.begin_nested():
            session.add(note)
    except IntegrityError:
        return False  # the unique dedupe key says this was done already (another run or process)
    if user.email and email_enabled(session, user.id, kind):
        subject, body = render_email(settings, user, kind, req, extra, event=event, org=org)
        outbox.enqueue_email(session, user.email, subject, body, user.language,
                             dedupe_key=dedupe_key or f"notification:{note.id}")
    return True


def notify_users(session: Session, settings, users: list[User], kind: str, req: MeetingRequest | None,
                 dedupe_prefix: str | None = None, extra: dict[str, Any] | None = None,
                 skip_user_id: int | None = None, *, event: Event | None = None,
                 org: Organization | None = None) -> int:
    """Notify each user once (per dedupe prefix); returns how many were newly notified."""
    count = 0
    for user in users:
        if user.id == skip_user_id:
            continue
        key = f"{dedupe_prefix}:user:{user.id}" if dedupe_prefix else None
        count += notify_user(session, settings, user, kind, req, key, extra, event=event, org=org)
    return count


def notify_org(session: Session, settings, org_id: int, kind: str, req: MeetingRequest | None,
               dedupe_prefix: str | None = None, extra: dict[str, Any] | None = None,
               skip_user_id: int | None = None, *, event: Event | None = None,
               org: Organization | None = None) -> int:
    """Notify every active user of an organization; returns how many were newly notified."""
    users = session.scalars(select(User).where(User.organization_id == org_id, User.is_active.is_(True))
                            .order_by(User.id)).all()
    return notify_users(session, settings, list(users), kind, req, dedupe_prefix, extra, skip_user_id,
                        event=event, org=org)


def notify_organizers(session: Session, settings, kind: str, dedupe_prefix: str | None = None, *,
                      event: Event | None = None, org: Organization | None = None,
                      extra: dict[str, Any] | None = None) -> int:
    """Notify every active organizer (new registrations to review, say)."""
    users = session.scalars(select(User).where(User.role == "organizer", User.is_active.is_(True))
                            .order_by(User.id)).all()
    return notify_users(session, settings, list(users), kind, None, dedupe_prefix, extra, event=event, org=org)


# Built once: every page runs it (building the statement took longer than SQLite took to answer it).
_UNREAD_COUNT = (select(func.count()).select_from(Notification)
                 .where(Notification.user_id == bindparam("user_id"), Notification.read_at.is_(None)))


def unread_count(session: Session, user: User) -> int:
    """Unread notifications of the user (the number in the navigation)."""
    return session.scalar(_UNREAD_COUNT, {"user_id": user.id}) or 0


def _describe(session: Session, user: User, notes: list[Notification]) -> list[dict[str, Any]]:
    def rows(model, ids):
        ids = {i for i in ids if i}
        return {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))} if ids else {}

    reqs = rows(MeetingRequest, (note.request_id for note in notes))
    events = rows(Event, (note.event_id for note in notes))
    orgs = rows(Organization, (note.organization_id for note in notes))
    language = i18n.current_language()
    items = []
    for note in notes:
        names = _subject_names(user, reqs.get(note.request_id), events.get(note.event_id),
                               orgs.get(note.organization_id), language)
        items.append({"id": note.id, "kind": note.kind, "read": note.read_at is not None,
                      "created_at": note.created_at, "text": _(KIND_TEXTS.get(note.kind, note.kind)) % names,
                      "link": link_for(note.kind, note.request_id, note.event_id)})
    return items


def list_notifications(session: Session, user: User, limit: int = 100) -> list[dict[str, Any]]:
    """The user's latest notifications with their text and link."""
    notes = session.scalars(select(Notification).where(Notification.user_id == user.id)
                            .order_by(Notification.id.desc()).limit(limit)).all()
    return _describe(session, user, list(notes))


def mark_read(session: Session, user: User, notification_id: int) -> dict[str, Any]:
    """Mark one of the user's notifications read and describe it; 404 for anyone else's."""
    note = session.get(Notification, notification_id)
    if note is None or note.user_id != user.id:
        raise NotFound(_("There is no such notification."))
    if note.read_at is None:
        note.read_at = utcnow()
        session.flush()
    return _describe(session, user, [note])[0]


def mark_all_read(session: Session, user: User, request_id: int | None = None) -> int:
    """Mark the user's unread notifications read (all, or those of one request)."""
    conditions = [Notification.user_id == user.id, Notification.read_at.is_(None)]
    if request_id is not None:
        conditions.append(Notification.request_id == request_id)
    # Pages call this on every view: an UPDATE of nothing still waits for SQLite's one write lock, a read does not.
    if session.scalar(select(Notification.id).where(*conditions).limit(1)) is None:
        return 0
    query = update(Notification).where(*conditions)
    return session.execute(query.values(read_at=utcnow()).execution_options(synchronize_session=False)).rowcount or 0
