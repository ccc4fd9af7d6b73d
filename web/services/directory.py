"""Directory and technology-list queries: approved organizations filtered in SQL (SQLite and PostgreSQL).

Each query reads what the page shows and no more: lists walk the (status, name, id) index to one bounded page
(MAX_PAGES; nobody reads page 500 of a directory, and OFFSET 10,000 reads 10,000 rows to throw away), counts stop
at what the pagination can show, and figures every visitor sees (filter choices, unfiltered counts, the
technology overview) come from web.services.catalogs, recomputed only when an organization changed. What those
figures tell a page (its count, and on SQLite which way to read it) is in web.services.directory_figures.
"""

from __future__ import annotations

import json
from dataclasses import astuple, dataclass, replace
from math import ceil
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, bindparam, exists, func, select, text
from sqlalchemy.orm import Session, aliased, load_only
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from models import Organization, OrganizationTag
from web.services import catalogs
from web.services.catalogs import Category
from web.services.directory_figures import (
    MAX_PAGES,
    Choices,
    Filters,
    directory_choices,
    holders_first,
    known_total,
    rare_tag,
    walk_by,
    walk_scope,
)
from web.services.query_filters import PageLinks

MAX_QUERY_WORDS = 10
# What a result card shows: the rest of a profile (search text, description, contact) stays in the database.
CARD_COLUMNS = (Organization.name, Organization.kind, Organization.country, Organization.status, Organization.is_demo,
                Organization.offers, Organization.needs, Organization.technology_categories)
# Text search on SQLite: words of TRIGRAM characters or more are looked up in the organization_search trigram
# index (migration 0013). Up to MAX_HITS organizations hold them all: the page is chosen among those, looked up
# by id and sorted by name (a rare word, which scanning by name looked for through every row: 160 ms at 100,000).
# More hits: the words are common, walking the name index with LIKE finds a page's worth within a few rows, and
# the first hits usually hold more matches than the pages show, which saves counting them by LIKE. All of it runs
# inside SQLite, which lets go of the GIL: hits handled in Python halved the page's throughput at 8 clients.
# PostgreSQL answers the same LIKE conditions from its pg_trgm index.
TRIGRAM = 3
MAX_HITS = 2500
_HITS = text("SELECT count(*), json_group_array(rowid) FROM (SELECT rowid FROM organization_search "
             "WHERE organization_search MATCH :match LIMIT :limit)")
_HIT_IDS = func.json_each(bindparam("hit_ids")).table_valued("value")


@dataclass
class Page(PageLinks):
    """One page of results with what the pagination links need.

    total is exact up to what MAX_PAGES pages can show; past that it is that bound and `more` is true.
    """

    items: list[Any]
    total: int
    page: int
    page_size: int
    more: bool = False
    max_pages: ClassVar[int | None] = MAX_PAGES


def parse_page(value: Any) -> int:
    """A page number from a query parameter (bad values mean page 1; past MAX_PAGES, the last one shown)."""
    try:
        return max(1, min(int(str(value)), MAX_PAGES))
    except (TypeError, ValueError):
        return 1


def has_tag(field_name: str, value: str) -> ColumnElement[bool]:
    """EXISTS an organization_tag row for this organization with the field and value."""
    tag = aliased(OrganizationTag)  # an alias: the enclosing query may itself join organization_tag
    return exists().where(tag.organization_id == Organization.id, tag.field == field_name, tag.value == value)


def query_words(q: str) -> list[str]:
    return q.lower().split()[:MAX_QUERY_WORDS]


def text_conditions(q: str, indexed: bool = False) -> list[ColumnElement[bool]]:
    """Every word of q must occur in the organization's (lower-cased) search text; with indexed, only the words
    too short for the trigram index (search_hits has found the others)."""
    return [Organization.search_text.contains(word, autoescape=True) for word in query_words(q)
            if not (indexed and len(word) >= TRIGRAM)]


def trigram_match(session: Session, q: str) -> str | None:
    """The trigram index query for the words of q long enough for it; None when the index cannot narrow the
    search (not SQLite, or no such word)."""
    words = [word for word in query_words(q) if len(word) >= TRIGRAM]
    if not words or session.get_bind().dialect.name != "sqlite":
        return None
    # Each word a quoted phrase: a trigram phrase matches exactly where the text holds it, as LIKE does.
    return " AND ".join('"%s"' % word.replace('"', '""') for word in words)


def search_hits(session: Session, match: str) -> tuple[int, str]:
    """(how many organizations' search texts the index finds for the query, up to MAX_HITS + 1; their ids as a
    JSON array). One row: fetched row by row, each id was a hand-over of the GIL, and 2,500 of them halved the
    page's throughput at 8 clients."""
    count, ids = session.execute(_HITS, {"match": match, "limit": MAX_HITS + 1}).one()
    return count, ids or "[]"


def among_hits(hits: str) -> ColumnElement[bool]:
    """organization.id among the hits (a JSON array). The hits are read once, as a trigram query for a long word
    costs milliseconds (`mineralisation`: 4 ms, its twelve trigrams intersected); one JSON parameter, as binding
    an IN list of thousands took SQLAlchemy longer than SQLite took to look the rows up."""
    return Organization.id.in_(select(_HIT_IDS.c.value).params(hit_ids=hits))


def unindexed(column: Any) -> ColumnElement[Any]:
    """`+column`: the same value, which SQLite's planner cannot look up in an index on the column."""
    return UnaryExpression(column, operator=custom_op("+"), type_=column.type)


def directory_conditions(filters: Filters, indexed: bool = False, walk: str = "",
                         counting: bool = False) -> list[ColumnElement[bool]]:
    """SQL conditions for approved organizations matching the filters.

    indexed: the rows are already narrowed to the trigram index's hits (`id IN hits`), the words it found are left
    out (text_conditions), and status, kind and country are compared without their indexes. Otherwise SQLite,
    knowing nothing of how many rows an index step leaves, walked all 100,000 entries of (status, kind, name) for
    a list of 148 ids (17 ms) instead of looking up the 148 rows.
    walk: "kind" or "country", the one of the two whose (status, ..., name) index a walk by name reads when both
    are asked for (see walk_by); the other is compared without its index. SQLite only. With counting, status too:
    a count reads the rows in any order, and the column's own index gives them in the order of their ids (the
    Japanese companies holding a common category: 20 ms through the kind's index in name order, 11 ms in id
    order).
    """
    def column(name: str) -> Any:
        value = getattr(Organization, name)
        kept = not indexed and (not walk or name == walk or (name == "status" and not counting))
        return value if kept else unindexed(value)
    conditions: list[ColumnElement[bool]] = [column("status") == "approved"]
    if filters.kind:
        conditions.append(column("kind") == filters.kind)
    if filters.country:
        conditions.append(column("country") == filters.country)
    if filters.category:
        conditions.append(has_tag("technology_categories", filters.category))
    if filters.sector:
        conditions.append(has_tag("sectors", filters.sector))
    conditions.extend(text_conditions(filters.q, indexed))
    return conditions


def bounded_count(session: Session, conditions: list[ColumnElement[bool]], page_size: int) -> tuple[int, bool]:
    """(matching rows up to what MAX_PAGES pages show, whether there are more): never counts past the bound."""
    cap = MAX_PAGES * page_size
    found = session.scalar(select(func.count()).select_from(
        select(Organization.id).where(*conditions).limit(cap + 1).subquery())) or 0
    return min(found, cap), found > cap


def _bounded(total: int, page: int, page_size: int) -> tuple[int, int, bool]:
    """(the total shown: at most what MAX_PAGES pages hold, the page asked for among those there are, whether
    there are more matches than shown)."""
    cap = MAX_PAGES * page_size
    shown = min(total, cap)
    return shown, min(page, max(1, ceil(shown / page_size))), total > cap


def _page_of(session: Session, conditions: list[ColumnElement[bool]], page: int, page_size: int,
             total: int | None = None, counted: list[ColumnElement[bool]] | None = None) -> Page:
    """counted: the same conditions for counting, when those given name the index a walk by name reads (see
    directory_conditions)."""
    if total == 0:  # known to be empty: looking for the page would walk the whole index to find nothing
        return Page(items=[], total=0, page=1, page_size=page_size)
    if total is None:
        total, more = bounded_count(session, counted or conditions, page_size)
        total, page, _ = _bounded(total, page, page_size)
    else:
        total, page, more = _bounded(total, page, page_size)
    statement = (select(Organization).where(*conditions).options(load_only(*CARD_COLUMNS))
                 .order_by(Organization.name, Organization.id).offset((page - 1) * page_size).limit(page_size))
    return Page(items=list(session.scalars(statement)), total=total, page=page, page_size=page_size, more=more)


def _sorted_page(session: Session, conditions: list[ColumnElement[bool]], page: int, page_size: int) -> Page:
    """A page of matches that no index gives in name order (a tag's holders, looked up by the tag index).

    One statement reads every match's name and id as one JSON array; they are counted and sorted here, by name
    then id as SQLite's binary collation orders them. Counting and then sorting in two statements looked each
    holder up twice (twice the time), and fetching the pairs row by row handed the GIL over for each of them.
    """
    pairs = sorted(map(tuple, json.loads(session.scalar(
        select(func.json_group_array(func.json_array(Organization.name, Organization.id))).where(*conditions))
        or "[]")))
    total, page, more = _bounded(len(pairs), page, page_size)
    ids = tuple(org_id for _name, org_id in pairs[(page - 1) * page_size:page * page_size])
    return Page(items=cards_by_id(session, ids), total=total, page=page, page_size=page_size, more=more)


def search_directory(session: Session, filters: Filters, page: int, page_size: int,
                     choices: Choices | None = None) -> Page:
    """Approved organizations matching the filters, ordered by name, one page of them.

    Which organizations the page holds, and how many match, is kept per process while the organizations are
    unchanged (catalogs.answer, under the fingerprint the choices were read with): a filter or search many people
    ask for (their country, a category, a common word) is worked out once, and the cards are then read by id.
    """
    choices = choices or directory_choices(session)
    fresh: list[Page] = []

    def compute() -> tuple[tuple[int, ...], int, int, bool]:
        found = _search(session, filters, page, page_size, choices)
        fresh.append(found)
        return tuple(org.id for org in found.items), found.total, found.page, found.more

    question = (astuple(filters), page, page_size)
    ids, total, shown, more = catalogs.answer(session, "directory", choices.version, question, compute)
    if fresh:
        return fresh[0]
    return Page(items=cards_by_id(session, ids), total=total, page=shown, page_size=page_size, more=more)


def cards_by_id(session: Session, ids: tuple[int, ...]) -> list[Organization]:
    """The organizations' card columns, in the order of ids."""
    if not ids:
        return []
    rows = session.scalars(select(Organization).where(Organization.id.in_(ids)).options(load_only(*CARD_COLUMNS)))
    by_id = {org.id: org for org in rows}
    return [by_id[org_id] for org_id in ids if org_id in by_id]


def _search(session: Session, filters: Filters, page: int, page_size: int, choices: Choices) -> Page:
    match = trigram_match(session, filters.q) if filters.q else None
    if match is None:
        return _filtered(session, filters, page, page_size, choices)
    if known_total(filters, choices) == 0:
        return Page(items=[], total=0, page=1, page_size=page_size)
    scope = walk_scope(filters, choices)
    if scope is not None and scope <= MAX_HITS:
        # A kind or country with few organizations: walking them all, twice at most, costs no more than looking
        # up a common word's hits (a common word in Indonesia: 4.5 ms walked, 13 ms by the hits).
        return _filtered(session, filters, page, page_size, choices)
    count, hits = search_hits(session, match)
    if not count:
        return Page(items=[], total=0, page=1, page_size=page_size)
    if count <= MAX_HITS:  # counted and paged among the hits, looked up by id and sorted by name
        return _page_of(session, [among_hits(hits), *directory_conditions(filters, indexed=True)], page, page_size)
    rare = rare_tag(session, filters, choices)
    if rare is not None and holders_first(filters, choices, rare[2], page, page_size, counted=False):
        # Common words and a rare category or sector: the walk below would check every name for a few matches
        # (a common word among one category's holders: 300 ms at 100k); the holders are fewer.
        return _sorted_page(session, held_conditions(filters, rare), page, page_size)
    # Common words: the page is found by walking the name index. If the first hits already hold more matches than
    # the pages show, that is the count (one past the bound: "more than"); else the LIKE conditions count them.
    total, more = bounded_count(session, [among_hits(hits), *directory_conditions(filters, indexed=True)], page_size)
    walk = walk_by(session, filters, choices)
    return _page_of(session, directory_conditions(filters, walk=walk), page, page_size, total + 1 if more else None,
                    directory_conditions(filters, walk=walk, counting=True))


def _filtered(session: Session, filters: Filters, page: int, page_size: int, choices: Choices) -> Page:
    """A page of the filters without text search (or with words too short for the trigram index).

    A category or sector few organizations hold can be read the other way round on SQLite (see rare_tag). The
    page walks the name index (of all organizations, or of a kind or a country) and checks each one for the tag:
    a deep page of a rare tag read thousands of rows for each one shown (page 40 of a tag held by 1.6% of
    100,000: 100 ms), and with a kind too even the first page walked the whole kind to count the matches (the
    partner companies holding that tag: 80 ms). Where the walk would cost more than reading the tag's holders
    (holders_first), the holders are looked up by the tag index instead (at most MAX_TAG_HOLDERS of them; 5.5 ms
    for 1,561) and the page is chosen among them.
    """
    total = known_total(filters, choices)
    rare = rare_tag(session, filters, choices) if total != 0 else None
    if rare is None or not holders_first(filters, choices, rare[2], page, page_size, counted=total is not None):
        walk = walk_by(session, filters, choices)
        return _page_of(session, directory_conditions(filters, walk=walk), page, page_size, total,
                        directory_conditions(filters, walk=walk, counting=True))
    return _sorted_page(session, held_conditions(filters, rare), page, page_size)


def held_conditions(filters: Filters, rare: tuple[str, str, int]) -> list[ColumnElement[bool]]:
    """The filters' conditions on the holders of the rare tag, looked up by the tag index (SQLite); every word
    searched is matched by LIKE, as the trigram index's hits are not among them."""
    field_name, value, _holders = rare
    others = replace(filters, q="", **{"category" if field_name == "technology_categories" else "sector": ""})
    return [Organization.id.in_(select(OrganizationTag.organization_id).where(
        OrganizationTag.field == field_name, OrganizationTag.value == value)),
        *directory_conditions(others, indexed=True), *text_conditions(filters.q)]


def categories(session: Session) -> list[Category]:
    """The technology categories in their display order."""
    return catalogs.categories(session)


def partner_countries(session: Session) -> list[str]:
    """ISO codes of the JCM partner countries."""
    return catalogs.partner_countries(session)


def can_view_profiles(user: Any) -> bool:
    """Profiles are for organizers and members of approved organizations."""
    return user is not None and (user.is_organizer or (user.organization is not None and user.organization.is_approved))
