"""Notifications: in-app rows, per-user email preferences, and emails in the recipient's language."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import NOTIFICATION_KINDS, MeetingRequest, Notification, NotificationPreference, User
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
}
# In-app text; %(org)s is the organization on the other side.
KIND_TEXTS = {
    "request_new": N_("%(org)s sent you a meeting request."),
    "request_accepted": N_("%(org)s accepted your meeting request."),
    "request_declined": N_("%(org)s declined your meeting request."),
    "request_cancelled": N_("%(org)s withdrew its meeting request."),
    "request_expiring": N_("The meeting request from %(org)s expires soon."),
    "request_expired": N_("Your meeting request to %(org)s expired without an answer."),
    "message_new": N_("New message from %(org)s"),
}
SUBJECTS = {
    "request_new": N_("Meeting request from %(org)s"),
    "request_accepted": N_("%(org)s accepted your meeting request"),
    "request_declined": N_("%(org)s declined your meeting request"),
    "request_cancelled": N_("%(org)s withdrew its meeting request"),
    "request_expiring": N_("Reminder: the meeting request from %(org)s expires soon"),
    "request_expired": N_("Your meeting request to %(org)s expired"),
    "message_new": N_("New message from %(org)s"),
}


@lru_cache(maxsize=1)
def email_environment() -> Environment:
    """Plain-text email templates: no HTML escaping, gettext in the language set by use_language."""
    env = Environment(loader=FileSystemLoader(EMAIL_TEMPLATES_DIR), autoescape=False, undefined=StrictUndefined,
                      extensions=["jinja2.ext.i18n"], keep_trailing_newline=True)
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    return env


def kind_label(kind: str) -> str:
    return _(KIND_LABELS.get(kind, kind))


def link_for(kind: str, request_id: int | None) -> str:
    """Where a notification leads: the match thread, or the request list it belongs to."""
    if request_id is None:
        return "/notifications"
    if kind in ("request_accepted", "message_new"):
        return f"/matches/{request_id}"
    return f"/requests/{request_id}"


def other_org_name(req: MeetingRequest, viewer_org_id: int | None) -> str:
    return req.other_org(viewer_org_id).name


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


def render_email(settings, user: User, kind: str, req: MeetingRequest, extra: dict[str, Any] | None = None) -> tuple[str, str]:
    """(subject, body) in the recipient's language."""
    with i18n.use_language(user.language or settings.default_language):
        org = other_org_name(req, user.organization_id)
        context = {"user": user, "org": org, "request": req, "base_url": settings.base_url.rstrip("/"),
                   "link": settings.base_url.rstrip("/") + link_for(kind, req.id),
                   "settings_link": settings.base_url.rstrip("/") + "/notifications/settings"} | (extra or {})
        subject = _(SUBJECTS[kind]) % {"org": org}
        body = email_environment().get_template(f"{kind}.txt").render(context)
    return subject, body


def notify_user(session: Session, settings, user: User, kind: str, req: MeetingRequest,
                dedupe_key: str | None = None, extra: dict[str, Any] | None = None) -> bool:
    """One in-app notification and, unless switched off, one queued email; False if already notified."""
    note = Notification(user_id=user.id, kind=kind, request_id=req.id, dedupe_key=dedupe_key)
    try:
        with session.begin_nested():
            session.add(note)
    except IntegrityError:
        return False  # the unique dedupe key says this was done already (another run or process)
    if user.email and email_enabled(session, user.id, kind):
        subject, body = render_email(settings, user, kind, req, extra)
        outbox.enqueue_email(session, user.email, subject, body, user.language,
                             dedupe_key=dedupe_key or f"notification:{note.id}")
    return True


def notify_org(session: Session, settings, org_id: int, kind: str, req: MeetingRequest,
               dedupe_prefix: str | None = None, extra: dict[str, Any] | None = None,
               skip_user_id: int | None = None) -> int:
    """Notify every active user of an organization; returns how many were newly notified."""
    users = session.scalars(select(User).where(User.organization_id == org_id, User.is_active.is_(True))
                            .order_by(User.id)).all()
    count = 0
    for user in users:
        if user.id == skip_user_id:
            continue
        key = f"{dedupe_prefix}:user:{user.id}" if dedupe_prefix else None
        count += notify_user(session, settings, user, kind, req, key, extra)
    return count


def unread_count(session: Session, user: User) -> int:
    """Unread notifications of the user (the number in the navigation)."""
    return session.scalar(select(func.count()).select_from(Notification)
                          .where(Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def _describe(session: Session, user: User, notes: list[Notification]) -> list[dict[str, Any]]:
    ids = {note.request_id for note in notes if note.request_id}
    reqs = {req.id: req for req in session.scalars(select(MeetingRequest).where(MeetingRequest.id.in_(ids)))}
    items = []
    for note in notes:
        req = reqs.get(note.request_id)
        org = other_org_name(req, user.organization_id) if req else ""
        items.append({"id": note.id, "kind": note.kind, "read": note.read_at is not None,
                      "created_at": note.created_at, "text": _(KIND_TEXTS.get(note.kind, note.kind)) % {"org": org},
                      "link": link_for(note.kind, note.request_id)})
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
    query = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if request_id is not None:
        query = query.where(Notification.request_id == request_id)
    return session.execute(query.values(read_at=utcnow()).execution_options(synchronize_session=False)).rowcount or 0


def unread_count_for_request(request) -> int:
    """The navigation's unread count, read in a short session of its own when base.html asks for it."""
    user = getattr(request.state, "user", None)
    if user is None:
        return 0
    with request.app.state.session_factory() as session:
        return unread_count(session, user)
