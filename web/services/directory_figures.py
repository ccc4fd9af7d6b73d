"""A directory question (its filters), the directory's cached figures, and what they tell a page before it asks
the database.

How many approved organizations each kind, country, kind and country pair, category and sector has is counted
once per organizations fingerprint (web.services.catalogs). From those figures a directory page knows its count
when the filters are that simple, knows it is empty when one of them has nothing, and, on SQLite, which keeps no
statistics for its planner, chooses how to read itself: which index to walk by name, or whether to read a rare
category's or sector's holders instead (web.services.directory reads the page).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Organization, OrganizationTag
from web.services import catalogs
from web.services.query_filters import QueryFilters

# Pages a list can be paged to: page_size * MAX_PAGES organizations by name; past that, narrow the filters.
MAX_PAGES = 50
# The most holders of a category or sector a directory page may sort by name itself (holders_first): 20,000
# take about 70 ms, and a walk by name that would cost more than that is rare past it.
MAX_TAG_HOLDERS = 20_000


@dataclass
class Filters(QueryFilters):
    """What the directory or technology list is narrowed to; empty strings mean 'any'."""

    q: str = ""
    kind: str = ""
    country: str = ""
    category: str = ""
    sector: str = ""

    @classmethod
    def from_params(cls, params: Any) -> Filters:
        """Filters from query parameters, trimmed and bounded."""
        def get(key: str, limit: int) -> str:
            return str(params.get(key) or "").strip()[:limit]
        return cls(q=get("q", 200), kind=get("kind", 30), country=get("country", 2).upper(),
                   category=get("category", 40), sector=get("sector", 200))


@dataclass(frozen=True)
class Choices:
    """What the directory's filters offer, and how many organizations are approved."""

    approved: int
    countries: tuple[str, ...]
    per_category: dict[str, int]
    per_sector: dict[str, int]
    version: tuple = ()  # the organizations' fingerprint these figures were read under
    per_kind_country: dict[tuple[str, str], int] = field(default_factory=dict)
    per_kind: dict[str, int] = field(default_factory=dict)
    per_country: dict[str, int] = field(default_factory=dict)


def _per_tag(session: Session, field_name: str) -> dict[str, int]:
    return dict(session.execute(select(OrganizationTag.value, func.count()).join(Organization)
                                .where(OrganizationTag.field == field_name, Organization.status == "approved")
                                .group_by(OrganizationTag.value)).all())


def directory_choices(session: Session) -> Choices:
    """What the filters offer and how many approved organizations each category and sector has (cached)."""
    version = catalogs.organizations_version(session)

    def compute() -> Choices:
        pairs = {(kind, country): count for kind, country, count in session.execute(
            select(Organization.kind, Organization.country, func.count())
            .where(Organization.status == "approved").group_by(Organization.kind, Organization.country))}
        per_kind: dict[str, int] = {}
        per_country: dict[str, int] = {}
        for (kind, country), count in pairs.items():
            per_kind[kind] = per_kind.get(kind, 0) + count
            per_country[country] = per_country.get(country, 0) + count
        return Choices(sum(pairs.values()), tuple(sorted(per_country)), _per_tag(session, "technology_categories"),
                       _per_tag(session, "sectors"), version, pairs, per_kind, per_country)
    return catalogs.derived(session, "directory_choices", compute, version)


def walk_by(session: Session, filters: Filters, choices: Choices) -> str:
    """With both a kind and a country on SQLite, the one fewer approved organizations have: a walk by name reads
    its index. SQLite keeps no statistics and took the other as readily: the partner companies (45,000 at 100k)
    walked to find none in Japan, 120 ms, where Japan's index would have been as long, and Mongolia's, 1,600 rows,
    would have found none in 3 ms. Else "" (the planner's choice)."""
    if not (filters.kind and filters.country) or session.get_bind().dialect.name != "sqlite":
        return ""
    return "country" if choices.per_country.get(filters.country, 0) <= choices.per_kind.get(filters.kind, 0) \
        else "kind"


def holders_first(filters: Filters, choices: Choices, holders: int, page: int, page_size: int,
                  counted: bool) -> bool:
    """Whether reading the rare tag's holders costs less than walking the names (SQLite, measured at 100k).

    A holder costs about two rows of a walk that reads only indexes (the kind's, the country's or the names', and
    the tag's), and about one row of a walk that reads each organization too: to compare both a kind and a country,
    a second tag, or words (a partner company in Vietnam holding two tags: walked, 16 ms; its holders, 7 ms).
    """
    rows = walked_rows(filters, choices, holders, page, page_size, counted)
    per_holder = 1 if filters.q or (filters.kind and filters.country) or (filters.category and filters.sector) else 2
    return rows > per_holder * holders


def walk_scope(filters: Filters, choices: Choices) -> int | None:
    """How many rows the index a walk by name reads holds when a kind or country narrows it (see walk_by)."""
    scopes = ([choices.per_kind.get(filters.kind, 0)] if filters.kind else []) + \
        ([choices.per_country.get(filters.country, 0)] if filters.country else [])
    return min(scopes) if scopes else None


def walked_rows(filters: Filters, choices: Choices, holders: int, page: int, page_size: int, counted: bool) -> float:
    """About how many index rows walking the names reads for a page of a tag that `holders` organizations hold.

    (offset + page size) / the tag's share, plus as many to count the matches unless the count is known (the
    count stops at what the pages show), each at most the index walked: the kind's or the country's (the shorter,
    see walk_by), or all approved organizations. The share assumes the tag is as common within a kind or country
    as overall. Words searched may be as rare as can be among them, and the walk then reads its whole index,
    twice: a two-letter word among a sector's 9,900 holders read every name (290 ms at 100k; its holders, 30 ms).
    """
    if not holders or not choices.approved:
        return 0.0
    if filters.q:
        holders = 1
    scope = walk_scope(filters, choices)
    scope = choices.approved if scope is None else scope
    share = holders / choices.approved
    rows = min(scope, page * page_size / share)
    if not counted:
        rows += min(scope, (MAX_PAGES * page_size + 1) / share)
    return rows


def rare_tag(session: Session, filters: Filters, choices: Choices) -> tuple[str, str, int] | None:
    """(field, value, holders) of the filters' rarest category or sector when at most MAX_TAG_HOLDERS approved
    organizations hold it, on SQLite; else None. PostgreSQL plans this from its statistics."""
    if session.get_bind().dialect.name != "sqlite":
        return None
    tags = [("technology_categories", filters.category, choices.per_category.get(filters.category, 0))] \
        if filters.category else []
    if filters.sector:
        tags.append(("sectors", filters.sector, choices.per_sector.get(filters.sector, 0)))
    rarest = min(tags, key=lambda tag: tag[2], default=None)
    return rarest if rarest is not None and rarest[2] <= MAX_TAG_HOLDERS else None


def known_total(filters: Filters, choices: Choices) -> int | None:
    """The number of matches when the cached figures hold it (no filter; one category, sector, kind or country;
    a kind and a country), else None; 0 whenever they show that nothing matches (each filter only narrows)."""
    counts = {"category": choices.per_category.get(filters.category, 0),
              "sector": choices.per_sector.get(filters.sector, 0),
              "kind": choices.per_kind.get(filters.kind, 0), "country": choices.per_country.get(filters.country, 0)}
    used = [name for name, value in asdict(filters).items() if value]
    if not used:
        return choices.approved
    if any(counts.get(name) == 0 for name in used) or \
            (filters.kind and filters.country and not choices.per_kind_country.get((filters.kind, filters.country))):
        return 0
    if len(used) == 1 and used[0] in counts:
        return counts[used[0]]
    if sorted(used) == ["country", "kind"]:
        return choices.per_kind_country[(filters.kind, filters.country)]
    return None
