"""In-app notifications, per-user email preferences, and the email outbox."""

from __future__ import annotations

from datetime import datetime
from email.utils import make_msgid

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow

MESSAGE_ID_DOMAIN = "jcm-matchmaker"

NOTIFICATION_KINDS = (
    "request_new",
    "request_accepted",
    "request_declined",
    "request_cancelled",
    "request_expiring",
    "request_expired",
    "message_new",
    # Events: registrations, the timetable and meetings (at events and arranged outside them).
    "event_registration_new",
    "event_registration_approved",
    "event_registration_rejected",
    "event_reminder",
    "event_meeting_scheduled",
    "event_meeting_moved",
    "event_meeting_cancelled",
    "meeting_proposed",
    "meeting_confirmed",
    "meeting_cancelled",
    "meeting_reminder",
    # Onboarding: an organization applies (to organizers) and hears the organizers' decision.
    "organization_applied",
    "organization_approved",
    "organization_rejected",
    "organization_suspended",
    # The technology catalogue: a technology (or changes to its public text) to review, and the decision.
    "technology_submitted",
    "technology_published",
    "technology_unpublished",
    "technology_changes_declined",
)
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed")


class Notification(Base):
    """Something a user should see: unread until read_at is set."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("meeting_request.id", ondelete="CASCADE"), nullable=True, index=True
    )
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("event.id", ondelete="CASCADE"), nullable=True, index=True
    )
    # The organization the notification is about when there is no request (a registration, say).
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), nullable=True
    )
    # Unique so a job that runs twice (or in two processes) cannot notify twice, e.g. "expiring:12:user:3".
    dedupe_key: Mapped[str | None] = mapped_column(String(120), nullable=True, unique=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class NotificationPreference(Base):
    """A user's email choices: the notification kinds they do not want by email."""

    __tablename__ = "notification_preference"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    email_off: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


def new_message_id() -> str:
    """A globally unique Message-ID header value, such as <1700000000.123.456@jcm-matchmaker>."""
    return make_msgid(domain=MESSAGE_ID_DOMAIN)


class OutboxEmail(Base):
    """An email waiting to be sent (or sent): the scheduled sender claims, sends and retries it."""

    __tablename__ = "email_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(5), default="en")
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(120), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Made once when queued and sent with every attempt: a retry of a mail that may have gone out
    # carries the same Message-ID, so mail clients show it once.
    message_id: Mapped[str] = mapped_column(String(250), unique=True, default=new_message_id)
    # The body holds a secret (a reset link): it is replaced by a note once delivered or given up.
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
