"""Organizer area: application review, import with preview and confirmation, export."""

from __future__ import annotations

import json
import os
import time

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from models import Organization
from tests.conftest import csrf_token
from tests.factories import create_organization, create_user, login
from web.services.uploads import UploadStore

HTMX = [{}, {"HX-Request": "true"}]
GOOD = {"id": "imp-1", "name": "Solar Works", "kind": "japanese_company", "country": "JP",
        "offers": ["Rooftop solar"], "target_countries": ["VN"]}


def jsonl(*records) -> bytes:
    return ("\n".join(json.dumps(record) for record in records) + "\n").encode()


@pytest.fixture
def organizer(session):
    user = create_user(session, role="organizer", email="boss@example.com")
    session.commit()
    return user


@pytest.fixture
def organizer_client(client, organizer, app, tmp_path):
    app.state.import_dir = tmp_path / "imports"
    login(client, organizer)
    return client


@pytest.fixture
def applicant(session):
    org = create_organization(session, status="pending", name="Hanoi Biogas", kind="partner_company",
                              country="VN", description="We run pig farms with biogas potential.")
    user = create_user(session, organization=org, email="applicant@example.com")
    session.commit()
    return user


def soup_of(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


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


# --- import ----------------------------------------------------------------------------------

def upload(client, content: bytes, name: str = "orgs.jsonl", headers=None):
    token = csrf_token(client, "/organizer/import")
    return client.post("/organizer/import", data={"csrf_token": token}, files={"file": (name, content)},
                       headers=headers or {})


def confirm(client, soup, headers=None, partial=False, follow_redirects=True):
    token = csrf_token(client, "/organizer/import")
    data = {"csrf_token": token, "token": soup.find("input", {"name": "token"})["value"]}
    if partial:
        data["partial"] = "1"
    return client.post("/organizer/import/confirm", data=data, headers=headers or {},
                       follow_redirects=follow_redirects)


def org_count(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Organization))


@pytest.mark.parametrize("headers", HTMX)
def test_import_page_renders(organizer_client, headers):
    response = organizer_client.get("/organizer/import", headers=headers)
    soup = soup_of(response)
    assert response.status_code == 200 and soup.find(id="import") is not None
    assert (soup.find("html") is None) == bool(headers)
    assert soup.find("input", {"type": "file", "name": "file"}) is not None


@pytest.mark.parametrize("headers", HTMX)
def test_import_preview_writes_nothing_then_confirm_applies(organizer_client, session, headers):
    before = org_count(session)
    response = upload(organizer_client, jsonl(GOOD, GOOD | {"id": "imp-2", "name": "Wind Co"}), headers=headers)
    assert response.status_code == 200
    soup = soup_of(response)
    assert [td.text for td in soup.select("table.import-changes tbody tr td:nth-of-type(2)")] == ["imp-1", "imp-2"]
    assert org_count(session) == before
    assert soup.select_one("form.import-confirm button").text.strip() == "Import: 2 new, 0 updated"
    response = confirm(organizer_client, soup, headers)
    assert response.status_code == 200 and "created 2" in response.text
    assert org_count(session) == before + 2
    org = session.scalar(select(Organization).where(Organization.external_id == "imp-1"))
    assert org.status == "approved" and org.offers == ["Rooftop solar"]


def test_import_preview_lists_line_errors_and_all_or_nothing_refuses(organizer_client, session):
    before = org_count(session)
    bad = GOOD | {"id": "imp-bad", "country": "XX"}
    response = upload(organizer_client, jsonl(GOOD, bad))
    soup = soup_of(response)
    errors = [li.text for li in soup.select(".line-errors li")]
    assert errors and errors[0].startswith("line 2: country:")
    refused = confirm(organizer_client, soup)
    assert refused.status_code == 422 and soup_of(refused).find(id="e-confirm") is not None
    assert org_count(session) == before
    done = confirm(organizer_client, soup, partial=True)
    assert done.status_code == 200 and "created 1" in done.text and "skipped" in done.text
    assert org_count(session) == before + 1


def submit_rendered(client, form, headers=None):
    """Post a rendered form as a browser would: its hidden fields, checked boxes and text inputs."""
    data = {field["name"]: field.get("value", "") for field in form.select("input[name]")
            if field.get("type") != "checkbox" or field.has_attr("checked")}
    return client.post(form["action"], data=data, headers=headers or {})


@pytest.mark.parametrize("headers", HTMX)
def test_import_preview_with_errors_offers_only_what_will_happen(organizer_client, session, headers):
    before = org_count(session)
    bad = GOOD | {"id": "imp-bad", "country": "XX"}
    soup = soup_of(upload(organizer_client, jsonl(GOOD, GOOD | {"id": "imp-2", "name": "Wind Co"}, bad),
                          headers=headers))
    form = soup.select_one("form.import-confirm")
    assert [button.text.split() for button in form.select("button")] == [
        "Import the valid lines only: 2 new, 0 updated; skip 1 line with errors".split()]
    assert "Import: 2 new" not in form.text
    assert "fix the lines with errors" in form.text  # and how to import everything instead
    response = submit_rendered(organizer_client, form, headers)
    assert response.status_code == 200 and "created 2" in response.text and "line 3" in response.text
    assert org_count(session) == before + 2


def test_import_preview_with_errors_and_nothing_valid_to_change_has_no_button(organizer_client, session):
    create_organization(session, external_id="imp-1", name="Solar Works", offers=["Rooftop solar"],
                        target_countries=["VN"])
    session.commit()
    soup = soup_of(upload(organizer_client, jsonl(GOOD, GOOD | {"id": "imp-bad", "country": "XX"})))
    form = soup.select_one("form.import-confirm")
    assert form.select("button") == [] and "would change nothing" in form.text


def test_import_update_shows_changed_fields_and_never_duplicates(organizer_client, session):
    create_organization(session, external_id="imp-1", name="Old Name", status="suspended")
    session.commit()
    before = org_count(session)
    soup = soup_of(upload(organizer_client, jsonl(GOOD)))
    row = soup.select_one("table.import-changes tbody tr")
    assert "Update" in row.text and "name" in row.text and "offers" in row.text
    confirm(organizer_client, soup)
    assert org_count(session) == before
    org = session.scalar(select(Organization).where(Organization.external_id == "imp-1"))
    assert org.name == "Solar Works" and org.status == "suspended"


def test_import_confirm_with_foreign_token_is_refused(organizer_client, session):
    upload(organizer_client, jsonl(GOOD))
    token = csrf_token(organizer_client, "/organizer/import")
    response = organizer_client.post("/organizer/import/confirm", data={"csrf_token": token, "token": "A" * 32})
    assert response.status_code == 422 and "expired" in response.text
    assert session.scalar(select(Organization).where(Organization.external_id == "imp-1")) is None


def test_import_without_file_shows_message(organizer_client):
    token = csrf_token(organizer_client, "/organizer/import")
    response = organizer_client.post("/organizer/import", data={"csrf_token": token},
                                     files={"file": ("", b"")})
    assert response.status_code == 422 and soup_of(response).find(id="e-file") is not None


def test_import_too_large_file_is_refused(organizer_client, monkeypatch):
    import web.routes.organizer as organizer_routes

    monkeypatch.setattr(organizer_routes, "MAX_UPLOAD_BYTES", 100)
    response = upload(organizer_client, jsonl(GOOD, GOOD | {"id": "imp-2"}))
    assert response.status_code == 422 and "larger than" in soup_of(response).find(id="e-file").text


def test_import_not_utf8_is_refused_with_line(organizer_client):
    response = upload(organizer_client, jsonl(GOOD) + '{"id": "x", "name": "Caf\xe9"}\n'.encode("latin-1"))
    assert response.status_code == 422 and "line 2" in response.text


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


def _age(path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.mark.parametrize("headers", HTMX)
def test_import_preview_expires_after_an_hour(organizer_client, session, app, headers):
    preview = soup_of(upload(organizer_client, jsonl(GOOD)))
    (kept,) = (app.state.import_dir).glob("*.upload")
    _age(kept, UploadStore.MAX_AGE_SECONDS + 60)
    response = confirm(organizer_client, preview, headers)
    assert response.status_code == 422
    assert "This preview has expired. Upload the file again." in response.text
    assert session.scalar(select(Organization).where(Organization.external_id == "imp-1")) is None
    assert not kept.exists()


def test_import_preview_within_the_hour_still_applies(organizer_client, session, app):
    preview = soup_of(upload(organizer_client, jsonl(GOOD)))
    (kept,) = (app.state.import_dir).glob("*.upload")
    _age(kept, UploadStore.MAX_AGE_SECONDS - 60)
    assert "created 1" in confirm(organizer_client, preview).text
    assert not kept.exists()  # applied: discarded


def test_a_new_upload_removes_other_expired_uploads(organizer_client, app):
    app.state.import_dir.mkdir(parents=True, exist_ok=True)
    stale, fresh = app.state.import_dir / f"{'a' * 32}.upload", app.state.import_dir / f"{'b' * 32}.upload"
    for path in (stale, fresh):
        path.write_bytes(b"{}")
    _age(stale, UploadStore.MAX_AGE_SECONDS + 1)
    _age(fresh, UploadStore.MAX_AGE_SECONDS - 60)  # another organizer's preview, still open
    upload(organizer_client, jsonl(GOOD))
    assert not stale.exists() and fresh.exists()
    assert len(list(app.state.import_dir.glob("*.upload"))) == 2
