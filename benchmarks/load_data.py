"""Data for benchmarks/load.py: generated organizations, and members with requests to answer and matches."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

from sqlalchemy import or_, select

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "demo-password-2026"  # the demo accounts' password (README)
DEMO_MEMBERS = ("jp@example.com", "partner@example.com", "finance@example.com")
WORDS = ("chiller boiler solar rooftop biomass wind hydro geothermal heat pump inverter led lighting motor "
         "compressor cooling refrigeration waste landfill methane biogas composting recycling plastic transport "
         "electric bus vehicle charging rail logistics forest mangrove peat agriculture irrigation rice fertiliser "
         "fluorocarbon recovery destruction hydrogen electrolyser ammonia carbon capture storage water treatment "
         "desalination sewage sludge cement steel glass textile dyeing food processing cold chain hospital mall "
         "hotel data centre grid battery storage microgrid diesel replacement efficiency monitoring mrv "
         "finance loan leasing consulting feasibility study").split()


def _partner_countries() -> list[str]:
    with open(ROOT / "seeds" / "data" / "jcm_partner_countries.csv", encoding="utf-8") as f:
        return [row["iso2"] for row in csv.DictReader(f)]


def _categories() -> list[str]:
    with open(ROOT / "seeds" / "data" / "technology_categories.csv", encoding="utf-8") as f:
        return [row["slug"] for row in csv.DictReader(f)]


def write_organizations(path: Path, n: int, seed: int = 7) -> Path:
    """Write n generated organizations in the interchange format (45% Japanese, 45% partners, 10% supporters)."""
    rng = random.Random(seed)
    countries, categories = _partner_countries(), _categories()

    def phrase() -> str:
        return " ".join(rng.sample(WORDS, rng.randint(4, 9)))

    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            roll = rng.random()
            kind = ("japanese_company" if roll < 0.45 else "partner_company" if roll < 0.9
                    else rng.choice(("financial_institution", "consultant")))
            partner = kind == "partner_company"
            record = {
                "id": f"load-{i:05d}", "name": f"Load Test {kind.split('_')[0].title()} {i:05d}", "kind": kind,
                "country": rng.choice(countries) if partner else "JP",
                "description": f"{phrase().capitalize()}. {phrase().capitalize()}.",
                "offers": [] if partner else [phrase() for _ in range(rng.randint(1, 3))],
                "needs": [phrase() for _ in range(rng.randint(1, 2))] if partner or rng.random() < 0.2 else [],
                "sectors": rng.sample(["Industry", "Energy", "Transport", "Waste", "Buildings"], 1),
                "technology_categories": rng.sample(categories, rng.randint(1, 2)),
                "target_countries": [] if partner else rng.sample(countries, rng.randint(1, 3)),
            }
            f.write(json.dumps(record) + "\n")
    return path


def prepare_members(url: str, users: int) -> list[str]:
    """Give `users` imported organizations a member each, with pending requests to accept and two matches.

    Japanese member k receives requests from partners k+7..k+12 and partner member k from Japanese k+1..k+6;
    each has one match it asked for and one it was asked for; the demo members get requests and a match too.
    Returns the new members' emails.
    """
    from models import Organization, User
    from models.session import make_engine, make_session_factory, session_scope
    from web.security import hash_password
    from web.services import requests
    from web.settings import Settings

    half = max(16, users // 2)
    settings = Settings(database_url=url)
    engine = make_engine(url, pool_size=2)
    password_hash = hash_password(PASSWORD)
    emails: list[str] = []
    with session_scope(make_session_factory(engine)) as session:
        def members_of(kind: str) -> list[User]:
            orgs = session.scalars(select(Organization).where(Organization.kind == kind,
                                                              Organization.external_id.like("load-%"))
                                   .order_by(Organization.id).limit(half)).all()
            made = []
            for org in orgs:
                user = User(email=f"{org.external_id}@example.com", password_hash=password_hash,
                            full_name=f"Member of {org.name}", organization_id=org.id)
                session.add(user)
                made.append(user)
            session.flush()
            return made

        jp, partners = members_of("japanese_company"), members_of("partner_company")
        h = min(len(jp), len(partners))
        emails = [u.email for u in jp[:h] + partners[:h]]

        def ask(sender: User, recipient: User | Organization, accept_as: User | None = None) -> None:
            org_id = recipient.id if isinstance(recipient, Organization) else recipient.organization_id
            req = requests.request_meeting(session, settings, sender, org_id, "Shall we meet at the seminar?")
            if accept_as is not None:
                requests.accept_meeting(session, settings, accept_as, req.id)

        for k in range(h):
            for o in range(1, 7):
                ask(jp[(k + o) % h], partners[k])
            for o in range(7, 13):
                ask(partners[(k + o) % h], jp[k])
            ask(jp[k], partners[(k + 13) % h], accept_as=partners[(k + 13) % h])
            ask(partners[k], jp[(k + 14) % h], accept_as=jp[(k + 14) % h])
        demo = {u.email: u for u in session.scalars(select(User).where(User.email.in_(DEMO_MEMBERS)))}
        for i in range(6):
            ask(partners[i], demo["jp@example.com"])
            ask(jp[i], demo["partner@example.com"])
            ask(jp[6 + i] if i % 2 else partners[6 + i], demo["finance@example.com"])
        ask(partners[h - 1], demo["jp@example.com"], accept_as=demo["jp@example.com"])
        ask(jp[h - 1], demo["partner@example.com"], accept_as=demo["partner@example.com"])
        ask(jp[h - 2], demo["finance@example.com"], accept_as=demo["finance@example.com"])
    engine.dispose()
    return emails


def member_work(url: str, email: str) -> dict:
    """The ids of the requests this member's organization may accept, and of its matches."""
    from models import MeetingRequest, User
    from models.session import make_engine, make_session_factory

    engine = make_engine(url, pool_size=1)
    with make_session_factory(engine)() as session:
        org_id = session.scalar(select(User.organization_id).where(User.email == email))
        pending = session.scalars(select(MeetingRequest.id).where(MeetingRequest.recipient_org_id == org_id,
                                                                  MeetingRequest.status == "pending")).all()
        matches = session.scalars(select(MeetingRequest.id).where(
            MeetingRequest.status == "accepted",
            or_(MeetingRequest.recipient_org_id == org_id, MeetingRequest.requester_org_id == org_id))).all()
    engine.dispose()
    return {"pending": list(pending), "matches": list(matches)}
