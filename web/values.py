"""Plain checks of values that reach the database, shared by the input guard and the services (no web framework)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from annotated_types import Ge, Le

MAX_DB_ID = 2**31 - 1  # PostgreSQL INTEGER
DbId = Annotated[int, Ge(1), Le(MAX_DB_ID)]
"""A row id: 1 .. 2**31-1 (what every database we run on can hold)."""

# C0 controls but tab, line feed and carriage return; DEL; lone UTF-16 surrogates (unencodable in UTF-8).
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def has_control_characters(text: str) -> bool:
    """Whether text holds a character no text field may keep (NUL, other controls but tab/CR/LF, surrogates)."""
    return bool(_FORBIDDEN.search(text))


def strip_control_characters(text: str) -> str:
    """The text without them (for values that are recorded, not typed: a User-Agent header)."""
    return _FORBIDDEN.sub("", text)


def parse_id(value: Any) -> int | None:
    """A row id from a form or query value; None when it is missing, not a number or out of range."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 1 <= number <= MAX_DB_ID else None
