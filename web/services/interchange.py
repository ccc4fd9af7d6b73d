"""The organization interchange format: read and check a file, plan and apply an import.

The format is described in docs/import-export.md: JSON Lines (or CSV with `;`-joined lists).
An import is two steps: `plan_import` reads and checks every line and says what would change
without writing; `apply_import` writes that plan (all-or-nothing unless `partial`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from models import Organization, OrganizationTag
from models.base import utcnow
from models.organization import TAGGED_FIELDS
from web.errors import ValidationFailed
from web.i18n import _, ngettext
from web.services.organizations import (
    LIST_FIELDS,
    OrganizationData,
    apply_organization,
    category_slugs,
    search_text_for,
    validate_organization,
)

FORMAT_FIELDS = ("id", "name", "kind", "country", "description", "offers", "needs", "sectors",
                 "technology_categories", "target_countries", "website", "source")
REQUIRED_FIELDS = ("id", "name", "kind", "country")
COMPARED_FIELDS = FORMAT_FIELDS[1:]
FORMATS = ("jsonl", "csv")
# Organizations that signed up on the site have no importer id: export names them mm-<number>,
# and importing that id updates the same organization.
SITE_ID_RE = re.compile(r"^mm-(\d+)$")
CHUNK_SIZE = 1000
# Spreadsheets run cells starting with these as formulas: export quotes them with a leading '.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Other names for taxonomy slugs seen in real files (e.g. "REDD+" for forestry).
CATEGORY_ALIASES = {"forestry_redd": "forestry", "redd": "forestry", "redd+": "forestry"}


@dataclass
class LineError:
    """A reason a line cannot be imported."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        if self.field:
            return _("line %(line)d: %(field)s: %(message)s") % {"line": self.line, "field": self.field,
                                                                  "message": self.message}
        return _("line %(line)d: %(message)s") % {"line": self.line, "message": self.message}


@dataclass
class PlannedLine:
    """What importing one valid line does: create, update (with the changed fields) or nothing."""

    line: int
    data: OrganizationData
    action: str = "create"
    changed: list[str] = field(default_factory=list)
    organization_id: int | None = None

    @property
    def external_id(self) -> str:
        return self.data.external_id or ""


@dataclass
class ImportPlan:
    """The outcome of checking a file against the database; nothing has been written."""

    format: str
    lines: list[PlannedLine] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    records: int = 0

    def count(self, action: str) -> int:
        return sum(1 for planned in self.lines if planned.action == action)

    @property
    def counts(self) -> dict[str, int]:
        return {action: self.count(action) for action in ("create", "update", "unchanged")}

    @property
    def rejected_lines(self) -> int:
        return len({error.line for error in self.errors})


@dataclass
class ImportResult:
    """What an applied import wrote."""

    created: int
    updated: int
    unchanged: int
    skipped: int

    def summary(self) -> str:
        return f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}"


class ImportRejected(ValidationFailed):
    """The file has errors and the user did not ask to import the valid lines only."""


# --- reading -------------------------------------------------------------------------------

def detect_format(text: str, filename: str | None = None) -> str:
    """jsonl or csv: from the file name's extension, else from the first character."""
    name = (filename or "").lower()
    if name.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    if name.endswith((".csv", ".txt")) and not text.lstrip().startswith("{"):
        return "csv"
    return "jsonl" if text.lstrip().startswith("{") else "csv"


def decode(content: bytes | str) -> str:
    """UTF-8 text with or without a byte-order mark; a bad byte is reported with its line."""
    if isinstance(content, str):
        return content.removeprefix("\ufeff")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[:exc.start].count(b"\n") + 1
        message = str(LineError(line, "", _("The file is not UTF-8 text. Save it as UTF-8 and try again.")))
        raise ValidationFailed(message, field_errors={"file": message}) from exc


def read_jsonl(text: str) -> Iterator[tuple[int, dict[str, Any] | LineError]]:
    """(line number, object) per non-blank line, or the reason the line is not a JSON object."""
    # split on \n only: JSON strings may hold U+2028 and other separators str.splitlines() breaks on
    for number, line in enumerate(text.split("\n"), 1):
        line = line.strip()
        if not line:
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            yield number, LineError(number, "", _("Not valid JSON (%(reason)s).") % {"reason": str(exc)})
            continue
        if not isinstance(value, dict):
            yield number, LineError(number, "", _("Each line must be one JSON object."))
            continue
        yield number, value


def _csv_cell(value: str) -> str:
    value = value.strip()
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_STARTS:
        return value[1:]
    return value


def read_csv(text: str) -> Iterator[tuple[int, dict[str, Any] | LineError]]:
    """(line number, record) per CSV row; list columns are split on `;`; empty cells are absent."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in next(reader, [])]
    except csv.Error as exc:
        yield 1, LineError(1, "", _("Not valid CSV (%(reason)s).") % {"reason": str(exc)})
        return
    if not header:
        return
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, LineError(start, "", _("Not valid CSV (%(reason)s).") % {"reason": str(exc)})
            return
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            yield start, LineError(start, "", _("This row has more cells than the header has columns."))
            continue
        record: dict[str, Any] = {}
        for name, cell in zip(header, row):
            cell = _csv_cell(cell)
            if not name or not cell:
                continue
            record[name] = [item.strip() for item in cell.split(";") if item.strip()] if name in LIST_FIELDS else cell
        yield start, record


def read_records(content: bytes | str, fmt: str | None = None,
                 filename: str | None = None) -> tuple[str, Iterator[tuple[int, dict[str, Any] | LineError]]]:
    """The format used and the file's records with their line numbers."""
    text = decode(content)
    fmt = fmt or detect_format(text, filename)
    if fmt not in FORMATS:
        raise ValidationFailed(_("Choose the format jsonl or csv."), field_errors={"format": _("Choose jsonl or csv.")})
    return fmt, (read_jsonl(text) if fmt == "jsonl" else read_csv(text))


# --- checking and planning -----------------------------------------------------------------

def _type_errors(raw: dict[str, Any]) -> dict[str, str]:
    errors = {}
    for name in FORMAT_FIELDS:
        value = raw.get(name)
        if value is None:
            continue
        if name in LIST_FIELDS:
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                errors[name] = _("Must be a list of strings.")
        elif not isinstance(value, str):
            errors[name] = _("Must be a string.")
    return errors


def _normalize_categories(values: list[str], categories: set[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Map aliases and spelling variants ("Renewable energy") to slugs; unknown values stay for the error."""
    result, renamed = [], []
    for value in values:
        key = value.strip().lower().replace(" ", "_").replace("-", "_")
        slug = key if key in categories else CATEGORY_ALIASES.get(key, value)
        if slug != value:
            renamed.append((value, slug))
        result.append(slug)
    return result, renamed


def _record_of(data: OrganizationData) -> dict[str, Any]:
    return {name: getattr(data, name) for name in COMPARED_FIELDS}


def _line_list(lines: list[int]) -> str:
    shown = ", ".join(str(line) for line in lines[:10])
    if len(lines) > 10:
        shown += " " + _("and %(n)d more") % {"n": len(lines) - 10}
    return shown


def _unknown_field_warnings(unknown: dict[str, list[int]]) -> list[str]:
    return [ngettext("Unknown field \"%(field)s\" ignored (line %(lines)s).",
                     "Unknown field \"%(field)s\" ignored (lines %(lines)s).", len(lines))
            % {"field": name, "lines": _line_list(lines)} for name, lines in unknown.items()]


def check_records(records: Iterable[tuple[int, dict[str, Any] | LineError]],
                  categories: set[str]) -> tuple[list[PlannedLine], list[LineError], list[str], int]:
    """Validate every record: valid lines, errors with line numbers, warnings, records read."""
    valid: list[PlannedLine] = []
    errors: list[LineError] = []
    unknown: dict[str, list[int]] = {}
    renamed: dict[tuple[str, str], list[int]] = {}
    first_line_of: dict[str, int] = {}
    count = 0
    for line, raw in records:
        count += 1
        if isinstance(raw, LineError):
            errors.append(raw)
            continue
        for name in raw:
            if name not in FORMAT_FIELDS:
                unknown.setdefault(name, []).append(line)
        known = {name: raw[name] for name in FORMAT_FIELDS if name in raw}
        field_errors = _type_errors(known)
        data = None
        if not field_errors and known.get("technology_categories"):
            known["technology_categories"], pairs = _normalize_categories(known["technology_categories"], categories)
            for pair in pairs:
                renamed.setdefault(pair, []).append(line)
        if not field_errors:
            data, field_errors = validate_organization(known, categories, require_external_id=True)
        raw_id = known.get("id")
        if isinstance(raw_id, str) and raw_id.strip():
            raw_id = raw_id.strip()
            if raw_id in first_line_of:
                field_errors.setdefault("id", _("The id %(id)s already appears on line %(line)d.")
                                        % {"id": raw_id, "line": first_line_of[raw_id]})
                data = None
            else:
                first_line_of[raw_id] = line
        for name in sorted(field_errors, key=lambda n: FORMAT_FIELDS.index(n) if n in FORMAT_FIELDS else 99):
            errors.append(LineError(line, name, field_errors[name]))
        if data is not None and not field_errors:
            valid.append(PlannedLine(line=line, data=data))
    warnings = _unknown_field_warnings(unknown) + [
        ngettext("Technology category \"%(value)s\" read as \"%(slug)s\" (line %(lines)s).",
                 "Technology category \"%(value)s\" read as \"%(slug)s\" (lines %(lines)s).", len(lines))
        % {"value": value, "slug": slug, "lines": _line_list(lines)} for (value, slug), lines in renamed.items()]
    return valid, errors, warnings, count


def _compare_columns():
    return (Organization.id, Organization.external_id,
            *(getattr(Organization, name) for name in COMPARED_FIELDS))


def _mark_existing(planned: PlannedLine, row: Any) -> None:
    new = _record_of(planned.data)
    if not new["source"]:
        new["source"] = row.source  # an import without a source keeps the recorded one
    changed = [name for name in COMPARED_FIELDS if new[name] != (getattr(row, name) or type(new[name])())]
    planned.organization_id = row.id
    planned.action = "update" if changed else "unchanged"
    planned.changed = changed


def _chunks(items: list, size: int = CHUNK_SIZE) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def plan_import(session: Session, content: bytes | str, fmt: str | None = None,
                filename: str | None = None) -> ImportPlan:
    """Read and check a whole file and say what importing it would change; writes nothing."""
    fmt, records = read_records(content, fmt, filename)
    valid, errors, warnings, count = check_records(records, category_slugs(session))
    plan = ImportPlan(format=fmt, lines=valid, errors=errors, warnings=warnings, records=count)
    by_id = {planned.external_id: planned for planned in valid}
    # One streamed query over the rows that carry an importer id: no SELECT per line.
    query = select(*_compare_columns()).where(Organization.external_id.is_not(None))
    for row in session.execute(query.execution_options(yield_per=2000)):
        planned = by_id.pop(row.external_id, None)
        if planned is not None:
            _mark_existing(planned, row)
    site_ids = {int(match.group(1)): planned for key, planned in by_id.items() if (match := SITE_ID_RE.match(key))}
    for chunk in _chunks(list(site_ids)):
        query = select(*_compare_columns()).where(Organization.id.in_(chunk), Organization.external_id.is_(None))
        for row in session.execute(query):
            _mark_existing(site_ids[row.id], row)
    return plan


def _new_row(data: OrganizationData, now) -> dict[str, Any]:
    # The same values create_organization() would store; organizers import vetted lists, so approved.
    row = {f.name: getattr(data, f.name) for f in fields(OrganizationData)}
    row.update(status="approved", status_reason="", is_demo=False, search_text=search_text_for(data),
               created_at=now, updated_at=now)
    return row


def _tag_rows(organization_id: int, data: OrganizationData) -> list[dict[str, Any]]:
    wanted = sorted({(name, value[:200]) for name in TAGGED_FIELDS for value in getattr(data, name)})
    return [{"organization_id": organization_id, "field": name, "value": value} for name, value in wanted]


def _insert_new(session: Session, chunk: list[PlannedLine]) -> None:
    """Bulk INSERT of new organizations and their tags: two statements per chunk, not one per row."""
    now = utcnow()
    ids = session.scalars(insert(Organization).returning(Organization.id, sort_by_parameter_order=True),
                          [_new_row(planned.data, now) for planned in chunk]).all()
    tags = [tag for org_id, planned in zip(ids, chunk) for tag in _tag_rows(org_id, planned.data)]
    if tags:
        session.execute(insert(OrganizationTag), tags)


def apply_import(session: Session, plan: ImportPlan, *, partial: bool = False) -> ImportResult:
    """Write a plan in chunks (flush only); refused as a whole if it has errors and not partial."""
    if plan.errors and not partial:
        message = ngettext("Nothing was imported: %(n)d line has errors. Fix it, or import the valid lines only.",
                           "Nothing was imported: %(n)d lines have errors. Fix them, or import the valid lines only.",
                           plan.rejected_lines) % {"n": plan.rejected_lines}
        raise ImportRejected(message)
    creates = [planned for planned in plan.lines if planned.action == "create"]
    for chunk in _chunks(creates):
        _insert_new(session, chunk)
    updates = {planned.organization_id: planned for planned in plan.lines if planned.action == "update"}
    for chunk in _chunks(list(updates)):
        orgs = session.scalars(select(Organization).where(Organization.id.in_(chunk))).all()
        for org in orgs:
            apply_organization(org, updates[org.id].data, keep_source=True)
        session.flush()
    return ImportResult(created=len(creates), updated=len(updates), unchanged=plan.count("unchanged"),
                        skipped=plan.rejected_lines)


def import_organizations(session: Session, content: bytes | str, fmt: str | None = None, *,
                         filename: str | None = None, partial: bool = False) -> tuple[ImportPlan, ImportResult]:
    """Plan and apply in one go (the command line and tests)."""
    plan = plan_import(session, content, fmt, filename)
    return plan, apply_import(session, plan, partial=partial)
