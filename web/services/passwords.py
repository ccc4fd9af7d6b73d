"""What makes a password acceptable: long enough, not a common one, not built from the email or name."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from web.i18n import _
from web.security import MIN_PASSWORD_LENGTH

MAX_PASSWORD_LENGTH = 200
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parents[1] / "data" / "common_passwords.txt"
# Digits, punctuation and spaces people put around a word to pass a rule: "password123!", "!!dragon2024".
_PADDING = " 0123456789!@#$%^&*()-_=+.,?~`'\"/\\|[]{}<>:;"
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_SEQUENCES = ("01234567890", "09876543210", "qwertyuiopasdfghjklzxcvbnm", "abcdefghijklmnopqrstuvwxyz",
              "1qaz2wsx3edc4rfv5tgb", "zyxwvutsrqponmlkjihgfedcba")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of the most common passwords (see the file's header for its source)."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def is_common(password: str) -> bool:
    """A common password, a common one with digits or symbols around it, or a run along the keyboard."""
    lowered = password.lower()
    core = lowered.strip(_PADDING)
    common = common_passwords()
    if lowered in common or core in common or core.translate(_LEET) in common:
        return True
    return any(lowered in sequence or (len(core) >= 4 and core in sequence) for sequence in _SEQUENCES)


def _personal_words(email: str, name: str) -> list[str]:
    email = email.strip().lower()
    local, _at, domain = email.partition("@")
    words = [email, local, domain.split(".")[0], *re.split(r"[\s._\-+]+", local), *name.lower().split()]
    return sorted({word for word in words if len(word) >= 3}, key=len, reverse=True)


def is_personal(password: str, email: str = "", name: str = "") -> bool:
    """Built from the email address or the name: what is left without them is a few digits or symbols."""
    remainder = password.lower()
    words = _personal_words(email, name)
    if not any(word in remainder for word in words):
        return False
    for word in words:
        remainder = remainder.replace(word, "")
    return len(remainder.strip(_PADDING)) < 4


def check_password(password: str, confirm: str | None = None, *, email: str = "", name: str = "") -> str | None:
    """The message for an unacceptable password, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("Use at least %(n)d characters.") % {"n": MIN_PASSWORD_LENGTH}
    if len(password) > MAX_PASSWORD_LENGTH:
        return _("Use at most 200 characters.")
    if len(set(password)) < 4 or is_common(password):
        return _("This password is too common or too easy to guess. A few unrelated words make a strong one.")
    if is_personal(password, email, name):
        return _("Do not build the password from your email address or name.")
    if confirm is not None and confirm != password:
        return _("The two passwords differ.")
    return None
