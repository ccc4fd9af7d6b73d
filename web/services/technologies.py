"""The public technology catalogue: filters, facet counts and text search over the cards, what a card shows, and the
access rules for one technology.

The cards and their arrays are loaded and cached in web/services/technology_catalogue.py. Text search matches only
what a card shows in the visitor's language (names, organization, category, description, products, track-record
countries), and a card whose match lies deeper in the description shows that passage, so a hit is never unexplained.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from math import ceil
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ORGANIZATION_KINDS, Organization, Technology, User
from web.errors import NotFound
from web.i18n import N_, _
from web.services import catalogs
from web.services.query_filters import PageLinks, QueryFilters
from web.services.technology_catalogue import (
    AREAS,
    Card,
    Catalogue,
    get_catalogue,
    normalize,
    public_conditions,
)

# Kinds whose organizations register technologies; financing and consulting stay on the organization profile.
TECHNOLOGY_KINDS = ("japanese_company", "partner_company")
MAX_QUERY_WORDS = 10
EXCERPT = 220
STATUS_LABELS = {"pending": N_("Waiting for review"), "published": N_("Published"),
                 "unpublished": N_("Not published")}
BASIS_LABELS = {"unit": N_("per unit"), "site": N_("per site"), "project": N_("per project")}


@dataclass
class Filters(QueryFilters):
    """What the catalogue is narrowed to ('' = any) and the visitor's described need."""

    q: str = ""
    area: str = ""
    category: str = ""
    country: str = ""
    kind: str = ""
    jcm: str = ""
    need: str = ""

    @classmethod
    def from_params(cls, params: Any) -> Filters:
        """Filters from query parameters, trimmed and bounded (unknown values are checked by `clean`)."""
        def get(key: str, limit: int) -> str:
            return " ".join(str(params.get(key) or "").split())[:limit]
        return cls(q=get("q", 200), area=get("area", 40), category=get("category", 40),
                   country=get("country", 2).upper(), kind=get("kind", 30), jcm="1" if params.get("jcm") else "",
                   need=str(params.get("need") or "").strip()[:1000])

    def clean(self, categories: Iterable[str]) -> Filters:
        """Unknown values dropped: a stale link shows the whole catalogue, not an error."""
        if self.area not in AREAS:
            self.area = ""
        if self.category not in set(categories):
            self.category = ""
        if self.kind not in ORGANIZATION_KINDS:
            self.kind = ""
        if len(self.country) != 2 or not self.country.isalpha():
            self.country = ""
        return self

    def words(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(normalize(self.q).split()))[:MAX_QUERY_WORDS]



@dataclass
class Facets:
    """Counts per facet value under the other filters (what choosing that value would show)."""

    area: dict[str, int]
    category: dict[str, int]
    country: dict[str, int]
    kind: dict[str, int]
    jcm: int


@dataclass
class Listing(PageLinks):
    """One page of the catalogue with the live counts."""

    cards: list[Card]
    total: int
    companies: int
    page: int
    page_size: int
    facets: Facets
    positions: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


# --- filtering -----------------------------------------------------------------------------------------------------

def _masks(catalogue: Catalogue, filters: Filters, language: str, category_names: dict[str, str]) -> dict[str, Any]:
    n = len(catalogue.cards)
    masks: dict[str, np.ndarray] = {}
    if filters.area:
        masks["area"] = catalogue.area == AREAS.index(filters.area)
    if filters.category:
        masks["category"] = (catalogue.category == catalogue.categories.index(filters.category)
                             if filters.category in catalogue.categories else np.zeros(n, bool))
    if filters.country:
        mask = np.zeros(n, bool)
        mask[catalogue.countries.get(filters.country, np.zeros(0, np.int64))] = True
        masks["country"] = mask
    if filters.kind:
        masks["kind"] = catalogue.kind == ORGANIZATION_KINDS.index(filters.kind)
    if filters.jcm:
        masks["jcm"] = catalogue.jcm
    words = filters.words()
    if words:
        masks["q"] = catalogue.text_mask(language, words, category_names)
    return masks


def _combine(masks: dict[str, np.ndarray], n: int, skip: str = "") -> np.ndarray:
    out = np.ones(n, bool)
    for name, mask in masks.items():
        if name != skip:
            out &= mask
    return out


def facet_counts(catalogue: Catalogue, masks: dict[str, np.ndarray]) -> Facets:
    """Per facet value, the technologies matching it and every other filter."""
    n = len(catalogue.cards)
    area = np.bincount(catalogue.area[_combine(masks, n, "area")] + 1, minlength=len(AREAS) + 1)[1:]
    category = np.bincount(catalogue.category[_combine(masks, n, "category")], minlength=len(catalogue.categories))
    kind = np.bincount(catalogue.kind[_combine(masks, n, "kind")], minlength=len(ORGANIZATION_KINDS))
    others = _combine(masks, n, "country")
    countries = {code: int(others[rows].sum()) for code, rows in catalogue.countries.items()}
    return Facets(area={a: int(area[i]) for i, a in enumerate(AREAS)},
                  category={slug: int(category[i]) for i, slug in enumerate(catalogue.categories)},
                  country={code: count for code, count in countries.items() if count},
                  kind={k: int(kind[i]) for i, k in enumerate(ORGANIZATION_KINDS)},
                  jcm=int((catalogue.jcm & _combine(masks, n, "jcm")).sum()))


def filtered(catalogue: Catalogue, filters: Filters, language: str,
             category_names: dict[str, str]) -> tuple[np.ndarray, Facets]:
    """(positions of the matching cards in name order, facet counts)."""
    masks = _masks(catalogue, filters, language, category_names)
    mask = _combine(masks, len(catalogue.cards))
    return np.flatnonzero(mask), facet_counts(catalogue, masks)


def listing(catalogue: Catalogue, positions: np.ndarray, facets: Facets, page: int, page_size: int) -> Listing:
    """One page of the given positions (in their order) with the counts of all of them."""
    total = len(positions)
    page = max(1, min(page, max(1, ceil(total / page_size))))
    shown = positions[(page - 1) * page_size: page * page_size]
    companies = int(np.unique(catalogue.organization[positions]).size) if total else 0
    return Listing([catalogue.cards[i] for i in shown], total, companies, page, page_size, facets, positions)


def category_names(session: Session, language: str) -> dict[str, str]:
    """Category slug -> its name in the language."""
    return {cat.slug: cat.name(language) for cat in catalogs.categories(session)}


def search_catalogue(session: Session, filters: Filters, language: str, page: int, page_size: int) -> Listing:
    """The public list narrowed by the filters and the text search, ordered by name, one page of it."""
    catalogue = get_catalogue(session)
    positions, facets = filtered(catalogue, filters, language, category_names(session, language))
    return listing(catalogue, positions, facets, page, page_size)


# --- what a card shows -----------------------------------------------------------------------------------------------

def snippet(text: str, words: tuple[str, ...], limit: int = EXCERPT) -> list[tuple[str, bool]]:
    """The text's opening, or the passage around the first searched word found past it, as (piece, is_match)."""
    flat = " ".join((text or "").split())
    folded = normalize(flat)
    if len(folded) != len(flat):  # NFKC changed lengths (ligatures...): positions would not line up, so no marks
        return [(flat[:limit] + ("…" if len(flat) > limit else ""), False)]
    hits = [(folded.find(word), word) for word in words if word and word in folded]
    start = 0
    if hits:
        first = min(pos for pos, _word in hits)
        if first + max(len(w) for _p, w in hits) > limit:
            start = max(0, first - limit // 3)
            start = flat.rfind(" ", 0, start) + 1 if " " in flat[:start] else start
    end = min(len(flat), start + limit)
    if end < len(flat) and " " in flat[start:end]:
        end = flat.rfind(" ", start, end)
    pieces: list[tuple[str, bool]] = [("…", False)] if start else []
    cursor = start
    spans = sorted((pos, pos + len(word)) for word in words for pos in _positions(folded, word, start, end))
    for lo, hi in spans:
        if lo < cursor:
            continue
        pieces.append((flat[cursor:lo], False))
        pieces.append((flat[lo:hi], True))
        cursor = hi
    pieces.append((flat[cursor:end], False))
    if end < len(flat):
        pieces.append(("…", False))
    return [(text_, mark) for text_, mark in pieces if text_]


def _positions(folded: str, word: str, start: int, end: int) -> list[int]:
    out, pos = [], folded.find(word, start) if word else -1
    while 0 <= pos and pos + len(word) <= end:
        out.append(pos)
        pos = folded.find(word, pos + len(word))
    return out


def shown_products(products: tuple[str, ...], words: tuple[str, ...], limit: int = 4) -> tuple[list[str], int]:
    """The products a card shows (those with a searched word first, so a match is visible) and how many are left."""
    matching = [p for p in products if words and any(word in normalize(p) for word in words)]
    ordered = matching + [p for p in products if p not in matching]
    shown = ordered[:max(limit, len(matching))]
    return shown, len(products) - len(shown)


def basis_label(basis: str) -> str:
    """'per unit', 'per site' or 'per project' in the UI language ('' when not given)."""
    return _(BASIS_LABELS[basis]) if basis in BASIS_LABELS else ""


def status_label(status: str) -> str:
    return _(STATUS_LABELS.get(status, status))


# --- one technology ------------------------------------------------------------------------------------------------

def can_manage(user: User | None, technology: Technology) -> bool:
    """The owner organization's members and organizers may see it unpublished, edit it and see its review notes."""
    return user is not None and (user.is_organizer or user.organization_id == technology.organization_id)


def is_public(technology: Technology) -> bool:
    return technology.status == "published" and technology.organization.status == "approved"


def get_technology(session: Session, technology_id: int, viewer: User | None) -> Technology:
    """A technology the viewer may see: public ones, or any of the viewer's organization (organizers: all)."""
    technology = session.get(Technology, technology_id)
    if technology is None or not (is_public(technology) or can_manage(viewer, technology)):
        raise NotFound(_("There is no such technology."))
    return technology


def organization_technologies(session: Session, organization_id: int) -> list[Technology]:
    """The public technologies of one organization, by name (its profile lists them)."""
    return list(session.scalars(select(Technology).join(Organization).where(
        Technology.organization_id == organization_id, *public_conditions()).order_by(Technology.name, Technology.id)))
