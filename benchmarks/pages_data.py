"""Generated organizations for benchmarks/pages.py: realistic profiles in the interchange format, and activity.

Profiles spread over kinds (45% Japanese companies, 45% partner-country companies, 10% supporters), the 31
JCM partner countries, the taxonomy's categories (skewed towards renewable energy and efficiency, as the
JCM pipeline is) and sectors. Offers and needs are phrased around the technologies of the UN CTCN taxonomy
that seeds/data carries, so search words and TF-IDF behave as on real text. Everything is seeded: the same
n gives the same file.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select

from models import MeetingMessage, MeetingRequest, Organization, User
from models.base import utcnow
from models.meeting import pair_key
from seeds.reference import ctcn_category, read_csv
from web.security import hash_password

PASSWORD = "benchmark password 1"
MEMBER_EMAIL = "member@bench.example.com"
CATEGORY_WEIGHTS = {
    "renewable_energy": 30, "energy_efficiency": 28, "effective_energy_use": 12, "waste": 9, "transport": 8,
    "forestry": 5, "fluorocarbons": 4, "agriculture": 6, "ccus": 2, "hydrogen": 4, "climate": 5,
    "waste_recycling": 4, "water": 6, "soil": 1, "air": 2,
}
# Categories the CTCN taxonomy barely covers get a few technologies of their own.
EXTRA_TECHNOLOGIES = {
    "air": ["Electrostatic precipitators for boilers", "Low-NOx burners", "Continuous emission monitoring"],
    "fluorocarbons": ["Natural-refrigerant (CO2, ammonia) cold chains", "Refrigerant recovery and destruction",
                      "Low-GWP refrigerant chillers"],
    "hydrogen": ["PEM electrolysers", "Hydrogen fuel cells for backup power", "Green ammonia synthesis"],
    "soil": ["Soil carbon monitoring", "Biochar application"],
    "ccus": ["Post-combustion CO2 capture", "CO2 mineralisation in concrete"],
}
# The words descriptions and offers use, and the sector of the platform's list (seeds/data/sectors.csv) each is.
SECTOR_OF = {"Industry": "industry", "Buildings": "buildings", "Power": "energy", "Transport": "transport",
             "Agriculture": "afolu", "Waste": "waste", "Water": "water", "Forestry": "afolu", "Commercial": "buildings",
             "Municipal services": "waste", "Food processing": "industry", "Textiles": "industry",
             "Cement": "industry", "Mining": "industry", "Hospitality": "buildings"}
SECTORS = list(SECTOR_OF)
NOUNS = ["Energy", "Engineering", "Systems", "Industries", "Power", "Technologies", "Solutions", "Works",
         "Environmental", "Green", "Holdings", "Manufacturing", "Services", "Partners"]
JP_STEMS = ["Sakura", "Hinode", "Fujimi", "Asahi", "Kawase", "Midori", "Tsubasa", "Yamabuki", "Kaede", "Hoshino",
            "Aoba", "Shirakawa", "Kiyomizu", "Minato", "Takane", "Izumi", "Nagisa", "Hikari", "Tokiwa", "Mizuho"]
SUPPORTER_KINDS = ("financial_institution", "consultant", "public_body")
OFFER_FORMS = ["{t} for {s} customers", "Design, supply and installation of {t}", "{t}: feasibility study and MRV",
               "Turnkey {t} with long-term O&M", "{t} ({s})"]
NEED_FORMS = ["Partner for {t} at our {s} site", "Financing and supply of {t}", "{t} to cut our {s} energy costs",
              "Technology provider for {t}"]


def _technologies() -> dict[str, list[str]]:
    by_category: dict[str, list[str]] = defaultdict(list)
    for row in read_csv("ctcn_technology_taxonomy.csv"):
        slug = ctcn_category(row["area_as_listed"], row["sector"], row["category"], row["technology"])
        if slug:
            by_category[slug].append(row["technology"])
    for slug, items in EXTRA_TECHNOLOGIES.items():
        by_category[slug].extend(items)
    return by_category


def _partner_stems() -> tuple[list[str], dict[str, list[str]]]:
    countries = [row["iso2"] for row in read_csv("jcm_partner_countries.csv")]
    stems = {row["iso2"]: row["stems"].split(";") for row in read_csv("demo_partner_names.csv")}
    return countries, stems


def generate(n: int, seed: int = 7) -> list[dict]:
    """n organizations in the interchange format (ids bench-0 .. bench-<n-1>)."""
    rng = random.Random(seed)
    techs = _technologies()
    countries, stems = _partner_stems()
    cats, weights = list(CATEGORY_WEIGHTS), list(CATEGORY_WEIGHTS.values())
    records = []
    for i in range(n):
        draw = rng.random()
        kind = "japanese_company" if draw < 0.45 else "partner_company" if draw < 0.90 else rng.choice(SUPPORTER_KINDS)
        home = "JP" if kind == "japanese_company" or (kind != "partner_company" and rng.random() < 0.5) \
            else rng.choice(countries)
        chosen = list(dict.fromkeys(rng.choices(cats, weights, k=rng.randint(1, 3))))
        sectors = rng.sample(SECTORS, rng.randint(1, 2))
        stem = rng.choice(JP_STEMS if home == "JP" else stems.get(home) or JP_STEMS)

        def items(forms: list[str], count: int) -> list[str]:
            out = []
            for _ in range(count):
                tech = rng.choice(techs[rng.choice(chosen)] or ["energy efficiency equipment"])
                out.append(rng.choice(forms).format(t=tech, s=rng.choice(sectors).lower()))
            return list(dict.fromkeys(out))

        offers = items(OFFER_FORMS, rng.randint(1, 4)) if kind != "partner_company" else []
        needs = items(NEED_FORMS, rng.randint(1, 3)) if kind != "japanese_company" or rng.random() < 0.2 else []
        if kind == "partner_company":
            targets = [home]
        else:
            targets = rng.sample(countries, rng.randint(1, 8 if kind == "japanese_company" else 5))
        focus = ", ".join(items(["{t}"], 2))
        records.append({
            "id": f"bench-{i}", "name": f"{stem} {rng.choice(NOUNS)} {rng.choice(NOUNS)} {i}", "kind": kind,
            "country": home,
            "description": f"{stem} works in {', '.join(s.lower() for s in sectors)} with a focus on {focus}. "
                           f"Founded {rng.randint(1950, 2022)}, {rng.randint(10, 5000)} employees.",
            "offers": offers, "needs": needs, "sectors": list(dict.fromkeys(SECTOR_OF[s] for s in sectors)),
            "technology_categories": chosen,
            "target_countries": targets, "website": f"https://org{i}.example.com/", "source": "benchmark",
        })
    return records


def write_jsonl(records: list[dict], path: Path) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def add_activity(session, seed: int = 7) -> dict:
    """A member of a Japanese company with sent, received and accepted requests and a thread; background requests.

    Returns the ids the benchmark's URLs need: member org, another approved org, a match with messages.
    """
    rng = random.Random(seed)
    orgs = list(session.execute(select(Organization.id, Organization.kind).where(Organization.status == "approved")
                                .order_by(Organization.id)))
    own = next(org_id for org_id, kind in orgs if kind == "japanese_company")
    partners = [org_id for org_id, kind in orgs if kind != "japanese_company"]
    org = session.get(Organization, own)
    org.contact_name, org.contact_email = "Bench Member", MEMBER_EMAIL
    user = User(email=MEMBER_EMAIL, password_hash=hash_password(PASSWORD), full_name="Bench Member",
                organization_id=own, role="member")
    session.add(user)
    session.flush()
    now = utcnow()
    rows, used = [], set()

    def request(a: int, b: int, status: str, age_days: int) -> None:
        if a == b or pair_key(a, b) in used:
            return
        used.add(pair_key(a, b))
        created = now - timedelta(days=age_days, minutes=rng.randint(0, 1000))
        rows.append({"requester_org_id": a, "recipient_org_id": b, "requester_user_id": None,
                     "message": "We would like to discuss a project with you.", "topics": ["solar"],
                     "status": status, "decline_reason": "",
                     "open_pair_key": pair_key(a, b) if status == "pending" else None,
                     "created_at": created, "updated_at": created, "expires_at": created + timedelta(days=14),
                     "responded_at": None if status == "pending" else created + timedelta(days=1)})

    # Answered requests (accepted, declined, expired) all come from the member's own organization: Pre-Matching
    # learns its weights in its first request by ranking the whole index once per organization that asked (until
    # that moves to a job: issue 10), and at 100,000 organizations a few hundred such rankings take hours.
    for other in rng.sample(partners, 90):
        request(own, other, rng.choice(["pending", "declined", "accepted", "expired"]), rng.randint(0, 13))
    for other in rng.sample(partners, 90):
        request(other, own, rng.choice(["pending", "cancelled"]), rng.randint(0, 13))
    # Background activity between other organizations: open requests, as many as the platform's size suggests.
    ids = [org_id for org_id, _kind in orgs]
    for _ in range(min(len(ids) // 20, 5000)):
        request(rng.choice(ids), rng.choice(ids), rng.choice(["pending", "cancelled"]), rng.randint(0, 60))
    session.execute(insert(MeetingRequest), rows)
    match = session.scalar(select(MeetingRequest.id).where(MeetingRequest.status == "accepted",
                                                           MeetingRequest.requester_org_id == own).limit(1))
    other_org = session.scalar(select(MeetingRequest.recipient_org_id).where(MeetingRequest.id == match))
    session.execute(insert(MeetingMessage), [
        {"request_id": match, "author_user_id": user.id if k % 2 == 0 else None,
         "author_org_id": own if k % 2 == 0 else other_org, "body": f"Message {k} about the site visit and costs.",
         "created_at": now - timedelta(hours=40 - k)} for k in range(30)])
    session.flush()
    return {"own_org": own, "other_org": partners[len(partners) // 2], "match": match}
