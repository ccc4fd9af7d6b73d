"""Helpers for the matching tests: a hand-made market, a counting embedder, feedback rows."""

from __future__ import annotations

from datetime import timedelta

from models import MeetingRequest
from models.base import utcnow
from tests.factories import create_organization, create_user
from web.services.matching_vectors import embed_pending_profiles

# A Thai textile plant needing cooling, and Japanese makers of which only one sells chillers.
MARKET = {
    "textile": {
        "name": "Siam Textile Dyeing", "kind": "partner_company", "country": "TH", "external_id": "th-textile",
        "description": "Textile dyeing and finishing plant near Bangkok running chillers and steam boilers.",
        "needs": ["Replace old chillers that cool our dyeing halls with high-efficiency centrifugal chillers",
               "Cut the electricity our cooling water system uses"],
        "sectors": ["textiles"], "technology_categories": ["energy_efficiency"], "target_countries": ["TH"]},
    "chiller": {
        "name": "Nippon Chiller Works", "kind": "japanese_company", "country": "JP", "external_id": "jp-chiller",
        "description": "Maker of high-efficiency centrifugal chillers and cooling systems for factories.",
        "offers": ["High-efficiency centrifugal chillers that cool factories with less electricity",
                "Inverter cooling water pumps for chiller plants"],
        "sectors": ["textiles", "manufacturing"], "technology_categories": ["energy_efficiency"],
        "target_countries": ["TH", "VN"]},
    "solar": {
        "name": "Rising Sun Solar", "kind": "japanese_company", "country": "JP", "external_id": "jp-solar",
        "description": "Rooftop solar photovoltaic panels for shopping malls.",
        "offers": ["Rooftop solar PV systems with power purchase agreements"],
        "technology_categories": ["renewable_energy"], "target_countries": ["ID"]},
    "waste": {
        "name": "Kansai Waste Power", "kind": "japanese_company", "country": "JP", "external_id": "jp-waste",
        "description": "Waste-to-energy incineration plants for municipal solid waste.",
        "offers": ["Municipal solid waste incinerators with power generation"],
        "technology_categories": ["waste"], "target_countries": ["VN"]},
    "bank": {
        "name": "Tokyo Green Bank", "kind": "financial_institution", "country": "JP", "external_id": "jp-bank",
        "description": "Finance for energy efficiency upgrades in Thai factories.",
        "offers": ["Loans for high-efficiency equipment such as chillers in Thailand"],
        "technology_categories": ["energy_efficiency"], "target_countries": ["TH"]},
    "other_host": {
        "name": "Hanoi Brewery", "kind": "partner_company", "country": "VN", "external_id": "vn-brewery",
        "description": "Brewery in Hanoi.", "needs": ["Efficient refrigeration for beer cooling tanks"],
        "technology_categories": ["energy_efficiency"], "target_countries": ["VN"]},
}


def make_market(session, *names: str) -> dict:
    """The named organizations of MARKET (all by default), approved; returns them by name."""
    return {name: create_organization(session, **MARKET[name]) for name in (names or MARKET)}


def member_of(session, org, **overrides):
    """A user of the given organization."""
    return create_user(session, org, **overrides)


class CountingEmbedder:
    """Wraps an embedder and counts what it is asked to encode."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.calls = 0
        self.texts: list[str] = []

    def encode(self, texts):
        self.calls += 1
        self.texts.extend(texts)
        return self.inner.encode(texts)


def embed(session_factory, embedder) -> int:
    """Run the embedding job synchronously, as the scheduler would."""
    return embed_pending_profiles(session_factory, embedder)


def answered_request(session, requester, recipient, status: str) -> MeetingRequest:
    """An answered meeting request between two organizations (feedback for learning weights)."""
    now = utcnow()
    req = MeetingRequest(requester_org_id=requester.id, recipient_org_id=recipient.id, message="Hello",
                         topics=[], status=status, created_at=now, expires_at=now + timedelta(days=14),
                         responded_at=now)
    session.add(req)
    session.flush()
    return req
