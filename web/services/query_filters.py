"""What a list page is narrowed to, as a dataclass of strings that reads from and writes back to a query string,
and the page links of one page of such a list.

The directory, Pre-Matching and the technology list each declare their fields; these bases give them one
is_empty(), one query_string() and one pages/has_prev/has_next, so paging works the same way everywhere.
"""

from __future__ import annotations

from dataclasses import asdict
from math import ceil
from typing import Any, ClassVar
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


class PageLinks:
    """Mixed into a @dataclass of one page of a list with `total`, `page` and `page_size`: what the pager shows."""

    max_pages: ClassVar[int | None] = None  # lists paged only so far (by name, on an index) set their bound

    @property
    def pages(self) -> int:
        pages = max(1, ceil(self.total / self.page_size))  # type: ignore[attr-defined]
        return min(pages, self.max_pages) if self.max_pages else pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1  # type: ignore[attr-defined]

    @property
    def has_next(self) -> bool:
        return self.page < self.pages  # type: ignore[attr-defined]
