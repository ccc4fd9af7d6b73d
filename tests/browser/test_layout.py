"""The layout on a phone (390 px) and a desktop (1280 px): nothing scrolls sideways, the tab bar shows that it
scrolls, filters do not fill a phone's first screen, and an htmx request that fails shows the error."""

from __future__ import annotations

import os
import re
import threading
import time

import pytest
import uvicorn
from sqlalchemy import select

from models import OutboxEmail
from tests.web.live_support import free_port
from tests.browser.test_flows import log_in
from tests.factories import create_organization, create_user
from tests.web.matching_support import embed
from web.app import create_app
from web.services import requests

pytestmark = pytest.mark.browser
WIDTHS = [390, 1280]
# The elements that stick out past the right edge, for a readable failure message.
OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  const out = [...document.querySelectorAll('body *')].filter(el => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.right > width + 1 && getComputedStyle(el).position !== 'fixed'
      && !el.closest('.tab-row, .table-scroll, pre');
  }).slice(0, 5).map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '.' + el.className);
  return {scroll: document.documentElement.scrollWidth, width, out};
}"""


@pytest.fixture
def people(session, session_factory, settings, embedder):
    """A partner company matched with a Japanese company (long contact details), an unclaimed organization,
    an organizer, and a pending request."""
    partner = create_organization(session, name="Saigon Riverside Textiles", kind="partner_company", country="VN",
                                  contact_name="Nguyen Thi Lan", contact_email="lan@saigon-riverside-textiles.example",
                                  offers=[], needs=["Cooling energy savings at a textile dyeing plant"],
                                  technology_categories=["energy_efficiency"])
    maker = create_organization(
        session, name="Sakuragawa Chiller Systems International Engineering Division", kind="japanese_company",
        contact_name="Haruto Sakuragawa-Nakamura",
        contact_email="haruto.sakuragawa.nakamura.overseas.projects@sakuragawachillersystems.example",
        contact_phone="+81 6 1234 5678 ext. 9012", offers=["Inverter centrifugal chillers for textile plants"],
        technology_categories=["energy_efficiency"], target_countries=["VN", "TH", "ID"])
    unclaimed = create_organization(session, name="Da Nang Cement", kind="partner_company", country="VN",
                                    contact_email="info@danang-cement.example", needs=["Waste heat recovery"])
    lan = create_user(session, partner, email="partner@example.com", full_name="Nguyen Thi Lan")
    haruto = create_user(session, maker, email="jp@example.com", full_name="Haruto")
    organizer = create_user(session, role="organizer", organization=None, email="organizer@example.com")
    create_organization(session, status="pending", name="Hakone Smart Energy")
    match = requests.request_meeting(session, settings, lan, maker.id,
                                     "We would like to replace three old chillers at our mill. " * 4,
                                     ["chillers", "heat recovery"])
    requests.accept_meeting(session, settings, haruto, match.id)
    pending = requests.request_meeting(session, settings, haruto, unclaimed.id, "We recover waste heat from kilns.")
    create_organization(session, name="Kurobe Heat Recovery Works", offers=["Waste heat recovery for textile dryers"],
                        contact_email="", technology_categories=["energy_efficiency"], target_countries=["VN"])
    session.commit()
    embed(session_factory, embedder)
    return {"member": lan, "organizer": organizer, "match": match, "pending": pending, "maker": maker,
            "unclaimed": unclaimed}


def _check_pages(page, base, paths, width, shots, prefix):
    for name, path in paths:
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        result = page.evaluate(OVERFLOW_JS)
        page.screenshot(path=os.path.join(shots, f"{prefix}-{name}-{width}.png"), full_page=True)
        assert result["scroll"] <= result["width"], (path, result)


@pytest.mark.parametrize("width", WIDTHS)
def test_main_pages_do_not_scroll_sideways(browser, live_server, session, people, screenshot_dir, width):
    page = browser.new_page(viewport={"width": width, "height": 844})
    _check_pages(page, live_server, [("home", "/"), ("technologies", "/technologies"), ("signup", "/signup"),
                                     ("login", "/login"), ("api-docs", "/api/docs")], width, screenshot_dir, "visitor")
    log_in(page, live_server, people["member"].email)
    member_pages = [
        ("prematching", "/prematching"), ("sent", "/requests/sent"), ("received", "/requests/received"),
        ("matches", "/matches"), ("match", f"/matches/{people['match'].id}"),
        ("request", f"/requests/{people['match'].id}"), ("directory", "/directory"),
        ("organization", f"/organizations/{people['maker'].id}"), ("profile", "/profile"),
        ("notifications", "/notifications"), ("agenda", "/agenda"),
        ("unclaimed", f"/organizations/{people['unclaimed'].id}"),
    ]
    _check_pages(page, live_server, member_pages, width, screenshot_dir, "member")
    page.context.clear_cookies()
    log_in(page, live_server, people["organizer"].email)
    _check_pages(page, live_server, [("applications", "/organizer/applications"),
                                     ("approved", "/organizer/applications?status=approved"),
                                     ("import", "/organizer/import")], width, screenshot_dir, "organizer")


def test_match_page_contact_card_fits_a_phone(browser, live_server, session, people, screenshot_dir):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    log_in(page, live_server, people["member"].email)
    page.goto(f"{live_server}/matches/{people['match'].id}")
    card = page.locator(f"#contact-{people['maker'].id}").bounding_box()
    email = page.locator(f"#contact-{people['maker'].id} .contact-email").bounding_box()
    assert card["x"] >= 0 and card["x"] + card["width"] <= 390
    assert email["x"] + email["width"] <= card["x"] + card["width"]
    # The contact card and the request stack in one column on a phone.
    request_box = page.locator(".match-overview > section").last.bounding_box()
    assert request_box["y"] >= card["y"] + card["height"]
    page.screenshot(path=os.path.join(screenshot_dir, "match-contact-390.png"), full_page=False)


def test_tab_bar_on_a_phone_scrolls_with_a_visible_hint(browser, live_server, session, people, screenshot_dir):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    log_in(page, live_server, people["member"].email)
    page.goto(live_server + "/technologies")
    row = page.locator("#tab-row")
    sizes = row.evaluate("el => ({scroll: el.scrollWidth, client: el.clientWidth, left: el.scrollLeft, "
                         "overflow: getComputedStyle(el).overflowX, bg: getComputedStyle(el).backgroundImage})")
    assert sizes["scroll"] > sizes["client"] and sizes["overflow"] == "auto"
    assert sizes["bg"].count("gradient") >= 2  # the edge shadows that say "more this way"
    # The current tab (Technologies, the last) is scrolled into view.
    active = page.locator("#tab-row a.active").bounding_box()
    assert active["x"] >= 0 and active["x"] + active["width"] <= 390
    page.screenshot(path=os.path.join(screenshot_dir, "tabs-390.png"),
                    clip={"x": 0, "y": 0, "width": 390, "height": 240})


@pytest.mark.parametrize("width", WIDTHS)
def test_prematching_filters_are_collapsed_on_a_phone_only(browser, live_server, session, people, screenshot_dir,
                                                           width):
    page = browser.new_page(viewport={"width": width, "height": 844})
    log_in(page, live_server, people["member"].email)
    for path, panel in (("/prematching", "#prematching-filters-panel"), ("/directory", "#directory-filters-panel")):
        page.goto(live_server + path)
        is_open = page.locator(panel).evaluate("el => el.open")
        assert is_open == (width > 760)
        if width == 390:
            assert not page.locator(panel + " select").first.is_visible()
            page.locator(panel + " summary").click()
            assert page.locator(panel + " select").first.is_visible()
            page.locator(panel + " summary").click()
        page.screenshot(path=os.path.join(screenshot_dir, f"filters{path.replace('/', '-')}-{width}.png"))


@pytest.fixture
def failing_server(settings, engine, clean_db, embedder):
    """The app with one route that fails, served like live_server."""
    port = free_port()
    app = create_app(settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}"}), embedder=embedder)

    def boom():
        raise RuntimeError("boom")

    app.add_api_route("/boom", boom)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_unexpected_error_in_an_htmx_request_is_shown(browser, failing_server, screenshot_dir):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(failing_server + "/technologies")
    assert page.locator("#htmx-error").inner_text() == ""
    page.evaluate("htmx.ajax('GET', '/boom', {target: '#technology-results', swap: 'outerHTML'})")
    page.wait_for_selector("#htmx-error #error")
    text = page.inner_text("#htmx-error")
    assert "Something went wrong" in text and page.inner_text("#error-reference").strip()
    page.screenshot(path=os.path.join(screenshot_dir, "htmx-error-390.png"))


def test_invitation_claim_on_a_phone(browser, live_server, session, people, screenshot_dir):
    mail = session.scalar(select(OutboxEmail).where(OutboxEmail.to_address == "info@danang-cement.example"))
    link = re.search(r"/invitations/[A-Za-z0-9_-]+", mail.body).group(0)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    # The requester's page says who was invited and that the request waits for them.
    log_in(page, live_server, "jp@example.com")
    page.goto(f"{live_server}/requests/{people['pending'].id}")
    assert "info@danang-cement.example" in page.inner_text("#invitation-note")
    page.screenshot(path=os.path.join(screenshot_dir, "request-invited-390.png"), full_page=True)
    page.context.clear_cookies()
    page.goto(live_server + link)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.fill("#f-full_name", "Le Van Minh")
    page.fill("#f-password", "a long secret phrase")
    page.fill("#f-password_confirm", "a long secret phrase")
    page.screenshot(path=os.path.join(screenshot_dir, "claim-390.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="Join and log in").click()
    assert page.url.endswith("/requests/received")
    assert "We recover waste heat from kilns." in page.inner_text("main")
