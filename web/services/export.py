"""Export in the organization interchange format (JSON Lines or CSV), streamed in chunks."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Organization
from web.services.interchange import (
    CHUNK_SIZE,
    COMPARED_FIELDS,
    FORMAT_FIELDS,
    FORMULA_STARTS,
    REQUIRED_FIELDS,
    _compare_columns,
)
from web.services.organizations import LIST_FIELDS


def export_record(row: Any) -> dict[str, Any]:
    """One organization in the format: fields in the format's order, empty optional fields left out."""
    record: dict[str, Any] = {"id": row.external_id or f"mm-{row.id}"}
    for name in COMPARED_FIELDS:
        value = getattr(row, name)
        if value or name in REQUIRED_FIELDS:
            record[name] = list(value) if name in LIST_FIELDS else value
    return record


def iter_export_records(session: Session, *, approved_only: bool = False) -> Iterator[dict[str, Any]]:
    """Every organization (or the approved ones) as format records, streamed in id order."""
    query = select(*_compare_columns()).order_by(Organization.id)
    if approved_only:
        query = query.where(Organization.status == "approved")
    for row in session.execute(query.execution_options(yield_per=2000)):
        yield export_record(row)


def _csv_safe(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def iter_export_text(records: Iterable[dict[str, Any]], fmt: str = "jsonl") -> Iterator[str]:
    """The export file in pieces of about CHUNK_SIZE lines (for streaming responses)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n") if fmt == "csv" else None
    if writer is not None:
        writer.writerow(FORMAT_FIELDS)
    for number, record in enumerate(records, 1):
        if writer is None:
            buffer.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            writer.writerow([_csv_safe(";".join(value) if isinstance(value, list) else value)
                             for value in (record.get(name, "") for name in FORMAT_FIELDS)])
        if number % CHUNK_SIZE == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()


def export_organizations(session: Session, out: TextIO, fmt: str = "jsonl", *, approved_only: bool = False) -> int:
    """Write the export to a text stream; returns the number of organizations."""
    count = 0

    def counted() -> Iterator[dict[str, Any]]:
        nonlocal count
        for record in iter_export_records(session, approved_only=approved_only):
            count += 1
            yield record

    for piece in iter_export_text(counted(), fmt):
        out.write(piece)
    return count
