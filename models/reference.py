"""Reference data: partner countries, technology taxonomy, sectors, JCM methodologies."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class Country(Base):
    """A country the platform knows; JCM partner countries carry their agreement data."""

    __tablename__ = "country"

    iso2: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    is_jcm_partner: Mapped[bool] = mapped_column(Boolean, default=False)
    jcm_signed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    registered_projects: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source: Mapped[str] = mapped_column(Text, default="")


class TechnologyCategory(Base):
    """A category of the platform's technology taxonomy (JCM sectors and technology-list areas)."""

    __tablename__ = "technology_category"

    slug: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(100))
    name_ja: Mapped[str] = mapped_column(String(100))
    group: Mapped[str] = mapped_column(String(20))
    # One of the five areas of the public-private platform's technology list (climate, waste_recycling, water,
    # soil, air): the catalogue's "area" facet. An area's own category is in its area.
    area: Mapped[str] = mapped_column(String(40), default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    description_ja: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(Text, default="")

    def name(self, language: str) -> str:
        """The category's name in the given UI language."""
        return self.name_ja if language == "ja" else self.name_en


class Sector(Base):
    """A sector of the controlled vocabulary that profiles choose from and the directory filters on."""

    __tablename__ = "sector"

    slug: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(100))
    name_ja: Mapped[str] = mapped_column(String(100))
    description_en: Mapped[str] = mapped_column(Text, default="")
    description_ja: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Other English names read as this sector on import ("Manufacturing" -> industry), separated by ";".
    aliases: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")


class CtcnTechnology(Base):
    """A technology of the UN CTCN taxonomy, mapped to one of our categories."""

    __tablename__ = "ctcn_technology"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area: Mapped[str] = mapped_column(String(100))
    sector: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(200))
    technology: Mapped[str] = mapped_column(String(300))
    category_slug: Mapped[str | None] = mapped_column(
        ForeignKey("technology_category.slug"), nullable=True, index=True
    )
    source: Mapped[str] = mapped_column(Text, default="")


class Methodology(Base):
    """A JCM methodology as listed by the JCM registry."""

    __tablename__ = "methodology"

    number: Mapped[str] = mapped_column(String(40), primary_key=True)
    proposed_number: Mapped[str] = mapped_column(String(40), default="")
    country_code: Mapped[str] = mapped_column(String(2), default="")
    sectoral_scope: Mapped[str] = mapped_column(String(100), default="")
    title: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(Text, default="")
    source_url: Mapped[str] = mapped_column(Text, default="")
