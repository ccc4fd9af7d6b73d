"""What the request tabs list: one page of a tab's requests (sent, received, matches), its counts per status, and
the API's plain rows of the same list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, exists, func, or_, select, union_all
from sqlalchemy.orm import Session, aliased, defer, joinedload

from models import MEETING_STATUSES, MeetingRequest, Organization, User


def _box_filter(box: str, org_id: Any):
    if box == "sent":
        return MeetingRequest.requester_org_id == org_id
    if box == "received":
        return MeetingRequest.recipient_org_id == org_id
    # Matches: the organization's accepted requests on either side, looked up by each side's index. Written as
    # "status = accepted AND (one side OR the other)", SQLite read every accepted request on the platform through
    # the status index and kept the organization's (as Pre-Matching's exclusions did).
    inner = aliased(MeetingRequest)
    return MeetingRequest.id.in_(union_all(
        *(select(inner.id).where(side == org_id, inner.status == "accepted")
          for side in (inner.requester_org_id, inner.recipient_org_id))))


# Columns of the two organizations a list row never shows: long texts and JSON lists that cost more to load than
# the rest of the row (the API's 200 rows took 18 ms, two thirds of it loading them).
LIST_SKIPS = (Organization.description, Organization.search_text, Organization.offers, Organization.needs,
              Organization.sectors, Organization.technology_categories, Organization.target_countries)


# The most rows one API call lists (a page; the API pages with limit and offset).
API_PAGE_MAX = 200


def list_requests(session: Session, user: User, box: str, status: str = "", q: str = "",
                  limit: int = 200, offset: int = 0) -> tuple[list[MeetingRequest], dict[str, int]]:
    """Requests in a tab (sent, received or matches), filtered, newest first from `offset`, with counts per status,
    as ORM objects with both organizations (for callers that need more of them than a list row shows)."""
    statements, params = _query(user, box, status, q, limit, offset)
    return list(session.scalars(statements[1], params).all()), _counts(session, statements[0], params)


def list_tab(session: Session, user: User, box: str, status: str = "", q: str = "",
             limit: int = 200, offset: int = 0) -> tuple[list[RequestRow], dict[str, int]]:
    """What a request tab shows: list_requests's page as RequestRows (plain rows, no ORM objects), and the counts.

    Twenty-one requests with their two organizations each as ORM objects were a fifth of a tab's time."""
    statements, params = _query(user, box, status, q, limit, offset)
    return _rows(session, statements, params), _counts(session, statements[0], params)


def list_request_rows(session: Session, user: User, box: str, status: str = "", q: str = "",
                      limit: int = 200, offset: int = 0) -> list[RequestRow]:
    """The rows of a tab as list_requests orders and filters them, as RequestRows, without the counts.

    For the API, which shows no counts: 90 requests with their two organizations each as ORM objects took two
    thirds of `/api/v1/requests` (8 ms at 100,000 organizations).
    """
    statements, params = _query(user, box, status, q, limit, offset)
    return _rows(session, statements, params)


def contacts(session: Session, org_ids: Any) -> dict[int, tuple[str, str, str]]:
    """{organization id: (contact name, email, phone)} of these organizations, for a list of matches.

    The API's matches were list_requests's ORM objects for three contact columns, and the counts it left
    unused: a fifth of `/api/v1/matches` was loading them (py-spy, 100,000 organizations).
    """
    ids = sorted(set(org_ids))
    if not ids:
        return {}
    rows = session.execute(_CONTACTS, {"ids": ids})
    return {org_id: (name or "", email or "", phone or "") for org_id, name, email, phone in rows}


_CONTACTS = select(Organization.id, Organization.contact_name, Organization.contact_email,
                   Organization.contact_phone).where(Organization.id.in_(bindparam("ids", expanding=True)))


def _rows(session: Session, statements: Any, params: dict[str, Any]) -> list[RequestRow]:
    return [RequestRow.of(row) for row in session.execute(statements[2], params)]


def _query(user: User, box: str, status: str, q: str, limit: int, offset: int) -> tuple[Any, dict[str, Any]]:
    """The tab's statements (count, rows, plain rows) and their parameters."""
    text = q.strip()
    filtered = status in MEETING_STATUSES
    params: dict[str, Any] = {"org_id": user.organization_id, "offset": offset, "limit": limit}
    if text:
        params["name_like"] = _name_like(text)
    if filtered:
        params["status"] = status
    return _list_statements(box, bool(text), filtered), params


def _counts(session: Session, count_statement: Any, params: dict[str, Any]) -> dict[str, int]:
    """Requests per status and in all (the count ignores the status filter, offset and limit)."""
    counts = dict(session.execute(count_statement, params).all())
    return {key: counts.get(key, 0) for key in MEETING_STATUSES} | {"all": sum(counts.values())}


@dataclass(frozen=True, slots=True)
class Side:
    """One organization of a listed request: what a row shows of it."""

    id: int
    name: str
    country: str
    kind: str


@dataclass(frozen=True, slots=True)
class RequestRow:
    """A request as a tab lists it (requests/_request_row.html reads it as it reads a MeetingRequest)."""

    id: int
    status: str
    requester_org_id: int
    recipient_org_id: int
    message: str
    topics: list[str]
    event_id: int | None
    decline_reason: str | None
    created_at: datetime
    expires_at: datetime
    responded_at: datetime | None
    requester_org: Side
    recipient_org: Side

    @classmethod
    def of(cls, row: Any) -> RequestRow:
        """From a row of ROW_COLUMNS, unpacked by position: a Row's attribute lookup by name costs ten times an
        index (0.5 us), and 17 of them per row were a quarter of `/api/v1/requests` (90 rows)."""
        (id_, status, requester_id, recipient_id, message, topics, event_id, decline_reason, created_at, expires_at,
         responded_at, requester_name, requester_country, requester_kind, recipient_name, recipient_country,
         recipient_kind) = row
        return cls(id_, status, requester_id, recipient_id, message, topics or [], event_id, decline_reason,
                   created_at, expires_at, responded_at,
                   Side(requester_id, requester_name, requester_country, requester_kind),
                   Side(recipient_id, recipient_name, recipient_country, recipient_kind))

    def other_org(self, org_id: int | None) -> Side:
        """The organization on the other side from org_id."""
        return self.recipient_org if org_id == self.requester_org_id else self.requester_org


def _name_like(text: str) -> str:
    """A LIKE pattern for a name holding `text` (wildcards escaped with /)."""
    return "%" + text.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


_REQUESTER, _RECIPIENT = aliased(Organization, name="requester"), aliased(Organization, name="recipient")
# What the API's request list gives per row: the request's own columns and each side's id, name, country and kind.
ROW_COLUMNS = (MeetingRequest.id, MeetingRequest.status, MeetingRequest.requester_org_id,
               MeetingRequest.recipient_org_id, MeetingRequest.message, MeetingRequest.topics, MeetingRequest.event_id,
               MeetingRequest.decline_reason, MeetingRequest.created_at, MeetingRequest.expires_at,
               MeetingRequest.responded_at,
               *(column.label(f"{side}_{column.key}") for side, org in (("requester", _REQUESTER),
                                                                         ("recipient", _RECIPIENT))
                 for column in (org.name, org.country, org.kind)))


def _named(side: Any) -> Any:
    """The organization in column `side` has a name like :name_like."""
    other = aliased(Organization)
    return exists().where(other.id == side,
                          func.lower(other.name).like(func.lower(bindparam("name_like")), escape="/"))


@lru_cache(maxsize=None)
def _list_statements(box: str, searched: bool, filtered: bool) -> tuple[Any, Any, Any]:
    """The count, row and plain-row statements of a tab, built once per shape with bound parameters: the row
    statement with its loader options took longer to build than the database took to answer it (the request tabs
    are the pages seen most after Pre-Matching)."""
    org_id = bindparam("org_id")
    conditions = [_box_filter(box, org_id)]
    if searched:
        # The name searched is the other side's, whichever column that is (case-insensitive, wildcards escaped),
        # looked up by id for each of the organization's requests. As `side IN (ids of the names that match)`,
        # SQLite matched every organization's name first: 50 ms at 100,000 for any word, 140 ms for "a".
        conditions.append(or_((MeetingRequest.requester_org_id != org_id) & _named(MeetingRequest.requester_org_id),
                              (MeetingRequest.recipient_org_id != org_id) & _named(MeetingRequest.recipient_org_id)))
    counts = select(MeetingRequest.status, func.count()).where(*conditions).group_by(MeetingRequest.status)
    if filtered:
        conditions.append(MeetingRequest.status == bindparam("status"))
    order = MeetingRequest.responded_at.desc() if box == "matches" else MeetingRequest.created_at.desc()
    rows = (select(MeetingRequest).where(*conditions).order_by(order, MeetingRequest.id.desc())
            .options(*(joinedload(side).options(*(defer(column) for column in LIST_SKIPS))
                       for side in (MeetingRequest.requester_org, MeetingRequest.recipient_org)))
            .offset(bindparam("offset")).limit(bindparam("limit")))
    plain = (select(*ROW_COLUMNS).join(_REQUESTER, _REQUESTER.id == MeetingRequest.requester_org_id)
             .join(_RECIPIENT, _RECIPIENT.id == MeetingRequest.recipient_org_id)
             .where(*conditions).order_by(order, MeetingRequest.id.desc())
             .offset(bindparam("offset")).limit(bindparam("limit")))
    return counts, rows, plain
