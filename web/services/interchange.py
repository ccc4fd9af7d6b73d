"""The organization interchange format: read and check a file, plan and apply an import.

The format is described in docs/import-export.md: JSON Lines (or CSV with `;`-joined lists);
web/services/interchange_reader.py reads files into records.
An import is two steps: `plan_import` reads and checks every line and says what would change
without writing; `apply_import` writes that plan (all-or-nothing unless `partial`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, selectinload

from models import Organization, OrganizationTag
from models.base import utcnow
from web.errors import ValidationFailed
from web.i18n import _, current_language, ngettext
from web.services import after_commit, sectors
from web.services.interchange_reader import (  # noqa: F401  (the import's public names)
    FORMATS,
    FORMULA_STARTS,
    LineError,
    Record,
    decode,
    detect_format,
    read_csv,
    read_jsonl,
    read_records,
)
from web.services.organizations import (
    LIST_FIELDS,
    OrganizationData,
    apply_organization,
    category_slugs,
    search_text_for,
    tag_values,
    validate_organization,
)

FORMAT_FIELDS = ("id", "name", "kind", "country", "description", "offers", "needs", "sectors",
                 "technology_categories", "target_countries", "website", "source")
REQUIRED_FIELDS = ("id", "name", "kind", "country")
COMPARED_FIELDS = FORMAT_FIELDS[1:]
# Organizations that signed up on the site have no importer id: export names them mm-<number>,
# and importing that id updates the same organization. The form is the platform's alone: an
# import may not give it to another organization (it would collide with a later sign-up).
SITE_ID_RE = re.compile(r"^mm-(\d+)$")
CHUNK_SIZE = 1000
# Other names for taxonomy slugs seen in real files (e.g. "REDD+" for forestry).
CATEGORY_ALIASES = {"forestry_redd": "forestry", "redd": "forestry", "redd+": "forestry"}


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
    def rejected_line_numbers(self) -> list[int]:
        """The first line of every record that is not imported, in order."""
        return sorted({error.line for error in self.errors})

    @property
    def rejected_lines(self) -> int:
        return len(self.rejected_line_numbers)


def line_ranges(numbers: list[int]) -> str:
    """Sorted line numbers as "3, 5, 9-12"."""
    parts: list[str] = []
    for number in numbers:
        if parts and number == int(parts[-1].rpartition("-")[2]) + 1:
            parts[-1] = f"{parts[-1].partition('-')[0]}-{number}"
        else:
            parts.append(str(number))
    return ", ".join(parts)


@dataclass
class ImportResult:
    """What an applied import wrote."""

    created: int
    updated: int
    unchanged: int
    skipped: int
    skipped_lines: list[int] = field(default_factory=list)

    def summary(self) -> str:
        return f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}"


class ImportRejected(ValidationFailed):
    """The file has errors and the user did not ask to import the valid lines only."""


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


def check_records(records: Iterable[Record], categories: set[str],
                  vocabulary: sectors.Vocabulary) -> tuple[list[PlannedLine], list[LineError], list[str], int]:
    """Validate every record: valid lines, errors with line numbers, warnings, records read."""
    valid: list[PlannedLine] = []
    errors: list[LineError] = []
    unknown: dict[str, list[int]] = {}
    renamed: dict[tuple[str, str], list[int]] = {}
    renamed_sectors: dict[tuple[str, str], list[int]] = {}
    first_line_of: dict[str, int] = {}
    count = 0
    for line, end, raw in records:
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
        if not field_errors and known.get("sectors"):
            for value, slug in vocabulary.clean(known["sectors"]).renamed:
                renamed_sectors.setdefault((value, slug), []).append(line)
        if not field_errors:
            data, field_errors = validate_organization(known, categories, sectors=vocabulary,
                                                       require_external_id=True, from_file=True)
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
            errors.append(LineError(line, name, field_errors[name], end))
        if data is not None and not field_errors:
            valid.append(PlannedLine(line=line, data=data))
    warnings = _unknown_field_warnings(unknown) + [
        ngettext("Technology category \"%(value)s\" read as \"%(slug)s\" (line %(lines)s).",
                 "Technology category \"%(value)s\" read as \"%(slug)s\" (lines %(lines)s).", len(lines))
        % {"value": value, "slug": slug, "lines": _line_list(lines)} for (value, slug), lines in renamed.items()]
    language = current_language()
    warnings += [
        ngettext("Sector \"%(value)s\" read as \"%(name)s\" (line %(lines)s).",
                 "Sector \"%(value)s\" read as \"%(name)s\" (lines %(lines)s).", len(lines))
        % {"value": value, "name": vocabulary.label(slug, language), "lines": _line_list(lines)}
        for (value, slug), lines in renamed_sectors.items()]
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
    valid, errors, warnings, count = check_records(records, category_slugs(session), sectors.vocabulary(session))
    plan = ImportPlan(format=fmt, lines=valid, errors=errors, warnings=warnings, records=count)
    by_id = {planned.external_id: planned for planned in valid}
    # One streamed query over the rows that carry an importer id: no SELECT per line.
    query = select(*_compare_columns()).where(Organization.external_id.is_not(None))
    for row in session.execute(query.execution_options(yield_per=2000)):
        planned = by_id.pop(row.external_id, None)
        if planned is not None:
            _mark_existing(planned, row)
    _plan_site_ids(session, plan, by_id)
    plan.errors.sort(key=lambda error: error.line)
    return plan


def _plan_site_ids(session: Session, plan: ImportPlan, unmatched: dict[str, PlannedLine]) -> None:
    """mm-<number> updates the site's organization of that number; any other use of the form is an error."""
    site_ids = {int(match.group(1)): planned for key, planned in unmatched.items() if (match := SITE_ID_RE.match(key))}
    other_ids: dict[int, str] = {}
    for chunk in _chunks(list(site_ids)):
        query = select(*_compare_columns()).where(Organization.id.in_(chunk))
        for row in session.execute(query):
            if row.external_id is None and site_ids[row.id].external_id == f"mm-{row.id}":
                _mark_existing(site_ids.pop(row.id), row)
            elif row.external_id is not None:
                other_ids[row.id] = row.external_id
    refused = {id(planned) for planned in site_ids.values()}
    plan.lines = [planned for planned in plan.lines if id(planned) not in refused]
    for number, planned in site_ids.items():
        values = {"id": planned.external_id, "other": other_ids.get(number, ""), "canonical": f"mm-{number}"}
        if number in other_ids:
            message = _("%(id)s is the platform's id of an organization that has the id %(other)s: "
                        "use %(other)s to update it.") % values
        elif planned.external_id != values["canonical"]:
            message = _("Ids of the form mm-<number> are the platform's own: write %(canonical)s to update "
                        "organization %(canonical)s, or choose another id.") % values
        else:
            message = _("Ids of the form mm-<number> are the platform's own and %(id)s names no organization "
                        "here: choose another id for a new organization.") % values
        plan.errors.append(LineError(planned.line, "id", message))


def _new_row(data: OrganizationData, now) -> dict[str, Any]:
    # The same values create_organization() would store; organizers import vetted lists, so approved.
    row = {f.name: getattr(data, f.name) for f in fields(OrganizationData)}
    row.update(status="approved", status_reason="", is_demo=False, search_text=search_text_for(data),
               created_at=now, updated_at=now)
    return row


def _tag_rows(organization_id: int, data: OrganizationData) -> list[dict[str, Any]]:
    wanted = sorted({(name, value[:200]) for name, value in tag_values(data)})
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
        orgs = session.scalars(select(Organization).where(Organization.id.in_(chunk))
                               .options(selectinload(Organization.tags))).all()  # one query, not one per organization
        for org in orgs:
            apply_organization(org, updates[org.id].data, keep_source=True)
        session.flush()
    if creates or updates:
        after_commit.run_job(session, after_commit.EMBED_PROFILES)  # new and changed profiles get their vectors
    return ImportResult(created=len(creates), updated=len(updates), unchanged=plan.count("unchanged"),
                        skipped=plan.rejected_lines, skipped_lines=plan.rejected_line_numbers)


def import_organizations(session: Session, content: bytes | str, fmt: str | None = None, *,
                         filename: str | None = None, partial: bool = False) -> tuple[ImportPlan, ImportResult]:
    """Plan and apply in one go (the command line and tests)."""
    plan = plan_import(session, content, fmt, filename)
    return plan, apply_import(session, plan, partial=partial)
