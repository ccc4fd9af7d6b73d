"""An organization's own technologies: adding, editing, images, bad input, who may do what."""

import pytest
from sqlalchemy import func, select

from models import Notification, Technology
from tests.conftest import csrf_token
from tests.factories import create_organization, create_user, login
from tests.web.technology_support import create_technology, form_data, image_bytes, parse


@pytest.fixture
def settings(settings, tmp_path):
    """Images go to a scratch folder."""
    return settings.model_copy(update={"data_dir": str(tmp_path / "data")})


@pytest.fixture
def owner(session, client):
    """A logged-in member of a Japanese company, and an organizer to hear of submissions."""
    user = create_user(session, create_organization(session, name="Nippon Chiller Works"))
    create_user(session, None, role="organizer")
    session.commit()
    login(client, user)
    return user


def post(client, path, data, files=None, headers=None):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, "/technologies/mine")}, files=files,
                       headers=headers or {}, follow_redirects=False)


def count(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count(Technology.id)))


def test_add_technology_waits_for_review_and_tells_organizers(client, session, owner):
    response = post(client, "/technologies/new", form_data(),
                    files={"image": ("photo.png", image_bytes(), "image/png")})
    assert response.status_code == 303 and response.headers["location"] == "/technologies/mine?done=new"
    tech = session.scalar(select(Technology))
    assert (tech.status, tech.name, tech.name_ja, tech.investment_jpy, tech.ghg_reduction_t) == \
        ("pending", "Inverter turbo chiller", "インバーターターボ冷凍機", 200_000_000, 1200.0)
    assert [(t.country, t.year, t.description) for t in tech.track_records] == [("VN", 2019, "Textile plant")]
    assert tech.image_key and (tech.image_width, tech.image_height) == (400, 300)
    assert session.scalar(select(Notification.kind)) == "technology_submitted"
    mine = parse(client.get(response.headers["location"]))
    assert "An organizer reviews it" in mine.select_one(".flash").text
    assert mine.select_one(f"#own-{tech.id} .badge").text == "Waiting for review"
    assert client.get("/technologies").text.count("Inverter turbo chiller") == 0  # not public yet


@pytest.mark.parametrize("field, value, message", [
    ("investment_jpy", "-5", "Give a cost above zero"),
    ("investment_jpy", "5,000,000,000,000", "More than 1 trillion yen"),
    ("investment_jpy", "lots", "Enter a whole number"),
    ("ghg_reduction_t", "99999999", "More than 10 million tonnes"),
    ("ghg_reduction_t", "0", "Give a reduction above zero"),
    ("annual_savings_jpy", "-1", "Savings cannot be negative"),
    ("durable_years", "0", "from 1 to 60"),
    ("durable_years", "120", "at most 60"),
    ("category", "teleportation", "Choose a category from the list"),
    ("description", "Too short", "at least 30 characters"),
    ("name", "  ", "Give the technology's name"),
    ("figures_basis", "", "Say what the figures are counted per"),
    ("languages", ["en", "xx"], "Choose languages from the list"),
    ("track_year", ["19"], "Track record 1: give the year"),
    ("track_country", ["ZZ"], "Track record 1: choose the country"),
    ("track_methodology", ["XX_AM999"], "Track record 1: choose a JCM methodology"),
])
def test_add_technology_bad_input_keeps_everything_and_stores_nothing(client, session, owner, field, value, message):
    data = form_data(**{field: value, "name_ja": "保存されない名前"})
    response = post(client, "/technologies/new", data)
    assert response.status_code == 422
    soup = parse(response)
    key = "track_records" if field.startswith("track_") else field
    error = soup.select_one(f"#e-{key}") or soup.select_one(f"#f-{key} .error-text")
    assert error is not None and message in error.text
    assert soup.select_one("#f-name_ja")["value"] == "保存されない名前"  # what was typed is kept
    assert soup.select_one("#f-description").text == data["description"]
    assert count(session) == 0


@pytest.mark.parametrize("upload, message", [
    (("anim.gif", image_bytes("GIF"), "image/png"), "this file is a GIF"),
    (("fake.jpg", b"<svg onload=alert(1)>", "image/jpeg"), "not an image we can read"),
    (("tiny.png", image_bytes(size=(40, 40)), "image/png"), "too small"),
])
def test_add_technology_refuses_a_wrong_image(client, session, owner, upload, message):
    response = post(client, "/technologies/new", form_data(), files={"image": upload})
    assert response.status_code == 422
    assert message in parse(response).select_one("#e-image").text
    assert count(session) == 0


def test_add_technology_refuses_a_huge_image(client, session, owner, app):
    app.state.settings = app.state.settings.model_copy(update={"technology_image_max_mb": 0.01})
    big = image_bytes("PNG", size=(1200, 900))
    noisy = __import__("os").urandom(20_000)
    response = post(client, "/technologies/new", form_data(), files={"image": ("big.png", big + noisy, "image/png")})
    assert response.status_code == 422
    assert "larger than 0.01 MB" in parse(response).select_one("#e-image").text
    assert count(session) == 0


def test_a_good_image_is_kept_while_other_fields_are_corrected(client, session, owner):
    response = post(client, "/technologies/new", form_data(durable_years="0"),
                    files={"image": ("photo.jpg", image_bytes("JPEG"), "image/jpeg")})
    assert response.status_code == 422
    kept = parse(response).select_one("input[name=image_upload]")["value"]
    assert kept and "The image you chose is kept" in parse(response).select_one("#technology-errors").text
    response = post(client, "/technologies/new", form_data(image_upload=kept))
    assert response.status_code == 303
    assert session.scalar(select(Technology.image_key)) == kept


def test_image_is_served_with_safe_headers(client, session, owner):
    post(client, "/technologies/new", form_data(),
         files={"image": ("../../etc/passwd.png", image_bytes(), "image/png")})
    tech = session.scalar(select(Technology))
    url = f"/technologies/{tech.id}/images/{tech.image_key}.jpg"
    own = client.get(url)
    assert own.status_code == 200 and own.headers["content-type"] == "image/jpeg"
    assert own.content[:3] == b"\xff\xd8\xff"  # re-encoded as JPEG whatever came in
    assert own.headers["x-content-type-options"] == "nosniff"
    assert own.headers["content-disposition"] == f'inline; filename="technology-{tech.id}.jpg"'
    assert own.headers["cache-control"] == "private, no-cache"  # not public yet
    tech.status = "published"
    session.commit()
    client.cookies.clear()
    public = client.get(url + "?size=thumb")
    assert public.status_code == 200 and "immutable" in public.headers["cache-control"]
    assert public.headers["content-disposition"] == f'inline; filename="technology-{tech.id}-thumb.jpg"'
    assert client.get(f"/technologies/{tech.id}/images/{'A' * 22}.jpg").status_code == 404
    assert client.get(f"/technologies/{tech.id}/images/..%2F..%2Fsecret.jpg").status_code == 404


def test_edit_published_text_waits_for_review_figures_apply_at_once(client, session, owner):
    tech = create_technology(session, owner.organization, name="Inverter turbo chiller",
                             description=form_data()["description"], figures_basis="unit", investment_jpy=1,
                             products=["ETI-Z series"], name_ja="インバーターターボ冷凍機", languages=["en", "ja"])
    session.commit()
    response = post(client, f"/technologies/{tech.id}/edit", form_data(description="A new description of the "
                                                                         "inverter chillers, pending review."))
    assert response.headers["location"] == "/technologies/mine?done=review"
    session.expire_all()
    assert tech.description == form_data()["description"]  # the public text is unchanged
    assert tech.pending_changes == {"description": "A new description of the inverter chillers, pending review."}
    assert tech.investment_jpy == 200_000_000  # figures applied
    assert "pending review" not in client.get(f"/technologies/{tech.id}").text
    # Editing back to the published text withdraws the change.
    response = post(client, f"/technologies/{tech.id}/edit", form_data())
    assert response.headers["location"] == "/technologies/mine?done=saved"
    session.expire_all()
    assert tech.pending_changes is None


def test_edit_unpublished_goes_back_for_review(client, session, owner):
    tech = create_technology(session, owner.organization, status="unpublished", status_reason="Add figures")
    session.commit()
    response = post(client, f"/technologies/{tech.id}/edit", form_data())
    assert response.headers["location"] == "/technologies/mine?done=resubmitted"
    session.expire_all()
    assert tech.status == "pending"


def test_add_and_remove_rows_without_javascript_saves_nothing(client, session, owner):
    response = post(client, "/technologies/new", form_data(list_add="track_records"))
    assert response.status_code == 200
    assert len(parse(response).select("#list-track_records > ul > li")) == 2
    response = post(client, "/technologies/new", form_data(list_remove="track_records:0"))
    assert len(parse(response).select("#list-track_records > ul > li")) == 0
    assert count(session) == 0


def test_delete_technology(client, session, owner):
    tech = create_technology(session, owner.organization)
    session.commit()
    assert post(client, f"/technologies/{tech.id}/delete", {}).headers["location"] == "/technologies/mine?done=deleted"
    assert count(session) == 0


@pytest.mark.parametrize("who, expected", [("anonymous", 303), ("other_member", 403), ("organizer", 403),
                                           ("consultant", 403)])
def test_technology_editing_is_for_its_organization(client, session, who, expected):
    tech = create_technology(session, create_organization(session, name="Owner Co"))
    users = {"other_member": lambda: create_user(session),
             "organizer": lambda: create_user(session, None, role="organizer"),
             "consultant": lambda: create_user(session, create_organization(session, kind="consultant"))}
    user = users[who]() if who in users else None
    session.commit()
    if user is not None:
        login(client, user)
    token = csrf_token(client, "/technologies")
    for method, path in (("get", f"/technologies/{tech.id}/edit"), ("post", f"/technologies/{tech.id}/edit"),
                         ("post", f"/technologies/{tech.id}/delete")):
        response = getattr(client, method)(path, follow_redirects=False,
                                           **({"data": {**form_data(), "csrf_token": token}}
                                              if method == "post" else {}))
        assert response.status_code == expected, (method, path)
    if who == "consultant":
        assert client.get("/technologies/new").status_code == 403
    assert count(session) == 1
