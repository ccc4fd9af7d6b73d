"""The platform dashboard at scale: figures of organizations kept between views, requests counted from the requests."""

from __future__ import annotations

from tests.web.dashboard_support import (  # noqa: F401 - boss, data: fixtures the tests name
    boss,
    data,
    request,
    soup,
    table_rows,
)
from tests.web.organizer_support import organizer  # noqa: F401 - a fixture the tests name
from tests.web.query_support import recorded, sqlite_plan


def test_platform_figures_of_organizations_are_kept_until_an_organization_changes(boss, session, data):
    # Counted from every organization (1.5 s at 100,000), they are kept between views; an approval, a profile
    # saved or an import moves the organization table's fingerprint and they are counted again.
    def by_country():
        return {row[0]: row[1:] for row in table_rows(soup(boss.get("/dashboard")), "countries")[1:]}

    assert by_country()["Vietnam"] == ["0", "1", "0", "1", "1", "2"]
    with recorded(boss.app.state.engine) as seen:
        by_country()
    assert any("meeting_request" in s for s, _ in seen)
    assert not any("GROUP BY organization.country, organization.kind" in s for s, _ in seen)  # kept
    data.vn2.status = "approved"
    session.commit()
    assert by_country()["Vietnam"] == ["0", "2", "0", "2", "1", "2"]
    page = soup(boss.get("/dashboard"))
    assert table_rows(page, "organizations")[2] == ["Partner-country company", "0", "3", "1", "0", "4"]
    assert [row[1] for row in table_rows(page, "activity")[1:]] == ["6"]
    request(session, data.jp1, data.vn2, "accepted")  # requests are counted on each view
    session.commit()
    assert by_country()["Vietnam"] == ["0", "2", "0", "2", "1", "3"]


def test_requests_per_category_start_from_the_requests(boss, session, data):
    # Through the organization table SQLite started from every tag on the platform (the matches per category:
    # 980 ms at 100,000 organizations).
    with recorded(boss.app.state.engine) as seen:
        boss.get("/dashboard")
    per_category = [(s, p) for s, p in seen if s.startswith("SELECT organization_tag.value, count(DISTINCT")]
    assert len(per_category) == 2  # sent, matched
    if session.get_bind().dialect.name == "sqlite":
        for statement in per_category:
            plan = sqlite_plan(boss.app.state.engine, *statement)
            assert plan.split("\n")[0].split()[1] == "meeting_request", plan
