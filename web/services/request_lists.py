"""What the request tabs list: one page of a tab's requests (sent, received, matches), its counts per status, and
the API's plain rows of the same list."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session, aliased, defer, joinedload

from models import MEETING_STATUSES, MeetingRequest, Organization, User


def _box_filter(box: str, org_id: int | None):
    if box == "sent":
        return MeetingRequest.requester_org_id == org_id
    if box == "received":
        return MeetingRequest.recipient_org_id == org_id
    return (MeetingRequest.status == "accepted") & or_(MeetingRequest.requester_org_id == org_id,
                                                       MeetingRequest.recipient_org_id == org_id)


# Columns of the two organizations a list row never shows: long texts and JSON lists that cost more to load than
# the rest of the row (the API's 200 rows took 18 ms, two thirds of it loading them).
LIST_SKIPS = (Organization.description, Organization.search_text, Organization.offers, Organization.needs,
              Organization.sectors, Organization.technology_categories, Organization.target_countries)


def list_requests(session: Session, user: User, box: str, status: str = "", q: str = "",
                  limit: int = 200, offset: int = 0) -> tuple[list[MeetingRequest], dict[str, int]]:
    """Requests in a tab (sent, received or matches), filtered, newest first from `offset`, with counts per status."""
    text = q.strip()
    filtered = status in MEETING_STATUSES
    count_statement, rows_statement, _plain = _list_statements(box, bool(text), filtered)
    params: dict[str, Any] = {"org_id": user.organization_id}
    if text:
        params["name_like"] = _name_like(text)
    counts = dict(session.execute(count_statement, params).all())
    counts = {key: counts.get(key, 0) for key in MEETING_STATUSES} | {"all": sum(counts.values())}
    params |= {"offset": offset, "limit": limit} | ({"status": status} if filtered else {})
    return list(session.scalars(rows_statement, params).all()), counts


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


@lru_cache(maxsize=None)
def _list_statements(box: str, searched: bool, filtered: bool) -> tuple[Any, Any, Any]:
    """The count, row and plain-row statements of a tab, built once per shape with bound parameters: the row
    statement with its loader options took longer to build than the database took to answer it (the request tabs
    are the pages seen most after Pre-Matching)."""
    org_id = bindparam("org_id")
    conditions = [_box_filter(box, org_id)]
    if searched:
        # The name searched is the other side's, whichever column that is (case-insensitive, wildcards escaped).
        names = select(Organization.id).where(
            func.lower(Organization.name).like(func.lower(bindparam("name_like")), escape="/"))
        conditions.append(or_((MeetingRequest.requester_org_id != org_id) & MeetingRequest.requester_org_id.in_(names),
                              (MeetingRequest.recipient_org_id != org_id) & MeetingRequest.recipient_org_id.in_(names)))
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


def list_request_rows(session: Session, user: User, box: str, status: str = "", q: str = "",
                      limit: int = 200, offset: int = 0) -> list[Any]:
    """The rows of a tab as list_requests orders and filters them, as plain rows of ROW_COLUMNS (no counts).

    For the API, which shows no counts and needs nothing but these columns: 90 requests with their two
    organizations each as ORM objects took two thirds of `/api/v1/requests` (8 ms at 100,000 organizations).
    """
    text = q.strip()
    filtered = status in MEETING_STATUSES
    params: dict[str, Any] = {"org_id": user.organization_id, "offset": offset, "limit": limit}
    if text:
        params["name_like"] = _name_like(text)
    if filtered:
        params["status"] = status
    return list(session.execute(_list_statements(box, bool(text), filtered)[2], params))
