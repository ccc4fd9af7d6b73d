"""The technology list: approved organizations offering technologies, by category.

The overview (every category's count and first few organizations) is the same for every visitor: it is computed in
a bounded number of statements, whatever the number of categories or organizations, and kept until an organization
changes (web.services.catalogs). Filtered views are computed per request in the same bounded statements; one
category is paged like the directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session, aliased

from models import Organization, OrganizationTag
from web.services import catalogs
from web.services.catalogs import Category
from web.services.directory import Filters, Page, _page_of, has_tag, text_conditions

TECHNOLOGIES_PER_GROUP = 6
UNCATEGORIZED = "_other"
CATEGORY_TAG = "technology_categories"


@dataclass(frozen=True)
class Listed:
    """An organization as the technology list shows it (a plain value: the overview is shared between requests)."""

    id: int
    name: str
    country: str
    is_demo: bool
    offers: tuple[str, ...]


@dataclass
class TechnologyGroup:
    """A technology category with the organizations offering technologies in it."""

    slug: str
    category: Category | None
    organizations: list[Listed] = field(default_factory=list)
    total: int = 0


@dataclass(frozen=True)
class Overview:
    """Per category slug (UNCATEGORIZED for none): how many organizations offer technologies, and the first few."""

    totals: dict[str, int]
    first: dict[str, tuple[Listed, ...]]


def technology_conditions(filters: Filters) -> list[ColumnElement[bool]]:
    """Approved organizations that list at least one offer, narrowed by target country and text."""
    conditions: list[ColumnElement[bool]] = [
        Organization.status == "approved",
        func.json_array_length(Organization.offers) > 0,  # same function name on SQLite and PostgreSQL json
    ]
    if filters.country:
        conditions.append(has_tag("target_countries", filters.country))
    conditions.extend(text_conditions(filters.q))
    return conditions


def _uncategorized() -> ColumnElement[bool]:
    tag = aliased(OrganizationTag)
    return ~exists().where(tag.organization_id == Organization.id, tag.field == CATEGORY_TAG)


def _group_condition(slug: str) -> ColumnElement[bool]:
    return _uncategorized() if slug == UNCATEGORIZED else has_tag(CATEGORY_TAG, slug)


def _listed(session: Session, ids: set[int]) -> dict[int, Listed]:
    rows = session.execute(select(Organization.id, Organization.name, Organization.country, Organization.is_demo,
                                  Organization.offers).where(Organization.id.in_(ids))) if ids else []
    return {row.id: Listed(row.id, row.name, row.country, row.is_demo, tuple(row.offers or ())) for row in rows}


def compute_overview(session: Session, filters: Filters, cap: int = TECHNOLOGIES_PER_GROUP) -> Overview:
    """Counts and the first `cap` organizations by name of every category, in five statements."""
    base = technology_conditions(filters)
    tagged = (select(OrganizationTag.value.label("slug"), Organization.id.label("id"), Organization.name.label("name"))
              .join(Organization).where(OrganizationTag.field == CATEGORY_TAG, *base))
    counted = tagged.subquery()
    totals = {slug: n for slug, n in session.execute(
        select(counted.c.slug, func.count()).group_by(counted.c.slug))}
    ranked = tagged.add_columns(func.row_number().over(partition_by=OrganizationTag.value,
                                                       order_by=(Organization.name, Organization.id)).label("rank"))
    ranked = ranked.subquery()
    firsts = session.execute(select(ranked.c.slug, ranked.c.id).where(ranked.c.rank <= cap)
                             .order_by(ranked.c.slug, ranked.c.rank)).all()
    other = [*base, _uncategorized()]
    totals[UNCATEGORIZED] = session.scalar(select(func.count(Organization.id)).where(*other)) or 0
    other_first = list(session.scalars(select(Organization.id).where(*other)
                                       .order_by(Organization.name, Organization.id).limit(cap)))
    listed = _listed(session, {org_id for _slug, org_id in firsts} | set(other_first))
    first: dict[str, list[Listed]] = {}
    for slug, org_id in firsts:
        first.setdefault(slug, []).append(listed[org_id])
    first[UNCATEGORIZED] = [listed[org_id] for org_id in other_first]
    return Overview(totals, {slug: tuple(orgs) for slug, orgs in first.items()})


def technology_groups(session: Session, filters: Filters, cap: int = TECHNOLOGIES_PER_GROUP) -> list[TechnologyGroup]:
    """Per category, the first `cap` organizations offering technologies in it and how many there are."""
    if not filters.q and not filters.country and cap == TECHNOLOGIES_PER_GROUP:
        overview = catalogs.derived(session, "technology_overview", lambda: compute_overview(session, filters, cap))
    else:
        overview = compute_overview(session, filters, cap)
    groups = [TechnologyGroup(cat.slug, cat, list(overview.first.get(cat.slug, ())), overview.totals.get(cat.slug, 0))
              for cat in catalogs.categories(session)]
    groups.append(TechnologyGroup(UNCATEGORIZED, None, list(overview.first.get(UNCATEGORIZED, ())),
                                  overview.totals.get(UNCATEGORIZED, 0)))
    return [group for group in groups if group.total]


def technology_page(session: Session, filters: Filters, page: int, page_size: int) -> Page:
    """One page of the organizations offering technologies in the filter's category."""
    total = None
    if not filters.q and not filters.country:
        total = catalogs.derived(session, "technology_overview", lambda: compute_overview(session, Filters())
                                 ).totals.get(filters.category, 0)
    return _page_of(session, [*technology_conditions(filters), _group_condition(filters.category)], page, page_size,
                    total)
