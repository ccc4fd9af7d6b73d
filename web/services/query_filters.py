"""What a list page is narrowed to, as a dataclass of strings that reads from and writes back to a query string.

The directory, Pre-Matching and the technology list each declare their fields; this base gives them one
is_empty() and one query_string(), so a link to page 2 keeps the filters the same way everywhere.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any
from urllib.parse import urlencode


class QueryFilters:
    """Mixed into a @dataclass of filters ('' means any)."""

    def is_empty(self) -> bool:
        """Whether nothing narrows the list."""
        return not any(asdict(self).values())  # type: ignore[call-overload]

    def query_string(self, **extra: Any) -> str:
        """The filters (and e.g. page) as a query string, blanks left out."""
        params = asdict(self) | extra  # type: ignore[call-overload]
        return urlencode({key: value for key, value in params.items() if value not in ("", None)})
