"""A usable time-zone picker: zones grouped by region, each with its UTC offset and city name.

The list comes from the tz database's zone.tab (one canonical zone per country and area, about
400), not from every alias zoneinfo knows; Japan and the JCM partner countries come first.
"""

from __future__ import annotations

import importlib.resources
import zoneinfo
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import get_timezone_location

from web.i18n import N_, _, country_name

REGIONS = {
    "Asia": N_("Asia"),
    "Pacific": N_("Pacific"),
    "Australia": N_("Australia"),
    "Indian": N_("Indian Ocean"),
    "Africa": N_("Africa"),
    "Europe": N_("Europe"),
    "America": N_("Americas"),
    "Atlantic": N_("Atlantic"),
    "Antarctica": N_("Antarctica"),
    "Arctic": N_("Arctic"),
}


def _read_zone_tab() -> str:
    try:
        return (importlib.resources.files("tzdata") / "zoneinfo" / "zone.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        pass
    for folder in zoneinfo.TZPATH:
        path = Path(folder) / "zone.tab"
        if path.exists():
            return path.read_text(encoding="utf-8")
    return ""


@lru_cache(maxsize=1)
def country_zones() -> tuple[tuple[str, str], ...]:
    """(country code, zone) pairs of zone.tab; falls back to zoneinfo's names without countries."""
    pairs = []
    for line in _read_zone_tab().splitlines():
        if line and not line.startswith("#"):
            parts = line.split("\t")
            if len(parts) >= 3:
                pairs.append((parts[0], parts[2]))
    if not pairs:
        pairs = [("", name) for name in sorted(zoneinfo.available_timezones()) if name.split("/")[0] in REGIONS]
    return tuple(pairs)


def offset_text(offset: timedelta) -> str:
    """UTC+07:00, UTC-03:00, UTC+05:45."""
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return "UTC%s%02d:%02d" % (sign, abs(minutes) // 60, abs(minutes) % 60)


def city_name(zone: str, language: str) -> str:
    """The zone's city in the language (Bangkok, バンコク); the zone's last part if CLDR has none."""
    try:
        return get_timezone_location(ZoneInfo(zone), locale=language, return_city=True)
    except Exception:  # an unknown zone to CLDR: fall back to the IANA name
        return zone.rsplit("/", 1)[-1].replace("_", " ")


@lru_cache(maxsize=16)
def _groups(language: str, partner_codes: tuple[str, ...], day: str) -> tuple:
    at = datetime.fromisoformat(day).replace(tzinfo=timezone.utc) + timedelta(hours=12)

    def entry(zone: str) -> tuple[timedelta, str, str]:
        offset = at.astimezone(ZoneInfo(zone)).utcoffset() or timedelta(0)
        return offset, zone, f"{offset_text(offset)} · {city_name(zone, language)}"

    pairs = country_zones()
    featured = []
    for code in ("JP", *sorted(partner_codes, key=lambda c: country_name(c, language))):
        for country, zone in pairs:
            if country == code:
                offset, _zone, text = entry(zone)
                featured.append((zone, f"{country_name(code, language)} — {text}"))
    regions: dict[str, list[tuple[timedelta, str, str]]] = {}
    for _country, zone in pairs:
        region = zone.split("/")[0]
        if region in REGIONS:
            regions.setdefault(region, []).append(entry(zone))
    groups = [(N_("Japan and JCM partner countries"), tuple(featured))]
    for region in REGIONS:
        rows = sorted(set(regions.get(region, [])), key=lambda row: (row[0], row[2]))
        if rows:
            groups.append((REGIONS[region], tuple((zone, text) for _offset, zone, text in rows)))
    groups.append((N_("Other"), (("UTC", "UTC+00:00 · UTC"),)))
    return tuple(groups)


def time_zone_groups(language: str, partner_codes: list[str] | tuple[str, ...], at: datetime | None = None,
                     current: str = "") -> list[tuple[str, list[tuple[str, str]]]]:
    """(group label, [(zone, "UTC+07:00 · Bangkok")]) for a select; offsets as on the day given (today)."""
    day = (at or datetime.now(timezone.utc)).date().isoformat()
    groups = [(_(label), list(rows)) for label, rows in _groups(language, tuple(sorted(partner_codes)), day)]
    known = {zone for _label, rows in groups for zone, _text in rows}
    if current and current not in known:
        # A stored alias (Asia/Calcutta) stays choosable so editing never changes it silently.
        groups.insert(0, (_("Current"), [(current, current)]))
    return groups
