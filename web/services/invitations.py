"""Invitations: an organization nobody has claimed (imported, demo) is invited by email to join and answer.

An organization is "on the platform" once it has an active user account. Until then a meeting request to it
invites its contact person (once per period), and an organizer can invite any contact. The link is single-use
and expires; only a hash of its token is stored, and claiming spends it with one conditional UPDATE.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Invitation, MeetingRequest, Organization, User
from models.base import utcnow
from web import i18n
from web.errors import DomainError, ValidationFailed
from web.i18n import LANGUAGES, _, is_time_zone
from web.security import hash_password, new_token, token_digest
from web.services import outbox
from web.services.accounts import find_user_by_email, normalize_email
from web.services.passwords import password_errors
from web.services.notifications import email_environment
from web.services.text import single_line_error


class InvitationSpent(DomainError):
    """The link is unknown, expired or already used."""

    status_code = 400
    code = "invitation_invalid"


# Built once: the directory runs it on every view (building it cost more than running it).
_CLAIMED = (select(User.organization_id).where(User.organization_id.in_(bindparam("ids", expanding=True)),
                                               User.is_active.is_(True)).distinct())


def unclaimed_ids(session: Session, org_ids) -> set[int]:
    """The organizations among org_ids that nobody can answer for yet (no active user account)."""
    ids = {int(i) for i in org_ids}
    if not ids:
        return set()
    return ids - set(session.scalars(_CLAIMED, {"ids": sorted(ids)}))


def is_unclaimed(session: Session, org_id: int) -> bool:
    return bool(unclaimed_ids(session, [org_id]))


def latest_invitations(session: Session, org_ids) -> dict[int, Invitation]:
    """The newest invitation of each organization that has one."""
    ids = {int(i) for i in org_ids}
    if not ids:
        return {}
    newest = (select(func.max(Invitation.id)).where(Invitation.organization_id.in_(ids))
              .group_by(Invitation.organization_id))
    return {inv.organization_id: inv for inv in session.scalars(select(Invitation).where(Invitation.id.in_(newest)))}


def latest_invitation(session: Session, org_id: int) -> Invitation | None:
    return latest_invitations(session, [org_id]).get(org_id)


def _language_for(org: Organization) -> str:
    # The contact has no account, so no language yet: Japanese for Japanese organizations, English otherwise.
    return "ja" if org.country == "JP" else "en"


def _send(session: Session, settings, org: Organization, email: str, *, reason: str,
          inviter: User | None = None, req: MeetingRequest | None = None) -> Invitation:
    token = new_token()
    now = utcnow()
    invitation = Invitation(organization_id=org.id, email=email, token_hash=token_digest(token), reason=reason,
                            invited_by_user_id=inviter.id if inviter else None, request_id=req.id if req else None,
                            created_at=now, expires_at=now + timedelta(days=settings.invitation_days))
    session.add(invitation)
    session.flush()
    language = _language_for(org)
    base = settings.base_url.rstrip("/")
    with i18n.use_language(language):
        requester = req.requester_org.name if req is not None else ""
        subject = (_("%(org)s would like to meet %(name)s on JCM Matchmaker") % {"org": requester, "name": org.name}
                   if req is not None else _("You are invited to JCM Matchmaker for %(name)s") % {"name": org.name})
        body = email_environment().get_template("organization_invitation.txt").render({
            "org": org, "request": req, "requester": requester, "link": f"{base}/invitations/{token}",
            "days": settings.invitation_days, "base_url": base,
        })
    # Sensitive: the link is a credential, so the stored body is removed once the mail is sent.
    outbox.enqueue_email(session, email, subject, body, language, sensitive=True)
    return invitation


def invite_organization(session: Session, settings, org: Organization, email: str, inviter: User) -> Invitation:
    """An organizer invites an organization's contact; an organization without a contact email gets this one."""
    try:
        address = normalize_email(email or "")
    except ValueError:
        message = _("Enter a valid email address.")
        raise ValidationFailed(message, field_errors={"email": message})
    if not is_unclaimed(session, org.id):
        raise DomainError(_("%(name)s is already on the platform: its members can be reached directly.")
                          % {"name": org.name}, status_code=409, code="already_claimed")
    if not org.contact_email:
        org.contact_email = address
    return _send(session, settings, org, address, reason="organizer", inviter=inviter)


def recent_invitation(session: Session, settings, org_id: int) -> Invitation | None:
    """The newest invitation of the organization if it went out within the resend period (no new one then)."""
    since = utcnow() - timedelta(days=settings.invitation_resend_days)
    return session.scalar(select(Invitation).where(Invitation.organization_id == org_id, Invitation.created_at > since)
                          .order_by(Invitation.id.desc()).limit(1))


def invite_for_request(session: Session, settings, req: MeetingRequest, target: Organization) -> Invitation | None:
    """After a request to an organization nobody answers for: invite its contact, unless invited recently."""
    if not target.contact_email or not is_unclaimed(session, target.id):
        return None
    if recent_invitation(session, settings, target.id) is not None:
        return None
    return _send(session, settings, target, target.contact_email, reason="request", req=req)


def find_invitation(session: Session, token: str) -> Invitation:
    """A valid, unused invitation, or an error that says the link is spent."""
    row = session.scalar(select(Invitation).where(Invitation.token_hash == token_digest(token)))
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise InvitationSpent(_("This invitation link has expired or was already used. Ask the organizers for a new "
                                "one, or log in if you already have an account."))
    return row


def _validate_claim(session: Session, invitation: Invitation, form: dict[str, Any]) -> dict[str, str]:
    full_name = str(form.get("full_name", "")).strip()
    errors = password_errors(str(form.get("password", "")), str(form.get("password_confirm", "")),
                             email=invitation.email, name=full_name)
    if not 1 <= len(full_name) <= 200:
        errors["full_name"] = _("Enter your name.")
    elif message := single_line_error(full_name):
        errors["full_name"] = message
    if not is_time_zone(str(form.get("time_zone", ""))):
        errors["time_zone"] = _("Choose a time zone from the list.")
    if find_user_by_email(session, invitation.email) is not None:
        errors["email"] = _("An account with this email already exists. Log in or reset your password.")
    return errors


def spend_invitation(session: Session, invitation: Invitation) -> bool:
    """Mark the link used with one conditional UPDATE: of two concurrent claims exactly one gets True."""
    now = utcnow()
    spent = session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.used_at.is_(None), Invitation.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return spent.rowcount == 1


def claim_invitation(session: Session, token: str, form: dict[str, Any]) -> User:
    """Create the contact's account as a member of the invited organization; the link is spent exactly once."""
    invitation = find_invitation(session, token)
    errors = _validate_claim(session, invitation, form)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    if not spend_invitation(session, invitation):  # another tab or person used the link a moment ago
        raise InvitationSpent(_("This invitation link has expired or was already used. Ask the organizers for a "
                                "new one, or log in if you already have an account."))
    language = str(form.get("language", "en"))
    user = User(email=invitation.email, password_hash=hash_password(str(form["password"])),
                full_name=str(form["full_name"]).strip(), organization_id=invitation.organization_id, role="member",
                language=language if language in LANGUAGES else "en", time_zone=str(form["time_zone"]))
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError:
        # The address got an account at the same moment: refuse, and the request's rollback keeps the link valid.
        raise DomainError(_("An account with this email already exists. Log in or reset your password."),
                          status_code=409, code="email_taken")
    session.execute(update(Invitation).where(Invitation.id == invitation.id).values(used_by_user_id=user.id)
                    .execution_options(synchronize_session=False))
    session.refresh(invitation)
    return user


def after_claim_path(session: Session, user: User) -> str:
    """Where a new member goes first: the requests waiting for an answer, else the profile."""
    waiting = session.scalar(select(MeetingRequest.id).where(MeetingRequest.recipient_org_id == user.organization_id,
                                                             MeetingRequest.status == "pending").limit(1))
    return "/requests/received" if waiting is not None and user.organization.is_approved else "/profile?welcome=1"
