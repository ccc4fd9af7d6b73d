"""Checks for text people type or import: one-line values (names, which become email subjects) and free text."""

from __future__ import annotations

import unicodedata

from web.i18n import _

# Characters that end a line or are not text: in a name they would break an email header.
_LINE_BREAKING = ("Cc", "Zl", "Zp")
# Free text keeps its line breaks and tabs.
_FREE_TEXT_ALLOWED = frozenset("\n\r\t")


def single_line_error(value: str) -> str | None:
    """The message for a name or other one-line value holding a line break or control character, or None."""
    if any(unicodedata.category(char) in _LINE_BREAKING for char in value):
        return _("Use a single line: remove line breaks, tabs and other control characters.")
    return None


def free_text_error(value: str) -> str | None:
    """The message for free text holding control characters other than line breaks and tabs, or None."""
    if any(unicodedata.category(char) == "Cc" and char not in _FREE_TEXT_ALLOWED for char in value):
        return _("Remove the control characters (such as NUL bytes) from this text.")
    return None
