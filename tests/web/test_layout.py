"""The layout every page shares: which tabs a person sees, the site icon."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from tests.factories import create_organization, create_user, login

MEMBER_TABS = ["/prematching", "/requests/sent", "/requests/received", "/matches"]


def _tabs(client, path: str = "/technologies") -> list[str]:
    page = BeautifulSoup(client.get(path).text, "html.parser")
    return [a["href"] for a in page.find(id="tab-row").find_all("a")]


def test_visitor_sees_only_the_public_tabs(client, session):
    assert _tabs(client) == ["/events", "/technologies"]
    assert client.get("/technologies").status_code == 200


def test_approved_member_sees_every_tab(client, session):
    user = create_user(session)
    session.commit()
    login(client, user)
    assert _tabs(client) == [*MEMBER_TABS, "/events", "/directory", "/technologies"]


def test_organizer_sees_the_directory_but_no_member_tabs(client, session):
    organizer = create_user(session, role="organizer", organization=None)
    session.commit()
    login(client, organizer)
    assert _tabs(client) == ["/events", "/directory", "/technologies"]
    assert client.get("/directory").status_code == 200


@pytest.mark.parametrize("status", ["pending", "rejected", "suspended"])
def test_member_of_unapproved_organization_sees_only_public_tabs(client, session, status):
    user = create_user(session, create_organization(session, status=status))
    session.commit()
    login(client, user)
    assert _tabs(client, "/profile") == ["/events", "/technologies"]
    assert client.get("/prematching", follow_redirects=False).status_code == 403  # what the hidden tab would give


def test_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO header
    page = BeautifulSoup(client.get("/").text, "html.parser")
    icon = page.find("link", rel="icon")
    assert client.get(icon["href"]).status_code == 200


def test_option_tags_escape_once_and_mark_the_selected_value():
    from markupsafe import Markup

    from web.templating import option_tags

    options = [("a&b", "A & B"), ("x", Markup("<b>X</b>")), (3, "Three")]
    html = option_tags(options, "x")
    assert html == ('<option value="a&amp;b">A &amp; B</option><option value="x" selected><b>X</b></option>'
                    '<option value="3">Three</option>')
    assert option_tags(options, 3).count(" selected") == 1 and 'value="3" selected' in option_tags(options, 3)
    assert " selected" not in option_tags(options, None) and option_tags([], "x") == ""


def test_option_tags_of_a_kept_tuple_match_those_of_a_list():
    """Reference lists are kept tuples and their tags are found by the tuple itself: the same markup as a list
    gives, each view marking its own selected value."""
    from web.i18n import country_choices, time_zone_choices
    from web.templating import option_tags

    countries = country_choices("en")
    assert countries is country_choices("en") and isinstance(countries, tuple)
    for selected in ("JP", "VN", None, "JP"):
        assert option_tags(countries, selected) == option_tags(list(countries), selected)
    assert option_tags(countries, "VN").count(" selected") == 1
    assert 'value="VN" selected' in option_tags(countries, "VN")
    groups = time_zone_choices("Asia/Tokyo", language="en")
    assert all(isinstance(zones, tuple) for _label, zones in groups)
    assert [zones for _l, zones in groups] == [zones for _l, zones in time_zone_choices("Asia/Tokyo", language="en")]
    # An old alias not listed is added to a copy of its region, never to the kept tuple.
    asia = dict(time_zone_choices("Asia/Calcutta", language="en"))["Asia"]
    assert "Asia/Calcutta" in dict(asia) and "Asia/Calcutta" not in dict(dict(groups)["Asia"])
