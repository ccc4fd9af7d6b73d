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
def country_choices(language: str) -> tuple[tuple[str, str], ...]:
    """All ISO 3166 countries as (code, name), sorted by name in the language.

    A tuple, the same one on every call: web.templating.option_tags keeps a select's tags by the tuple itself.
    """
    locale = Locale.parse(language)
    codes = [code for code in locale.territories
             if len(code) == 2 and code.isalpha() and code not in {"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB", "XK"}]
    return tuple(sorted(((code, locale.territories[code]) for code in codes), key=lambda item: item[1]))


# --- time zones ------------------------------------------------------------------------------
# IANA regions as a person reads them; the zones come from zone.tab (one or more per country, no old aliases).
TIME_ZONE_REGIONS = {
    "Africa": lazy_mark("Africa"),
    "America": lazy_mark("Americas"),
    "Antarctica": lazy_mark("Antarctica"),
    "Arctic": lazy_mark("Arctic"),
    "Asia": lazy_mark("Asia"),
    "Atlantic": lazy_mark("Atlantic Ocean"),
    "Australia": lazy_mark("Australia"),
    "Europe": lazy_mark("Europe"),
    "Indian": lazy_mark("Indian Ocean"),
    "Pacific": lazy_mark("Pacific Ocean"),
}


@lru_cache(maxsize=1)
def _zone_tab() -> tuple[tuple[str, str], ...]:
    """(zone, country code) for every zone of zone.tab: from the tzdata package, else the system's tz database."""
    text = ""
    try:
        from importlib.resources import files

        text = files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    except (ImportError, FileNotFoundError, OSError):
        import zoneinfo

        for folder in zoneinfo.TZPATH:
            path = Path(folder) / "zone.tab"
            if path.exists():
                text = path.read_text(encoding="utf-8")
                break
    rows = []
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) >= 3:
            rows.append((parts[2].strip(), parts[0].strip()))
    return tuple(rows)


@lru_cache(maxsize=1)
def valid_time_zones() -> frozenset[str]:
    """Every zone a user may have: the listed ones and any other IANA name (old aliases stored earlier stay valid)."""
    from zoneinfo import available_timezones

    return frozenset(zone for zone in available_timezones() if zone not in {"Factory", "localtime"}
                     and not zone.startswith(("SystemV/", "posixrules")))


def is_time_zone(value: str) -> bool:
    """True for an IANA time zone name this platform accepts."""
    return value in valid_time_zones()


def _offset_label(zone: str, when) -> tuple[str, int]:
    from zoneinfo import ZoneInfo

    offset = when.astimezone(ZoneInfo(zone)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    return "UTC%s%02d:%02d" % (sign, abs(minutes) // 60, abs(minutes) % 60), minutes


def offset_text(zone: str, when) -> str:
    """The zone's offset at that instant: UTC+07:00, UTC-03:00, UTC+05:45."""
    return _offset_label(zone, when)[0]


def _city(zone: str, locale: Locale) -> str:
    city = (locale.time_zones.get(zone) or {}).get("city")
    return city or zone.rsplit("/", 1)[-1].replace("_", " ")


def city_name(zone: str, language: str | None = None) -> str:
    """The zone's city in the language (Bangkok, バンコク); the zone's last part where CLDR has none."""
    return _city(zone, Locale.parse(normalize_language(language or current_language())))


FEATURED_ZONES = N_("Japan and JCM partner countries")


@lru_cache(maxsize=8)
def _time_zone_groups(language: str, day: str) -> tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]:
    from datetime import datetime, timezone

    when = datetime.fromisoformat(day).replace(hour=12, tzinfo=timezone.utc)
    locale = Locale.parse(language)
    groups: dict[str, list[tuple[int, str, str]]] = {}
    for zone, country in _zone_tab():
        region = zone.split("/", 1)[0]
        if region not in TIME_ZONE_REGIONS:
            continue
        label, minutes = _offset_label(zone, when)
        place = "%s (%s)" % (_city(zone, locale), country_name(country, language)) if country else _city(zone, locale)
        groups.setdefault(region, []).append((minutes, "%s %s" % (label, place), zone))
    with use_language(language):
        result = [("UTC", gettext("Coordinated Universal Time"), (("UTC", "UTC+00:00 UTC"),))]
        result += [(region, gettext(TIME_ZONE_REGIONS[region]),
                    tuple((zone, label) for _minutes, label, zone in sorted(groups[region])))
                   for region in sorted(groups)]
    return tuple(result)


def time_zone_choices(selected: str = "", language: str | None = None,
                      featured: tuple[str, ...] | list[str] = ()) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """Time zones for a select, grouped by region: [(region, ((zone, "UTC+09:00 Tokyo (Japan)"), ...)), ...].

    Offsets are today's (summer time included). With `featured` country codes, a first group lists Japan's and
    those countries' zones ("Thailand — UTC+07:00 Bangkok"). A selected zone that is not listed (an old alias
    such as Asia/Calcutta stored earlier) is added to its region so a form never silently changes it.
    """
    from datetime import datetime, timezone

    language = normalize_language(language or current_language())
    now = datetime.now(timezone.utc)
    groups = _time_zone_groups(language, now.date().isoformat())
    # The kept tuples themselves, not copies: web.templating.option_tags keeps each group's tags by its tuple.
    result = [(label, zones) for _region, label, zones in groups]
    if selected and is_time_zone(selected) and not any(selected == zone for _l, zones in result for zone, _t in zones):
        option = (selected, "%s %s" % (_offset_label(selected, now)[0], selected))
        regions = [region for region, _label, _zones in groups]
        region = selected.split("/", 1)[0]
        if region in regions:
            label, zones = result[regions.index(region)]
            result[regions.index(region)] = (label, zones + (option,))
        else:
            result.append((selected, (option,)))
    if featured:
        label, rows = _featured_group(language, tuple(sorted(set(featured) - {"JP"})), now.date().isoformat())
        result.insert(0, (label, tuple(rows)))
    return result


@lru_cache(maxsize=16)
def _featured_group(language: str, codes: tuple[str, ...], day: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    from datetime import datetime, timezone

    when = datetime.fromisoformat(day).replace(hour=12, tzinfo=timezone.utc)
    locale = Locale.parse(language)
    rows = []
    for code in ("JP", *sorted(codes, key=lambda c: country_name(c, language))):
        for zone, country in _zone_tab():
            if country == code:
                rows.append((zone, "%s — %s %s" % (country_name(code, language), _offset_label(zone, when)[0],
                                                    _city(zone, locale))))
    with use_language(language):
        return gettext(FEATURED_ZONES), tuple(rows)


def country_time_zone(country: str) -> str:
    """The first time zone zone.tab gives a country (Asia/Ho_Chi_Minh for VN), or "" for an unknown one."""
    country = (country or "").upper()
    return next((zone for zone, code in _zone_tab() if code == country), "")
