"""The demo technologies: one to three per demo Japanese company, every area, loaded idempotently."""

from collections import Counter

from sqlalchemy import select

from models import Organization, Technology
from seeds.demo import load_demo_organizations, DemoSummary
from seeds.demo_technologies import load_demo_technologies
from web.services.technology_catalogue import category_areas


def test_demo_technologies_cover_every_company_and_area(session):
    orgs = load_demo_organizations(session, DemoSummary())
    summary = load_demo_technologies(session, orgs)
    assert summary.created == 47 and summary.removed == 0
    companies = {o.id for o in orgs.values() if o.kind == "japanese_company" and o.status == "approved"}
    per_company = Counter(session.scalars(select(Technology.organization_id)))
    assert set(per_company) == companies and set(per_company.values()) <= {1, 2, 3}
    areas = category_areas(session)
    published = session.scalars(select(Technology).where(Technology.status == "published")).all()
    assert {areas[t.category] for t in published} == {"climate", "waste_recycling", "water", "soil", "air"}
    assert all(t.is_demo and t.published_at for t in published)
    assert any(t.methodology for t in published for t in t.track_records)


def test_demo_technologies_reload_changes_nothing_and_restores_edits(session):
    orgs = load_demo_organizations(session, DemoSummary())
    load_demo_technologies(session, orgs)
    session.commit()
    stamps = dict(session.execute(select(Technology.id, Technology.updated_at)).all())
    assert load_demo_technologies(session, orgs).unchanged == 47
    assert dict(session.execute(select(Technology.id, Technology.updated_at)).all()) == stamps
    tech = session.scalar(select(Technology).where(Technology.status == "published").limit(1))
    tech.status, tech.status_reason, tech.investment_jpy = "unpublished", "test", 1
    session.flush()
    summary = load_demo_technologies(session, orgs)
    assert (summary.updated, summary.unchanged) == (1, 46)
    assert (tech.status, tech.status_reason) == ("published", "")
    assert session.scalar(select(Organization.id).where(Organization.id == tech.organization_id))
