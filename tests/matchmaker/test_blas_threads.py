"""BLAS threads are set once for the process and never changed by a query (changing them mid-call is unsafe)."""

from __future__ import annotations

import pytest
from threadpoolctl import ThreadpoolController

from matchmaker import MatchIndex, embed_profiles, recommend
from matchmaker.engine import blas_threads, set_blas_threads


def _blas_counts(controller: ThreadpoolController | None = None) -> set[int]:
    """The thread counts the loaded BLAS libraries report now."""
    return {lib["num_threads"] for lib in (controller or ThreadpoolController()).info() if lib["user_api"] == "blas"}


@pytest.fixture
def restore_blas_threads():
    before = blas_threads()
    yield
    set_blas_threads(before)


def test_set_blas_threads_applies_to_every_blas_library(restore_blas_threads):
    set_blas_threads(1)
    assert _blas_counts() == {1}
    assert blas_threads() == 1


def test_queries_never_change_blas_threads(profiles, embedder, restore_blas_threads):
    controller = ThreadpoolController()
    seen: set[int] = set()

    class ProbeIndex(MatchIndex):
        """A real index that notes the BLAS setting while a query is inside recommend()."""

        def uses_ann(self, side: str) -> bool:
            seen.update(_blas_counts(controller))
            return super().uses_ann(side)

    index = ProbeIndex(profiles, embed_profiles(profiles, embedder))
    set_blas_threads(1)
    # A probe: make the libraries' setting differ from the engine's, so a query that wrote it would show. (This
    # thread now controls OpenBLAS: threadpoolctl ignores pthreads-OpenBLAS limits set from any other thread.)
    controller.limit(limits=2, user_api="blas")
    for profile in profiles:
        recommend(index, profile.id, k=5)
    assert seen == {2}
    assert _blas_counts(controller) == {2}


def test_faiss_builds_and_searches_with_the_process_thread_count(restore_blas_threads):
    import threading

    import numpy as np

    faiss = pytest.importorskip("faiss")
    from matchmaker.ann import AnnParams, DenseIVF

    set_blas_threads(1)
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((2000, 16)).astype(np.float32)
    seen = {}

    def build_and_search():  # OpenMP's count is per thread: a refresher or request thread, not the test's
        ivf = DenseIVF(matrix, 0, 2000, AnnParams(train_size=2000))
        seen["build"] = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(2)  # as a thread that never set it would have (one per core)
        ivf.search(matrix[0], 10, 4)
        seen["search"] = faiss.omp_get_max_threads()

    thread = threading.Thread(target=build_and_search)
    thread.start()
    thread.join(60)
    assert seen == {"build": 1, "search": 1}
