"""The technology catalogue: technologies registered by organizations, their track record, and the JCM
financing reference data the pre-check reads (adopted projects per country and sector, subsidy-rate steps,
guideline values)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow

# pending: waiting for an organizer; published: public; unpublished: taken off (or never put) public, with a reason.
TECHNOLOGY_STATUSES = ("pending", "published", "unpublished")
# What the figures (GHG reduction, investment, savings) are counted per.
FIGURE_BASES = ("unit", "site", "project")


class Technology(Base):
    """One technology an organization offers, as the catalogue shows it."""

    __tablename__ = "technology"
    # The catalogue reads published rows; the owner's list reads by organization; the caches ask max(updated_at).
    __table_args__ = (Index("ix_technology_status_category", "status", "category"),
                      Index("ix_technology_organization_status", "organization_id", "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    status_reason: Mapped[str] = mapped_column(Text, default="")
    name: Mapped[str] = mapped_column(String(200))
    name_ja: Mapped[str] = mapped_column(String(200), default="")
    category: Mapped[str] = mapped_column(ForeignKey("technology_category.slug"))
    description: Mapped[str] = mapped_column(Text, default="")
    description_ja: Mapped[str] = mapped_column(Text, default="")
    products: Mapped[list[str]] = mapped_column(JSON, default=list)
    ghg_reduction_t: Mapped[float | None] = mapped_column(Float, nullable=True)
    figures_basis: Mapped[str] = mapped_column(String(20), default="")
    investment_jpy: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    annual_savings_jpy: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    durable_years: Mapped[int | None] = mapped_column(Integer, nullable=True)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    image_key: Mapped[str | None] = mapped_column(String(40), nullable=True)
    image_width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    image_height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Public text (and image) an owner changed on a published technology: public only once an organizer accepts it.
    pending_changes: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    # Why the last changes were not accepted (the owner reads it); cleared by the next accepted review.
    review_note: Mapped[str] = mapped_column(Text, default="")
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    organization: Mapped["Organization"] = relationship()  # noqa: F821
    track_records: Mapped[list[TechnologyTrackRecord]] = relationship(
        back_populates="technology", cascade="all, delete-orphan", order_by="TechnologyTrackRecord.position")

    @property
    def is_published(self) -> bool:
        return self.status == "published"


class TechnologyTrackRecord(Base):
    """Where and when the technology was installed; a JCM project and its methodology where it was one."""

    __tablename__ = "technology_track_record"
    __table_args__ = (Index("ix_technology_track_record_technology_position", "technology_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    technology_id: Mapped[int] = mapped_column(ForeignKey("technology.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    country: Mapped[str] = mapped_column(String(2))
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    description: Mapped[str] = mapped_column(String(300), default="")
    jcm_project: Mapped[str] = mapped_column(String(200), default="")
    methodology: Mapped[str | None] = mapped_column(ForeignKey("methodology.number"), nullable=True)

    technology: Mapped[Technology] = relationship(back_populates="track_records")

    @property
    def is_jcm(self) -> bool:
        return bool(self.jcm_project or self.methodology)


class JcmProjectCount(Base):
    """JCM projects in the registry per partner country and registry sector (reference data, with its source)."""

    __tablename__ = "jcm_project_count"

    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    registry_sector: Mapped[str] = mapped_column(String(60), primary_key=True)
    projects: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text, default="")


class JcmRegistrySector(Base):
    """A JCM registry sector and the technology category it belongs to (the pre-check's 'similar technologies')."""

    __tablename__ = "jcm_registry_sector"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    category: Mapped[str] = mapped_column(ForeignKey("technology_category.slug"))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(Text, default="")


class JcmSubsidyRule(Base):
    """A value of the MOEJ JCM model project rules: a subsidy-rate step by similar projects, or a guideline."""

    __tablename__ = "jcm_subsidy_rule"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # rate_step or guideline
    similar_from: Mapped[int | None] = mapped_column(Integer, nullable=True)
    similar_to: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: and more
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(30), default="")
    source: Mapped[str] = mapped_column(Text, default="")
