"""score_pairs scores only the asked pairs and agrees with a full ranking's components."""

from __future__ import annotations

import random

import pytest

from matchmaker import HashingEmbedder, build_index, embed_profiles, profile_from_dict, recommend
from matchmaker.engine import score_pairs

WORDS = ("chiller solar boiler waste biogas rice transport bus led lighting cement steel textile hospital loan "
         "mrv").split()


@pytest.fixture(scope="module")
def generated_index():
    rng = random.Random(3)
    rows = []
    for i in range(300):
        kind = rng.choice(["japanese_company", "partner_company", "partner_company", "consultant"])
        partner = kind == "partner_company"
        rows.append(dict(id=f"g{i}", name=f"Org {i}", kind=kind,
                         country=rng.choice(["ID", "VN", "TH"]) if partner else "JP",
                         offers=[] if partner else [" ".join(rng.sample(WORDS, 4))],
                         needs=[" ".join(rng.sample(WORDS, 4))] if partner or rng.random() < 0.3 else [],
                         technology_categories=rng.sample(["energy_efficiency", "renewable_energy", "waste"], 1),
                         target_countries=[] if partner else rng.sample(["ID", "VN", "TH"], 1)))
    profiles = [profile_from_dict(r) for r in rows]
    return build_index(profiles, embed_profiles(profiles, HashingEmbedder(dim=64)))


def _assert_same(index, org_id, others):
    full = {m.id: m.components for m in recommend(index, org_id, k=len(index), with_reasons=False, floor=0.0)}
    expected = {b: full[b] for b in others if b in full}
    got = score_pairs(index, org_id, others)
    assert got.keys() == expected.keys()
    for b, components in expected.items():
        assert got[b] == pytest.approx(components, abs=1e-5)


def test_score_pairs_match_the_full_ranking_on_the_hand_made_set(index):
    ids = [p.id for p in index.profiles]
    for org_id in ids:
        _assert_same(index, org_id, [i for i in ids if i != org_id])


def test_score_pairs_match_the_full_ranking_for_a_few_asked(generated_index):
    ids = [p.id for p in generated_index.profiles]
    rng = random.Random(5)
    for org_id in rng.sample(ids, 25):
        _assert_same(generated_index, org_id, rng.sample(ids, 12))


def test_score_pairs_leave_out_unknown_and_same_side(index):
    assert score_pairs(index, "p-textile", ["p-mall", "no-such-org"]) == {}
    assert set(score_pairs(index, "p-textile", ["j-chiller", "j-chiller"])) == {"j-chiller"}
