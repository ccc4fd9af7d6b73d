"""Hand-made profiles and an index built with the deterministic HashingEmbedder."""

from __future__ import annotations

import pytest

from matchmaker import HashingEmbedder, build_index, embed_profiles, profile_from_dict

ROWS = [
    dict(id="p-textile", name="Bandung Textile", kind="partner_company", country="ID",
         needs=["cooling energy savings at a textile plant"], sectors=["textiles"],
         technology_categories=["energy_efficiency"], description="Textile plant in West Java."),
    dict(id="j-chiller", name="Chiller Maker", kind="japanese_company", country="JP",
         offers=["high-efficiency centrifugal chillers for cooling energy savings at plants"],
         sectors=["textiles", "manufacturing"], technology_categories=["energy_efficiency"],
         target_countries=["ID", "VN"]),
    dict(id="j-solar", name="Solar Maker", kind="japanese_company", country="JP",
         offers=["rooftop solar power systems for shopping malls"],
         technology_categories=["renewable_energy"], target_countries=["TH"]),
    dict(id="j-boiler", name="Boiler Maker", kind="japanese_company", country="JP",
         offers=["waste heat recovery boilers for cement kilns"],
         technology_categories=["energy_efficiency"], target_countries=["VN"]),
    dict(id="p-mall", name="Bangkok Mall", kind="partner_company", country="TH",
         needs=["rooftop solar power for a shopping mall"], technology_categories=["renewable_energy"]),
    dict(id="b-bank", name="Green Bank", kind="financial_institution", country="JP",
         offers=["green loans for energy efficiency and cooling projects"], needs=["bankable energy savings projects"],
         technology_categories=["energy_efficiency"], target_countries=["ID"]),
    dict(id="c-consult", name="MRV Consultants", kind="consultant", country="JP",
         offers=["MRV and JCM project development for solar power"], target_countries=["TH"],
         technology_categories=["renewable_energy"]),
]


@pytest.fixture(scope="session")
def embedder():
    return HashingEmbedder(dim=64)


@pytest.fixture(scope="session")
def profiles():
    return [profile_from_dict(r) for r in ROWS]


@pytest.fixture(scope="session")
def index(profiles, embedder):
    return build_index(profiles, embed_profiles(profiles, embedder))
