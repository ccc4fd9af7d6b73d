"""Directory and technology-list queries: approved organizations filtered in SQL (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from math import ceil
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from models import Country, Organization, OrganizationTag, TechnologyCategory

MAX_QUERY_WORDS = 10
TECHNOLOGIES_PER_GROUP = 6
UNCATEGORIZED = "_other"


@dataclass
class Filters:
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

    def is_empty(self) -> bool:
        return not any(asdict(self).values())

    def query_string(self, **extra: Any) -> str:
        """The filters (and e.g. page) as a query string, blanks left out."""
        params = {key: value for key, value in (asdict(self) | extra).items() if value not in ("", None)}
        return urlencode(params)


@dataclass
class Page:
    """One page of results with what the pagination links need."""

    items: list[Any]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.page_size))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


@dataclass
class TechnologyGroup:
    """A technology category with the organizations offering technologies in it."""

    slug: str
    category: TechnologyCategory | None
    organizations: list[Organization] = field(default_factory=list)
    total: int = 0


def parse_page(value: Any) -> int:
    """A page number from a query parameter (bad values mean page 1)."""
    try:
        return max(1, min(int(str(value)), 100_000))
    except (TypeError, ValueError):
        return 1


def has_tag(field_name: str, value: str) -> ColumnElement[bool]:
    """EXISTS an organization_tag row for this organization with the field and value."""
    tag = aliased(OrganizationTag)  # an alias: the enclosing query may itself join organization_tag
    return exists().where(tag.organization_id == Organization.id, tag.field == field_name, tag.value == value)


def text_conditions(q: str) -> list[ColumnElement[bool]]:
    """Every word of q must occur in the organization's (lower-cased) search text."""
    words = q.lower().split()[:MAX_QUERY_WORDS]
    return [Organization.search_text.contains(word, autoescape=True) for word in words]


def directory_conditions(filters: Filters) -> list[ColumnElement[bool]]:
    """SQL conditions for approved organizations matching the filters."""
    conditions: list[ColumnElement[bool]] = [Organization.status == "approved"]
    if filters.kind:
        conditions.append(Organization.kind == filters.kind)
    if filters.country:
        conditions.append(Organization.country == filters.country)
    if filters.category:
        conditions.append(has_tag("technology_categories", filters.category))
    if filters.sector:
        conditions.append(has_tag("sectors", filters.sector))
    conditions.extend(text_conditions(filters.q))
    return conditions


def _page_of(session: Session, conditions: list[ColumnElement[bool]], page: int, page_size: int) -> Page:
    total = session.scalar(select(func.count(Organization.id)).where(*conditions)) or 0
    last = max(1, ceil(total / page_size))
    page = min(page, last)
    rows = session.scalars(select(Organization).where(*conditions).order_by(Organization.name, Organization.id)
                           .offset((page - 1) * page_size).limit(page_size))
    return Page(items=list(rows), total=total, page=page, page_size=page_size)


def search_directory(session: Session, filters: Filters, page: int, page_size: int) -> Page:
    """Approved organizations matching the filters, ordered by name, one page of them."""
    return _page_of(session, directory_conditions(filters), page, page_size)


def categories(session: Session) -> list[TechnologyCategory]:
    """The technology categories in their display order."""
    return list(session.scalars(select(TechnologyCategory).order_by(TechnologyCategory.position,
                                                                    TechnologyCategory.slug)))


def sector_choices(session: Session) -> list[str]:
    """The sectors approved organizations use, for the sector filter."""
    query = (select(OrganizationTag.value).join(Organization)
             .where(OrganizationTag.field == "sectors", Organization.status == "approved")
             .distinct().order_by(OrganizationTag.value))
    return list(session.scalars(query))


def countries_in_use(session: Session) -> list[str]:
    """Countries of approved organizations, for the country filter."""
    query = select(Organization.country).where(Organization.status == "approved").distinct()
    return list(session.scalars(query))


def partner_countries(session: Session) -> list[str]:
    """ISO codes of the JCM partner countries."""
    return list(session.scalars(select(Country.iso2).where(Country.is_jcm_partner.is_(True))))


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


def _group_condition(slug: str) -> ColumnElement[bool]:
    if slug == UNCATEGORIZED:
        tag = aliased(OrganizationTag)
        return ~exists().where(tag.organization_id == Organization.id, tag.field == "technology_categories")
    return has_tag("technology_categories", slug)


def technology_groups(session: Session, filters: Filters, cap: int = TECHNOLOGIES_PER_GROUP) -> list[TechnologyGroup]:
    """Per category, the first `cap` organizations offering technologies in it and how many there are."""
    base = technology_conditions(filters)
    counts = dict(session.execute(
        select(OrganizationTag.value, func.count(Organization.id)).join(Organization)
        .where(OrganizationTag.field == "technology_categories", *base).group_by(OrganizationTag.value)).all())
    groups = [TechnologyGroup(slug=cat.slug, category=cat, total=counts.get(cat.slug, 0))
              for cat in categories(session)]
    other = session.scalar(select(func.count(Organization.id)).where(*base, _group_condition(UNCATEGORIZED))) or 0
    groups.append(TechnologyGroup(slug=UNCATEGORIZED, category=None, total=other))
    groups = [group for group in groups if group.total]
    for group in groups:
        group.organizations = list(session.scalars(
            select(Organization).where(and_(*base, _group_condition(group.slug)))
            .order_by(Organization.name, Organization.id).limit(cap)))
    return groups


def technology_page(session: Session, filters: Filters, page: int, page_size: int) -> Page:
    """One page of the organizations offering technologies in the filter's category."""
    return _page_of(session, [*technology_conditions(filters), _group_condition(filters.category)], page, page_size)


def can_view_profiles(user: Any) -> bool:
    """Profiles are for organizers and members of approved organizations."""
    return user is not None and (user.is_organizer or (user.organization is not None and user.organization.is_approved))
