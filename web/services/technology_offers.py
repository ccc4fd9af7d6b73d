"""Published technologies as offers in matching: a firm's catalogue entries count among what it offers.

Each published technology becomes one offer text that starts with its name ("Inverter turbo chiller: ..."), so
the engine's reasons, which quote the best-matching offer, quote the technology by name. The matching layer
calls `with_technology_offers` where it reads organizations' profile columns; nothing else there changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Technology

BATCH = 500
SUMMARY_LIMIT = 220


def offer_text(name: str, description: str) -> str:
    """'Name: first sentence of the description' (about SUMMARY_LIMIT characters at most)."""
    summary = " ".join((description or "").split())
    for end in (". ", "。"):
        if end in summary:
            summary = summary.split(end, 1)[0] + end.strip()
            break
    if len(summary) > SUMMARY_LIMIT:
        summary = summary[:SUMMARY_LIMIT].rsplit(" ", 1)[0] + "…"
    return f"{name}: {summary}" if summary else name


def technology_offers(session: Session, organization_ids: Iterable[int]) -> dict[int, list[str]]:
    """Per organization id, its published technologies as offer texts (by name)."""
    ids = sorted(set(organization_ids))
    out: dict[int, list[str]] = {}
    for start in range(0, len(ids), BATCH):
        rows = session.execute(select(Technology.organization_id, Technology.name, Technology.description)
                               .where(Technology.status == "published",
                                      Technology.organization_id.in_(ids[start:start + BATCH]))
                               .order_by(Technology.organization_id, Technology.name, Technology.id))
        for org_id, name, description in rows:
            out.setdefault(org_id, []).append(offer_text(name, description))
    return out


class WithOffers:
    """A profile row whose offers include the organization's technologies (every other column read through)."""

    __slots__ = ("_row", "offers")

    def __init__(self, row: Any, technologies: list[str]) -> None:
        self._row = row
        own = list(row.offers or [])
        self.offers = own + [text for text in technologies if text not in own]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, name)


def with_technology_offers(session: Session, rows: Iterable[Any]) -> Iterator[Any]:
    """The rows (with .id and .offers) in the same order, each with its organization's technologies added to offers."""
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield from _extend(session, batch)
            batch = []
    if batch:
        yield from _extend(session, batch)


def _extend(session: Session, batch: list[Any]) -> Iterator[Any]:
    offers = technology_offers(session, (row.id for row in batch))
    for row in batch:
        extra = offers.get(row.id)
        yield WithOffers(row, extra) if extra else row
