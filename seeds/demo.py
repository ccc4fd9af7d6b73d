"""Demo organizations and users: fictional, clearly marked, loaded idempotently.

Re-running restores the demo to its documented state: demo organizations get their
data-file profile and status back, demo users their documented password, role and
organization. Nothing changes (not even updated_at) when the demo is already in that state.
Real (non-demo) organizations are never touched, even if one uses a demo id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import date
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Organization, User
from models.base import utcnow
from seeds.demo_events import DemoEventSummary, load_demo_events
from seeds.demo_partners import article64_partner_records
from seeds.demo_technologies import DemoTechnologySummary, load_demo_technologies
from seeds.reference import DATA_DIR
from web.security import hash_password, verify_password
from web.services import sectors
from web.services.organizations import (
    OrganizationData, apply_organization, category_slugs, create_organization, validate_organization,
)

DEMO_PASSWORD = "demo-password-2026"
DEMO_FILES = ("demo_japanese_companies.jsonl", "demo_supporters.jsonl", "demo_partner_companies.jsonl")
CONTACT_FIELDS = ("contact_name", "contact_email", "contact_phone")

# One account per role; the README lists these. Passwords are reset to DEMO_PASSWORD on every seed.
DEMO_USERS: tuple[dict[str, str | None], ...] = (
    {"email": "organizer@example.com", "password": DEMO_PASSWORD, "role": "organizer", "organization": None,
     "full_name": "Aya Morita", "language": "en", "time_zone": "Asia/Tokyo"},
    {"email": "jp@example.com", "password": DEMO_PASSWORD, "role": "member", "organization": "demo-jp-01",
     "full_name": "佐倉川 陽翔 (Haruto Sakuragawa)", "language": "ja", "time_zone": "Asia/Tokyo"},
    {"email": "partner@example.com", "password": DEMO_PASSWORD, "role": "member", "organization": "demo-vn-01",
     "full_name": "Nguyen Thi Lan", "language": "en", "time_zone": "Asia/Ho_Chi_Minh"},
    {"email": "finance@example.com", "password": DEMO_PASSWORD, "role": "member", "organization": "demo-fin-01",
     "full_name": "Kaori Kiriyama", "language": "en", "time_zone": "Asia/Tokyo"},
    {"email": "pending@example.com", "password": DEMO_PASSWORD, "role": "member", "organization": "demo-pending-01",
     "full_name": "Kenta Hakone", "language": "en", "time_zone": "Asia/Tokyo"},
)


@dataclass
class DemoSummary:
    """What a demo load did."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)
    partner_countries: int = 0
    users_created: int = 0
    users_updated: int = 0
    events: DemoEventSummary = field(default_factory=DemoEventSummary)
    technologies: DemoTechnologySummary = field(default_factory=DemoTechnologySummary)


@lru_cache(maxsize=4)
def _demo_hash(password: str) -> str:
    """One argon2 hash per password and process: hashing costs ~0.3 s, and the password is public anyway."""
    return hash_password(password)


@lru_cache(maxsize=16)
def _password_matches(password_hash: str, password: str) -> bool:
    """True when the hash is of the password (cached: the demo users share one hash after the first seed)."""
    return password_hash == _demo_hash(password) or verify_password(password_hash, password)


def demo_records() -> list[dict]:
    """Every demo organization as an interchange record (plus contact and status fields)."""
    records: list[dict] = []
    for name in DEMO_FILES:
        with (DATA_DIR / name).open(encoding="utf-8") as handle:
            records.extend(json.loads(line) for line in handle if line.strip())
    records.extend(article64_partner_records())
    return records


def _differs(org: Organization, data: OrganizationData, status: str, contact: dict[str, str]) -> bool:
    if org.status != status or org.status_reason or not org.is_demo:
        return True
    if any(getattr(org, f.name) != getattr(data, f.name) for f in fields(OrganizationData)):
        return True
    return any(getattr(org, key) != value for key, value in contact.items())


def load_demo_organizations(session: Session, summary: DemoSummary) -> dict[str, Organization]:
    """Create or restore every demo organization; returns them by external id."""
    categories = category_slugs(session)
    vocabulary = sectors.vocabulary(session)
    records = demo_records()
    ids = [record["id"] for record in records]
    existing = {org.external_id: org for org in session.scalars(
        select(Organization).where(Organization.external_id.in_(ids)))}
    result: dict[str, Organization] = {}
    for record in records:
        data, errors = validate_organization(record, categories, sectors=vocabulary, require_external_id=True,
                                             from_file=True)
        if errors:
            # The demo files are ours: a bad record is a bug, not user input.
            raise ValueError(f"demo record {record.get('id')}: {errors}")
        assert data is not None and data.external_id is not None
        status = record.get("status", "approved")
        contact = {key: record.get(key, "") for key in CONTACT_FIELDS}
        org = existing.get(data.external_id)
        if org is not None and not org.is_demo:
            summary.skipped.append(data.external_id)
            continue
        if org is None:
            org = create_organization(session, data, status=status, is_demo=True)
            summary.created += 1
        elif _differs(org, data, status, contact):
            apply_organization(org, data)
            org.status, org.status_reason = status, ""
            summary.updated += 1
        else:
            summary.unchanged += 1
        for key, value in contact.items():
            if getattr(org, key) != value:
                setattr(org, key, value)
        if status == "approved" and org.reviewed_at is None:
            org.reviewed_at = utcnow()
        result[data.external_id] = org
        summary.by_kind[data.kind] = summary.by_kind.get(data.kind, 0) + 1
    summary.partner_countries = len({org.country for org in result.values() if org.kind == "partner_company"})
    session.flush()
    return result


def load_demo_users(session: Session, organizations: dict[str, Organization], summary: DemoSummary) -> None:
    """Create or restore the demo users of DEMO_USERS (password reset to the documented one)."""
    for spec in DEMO_USERS:
        org_id = spec["organization"]
        organization = organizations.get(org_id) if org_id else None
        if org_id and organization is None:
            raise ValueError(f"demo user {spec['email']}: organization {org_id} is not a demo organization")
        wanted = {"full_name": spec["full_name"], "role": spec["role"], "language": spec["language"],
                  "time_zone": spec["time_zone"], "is_active": True,
                  "organization_id": organization.id if organization else None}
        user = session.scalar(select(User).where(User.email == spec["email"]))
        if user is None:
            session.add(User(email=spec["email"], password_hash=_demo_hash(spec["password"]), **wanted))
            summary.users_created += 1
            continue
        changed = False
        for key, value in wanted.items():
            if getattr(user, key) != value:
                setattr(user, key, value)
                changed = True
        # Verify before re-hashing: a fresh salt would change the hash and end the user's sessions for nothing.
        if not _password_matches(user.password_hash, spec["password"]):
            user.password_hash = _demo_hash(spec["password"])
            changed = True
        summary.users_updated += int(changed)
    session.flush()


def load_demo(session: Session, today: date | None = None) -> DemoSummary:
    """Load or restore all demo organizations, users and events (idempotent); the caller commits.

    `today` (default: today in UTC) places the demo events: one seminar a few weeks back, two ahead.
    """
    summary = DemoSummary()
    organizations = load_demo_organizations(session, summary)
    load_demo_users(session, organizations, summary)
    summary.technologies = load_demo_technologies(session, organizations)
    summary.events = load_demo_events(session, organizations, today or utcnow().date())
    return summary
