"""The request tabs: sent, received and matches with their counts, filters and pages, and how a closed request is
labelled in them."""

from __future__ import annotations

import pytest

from tests.web.requests_support import HTMX, age_request, headers, logged_in, make_match, make_request, member, soup
from web.services import requests


@HTMX
def test_sent_and_received_tabs_list_with_counts_and_filters(client, session, settings, htmx):
    alice = member(session, "Alpha Chillers")
    bob, carol = member(session, "Beta Solar"), member(session, "Gamma Wind")
    make_request(session, settings, alice, bob)
    declined = make_request(session, settings, alice, carol)
    requests.decline_meeting(session, settings, carol, declined.id)
    session.commit()
    logged_in(client, alice)
    page = soup(client.get("/requests/sent", headers=headers(htmx)))
    assert len(page.select(".request-row")) == 2
    counts = page.find(id="request-list").get_text(" ", strip=True)
    assert "All (2)" in counts and "Pending (1)" in counts and "Declined (1)" in counts
    if not htmx:
        assert page.find("a", attrs={"aria-current": "page"}).get("href") == "/requests/sent"
        assert page.title.string.startswith("Requests sent")
    only_pending = soup(client.get("/requests/sent?status=pending", headers=headers(htmx)))
    assert [h.get_text(strip=True) for h in only_pending.select(".request-row h3")] == ["Beta Solar"]
    by_name = soup(client.get("/requests/sent?q=gamma", headers=headers(htmx)))
    assert [h.get_text(strip=True) for h in by_name.select(".request-row h3")] == ["Gamma Wind"]
    assert not soup(client.get("/requests/received", headers=headers(htmx))).select(".request-row")


@HTMX
def test_received_tab_shows_accept_and_decline(client, session, settings, htmx):
    alice, bob = member(session, "Alpha"), member(session, "Beta")
    req = make_request(session, settings, alice, bob)
    session.commit()
    logged_in(client, bob)
    row = soup(client.get("/requests/received", headers=headers(htmx))).find(id=f"request-{req.id}")
    buttons = [b.get_text(strip=True) for b in row.find_all("button")]
    assert "Accept" in buttons and "Decline" in buttons
    assert row.find("form", attrs={"hx-post": f"/requests/{req.id}/accept"})["hx-target"] == f"#request-{req.id}"


@HTMX
def test_matches_tab_lists_accepted_in_both_directions(client, session, settings, htmx):
    alice, bob, carol = member(session, "Alpha"), member(session, "Beta"), member(session, "Gamma")
    make_match(session, settings, alice, bob)
    make_match(session, settings, carol, alice)
    make_request(session, settings, alice, member(session, "Delta"))
    session.commit()
    logged_in(client, alice)
    page = soup(client.get("/matches", headers=headers(htmx)))
    assert sorted(h.get_text(strip=True) for h in page.select(".request-row h3")) == ["Beta", "Gamma"]
    assert [h.get_text(strip=True) for h in soup(client.get("/matches?q=bet", headers=headers(htmx)))
            .select(".request-row h3")] == ["Beta"]


@HTMX
def test_withdrawn_request_is_labelled_withdrawn_not_answered(client, session, settings, htmx):
    alice, bob = member(session), member(session)
    req = make_request(session, settings, alice, bob)
    requests.cancel_meeting(session, settings, alice, req.id)
    session.commit()
    logged_in(client, alice)
    row = soup(client.get("/requests/sent", headers=headers(htmx))).find(id=f"request-{req.id}")
    closed = row.find(class_="request-closed").get_text(" ", strip=True)
    assert closed.startswith("Withdrawn") and "Answered" not in row.get_text()


@pytest.mark.parametrize("answer, label", [("accept", "Accepted"), ("decline", "Declined")])
def test_answered_request_says_how_it_was_answered(client, session, settings, answer, label):
    alice, bob = member(session), member(session)
    req = make_request(session, settings, alice, bob)
    getattr(requests, f"{answer}_meeting")(session, settings, bob, req.id)
    session.commit()
    logged_in(client, alice)
    row = soup(client.get("/requests/sent")).find(id=f"request-{req.id}")
    assert row.find(class_="request-closed").get_text(strip=True).startswith(label)


@HTMX
def test_request_tabs_show_one_page_at_a_time_newest_first(client, session, settings, htmx):
    settings.page_size = 2
    me = member(session, "Requester")
    others = [member(session, f"Partner {n}") for n in range(5)]
    for n, other in enumerate(others):
        age_request(session, make_request(session, settings, me, other), days=5 - n)  # Partner 4 is the newest
    session.commit()
    logged_in(client, me)
    first = soup(client.get("/requests/sent?status=pending", headers=headers(htmx)))
    assert [h.text.strip() for h in first.select(".request-row h3")] == ["Partner 4", "Partner 3"]
    assert "All (5)" in first.select_one(".status-counts").text  # counts are of every request, not the page
    older = first.select_one(".pagination a[rel=next]")["href"]
    assert "status=pending" in older and "page=2" in older and first.select_one(".pagination a[rel=prev]") is None
    last = soup(client.get("/requests/sent?status=pending&page=3", headers=headers(htmx)))
    assert [h.text.strip() for h in last.select(".request-row h3")] == ["Partner 0"]
    assert last.select_one(".pagination a[rel=next]") is None
    assert "page=2" in last.select_one(".pagination a[rel=prev]")["href"]
