"""The sector vocabulary: the controlled, translated list that profiles choose from and the directory filters on.

Sectors come from seeds/data/sectors.csv (the sectors of the UNEP-CCC Article 6 Pipeline, plus water supply),
loaded into the `sector` table by the seed. Profiles store slugs. Anything a file or an older profile says is read
through the vocabulary: a slug, an English or Japanese name or another name of a sector, in any case, is that
sector; "other: <text>" keeps a sector outside the list, shown to its organization and organizers only and never
a filter option. Migration 0011 turned the free-text sectors of before into this form.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Sector as SectorRow
from web.services import catalogs

OTHER_PREFIX = "other:"


def key_of(text: str) -> str:
    """How names are compared: Unicode-normalised (full-width letters), case-folded, spaces collapsed, _ as space."""
    return " ".join(unicodedata.normalize("NFKC", text).replace("_", " ").casefold().split())


def is_other(value: str) -> bool:
    """Whether a stored value is a sector outside the vocabulary ("other: <text>")."""
    return value[:len(OTHER_PREFIX)].casefold() == OTHER_PREFIX


def other_text(value: str) -> str:
    """The text of an "other: <text>" value."""
    return value[len(OTHER_PREFIX):].strip()


def other_value(text: str) -> str:
    """The stored form of a sector outside the vocabulary."""
    return f"{OTHER_PREFIX} {text.strip()}"


def public_values(values: Iterable[str]) -> list[str]:
    """The values others may see and filter on: the vocabulary's slugs, not "other: <text>"."""
    return [value for value in values or [] if not is_other(value)]


@dataclass(frozen=True)
class Sector:
    """A sector as pages show it (a plain value, shared between requests and threads)."""

    slug: str
    name_en: str
    name_ja: str
    description_en: str = ""
    description_ja: str = ""
    aliases: tuple[str, ...] = ()

    def name(self, language: str) -> str:
        """The sector's name in the given UI language."""
        return self.name_ja if language == "ja" else self.name_en

    def description(self, language: str) -> str:
        return self.description_ja if language == "ja" else self.description_en


@dataclass
class Cleaned:
    """Values read through the vocabulary: what to store, what is unknown, what was read under another name."""

    values: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Vocabulary:
    """The sectors in display order, with every name they are known by."""

    sectors: tuple[Sector, ...]

    def __post_init__(self) -> None:
        names: dict[str, str] = {}
        aliases: dict[str, str] = {}
        for sector in self.sectors:
            for name in (sector.slug, sector.name_en, sector.name_ja):
                names.setdefault(key_of(name), sector.slug)
            for alias in sector.aliases:
                aliases.setdefault(key_of(alias), sector.slug)
        object.__setattr__(self, "_names", names)
        object.__setattr__(self, "_aliases", aliases)
        object.__setattr__(self, "_by_slug", {sector.slug: sector for sector in self.sectors})

    def get(self, slug: str) -> Sector | None:
        return self._by_slug.get(slug)  # type: ignore[attr-defined]

    def resolve(self, text: str) -> str | None:
        """The slug a name stands for (slug, English or Japanese name, another name; any case), else None."""
        key = key_of(text or "")
        return self._names.get(key) or self._aliases.get(key)  # type: ignore[attr-defined]

    def names(self, language: str) -> list[str]:
        return [sector.name(language) for sector in self.sectors]

    def choices(self, language: str) -> list[tuple[str, str]]:
        """(slug, name) in display order, for selects and checkboxes."""
        return [(sector.slug, sector.name(language)) for sector in self.sectors]

    def label(self, value: str, language: str) -> str:
        """A stored value as a person reads it: the sector's name, or the text of "other: <text>"."""
        sector = self.get(value)
        if sector is not None:
            return sector.name(language)
        return other_text(value) if is_other(value) else value

    def clean(self, values: Iterable[str]) -> Cleaned:
        """Read values through the vocabulary; order kept, duplicates dropped, "other:" with a sector's name is it."""
        cleaned = Cleaned()
        for value in values:
            text = value.strip()
            other = is_other(text)
            if other:
                text = other_text(text)
                if not text:
                    continue
            slug = self.resolve(text)
            if slug is not None:
                if key_of(text) not in self._names or other:  # type: ignore[attr-defined]
                    cleaned.renamed.append((value, slug))
                stored = slug
            elif other:
                stored = other_value(text)
            else:
                cleaned.unknown.append(value)
                continue
            if stored not in cleaned.values:
                cleaned.values.append(stored)
        return cleaned


def vocabulary(session: Session) -> Vocabulary:
    """The sector vocabulary (reference data, cached a minute like the technology categories)."""
    def load() -> Vocabulary:
        rows = session.scalars(select(SectorRow).order_by(SectorRow.position, SectorRow.slug))
        return Vocabulary(tuple(
            Sector(row.slug, row.name_en, row.name_ja, row.description_en, row.description_ja,
                   tuple(alias.strip() for alias in row.aliases.split(";") if alias.strip()))
            for row in rows))
    return catalogs.reference(session, "sectors", load)
