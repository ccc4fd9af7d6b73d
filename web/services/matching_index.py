"""The match index built from stored vectors, kept per process and refreshed when organizations change."""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matchmaker import (
    DEFAULT_WEIGHTS,
    FusionWeights,
    MatchIndex,
    build_index,
    can_match,
    learn_weights,
    refresh_index,
)
from matchmaker.engine import pair_components
from matchmaker.index import SIDE_ORDER
from models import MeetingRequest, Organization, OrganizationEmbedding
from web.services.matching_vectors import (
    approved_rows,
    interchange_id,
    profile_of,
    ready_vectors,
)
from web.services.meetings import feedback_pairs

# Above this share of changed organizations a full rebuild (with a fresh TF-IDF fit) beats a refresh.
REFRESH_SHARE = 0.05
REFRESH_MIN = 20
FEEDBACK_STATUSES = ("accepted", "declined", "expired")
# The newest answered requests are enough to learn five weights; older ones describe an older platform.
MAX_FEEDBACK = 5000


@dataclass
class IndexState:
    """One model's index with the maps between interchange ids and database ids."""

    model: str
    version: tuple = ()
    index: MatchIndex | None = None
    # db id -> (updated_at, embedded_at) when last loaded: what a refresh compares against.
    snapshot: dict[int, tuple] = field(default_factory=dict)
    db_id: dict[str, int] = field(default_factory=dict)
    ext_id: dict[int, str] = field(default_factory=dict)
    waiting: set[int] = field(default_factory=set)
    serial: int = 0

    def __contains__(self, org_id: int) -> bool:
        return self.index is not None and self.ext_id.get(org_id, "") in self.index


def index_version(session: Session, model: str) -> tuple:
    """A cheap fingerprint of approved organizations and their vectors: count, last update, last embedding."""
    count, updated = session.execute(select(func.count(Organization.id), func.max(Organization.updated_at))
                                     .where(Organization.status == "approved")).one()
    embedded = session.scalar(select(func.max(OrganizationEmbedding.embedded_at))
                              .where(OrganizationEmbedding.model == model))
    return count, updated, embedded


def _snapshot(session: Session, model: str) -> dict[int, tuple]:
    rows = session.execute(
        select(Organization.id, Organization.updated_at, OrganizationEmbedding.embedded_at)
        .outerjoin(OrganizationEmbedding, (OrganizationEmbedding.organization_id == Organization.id)
                   & (OrganizationEmbedding.model == model))
        .where(Organization.status == "approved"))
    return {org_id: (updated, embedded) for org_id, updated, embedded in rows}


def _load(session: Session, model: str, ids: list[int] | None) -> tuple[list, dict, list[int], dict[str, int]]:
    """(ready profiles, their vectors, db ids still waiting for vectors, ext -> db id) of approved organizations."""
    rows = list(approved_rows(session, ids))
    profiles = [profile_of(row) for row in rows]
    db_id = {interchange_id(row): row.id for row in rows}
    vectors, waiting = ready_vectors(session, model, profiles)
    return [p for p in profiles if p.id in vectors], vectors, [db_id[i] for i in waiting], db_id


def _prepare_ann(index: MatchIndex | None) -> MatchIndex | None:
    """Build the approximate-search structures now (large indexes only), not in the first user's request."""
    if index is not None and any(index.uses_ann(side) for side in SIDE_ORDER):
        index.ann().build()
    return index


def build_state(session: Session, model: str, serial: int = 0) -> IndexState:
    """A fresh index of every approved organization whose vectors are stored under the model."""
    version = index_version(session, model)
    snapshot = _snapshot(session, model)
    profiles, vectors, waiting, db_id = _load(session, model, None)
    index = _prepare_ann(build_index(profiles, vectors) if profiles else None)
    ready_ids = {db_id[p.id] for p in profiles}
    return IndexState(model, version, index, snapshot, {k: v for k, v in db_id.items() if v in ready_ids},
                      {v: k for k, v in db_id.items() if v in ready_ids}, set(waiting), serial)


def refresh_state(session: Session, state: IndexState) -> IndexState:
    """The state brought up to date: a refresh of the changed rows when few changed, else a rebuild."""
    version = index_version(session, state.model)
    if version == state.version:
        return state
    snapshot = _snapshot(session, state.model)
    changed = [i for i, stamp in snapshot.items() if state.snapshot.get(i) != stamp]
    removed = [i for i in state.snapshot if i not in snapshot]
    limit = max(REFRESH_MIN, int(REFRESH_SHARE * len(snapshot)))
    if state.index is None or len(changed) + len(removed) > limit:
        return build_state(session, state.model, state.serial + 1)
    profiles, vectors, waiting, db_id = _load(session, state.model, changed)
    gone = [state.ext_id[i] for i in (*removed, *changed) if i in state.ext_id]
    ext_id = {i: e for i, e in state.ext_id.items() if i not in set(removed) | set(changed)}
    ext_id.update({db_id[p.id]: p.id for p in profiles})
    kept = len(state.index) - len(set(gone)) + len(profiles)
    index = _prepare_ann(refresh_index(state.index, profiles, vectors, removed=gone) if kept else None)
    still_waiting = (state.waiting - set(changed) - set(removed)) | set(waiting)
    return IndexState(state.model, version, index, snapshot, {e: i for i, e in ext_id.items()}, ext_id,
                      still_waiting, state.serial + 1)


def feedback_version(session: Session) -> tuple:
    """A fingerprint of answered meeting requests: learned weights change only when it does."""
    return tuple(session.execute(select(func.count(MeetingRequest.id), func.max(MeetingRequest.updated_at))
                                 .where(MeetingRequest.status.in_(FEEDBACK_STATUSES))).one())


def feedback_examples(session: Session, state: IndexState) -> list[tuple[dict[str, float], int]]:
    """(score components, accepted 0/1) of answered requests between organizations the index holds."""
    if state.index is None:
        return []
    index = state.index
    by_requester: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for requester, recipient, label in feedback_pairs(session)[-MAX_FEEDBACK:]:
        a, b = state.ext_id.get(requester), state.ext_id.get(recipient)
        if a in index and b in index and can_match(index.profile(a), index.profile(b)):
            by_requester[a].append((b, label))
    examples = []
    for a, pairs in by_requester.items():
        # Only the asked organizations are scored (a pair that scored 0 gets no components, as in a ranking).
        scored = pair_components(index, a, [b for b, _ in pairs])
        examples.extend((scored.get(b, {}), label) for b, label in pairs)
    return examples


def weights_for(session: Session, state: IndexState, min_examples: int = 30) -> FusionWeights:
    """Fusion weights learned from accepted and declined requests (the defaults while there are few)."""
    examples = feedback_examples(session, state)
    return learn_weights(examples, min_examples=min_examples) if examples else DEFAULT_WEIGHTS


class MatchingCache:
    """Per-process index and learned weights, per embedding model; checked against the database per use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._weights_lock = threading.Lock()
        self._states: dict[str, IndexState] = {}
        self._weights: dict[str, tuple[tuple, FusionWeights]] = {}

    def state(self, session: Session, model: str) -> IndexState:
        """The model's index, refreshed if approved organizations or their vectors changed."""
        state = self._states.get(model)
        if state is not None and index_version(session, model) == state.version:
            return state
        # One rebuild at a time; requests waiting here then find it fresh.
        with self._lock:
            state = self._states.get(model)
            state = build_state(session, model) if state is None else refresh_state(session, state)
            self._states[model] = state
            return state

    def weights(self, session: Session, state: IndexState, min_examples: int = 30) -> FusionWeights:
        """Learned weights for this index, recomputed when feedback or the index changed.

        One request recomputes at a time; while it does, the others get the previous weights instead of
        computing the same thing again (on a busy morning every accept changes the feedback).
        """
        key = (state.serial, id(state.index), feedback_version(session), min_examples)
        cached = self._weights.get(state.model)
        if cached is not None and cached[0] == key:
            return cached[1]
        if not self._weights_lock.acquire(blocking=cached is None):
            return cached[1]
        try:
            cached = self._weights.get(state.model)
            if cached is not None and cached[0] == key:
                return cached[1]
            weights = weights_for(session, state, min_examples)
            self._weights[state.model] = (key, weights)
            return weights
        finally:
            self._weights_lock.release()


_CACHE_LOCK = threading.Lock()


def get_cache(app: Any) -> MatchingCache:
    """The app's matching cache, made on first use."""
    with _CACHE_LOCK:
        cache = getattr(app.state, "matching_cache", None)
        if cache is None:
            cache = app.state.matching_cache = MatchingCache()
        return cache

