"""Account verbs: sign up with a confirmed address, log in with throttling, reset or change a password."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from zoneinfo import available_timezones

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import null, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import PasswordResetToken, User
from models.base import utcnow
from web.errors import DomainError, ValidationFailed
from web.i18n import LANGUAGES, _, use_language
from web.security import DUMMY_HASH, hash_password, needs_rehash, new_token, token_digest, verify_password
from web.services import login_throttle, sessions
from web.services.text import single_line_error
from web.services.organizations import category_slugs, create_organization, validate_organization
from web.services.outbox import enqueue_email
from web.services.passwords import check_password
from web.settings import Settings

TIME_ZONES = sorted(tz for tz in available_timezones() if "/" in tz and not tz.startswith(("Etc/", "SystemV/")))
__all__ = ["check_password"]  # re-exported: the command line and older callers import it from here


def normalize_email(value: str) -> str:
    """A syntactically valid, lower-cased email address, or ValueError with the reason."""
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


# --- emailed single-use links ----------------------------------------------------------------

def issue_token(session: Session, settings: Settings, user: User, purpose: str) -> str:
    """A new single-use link token for the user ("reset" or "confirm"); only its hash is stored."""
    hours = settings.password_reset_hours if purpose == "reset" else settings.email_confirm_hours
    token = new_token()
    session.add(PasswordResetToken(user_id=user.id, purpose=purpose, token_hash=token_digest(token),
                                   expires_at=utcnow() + timedelta(hours=hours)))
    session.flush()
    return token


def find_token(session: Session, token: str, purpose: str) -> PasswordResetToken:
    """A valid, unused token, or an error: 409 when it was used (a parallel click won), 400 when unknown or old."""
    row = session.scalar(select(PasswordResetToken).where(PasswordResetToken.token_hash == token_digest(token),
                                                          PasswordResetToken.purpose == purpose))
    if row is not None and row.used_at is not None:
        raise DomainError(_("This link was already used. If that was not you, ask for a new one."),
                          status_code=409, code="token_used")
    if row is None or row.expires_at < utcnow():
        raise DomainError(_("This link has expired or is not valid. Ask for a new one."),
                          status_code=400, code="token_invalid")
    return row


def _consume_token(session: Session, token: str, purpose: str) -> int:
    """Spend the token with one conditional UPDATE (of parallel uses exactly one wins) and the user's other links."""
    now = utcnow()
    user_id = session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.token_hash == token_digest(token), PasswordResetToken.purpose == purpose,
               PasswordResetToken.used_at.is_(None), PasswordResetToken.expires_at > now)
        .values(used_at=now).returning(PasswordResetToken.user_id)
    ).scalar()
    if user_id is None:
        raise DomainError(_("This link was already used. If that was not you, ask for a new one."),
                          status_code=409, code="token_used")
    # An older link must not work once a newer one was used (nor the other way round).
    session.execute(update(PasswordResetToken)
                    .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None))
                    .values(used_at=now).execution_options(synchronize_session=False))
    return user_id


def _link(settings: Settings, path: str) -> str:
    return f"{settings.base_url.rstrip('/')}{path}"


# --- sign-up ---------------------------------------------------------------------------------

def _validate_sign_up(session: Session, form: dict[str, str]) -> tuple[dict, object]:
    errors: dict[str, str] = {}
    values = {"email": "", "full_name": form.get("full_name", "").strip(), "language": form.get("language", "en"),
              "time_zone": form.get("time_zone", "Asia/Tokyo")}
    try:
        values["email"] = normalize_email(form.get("email", ""))
    except ValueError:
        errors["email"] = _("Enter a valid email address.")
    password_error = check_password(form.get("password", ""), form.get("password_confirm", ""),
                                    email=values["email"] or form.get("email", ""), name=values["full_name"])
    if password_error:
        errors["password"] = password_error
    if not 1 <= len(values["full_name"]) <= 200:
        errors["full_name"] = _("Enter your name.")
    elif message := single_line_error(values["full_name"]):
        errors["full_name"] = message
    if values["language"] not in LANGUAGES:
        values["language"] = "en"
    if values["time_zone"] not in TIME_ZONES:
        errors["time_zone"] = _("Choose a time zone from the list.")
    data, org_errors = validate_organization(
        {"name": form.get("organization_name", ""), "kind": form.get("kind", ""), "country": form.get("country", "")},
        category_slugs(session),
    )
    for key, message in org_errors.items():
        errors["organization_name" if key == "name" else key] = message
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    return values, data


def sign_up(session: Session, settings: Settings, form: dict[str, str]) -> User | None:
    """Create a user and its organization (pending) and email a link that confirms the address.

    If the address already has an account, nothing is created and its holder is told by email instead: the
    page says "check your email" either way, so the form does not reveal who has an account.
    """
    values, data = _validate_sign_up(session, form)
    password_hash = hash_password(form["password"])  # on both paths, so they take the same time
    existing = find_user_by_email(session, values["email"])
    if existing is None:
        try:
            with session.begin_nested():
                organization = create_organization(session, data, status="pending")
                organization.contact_name = values["full_name"]
                organization.contact_email = values["email"]
                user = User(email=values["email"], password_hash=password_hash, full_name=values["full_name"],
                            organization=organization, role="member", language=values["language"],
                            time_zone=values["time_zone"], email_verified_at=null())  # not the default: unconfirmed
                session.add(user)
                session.flush()
        except IntegrityError:
            existing = find_user_by_email(session, values["email"])  # a parallel sign-up with this address won
            if existing is None:
                raise
        else:
            send_confirmation(session, settings, user)
            return user
    _tell_existing_account(session, settings, existing)
    return None


def send_confirmation(session: Session, settings: Settings, user: User) -> None:
    """Email the link that confirms the user's address and logs them in."""
    link = _link(settings, f"/signup/confirm/{issue_token(session, settings, user, 'confirm')}")
    with use_language(user.language):
        subject = _("Confirm your email address for JCM Matchmaker")
        body = _("Welcome to JCM Matchmaker.\n\nOpen this link within %(hours)d hours to confirm your email "
                 "address and log in:\n%(link)s\n\nIf you did not sign up, ignore this email: no account is "
                 "used without this confirmation.") % {"hours": settings.email_confirm_hours, "link": link}
    enqueue_email(session, user.email, subject, body, language=user.language)


def _tell_existing_account(session: Session, settings: Settings, user: User) -> None:
    if user.email_verified_at is None:
        send_confirmation(session, settings, user)  # signed up twice before confirming: a fresh link
        return
    link = _link(settings, f"/password/reset/{issue_token(session, settings, user, 'reset')}")
    with use_language(user.language):
        subject = _("Someone tried to sign up with your email address")
        body = _("Someone tried to create a JCM Matchmaker account with this email address, which already has "
                 "one.\n\nIf it was you: log in at %(login)s, or choose a new password within %(hours)d hours "
                 "with this link:\n%(link)s\n\nIf it was not you, ignore this email: nothing was changed.") % {
            "login": _link(settings, "/login"), "hours": settings.password_reset_hours, "link": link}
    enqueue_email(session, user.email, subject, body, language=user.language)


def confirm_email(session: Session, token: str) -> User:
    """Spend a confirmation link: the address is confirmed and the user may log in."""
    find_token(session, token, "confirm")
    user = session.get(User, _consume_token(session, token, "confirm"))
    assert user is not None
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    session.flush()
    return user


# --- login -----------------------------------------------------------------------------------

def authenticate(session: Session, settings: Settings, email: str, password: str, client_ip: str,
                 commit: Callable[[], None]) -> User:
    """The user for these credentials, throttled per (email, address) and per address.

    The attempt is counted and committed (through `commit`) before the password is checked: parallel guesses
    each see the others' counts, and no lock is held while the slow hash is computed.
    """
    email = email.strip().lower()[:320]
    client_ip = client_ip[:64]
    login_throttle.count_attempt(session, settings, email, client_ip)
    user = find_user_by_email(session, email)
    password_hash = user.password_hash if user else DUMMY_HASH
    commit()
    ok = verify_password(password_hash, password)
    if user is None or not ok or not user.is_active:
        raise DomainError(_("The email or password is not correct."), status_code=400, code="bad_credentials")
    login_throttle.forget_attempt(session, email, client_ip)
    if user.email_verified_at is None:
        send_confirmation(session, settings, user)
        raise DomainError(_("Confirm your email address first: we have sent a new link to %(email)s.")
                          % {"email": user.email}, status_code=403, code="email_not_confirmed")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


# --- passwords -------------------------------------------------------------------------------

def request_password_reset(session: Session, settings: Settings, email: str) -> None:
    """Queue a single-use reset link if the account exists (the answer is the same either way)."""
    user = find_user_by_email(session, email)
    if user is None or not user.is_active:
        return
    link = _link(settings, f"/password/reset/{issue_token(session, settings, user, 'reset')}")
    with use_language(user.language):
        subject = _("Reset your JCM Matchmaker password")
        body = _("Someone asked to reset the password of your JCM Matchmaker account.\n\n"
                 "Open this link within %(hours)d hours to choose a new password:\n%(link)s\n\n"
                 "If it was not you, ignore this email: your password stays as it is.") % {
            "hours": settings.password_reset_hours, "link": link}
    # Through the outbox: a slow or failing mail server never holds up the page, and sending is retried.
    # Sensitive: the link is a credential, so the stored body is removed once the mail is sent.
    enqueue_email(session, user.email, subject, body, language=user.language, sensitive=True)


def find_reset_token(session: Session, token: str) -> PasswordResetToken:
    """A valid, unused reset token, or an error saying the link is spent."""
    return find_token(session, token, "reset")


def reset_password(session: Session, token: str, password: str, confirm: str) -> User:
    """Set a new password with a reset link: the link and the user's other links are spent, every login ends."""
    row = find_token(session, token, "reset")
    user = session.get(User, row.user_id)
    assert user is not None
    message = check_password(password, confirm, email=user.email, name=user.full_name)
    if message:
        raise ValidationFailed(message, field_errors={"password": message})
    _consume_token(session, token, "reset")
    user.password_hash = hash_password(password)
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()  # the link reached the address: it is the user's
    sessions.end_all_sessions(session, user.id)
    session.flush()
    return user


def change_password(session: Session, user: User, current: str, password: str, confirm: str,
                    keep_session_id: int | None = None) -> None:
    """Change the password knowing the current one; the user's other logins end."""
    errors: dict[str, str] = {}
    if not verify_password(user.password_hash, current):
        errors["current_password"] = _("This is not your current password.")
    message = check_password(password, confirm, email=user.email, name=user.full_name)
    if message:
        errors["password"] = message
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    user.password_hash = hash_password(password)
    sessions.end_all_sessions(session, user.id, keep_id=keep_session_id)
    session.flush()


def create_organizer(session: Session, email: str, password: str, full_name: str = "") -> User:
    """Create an organizer account, or promote an existing user to organizer."""
    email = normalize_email(email)
    message = check_password(password, email=email, name=full_name) or single_line_error(full_name.strip())
    if message:
        raise ValidationFailed(message)
    full_name = full_name.strip()
    user = find_user_by_email(session, email)
    if user is None:
        user = User(email=email, password_hash=hash_password(password), full_name=full_name, role="organizer")
        session.add(user)
    else:
        user.role = "organizer"
        user.password_hash = hash_password(password)
        user.email_verified_at = user.email_verified_at or utcnow()
        sessions.end_all_sessions(session, user.id)
    session.flush()
    return user
