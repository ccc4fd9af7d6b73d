"""Searching the request tabs by the other side's name."""

from __future__ import annotations

from tests.web.requests_support import make_request, member
from web.services import requests


def test_tab_search_matches_the_other_side_by_name_case_insensitively_and_literally(session, settings):
    alice = member(session, "Alpha")
    fifty, five_hundred, under = member(session, "Gamma 50% Solar"), member(session, "Gamma 500 Solar"), \
        member(session, "Delta_Wind")
    for other in (fifty, five_hundred, under):
        make_request(session, settings, alice, other)
    make_request(session, settings, member(session, "Gamma Inbound"), alice)
    session.commit()

    def names(box, q, status=""):
        rows, counts = requests.list_requests(session, alice, box, status, q)
        return sorted(r.recipient_org.name if box == "sent" else r.requester_org.name for r in rows), counts["all"]

    assert names("sent", "GAMMA") == (["Gamma 50% Solar", "Gamma 500 Solar"], 2)
    assert names("sent", "50%") == (["Gamma 50% Solar"], 1)  # % is a character, not a wildcard
    assert names("sent", "a_w") == (["Delta_Wind"], 1)  # and so is _
    assert names("sent", "alpha") == ([], 0)  # one's own name matches nothing
    assert names("received", "gamma", "pending") == (["Gamma Inbound"], 1)
    assert names("received", "gamma", "declined")[0] == []
