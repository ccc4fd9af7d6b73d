"""Reading interchange files: JSON Lines or CSV into (first line, last line, record or error) per record.

A broken CSV record never stops the reading: the reader reports it and goes on at the next line,
so the valid lines after it are still checked (and imported when the user asks for valid lines
only).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from web.errors import ValidationFailed
from web.i18n import _
from web.services.organizations import LIST_FIELDS

FORMATS = ("jsonl", "csv")
# Spreadsheets run cells starting with these as formulas: export quotes them with a leading '.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class LineError:
    """A reason a record cannot be imported: its first line and, for a CSV record spanning lines, its last."""

    line: int
    field: str
    message: str
    end: int | None = None

    def __post_init__(self) -> None:
        self.end = max(self.end or self.line, self.line)

    def __str__(self) -> str:
        values = {"line": self.line, "end": self.end, "field": self.field, "message": self.message}
        if self.end > self.line:
            if self.field:
                return _("lines %(line)d-%(end)d: %(field)s: %(message)s") % values
            return _("lines %(line)d-%(end)d: %(message)s") % values
        if self.field:
            return _("line %(line)d: %(field)s: %(message)s") % values
        return _("line %(line)d: %(message)s") % values


# (first line, last line, the record's fields or the reason it cannot be read)
Record = tuple[int, int, "dict[str, Any] | LineError"]


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


def read_jsonl(text: str) -> Iterator[Record]:
    """(line, line, object) per non-blank line, or the reason the line is not a JSON object."""
    # split on \n only: JSON strings may hold U+2028 and other separators str.splitlines() breaks on
    for number, line in enumerate(text.split("\n"), 1):
        line = line.strip()
        if not line:
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            yield number, number, LineError(number, "", _("Not valid JSON (%(reason)s).") % {"reason": str(exc)})
            continue
        if not isinstance(value, dict):
            yield number, number, LineError(number, "", _("Each line must be one JSON object."))
            continue
        yield number, number, value


class _Lines:
    """The file's lines for csv.reader, with a position that can be set back to resynchronise."""

    def __init__(self, text: str):
        # the same line breaks csv itself knows: \n, \r\n and \r
        self.lines = io.StringIO(text, newline="").readlines()
        self.pos = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.lines):
            raise StopIteration
        self.pos += 1
        return self.lines[self.pos - 1]


def _csv_error(exc: csv.Error, start: int, end: int, last: int) -> str:
    """What went wrong with the CSV record that starts on line `start` (the reader stopped on line `end`)."""
    reason = str(exc)
    values = {"start": start, "end": end, "next": start + 1, "limit": f"{csv.field_size_limit():,}"}
    if "field larger" in reason:
        if end > start:
            message = _("A cell that starts on this line runs on to line %(end)d and past %(limit)s characters: "
                        "a quote is probably not closed.") % values
        else:
            message = _("A cell of this line is longer than %(limit)s characters.") % values
    elif "expected after" in reason:
        if end > start:
            message = _("A quote opened on this line closes on line %(end)d and is followed by more text: "
                        "a quote is probably missing or stray.") % values
        else:
            message = _("A closing quote must be followed by a comma or the end of the line; inside a quoted cell, "
                        "write a quote as two quotes (\"\").")
    elif end >= last:
        message = _("A quote opened on this line is never closed: it would take in lines %(start)d to %(end)d "
                    "(the end of the file) as one cell.") % values
    else:
        message = _("Not valid CSV (%(reason)s).") % {"reason": reason}
    if start < last:
        message += " " + _("Only this line is skipped: reading goes on with line %(next)d.") % values
    return message


def _csv_cell(value: str) -> str:
    value = value.strip()
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_STARTS:
        return value[1:]
    return value


def read_csv(text: str) -> Iterator[Record]:
    """(first line, last line, record) per CSV record; list columns are split on `;`; empty cells are absent.

    Read record by record in strict mode: a record that breaks the CSV rules (an unclosed quote, a
    stray quote, an over-long cell) is reported on its first line, and reading starts again on the
    next line, so one bad line never hides the lines after it.
    """
    source = _Lines(text)
    reader = csv.reader(source, strict=True)
    last = len(source.lines)
    try:
        header = [name.strip() for name in next(reader, [])]
    except csv.Error as exc:
        message = _csv_error(exc, 1, source.pos, 1) + " " + _("The header line must be read first: fix it.")
        yield 1, 1, LineError(1, "", message)
        return
    if not header:
        return
    while True:
        start = source.pos + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, start, LineError(start, "", _csv_error(exc, start, source.pos, last))
            source.pos = start  # resynchronise: the next record starts on the next line
            continue
        end = source.pos
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            yield start, end, LineError(start, "", _("This row has more cells than the header has columns."), end)
            continue
        record: dict[str, Any] = {}
        for name, cell in zip(header, row):
            cell = _csv_cell(cell)
            if not name or not cell:
                continue
            record[name] = [item.strip() for item in cell.split(";") if item.strip()] if name in LIST_FIELDS else cell
        yield start, end, record


def read_records(content: bytes | str, fmt: str | None = None,
                 filename: str | None = None) -> tuple[str, Iterator[Record]]:
    """The format used and the file's records with their line numbers."""
    text = decode(content)
    fmt = fmt or detect_format(text, filename)
    if fmt not in FORMATS:
        raise ValidationFailed(_("Choose the format jsonl or csv."), field_errors={"format": _("Choose jsonl or csv.")})
    return fmt, (read_jsonl(text) if fmt == "jsonl" else read_csv(text))
