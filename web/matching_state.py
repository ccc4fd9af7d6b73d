"""The app's matching collaborators: its published-index cache and its embedder, made once per app.

Routes get them as dependencies (web.deps.MatchCache, web.deps.Embedder) and jobs from the app; services receive
them as plain arguments and never see the app (STYLE.md).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from models.session import session_scope
from web.services.matching_index import MatchingCache
from web.services.matching_vectors import embedder_from_settings

_CACHE_LOCK = threading.Lock()
log = logging.getLogger(__name__)


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


def preload_index(app: Any) -> bool:
    """At a process start, publish the kept match index if it is current or a refresh away (MatchingCache.preload):
    the process then serves its first Pre-Matching views, and takes over from the one a restart replaces, with
    recommendations. Never fails the start; a whole build is left to the background as before."""
    settings = app.state.settings
    if settings.matching_inline_refresh or not settings.index_build_process or settings.index_path is None:
        return False  # no kept index to read (nor a cache to make before its first use)
    try:
        with session_scope(app.state.session_factory, write=False) as session:
            return matching_cache_of(app).preload(session, embedder_of(app).name)
    except Exception:  # noqa: BLE001 - the background refresher builds it as without a kept index
        log.exception("reading the kept match index at start failed; it is built in the background")
        return False
