"""Pre-Matching verbs: an organization's recommendations with reasons, "Not interested" and its undo."""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import astuple, dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matchmaker import FusionWeights, Match, MatchIndex, format_reason, recommend
from matchmaker.engine import DEFAULT_FLOOR
from matchmaker.language import is_japanese
from models import (
    DismissedMatch,
    MeetingRequest,
    Organization,
    User,
)
from web.errors import Forbidden, NotFound
from web.i18n import _, country_choices, current_language, gettext
from web.services import after_commit, catalogs, directory
from web.services.matching_index import IndexState
from web.services.query_filters import QueryFilters

OPEN_STATUSES = ("pending", "accepted")
MAX_PAGES = 10
# Filter combinations whose excluded ids are kept per index (each set is computed by one pass over the index).
FILTER_SETS_KEPT = 64


@dataclass
class Filters(QueryFilters):
    """What the recommendations are narrowed to: the candidate's country, category and kind ('' = any)."""

    country: str = ""
    category: str = ""
    kind: str = ""

    @classmethod
    def from_params(cls, params: Any) -> Filters:
        """Filters from query parameters, trimmed and bounded as the directory's are."""
        common = directory.Filters.from_params(params)
        return cls(country=common.country, category=common.category, kind=common.kind)

    def accepts(self, profile: Any) -> bool:
        """Whether a candidate profile passes every filter."""
        return ((not self.country or profile.country == self.country)
                and (not self.category or self.category in profile.technology_categories)
                and (not self.kind or profile.kind == self.kind))


# The same profiles come back on every view: hashing a text is cheaper than counting its letters again.
_is_japanese = lru_cache(maxsize=4096)(is_japanese)


@dataclass(frozen=True, slots=True)
class CardOrganization:
    """What a recommendation card shows of an organization, read as plain columns: building 20 ORM objects was the
    largest part of a Pre-Matching view outside its template (py-spy --gil over benchmarks/load.py)."""

    id: int
    name: str
    kind: str
    country: str
    status: str
    is_demo: bool
    description: str
    offers: list[str]
    needs: list[str]
    contact_email: str
    claimed: bool  # an active user answers for it (else the card says "Not on the platform yet")

    @property
    def is_approved(self) -> bool:
        return self.status == "approved"


@dataclass
class Recommendation:
    """One recommended organization as the page shows it."""

    org: CardOrganization
    score: float
    reasons: list[str] = field(default_factory=list)

    @property
    def japanese_only(self) -> bool:
        """Whether the organization describes itself only in Japanese (a note tells other readers)."""
        return _is_japanese(" ".join([self.org.description or "", *(self.org.offers or []), *(self.org.needs or [])]))

    @property
    def percent(self) -> int:
        return max(0, min(100, round(self.score * 100)))


@dataclass
class Recommendations:
    """A page of recommendations (pages accumulate: page 2 shows the first two pages)."""

    items: list[Recommendation]
    page: int
    has_more: bool
    # True when the list ends because the remaining candidates score at or below the floor.
    below_floor: bool = False
    floor: float = 0.0

    @property
    def floor_percent(self) -> int:
        return round(self.floor * 100)


def parse_page(value: Any) -> int:
    """A page number from a query parameter, bounded (bad values mean page 1)."""
    try:
        return max(1, min(MAX_PAGES, int(value)))
    except (TypeError, ValueError):
        return 1


# Statements every Pre-Matching view runs, built once (building one cost more than SQLite took to answer it).
_DISMISSED_IDS = select(DismissedMatch.dismissed_org_id).where(DismissedMatch.organization_id == bindparam("org_id"))
# Two lookups, one per side's index. As one OR, SQLite (which keeps no statistics) read the status index instead:
# every open request on the platform (2,600 at 100,000 organizations, a tenth of the Pre-Matching page's time).
_REQUEST_PAIRS = union_all(*(select(MeetingRequest.requester_org_id, MeetingRequest.recipient_org_id)
                             .where(side == bindparam("org_id"), MeetingRequest.status.in_(OPEN_STATUSES))
                             for side in (MeetingRequest.requester_org_id, MeetingRequest.recipient_org_id)))
_DISMISSED_COUNT = select(func.count(DismissedMatch.id)).where(DismissedMatch.organization_id == bindparam("org_id"))


def excluded_org_ids(session: Session, org_id: int) -> set[int]:
    """Organizations left out for org_id: dismissed ones and those with an open or accepted request with it."""
    dismissed = set(session.scalars(_DISMISSED_IDS, {"org_id": org_id}))
    rows = session.execute(_REQUEST_PAIRS, {"org_id": org_id})
    return dismissed | {b if a == org_id else a for a, b in rows}


def reason_formatter(session: Session, language: str | None = None, translate: Callable[[str], str] = gettext):
    """A function rendering an engine reason in a language, with country and category names."""
    language = language or current_language()
    categories = {c.slug: c.name(language) for c in catalogs.categories(session)}
    countries = dict(country_choices(language))  # cached per language by i18n
    return lambda reason: format_reason(reason, translate=translate, country_names=countries,
                                        category_names=categories, language=language)


class _PerIndex:
    """Values derived from one match index, kept as long as that index is in use (a new index starts afresh)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: weakref.WeakKeyDictionary[MatchIndex, dict] = weakref.WeakKeyDictionary()

    def get(self, index: MatchIndex, key: Any, compute: Callable[[], Any], keep: int = FILTER_SETS_KEPT) -> Any:
        with self._lock:
            values = self._values.setdefault(index, OrderedDict())
            if key in values:
                values.move_to_end(key)
                return values[key]
        value = compute()  # outside the lock: one pass over the index, other requests go on meanwhile
        with self._lock:
            values[key] = value
            while len(values) > keep:
                values.popitem(last=False)
        return value


_PER_INDEX = _PerIndex()
# What a card shows, in CardOrganization's order: name, kind, country, status, the texts the "written in Japanese
# only" note reads, and the contact email (whether a request could invite an organization nobody answers for).
CARD_COLUMNS = (Organization.id, Organization.name, Organization.kind, Organization.country, Organization.status,
                Organization.is_demo, Organization.description, Organization.offers, Organization.needs,
                Organization.contact_email)
# Built once: composing the statement on every view (its cache key, the operators) cost as much as running it.
_CARD_ROWS = (select(*CARD_COLUMNS, exists().where(User.organization_id == Organization.id, User.is_active.is_(True)))
              .where(Organization.id.in_(bindparam("ids", expanding=True))))
# Rankings by everything they depend on (index, organization, how many, exclusions, weights, floor): a member who
# reloads Pre-Matching, comes back to it or pages back gets the ranking again without a pass over the index (at
# 100,000 organizations that pass is most of the page). Exclusions are read from the database on every view and
# are part of the key, and a changed profile or vector makes a new index, so a kept ranking is never a stale one.
_RANKINGS = _PerIndex()
RANKINGS_KEPT = 256
# A kept ranking's reasons as text, per language: formatting them (names of countries, categories and glossary
# terms, the translated templates) was a tenth of a Pre-Matching view, and they change only with the ranking.
_REASON_TEXTS = _PerIndex()


def index_countries(state: IndexState) -> list[str]:
    """Countries of the organizations in the index, for the country filter (one pass per index, then kept)."""
    index = state.index
    if index is None:
        return []
    return _PER_INDEX.get(index, "countries", lambda: sorted({p.country for p in index.profiles if p.country}))


def filtered_out(state: IndexState, filters: Filters) -> frozenset[str]:
    """Interchange ids of the indexed organizations the filters leave out (kept per index and filters)."""
    index = state.index
    if index is None or filters.is_empty():
        return frozenset()
    return _PER_INDEX.get(index, ("filters", astuple(filters)),
                          lambda: frozenset(p.id for p in index.profiles if not filters.accepts(p)))


def match_floor(settings: Any) -> float:
    """The score floor the settings ask for (negative: the engine's default)."""
    floor = getattr(settings, "match_floor", -1.0)
    return DEFAULT_FLOOR if floor is None or floor < 0 else float(floor)


def _ranked(state: IndexState, me: str, k: int, exclude: set[str], weights: FusionWeights,
            floor: float = DEFAULT_FLOOR) -> list[Match]:
    return recommend(state.index, me, k=k, exclude=exclude, weights=weights, floor=floor)


def recommendations_for(session: Session, state: IndexState, weights: FusionWeights, org: Organization,
                        filters: Filters, page: int, page_size: int,
                        floor: float = DEFAULT_FLOOR) -> Recommendations:
    """The organization's best matches (pages 1..page), without excluded ones and those the filters drop."""
    me = state.ext_id[org.id]
    excluded = frozenset(state.ext_id[i] for i in excluded_org_ids(session, org.id) if i in state.ext_id)
    k = page * page_size

    def rank() -> list[Match]:
        # Filtering by exclusion keeps the engine's own ranking and reasons for what is left.
        left_out = excluded | filtered_out(state, filters) if not filters.is_empty() else excluded
        return _ranked(state, me, k + 1, left_out, weights, floor)

    # The key holds the filters rather than the (large) set they leave out.
    key = (me, k + 1, excluded, astuple(filters), weights, floor)
    matches = _RANKINGS.get(state.index, key, rank, keep=RANKINGS_KEPT)
    language = current_language()
    texts = _REASON_TEXTS.get(state.index, (key, language), lambda: reason_texts(session, matches, language),
                              keep=RANKINGS_KEPT)
    has_more = len(matches) > k and page < MAX_PAGES
    # Fewer than asked: every other candidate scores at or below the floor (the page says so).
    below_floor = len(matches) <= k
    return Recommendations(_with_orgs(session, state, matches[:k], texts), page, has_more, below_floor, floor)


def recommendation_for(session: Session, state: IndexState, weights: FusionWeights, org: Organization,
                       other_id: int, floor: float = DEFAULT_FLOOR) -> Recommendation | None:
    """The one recommendation of other_id for org (None if the engine would not recommend it)."""
    other = state.ext_id.get(other_id)
    if other is None or org.id not in state:
        return None
    index = state.index
    others = _PER_INDEX.get(index, "all", lambda: frozenset(p.id for p in index.profiles)) - {other}
    items = _with_orgs(session, state, _ranked(state, state.ext_id[org.id], 1, others, weights, floor))
    return items[0] if items else None


def reason_texts(session: Session, matches: list[Match], language: str) -> list[list[str]]:
    """Each match's reasons as text in the language."""
    render = reason_formatter(session, language)
    return [[render(reason) for reason in match.reasons] for match in matches]


def _with_orgs(session: Session, state: IndexState, matches: list[Match],
               texts: list[list[str]] | None = None) -> list[Recommendation]:
    """The matches with their organizations' card columns, read now (approved ones only), and their reasons as
    text (texts: already formatted, in the order of matches)."""
    ids = [state.db_id[m.id] for m in matches]
    orgs = {row[0]: CardOrganization(*row) for row in session.execute(_CARD_ROWS, {"ids": ids})}
    texts = texts if texts is not None else reason_texts(session, matches, current_language())
    return [Recommendation(orgs[i], m.score, list(reasons))
            for i, m, reasons in zip(ids, matches, texts) if i in orgs and orgs[i].is_approved]


def own_organization(user: User) -> Organization:
    """The user's approved organization, or a refusal (organizers without one have no recommendations)."""
    if user.organization is None or not user.organization.is_approved:
        raise Forbidden(_("Recommendations are made for an approved member organization; your account has none."),
                        code="no_organization")
    return user.organization


def _other_org(session: Session, org: Organization, other_id: int) -> Organization:
    other = session.get(Organization, other_id)
    if other is None or other.id == org.id or not other.is_approved:
        raise NotFound(_("There is no such organization."))
    return other


def dismiss_match(session: Session, user: User, other_id: int) -> Organization:
    """Mark an organization "Not interested" for the user's organization (again is fine)."""
    org = own_organization(user)
    other = _other_org(session, org, other_id)
    try:
        with session.begin_nested():
            session.add(DismissedMatch(organization_id=org.id, dismissed_org_id=other.id, user_id=user.id))
    except IntegrityError:
        pass  # already dismissed (a double click): the wish is the same
    return other


def restore_match(session: Session, user: User, other_id: int) -> Organization:
    """Undo "Not interested": the organization may be recommended again."""
    org = own_organization(user)
    other = _other_org(session, org, other_id)  # like dismiss: 404 for one's own, unknown or unapproved ids
    session.execute(delete(DismissedMatch).where(DismissedMatch.organization_id == org.id,
                                                 DismissedMatch.dismissed_org_id == other.id))
    session.flush()
    return other


def dismissed_count(session: Session, org: Organization) -> int:
    """How many organizations org marked "Not interested"."""
    return session.scalar(_DISMISSED_COUNT, {"org_id": org.id}) or 0


def dismissed_organizations(session: Session, org: Organization) -> list[tuple[Organization, DismissedMatch]]:
    """The organizations org marked "Not interested", newest first."""
    # Only approved ones: one suspended since could not be restored (nor recommended) anyway.
    rows = session.execute(select(Organization, DismissedMatch)
                           .join(DismissedMatch, DismissedMatch.dismissed_org_id == Organization.id)
                           .where(DismissedMatch.organization_id == org.id, Organization.status == "approved")
                           .order_by(DismissedMatch.created_at.desc(), DismissedMatch.id.desc()))
    return [(o, d) for o, d in rows]


def nudge_embedding(session: Session) -> None:
    """Ask for the embedding job to run soon after this unit of work commits (pages never embed)."""
    after_commit.run_job(session, after_commit.EMBED_PROFILES)


def match_records(session: Session, state: IndexState, weights: FusionWeights, ids: list[str] | None,
                  k: int, floor: float = DEFAULT_FLOOR) -> Any:
    """The lines of `matchmaker matches`: {"id", "matches": [{"id", "score", "reasons"}]}, reasons in English."""
    render = reason_formatter(session, "en", translate=lambda text: text)
    if ids is None:
        ids = [state.ext_id[i] for i in sorted(state.ext_id)]
    for org_id in ids:
        matches = recommend(state.index, org_id, k=k, weights=weights, floor=floor) if state.index is not None else []
        yield {"id": org_id, "matches": [{"id": m.id, "score": round(m.score, 6),
                                          "reasons": [render(r) for r in m.reasons]} for m in matches]}
