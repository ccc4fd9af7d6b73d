"""Message threads of matches (accepted requests), with a last-read mark per user."""

from __future__ import annotations

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.orm import Session, joinedload, lazyload

from models import MeetingMessage, MeetingRequest, Organization, ThreadRead, User
from models.base import utcnow
from models.session import insert_for
from web.errors import Forbidden, NotFound, ValidationFailed
from web.i18n import _
from web.services import notifications
from web.services.requests import get_request_for

MAX_BODY = 5000


def get_match_for(session: Session, user: User, request_id: int) -> MeetingRequest:
    """An accepted request the user may see (either party or an organizer); 404 otherwise."""
    req = get_request_for(session, user, request_id)
    if req.status != "accepted":
        raise NotFound(_("There is no such match."))
    return req


# A thread shows each message's author and organization by name. Loaded whole, every message row carried both
# organizations' profiles (the author's own and the user's, JSON lists decoded per row) for a name: most of the
# thread page's query time with 30 messages. Anything else is still there when asked for (loaded then).
_THREAD = (
    select(MeetingMessage).where(MeetingMessage.request_id == bindparam("request_id")).order_by(MeetingMessage.id)
    .options(joinedload(MeetingMessage.author_org).load_only(Organization.name, Organization.status),
             joinedload(MeetingMessage.author_user).load_only(User.full_name).options(lazyload(User.organization)))
)


def list_messages(session: Session, req: MeetingRequest) -> list[MeetingMessage]:
    """The thread, oldest first (newest at the bottom)."""
    return list(session.scalars(_THREAD, {"request_id": req.id}))


def last_read_id(session: Session, user: User, req: MeetingRequest) -> int:
    """The last message id the user has seen in the thread (0 if none)."""
    mark = session.get(ThreadRead, (user.id, req.id))
    return mark.last_read_message_id if mark else 0


def mark_thread_read(session: Session, user: User, req: MeetingRequest, message_id: int | None = None) -> None:
    """Move the user's read mark to the given (or the latest) message; it never moves back."""
    if message_id is None:
        message_id = session.scalar(select(func.max(MeetingMessage.id))
                                    .where(MeetingMessage.request_id == req.id)) or 0
    # One upsert: two first views at once (two tabs, a prefetch) both insert, and the second used to fail.
    insert = insert_for(session, ThreadRead).values(user_id=user.id, request_id=req.id,
                                                    last_read_message_id=message_id, updated_at=utcnow())
    current = ThreadRead.last_read_message_id
    session.execute(insert.on_conflict_do_update(
        index_elements=[ThreadRead.user_id, ThreadRead.request_id],
        set_={"last_read_message_id": case((insert.excluded.last_read_message_id > current,
                                            insert.excluded.last_read_message_id), else_=current),
              "updated_at": insert.excluded.updated_at}))
    loaded = session.identity_map.get(session.identity_key(ThreadRead, (user.id, req.id)))
    if loaded is not None:
        session.expire(loaded)  # read again when next asked


# Built once, with the thread ids as one expanding parameter: the tabs ask on every view, and building the
# statement and its cache key each time (a new one per number of threads) cost more than running it.
_UNREAD_COUNTS = (
    select(MeetingMessage.request_id, func.count())
    .where(MeetingMessage.request_id.in_(bindparam("request_ids", expanding=True)),
           MeetingMessage.author_org_id != bindparam("org_id"),
           MeetingMessage.id > func.coalesce(
               select(ThreadRead.last_read_message_id)
               .where(ThreadRead.user_id == bindparam("user_id"), ThreadRead.request_id == MeetingMessage.request_id)
               .scalar_subquery(), 0))
    .group_by(MeetingMessage.request_id)
)


def unread_counts(session: Session, user: User, request_ids: list[int]) -> dict[int, int]:
    """Messages from others after the user's read mark, per thread."""
    if not request_ids:
        return {}
    params = {"request_ids": list(request_ids), "org_id": user.organization_id or 0, "user_id": user.id}
    return dict(session.execute(_UNREAD_COUNTS, params).all())


def post_message(session: Session, settings, user: User, request_id: int, body: str) -> MeetingMessage:
    """Add a message to a match's thread and notify the other organization."""
    req = get_match_for(session, user, request_id)
    if not req.involves(user.organization_id):
        raise Forbidden(_("Only the two matched organizations can write in this thread."))
    body = (body or "").strip()
    if not body:
        raise ValidationFailed(_("Write a message first."), field_errors={"body": _("Write a message first.")})
    if len(body) > MAX_BODY:
        raise ValidationFailed(_("Keep a message to 5,000 characters."),
                               field_errors={"body": _("Keep a message to 5,000 characters.")})
    message = MeetingMessage(request_id=req.id, author_user_id=user.id, author_org_id=user.organization_id, body=body)
    session.add(message)
    session.flush()
    mark_thread_read(session, user, req, message.id)
    other = req.other_org(user.organization_id)
    notifications.notify_org(session, settings, other.id, "message_new", req, dedupe_prefix=f"message:{message.id}",
                             extra={"message": message, "author": user})
    return message
