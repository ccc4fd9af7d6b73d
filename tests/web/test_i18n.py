"""Japanese UI: a complete, placeholder-safe, up-to-date catalog, and the language switch (session and account)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from bs4 import BeautifulSoup

from models import User
from tests.conftest import csrf_token
from tests.factories import create_organization, create_user, login

ROOT = Path(__file__).resolve().parents[2]
PO_PATH = ROOT / "web" / "translations" / "ja" / "LC_MESSAGES" / "messages.po"
# The keywords scripts/i18n.sh gives pybabel (-k N_ -k _ on top of babel's defaults).
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "_": None}
PERCENT_RE = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
BRACE_RE = re.compile(r"(?<!\{)\{(\w*)(?:[!:][^{}]*)?\}(?!\})")
JA_TABS = ["プレマッチング", "送信したリクエスト", "受信したリクエスト", "マッチング成立", "イベント", "会員一覧",
           "技術一覧"]
EN_TABS = ["Pre-Matching", "Requests sent", "Requests received", "Matches", "Events", "Directory", "Technologies"]
# Visitors see only the public tabs (tests/web/test_layout.py checks who sees which).
JA_PUBLIC_TABS = ["イベント", "技術一覧"]
EN_PUBLIC_TABS = ["Events", "Technologies"]


def _catalog():
    with PO_PATH.open("rb") as handle:
        return read_po(handle, locale="ja")


def _placeholders(text: str) -> set[str]:
    """%(name)x and {name} placeholders (a %% or {{ }} escape is not one)."""
    text = text.replace("%%", "")
    found = {f"%({name})" + match.group(0)[-1] for match in PERCENT_RE.finditer(text) for name in [match.group(1)]}
    found |= {"{" + name + "}" for name in BRACE_RE.findall(text.replace("{{", "").replace("}}", ""))}
    return found


class _Anything(dict):
    """A format mapping that has every key."""

    def __missing__(self, key):
        return 1


def _edges(text: str) -> tuple[str, str]:
    """The leading and trailing whitespace of a text."""
    return text[: len(text) - len(text.lstrip())], text[len(text.rstrip()):]


def _entry_problems(ids: tuple[str, ...], strings: tuple[str, ...], fuzzy: bool) -> list[str]:
    """What is wrong with one catalog entry (msgid and plural, their translations); empty when nothing."""
    if fuzzy:
        return ["fuzzy"]
    if not all(s.strip() for s in strings):
        return ["untranslated"]
    problems = []
    expected = set().union(*(_placeholders(msgid) for msgid in ids))
    for string in strings:
        found = _placeholders(string)
        if found != expected:
            problems.append(f"placeholders {sorted(found)} instead of {sorted(expected)}: {string!r}")
            continue
        # Jinja's newstyle gettext always %-formats, and the reasons use str.format: both must still work.
        try:
            if all(_formats(msgid) for msgid in ids):
                string % _Anything()
            if any(BRACE_RE.search(msgid) for msgid in ids):
                string.format_map(_Anything())
        except (TypeError, ValueError, KeyError, IndexError) as error:
            problems.append(f"cannot be formatted ({error}): {string!r}")
        # Leading and trailing whitespace (spaces, newlines) is layout: keep it; list separators
        # (", " -> "、") are punctuation whose spacing differs by language.
        if ids[0].strip(" ,;") and _edges(string) != _edges(ids[0]):
            problems.append(f"leading or trailing whitespace differs: {string!r}")
        if string.count("\n\n") != ids[0].count("\n\n"):
            problems.append(f"{ids[0].count(chr(10) * 2)} blank lines (paragraphs) expected: {string!r}")
    return problems


def _formats(msgid: str) -> bool:
    """Whether the English text itself survives %-formatting (then the translation must too)."""
    try:
        msgid % _Anything()
    except (TypeError, ValueError):
        return False
    return True


def test_every_catalog_entry_is_translated_with_the_same_placeholders():
    catalog = _catalog()
    bad, checked = [], 0
    for message in catalog:
        if not message.id:
            continue
        checked += 1
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        bad += [f"{ids[0]!r}: {problem}" for problem in _entry_problems(ids, strings, message.fuzzy)]
    assert checked > 900, f"only {checked} entries in {PO_PATH.name}: was the catalog truncated?"
    assert not bad, f"{len(bad)} bad entries in {PO_PATH}:\n" + "\n".join(bad)


def test_entry_check_reports_each_kind_of_bad_entry():
    assert _entry_problems(("Hello %(name)s,",), ("%(name)s 様",), False) == []
    assert _entry_problems(("Hello %(name)s,",), ("",), False) == ["untranslated"]
    assert _entry_problems(("Hello %(name)s,",), ("%(name)s 様",), True) == ["fuzzy"]
    assert "placeholders" in _entry_problems(("Hello %(name)s,",), ("%(nom)s 様",), False)[0]
    assert "placeholders" in _entry_problems(("works in {country}",), ("{国}で事業展開",), False)[0]
    assert "formatted" in _entry_problems(("%(n)d%% match",), ("%(n)d% 一致",), False)[0]
    assert "whitespace" in _entry_problems((" more",), ("ほか",), False)[0]
    assert "blank lines" in _entry_problems(("A.\n\nB.",), ("A。B。",), False)[0]
    plural = ("%(num)d match", "%(num)d matches")
    assert _entry_problems(plural, ("%(num)d件",), False) == []
    assert "placeholders" in _entry_problems(("skip the line", "skip %(num)d lines"), ("スキップ",), False)[0]


def _source_messages() -> dict[str, list[str]]:
    """Every string marked for translation in the source (as scripts/i18n.sh extracts it), with where it is."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle, "babel.cfg")
    # Walk only the top folders the mapping names (web/, matchmaker/), not the tests or the data.
    tops = {pattern.split("/", 1)[0] for pattern, _method in method_map}

    def wanted(path: str) -> bool:
        relative = Path(os.path.relpath(path, root)).parts
        return relative[0] in tops and not any(part.startswith((".", "_")) for part in relative)

    root = os.path.abspath(ROOT)
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            root, method_map, options_map, keywords=KEYWORDS, directory_filter=wanted):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def test_every_marked_string_is_in_the_japanese_catalog():
    """A feature cannot ship untranslated text: run scripts/i18n.sh and translate what it adds."""
    source = _source_messages()
    assert len(source) > 900
    catalog = _catalog()
    missing = [f"{msgid!r} ({', '.join(places[:3])})" for msgid, places in sorted(source.items())
               if catalog.get(msgid) is None]
    assert not missing, (f"{len(missing)} marked strings are not in {PO_PATH.name}; run scripts/i18n.sh and "
                         "translate them:\n" + "\n".join(missing))


def _tabs(response) -> list[str]:
    soup = BeautifulSoup(response.text, "html.parser")
    nav = soup.select_one("nav.tabs")
    assert nav is not None
    return [a.get_text(strip=True) for a in nav.find_all("a")]


def _lang(response) -> str:
    return BeautifulSoup(response.text, "html.parser").find("html")["lang"]


def _switch(client, language: str, next_url: str = "/"):
    token = csrf_token(client, next_url)
    response = client.post("/language", data={"language": language, "next": next_url, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].endswith(next_url)
    return response


def test_accept_language_ja_renders_japanese(client):
    response = client.get("/", headers={"Accept-Language": "ja,en;q=0.8"})
    assert response.status_code == 200
    assert _lang(response) == "ja"
    assert _tabs(response) == JA_PUBLIC_TABS
    assert "ログイン" in response.text and "新規登録" in response.text


def test_default_is_english(client):
    response = client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert _lang(response) == "en"
    assert _tabs(response) == EN_PUBLIC_TABS


def test_switch_to_japanese_and_back(client):
    _switch(client, "ja")
    response = client.get("/")
    assert _lang(response) == "ja"
    assert "技術一覧" in _tabs(response)

    _switch(client, "en")
    response = client.get("/")
    assert _lang(response) == "en"
    assert "Technologies" in _tabs(response)
    assert "技術一覧" not in response.text


def test_choice_is_remembered_in_the_session(client):
    _switch(client, "ja", "/technologies")
    for path in ("/", "/technologies", "/login", "/signup"):
        response = client.get(path, headers={"Accept-Language": "en"})  # the session's choice wins
        assert response.status_code == 200, path
        assert _lang(response) == "ja", path
        assert _tabs(response) == JA_PUBLIC_TABS, path


def test_unknown_language_falls_back_to_english(client):
    _switch(client, "xx")
    assert _lang(client.get("/")) == "en"


def test_choice_is_stored_on_the_logged_in_user(client, session):
    user = create_user(session, organization=create_organization(session), language="en")
    session.commit()
    login(client, user)
    assert _lang(client.get("/profile")) == "en"

    _switch(client, "ja", "/profile")
    response = client.get("/profile")
    assert _lang(response) == "ja"
    assert "マイページ" in response.text and "ログアウト" in response.text
    session.expire_all()
    assert session.get(User, user.id).language == "ja"

    _switch(client, "en", "/profile")
    session.expire_all()
    assert session.get(User, user.id).language == "en"


def test_login_restores_the_users_language(client, session, app):
    user = create_user(session, organization=create_organization(session), language="ja")
    session.commit()
    login(client, user)
    response = client.get("/directory", headers={"Accept-Language": "en"})
    assert _lang(response) == "ja"
    assert _tabs(response) == JA_TABS
    assert "会員一覧" in BeautifulSoup(response.text, "html.parser").find("h1").get_text()

    # A new browser: logging in again brings the stored choice back.
    from fastapi.testclient import TestClient

    with TestClient(app) as other:
        login(other, user)
        assert _lang(other.get("/", headers={"Accept-Language": "en"})) == "ja"


def test_logout_keeps_the_chosen_language(client, session):
    user = create_user(session, organization=create_organization(session), language="en")
    session.commit()
    login(client, user)
    _switch(client, "ja", "/profile")
    token = csrf_token(client, "/profile")
    client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    response = client.get("/")
    assert _lang(response) == "ja"
    assert "ログイン" in response.text


def test_recommendation_reasons_read_in_japanese():
    from matchmaker.reasons import Reason, format_reason
    from web import i18n

    with i18n.use_language("ja"):
        text = format_reason(Reason("offer_for_need", {"offer": "高効率冷凍機", "need": "工場の省エネルギー"}),
                             i18n.gettext)
        where = format_reason(Reason("works_in", {"country": "ID"}), i18n.gettext, country_names={"ID": "インドネシア"})
    assert text == "貴社のニーズ「工場の省エネルギー」に対し「高効率冷凍機」を提供"
    assert "インドネシア" in where and "{" not in where


def test_invitation_to_a_japanese_organization_reads_in_japanese(session, settings):
    """A Japanese organization's contact has no account yet: the invitation goes out in Japanese, topics joined
    by 、."""
    from sqlalchemy import select

    from models import OutboxEmail
    from web.services import requests

    sender = create_user(session, organization=create_organization(session, name="Da Nang Cement", country="VN"))
    target = create_organization(session, name="黒部熱回収株式会社", country="JP", contact_name="山田 太郎",
                                 contact_email="yamada@kurobe.example")
    requests.request_meeting(session, settings, sender, target.id, "We would like to discuss kiln heat recovery.",
                             topics="waste heat, cement")
    mail = session.scalar(select(OutboxEmail).where(OutboxEmail.to_address == "yamada@kurobe.example"))
    assert mail.language == "ja"
    assert mail.subject == "JCMマッチメーカー：Da Nang Cementから黒部熱回収株式会社への商談の申し込み"
    assert mail.body.startswith("山田 太郎 様\n")
    assert "トピック：waste heat、cement" in mail.body
    assert "1回のみ有効です" in mail.body and "If this is not your organization" not in mail.body


def test_request_form_names_the_recipients_categories_in_the_users_language(client, session):
    from sqlalchemy import select

    from models import TechnologyCategory

    category = session.scalars(select(TechnologyCategory).order_by(TechnologyCategory.slug)).first()
    sender = create_user(session, organization=create_organization(session), language="ja")
    target = create_organization(session, name="Mekong Cold Chain", country="VN", contact_email="ops@mekong.example",
                                 technology_categories=[category.slug])
    session.commit()
    login(client, sender)
    response = client.get(f"/requests/new?to={target.id}")
    assert response.status_code == 200 and _lang(response) == "ja"
    chips = [li.get_text(strip=True) for li in BeautifulSoup(response.text, "html.parser").select(".org-card .chip")]
    assert chips == [category.name_ja]
