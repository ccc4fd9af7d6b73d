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
    order = ((Organization.created_at, Organization.id) if status == "pending"
             else (Organization.reviewed_at.desc().nulls_last(), Organization.id.desc()))
    organizations = list(session.scalars(
        select(Organization).where(*conditions).options(selectinload(Organization.users))
        .order_by(*order).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ))
    return ApplicationPage(status=status, organizations=organizations, page=page, pages=pages, total=total,
                           query=query)


def count_pending(session: Session) -> int:
    """Organizations waiting for review (the badge on the Organizer link)."""
    return session.scalar(select(func.count()).select_from(Organization)
                          .where(Organization.status == "pending")) or 0


def announce_application(session: Session, settings, org: Organization, applicant: User) -> int:
    """Tell every organizer (in-app and by email, in their language) that an organization waits for review."""
    return notifications.notify_organizers(session, settings, "organization_applied", f"applied:{org.id}", org=org,
                                           extra={"applicant": applicant})
