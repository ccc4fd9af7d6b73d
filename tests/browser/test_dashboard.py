"""The organizer dashboard in a real browser: charts fit a phone and their text stays readable."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from tests.browser.test_flows import log_in
from tests.factories import create_user
from tests.web.dashboard_support import at, event, meeting, org, register, request

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1280, 390])
def test_dashboard_charts_fit_and_stay_readable(browser, live_server, session, screenshot_dir, width):
    organizer = create_user(session, role="organizer", organization=None, email="organizer@example.com")
    ev = event(session, title_en="Seminar <Hanoi>")
    orgs = [org(session, country, kind, categories=["energy_efficiency"])
            for country, kind in [("JP", "japanese_company"), ("VN", "partner_company"), ("TH", "partner_company"),
                                  ("ID", "partner_company"), ("JP", "consultant")]]
    for member in orgs:
        register(session, ev, member)
    for number, partner in enumerate(orgs[1:4]):
        meeting(session, ev, request(session, orgs[0], partner, "accepted", ev),
                at(2026, 7, 1) + timedelta(minutes=30 * number), 1)
    session.commit()
    page = browser.new_page(viewport={"width": width, "height": 900})
    log_in(page, live_server, organizer.email)
    for path in ("/dashboard", f"/events/{ev.id}/dashboard"):
        page.goto(live_server + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing sticks out sideways
        charts = page.locator("svg.chart")
        assert charts.count() >= 4
        for index in range(charts.count()):
            box = charts.nth(index).bounding_box()
            assert box["height"] > 50 and box["x"] + box["width"] <= width
        # The smallest chart text (axis and legend labels), as drawn after the SVG is scaled to its box.
        smallest = page.evaluate("""Math.min(...[...document.querySelectorAll('svg.chart')].flatMap(svg => {
            const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
            return [...svg.querySelectorAll('text')].map(t => parseFloat(t.getAttribute('font-size')) * scale);
        }))""")
        assert smallest >= 12, smallest
        name = "dashboard" if path == "/dashboard" else "dashboard-event"
        page.screenshot(path=os.path.join(screenshot_dir, f"{name}-{width}.png"), full_page=True)
    page.close()
