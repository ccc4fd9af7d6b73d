"""Demo technologies: one to three per demo Japanese company, with realistic figures and track records.

Idempotent like the rest of the demo: a technology is keyed by its organization and name; running the seed again
restores its data-file values and status and touches nothing (not even updated_at) that is already so. Demo
technologies no longer in the file are removed; real organizations' technologies are never touched. The JCM
methodology numbers are real (seeds/data/jcm_methodologies.csv); the projects named are fictional.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Organization, Technology
from models.base import utcnow
from seeds.reference import DATA_DIR
from web.services.technology_checks import validate
from web.services.technology_form import apply_input, number_text, values_of

DEMO_TECHNOLOGIES = "demo_technologies.jsonl"


@dataclass
class DemoTechnologySummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: int = 0


def demo_technology_records() -> list[dict]:
    with (DATA_DIR / DEMO_TECHNOLOGIES).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _form_values(record: dict) -> dict:
    """A record in the shape of the owner's form, so the demo passes the same checks as a person's input."""
    def text(value) -> str:
        return number_text(float(value) if isinstance(value, float) else value, grouping=True)
    return {
        "name": record["name"], "name_ja": record.get("name_ja", ""), "category": record["category"],
        "description": record["description"], "description_ja": record.get("description_ja", ""),
        "products": list(record.get("products", [])), "figures_basis": record.get("figures_basis", ""),
        "ghg_reduction_t": text(record.get("ghg_reduction_t")), "investment_jpy": text(record.get("investment_jpy")),
        "annual_savings_jpy": text(record.get("annual_savings_jpy")),
        "durable_years": number_text(record.get("durable_years")), "languages": list(record.get("languages", [])),
        "track_records": [{"country": t["country"], "year": number_text(t.get("year")),
                           "description": t.get("description", ""), "project": t.get("jcm_project", ""),
                           "methodology": t.get("methodology") or ""}
                          for t in record.get("track_records", [])],
    }


def load_demo_technologies(session: Session, organizations: dict[str, Organization]) -> DemoTechnologySummary:
    """Create or restore the demo technologies of the demo organizations (the caller commits)."""
    summary = DemoTechnologySummary()
    demo_orgs = {key: org for key, org in organizations.items() if org.is_demo}
    existing = {(t.organization_id, t.name): t for t in session.scalars(
        select(Technology).where(Technology.organization_id.in_([o.id for o in demo_orgs.values()])))}
    wanted = set()
    now = utcnow()
    for record in demo_technology_records():
        org = demo_orgs.get(record["organization"])
        if org is None:  # a real organization holds this demo id (the organizations' seed skipped it): leave it be
            summary.skipped += 1
            continue
        values = _form_values(record)
        data = validate(session, values)  # the demo file is ours: a refusal is a bug
        status = record.get("status", "published")
        key = (org.id, data.name)
        wanted.add(key)
        technology = existing.get(key)
        if technology is None:
            technology = Technology(organization_id=org.id, name=data.name, category=data.category, is_demo=True)
            session.add(technology)
            summary.created += 1
        elif (values_of(technology) == values and technology.status == status and technology.is_demo
              and not technology.pending_changes and not technology.status_reason):
            summary.unchanged += 1
            continue
        else:
            summary.updated += 1
        apply_input(technology, data, text=True)
        technology.status, technology.status_reason, technology.review_note = status, "", ""
        technology.pending_changes, technology.is_demo = None, True
        if status == "published":
            technology.published_at = technology.published_at or now
            technology.reviewed_at = technology.reviewed_at or now
    for key, technology in existing.items():
        if key not in wanted and technology.is_demo:
            session.delete(technology)
            summary.removed += 1
    session.flush()
    return summary
