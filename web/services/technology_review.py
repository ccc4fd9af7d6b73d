"""Organizers' review of the catalogue: publish, unpublish with a reason the owner reads, accept or decline changes."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from models import Organization, Technology, User
from models.base import utcnow
from web.errors import DomainError, ValidationFailed
from web.i18n import N_, _
from web.services import after_commit, notifications

TABS = {"review": N_("To review"), "published": N_("Published"), "unpublished": N_("Not published")}
DECISIONS = ("publish", "unpublish", "accept_changes", "decline_changes")
MAX_REASON = 2000
PAGE_SIZE = 50


class ReviewConflict(DomainError):
    """The technology is not in a state that allows this decision (someone decided first)."""

    status_code = 409
    code = "review_conflict"


def _tab_condition(tab: str):
    if tab == "review":
        return or_(Technology.status == "pending", Technology.pending_changes.is_not(None))
    return Technology.status == tab


def review_list(session: Session, tab: str, limit: int = PAGE_SIZE) -> list[Technology]:
    """Technologies of a tab, oldest change first for review (newest first otherwise)."""
    order = Technology.updated_at.asc() if tab == "review" else Technology.updated_at.desc()
    return list(session.scalars(select(Technology).join(Organization).where(_tab_condition(tab))
                                .order_by(order, Technology.id).limit(limit)))


def review_counts(session: Session) -> dict[str, int]:
    """How many technologies each tab holds."""
    counts = {tab: 0 for tab in TABS}
    counts["review"] = session.scalar(select(func.count(Technology.id)).where(_tab_condition("review"))) or 0
    for status, count in session.execute(select(Technology.status, func.count(Technology.id))
                                         .where(Technology.status.in_(("published", "unpublished")))
                                         .group_by(Technology.status)):
        counts[status] = count
    return counts


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        message = _("Give a reason: the organization will see it.")
        raise ValidationFailed(message, field_errors={"reason": message})
    if len(reason) > MAX_REASON:
        message = _("Keep the reason to 2,000 characters.")
        raise ValidationFailed(message, field_errors={"reason": message})
    return reason


def _apply_changes(technology: Technology) -> None:
    for name, value in (technology.pending_changes or {}).items():
        setattr(technology, name, value)
    technology.pending_changes = None


def review_technology(session: Session, settings, organizer: User, technology: Technology, decision: str,
                      reason: str = "") -> str:
    """Carry out an organizer's decision; the owner's members are told in-app and by email. Returns the decision."""
    if decision not in DECISIONS:
        raise ValidationFailed(_("Unknown decision."))
    status, changes = technology.status, technology.pending_changes
    now = utcnow()
    kind, extra = "", {"technology": technology.name, "reason": ""}
    if decision == "publish":
        if status == "published":
            raise ReviewConflict(_("This technology is already published."))
        _apply_changes(technology)
        technology.status, technology.status_reason, technology.review_note = "published", "", ""
        technology.published_at = technology.published_at or now
        kind = "technology_published"
    elif decision == "unpublish":
        reason = _reason(reason)
        if status == "unpublished":
            raise ReviewConflict(_("This technology is already not published."))
        technology.status, technology.status_reason = "unpublished", reason
        technology.pending_changes = None
        kind, extra["reason"] = "technology_unpublished", reason
    elif decision == "accept_changes":
        if status != "published" or not changes:
            raise ReviewConflict(_("There are no changes waiting for review."))
        _apply_changes(technology)
        technology.review_note = ""
        kind = "technology_published"
    else:
        reason = _reason(reason)
        if status != "published" or not changes:
            raise ReviewConflict(_("There are no changes waiting for review."))
        technology.pending_changes, technology.review_note = None, reason
        kind, extra["reason"] = "technology_changes_declined", reason
    technology.reviewed_at = technology.updated_at = now
    if status == "published" or technology.status == "published":
        # What the catalogue and matching show of the organization changed: its fingerprint must move.
        technology.organization.updated_at = now
    if decision != "decline_changes":
        # Public text appeared, changed or went: the need index and the organization's offers in matching follow.
        after_commit.run_job(session, after_commit.INDEX_TECHNOLOGIES)
        after_commit.run_job(session, after_commit.EMBED_PROFILES)
    session.flush()
    extra["public_link"] = (settings.base_url.rstrip("/") + f"/technologies/{technology.id}"
                            if technology.status == "published" else "")
    notifications.notify_org(session, settings, technology.organization_id, kind, None,
                             org=technology.organization, extra=extra)
    return decision
