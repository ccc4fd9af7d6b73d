"""Organization profiles in the interchange format, and who may be matched with whom."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

KINDS = ("japanese_company", "partner_company", "financial_institution", "consultant", "public_body")

# The three sides of the market: technology providers, hosts with needs, and supporters.
PROVIDER = "provider"
HOST = "host"
SUPPORTER = "supporter"

TECHNOLOGY_CATEGORIES = (
    "renewable_energy", "energy_efficiency", "effective_energy_use", "waste", "transport",
    "forestry", "fluorocarbons", "agriculture", "ccus", "hydrogen", "climate",
    "waste_recycling", "water", "soil", "air",
)

_SIDES = {
    "japanese_company": PROVIDER,
    "partner_company": HOST,
    "financial_institution": SUPPORTER,
    "consultant": SUPPORTER,
    "public_body": SUPPORTER,
}


@dataclass(frozen=True)
class Profile:
    """One organization as exchanged between the web layer and the engine."""

    id: str
    name: str
    kind: str
    country: str = ""
    description: str = ""
    offers: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    technology_categories: tuple[str, ...] = ()
    target_countries: tuple[str, ...] = ()
    website: str = ""
    source: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in _SIDES:
            raise ValueError(f"unknown kind {self.kind!r} for {self.id!r}")

    @property
    def side(self) -> str:
        """Return the market side of this profile."""
        return side(self.kind)


def side(kind: str) -> str:
    """Return the market side (provider, host or supporter) of an organization kind."""
    try:
        return _SIDES[kind]
    except KeyError:
        raise ValueError(f"unknown kind {kind!r}") from None


def can_match_sides(side_a: str, side_b: str) -> bool:
    """Tell whether two sides may be matched: never the same side, supporters with both others."""
    return side_a != side_b


def can_match(a: Profile, b: Profile) -> bool:
    """Tell whether two profiles may be recommended to each other."""
    return a.id != b.id and can_match_sides(a.side, b.side)


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    return tuple(s.strip() for s in value if isinstance(s, str) and s.strip())


def _codes(value: Any) -> tuple[str, ...]:
    # ISO2 codes are compared as upper case, duplicates dropped but order kept.
    return tuple(dict.fromkeys(c.upper() for c in _strings(value)))


def profile_from_dict(row: Mapping[str, Any]) -> Profile:
    """Build a Profile from one interchange-format record (missing fields become empty)."""
    return Profile(
        id=str(row["id"]),
        name=str(row.get("name") or row["id"]),
        kind=str(row["kind"]),
        country=str(row.get("country") or "").upper(),
        description=str(row.get("description") or "").strip(),
        offers=_strings(row.get("offers")),
        needs=_strings(row.get("needs")),
        sectors=tuple(dict.fromkeys(s.lower() for s in _strings(row.get("sectors")))),
        technology_categories=tuple(dict.fromkeys(_strings(row.get("technology_categories")))),
        target_countries=_codes(row.get("target_countries")),
        website=str(row.get("website") or ""),
        source=str(row.get("source") or ""),
    )


def profile_to_dict(p: Profile) -> dict[str, Any]:
    """Return the interchange-format record of a Profile."""
    return {
        "id": p.id, "name": p.name, "kind": p.kind, "country": p.country,
        "description": p.description, "offers": list(p.offers), "needs": list(p.needs),
        "sectors": list(p.sectors), "technology_categories": list(p.technology_categories),
        "target_countries": list(p.target_countries), "website": p.website, "source": p.source,
    }
