"""Gettext catalogs (Babel .po files) and the current request's language."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES = ("en", "ja")
LANGUAGE_NAMES = {"en": "English", "ja": "日本語"}
TRANSLATIONS_DIR = Path(__file__).parent / "translations"

_language: contextvars.ContextVar[str] = contextvars.ContextVar("language", default="en")


@lru_cache(maxsize=None)
def translations_for(language: str) -> NullTranslations:
    """Compile the language's .po catalog in memory (no build step, no .mo in the repo)."""
    po_path = TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == "en" or not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer)


def normalize_language(value: str | None, default: str = "en") -> str:
    """A supported language code, or the default."""
    value = (value or "").strip().lower()[:2]
    return value if value in LANGUAGES else default


def current_language() -> str:
    return _language.get()


def set_language(language: str) -> contextvars.Token:
    return _language.set(normalize_language(language))


@contextmanager
def use_language(language: str) -> Iterator[None]:
    """Render in another language for a while (emails in the recipient's language)."""
    token = set_language(language)
    try:
        yield
    finally:
        _language.reset(token)


def gettext(message: str) -> str:
    """Translate a message into the current language."""
    return translations_for(current_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate a message with a plural form into the current language."""
    return translations_for(current_language()).ngettext(singular, plural, n)


def lazy_mark(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown (keyword N_)."""
    return message


_ = gettext
N_ = lazy_mark


def country_name(iso2: str, language: str | None = None) -> str:
    """A country's name in the UI language, from the CLDR data that Babel ships."""
    if not iso2:
        return ""
    return _country_name(iso2.upper(), language or current_language())


@lru_cache(maxsize=4096)
def _country_name(iso2: str, language: str) -> str:
    # Locale.parse costs ~30 us a call, and a directory page names 50 countries.
    return Locale.parse(language).territories.get(iso2, iso2)


@lru_cache(maxsize=4)
def country_choices(language: str) -> list[tuple[str, str]]:
    """All ISO 3166 countries as (code, name), sorted by name in the language."""
    locale = Locale.parse(language)
    codes = [code for code in locale.territories if len(code) == 2 and code.isalpha() and code not in {"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB", "XK"}]
    return sorted(((code, locale.territories[code]) for code in codes), key=lambda item: item[1])
