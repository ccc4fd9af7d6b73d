"""Demo partner-country companies whose needs are real Article 6.4 activity titles.

The companies are fictional; each one's first need is the verbatim title of an activity in
seeds/data/article64_activities.csv (UNEP-CCC Article 6 Pipeline), so the demo matches on
problems that host countries really have.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import dataclass

from seeds.reference import read_csv

A64_SOURCE = "Article 6.4 prior-consideration notice (UNEP-CCC Article 6 Pipeline, data date 2026-02-28)"
SELECTION_SEED = "jcm-matchmaker-demo-2026"
PER_COUNTRY = 3
PER_COUNTRY_OVERRIDES = {"IN": 6}  # India has 649 activities: a few more for variety, not a flood

# ISO alpha-3 -> alpha-2 for the 31 JCM partner countries (the CSV of activities has alpha-3 only).
ISO3_TO_ISO2 = {
    "MNG": "MN", "BGD": "BD", "ETH": "ET", "KEN": "KE", "MDV": "MV", "VNM": "VN", "LAO": "LA", "IDN": "ID",
    "CRI": "CR", "PLW": "PW", "KHM": "KH", "MEX": "MX", "SAU": "SA", "CHL": "CL", "MMR": "MM", "THA": "TH",
    "PHL": "PH", "SEN": "SN", "TUN": "TN", "AZE": "AZ", "MDA": "MD", "GEO": "GE", "LKA": "LK", "UZB": "UZ",
    "PNG": "PG", "ARE": "AE", "KGZ": "KG", "KAZ": "KZ", "UKR": "UA", "TZA": "TZ", "IND": "IN",
}

# Titles that name a developer, brand or standard-registry id are skipped, so a fictional
# company never appears to own a named real company's project.
NAMED_DEVELOPER_RE = re.compile(
    r"\b(PT|Ltd|Limited|JSC|Co|Inc|LLC|PLC|Pvt|GS ?\d+|by|SCL|EKI|GEAAI|SNOC|SAFC|CYY|TMSJ2)\b"
    r"|d\.light|BioLite|Sistema\.bio|Dilmah|Thai Wah|Spectra|Titas|Hududgaz|Burapha|Zeno|MicroEnergy"
    r"|HomeBiogas|Jikokoa|Kuniokoa|Bondhu|OME ECO|Energo|Jiko Pamoja|CHOUMMANYTHAM|Windscape|Sun Scape|SJVN",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Group:
    """How a kind of activity turns into a fictional company: name word, business, categories, extra need."""

    noun: str
    business: str
    categories: tuple[str, ...]
    need: str


FORESTRY = Group("Forestry", "forestry and land-restoration company", ("forestry",),
                 "Forest monitoring with satellites and drones, and MRV for forest carbon")
GROUPS = {
    "Solar": Group("Solar Power", "independent power producer developing grid-connected and rooftop solar plants",
                   ("renewable_energy",), "Solar modules, inverters, storage and an O&M partner"),
    "Wind": Group("Wind Power", "renewable energy developer building onshore wind farms", ("renewable_energy",),
                  "Wind turbine supply, wind resource measurement and long-term O&M"),
    "Hydropower": Group("Hydro Power", "developer and operator of run-of-river hydropower plants",
                        ("renewable_energy",), "Small hydropower turbines and rehabilitation of aged units"),
    "Geothermal": Group("Geothermal", "geothermal power developer", ("renewable_energy",),
                        "Geothermal power units and resource assessment"),
    "Mixed renewables": Group("Renewables", "renewable energy developer with solar and wind projects",
                              ("renewable_energy",),
                              "Solar and wind equipment, battery storage and grid integration"),
    "Energy storage": Group("Energy Storage", "developer of battery storage for the grid",
                            ("effective_energy_use", "renewable_energy"),
                            "Battery storage systems and energy management"),
    "Green hydrogen": Group("Hydrogen", "developer of renewable hydrogen production", ("hydrogen", "renewable_energy"),
                            "Electrolysers, fuel cells and hydrogen storage"),
    "Green ammonia": Group("Green Ammonia", "developer of renewable ammonia production", ("hydrogen",),
                           "Electrolysers and ammonia synthesis technology"),
    "Bioenergy": Group("Bioenergy", "agro-industrial company turning crop residues and wastewater into energy",
                       ("renewable_energy", "waste"), "Efficient biomass boilers, biogas digesters and gas engines"),
    "Waste to energy": Group("Waste Energy", "waste management company serving municipalities",
                             ("waste", "renewable_energy"), "Waste-to-energy plant technology and operator training"),
    "Cleaner cooking": Group("Clean Cooking",
                             "social enterprise selling efficient cookstoves through local retailers and microfinance "
                             "groups", ("energy_efficiency", "climate"),
                             "Efficient cookstoves or electric cooking appliances, with usage monitoring"),
    "Water purification": Group("Water", "rural water service company", ("water",),
                                "Water purification units and energy-efficient pumping"),
    "Efficient appliances": Group("Home Energy", "distributor of household appliances", ("energy_efficiency",),
                                  "Efficient appliances, lighting and air conditioners"),
    "Industrial efficiency": Group("Industries", "industrial manufacturer", ("energy_efficiency",),
                                   "Energy-efficient kilns, furnaces, motors and process equipment"),
    "Heat recovery": Group("Industries", "manufacturer with high-temperature processes",
                           ("effective_energy_use", "energy_efficiency"), "Waste heat recovery and power generation"),
    "Grid efficiency": Group("Power Distribution", "power distribution company",
                             ("effective_energy_use", "energy_efficiency"),
                             "Low-loss transformers and grid loss reduction"),
    "Fossil gas leaks": Group("Gas Services", "gas distribution service company", ("effective_energy_use",),
                              "Gas leak detection and repair equipment"),
    "Rice cultivation": Group("Agri Cooperative", "farmer cooperative growing irrigated rice", ("agriculture", "water"),
                              "Water-saving rice cultivation (alternate wetting and drying) and field monitoring"),
    "Agriculture": Group("Agro", "agribusiness working with smallholder farmers", ("agriculture",),
                         "Sustainable farming practices and soil carbon measurement"),
    "Biochar": Group("Biochar", "producer of biochar from farm residues", ("agriculture", "climate"),
                     "Biochar production units and soil carbon MRV"),
    "Tree plantation": FORESTRY,
    "Afforestation/Reforestation": FORESTRY,
    "Forest management": FORESTRY,
    "Rewilding": FORESTRY,
    "Reforestation and ecosystem restoration": FORESTRY,
    "Landfill gas": Group("Environmental Services", "landfill operator", ("waste",),
                          "Landfill gas capture, flaring and power generation"),
    "Composting": Group("Organics", "organic waste processor", ("waste_recycling", "waste"),
                        "Composting and biogas from organic waste"),
    "Waste management": Group("Environmental Services", "waste collection and recycling company",
                              ("waste", "waste_recycling"), "Waste sorting, recycling and disposal technology"),
    "Wastewater treatment": Group("Agro-Processing", "agro-processing company with high-strength wastewater",
                                  ("waste", "water"), "Anaerobic wastewater treatment with methane recovery"),
    "Electric vehicles": Group("E-Mobility", "transport operator electrifying its fleet", ("transport",),
                               "Electric buses or two-wheelers and charging infrastructure"),
    "Public transit": Group("Transit", "public transport operator", ("transport",),
                            "Efficient public transport vehicles and fleet management"),
    "Carbon capture": Group("Carbon Solutions", "industrial gas processor", ("ccus",),
                            "CO2 capture, utilization and storage"),
}
CATEGORY_FALLBACK = {"Renewables": "renewable_energy", "Efficiency": "energy_efficiency",
                     "Fuel switch": "renewable_energy", "Sinks": "forestry", "GHG management": "climate"}
DEFAULT_GROUP = Group("Climate Solutions", "company preparing an emission-reduction project", (),
                      "Japanese low-carbon technology and help with monitoring and carbon credits")
# Words in a title that add a category the activity type alone misses.
TITLE_KEYWORDS = ((r"solar", "renewable_energy"), (r"wind", "renewable_energy"), (r"biogas", "waste"),
                  (r"methane", "waste"), (r"boilers?", "energy_efficiency"), (r"(e-)?bus(es)?", "transport"),
                  (r"hydrogen", "hydrogen"), (r"bess", "effective_energy_use"), (r"kilns?", "energy_efficiency"))
MIN_TITLE_WORDS = 3  # two-word titles such as "PMGD Boix" say nothing a partner could act on


def technology_categories(row: dict[str, str]) -> list[str]:
    """Our category slugs for an activity, from its type, category and title."""
    group = GROUPS.get(row["activity_type"])
    slugs = list(group.categories) if group else [CATEGORY_FALLBACK.get(row["category"], "climate")]
    title = row["title"].lower()
    for pattern, slug in TITLE_KEYWORDS:
        if re.search(rf"\b{pattern}\b", title) and slug not in slugs:
            slugs.append(slug)
    return slugs


def select_activities(rows: list[dict[str, str]], partner_codes: set[str]) -> list[tuple[str, dict[str, str]]]:
    """A deterministic, varied pick of activities per JCM partner country: (iso2, row) pairs."""
    by_country: dict[str, dict[str, dict[str, str]]] = defaultdict(dict)
    for row in rows:
        iso2 = ISO3_TO_ISO2.get(row["iso3"].strip())
        title = row["title"].strip()
        if (iso2 not in partner_codes or NAMED_DEVELOPER_RE.search(title) or len(title) > 1000
                or len(title.split()) < MIN_TITLE_WORDS):
            continue
        by_country[iso2].setdefault(title.lower(), row)  # drop repeated titles
    picks = []
    for iso2 in sorted(by_country):
        candidates = sorted(by_country[iso2].values(), key=lambda r: (r["submitted_on"], r["title"]))
        random.Random(f"{SELECTION_SEED}-{iso2}").shuffle(candidates)
        limit = PER_COUNTRY_OVERRIDES.get(iso2, PER_COUNTRY)
        chosen: list[dict[str, str]] = []
        # First one activity per type, then fill up: the demo should show variety within a country.
        for row in candidates:
            if len(chosen) < limit and row["activity_type"] not in {c["activity_type"] for c in chosen}:
                chosen.append(row)
        for row in candidates:
            if len(chosen) < limit and row not in chosen:
                chosen.append(row)
        picks.extend((iso2, row) for row in chosen)
    return picks


def _company_name(stem: str, noun: str, suffix: str) -> str:
    base = f"PT {stem} {noun}" if suffix == "PT" else f"{stem} {noun} {suffix}"
    return f"{base} (Demo)"


def _email(person: str) -> str:
    words = person.lower().split()
    return f"{words[0]}.{words[-1]}@example.com"


def article64_partner_records() -> list[dict]:
    """Interchange records (plus contact fields) for the partner companies built from Article 6.4 activities."""
    countries = {row["iso2"]: row["name"] for row in read_csv("jcm_partner_countries.csv")}
    names = {row["iso2"]: row for row in read_csv("demo_partner_names.csv")}
    picks = select_activities(read_csv("article64_activities.csv"), set(countries) & set(names))
    records = []
    seen: dict[str, int] = defaultdict(int)
    for iso2, row in picks:
        index = seen[iso2]
        seen[iso2] += 1
        local = names[iso2]
        stems, people = local["stems"].split(";"), local["people"].split(";")
        group = GROUPS.get(row["activity_type"], DEFAULT_GROUP)
        country = countries[iso2]
        name = _company_name(stems[index % len(stems)], group.noun, local["legal_suffix"])
        person = people[index % len(people)]
        description = (
            f"{name.removesuffix(' (Demo)')} is a {group.business} based in {local['city']}, {country}. "
            f"It is looking for Japanese technology partners, finance and help with monitoring and carbon credits. "
            f"Fictional demo company: its first need is the title of a real activity in {country} "
            f"from the Article 6.4 prior-consideration notices."
        )
        records.append({
            "id": f"demo-a64-{iso2.lower()}-{index + 1:02d}",
            "name": name,
            "kind": "partner_company",
            "country": iso2,
            "description": description,
            "needs": [row["title"].strip(), group.need],
            "sectors": [row["sector"]],
            "technology_categories": technology_categories(row),
            "target_countries": [iso2],
            "website": (f"https://{re.sub(r'[^a-z0-9]+', '-', name.lower().removesuffix(' (demo)')).strip('-')}"
                        ".example.com/"),
            "source": f"demo; need from {A64_SOURCE}, {row['host_country']} {row['submitted_on']}",
            "contact_name": person,
            "contact_email": _email(person),
        })
    return records
