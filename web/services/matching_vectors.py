"""Profile vectors in the database: which embedder, what is pending, embedding it, loading it back."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from matchmaker import (
    HashingEmbedder,
    Profile,
    ProfileVectors,
    SentenceTransformerEmbedder,
    build_texts,
    default_model_path,
    embed_profiles,
    profile_from_dict,
    text_hash,
)
from matchmaker.embedding import calibrate_precision, stored_calibration
from models import Organization, OrganizationEmbedding, Technology, TextEmbedding
from models.base import utcnow
from models.session import session_scope
from web.services.export import export_record
from web.services.technology_offers import with_technology_offers

log = logging.getLogger(__name__)
HASHING = "hashing"
# Organizations embedded per transaction: each batch is written and committed on its own, so a
# long first run never holds SQLite's write lock while the model works.
BATCH_ORGANIZATIONS = 64
IN_CHUNK = 500
PROFILE_COLUMNS = (
    Organization.id, Organization.external_id, Organization.name, Organization.kind, Organization.country,
    Organization.description, Organization.offers, Organization.needs, Organization.sectors,
    Organization.technology_categories, Organization.target_countries, Organization.website,
    Organization.source, Organization.updated_at,
)

# One embedder per configured model and process: the real model loads in seconds and holds ~100 MB.
_EMBEDDERS: dict[tuple[str, str, str], Any] = {}
_EMBEDDERS_LOCK = threading.Lock()


def make_embedder(model: str, precision: str = "auto", cache_dir: str = "") -> Any:
    """The embedder a setting value names: `hashing` or `hashing:DIM` (tests), a model path or package, or the
    default."""
    model = (model or "").strip()
    if model == HASHING or model.startswith(HASHING + ":"):
        dim = model.partition(":")[2]
        return HashingEmbedder(int(dim)) if dim else HashingEmbedder()
    # An explicit path: the engine would otherwise read MATCHMAKER_EMBEDDING_MODEL behind the settings' back.
    return SentenceTransformerEmbedder(model or str(default_model_path()), precision=precision or "auto",
                                       cache_dir=cache_dir or None)


def embedder_from_settings(settings) -> Any:
    """The process-wide embedder for settings.embedding_model (created once, model loaded on first use)."""
    key = ((settings.embedding_model or "").strip(), settings.embedding_precision, settings.model_cache_path)
    with _EMBEDDERS_LOCK:
        if key not in _EMBEDDERS:
            _EMBEDDERS[key] = make_embedder(*key)
        return _EMBEDDERS[key]


def calibrate_if_needed(embedder: Any, settings) -> bool:
    """Measure the auto precision once per machine and model (the embedding job calls this, never a page).

    The measured choice is used from the next start of the process (the running embedder keeps its name, which
    the stored vectors carry). Returns True when a measurement ran.
    """
    if (settings.embedding_precision or "auto") != "auto" or not isinstance(embedder, SentenceTransformerEmbedder):
        return False
    if stored_calibration(embedder.path, embedder.cache_dir) is not None:
        return False
    try:
        result = calibrate_precision(str(embedder.path), embedder.cache_dir)
    except Exception:  # noqa: BLE001 - a failed measurement leaves the rule of thumb in place
        log.exception("measuring the embedding precision failed; auto keeps %s", embedder.precision)
        return False
    log.info("embedding precision measured: %s", result["why"])
    return True


def interchange_id(org: Any) -> str:
    """The organization's id in the interchange format (site sign-ups have none: mm-<db id>, as export does)."""
    return org.external_id or f"mm-{org.id}"


def profile_of(row: Any) -> Profile:
    """The engine profile of an organization row (ORM object or selected columns), keyed by interchange id."""
    return profile_from_dict(export_record(row))


def texts_hash(profile: Profile) -> str:
    """One hash over every text the engine embeds for a profile: it changes exactly when re-embedding is due."""
    t = build_texts(profile)
    return text_hash(json.dumps([t.offer, t.need, list(t.offer_items), list(t.need_items)], ensure_ascii=False))


def approved_rows(session: Session, ids: Iterable[int] | None = None) -> Iterator[Any]:
    """Approved organizations' profile columns in id order (optionally only the given ids).

    Their published technologies count among their offers (web.services.technology_offers).
    """
    query = select(*PROFILE_COLUMNS).where(Organization.status == "approved").order_by(Organization.id)
    if ids is None:
        yield from with_technology_offers(session, session.execute(query.execution_options(yield_per=2000)))
        return
    ids = sorted(set(ids))
    for start in range(0, len(ids), IN_CHUNK):
        yield from with_technology_offers(session, session.execute(
            query.where(Organization.id.in_(ids[start:start + IN_CHUNK]))))


@dataclass
class Pending:
    """An organization whose current texts are not embedded under the model yet."""

    organization_id: int
    profile: Profile
    texts_hash: str


def pending_organizations(session: Session, model: str, force: bool = False) -> list[Pending]:
    """Approved organizations whose texts changed since they were embedded under `model` (all with force)."""
    done = dict(session.execute(select(OrganizationEmbedding.organization_id, OrganizationEmbedding.texts_hash)
                                .where(OrganizationEmbedding.model == model)).all())
    out = []
    for row in approved_rows(session):
        profile = profile_of(row)
        digest = texts_hash(profile)
        if force or done.get(row.id) != digest:
            out.append(Pending(row.id, profile, digest))
    return out


def load_vectors(session: Session, model: str, hashes: Iterable[str]) -> dict[str, np.ndarray]:
    """Stored vectors of the given text hashes under a model (absent hashes are left out)."""
    hashes = list(dict.fromkeys(hashes))
    out: dict[str, np.ndarray] = {}
    for start in range(0, len(hashes), IN_CHUNK):
        rows = session.execute(select(TextEmbedding.text_hash, TextEmbedding.vector)
                               .where(TextEmbedding.model == model,
                                      TextEmbedding.text_hash.in_(hashes[start:start + IN_CHUNK])))
        for digest, blob in rows:
            out[digest] = np.frombuffer(blob, dtype="<f4")
    return out


def _upsert(session: Session, model_class: Any, rows: list[dict[str, Any]], keys: list[str], update: list[str]) -> None:
    """INSERT ... ON CONFLICT DO UPDATE: two workers embedding the same text must not fail each other."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for start in range(0, len(rows), IN_CHUNK):
        stmt = insert(model_class).values(rows[start:start + IN_CHUNK])
        session.execute(stmt.on_conflict_do_update(index_elements=keys,
                                                   set_={name: stmt.excluded[name] for name in update}))


def _embed_batch(session_factory: sessionmaker, embedder: Any, batch: list[Pending], force: bool) -> None:
    texts = list(dict.fromkeys(t for item in batch for t in build_texts(item.profile).all_texts()))
    with session_scope(session_factory, write=False) as session:
        known = {} if force else load_vectors(session, embedder.name, (text_hash(t) for t in texts))
    missing = [t for t in texts if text_hash(t) not in known]
    # The model runs outside any transaction; only the writes below take the database's write lock.
    vectors = embedder.encode(missing) if missing else np.zeros((0, embedder.dim), np.float32)
    now = utcnow()
    rows = [{"model": embedder.name, "text_hash": text_hash(t), "dim": int(v.shape[0]),
             "vector": np.ascontiguousarray(v, dtype="<f4").tobytes(), "created_at": now}
            for t, v in zip(missing, vectors)]
    states = [{"organization_id": item.organization_id, "model": embedder.name, "texts_hash": item.texts_hash,
               "embedded_at": now} for item in batch]
    with session_scope(session_factory) as session:
        _upsert(session, TextEmbedding, rows, ["model", "text_hash"], ["dim", "vector", "created_at"])
        _upsert(session, OrganizationEmbedding, states, ["organization_id", "model"], ["texts_hash", "embedded_at"])


def sources_version(session: Session) -> tuple:
    """What the profile texts are read from, in three index reads: organizations (count, newest change) and
    technologies (count, newest change). Any import, profile save, approval or technology edit moves it."""
    orgs = session.execute(select(func.count(Organization.id), func.max(Organization.updated_at))).one()
    techs = session.execute(select(func.count(Technology.id), func.max(Technology.updated_at))).one()
    return tuple(orgs) + tuple(techs)


def _embeddings_version(session: Session, model: str) -> tuple:
    return tuple(session.execute(select(func.count(OrganizationEmbedding.organization_id),
                                        func.max(OrganizationEmbedding.embedded_at))
                                 .where(OrganizationEmbedding.model == model)).one())


# (database, model) -> (sources_version, embeddings version, when) after a run that left nothing pending. The job runs
# every 30 s and read every approved organization's texts each time (a twentieth of the server's CPU at 20,000
# organizations under benchmarks/load.py); while neither version moves there is nothing to embed. A full pass still
# runs every FULL_PASS_SECONDS whatever the versions say.
_CLEAN: dict[tuple[str, str], tuple[tuple, tuple, float]] = {}
FULL_PASS_SECONDS = 600.0


def embed_pending_profiles(session_factory: sessionmaker, embedder: Any, *, force: bool = False,
                           batch_size: int = BATCH_ORGANIZATIONS,
                           progress: Callable[[int], Any] | None = None) -> int:
    """Embed approved organizations that are new or changed under this embedder's model; returns how many.

    Commits per batch (it opens its own sessions): a job and a command, never a request, call it.
    progress(total) is called once and must return an object with update(n) and close(), like tqdm.
    """
    key = (str(session_factory.kw["bind"].url), embedder.name)
    with session_scope(session_factory, write=False) as session:
        before = sources_version(session), _embeddings_version(session, embedder.name)
        clean = _CLEAN.get(key)
        if (not force and clean is not None and clean[:2] == before
                and time.monotonic() - clean[2] < FULL_PASS_SECONDS):
            return 0
        pending = pending_organizations(session, embedder.name, force)
    if pending:
        _embed_all(session_factory, embedder, pending, force, batch_size, progress)
    with session_scope(session_factory, write=False) as session:
        sources = sources_version(session)
        if sources == before[0]:  # nothing changed while the pass ran: all is embedded as of these versions
            _CLEAN[key] = (sources, _embeddings_version(session, embedder.name), time.monotonic())
        else:
            _CLEAN.pop(key, None)
    return len(pending)


def _embed_all(session_factory: sessionmaker, embedder: Any, pending: list[Pending], force: bool, batch_size: int,
               progress: Callable[[int], Any] | None) -> None:
    bar = progress(len(pending)) if progress else None
    try:
        for start in range(0, len(pending), batch_size):
            batch = pending[start:start + batch_size]
            _embed_batch(session_factory, embedder, batch, force)
            if bar is not None:
                bar.update(len(batch))
    finally:
        if bar is not None:
            bar.close()
    log.info("embedded %d organizations with %s", len(pending), embedder.name)


class StoredOnly:
    """Stands in for the embedder where vectors must come from the database: a request never runs a model."""

    def __init__(self, name: str, dim: int) -> None:
        self.name = name
        self.dim = dim

    def encode(self, texts: list[str]) -> np.ndarray:
        raise RuntimeError("vectors missing from the database; the embedding job has not run for them")


def ready_vectors(session: Session, model: str, profiles: list[Profile]) -> tuple[dict[str, ProfileVectors], list[str]]:
    """(vectors of profiles whose every text is stored under the model, ids of the others)."""
    texts = {p.id: build_texts(p).all_texts() for p in profiles}
    stored = load_vectors(session, model, (text_hash(t) for ts in texts.values() for t in ts))
    ready = [p for p in profiles if all(text_hash(t) in stored for t in texts[p.id])]
    waiting = [p.id for p in profiles if not all(text_hash(t) in stored for t in texts[p.id])]
    dim = next((len(v) for v in stored.values()), 0)
    return embed_profiles(ready, StoredOnly(model, dim), known=stored), waiting
