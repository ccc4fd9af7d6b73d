"""Sending email: over SMTP when a server is configured, otherwise to the log."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from web.settings import Settings

log = logging.getLogger("matchmaker.mail")


def build_message(settings: Settings, to: str, subject: str, body: str) -> EmailMessage:
    """A plain-text UTF-8 message from the configured sender."""
    message = EmailMessage()
    message["From"] = settings.smtp_sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="jcm-matchmaker")
    message.set_content(body)
    return message


def send_mail(settings: Settings, to: str, subject: str, body: str) -> None:
    """Send one message now; raises smtplib errors so callers can retry."""
    message = build_message(settings, to, subject, body)
    if not settings.smtp_host:
        log.warning("mail (no SMTP server configured) to=%s subject=%s\n%s", to, subject, body)
        return
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=20) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(message)
