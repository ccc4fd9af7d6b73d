"""Seminar events, their registrations and availability, the timetable of event meetings, and
meetings the two sides of a match arrange themselves outside events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow
from models.meeting import MeetingRequest
from models.organization import Organization

EVENT_STATUSES = ("draft", "published")
REGISTRATION_STATUSES = ("pending", "approved", "rejected", "withdrawn")
# Registrations that hold a place against the event's capacity.
HOLDING_STATUSES = ("pending", "approved")
PROPOSAL_STATUSES = ("open", "confirmed", "declined", "withdrawn", "cancelled")


class Event(Base):
    """A seminar on one day with pre-arranged one-to-one meetings in fixed slots.

    Times are stored in UTC; `time_zone` is the event's IANA zone, in which the organizer entered
    them and in which they are shown beside the viewer's own zone.
    """

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title_en: Mapped[str] = mapped_column(String(200))
    title_ja: Mapped[str] = mapped_column(String(200), default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    description_ja: Mapped[str] = mapped_column(Text, default="")
    venue: Mapped[str] = mapped_column(String(300), default="")
    online_url: Mapped[str] = mapped_column(String(500), default="")
    time_zone: Mapped[str] = mapped_column(String(64))
    # Opening and closing of the meeting day; slots of meeting_minutes fill it, skipping the breaks.
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    meeting_minutes: Mapped[int] = mapped_column(Integer, default=20)
    # Meeting tables per slot; None means an online event with no table limit.
    table_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    registration_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    # Organizations that may register (pending and approved registrations hold a place).
    capacity: Mapped[int] = mapped_column(Integer)
    # Places held now; changed only by conditional UPDATEs so two last-place registrations cannot both win.
    places_taken: Mapped[int] = mapped_column(Integer, default=0)
    auto_approve: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Set when the organizer first publishes the timetable; participants see only published placements.
    timetable_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    breaks: Mapped[list[EventBreak]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="EventBreak.starts_at", lazy="selectin"
    )

    @property
    def is_published(self) -> bool:
        return self.status == "published"

    @property
    def is_online_only(self) -> bool:
        return self.table_count is None

    def title(self, language: str) -> str:
        """The title in a language, English when there is no Japanese one."""
        return self.title_ja if language == "ja" and self.title_ja else self.title_en

    def description(self, language: str) -> str:
        return self.description_ja if language == "ja" and self.description_ja else self.description_en


class EventBreak(Base):
    """A pause in the meeting day (lunch, the plenary talks): no slot overlaps it."""

    __tablename__ = "event_break"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    label: Mapped[str] = mapped_column(String(100), default="")

    event: Mapped[Event] = relationship(back_populates="breaks")


class EventRegistration(Base):
    """An organization's registration for an event: pending -> approved | rejected; withdrawn by the member."""

    __tablename__ = "event_registration"
    __table_args__ = (UniqueConstraint("event_id", "organization_id", name="uq_event_registration_event_org"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    registered_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    # The organizer's reason when rejecting, shown to the member.
    status_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    event: Mapped[Event] = relationship(lazy="joined")
    organization: Mapped[Organization] = relationship(lazy="joined")
    attendees: Mapped[list[EventAttendee]] = relationship(
        back_populates="registration", cascade="all, delete-orphan", order_by="EventAttendee.id", lazy="selectin"
    )
    unavailable_slots: Mapped[list[EventUnavailableSlot]] = relationship(
        back_populates="registration", cascade="all, delete-orphan", lazy="selectin"
    )


class EventAttendee(Base):
    """A person who attends the event for a registered organization."""

    __tablename__ = "event_attendee"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("event_registration.id", ondelete="CASCADE"), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    job_title: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), default="")

    registration: Mapped[EventRegistration] = relationship(back_populates="attendees")


class EventUnavailableSlot(Base):
    """A slot (by its start) in which a registered organization cannot meet; every other slot is available."""

    __tablename__ = "event_unavailable_slot"

    registration_id: Mapped[int] = mapped_column(
        ForeignKey("event_registration.id", ondelete="CASCADE"), primary_key=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)

    registration: Mapped[EventRegistration] = relationship(back_populates="unavailable_slots")


class EventMeeting(Base):
    """An accepted meeting request at an event, waiting for or placed in a slot and at a table.

    `starts_at`/`table_number` are the organizer's working timetable; `published_*` is what the
    participants see, copied over when the organizer publishes, which bumps `sequence` (the
    calendar files' SEQUENCE) for every meeting that changed.
    """

    __tablename__ = "event_meeting"
    __table_args__ = (
        # No table used twice in a slot (online events have no tables: NULLs never collide).
        UniqueConstraint("event_id", "starts_at", "table_number", name="uq_event_meeting_table_slot"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("meeting_request.id", ondelete="CASCADE"), unique=True)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    table_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Placed by hand: the automatic timetable keeps it where it is while it stays possible.
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    # Why the last timetable run could not place it (a code the page translates), '' when placed.
    unplaced_reason: Mapped[str] = mapped_column(String(40), default="")
    published_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    published_table_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    event: Mapped[Event] = relationship()
    request: Mapped[MeetingRequest] = relationship(lazy="joined")
    seats: Mapped[list[EventMeetingSeat]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def is_published(self) -> bool:
        return self.published_starts_at is not None

    @property
    def has_unpublished_change(self) -> bool:
        return (self.starts_at, self.table_number) != (self.published_starts_at, self.published_table_number)


class EventMeetingSeat(Base):
    """One organization's seat in a placed meeting: unique per slot, so no one is in two meetings at once."""

    __tablename__ = "event_meeting_seat"
    __table_args__ = (
        UniqueConstraint("event_id", "starts_at", "organization_id", name="uq_event_meeting_seat_org_slot"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("event_meeting.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)

    meeting: Mapped[EventMeeting] = relationship(back_populates="seats")


class MeetingProposal(Base):
    """Up to three times (with a place or an online link) proposed by one side of a match; the other confirms one."""

    __tablename__ = "meeting_proposal"
    __table_args__ = (Index("ix_meeting_proposal_request_status", "request_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("meeting_request.id", ondelete="CASCADE"))
    proposed_by_org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    proposed_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    # Set while open or confirmed: one live proposal per match (a unique key, so two at once cannot both land).
    active_key: Mapped[int | None] = mapped_column(Integer, nullable=True, unique=True)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    message: Mapped[str] = mapped_column(Text, default="")
    # The proposer's zone when proposing: the meeting's own zone, shown beside the viewer's.
    time_zone: Mapped[str] = mapped_column(String(64))
    confirmed_option_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # req.proposals (oldest first) lets the match page show them from the request it already has; the
    # database deletes them with the request (passive_deletes).
    request: Mapped[MeetingRequest] = relationship(
        lazy="joined",
        backref=backref("proposals", order_by="MeetingProposal.id", lazy="select", passive_deletes=True),
    )
    options: Mapped[list[MeetingProposalOption]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="MeetingProposalOption.starts_at",
        lazy="selectin",
    )

    @property
    def confirmed_option(self) -> MeetingProposalOption | None:
        return next((o for o in self.options if o.id == self.confirmed_option_id), None)

    @property
    def is_live(self) -> bool:
        """Open or confirmed and still holding the match's one place for a proposal."""
        return self.active_key is not None


class MeetingProposalOption(Base):
    """One proposed time: start, end, and a place or an online link (or both)."""

    __tablename__ = "meeting_proposal_option"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("meeting_proposal.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    location: Mapped[str] = mapped_column(String(300), default="")
    online_url: Mapped[str] = mapped_column(String(500), default="")

    proposal: Mapped[MeetingProposal] = relationship(back_populates="options")

    @property
    def has_started(self) -> bool:
        return self.starts_at <= utcnow()

    @property
    def has_ended(self) -> bool:
        return self.ends_at <= utcnow()


class CalendarFeed(Base):
    """A user's private calendar subscription: the nonce is signed into the link; a new nonce revokes the old link."""

    __tablename__ = "calendar_feed"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
