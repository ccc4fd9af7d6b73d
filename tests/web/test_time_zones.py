"""The shared time-zone list: grouped by region, with offsets, without old aliases; stored aliases stay valid."""

from __future__ import annotations

from bs4 import BeautifulSoup
from sqlalchemy import select

from models import User
from tests.conftest import csrf_token
from tests.factories import create_user, login
from web.i18n import is_time_zone, time_zone_choices


def _zones(groups) -> list[str]:
    return [zone for _region, zones in groups for zone, _label in zones]


def test_time_zone_choices_are_grouped_with_offsets_and_no_aliases():
    groups = time_zone_choices(language="en")
    regions = [region for region, _zones in groups]
    assert {"Asia", "Europe", "Americas", "Africa", "Pacific Ocean"} <= set(regions)
    zones = _zones(groups)
    assert len(zones) == len(set(zones)) and 300 < len(zones) < 500  # not the ~600 raw names
    for alias in ("Asia/Calcutta", "Asia/Saigon", "US/Eastern", "Japan", "Etc/GMT+5", "Asia/Rangoon"):
        assert alias not in zones
    labels = dict(zone for _region, zones in groups for zone in zones)
    assert labels["Asia/Tokyo"] == "UTC+09:00 Tokyo (Japan)"
    assert labels["Asia/Kolkata"].startswith("UTC+05:30 ")
    assert labels["Asia/Ho_Chi_Minh"].startswith("UTC+07:00 ")


def test_time_zone_choices_are_sorted_by_offset_within_a_region():
    asia = dict(time_zone_choices(language="en"))["Asia"]
    offsets = [label.split(" ", 1)[0].replace("−", "-") for _zone, label in asia]
    as_minutes = [(-1 if o[3] == "-" else 1) * (int(o[4:6]) * 60 + int(o[7:9])) for o in offsets]
    assert as_minutes == sorted(as_minutes)


def test_time_zone_choices_follow_the_language():
    labels = dict(zone for _region, zones in time_zone_choices(language="ja") for zone in zones)
    assert labels["Asia/Tokyo"] == "UTC+09:00 東京 (日本)"


def test_a_stored_alias_is_kept_as_an_option_and_stays_valid():
    assert "Asia/Calcutta" in _zones(time_zone_choices("Asia/Calcutta", language="en"))
    assert is_time_zone("Asia/Calcutta") and is_time_zone("Asia/Tokyo")
    assert not is_time_zone("Mars/Olympus_Mons") and not is_time_zone("")


def test_signup_form_offers_the_grouped_list(client):
    select_ = BeautifulSoup(client.get("/signup").text, "html.parser").find("select", {"name": "time_zone"})
    assert len(select_.find_all("optgroup")) >= 8
    assert select_.find("option", selected=True)["value"] == "Asia/Tokyo"
    assert select_.find("option", value="Asia/Saigon") is None


def test_profile_keeps_an_alias_the_user_already_has(client, session):
    user = create_user(session, time_zone="Asia/Calcutta")
    session.commit()
    login(client, user)
    page = BeautifulSoup(client.get("/profile").text, "html.parser")
    assert page.find("select", {"name": "time_zone"}).find("option", selected=True)["value"] == "Asia/Calcutta"
    token = csrf_token(client, "/profile")
    response = client.post("/profile/account", data={"language": "en", "time_zone": "Asia/Calcutta",
                                                     "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    session.expire_all()
    assert session.scalar(select(User.time_zone).where(User.id == user.id)) == "Asia/Calcutta"
