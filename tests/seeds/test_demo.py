"""Demo data and the `matchmaker seed` command: idempotent, clearly marked, usable for logging in."""

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from models import Event, Organization, OrganizationTag, OutboxEmail, User
from seeds.demo import DEMO_PASSWORD, DEMO_USERS, load_demo
from seeds.reference import read_csv
from tests.factories import create_organization, login
from web.cli import app as cli_app
from web.security import MIN_PASSWORD_LENGTH, hash_password, verify_password


def _counts(session) -> tuple[int, int, int]:
    return (session.scalar(select(func.count()).select_from(Organization)),
            session.scalar(select(func.count()).select_from(OrganizationTag)),
            session.scalar(select(func.count()).select_from(User)))


def _snapshot(session) -> dict:
    return {org.external_id: (org.updated_at, org.status, tuple(org.needs))
            for org in session.scalars(select(Organization))}


@pytest.fixture
def seeded(session):
    summary = load_demo(session)
    session.commit()
    return summary


def test_load_demo_twice_changes_nothing(session, seeded):
    counts, snapshot = _counts(session), _snapshot(session)
    hashes = {user.email: user.password_hash for user in session.scalars(select(User))}
    again = load_demo(session)
    session.commit()
    session.expire_all()
    assert _counts(session) == counts
    assert _snapshot(session) == snapshot
    assert {user.email: user.password_hash for user in session.scalars(select(User))} == hashes
    assert (again.created, again.updated, again.users_created, again.users_updated) == (0, 0, 0, 0)
    assert again.unchanged == seeded.created
    assert (seeded.events.created, again.events.unchanged, again.events.restored) == (3, 3, 0)


def test_demo_organizations_are_marked_and_approved_except_the_applicant(session, seeded):
    orgs = session.scalars(select(Organization)).all()
    assert all(org.is_demo and org.name.endswith("(Demo)") and org.source.startswith("demo") for org in orgs)
    assert all(org.external_id.startswith("demo-") for org in orgs)
    assert {org.external_id for org in orgs if org.status != "approved"} == {"demo-pending-01"}
    assert all(org.contact_email.endswith("@example.com") for org in orgs)
    assert all(".example.com/" in org.website for org in orgs)


def test_demo_has_both_sides_and_supporters(seeded):
    kinds = seeded.by_kind
    assert 25 <= kinds["japanese_company"] <= 35
    assert 60 <= kinds["partner_company"] <= 80
    assert kinds["financial_institution"] + kinds["consultant"] + kinds["public_body"] >= 8
    assert seeded.partner_countries >= 15


def test_demo_partner_companies_cover_many_jcm_countries(session, seeded):
    partner_codes = {row["iso2"] for row in read_csv("jcm_partner_countries.csv")}
    countries = set(session.scalars(select(Organization.country).where(Organization.kind == "partner_company")))
    assert countries <= partner_codes
    assert len(countries) >= 15


def test_demo_partner_needs_come_from_article64_titles(session, seeded):
    titles = {row["title"].strip() for row in read_csv("article64_activities.csv")}
    from_a64 = session.scalars(select(Organization).where(Organization.external_id.like("demo-a64-%"))).all()
    assert len(from_a64) >= 40
    for org in from_a64:
        assert org.needs[0] in titles
        assert "Article 6.4" in org.source
        assert org.technology_categories


def test_demo_organizations_have_their_filter_tags(session, seeded):
    chiller = session.scalar(select(Organization).where(Organization.external_id == "demo-jp-01"))
    tags = {(tag.field, tag.value) for tag in chiller.tags}
    assert ("technology_categories", "energy_efficiency") in tags and ("target_countries", "VN") in tags
    assert "centrifugal chillers" in chiller.search_text


def test_demo_partner_user_fits_the_chiller_maker(session, seeded):
    users = {user.email: user for user in session.scalars(select(User))}
    maker, partner = users["jp@example.com"].organization, users["partner@example.com"].organization
    assert maker.kind == "japanese_company" and partner.kind == "partner_company"
    assert partner.country in maker.target_countries
    assert set(partner.technology_categories) & set(maker.technology_categories)
    assert any("chiller" in need for need in partner.needs)


def test_demo_users_cover_every_role(session, seeded):
    users = {user.email: user for user in session.scalars(select(User))}
    assert set(users) == {spec["email"] for spec in DEMO_USERS}
    assert users["organizer@example.com"].is_organizer and users["organizer@example.com"].organization is None
    assert users["finance@example.com"].organization.kind == "financial_institution"
    assert users["pending@example.com"].organization.status == "pending"
    assert "ja" in {user.language for user in users.values()}
    assert all(len(spec["password"]) >= MIN_PASSWORD_LENGTH for spec in DEMO_USERS)


@pytest.mark.parametrize("email", [spec["email"] for spec in DEMO_USERS])
def test_demo_user_logs_in_through_the_form(client, session, seeded, email):
    user = session.scalar(select(User).where(User.email == email))
    response = login(client, user, password=DEMO_PASSWORD)
    assert response.status_code == 303
    assert email in client.get("/").text


def test_seed_restores_a_changed_demo_password_and_profile(session, seeded):
    user = session.scalar(select(User).where(User.email == "jp@example.com"))
    user.password_hash = hash_password("someone changed it")
    org = user.organization
    org.name, org.status, org.status_reason = "Renamed", "suspended", "testing"
    session.commit()
    summary = load_demo(session)
    session.commit()
    assert (summary.updated, summary.users_updated) == (1, 1)
    assert org.name == "Sakuragawa Chiller Systems (Demo)" and org.status == "approved" and not org.status_reason
    assert verify_password(session.scalar(select(User).where(User.email == "jp@example.com")).password_hash,
                           DEMO_PASSWORD)


def test_seed_leaves_a_real_organization_with_a_demo_id_alone(session):
    real = create_organization(session, external_id="demo-jp-02", name="Real Solar KK")
    session.commit()
    summary = load_demo(session)
    session.commit()
    assert summary.skipped == ["demo-jp-02"]
    session.refresh(real)
    assert real.name == "Real Solar KK" and not real.is_demo


def test_seed_command_is_idempotent_and_prints_the_logins(session, database_url, monkeypatch):
    monkeypatch.setenv("MATCHMAKER_DATABASE_URL", database_url)
    runner = CliRunner()
    first = runner.invoke(cli_app, ["seed"])
    assert first.exit_code == 0, first.output
    counts = _counts(session)
    second = runner.invoke(cli_app, ["seed"])
    assert second.exit_code == 0, second.output
    assert _counts(session) == counts
    assert "0 created, 0 restored" in second.output
    assert "demo events: 0 created, 0 restored, 3 unchanged" in second.output
    assert "registration open until" in second.output and "timetable published with 16 meetings" in second.output
    assert session.scalar(select(func.count()).select_from(Event).where(Event.is_demo.is_(True))) == 3
    assert session.scalar(select(func.count()).select_from(OutboxEmail)) == 0
    for spec in DEMO_USERS:
        assert spec["email"] in second.output and spec["password"] in second.output


def test_seed_command_without_demo_loads_no_organizations(session, database_url, monkeypatch):
    monkeypatch.setenv("MATCHMAKER_DATABASE_URL", database_url)
    result = CliRunner().invoke(cli_app, ["seed", "--no-demo"])
    assert result.exit_code == 0, result.output
    assert "reference data: 32 countries" in result.output
    assert _counts(session) == (0, 0, 0)
    assert session.scalar(select(func.count()).select_from(Event)) == 0


def test_seed_command_help_documents_the_password_reset():
    result = CliRunner().invoke(cli_app, ["seed", "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "demo-password-2026" in result.output and "--no-demo" in result.output


def test_seed_command_refuses_a_database_without_schema(tmp_path, monkeypatch):
    monkeypatch.setenv("MATCHMAKER_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = CliRunner().invoke(cli_app, ["seed"])
    assert result.exit_code == 2
    assert "db upgrade" in result.output


def test_demo_keeps_most_organizations_unclaimed_and_reachable_by_invitation(session, seeded):
    from web.services.invitations import unclaimed_ids

    orgs = session.scalars(select(Organization)).all()
    unclaimed = unclaimed_ids(session, [org.id for org in orgs])
    claimed = {org.external_id for org in orgs if org.id not in unclaimed}
    assert claimed == {spec["organization"] for spec in DEMO_USERS if spec["organization"]}
    assert len(unclaimed) >= 100
    # Each has a (fictional) contact address, so a request to it invites someone instead of waiting forever.
    assert all(org.contact_email for org in orgs if org.id in unclaimed)
