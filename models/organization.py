"""Organizations: the members of the platform, on either side of the market."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow

ORGANIZATION_KINDS = (
    "japanese_company",
    "partner_company",
    "financial_institution",
    "consultant",
    "public_body",
)
ORGANIZATION_STATUSES = ("pending", "approved", "rejected", "suspended")
# List fields stored as JSON on the row and indexed in organization_tag for filtering.
TAGGED_FIELDS = ("technology_categories", "target_countries", "sectors")


class Organization(Base):
    """A member organization and its profile."""

    __tablename__ = "organization"
    # Lists ordered by name read this index in order (and skip to a page) without sorting the table; the
    # pages' caches ask max(updated_at) to know whether anything changed: one index probe each.
    __table_args__ = (
        Index("ix_organization_status_name", "status", "name", "id"),
        Index("ix_organization_status_country_name", "status", "country", "name", "id"),
        Index("ix_organization_status_kind_name", "status", "kind", "name", "id"),
        # Pre-Matching asks on every view whether approved organizations changed (count, newest updated_at): read
        # from this index alone instead of 100,000 table rows (250 ms at 100k).
        Index("ix_organization_status_updated_at", "status", "updated_at"),
        # The organizer's reviewed tabs, latest review first (web.services.applications): one page of this index.
        Index("ix_organization_status_reviewed_at", "status", "reviewed_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True, nullable=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30), index=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    offers: Mapped[list[str]] = mapped_column(JSON, default=list)
    needs: Mapped[list[str]] = mapped_column(JSON, default=list)
    sectors: Mapped[list[str]] = mapped_column(JSON, default=list)
    technology_categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    target_countries: Mapped[list[str]] = mapped_column(JSON, default=list)
    website: Mapped[str] = mapped_column(String(500), default="")
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(320), default="")
    contact_phone: Mapped[str] = mapped_column(String(50), default="")
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(Text, default="")
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    # Loaded when used (saving a profile, an import): pages filter on tags in SQL and never need them loaded, and
    # every request loads the user's organization.
    tags: Mapped[list[OrganizationTag]] = relationship(back_populates="organization", cascade="all, delete-orphan")
    users: Mapped[list["User"]] = relationship(back_populates="organization")  # noqa: F821

    @property
    def is_approved(self) -> bool:
        return self.status == "approved"


class OrganizationTag(Base):
    """One value of a list field (category, target country, sector), for filtering in SQL."""

    __tablename__ = "organization_tag"
    # (field, value): the organizations with a tag; (organization_id, field, value): whether one has it, answered
    # from the index alone (the directory asks it of every organization it walks past).
    __table_args__ = (Index("ix_organization_tag_field_value", "field", "value"),
                      Index("ix_organization_tag_org_field_value", "organization_id", "field", "value"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(30))
    value: Mapped[str] = mapped_column(String(200))

    organization: Mapped[Organization] = relationship(back_populates="tags")


# The directory's trigram search index, made by migration 0013 outside the models: an FTS5 table with its shadow
# tables on SQLite, a GIN index on PostgreSQL. Schema comparisons (Alembic autogenerate, tests) leave them out.
SEARCH_INDEX_OBJECTS = ("organization_search", "ix_organization_search_text_trgm")


def compared_in_schema(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's include_object: False for the search index's database objects, which no model describes."""
    return not (reflected and compare_to is None and bool(name) and name.startswith(SEARCH_INDEX_OBJECTS))
