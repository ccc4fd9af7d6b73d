"""Pre-Matching in a real browser: cards with reasons, the Japanese-only note and the floor's message fit the page."""

from __future__ import annotations

import os

import pytest

from tests.browser.test_flows import log_in
from tests.factories import PASSWORD, create_organization
from tests.web.matching_support import embed, make_market, member_of

pytestmark = pytest.mark.browser


def test_prematching_page_shows_reasons_note_and_floor(browser, live_server, session, session_factory, embedder,
                                                       screenshot_dir):
    orgs = make_market(session)
    create_organization(session, name="Kyoto Reitoki", kind="japanese_company", country="JP",
                        description="工場向けの高効率ターボ冷凍機メーカーです。",
                        offers=["繊維工場の冷却設備を高効率ターボ冷凍機に更新"],
                        technology_categories=["energy_efficiency"], target_countries=["TH"])
    user = member_of(session, orgs["textile"])
    session.commit()
    embed(session_factory, embedder)
    page = browser.new_page(viewport={"width": 1200, "height": 1400})
    log_in(page, live_server, user.email, PASSWORD)
    page.goto(live_server + "/prematching")
    page.wait_for_selector("#prematching-results article.match-card")
    assert page.locator(".match-language").count() == 1  # the Japanese-only profile says so
    assert page.locator("#match-floor").is_visible()
    assert "§" not in page.inner_text("#prematching-results")
    page.screenshot(path=os.path.join(screenshot_dir, "prematching.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 1400})
    page.screenshot(path=os.path.join(screenshot_dir, "prematching-phone.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
