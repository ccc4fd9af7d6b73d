"""Reference data loader: countries, technology categories, sectors, CTCN technologies, JCM methodologies, and the
JCM financing reference data of the technology pre-check (projects per country and registry sector, subsidy rules)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    Country,
    CtcnTechnology,
    JcmProjectCount,
    JcmRegistrySector,
    JcmSubsidyRule,
    Methodology,
    Sector,
    TechnologyCategory,
)

DATA_DIR = Path(__file__).parent / "data"

# CTCN (area, sector) -> our category; a few CTCN categories override by keyword.
CTCN_SECTOR_MAP = {
    ("Mitigation", "Renewable energy"): "renewable_energy",
    ("Mitigation", "Energy efficiency"): "energy_efficiency",
    ("Mitigation", "Transport"): "transport",
    ("Mitigation", "Forestry"): "forestry",
    ("Mitigation", "Agriculture"): "agriculture",
    ("Mitigation", "Waste Management"): "waste",
    ("Mitigation", "Carbon Fixation and Abatement"): "ccus",
    ("Adaptation", "Water"): "water",
    ("Adaptation", "Agriculture and Forestry"): "agriculture",
    ("Adaptation", "Industry"): "climate",
    ("Adaptation", "Coastal Zones"): "climate",
    ("Adaptation", "Early Warning and Environmental Assessment"): "climate",
    ("Adaptation", "Human Health"): "climate",
    ("Adaptation", "Infrastructure and Urban planning"): "climate",
    ("Adaptation", "Marine and Fisheries"): "water",
}
CTCN_KEYWORDS = (
    ("hydrogen", "hydrogen"),
    ("fuel cell", "hydrogen"),
    ("carbon capture", "ccus"),
    ("cogeneration", "effective_energy_use"),
    ("combined heat", "effective_energy_use"),
    ("waste heat", "effective_energy_use"),
    ("smart grid", "effective_energy_use"),
    ("storage", "effective_energy_use"),
    ("recycl", "waste_recycling"),
    ("soil", "soil"),
    ("refrigerant", "fluorocarbons"),
    ("fluor", "fluorocarbons"),
    ("air pollution", "air"),
    ("air quality", "air"),
)


def read_csv(name: str) -> list[dict[str, str]]:
    """Rows of a CSV file in seeds/data."""
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def ctcn_category(area: str, sector: str, category: str, technology: str) -> str | None:
    """Our category for a CTCN technology: keywords first, then the sector mapping."""
    text = f"{category} {technology}".lower()
    for keyword, slug in CTCN_KEYWORDS:
        if keyword in text:
            return slug
    return CTCN_SECTOR_MAP.get((area, sector))


def _upsert(session: Session, model, key: str, rows: list[dict]) -> int:
    existing = {getattr(obj, key): obj for obj in session.scalars(select(model))}
    for row in rows:
        obj = existing.get(row[key])
        if obj is None:
            session.add(model(**row))
        else:
            for name, value in row.items():
                setattr(obj, name, value)
    return len(rows)


def load_reference(session: Session) -> dict[str, int]:
    """Load or refresh all reference tables (idempotent); returns row counts."""
    countries = [
        {"iso2": r["iso2"], "name": r["name"], "is_jcm_partner": True,
         "jcm_signed_on": date.fromisoformat(r["jcm_signed_on"]) if r["jcm_signed_on"] else None,
         "registered_projects": int(r["registered_jcm_projects_in_pipeline"] or 0), "source": r["source"]}
        for r in read_csv("jcm_partner_countries.csv")
    ]
    countries.append({"iso2": "JP", "name": "Japan", "is_jcm_partner": False, "jcm_signed_on": None,
                      "registered_projects": None, "source": "ISO 3166-1"})
    categories = [
        {"slug": r["slug"], "group": r["group"], "area": r["area"], "position": int(r["position"]),
         "name_en": r["name_en"], "name_ja": r["name_ja"], "description_en": r["description_en"],
         "description_ja": r["description_ja"], "source": r["source"]}
        for r in read_csv("technology_categories.csv")
    ]
    sectors = [
        {"slug": r["slug"], "position": int(r["position"]), "name_en": r["name_en"], "name_ja": r["name_ja"],
         "description_en": r["description_en"], "description_ja": r["description_ja"], "aliases": r["aliases"],
         "source": r["source"]}
        for r in read_csv("sectors.csv")
    ]
    methodologies = [
        {"number": r["methodology_no"], "proposed_number": r["proposed_no"], "country_code": r["country_code"],
         "sectoral_scope": r["sectoral_scope"], "title": r["title"], "version": r["version"],
         "status": r["status"], "source_url": r["source_url"]}
        for r in read_csv("jcm_methodologies.csv")
    ]
    counts = {
        "countries": _upsert(session, Country, "iso2", countries),
        "technology_categories": _upsert(session, TechnologyCategory, "slug", categories),
        "sectors": _upsert(session, Sector, "slug", sectors),
        "methodologies": _upsert(session, Methodology, "number", methodologies),
    }
    session.flush()
    # CTCN rows are keyed by their four names: update in place so ids stay stable across seeds.
    existing = {(t.area, t.sector, t.category, t.technology): t for t in session.scalars(select(CtcnTechnology))}
    ctcn = read_csv("ctcn_technology_taxonomy.csv")
    wanted = set()
    for r in ctcn:
        key = (r["area_as_listed"], r["sector"], r["category"], r["technology"])
        wanted.add(key)
        slug = ctcn_category(*key)
        row = existing.get(key)
        if row is None:
            session.add(CtcnTechnology(area=key[0], sector=key[1], category=key[2], technology=key[3],
                                       source=r["source"], category_slug=slug))
        else:
            row.source, row.category_slug = r["source"], slug
    for key, row in existing.items():
        if key not in wanted:
            session.delete(row)
    counts["ctcn_technologies"] = len(ctcn)
    session.flush()
    counts |= load_financing_reference(session)
    return counts


def _int_or_none(value: str) -> int | None:
    return int(value) if value.strip() else None


def load_financing_reference(session: Session) -> dict[str, int]:
    """The pre-check's reference tables (idempotent): rows not in the files are removed."""
    sectors = [{"name": r["registry_sector"], "category": r["category"], "is_primary": r["is_primary"] == "true",
                "position": int(r["position"]), "source": r["source"]} for r in read_csv("jcm_registry_sectors.csv")]
    rules = [{"key": r["key"], "kind": r["kind"], "similar_from": _int_or_none(r["similar_from"]),
              "similar_to": _int_or_none(r["similar_to"]), "value": float(r["value"]), "unit": r["unit"],
              "source": r["source"]} for r in read_csv("jcm_subsidy_rules.csv")]
    counts = {(r["iso2"], r["registry_sector"]): r for r in read_csv("jcm_projects_by_country_sector.csv")}
    _upsert(session, JcmRegistrySector, "name", sectors)
    _upsert(session, JcmSubsidyRule, "key", rules)
    for model, key, wanted in ((JcmRegistrySector, "name", {s["name"] for s in sectors}),
                               (JcmSubsidyRule, "key", {r["key"] for r in rules})):
        for row in session.scalars(select(model)):
            if getattr(row, key) not in wanted:
                session.delete(row)
    existing = {(row.country, row.registry_sector): row for row in session.scalars(select(JcmProjectCount))}
    for key, r in counts.items():
        row = existing.pop(key, None)
        if row is None:
            session.add(JcmProjectCount(country=key[0], registry_sector=key[1], projects=int(r["projects"]),
                                        source=r["source"]))
        else:
            row.projects, row.source = int(r["projects"]), r["source"]
    for row in existing.values():
        session.delete(row)
    session.flush()
    return {"jcm_registry_sectors": len(sectors), "jcm_subsidy_rules": len(rules), "jcm_project_counts": len(counts)}
