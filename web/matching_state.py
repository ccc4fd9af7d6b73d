"""The app's matching collaborators: its published-index cache and its embedder, made once per app.

Routes get them as dependencies (web.deps.MatchCache, web.deps.Embedder) and jobs from the app; services receive
them as plain arguments and never see the app (STYLE.md).
"""

from __future__ import annotations

import threading
from typing import Any

from web.services.matching_index import MatchingCache
from web.services.matching_vectors import embedder_from_settings

_CACHE_LOCK = threading.Lock()


def matching_cache_of(app: Any) -> MatchingCache:
    """The app's matching cache, made on first use."""
    with _CACHE_LOCK:
        cache = getattr(app.state, "matching_cache", None)
        if cache is None:
            settings = app.state.settings
            cache = app.state.matching_cache = MatchingCache(
                app.state.session_factory, settings.matching_min_feedback, settings.matching_inline_refresh,
                settings.matching_learn_seconds, settings.matching_check_seconds,
                settings.background_gil_turn_seconds, settings.index_build_process, settings.index_path)
        return cache


def embedder_of(app: Any) -> Any:
    """The app's injected embedder (tests), else the one the settings name."""
    return getattr(app.state, "embedder", None) or embedder_from_settings(app.state.settings)
