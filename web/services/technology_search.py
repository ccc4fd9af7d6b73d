"""'Describe your need': published technologies ranked against a visitor's text by the matching engine's parts.

A technology's text (name, products, category, description) is embedded by a background job, as profiles are
(web/jobs.py `index_technologies`), into the shared text_embedding table. The job then builds the process's need
index: the vectors in one matrix and the engine's TF-IDF model (matchmaker.lexical) fitted on the texts, and
publishes it. A request embeds only the visitor's text (one short text, with the app's embedder, cached), scores
it against the matrix and the TF-IDF rows, and reads the published index: it never builds one. When the catalogue
changed since the index was built (or in a process that runs no jobs), the request starts one rebuild in the
background and ranks with the index it has.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from matchmaker import text_hash
from matchmaker.language import concept_label
from matchmaker.lexical import LexicalModel, similarity_to_all, sparse_row
from models import Organization, Technology, TechnologyCategory, TextEmbedding
from models.base import utcnow
from models.session import insert_for, make_session_factory, session_scope
from web.i18n import N_, _, country_name
from web.services.matching_vectors import load_vectors
from web.services.technology_catalogue import Card, Catalogue, catalogue_version, public_conditions

log = logging.getLogger(__name__)
DENSE_WEIGHT = 0.7
LEXICAL_WEIGHT = 0.3
# Below this fused score a technology is not shown as an answer to the need (unrelated texts score 0-0.15 with
# both the model and the hashing embedder; related ones 0.3 and up).
MIN_SCORE = 0.12
MAX_RESULTS = 200
EMBED_BATCH = 64
QUERY_VECTORS_KEPT = 512
# A request waits this long for the model (the embedding job may be encoding a batch with it); past it, or when the
# model fails, the need is ranked by its wording alone.
QUERY_EMBED_SECONDS = 2.0
QUOTE_LIMIT = 140
REASON_TERMS = N_("shares the terms: %(terms)s")
REASON_QUOTE = N_("says: “%(quote)s”")
REASON_TRACK = N_("track record in %(country)s")
REASON_MEANING = N_("close in meaning to your description")
_SENTENCE = re.compile(r"(?<=[.!?。])\s+")


def technology_text(name: str, products: list[str] | tuple[str, ...], category_name: str, description: str) -> str:
    """What a technology is matched on: its name, products, category and description (English)."""
    parts = [name.strip() + "."]
    if products:
        parts.append("; ".join(p.strip() for p in products if p.strip()) + ".")
    if category_name:
        parts.append(category_name + ".")
    if description.strip():
        parts.append(description.strip())
    return " ".join(parts)


def _published_texts(session: Session) -> list[tuple[int, str]]:
    names = dict(session.execute(select(TechnologyCategory.slug, TechnologyCategory.name_en)).all())
    rows = session.execute(select(Technology.id, Technology.name, Technology.products, Technology.category,
                                  Technology.description).join(Organization).where(*public_conditions())
                           .order_by(Technology.id))
    return [(r.id, technology_text(r.name, r.products or [], names.get(r.category, ""), r.description)) for r in rows]


# --- the job: embed new texts, build and publish the index ----------------------------------------------------------

def embed_pending_technologies(session_factory: sessionmaker, embedder: Any) -> int:
    """Embed the texts of published technologies not yet stored under the embedder's model; returns how many."""
    with session_scope(session_factory, write=False) as session:
        texts = list(dict.fromkeys(text for _id, text in _published_texts(session)))
        known = load_vectors(session, embedder.name, (text_hash(t) for t in texts))
    missing = [t for t in texts if text_hash(t) not in known]
    for start in range(0, len(missing), EMBED_BATCH):
        batch = missing[start:start + EMBED_BATCH]
        vectors = embedder.encode(batch)  # outside any transaction: only the write takes the lock
        rows = [{"model": embedder.name, "text_hash": text_hash(t), "dim": int(v.shape[0]),
                 "vector": np.ascontiguousarray(v, dtype="<f4").tobytes(), "created_at": utcnow()}
                for t, v in zip(batch, vectors)]
        with session_scope(session_factory) as session:
            stmt = insert_for(session, TextEmbedding).values(rows)
            session.execute(stmt.on_conflict_do_nothing(index_elements=["model", "text_hash"]))
    if missing:
        log.info("embedded %d technology texts with %s", len(missing), embedder.name)
    return len(missing)


@dataclass
class NeedIndex:
    """The published technologies' vectors and TF-IDF rows, in one order."""

    model: str
    version: tuple
    ids: np.ndarray
    texts: list[str]
    dense: np.ndarray
    lexical: LexicalModel
    rows: sp.csr_matrix
    rows_t: sp.csr_matrix
    embedded: int
    row: dict[int, int] = field(default_factory=dict)  # technology id -> row
    positions: dict[tuple, np.ndarray] = field(default_factory=dict)  # catalogue version -> catalogue_rows

    def __len__(self) -> int:
        return len(self.ids)


def build_need_index(session: Session, model: str) -> NeedIndex:
    """The index of every published technology: stored vectors (zero rows for texts not embedded yet) and TF-IDF."""
    version = catalogue_version(session)
    items = _published_texts(session)
    texts = [text for _id, text in items]
    stored = load_vectors(session, model, (text_hash(t) for t in texts))
    dim = next((len(v) for v in stored.values()), 1)
    dense = np.zeros((len(texts), dim), np.float32)
    for i, text in enumerate(texts):
        vector = stored.get(text_hash(text))
        if vector is not None and len(vector) == dim:
            dense[i] = vector
    lexical = LexicalModel.fit(texts)
    rows = lexical.transform(texts) if texts else sp.csr_matrix((0, 1), dtype=np.float32)
    ids = [i for i, _t in items]
    return NeedIndex(model, version, np.array(ids, np.int64), texts, dense, lexical, rows, rows.T.tocsr(),
                     len(stored), {tech_id: row for row, tech_id in enumerate(ids)})


@dataclass
class _Slot:
    index: NeedIndex | None = None
    building: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


# Per database (by URL, so the job's and the requests' engines of one process share it) and model.
_SLOTS: dict[tuple[str, str], _Slot] = {}
_SLOTS_LOCK = threading.Lock()


def _slot(engine: Engine, model: str) -> _Slot:
    with _SLOTS_LOCK:
        return _SLOTS.setdefault((str(engine.url), model), _Slot())


def publish_need_index(session_factory: sessionmaker, model: str) -> NeedIndex:
    """Build the index from the database and make it the one requests read (a job or a background thread)."""
    with session_scope(session_factory, write=False) as session:
        index = build_need_index(session, model)
        engine = session.get_bind().engine
    _slot(engine, model).index = index
    return index


def index_technologies(session_factory: sessionmaker, embedder: Any) -> int:
    """The job: embed new technology texts, then publish a fresh index when anything changed; returns texts embedded."""
    embedded = embed_pending_technologies(session_factory, embedder)
    with session_scope(session_factory, write=False) as session:
        engine = session.get_bind().engine
        version = catalogue_version(session)
    current = _slot(engine, embedder.name).index
    if embedded or current is None or current.version != version:
        publish_need_index(session_factory, embedder.name)
    return embedded


def _rebuild_in_background(engine: Engine, model: str) -> None:
    slot = _slot(engine, model)
    with slot.lock:
        if slot.building:
            return
        slot.building = True

    def run() -> None:
        try:
            publish_need_index(make_session_factory(engine), model)
        except Exception:  # logged; the next request tries again
            log.exception("building the technology need index failed")
        finally:
            slot.building = False

    threading.Thread(target=run, name="technology-need-index", daemon=True).start()


def current_need_index(session: Session, model: str, version: tuple) -> NeedIndex | None:
    """The published index (None before the first one); a stale one starts a background rebuild and is still used."""
    engine = session.get_bind().engine
    index = _slot(engine, model).index
    if index is None or index.version != version:
        _rebuild_in_background(engine, model)
    return index


# --- the request: embed the need, score, explain -----------------------------------------------------------------

_QUERY_VECTORS: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_QUERY_LOCK = threading.Lock()
# The model runs one call at a time anyway; one worker thread lets a request stop waiting without stopping the call.
_QUERY_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="need-query")


def query_vector(embedder: Any, text: str, timeout: float = QUERY_EMBED_SECONDS) -> np.ndarray | None:
    """The need's vector (cached per model and text); None when the model failed or did not answer in time (the
    need is then ranked by its wording). One short text takes milliseconds; the model runs one call at a time per
    process, so a request may queue behind the embedding job's batch, for `timeout` seconds at most."""
    key = (embedder.name, text)
    with _QUERY_LOCK:
        vector = _QUERY_VECTORS.get(key)
        if vector is not None:
            _QUERY_VECTORS.move_to_end(key)
            return vector
    future = _QUERY_POOL.submit(lambda: embedder.encode([text])[0])
    try:
        vector = np.asarray(future.result(timeout=timeout), np.float32)
    except FutureTimeout:
        log.warning("the embedding model did not answer within %.1f s; ranking the need by wording only", timeout)
        return None
    except Exception:  # a model that cannot load or run must not take the catalogue down with it
        log.exception("embedding a described need failed; ranking it by wording only")
        return None
    with _QUERY_LOCK:
        _QUERY_VECTORS[key] = vector
        while len(_QUERY_VECTORS) > QUERY_VECTORS_KEPT:
            _QUERY_VECTORS.popitem(last=False)
    return vector


@dataclass
class Ranked:
    """The answer to a need: catalogue positions best first, their scores, and whether the model took part."""

    positions: np.ndarray
    scores: dict[int, float]
    dense_used: bool
    query: tuple[np.ndarray, np.ndarray] | None = None


def catalogue_rows(index: NeedIndex, catalogue: Catalogue) -> np.ndarray:
    """Per index row, its position in the catalogue (-1: no longer public), computed once per catalogue version."""
    cached = index.positions.get(catalogue.version)
    if cached is None:
        cached = np.array([catalogue.position.get(i, -1) for i in index.ids.tolist()], np.int64)
        index.positions = {catalogue.version: cached}  # one version at a time: the catalogue moves on
    return cached


def rank_need(index: NeedIndex, catalogue: Catalogue, allowed: np.ndarray, need: str, embedder: Any) -> Ranked:
    """Catalogue positions among `allowed` ranked by how well each technology answers the need."""
    vector = query_vector(embedder, need) if embedder is not None and index.dense.shape[1] > 1 else None
    dense_used = vector is not None and vector.shape[0] == index.dense.shape[1]
    scores = np.zeros(len(index), np.float32)
    if dense_used:
        scores += DENSE_WEIGHT * np.clip(index.dense @ vector, 0, 1)
    query = sparse_row(index.lexical.transform([need]), 0)
    scores += (LEXICAL_WEIGHT if dense_used else 1.0) * similarity_to_all(query, index.rows_t)
    where = catalogue_rows(index, catalogue)
    permitted = np.zeros(len(catalogue.cards) + 1, bool)  # the extra last cell answers where == -1
    permitted[allowed] = True
    chosen = np.flatnonzero((scores >= MIN_SCORE) & permitted[where])
    if len(chosen) > MAX_RESULTS:
        chosen = chosen[np.argpartition(-scores[chosen], MAX_RESULTS)[:MAX_RESULTS]]
    order = chosen[np.argsort(-scores[chosen], kind="stable")]
    return Ranked(where[order], {int(where[i]): float(scores[i]) for i in order}, dense_used, query)


def _best_sentence(text: str, terms: list[str]) -> str:
    """The sentence of the text holding the most of the shared terms ('' when none holds one)."""
    best, hits = "", 0
    for sentence in _SENTENCE.split(text):
        folded = sentence.casefold()
        found = sum(1 for term in terms if term.casefold() in folded)
        if found > hits and len(sentence) > 20:
            best, hits = sentence, found
    sentence = " ".join(best.split())
    return sentence if len(sentence) <= QUOTE_LIMIT else sentence[:QUOTE_LIMIT].rsplit(" ", 1)[0] + "…"


def readable_terms(terms: list[str], language: str, limit: int = 3) -> list[str]:
    """Shared terms as a reader says them: glossary concepts (§solar_pv) by their label in the language, without
    a word the label already holds ("solar" next to "solar PV")."""
    out: list[str] = []
    for label in (concept_label(term, language) for term in terms):
        words = label.casefold().split()
        if any(label.casefold() == t.casefold() or label.casefold() in t.casefold().split() for t in out):
            continue
        out = [t for t in out if t.casefold() not in words]
        out.append(label)
    return out[:limit]


def explain(index: NeedIndex, card: Card, ranked: Ranked, country: str,
            translate: Callable[[str], str] = _, language: str = "en") -> list[str]:
    """Why a technology answers the need: shared terms, the sentence that says so, track record where asked."""
    row = index.row.get(card.id)
    reasons: list[str] = []
    if row is not None and ranked.query is not None:
        shared = index.lexical.shared_terms([ranked.query], [sparse_row(index.rows, row)], limit=5)
        terms = readable_terms(shared, language)
        if terms:
            reasons.append(translate(REASON_TERMS) % {"terms": translate(", ").join(terms)})
            quote = _best_sentence(card.description, readable_terms(shared, "en"))  # the description is English
            if quote and normalize_space(quote) != normalize_space(card.name + "."):
                reasons.append(translate(REASON_QUOTE) % {"quote": quote})
    if not reasons:
        reasons.append(translate(REASON_MEANING))
    if country and country in card.countries:
        reasons.append(translate(REASON_TRACK) % {"country": country_name(country)})
    return reasons


def normalize_space(text: str) -> str:
    return " ".join(text.split()).casefold()


# --- the catalogue's one search: filters, text, and the need ---------------------------------------------------------

@dataclass
class Search:
    """What the list, its exports and the API show for one set of filters."""

    catalogue: Catalogue
    positions: np.ndarray
    facets: Any
    ranked: Ranked | None = None
    need_state: str = ""  # "" | "ranked" | "wording" (model busy or failed: by wording) | "preparing" (no index yet)
    index: NeedIndex | None = None


def search(session: Session, filters: Any, language: str, embedder: Any) -> Search:
    """The public technologies matching the filters, by name, or by how well they answer the described need."""
    from web.services import technologies

    catalogue = technologies.get_catalogue(session)
    positions, facets = technologies.filtered(catalogue, filters, language,
                                              technologies.category_names(session, language))
    if not filters.need:
        return Search(catalogue, positions, facets)
    model = embedder.name if embedder is not None else ""
    index = current_need_index(session, model, catalogue.version)
    if index is None:
        return Search(catalogue, positions, facets, need_state="preparing")
    ranked = rank_need(index, catalogue, positions, filters.need, embedder)
    return Search(catalogue, ranked.positions, facets, ranked, "ranked" if ranked.dense_used else "wording", index)
