"""Japanese UI: a complete, placeholder-safe catalog, and the language switch (session and account)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from bs4 import BeautifulSoup

from models import User
from tests.conftest import csrf_token
from tests.factories import create_organization, create_user, login

PO_PATH = Path(__file__).resolve().parents[2] / "web" / "translations" / "ja" / "LC_MESSAGES" / "messages.po"
PERCENT_RE = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
BRACE_RE = re.compile(r"(?<!\{)\{(\w*)(?:[!:][^{}]*)?\}(?!\})")
JA_TABS = ["プレマッチング", "送信したリクエスト", "受信したリクエスト", "マッチング成立", "イベント", "会員一覧", "技術一覧"]
EN_TABS = ["Pre-Matching", "Requests sent", "Requests received", "Matches", "Events", "Directory", "Technologies"]
# Visitors see only the public tabs (tests/web/test_layout.py checks who sees which).
JA_PUBLIC_TABS = ["イベント", "技術一覧"]
EN_PUBLIC_TABS = ["Events", "Technologies"]


def _catalog():
    with PO_PATH.open("rb") as handle:
        return read_po(handle, locale="ja")


def _entries():
    """(msgids, msgstr[0] or msgstr) for every message of the Japanese catalog."""
    out = []
    for message in _catalog():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        string = message.string[0] if isinstance(message.string, tuple) else message.string
        out.append((ids, string, message))
    return out


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


ENTRIES = _entries()
IDS = [ids[0][:60] for ids, _string, _message in ENTRIES]


def test_catalog_is_not_empty():
    assert len(ENTRIES) > 400


@pytest.mark.parametrize("ids,string,message", ENTRIES, ids=IDS)
def test_every_entry_is_translated_with_the_same_placeholders(ids, string, message):
    assert string.strip(), f"untranslated: {ids[0]!r}"
    assert "fuzzy" not in message.flags, f"fuzzy: {ids[0]!r}"
    expected = set().union(*(_placeholders(msgid) for msgid in ids))
    assert _placeholders(string) == expected, f"{ids[0]!r} -> {string!r}"
    # Jinja's newstyle gettext always %-formats, and the reasons use str.format: both must still work.
    for msgid in ids:
        try:
            msgid % _Anything()
        except (TypeError, ValueError):
            break
    else:
        string % _Anything()
    if any(BRACE_RE.search(msgid) for msgid in ids):
        string.format_map(_Anything())
    # Leading and trailing whitespace (spaces, newlines) is layout: keep it; list separators
    # (", " -> "、") are punctuation whose spacing differs by language.
    msgid = ids[0]
    if not msgid.strip(" ,;"):
        return
    assert string[: len(string) - len(string.lstrip())] == msgid[: len(msgid) - len(msgid.lstrip())]
    assert string[len(string.rstrip()):] == msgid[len(msgid.rstrip()):]


def test_multiline_email_text_keeps_its_paragraphs():
    for ids, string, _message in ENTRIES:
        if "\n\n" in ids[0]:
            assert string.count("\n\n") == ids[0].count("\n\n"), ids[0]


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
        text = format_reason(Reason("offer_for_need", {"offer": "高効率冷凍機", "need": "工場の省エネルギー"}), i18n.gettext)
        where = format_reason(Reason("works_in", {"country": "ID"}), i18n.gettext, country_names={"ID": "インドネシア"})
    assert text == "貴社のニーズ「工場の省エネルギー」に対し「高効率冷凍機」を提供"
    assert "インドネシア" in where and "{" not in where
