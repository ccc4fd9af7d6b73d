"""Searching the request tabs by the other side's name."""

from __future__ import annotations

from tests.web.query_support import recorded, sqlite_plan
from tests.web.requests_support import make_request, member
from web.services import request_lists


def test_tab_search_matches_the_other_side_by_name_case_insensitively_and_literally(session, settings):
    alice = member(session, "Alpha")
    fifty, five_hundred, under = member(session, "Gamma 50% Solar"), member(session, "Gamma 500 Solar"), \
        member(session, "Delta_Wind")
    for other in (fifty, five_hundred, under):
        make_request(session, settings, alice, other)
    make_request(session, settings, member(session, "Gamma Inbound"), alice)
    session.commit()

    def names(box, q, status=""):
        rows, counts = request_lists.list_requests(session, alice, box, status, q)
        return sorted(r.recipient_org.name if box == "sent" else r.requester_org.name for r in rows), counts["all"]

    assert names("sent", "GAMMA") == (["Gamma 50% Solar", "Gamma 500 Solar"], 2)
    assert names("sent", "50%") == (["Gamma 50% Solar"], 1)  # % is a character, not a wildcard
    assert names("sent", "a_w") == (["Delta_Wind"], 1)  # and so is _
    assert names("sent", "alpha") == ([], 0)  # one's own name matches nothing
    assert names("received", "gamma", "pending") == (["Gamma Inbound"], 1)
    assert names("received", "gamma", "declined")[0] == []


def test_the_apis_plain_rows_are_the_tab_rows_with_both_sides_names(session, settings):
    alice = member(session, "Alpha")
    others = [member(session, name) for name in ("Gamma 50% Solar", "Gamma 500 Solar", "Delta_Wind", "Epsilon")]
    for other in others[:3]:
        make_request(session, settings, alice, other)
    make_request(session, settings, others[3], alice)
    make_request(session, settings, others[0], others[1])  # between two others: in nobody's tab here
    session.commit()
    for box, status, q in [("sent", "", ""), ("received", "", ""), ("sent", "pending", ""), ("sent", "", "50%"),
                           ("sent", "declined", ""), ("received", "", "eps")]:
        tab, _counts = request_lists.list_requests(session, alice, box, status, q, limit=2, offset=1)
        rows = request_lists.list_request_rows(session, alice, box, status, q, limit=2, offset=1)
        assert [row.id for row in rows] == [req.id for req in tab], (box, status, q)
        assert [(row.requester_org.name, row.recipient_org.name, row.recipient_org.country, row.requester_org.kind)
                for row in rows] \
            == [(req.requester_org.name, req.recipient_org.name, req.recipient_org.country, req.requester_org.kind)
                for req in tab]
        # The HTML tab's rows: what the row template reads of a request, the same as of the ORM object.
        shown, shown_counts = request_lists.list_tab(session, alice, box, status, q, limit=2, offset=1)
        assert shown_counts == _counts
        for row, req in zip(shown, tab, strict=True):
            for name in ("id", "status", "requester_org_id", "recipient_org_id", "message", "topics", "event_id",
                         "decline_reason", "created_at", "expires_at", "responded_at"):
                assert getattr(row, name) == getattr(req, name), name
            for side in (alice.organization_id, None):
                assert ((row.other_org(side).id, row.other_org(side).name, row.other_org(side).country)
                        == (req.other_org(side).id, req.other_org(side).name, req.other_org(side).country))
    assert len(request_lists.list_request_rows(session, alice, "sent")) == 3


def test_a_search_looks_up_the_other_sides_of_the_organizations_requests_only(session, settings):
    # As `side IN (ids whose name matches)`, SQLite matched every organization's name on the platform first (at
    # 100,000 organizations: 50 ms for any word, 140 ms for "a"); the organization's own requests are few.
    alice = member(session, "Alpha")
    make_request(session, settings, alice, member(session, "Gamma Solar"))
    make_request(session, settings, member(session, "Gamma Inbound"), alice)
    for n in range(30):
        member(session, f"Gamma Bystander {n}")
    session.commit()
    for box in ("sent", "received", "matches"):
        for read in (request_lists.list_requests, request_lists.list_tab):
            with recorded(session.get_bind()) as seen:
                read(session, alice, box, "", "gamma")
            searched = [(s, p) for s, p in seen if "lower(" in s]
            assert len(searched) == 2, seen  # the counts and the rows
            if session.get_bind().dialect.name == "sqlite":
                for statement in searched:
                    plan = sqlite_plan(session.get_bind(), *statement)
                    assert "SCAN organization" not in plan, plan
    assert [r.recipient_org.name for r in request_lists.list_requests(session, alice, "sent", "", "gamma")[0]] == \
        ["Gamma Solar"]
