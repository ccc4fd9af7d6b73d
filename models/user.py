"""Users, their login sessions, emailed single-use tokens and login throttling."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow
from models.organization import Organization

USER_ROLES = ("member", "organizer")


class User(Base):
    """A person who logs in; members belong to an organization."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    full_name: Mapped[str] = mapped_column(String(200), default="")
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="SET NULL"), nullable=True, index=True
    )
    role: Mapped[str] = mapped_column(String(20), default="member")
    language: Mapped[str] = mapped_column(String(5), default="en")
    time_zone: Mapped[str] = mapped_column(String(64), default="Asia/Tokyo")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Set when the owner of the address opened an emailed link; a sign-up cannot log in before that. Accounts made
    # by organizers, the command line or seeds are trusted and start confirmed.
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, default=utcnow)

    organization: Mapped[Organization | None] = relationship(back_populates="users", lazy="joined")

    @property
    def is_organizer(self) -> bool:
        return self.role == "organizer"


TOKEN_PURPOSES = ("reset", "confirm")


class PasswordResetToken(Base):
    """A single-use emailed token (reset a password, or confirm a sign-up's address); only its hash is stored."""

    __tablename__ = "password_reset_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(20), default="reset")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UserSession(Base):
    """A login: the signed cookie carries a random id whose hash is looked up here on every request.

    Deleting the row ends the login wherever the cookie is (logout, "log out everywhere", a new password, an
    organizer suspending the organization).
    """

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    client_ip: Mapped[str] = mapped_column(String(64), default="")

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)


class LoginThrottle(Base):
    """Failed logins counted per (email, client address), and per address alone (email "")."""

    __tablename__ = "login_throttle"
    __table_args__ = (UniqueConstraint("email", "client_ip"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    client_ip: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
