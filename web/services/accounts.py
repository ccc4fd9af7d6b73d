"""Account verbs: sign up, log in with throttling, reset a password, create an organizer."""

from __future__ import annotations

from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import LoginAttempt, PasswordResetToken, User
from models.base import utcnow
from web.errors import DomainError, TooManyAttempts, ValidationFailed
from web.i18n import LANGUAGES, _, is_time_zone, use_language
from web.security import (
    DUMMY_HASH, MIN_PASSWORD_LENGTH, hash_password, needs_rehash, new_token, token_digest, verify_password,
)
from web.services.applications import announce_application
from web.services.outbox import enqueue_email
from web.services.text import single_line_error
from web.services.organizations import category_slugs, create_organization, validate_organization
from web.settings import Settings



def normalize_email(value: str) -> str:
    """A syntactically valid, lower-cased email address, or ValueError with the reason."""
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc


def check_password(password: str, confirm: str | None = None) -> str | None:
    """The message for an unacceptable password, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("Use at least %(n)d characters.") % {"n": MIN_PASSWORD_LENGTH}
    if len(password) > 200:
        return _("Use at most 200 characters.")
    if confirm is not None and confirm != password:
        return _("The two passwords differ.")
    return None


def confirm_error(password: str, confirm: str) -> str | None:
    """The message for the "password again" field: empty, or not the same as the password."""
    if not confirm:
        return _("Type the password again.")
    if confirm != password:
        return _("The two passwords differ.")
    return None


def password_errors(password: str, confirm: str) -> dict[str, str]:
    """Messages for the password and the "password again" fields (empty when both are fine)."""
    errors = {}
    if message := check_password(password):
        errors["password"] = message
    if message := confirm_error(password, confirm):
        errors["password_confirm"] = message
    return errors


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def sign_up(session: Session, settings: Settings, form: dict[str, str]) -> User:
    """Create a user and its pending organization (organizers are told); ValidationFailed lists every bad field."""
    errors: dict[str, str] = {}
    email = ""
    try:
        email = normalize_email(form.get("email", ""))
    except ValueError:
        errors["email"] = _("Enter a valid email address.")
    if email and find_user_by_email(session, email) is not None:
        errors["email"] = _("An account with this email already exists. Log in or reset your password.")
    errors |= password_errors(form.get("password", ""), form.get("password_confirm", ""))
    full_name = form.get("full_name", "").strip()
    if not 1 <= len(full_name) <= 200:
        errors["full_name"] = _("Enter your name.")
    elif message := single_line_error(full_name):
        errors["full_name"] = message
    language = form.get("language", "en")
    if language not in LANGUAGES:
        language = "en"
    time_zone = form.get("time_zone", "Asia/Tokyo")
    if not is_time_zone(time_zone):
        errors["time_zone"] = _("Choose a time zone from the list.")
    data, org_errors = validate_organization(
        {"name": form.get("organization_name", ""), "kind": form.get("kind", ""), "country": form.get("country", "")},
        category_slugs(session),
    )
    for key, message in org_errors.items():
        errors["organization_name" if key == "name" else key] = message
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    assert data is not None
    organization = create_organization(session, data, status="pending")
    organization.contact_name = full_name
    organization.contact_email = email
    user = User(email=email, password_hash=hash_password(form["password"]), full_name=full_name,
                organization=organization, role="member", language=language, time_zone=time_zone)
    session.add(user)
    session.flush()
    announce_application(session, settings, organization, user)
    return user


def _recent_failures(session: Session, column, value: str, since) -> int:
    return session.scalar(select(func.count()).where(column == value, LoginAttempt.created_at >= since)) or 0


def authenticate(session: Session, settings: Settings, email: str, password: str, client_ip: str) -> User:
    """The user for these credentials; throttled per email and per client address."""
    email = email.strip().lower()
    since = utcnow() - timedelta(seconds=settings.login_window_seconds)
    if (_recent_failures(session, LoginAttempt.email, email, since) >= settings.login_max_failures
            or _recent_failures(session, LoginAttempt.client_ip, client_ip, since) >= settings.login_max_failures * 4):
        raise TooManyAttempts(_("Too many failed logins. Wait %(minutes)d minutes or reset your password.")
                              % {"minutes": settings.login_window_seconds // 60})
    user = find_user_by_email(session, email)
    ok = verify_password(user.password_hash if user else DUMMY_HASH, password)
    if user is None or not ok or not user.is_active:
        session.add(LoginAttempt(email=email[:320], client_ip=client_ip[:64]))
        raise DomainError(_("The email or password is not correct."), status_code=400, code="bad_credentials")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def request_password_reset(session: Session, settings: Settings, email: str) -> None:
    """Queue a single-use reset link if the account exists (the answer is the same either way)."""
    user = find_user_by_email(session, email)
    if user is None or not user.is_active:
        return
    token = new_token()
    session.add(PasswordResetToken(user_id=user.id, token_hash=token_digest(token),
                                   expires_at=utcnow() + timedelta(hours=settings.password_reset_hours)))
    session.flush()
    link = f"{settings.base_url.rstrip('/')}/password/reset/{token}"
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
    row = session.scalar(select(PasswordResetToken).where(PasswordResetToken.token_hash == token_digest(token)))
    if row is None or row.used_at is not None or row.expires_at < utcnow():
        raise DomainError(_("This reset link has expired or was already used. Ask for a new one."),
                          status_code=400, code="reset_token_invalid")
    return row


def reset_password(session: Session, token: str, password: str, confirm: str) -> User:
    """Set a new password with a reset token; the token is spent and other sessions end."""
    row = find_reset_token(session, token)
    errors = password_errors(password, confirm)
    if errors:
        raise ValidationFailed(next(iter(errors.values())), field_errors=errors)
    user = session.get(User, row.user_id)
    assert user is not None
    user.password_hash = hash_password(password)
    row.used_at = utcnow()
    session.flush()
    return user


def create_organizer(session: Session, email: str, password: str, full_name: str = "") -> User:
    """Create an organizer account, or promote an existing user to organizer."""
    email = normalize_email(email)
    message = check_password(password) or single_line_error(full_name.strip())
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
    session.flush()
    return user
