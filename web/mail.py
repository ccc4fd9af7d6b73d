"""Sending email: over SMTP when a server is configured; otherwise a log line (and, in development, an .eml file)."""

from __future__ import annotations

import logging
import re
import smtplib
import unicodedata
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

from web.settings import Settings

log = logging.getLogger("matchmaker.mail")
# Line breaks of any kind (and other control characters) would end a header line early.
HEADER_BREAKERS = ("Cc", "Zl", "Zp")
SPACES_RE = re.compile(r"\s+")


class PermanentMailError(Exception):
    """This email can never be sent as it is: retrying cannot help."""


class MaybeSentError(Exception):
    """The connection broke after the message was handed to the server: it may have been delivered."""


def single_line(value: str) -> str:
    """A header value on one line: control characters and line separators become spaces."""
    text = "".join(" " if unicodedata.category(char) in HEADER_BREAKERS else char for char in value)
    return SPACES_RE.sub(" ", text).strip()


def build_message(settings: Settings, to: str, subject: str, body: str, message_id: str) -> EmailMessage:
    """A plain-text UTF-8 message from the configured sender; PermanentMailError if it cannot be made."""
    if single_line(to) != to.strip() or not to.strip():
        raise PermanentMailError("the recipient address is empty or holds a line break or control character")
    message = EmailMessage()
    try:
        message["From"] = settings.smtp_sender
        message["To"] = to.strip()
        message["Subject"] = single_line(subject)
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = message_id
        message.set_content(body)
        message.as_bytes()  # anything the email package cannot encode fails here, not half-way through SMTP
    except Exception as exc:  # a value the email package refuses: this email only, never the whole outbox
        raise PermanentMailError(f"{type(exc).__name__}: {exc}") from exc
    return message


def _recipient_domain(to: str) -> str:
    return to.rpartition("@")[2] or "?"


def write_debug_copy(settings: Settings, message: EmailMessage, email_id: int | None) -> Path | None:
    """Keep the message as an .eml file in MATCHMAKER_MAIL_DEBUG_DIR (development only), or None if unset."""
    if not settings.mail_debug_dir:
        return None
    folder = Path(settings.mail_debug_dir)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"{stamp}-mail-{email_id if email_id is not None else 'x'}.eml"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_bytes(message.as_bytes())
    except OSError as exc:  # a debugging aid never stops a mail
        log.warning("could not write mail %s to %s: %s", email_id, folder, exc)
        return None
    return path


class _SMTP(smtplib.SMTP):
    """smtplib.SMTP that says when a failure happened after the message was handed over."""

    def data(self, msg):
        try:
            return super().data(msg)
        except smtplib.SMTPResponseException:
            raise  # the server answered with an error code: it did not take the message
        except OSError as exc:  # timeout or lost connection while sending DATA or awaiting its answer
            raise MaybeSentError(f"{type(exc).__name__}: {exc}") from exc


def _permanent_refusal(exc: Exception) -> bool:
    """A 5xx answer about this message or its recipient: the same email will be refused again."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _msg in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPDataError) and 500 <= exc.smtp_code < 600


def send_mail(settings: Settings, to: str, subject: str, body: str, message_id: str,
              email_id: int | None = None) -> None:
    """Send one message now with its Message-ID.

    Raises PermanentMailError (never sendable), MaybeSentError (retry with the same Message-ID),
    or smtplib/OS errors (not sent; retry later).
    """
    message = build_message(settings, to, subject, body, message_id)
    path = write_debug_copy(settings, message, email_id)
    if path is not None:
        log.info("mail %s written to %s", email_id, path)
    if not settings.smtp_host:
        # Never the body: it may hold a password reset link.
        log.warning("mail %s not sent (no SMTP server configured: set MATCHMAKER_SMTP_HOST): to a recipient at %s, "
                    "subject %r. %s", email_id, _recipient_domain(to), message["Subject"],
                    f"A copy is in {path}." if path else
                    "To read mails in development, set MATCHMAKER_MAIL_DEBUG_DIR to a folder: each mail is written "
                    "there as an .eml file.")
        return
    smtp = _SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds)
    try:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(message)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as exc:
        if _permanent_refusal(exc):
            raise PermanentMailError(f"refused by the mail server: {exc}") from exc
        raise
    finally:
        _quit(smtp)


def _quit(smtp: smtplib.SMTP) -> None:
    """End the session; its answer does not matter (`with SMTP()` raises on one other than 221,
    which after a delivered message would make the outbox send it again)."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
