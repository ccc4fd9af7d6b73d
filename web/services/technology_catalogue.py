"""The technology catalogue in memory: published technologies of approved organizations as plain cards, the arrays
the facets and filters read, and the words index text search scans.

Every visitor sees the same catalogue, so it is loaded once per process into plain values and arrays (two
statements) and kept until the technology or organization table changes: a request asks one fingerprint statement,
then filters, counts facets and pages in memory (numpy masks over at most a few hundred thousand rows, well under
a millisecond each).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import ORGANIZATION_KINDS, Organization, Technology, TechnologyCategory, TechnologyTrackRecord
from web.i18n import country_name
from web.services import catalogs

AREAS = ("climate", "waste_recycling", "water", "soil", "air")
SEARCH_MASKS_KEPT = 256


def normalize(text: str) -> str:
    """Text as search compares it: NFKC (full-width letters and digits as ASCII), case-folded."""
    return unicodedata.normalize("NFKC", text or "").casefold()


@dataclass(frozen=True)
class Card:
    """A published technology as lists show it (a plain value, shared between requests and threads)."""

    id: int
    name: str
    name_ja: str
    organization_id: int
    organization_name: str
    organization_country: str
    organization_kind: str
    is_demo: bool
    category: str
    area: str
    description: str
    description_ja: str
    products: tuple[str, ...]
    countries: tuple[str, ...]
    has_jcm: bool
    image_key: str | None
    ghg_reduction_t: float | None
    figures_basis: str
    investment_jpy: int | None
    annual_savings_jpy: int | None
    durable_years: int | None
    languages: tuple[str, ...]
    published_at: datetime | None

    def title(self, language: str) -> str:
        """The name in the UI language (the Japanese name when there is one, for Japanese)."""
        return self.name_ja if language == "ja" and self.name_ja else self.name

    def subtitle(self, language: str) -> str:
        """The other-language name shown under the title, when the title is the Japanese one."""
        return self.name if language == "ja" and self.name_ja else ""

    def text(self, language: str) -> str:
        """The description in the UI language (Japanese when there is one, for Japanese)."""
        return self.description_ja if language == "ja" and self.description_ja else self.description


@dataclass
class Catalogue:
    """Every published technology (ordered by name) with the arrays the facets and filters read."""

    cards: list[Card]
    area: np.ndarray
    category: np.ndarray
    kind: np.ndarray
    jcm: np.ndarray
    organization: np.ndarray
    countries: dict[str, np.ndarray]
    categories: tuple[str, ...]
    position: dict[int, int]
    version: tuple = ()
    _search: dict[str, Any] = field(default_factory=dict)
    _masks: OrderedDict = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def search_texts(self, language: str, category_names: dict[str, str]) -> list[str]:
        """Per card, the normalized text it shows in the language."""
        return [normalize(" ".join((card.title(language), card.subtitle(language), card.organization_name,
                                    category_names.get(card.category, ""), card.text(language), *card.products,
                                    *(country_name(c, language) for c in card.countries))))
                for card in self.cards]

    def words_index(self, language: str, category_names: dict[str, str]) -> WordsIndex:
        """The language's words index, built on first use."""
        index = self._search.get(language)
        if index is None:
            with self._lock:
                index = self._search.get(language)
                if index is None:
                    index = self._search[language] = WordsIndex.build(self.search_texts(language, category_names))
        return index

    def text_mask(self, language: str, words: tuple[str, ...], category_names: dict[str, str]) -> np.ndarray:
        """Cards showing every word (as a part of what they show: 'chill' finds 'chillers'), kept for recent queries."""
        key = (language, words)
        with self._lock:
            mask = self._masks.get(key)
            if mask is not None:
                self._masks.move_to_end(key)
                return mask
        index = self.words_index(language, category_names)
        mask = np.ones(len(self.cards), bool)
        for word in words:
            mask &= index.cards_with(word, len(self.cards))
        with self._lock:
            self._masks[key] = mask
            while len(self._masks) > SEARCH_MASKS_KEPT:
                self._masks.popitem(last=False)
        return mask


@dataclass
class WordsIndex:
    """The distinct whitespace-separated pieces of every card's shown text, and the cards each appears in.

    A searched word matches the pieces that contain it; the pieces are few next to the cards (repeated words), and
    are scanned as one string at C speed, so a search costs a fraction of a millisecond at 10,000 cards.
    """

    joined: str
    starts: np.ndarray
    indptr: np.ndarray
    cards: np.ndarray

    @classmethod
    def build(cls, texts: list[str]) -> WordsIndex:
        postings: dict[str, list[int]] = {}
        for position, text in enumerate(texts):
            for piece in set(text.split()):
                postings.setdefault(piece, []).append(position)
        pieces = sorted(postings)
        starts = np.cumsum([0] + [len(p) + 1 for p in pieces[:-1]]) if pieces else np.zeros(0, np.int64)
        lengths = [len(postings[p]) for p in pieces]
        return cls("\n".join(pieces), np.asarray(starts, np.int64), np.cumsum([0] + lengths).astype(np.int64),
                   np.array([i for p in pieces for i in postings[p]], np.int64))

    def cards_with(self, word: str, n: int) -> np.ndarray:
        """A mask of the cards with a piece containing the word."""
        mask = np.zeros(n, bool)
        if not word or "\n" in word or not len(self.starts):
            return mask
        offsets = [m.start() for m in re.finditer(re.escape(word), self.joined)]
        if not offsets:
            return mask
        pieces = np.unique(np.searchsorted(self.starts, np.array(offsets), side="right") - 1)
        lo, hi = self.indptr[pieces], self.indptr[pieces + 1]
        if len(pieces) == 1:
            mask[self.cards[lo[0]:hi[0]]] = True
        else:
            mask[np.concatenate([self.cards[a:b] for a, b in zip(lo.tolist(), hi.tolist())])] = True
        return mask


# --- loading -------------------------------------------------------------------------------------------------------

def catalogue_version(session: Session) -> tuple:
    """A fingerprint that changes with any technology or organization insert, update or delete: one statement of four
    index probes (one max each: SQLite answers a lone max from the index, two in one select scan the table).

    Deleting a published technology moves its organization's updated_at, so a delete is seen too.
    """
    return tuple(session.execute(_CATALOGUE_VERSION).one())


_CATALOGUE_VERSION = select(*(select(func.max(column)).scalar_subquery() for column in
                              (Technology.updated_at, Technology.id, Organization.updated_at, Organization.id)))


def category_areas(session: Session) -> dict[str, str]:
    """Category slug -> its area (reference data, kept for a minute)."""
    return catalogs.reference(session, "category_areas", lambda: dict(
        session.execute(select(TechnologyCategory.slug, TechnologyCategory.area)).all()))


def public_conditions() -> list[Any]:
    """Published technologies of approved organizations: what anyone may see."""
    return [Technology.status == "published", Organization.status == "approved"]


def load_catalogue(session: Session) -> Catalogue:
    """Every public technology and its track-record countries: two statements."""
    areas = category_areas(session)
    rows = session.execute(
        select(Technology.id, Technology.name, Technology.name_ja, Technology.organization_id, Organization.name,
               Organization.country, Organization.kind, Technology.is_demo, Technology.category,
               Technology.description, Technology.description_ja, Technology.products, Technology.image_key,
               Technology.ghg_reduction_t, Technology.figures_basis, Technology.investment_jpy,
               Technology.annual_savings_jpy, Technology.durable_years, Technology.languages, Technology.published_at)
        .join(Organization, Organization.id == Technology.organization_id).where(*public_conditions())).all()
    tracks: dict[int, list[tuple[str, bool]]] = {}
    for tech_id, country, project, methodology in session.execute(
            select(TechnologyTrackRecord.technology_id, TechnologyTrackRecord.country,
                   TechnologyTrackRecord.jcm_project, TechnologyTrackRecord.methodology)
            .join(Technology, Technology.id == TechnologyTrackRecord.technology_id)
            .join(Organization, Organization.id == Technology.organization_id).where(*public_conditions())
            .order_by(TechnologyTrackRecord.technology_id, TechnologyTrackRecord.position)):
        tracks.setdefault(tech_id, []).append((country, bool(project or methodology)))
    cards = []
    for r in rows:
        track = tracks.get(r[0], [])
        cards.append(Card(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], areas.get(r[8], ""), r[9], r[10],
                          tuple(r[11] or ()), tuple(dict.fromkeys(c for c, _j in track)), any(j for _c, j in track),
                          r[12], r[13], r[14], r[15], r[16], r[17], tuple(r[18] or ()), r[19]))
    cards.sort(key=lambda c: (normalize(c.name), c.id))
    return build_catalogue(cards)


def build_catalogue(cards: list[Card]) -> Catalogue:
    """The arrays of a list of cards (in their order)."""
    categories = tuple(sorted({c.category for c in cards}))
    code = {slug: i for i, slug in enumerate(categories)}
    org_ids = sorted({c.organization_id for c in cards})
    org_code = {org_id: i for i, org_id in enumerate(org_ids)}
    countries: dict[str, list[int]] = {}
    for i, card in enumerate(cards):
        for country in card.countries:
            countries.setdefault(country, []).append(i)
    return Catalogue(
        cards=cards,
        area=np.array([AREAS.index(c.area) if c.area in AREAS else -1 for c in cards], np.int16),
        category=np.array([code[c.category] for c in cards], np.int16),
        kind=np.array([ORGANIZATION_KINDS.index(c.organization_kind) for c in cards], np.int16),
        jcm=np.array([c.has_jcm for c in cards], bool),
        organization=np.array([org_code[c.organization_id] for c in cards], np.int32),
        countries={country: np.array(ids, np.int64) for country, ids in countries.items()},
        categories=categories,
        position={c.id: i for i, c in enumerate(cards)},
    )


def get_catalogue(session: Session) -> Catalogue:
    """The process's catalogue, reloaded when a technology or an organization changed."""
    version = catalogue_version(session)

    def load() -> Catalogue:
        catalogue = load_catalogue(session)
        catalogue.version = version
        return catalogue
    return catalogs.catalogs_of(session).cached("technology_catalogue", catalogs.DERIVED_SECONDS).get(version, load)
