"""Published technologies count among a firm's offers in matching, and reasons quote them by name."""

from sqlalchemy import select

from matchmaker import DEFAULT_WEIGHTS
from models import Organization
from tests.factories import create_organization
from tests.web.matching_support import MARKET, embed
from tests.web.technology_support import create_technology
from web.services.prematching import match_records
from web.services.matching_index import build_state
from web.services.matching_vectors import approved_rows, pending_organizations
from web.services.technology_offers import offer_text


def test_offer_text_starts_with_the_name():
    assert offer_text("Turbo chiller", "Centrifugal chillers for factories. They save a third.") == \
        "Turbo chiller: Centrifugal chillers for factories."
    assert offer_text("Turbo chiller", "") == "Turbo chiller"
    assert len(offer_text("X", "word " * 200)) < 240


def test_profile_rows_include_published_technologies_only(session):
    firm = create_organization(session, name="Firm", offers=["Consulting on chiller plants"])
    create_technology(session, firm, name="Turbo chiller", description="Centrifugal chillers for factories.")
    create_technology(session, firm, name="Draft pump", status="pending")
    create_technology(session, firm, name="Withdrawn boiler", status="unpublished")
    session.commit()
    row = next(r for r in approved_rows(session) if r.id == firm.id)
    assert row.offers == ["Consulting on chiller plants", "Turbo chiller: Centrifugal chillers for factories."]
    assert row.name == "Firm"  # every other column reads through
    assert [r.offers for r in approved_rows(session, [firm.id])] == [row.offers]


def test_publishing_a_technology_makes_the_firm_due_for_embedding(session, session_factory, embedder):
    firm = create_organization(session, name="Firm", offers=["Consulting"])
    session.commit()
    embed(session_factory, embedder)
    assert pending_organizations(session, embedder.name) == []
    create_technology(session, firm, name="Turbo chiller")
    session.commit()
    assert [p.organization_id for p in pending_organizations(session, embedder.name)] == [firm.id]


def test_reasons_quote_the_technology_by_name(session, session_factory, embedder):
    textile = create_organization(session, **MARKET["textile"])
    firm = create_organization(session, name="Nippon Chiller Works", kind="japanese_company", external_id="jp-firm",
                               description="Japanese maker.", technology_categories=["energy_efficiency"],
                               target_countries=["TH"])
    create_technology(session, firm, name="ETI-Z inverter turbo chiller",
                      description="Replace old chillers that cool dyeing halls with high-efficiency centrifugal "
                                  "chillers that use less electricity.")
    session.commit()
    embed(session_factory, embedder)
    state = build_state(session, embedder.name)
    line = next(match_records(session, state, DEFAULT_WEIGHTS, [textile.external_id], k=5))
    match = next(m for m in line["matches"] if m["id"] == "jp-firm")
    assert any("ETI-Z inverter turbo chiller" in reason for reason in match["reasons"]), match["reasons"]
    assert session.scalar(select(Organization.offers).where(Organization.id == firm.id)) == []  # profile untouched
