"""Reference data agrees with the code that relies on it."""

from matchmaker.index import _CATEGORY_BIT
from matchmaker.profiles import TECHNOLOGY_CATEGORIES
from seeds.reference import CTCN_KEYWORDS, CTCN_SECTOR_MAP, read_csv


def seed_categories() -> list[str]:
    rows = sorted(read_csv("technology_categories.csv"), key=lambda row: int(row["position"]))
    return [row["slug"] for row in rows]


def test_engine_categories_are_the_seed_categories():
    # A category the engine does not know gets no bit in its category mask: organizations sharing it would never
    # count as sharing a category, silently.
    assert list(TECHNOLOGY_CATEGORIES) == seed_categories()
    assert set(_CATEGORY_BIT) == set(seed_categories()) and max(_CATEGORY_BIT.values()) < 2 ** 62


def test_ctcn_technologies_map_onto_seed_categories():
    targets = set(CTCN_SECTOR_MAP.values()) | {slug for _keyword, slug in CTCN_KEYWORDS}
    assert targets <= set(seed_categories())
