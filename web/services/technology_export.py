"""The public technology list as CSV or JSON: the same rows and filters as the page, for the page's download links
and the API."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from web.services.technology_catalogue import Card

FIELDS = ("id", "name", "name_ja", "organization_id", "organization", "organization_country", "organization_kind",
          "category", "area", "description", "description_ja", "products", "track_record_countries",
          "has_jcm_track_record", "ghg_reduction_t_per_year", "figures_basis", "investment_jpy",
          "annual_savings_jpy", "durable_years", "material_languages", "url", "published_at")
LIST_FIELDS = {"products", "track_record_countries", "material_languages"}
# A cell starting with one of these is a formula to a spreadsheet: prefixed with ' so it stays text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 500


def record(card: Card, base_url: str) -> dict[str, Any]:
    """One technology as an export row (codes, not names: categories, areas, kinds, ISO countries)."""
    return {
        "id": card.id, "name": card.name, "name_ja": card.name_ja, "organization_id": card.organization_id,
        "organization": card.organization_name, "organization_country": card.organization_country,
        "organization_kind": card.organization_kind, "category": card.category, "area": card.area,
        "description": card.description, "description_ja": card.description_ja, "products": list(card.products),
        "track_record_countries": list(card.countries), "has_jcm_track_record": card.has_jcm,
        "ghg_reduction_t_per_year": card.ghg_reduction_t, "figures_basis": card.figures_basis or None,
        "investment_jpy": card.investment_jpy, "annual_savings_jpy": card.annual_savings_jpy,
        "durable_years": card.durable_years, "material_languages": list(card.languages),
        "url": f"{base_url.rstrip('/')}/technologies/{card.id}",
        "published_at": card.published_at.isoformat().replace("+00:00", "Z") if card.published_at else None,
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def iter_csv(cards: Iterable[Card], base_url: str) -> Iterator[str]:
    """The CSV file in pieces (a header, then CHUNK rows at a time)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(FIELDS)
    for number, card in enumerate(cards, 1):
        row = record(card, base_url)
        writer.writerow([_cell(row[name]) for name in FIELDS])
        if number % CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def iter_json(cards: Iterable[Card], base_url: str, meta: dict[str, Any]) -> Iterator[str]:
    """{"total", "filters", "technologies": [...]} in pieces."""
    head = {key: value for key, value in meta.items()}
    yield json.dumps(head, ensure_ascii=False)[:-1] + ', "technologies": ['
    for number, card in enumerate(cards):
        yield ("," if number else "") + json.dumps(record(card, base_url), ensure_ascii=False)
    yield "]}"
