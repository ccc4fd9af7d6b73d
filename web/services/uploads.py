"""Uploaded files kept server-side between an import's preview and its confirmation."""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path

from web.errors import ValidationFailed
from web.i18n import _


class UploadStore:
    """Uploaded files kept server-side between the preview and the confirmation, named by a random token.

    The token (192 random bits) is also stored in the organizer's signed session cookie and must match,
    so a file can only be applied by the session that uploaded it; the user's file name never becomes a path.
    """

    MAX_AGE_SECONDS = 3600
    TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, token: str) -> Path:
        if not self.TOKEN_RE.match(token or ""):
            raise ValidationFailed(_("This preview has expired. Upload the file again."))
        return self.directory / f"{token}.upload"

    def save(self, content: bytes) -> str:
        """Keep the content; returns its token."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.cleanup()
        token = secrets.token_urlsafe(24)
        fd = os.open(self._path(token), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        return token

    def load(self, token: str) -> bytes:
        """The content kept under the token, if it has not expired."""
        path = self._path(token)
        try:
            if time.time() - path.stat().st_mtime > self.MAX_AGE_SECONDS:
                path.unlink(missing_ok=True)  # of no use any more: the organizer uploads the file again
                raise FileNotFoundError(path)
            return path.read_bytes()
        except FileNotFoundError:
            raise ValidationFailed(_("This preview has expired. Upload the file again.")) from None

    def discard(self, token: str) -> None:
        """Delete the kept content (after it was applied)."""
        try:
            self._path(token).unlink(missing_ok=True)
        except ValidationFailed:
            pass

    def cleanup(self) -> None:
        """Delete uploads older than an hour."""
        limit = time.time() - self.MAX_AGE_SECONDS
        for path in self.directory.glob("*.upload"):
            try:
                if path.stat().st_mtime < limit:
                    path.unlink()
            except OSError:
                pass
