"""`matchmaker import` and `matchmaker export` on a scratch SQLite database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from web.cli import app

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "jcm-benchmark" / "dev"
FOLD_FILES = sorted(BENCHMARK.glob("fold*/organizations.jsonl"))
assert FOLD_FILES, f"benchmark folds missing under {BENCHMARK}"
GOOD = {"id": "a-1", "name": "Alpha Solar", "kind": "japanese_company", "country": "JP", "offers": ["PV"]}


@pytest.fixture
def scratch_db(tmp_path, monkeypatch):
    """A fresh migrated SQLite file named by MATCHMAKER_DATABASE_URL (no reference data yet)."""
    url = f"sqlite:///{tmp_path / 'scratch.db'}"
    monkeypatch.setenv("MATCHMAKER_DATABASE_URL", url)
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    return url


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def organization_count(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(text("SELECT count(*) FROM organization")).scalar_one()
    engine.dispose()
    return value


def write(tmp_path: Path, name: str, content: str) -> str:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("fold", FOLD_FILES, ids=lambda path: path.parent.name)
def test_import_benchmark_fold_on_fresh_database(scratch_db, fold):
    lines = sum(1 for line in fold.read_text(encoding="utf-8").splitlines() if line.strip())
    result = run("import", str(fold))
    assert result.exit_code == 0, result.output
    assert f"created {lines}, updated 0, unchanged 0" in result.stdout
    assert organization_count(scratch_db) == lines
    again = run("import", str(fold))
    assert f"created 0, updated 0, unchanged {lines}" in again.stdout


def test_import_rejected_file_exits_1_and_writes_nothing(scratch_db, tmp_path):
    path = write(tmp_path, "orgs.jsonl",
                 json.dumps(GOOD) + "\n" + json.dumps(GOOD | {"id": "b", "country": "XX"}) + "\n")
    result = run("import", path)
    assert result.exit_code == 1
    assert "line 2: country:" in result.stderr and "nothing written" in result.stderr
    assert organization_count(scratch_db) == 0
    partial = run("import", path, "--partial")
    assert partial.exit_code == 0 and "created 1" in partial.stdout and "skipped 1" in partial.stdout
    assert organization_count(scratch_db) == 1


def test_import_dry_run_writes_nothing(scratch_db, tmp_path):
    path = write(tmp_path, "orgs.jsonl", json.dumps(GOOD) + "\n")
    result = run("import", path, "--dry-run")
    assert result.exit_code == 0 and "would create 1" in result.stdout
    assert organization_count(scratch_db) == 0


def test_import_csv_with_format_option(scratch_db, tmp_path):
    path = write(tmp_path, "orgs.txt", "id,name,kind,country,offers\nc-1,Beta,japanese_company,JP,A;B\n")
    result = run("import", path, "--format", "csv")
    assert result.exit_code == 0 and "created 1" in result.stdout, result.output


def test_export_to_stdout_and_file_round_trips(scratch_db, tmp_path):
    path = write(tmp_path, "orgs.jsonl", json.dumps(GOOD) + "\n")
    run("import", path)
    stdout = run("export")
    assert stdout.exit_code == 0 and json.loads(stdout.stdout.splitlines()[0]) == GOOD
    out = tmp_path / "out.csv"
    assert run("export", "--output", str(out), "--format", "csv", "--approved-only").exit_code == 0
    again = run("import", str(out))
    assert again.exit_code == 0 and "created 0, updated 0, unchanged 1" in again.stdout


def test_export_rejects_unknown_format(scratch_db):
    assert run("export", "--format", "xml").exit_code == 2


def test_import_partial_csv_reports_every_skipped_line_and_keeps_the_rest(scratch_db, tmp_path):
    rows = ["id,name,kind,country", "c-2,Beta,japanese_company,JP",
            "c-3,Gamma,partner_company,VN," + "x" * 140_000,  # a cell longer than the CSV reader allows
            "c-4,Delta,partner_company,VN", 'c-5,"Epsilon,partner_company,ID',  # a quote never closed
            "c-6,Zeta,consultant,JP", "c-7,Eta,public_body,TH"]
    path = write(tmp_path, "orgs.csv", "\n".join(rows) + "\n")
    refused = run("import", path)
    assert refused.exit_code == 1 and organization_count(scratch_db) == 0
    result = run("import", path, "--partial")
    assert result.exit_code == 0, result.output
    assert "error: line 3: A cell of this line is longer than" in result.stderr
    assert "error: line 5: A quote opened on this line is never closed" in result.stderr
    assert "created 4, updated 0, unchanged 0; skipped 2 lines with errors (lines 3, 5)" in result.stdout
    assert organization_count(scratch_db) == 4


def test_import_lists_every_error_not_the_first_200(scratch_db, tmp_path):
    bad = [json.dumps(GOOD | {"id": f"b-{n}", "country": "XX"}) for n in range(250)]
    path = write(tmp_path, "orgs.jsonl", "\n".join(bad) + "\n")
    result = run("import", path, "--dry-run")
    assert sum(1 for line in result.stderr.splitlines() if line.startswith("error: line ")) == 250
    assert "250 lines with errors" in result.stdout
