"""Matching state: text embeddings by content, what each organization was embedded from, dismissed matches."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class TextEmbedding(Base):
    """One text's vector under one model, keyed by the text's hash: equal texts are embedded once."""

    __tablename__ = "text_embedding"

    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    dim: Mapped[int] = mapped_column(Integer)
    # float32 little-endian, dim values: the engine's own layout, read back without conversion.
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrganizationEmbedding(Base):
    """Which texts of an organization were last embedded under a model (a hash over all of them)."""

    __tablename__ = "organization_embedding"
    __table_args__ = (Index("ix_organization_embedding_model_embedded_at", "model", "embedded_at"),)

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    texts_hash: Mapped[str] = mapped_column(String(64))
    embedded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DismissedMatch(Base):
    """An organization a member organization marked "Not interested": left out of its recommendations."""

    __tablename__ = "dismissed_match"
    __table_args__ = (UniqueConstraint("organization_id", "dismissed_org_id", name="uq_dismissed_match_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    dismissed_org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
