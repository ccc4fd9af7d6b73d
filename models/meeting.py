"""Meeting requests between organizations, their history, and the message threads of matches."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow
from models.organization import Organization
from models.user import User

MEETING_STATUSES = ("pending", "accepted", "declined", "cancelled", "expired")


def pair_key(org_a: int, org_b: int) -> str:
    """The same key for a pair of organizations in either direction."""
    low, high = sorted((org_a, org_b))
    return f"{low}:{high}"


class MeetingRequest(Base):
    """One organization asks another for a meeting: pending -> accepted | declined | cancelled | expired."""

    __tablename__ = "meeting_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    requester_org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    recipient_org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    requester_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    message: Mapped[str] = mapped_column(Text)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    # A request made at an event: once accepted it waits for a place in the event's timetable.
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id", ondelete="SET NULL"), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    decline_reason: Mapped[str] = mapped_column(Text, default="")
    # Set only while pending; the unique constraint keeps one open request per pair, whoever asked.
    open_pair_key: Mapped[str | None] = mapped_column(String(50), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    requester_org: Mapped[Organization] = relationship(foreign_keys=[requester_org_id], lazy="joined")
    recipient_org: Mapped[Organization] = relationship(foreign_keys=[recipient_org_id], lazy="joined")
    requester_user: Mapped[User | None] = relationship(foreign_keys=[requester_user_id])
    events: Mapped[list[MeetingRequestEvent]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="MeetingRequestEvent.id"
    )

    def other_org(self, org_id: int | None) -> Organization:
        """The organization on the other side from org_id."""
        return self.recipient_org if org_id == self.requester_org_id else self.requester_org

    def involves(self, org_id: int | None) -> bool:
        return org_id is not None and org_id in (self.requester_org_id, self.recipient_org_id)


class MeetingRequestEvent(Base):
    """One status change of a request, kept for the record and for the matching engine's feedback."""

    __tablename__ = "meeting_request_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("meeting_request.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_status: Mapped[str] = mapped_column(String(20))
    # Null when the scheduler made the change (expiry).
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[MeetingRequest] = relationship(back_populates="events")


class MeetingMessage(Base):
    """A message in the thread of an accepted request."""

    __tablename__ = "meeting_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("meeting_request.id", ondelete="CASCADE"), index=True)
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"),
                                                       nullable=True)
    author_org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author_user: Mapped[User | None] = relationship(lazy="joined")
    author_org: Mapped[Organization] = relationship(lazy="joined")


class ThreadRead(Base):
    """How far a user has read a thread: the last message id seen."""

    __tablename__ = "meeting_thread_read"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("meeting_request.id", ondelete="CASCADE"), primary_key=True)
    last_read_message_id: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
