"""Organizer area: importing organizations, with a preview that writes nothing, confirmation, line errors and
previews that expire."""

from __future__ import annotations

import json
import os
import time

import pytest
from sqlalchemy import func, select

from models import Organization
from tests.conftest import csrf_token
from tests.factories import create_organization
from tests.web.organizer_support import HTMX, soup_of
from tests.web.organizer_support import organizer, organizer_client  # noqa: F401 - fixtures the tests name
from web.services.uploads import UploadStore

GOOD = {"id": "imp-1", "name": "Solar Works", "kind": "japanese_company", "country": "JP",
        "offers": ["Rooftop solar"], "target_countries": ["VN"]}


def jsonl(*records) -> bytes:
    return ("\n".join(json.dumps(record) for record in records) + "\n").encode()


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
