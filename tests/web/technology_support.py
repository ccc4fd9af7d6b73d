"""Factories and helpers for the technology catalogue tests."""

from __future__ import annotations

import io
import itertools

from bs4 import BeautifulSoup
from PIL import Image

from models import Technology, TechnologyTrackRecord
from models.base import utcnow

_seq = itertools.count(1)


def create_technology(session, organization, **overrides) -> Technology:
    """A technology of the organization, published unless status says otherwise; tracks=[(country, year, jcm)]."""
    n = next(_seq)
    tracks = overrides.pop("tracks", [])
    values = {"name": f"Technology {n}", "category": "energy_efficiency", "status": "published",
              "description": f"A technology number {n} that saves energy in factories and buildings.",
              "products": [], "languages": ["en"]}
    values.update(overrides)
    if values["status"] == "published":
        values.setdefault("published_at", utcnow())
    technology = Technology(organization_id=organization.id, **values)
    technology.track_records = [TechnologyTrackRecord(position=i, country=country, year=year,
                                                      jcm_project="JCM project" if jcm else "")
                                for i, (country, year, jcm) in enumerate(tracks)]
    session.add(technology)
    session.flush()
    return technology


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (400, 300), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (30, 120, 90) if mode == "RGB" else (30, 120, 90, 200)).save(out, fmt)
    return out.getvalue()


def parse(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def card_names(soup) -> list[str]:
    return [a.text.strip() for a in soup.select("#technology-results .tech-card h3 > a")]


def form_data(**overrides) -> dict:
    """A valid technology form."""
    data = {"name": "Inverter turbo chiller", "name_ja": "インバーターターボ冷凍機", "category": "energy_efficiency",
            "description": "High-efficiency inverter centrifugal chillers for factory process cooling.",
            "description_ja": "", "products": ["ETI-Z series"], "figures_basis": "unit", "ghg_reduction_t": "1,200",
            "investment_jpy": "200,000,000", "annual_savings_jpy": "30000000", "durable_years": "15",
            "languages": ["en", "ja"], "track_country": ["VN"], "track_year": ["2019"],
            "track_description": ["Textile plant"], "track_project": [""], "track_methodology": [""]}
    data.update(overrides)
    return data
