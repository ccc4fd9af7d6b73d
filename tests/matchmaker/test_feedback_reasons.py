"""Learning weights from feedback, reason formatting and profile rules."""

from __future__ import annotations

import numpy as np
import pytest

from matchmaker import DEFAULT_WEIGHTS, Reason, format_reason, learn_weights, profile_from_dict, text_hash
from matchmaker.profiles import can_match
from matchmaker.reasons import TEMPLATES, truncate


def test_learn_weights_falls_back_with_little_or_one_class_feedback():
    few = [({"dense": 0.5}, 1)] * 10
    assert learn_weights(few) == DEFAULT_WEIGHTS
    one_class = [({"dense": 0.5, "country": 1.0}, 1)] * 50
    assert learn_weights(one_class) == DEFAULT_WEIGHTS


def test_learn_weights_moves_toward_predictive_component():
    rng = np.random.default_rng(0)
    examples = []
    for _ in range(400):
        comps = {name: float(rng.random()) for name in ("dense", "lexical", "category", "country", "sector")}
        label = int(comps["country"] + 0.1 * rng.standard_normal() > 0.5)
        examples.append((comps, label))
    w = learn_weights(examples)
    assert w.country > DEFAULT_WEIGHTS.country
    assert w.country == max(w.as_dict().values())
    assert all(v >= 0 for v in w.as_dict().values())
    assert sum(w.as_dict().values()) == pytest.approx(1.0)


def test_format_reason_uses_names_and_translation():
    r = Reason("supports_in", {"countries": "ID VN"})
    assert format_reason(r, country_names={"ID": "Indonesia"}) == "supports projects in Indonesia, VN"
    assert format_reason(Reason("shared_category", {"categories": "energy_efficiency"})) == "both in energy efficiency"
    assert format_reason(r, translate=lambda s: s.replace("supports", "backs")).startswith("backs projects")
    assert all("{" in t for t in TEMPLATES.values())


def test_truncate_keeps_quotes_short():
    assert len(truncate("word " * 100)) <= 121
    assert truncate("short") == "short"


def test_profile_rules_and_hash():
    p = profile_from_dict(dict(id="1", name="P", kind="partner_company", country="id", target_countries=["vn"]))
    q = profile_from_dict(dict(id="2", name="Q", kind="partner_company", country="TH"))
    j = profile_from_dict(dict(id="3", name="J", kind="japanese_company", country="JP"))
    s = profile_from_dict(dict(id="4", name="S", kind="public_body", country="JP"))
    t = profile_from_dict(dict(id="5", name="T", kind="consultant", country="JP"))
    assert p.country == "ID" and p.target_countries == ("VN",)
    assert not can_match(p, q) and can_match(p, j) and can_match(s, p) and can_match(s, j)
    assert not can_match(s, t) and not can_match(p, p)
    assert text_hash("a") != text_hash("b") and len(text_hash("a")) == 64
    with pytest.raises(ValueError):
        profile_from_dict(dict(id="x", name="X", kind="ngo"))
