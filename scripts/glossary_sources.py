"""Fill the source column of matchmaker/data/glossary.csv from the reference data each term occurs in.

Usage: python scripts/glossary_sources.py [--reference DIR]   (DIR: the MOEJ Japanese source documents, optional)

A concept's English terms are looked up in the JCM methodology titles, the CTCN taxonomy, the technology
categories and the Article 6.4 activity titles (seeds/data); its Japanese terms in the technology categories'
Japanese texts and, when given, the MOEJ documents. A side found nowhere is marked as the project's translation.
"""

from __future__ import annotations

import argparse
import csv
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "matchmaker" / "data" / "glossary.csv"
SEEDS = ROOT / "seeds" / "data"


def _english_sources() -> list[tuple[str, str]]:
    """(label, text) pairs of the English reference data."""
    out = []
    for row in csv.DictReader(open(SEEDS / "jcm_methodologies.csv", encoding="utf-8")):
        if row["title"] and not row["title"].startswith("("):
            out.append((f"JCM methodology {row['methodology_no']}", row["title"]))
    for row in csv.DictReader(open(SEEDS / "ctcn_technology_taxonomy.csv", encoding="utf-8")):
        out.append((f"CTCN {row['sector']} / {row['category']}", f"{row['category']}: {row['technology']}"))
    for row in csv.DictReader(open(SEEDS / "technology_categories.csv", encoding="utf-8")):
        out.append((f"technology category {row['slug']}", f"{row['name_en']}: {row['description_en']}"))
    for row in csv.DictReader(open(SEEDS / "article64_activities.csv", encoding="utf-8")):
        out.append(("Article 6.4 activity titles", row.get("activity_title") or row.get("title") or ""))
    return out


def _japanese_sources(reference: Path | None) -> list[tuple[str, str]]:
    out = []
    for row in csv.DictReader(open(SEEDS / "technology_categories.csv", encoding="utf-8")):
        out.append((f"technology category {row['slug']} (ja)", f"{row['name_ja']} {row['description_ja']}"))
    if reference is not None:
        for f in sorted(reference.glob("*.txt")):
            out.append((f"MOEJ document {f.name}", f.read_text(encoding="utf-8")))
    return out


def _found(terms: list[str], sources: list[tuple[str, str]], english: bool) -> list[str]:
    labels: list[str] = []
    for term in terms:
        pattern = re.compile(r"(?<![a-z0-9])" + re.escape(term) + r"(?![a-z0-9])", re.I) if english else None
        for label, text in sources:
            hit = pattern.search(text) if english else term in text
            if hit and label not in labels:
                labels.append(label)
    return labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reference", type=Path, default=None)
    args = ap.parse_args()
    rows = list(csv.DictReader(open(GLOSSARY, encoding="utf-8")))
    en_sources, ja_sources = _english_sources(), _japanese_sources(args.reference)
    for row in rows:
        en = _found(row["en"].split("|"), en_sources, True)
        ja = _found(row["ja"].split("|"), ja_sources, False)
        row["source"] = "en: " + ("; ".join(en[:3]) if en else "project translation") \
            + " | ja: " + ("; ".join(ja[:2]) if ja else "project translation")
    with open(GLOSSARY, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["concept", "en", "ja", "source"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} concepts; English attested for {sum('en: project' not in r['source'] for r in rows)}, "
          f"Japanese for {sum('ja: project' not in r['source'] for r in rows)}")


if __name__ == "__main__":
    main()
