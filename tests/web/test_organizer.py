"""Organizer area: application review, authorization, export.

Importing organizations is tested in test_organizer_import.py."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from models import Organization
from tests.conftest import csrf_token
from tests.factories import create_organization, create_user, login
from tests.web.organizer_support import HTMX, soup_of
from tests.web.query_support import recorded, sqlite_plan
from tests.web.organizer_support import organizer, organizer_client  # noqa: F401 - fixtures the tests name
from web.services import applications


@pytest.fixture
def applicant(session):
    org = create_organization(session, status="pending", name="Hanoi Biogas", kind="partner_company",
                              country="VN", description="We run pig farms with biogas potential.")
    user = create_user(session, organization=org, email="applicant@example.com")
    session.commit()
    return user


def review(client, org_id, headers=None, **data):
    token = csrf_token(client, "/organizer/applications")
    return client.post(f"/organizer/applications/{org_id}/review", data={"csrf_token": token, **data},
                       headers=headers or {}, follow_redirects=False)


# --- applications ----------------------------------------------------------------------------

@pytest.mark.parametrize("headers", HTMX)
def test_applications_shows_pending_with_emails_and_counts(organizer_client, applicant, session, headers):
    create_organization(session, status="approved", name="Already In")
    session.commit()
    response = organizer_client.get("/organizer/applications", headers=headers)
    assert response.status_code == 200
    soup = soup_of(response)
    assert (soup.find("html") is None) == bool(headers)
    row = soup.find(id=f"application-{applicant.organization_id}")
    assert row is not None and "applicant@example.com" in row.text and "Viet" in row.text
    assert "Already In" not in soup.text
    tabs = {a.get_text(" ", strip=True) for a in soup.find(id="status-tabs").find_all("a")}
    assert "Waiting for approval 1" in tabs and "Approved 1" in tabs


@pytest.mark.parametrize("headers", HTMX)
def test_applications_tab_lists_only_that_status(organizer_client, session, headers):
    paused = create_organization(session, status="suspended", name="Paused Co")
    paused.status_reason = "Spam"
    session.commit()
    soup = soup_of(organizer_client.get("/organizer/applications?status=suspended", headers=headers))
    assert "Paused Co" in soup.text and "Spam" in soup.text
    assert soup.find("button", string="Reinstate") is not None


def test_applications_search_filters_by_name(organizer_client, session):
    create_organization(session, status="approved", name="Alpha Energy")
    create_organization(session, status="approved", name="Beta Water")
    session.commit()
    soup = soup_of(organizer_client.get("/organizer/applications?status=approved&q=alpha"))
    assert "Alpha Energy" in soup.text and "Beta Water" not in soup.text


@pytest.mark.parametrize("headers", HTMX)
def test_review_approve_swaps_row_or_redirects(organizer_client, applicant, session, headers):
    response = review(organizer_client, applicant.organization_id, headers, decision="approved", tab="pending")
    session.expire_all()
    assert session.get(Organization, applicant.organization_id).status == "approved"
    if headers:
        assert response.status_code == 200
        soup = soup_of(response)
        assert soup.find(id=f"application-{applicant.organization_id}") is not None
        assert soup.find(id="status-tabs")["hx-swap-oob"] == "true"
    else:
        assert response.status_code == 303
        assert response.headers["location"].startswith("/organizer/applications?status=pending")
        page = organizer_client.get(response.headers["location"])
        assert "is approved" in page.text


@pytest.mark.parametrize("headers", HTMX)
def test_review_reject_without_reason_shows_message_and_changes_nothing(organizer_client, applicant, session, headers):
    response = review(organizer_client, applicant.organization_id, headers, decision="rejected", reason="  ")
    assert response.status_code == 422
    soup = soup_of(response)
    row = soup.find(id=f"application-{applicant.organization_id}")
    assert row.find(class_="error-text") is not None
    assert row.find("details")["open"] is not None
    session.expire_all()
    assert session.get(Organization, applicant.organization_id).status == "pending"


def test_review_reject_keeps_typed_reason_when_too_long(organizer_client, applicant):
    reason = "x" * 2001
    response = review(organizer_client, applicant.organization_id, decision="rejected", reason=reason)
    assert response.status_code == 422
    assert soup_of(response).find("textarea", {"name": "reason"}).text == reason


def test_review_reject_with_reason_is_shown_to_applicant(organizer_client, applicant, session):
    review(organizer_client, applicant.organization_id, decision="rejected", reason="Not a JCM partner-country firm")
    session.expire_all()
    org = session.get(Organization, applicant.organization_id)
    assert org.status == "rejected" and org.status_reason == "Not a JCM partner-country firm"
    assert org.reviewed_at is not None


def test_review_suspend_then_reinstate_clears_reason(organizer_client, session):
    org = create_organization(session, status="approved")
    session.commit()
    review(organizer_client, org.id, decision="suspended", reason="Complaints", tab="approved")
    session.expire_all()
    assert session.get(Organization, org.id).status == "suspended"
    review(organizer_client, org.id, decision="approved", tab="suspended")
    session.expire_all()
    org = session.get(Organization, org.id)
    assert org.status == "approved" and org.status_reason == ""


def test_review_unknown_organization_is_404(organizer_client):
    assert review(organizer_client, 999999, decision="approved").status_code == 404


# --- authorization ---------------------------------------------------------------------------

GET_PAGES = ["/organizer/applications", "/organizer/import", "/organizer/export"]


@pytest.mark.parametrize("path", GET_PAGES)
def test_organizer_pages_refuse_members(client, session, path):
    member = create_user(session)
    session.commit()
    login(client, member)
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", GET_PAGES)
def test_organizer_pages_send_anonymous_to_login(client, path):
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


def _post_paths(org_id: int) -> list[str]:
    return [f"/organizer/applications/{org_id}/review", "/organizer/import", "/organizer/import/confirm"]


def test_organizer_posts_refuse_members(client, session, applicant):
    member = create_user(session)
    session.commit()
    login(client, member)
    token = csrf_token(client)
    for path in _post_paths(applicant.organization_id):
        response = client.post(path, data={"csrf_token": token, "decision": "approved"})
        assert response.status_code == 403, path
    session.expire_all()
    assert session.get(Organization, applicant.organization_id).status == "pending"


def test_organizer_posts_send_anonymous_to_login(client, applicant):
    token = csrf_token(client)
    for path in _post_paths(applicant.organization_id):
        response = client.post(path, data={"csrf_token": token}, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), path


def test_organizer_posts_without_csrf_are_refused(organizer_client, applicant, session):
    for path in _post_paths(applicant.organization_id):
        assert organizer_client.post(path, data={"decision": "approved"}).status_code == 403, path
    session.expire_all()
    assert session.get(Organization, applicant.organization_id).status == "pending"


# --- export ----------------------------------------------------------------------------------

def test_export_downloads_jsonl_and_csv(organizer_client, session):
    create_organization(session, external_id="exp-1", name="Exported", offers=["A", "B"])
    create_organization(session, external_id="exp-2", name="Hidden", status="pending")
    session.commit()
    response = organizer_client.get("/organizer/export?format=jsonl&approved_only=true")
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    records = [json.loads(line) for line in response.text.splitlines()]
    assert {"id": "exp-1", "name": "Exported", "kind": "japanese_company", "country": "JP",
            "offers": ["A", "B"]} in records
    assert all(record["id"] != "exp-2" for record in records)
    csv_text = organizer_client.get("/organizer/export?format=csv").text
    assert csv_text.startswith("id,name,kind,country,") and "exp-1,Exported,japanese_company,JP,,A;B," in csv_text


def test_review_by_htmx_refreshes_the_waiting_line_out_of_band(organizer_client, applicant, session):
    other = create_organization(session, status="pending", name="Hue Solar")
    session.commit()
    before = soup_of(organizer_client.get("/organizer/applications")).find(id="applications-meta")
    assert before.get_text(strip=True).startswith("2 waiting")
    response = review(organizer_client, applicant.organization_id, headers={"HX-Request": "true"},
                      decision="approved", tab="pending")
    meta = soup_of(response).find(id="applications-meta")
    assert meta is not None and meta["hx-swap-oob"] == "true"
    assert meta.get_text(strip=True).startswith("1 waiting")
    assert other.id  # still waiting: the line counts it


def test_a_reviewed_tab_lists_the_latest_reviews_first_then_the_never_reviewed(session, monkeypatch):
    # Two walks of the (status, reviewed_at, id) index give the order `reviewed_at DESC NULLS LAST, id DESC`
    # gave, across page boundaries (the one statement sorted every organization of the status: 344 ms at 100k).
    monkeypatch.setattr(applications, "PAGE_SIZE", 3)
    start = datetime(2026, 5, 1, tzinfo=timezone.utc)
    for n in range(11):
        org = create_organization(session, status="approved" if n != 4 else "suspended", name=f"Org {n:02d}")
        if n % 3:  # a third never reviewed (imported as approved)
            org.reviewed_at = start + timedelta(days=(n * 7) % 5)  # ties on the day: broken by id
    session.commit()
    expected = [org.name for org in session.scalars(
        select(Organization).where(Organization.status == "approved")
        .order_by(Organization.reviewed_at.desc().nulls_last(), Organization.id.desc()))]
    shown = []
    for page in range(1, 6):
        listing = applications.list_applications(session, "approved", page)
        assert (listing.total, listing.pages, listing.page) == (10, 4, min(page, 4))
        if page <= 4:
            shown += [org.name for org in listing.organizations]
    assert shown == expected and len(set(shown)) == 10
    assert [org.name for org in applications.list_applications(session, "approved", 2, "org 0").organizations] == \
        [name for name in expected if name.startswith("Org 0")][3:6]
    if session.get_bind().dialect.name == "sqlite":
        with recorded(session.get_bind()) as seen:
            applications.list_applications(session, "approved", 2)  # reviewed ones
            applications.list_applications(session, "approved", 3)  # never reviewed
        listed = [(s, p) for s, p in seen if "ORDER BY organization.reviewed_at" in s or
                  ("reviewed_at IS NULL" in s and "ORDER BY organization.id" in s)]
        assert len(listed) == 2
        for statement in listed:
            plan = sqlite_plan(session.get_bind(), *statement)
            assert "ix_organization_status_reviewed_at" in plan and "TEMP B-TREE" not in plan, plan
