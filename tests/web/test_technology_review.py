"""Organizers review the catalogue: publish, unpublish with a reason, accept or decline changes."""

import pytest
from sqlalchemy import select

from models import Notification, OutboxEmail, Technology
from tests.conftest import csrf_token
from tests.factories import create_organization, create_user, login
from tests.web.technology_support import card_names, create_technology, parse

HTMX = pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}], ids=["page", "htmx"])


@pytest.fixture
def world(session, client):
    owner_org = create_organization(session, name="Nippon Chiller Works")
    owner = create_user(session, owner_org)
    organizer = create_user(session, None, role="organizer")
    pending = create_technology(session, owner_org, name="Turbo chiller", status="pending")
    published = create_technology(session, owner_org, name="Heat pump", description="The published text of it.",
                                  pending_changes={"description": "A proposed new text for the heat pump."})
    session.commit()
    login(client, organizer)
    return {"owner": owner, "organizer": organizer, "pending": pending, "published": published}


def review(client, tech, decision, reason="", headers=None, tab="review"):
    return client.post(f"/organizer/technologies/{tech.id}/review",
                       data={"decision": decision, "reason": reason, "tab": tab,
                             "csrf_token": csrf_token(client, "/organizer/technologies")},
                       headers=headers or {}, follow_redirects=False)


@HTMX
def test_review_list_shows_new_and_changed_technologies(client, world, headers):
    soup = parse(client.get("/organizer/technologies", headers=headers))
    assert (soup.find("html") is None) == bool(headers)
    names = [h.text.strip() for h in soup.select(".tech-review h3")]
    assert sorted(names) == ["Heat pump", "Turbo chiller"]
    changes = soup.select_one(f"#review-{world['published'].id} .review-changes tbody tr")
    assert "The published text of it." in changes.text and "A proposed new text" in changes.text


@HTMX
def test_publish_makes_it_public_and_tells_the_owner(client, session, world, headers):
    response = review(client, world["pending"], "publish", headers=headers)
    assert response.status_code == (200 if headers else 303)
    session.expire_all()
    assert world["pending"].status == "published" and world["pending"].published_at is not None
    note = session.scalar(select(Notification).where(Notification.user_id == world["owner"].id))
    assert note.kind == "technology_published"
    mail = session.scalar(select(OutboxEmail).where(OutboxEmail.to_address == world["owner"].email))
    assert "Turbo chiller" in mail.body and f"/technologies/{world['pending'].id}" in mail.body
    client.cookies.clear()
    assert "Turbo chiller" in card_names(parse(client.get("/technologies")))


def test_unpublish_needs_a_reason_the_owner_sees(client, session, world):
    response = review(client, world["published"], "unpublish", reason="  ")
    assert response.status_code == 422
    assert "Give a reason" in parse(response).select_one(f"#review-{world['published'].id} .error-text").text
    session.expire_all()
    assert world["published"].status == "published"
    response = review(client, world["published"], "unpublish", reason="The figures are per plant, not per unit.")
    assert response.status_code == 303
    session.expire_all()
    assert world["published"].status == "unpublished" and world["published"].pending_changes is None
    login(client, world["owner"])
    mine = parse(client.get("/technologies/mine"))
    assert mine.select_one(f"#own-{world['published'].id} .status-reason").text == \
        "The figures are per plant, not per unit."


def test_accept_changes_publishes_the_new_text(client, session, world):
    assert review(client, world["published"], "accept_changes").status_code == 303
    session.expire_all()
    assert world["published"].description == "A proposed new text for the heat pump."
    assert world["published"].pending_changes is None


def test_decline_changes_keeps_the_published_text(client, session, world):
    assert review(client, world["published"], "decline_changes").status_code == 422
    assert review(client, world["published"], "decline_changes", reason="Marketing claims").status_code == 303
    session.expire_all()
    tech = world["published"]
    assert (tech.status, tech.description, tech.pending_changes, tech.review_note) == \
        ("published", "The published text of it.", None, "Marketing claims")
    kinds = set(session.scalars(select(Notification.kind).where(Notification.user_id == world["owner"].id)))
    assert kinds == {"technology_changes_declined"}


def test_a_decision_already_taken_is_a_conflict(client, session, world):
    assert review(client, world["pending"], "publish").status_code == 303
    assert review(client, world["pending"], "publish").status_code == 409
    assert review(client, world["pending"], "accept_changes").status_code == 409
    assert review(client, world["pending"], "teleport").status_code == 422


@pytest.mark.parametrize("who, status", [("anonymous", 303), ("member", 403), ("owner", 403)])
def test_only_organizers_review(client, session, world, who, status):
    client.cookies.clear()
    if who == "member":
        user = create_user(session)
        session.commit()
        login(client, user)
    elif who == "owner":
        login(client, world["owner"])
    token = csrf_token(client, "/technologies")
    assert client.get("/organizer/technologies", follow_redirects=False).status_code == status
    response = client.post(f"/organizer/technologies/{world['pending'].id}/review",
                           data={"decision": "publish", "csrf_token": token}, follow_redirects=False)
    assert response.status_code == status
    session.expire_all()
    assert session.get(Technology, world["pending"].id).status == "pending"


@pytest.mark.parametrize("decision, reason, jobs", [
    ("publish", "", {"index_technologies", "embed_pending_profiles", "send_outbox"}),
    ("unpublish", "Figures per plant", {"index_technologies", "embed_pending_profiles", "send_outbox"}),
    ("accept_changes", "", {"index_technologies", "embed_pending_profiles", "send_outbox"}),
    ("decline_changes", "Marketing claims", {"send_outbox"}),  # nothing public changed
])
def test_a_decision_asks_for_the_jobs_its_change_needs(session, settings, world, decision, reason, jobs):
    from web.services import after_commit, technology_review

    session.commit()
    tech = world["pending"] if decision == "publish" else world["published"]
    technology_review.review_technology(session, settings, world["organizer"], tech, decision, reason)
    assert after_commit.pending_jobs(session) == jobs  # they run once this unit of work commits


def test_deleting_or_editing_a_published_technology_asks_for_the_index(session, settings, world):
    from web.services import after_commit, technology_form

    session.commit()
    technology_form.delete_technology(session, world["owner"], world["pending"])
    assert after_commit.pending_jobs(session) == set()  # never public: nothing to follow
    session.rollback()
    technology_form.delete_technology(session, world["owner"], world["published"])
    assert after_commit.pending_jobs(session) == {"index_technologies", "embed_pending_profiles"}
