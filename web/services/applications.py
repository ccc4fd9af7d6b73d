"""The organizer's review queue: organizations by status, with the people who signed up for them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from models import ORGANIZATION_STATUSES, Organization, User
from web.services import notifications

PAGE_SIZE = 50
# Decisions an organizer can take from each status (the button shown, the status it leads to).
DECISIONS = {
    "pending": (("approve", "approved"), ("reject", "rejected")),
    "approved": (("suspend", "suspended"),),
    "rejected": (("approve", "approved"),),
    "suspended": (("reinstate", "approved"),),
}


@dataclass
class ApplicationPage:
    """One page of organizations of a status."""

    status: str
    organizations: list[Organization]
    page: int
    pages: int
    total: int
    query: str


def count_by_status(session: Session) -> dict[str, int]:
    """How many organizations have each status (zero included)."""
    counts = dict(session.execute(select(Organization.status, func.count()).group_by(Organization.status)).all())
    return {status: counts.get(status, 0) for status in ORGANIZATION_STATUSES}


def _conditions(status: str, query: str) -> list:
    conditions = [Organization.status == status]
    if query:
        conditions.append(Organization.name.icontains(query, autoescape=True))
    return conditions


def count_applications(session: Session, status: str = "pending", query: str = "") -> int:
    """How many organizations a tab of the queue lists (with its name search)."""
    status = status if status in ORGANIZATION_STATUSES else "pending"
    return session.scalar(select(func.count()).select_from(Organization)
                          .where(*_conditions(status, query.strip()[:100]))) or 0


def list_applications(session: Session, status: str = "pending", page: int = 1, query: str = "") -> ApplicationPage:
    """Organizations of a status: the waiting ones oldest first, the reviewed ones latest review first."""
    status = status if status in ORGANIZATION_STATUSES else "pending"
    query = query.strip()[:100]
    conditions = _conditions(status, query)
    total = count_applications(session, status, query)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    offset = (page - 1) * PAGE_SIZE
    if status == "pending":
        organizations = _page(session, conditions, (Organization.created_at, Organization.id), offset, PAGE_SIZE)
    else:
        organizations = _latest_reviewed(session, conditions, offset)
    return ApplicationPage(status=status, organizations=organizations, page=page, pages=pages, total=total,
                           query=query)


def _page(session: Session, conditions: list, order: tuple, offset: int, limit: int) -> list[Organization]:
    return list(session.scalars(select(Organization).where(*conditions).options(selectinload(Organization.users))
                                .order_by(*order).limit(limit).offset(offset)))


def _latest_reviewed(session: Session, conditions: list, offset: int) -> list[Organization]:
    """A page of a reviewed tab, latest review first, then those never reviewed (imported), newest first.

    Read as two walks of the (status, reviewed_at, id) index, the reviewed ones and then the others. Without the
    index SQLite sorted every organization of the status (at 100,000 approved ones, 344 ms for the first page,
    618 ms for page 50; now 23 ms). SQLite could read `reviewed_at DESC NULLS LAST` in one statement from the
    index backwards, PostgreSQL cannot: its index keeps NULLs after the dates, so backwards they come first, and it
    sorted instead (19 ms for 100,000 rows, against 0.1 ms for the walks).
    """
    reviewed = [*conditions, Organization.reviewed_at.is_not(None)]
    count = session.scalar(select(func.count()).select_from(Organization).where(*reviewed)) or 0
    found = (_page(session, reviewed, (Organization.reviewed_at.desc(), Organization.id.desc()), offset, PAGE_SIZE)
             if offset < count else [])
    if len(found) < PAGE_SIZE:
        found += _page(session, [*conditions, Organization.reviewed_at.is_(None)], (Organization.id.desc(),),
                       max(0, offset - count), PAGE_SIZE - len(found))
    return found


def count_pending(session: Session) -> int:
    """Organizations waiting for review (the badge on the Organizer link)."""
    return session.scalar(select(func.count()).select_from(Organization)
                          .where(Organization.status == "pending")) or 0


def announce_application(session: Session, settings, org: Organization, applicant: User) -> int:
    """Tell every organizer (in-app and by email, in their language) that an organization waits for review."""
    return notifications.notify_organizers(session, settings, "organization_applied", f"applied:{org.id}", org=org,
                                           extra={"applicant": applicant})
