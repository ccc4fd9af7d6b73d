"""The README and docs/ point only at files that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Markdown links to relative targets, and project paths written out (in code blocks too: people copy them).
LINK_RE = re.compile(r"\]\((?!https?:|mailto:|#)([^)#\s]+)")
PATH_RE = re.compile(r"(?<![\w/.-])((?:docs|seeds|scripts|benchmarks|web|models|tests|alembic)/[\w./-]*\.[a-z]{2,5})\b")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_documents_link_only_to_existing_files(document):
    text = document.read_text(encoding="utf-8")
    targets = {(document.parent / match).resolve() for match in LINK_RE.findall(text)}
    targets |= {(ROOT / match).resolve() for match in PATH_RE.findall(text)}
    missing = sorted(str(path.relative_to(ROOT)) for path in targets if not path.exists())
    assert missing == []
