"""The match index: profiles, their vectors and lexical rows as contiguous arrays grouped by side."""

from __future__ import annotations

import threading
import zlib
from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np
import scipy.sparse as sp

from matchmaker.embedding import Embedder
from matchmaker.language import CONCEPT_PREFIX
from matchmaker.lexical import LexicalModel
from matchmaker.profiles import HOST, PROVIDER, SUPPORTER, TECHNOLOGY_CATEGORIES, Profile
from matchmaker.text import build_lexical_texts, build_texts, text_hash

# Rows are stored host | supporter | provider so each side's candidates are one contiguous slice.
SIDE_ORDER = (HOST, SUPPORTER, PROVIDER)
# Inside a side rows go need-only | both | offer-only | neither, so the rows holding an offer vector and
# those holding a need vector are each one contiguous slice: a scan never reads rows known to be zero.
_VECTOR_ORDER = {(False, True): 0, (True, True): 1, (True, False): 2, (False, False): 3}
# Above this many candidates on the scanned side, recommend() exactly scores only the candidates that matchmaker.ann
# generates: at 1M organizations a bare scan alone costs more than the 40 ms budget on a 2-core box.
ANN_MIN_CANDIDATES = 200_000
# Above this many candidates (and up to ANN_MIN_CANDIDATES) the dense scan reads half-precision copies of the vectors
# and rescores in float32 only what could reach the shortlist (matchmaker/halfscan.py): half the bytes of a
# memory-bound scan, the same ranking. Below it a float32 scan costs about a millisecond and torch is not loaded.
HALF_MIN_CANDIDATES = 30_000
_CATEGORY_BIT = {c: 1 << i for i, c in enumerate(TECHNOLOGY_CATEGORIES)}


@dataclass(frozen=True)
class ProfileVectors:
    """Precomputed unit vectors of one profile (None or empty when the text is empty)."""

    offer: np.ndarray | None
    need: np.ndarray | None
    offer_items: np.ndarray  # (len(profile.offers), dim)
    need_items: np.ndarray  # (len(profile.needs), dim)


def embed_profiles(profiles: Iterable[Profile], embedder: Embedder,
                   known: Mapping[str, np.ndarray] | None = None) -> dict[str, ProfileVectors]:
    """Embed every profile's texts, reusing vectors in `known` (text hash -> vector)."""
    profiles = list(profiles)
    cache: dict[str, np.ndarray] = dict(known or {})
    texts = [build_texts(p) for p in profiles]
    missing = list(dict.fromkeys(t for pt in texts for t in pt.all_texts() if text_hash(t) not in cache))
    for start in range(0, len(missing), 4096):
        chunk = missing[start:start + 4096]
        for text, vec in zip(chunk, embedder.encode(chunk)):
            cache[text_hash(text)] = vec
    dim = embedder.dim

    def one(t: str) -> np.ndarray | None:
        return cache[text_hash(t)] if t else None

    def many(items: tuple[str, ...]) -> np.ndarray:
        return np.stack([cache[text_hash(t)] for t in items]) if items else np.zeros((0, dim), np.float32)

    return {p.id: ProfileVectors(one(pt.offer), one(pt.need), many(pt.offer_items), many(pt.need_items))
            for p, pt in zip(profiles, texts)}


def _bits(values: Iterable[str], table: Mapping[str, int] | None = None) -> int:
    if table is not None:
        return sum({table.get(v, 0) for v in values})
    # Free-text sectors hash into 63 bits: a cheap prefilter, checked exactly on the shortlist.
    return sum({1 << (zlib.crc32(v.encode()) % 63) for v in values})


def _stack_items(arrays: list[np.ndarray], dim: int) -> tuple[np.ndarray, np.ndarray]:
    ptr = np.zeros(len(arrays) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(a) for a in arrays])
    data = np.concatenate([a for a in arrays if len(a)] or [np.zeros((0, dim), np.float32)])
    return np.ascontiguousarray(data, dtype=np.float32), ptr


class MatchIndex:
    """Immutable search structure; rebuild or refresh it when profiles change."""

    def __init__(self, profiles: Iterable[Profile], vectors: Mapping[str, ProfileVectors],
                 lexical: LexicalModel | None = None, dim: int | None = None,
                 ann_threshold: int | None = None, half_threshold: int | None = None) -> None:
        profiles = list(profiles)
        # Above this many candidates on a side, recommend() scores only generated candidates (see ann.py).
        self.ann_threshold = ANN_MIN_CANDIDATES if ann_threshold is None else ann_threshold
        self.half_threshold = HALF_MIN_CANDIDATES if half_threshold is None else half_threshold
        self.profiles: list[Profile] = sorted(profiles, key=lambda p: (SIDE_ORDER.index(p.side), _VECTOR_ORDER[
            (vectors[p.id].offer is not None, vectors[p.id].need is not None)]))
        self.row: dict[str, int] = {p.id: i for i, p in enumerate(self.profiles)}
        if len(self.row) != len(self.profiles):
            raise ValueError("duplicate profile ids")
        n = len(self.profiles)
        self._vectors = [vectors[p.id] for p in self.profiles]
        dim = dim or next((len(v.offer if v.offer is not None else v.need) for v in self._vectors
                           if v.offer is not None or v.need is not None), 384)
        self.dim = dim
        self.offer = np.zeros((n, dim), np.float32)
        self.need = np.zeros((n, dim), np.float32)
        for i, v in enumerate(self._vectors):
            if v.offer is not None:
                self.offer[i] = v.offer
            if v.need is not None:
                self.need[i] = v.need
        self.has_offers = np.array([bool(p.offers) for p in self.profiles])
        self.has_needs = np.array([bool(p.needs) for p in self.profiles])
        # alpha = share of a profile's own needs in its interest; the rest is demand for its offers.
        self.alpha = np.where(self.has_needs & self.has_offers, 0.5,
                              np.where(self.has_needs, 1.0, np.where(self.has_offers, 0.0, 0.5))).astype(np.float32)
        counts = [sum(p.side == s for p in self.profiles) for s in SIDE_ORDER]
        bounds = np.cumsum([0, *counts])
        self.side_range = {s: (int(bounds[i]), int(bounds[i + 1])) for i, s in enumerate(SIDE_ORDER)}
        self._structure()
        self._items(dim)
        self._lexical(lexical)
        self._candidates()

    def _structure(self) -> None:
        countries = sorted({p.country for p in self.profiles} | {c for p in self.profiles for c in p.target_countries})
        self.country_code = {c: i for i, c in enumerate(countries)}
        self.country = np.array([self.country_code[p.country] for p in self.profiles], dtype=np.int32)
        targeting: dict[int, list[int]] = {}
        for i, p in enumerate(self.profiles):
            for c in p.target_countries:
                targeting.setdefault(self.country_code[c], []).append(i)
        # country code -> rows that target it, so "works in my country" is a scatter, not a scan.
        self.targeting = {c: np.array(rows, dtype=np.int64) for c, rows in targeting.items()}
        # Per row, the codes of its target countries (CSR): country fit of a few candidate rows without a scan.
        self.target_ptr = np.zeros(len(self.profiles) + 1, np.int64)
        self.target_ptr[1:] = np.cumsum([len(p.target_countries) for p in self.profiles])
        self.target_codes = np.array([self.country_code[c] for p in self.profiles for c in p.target_countries],
                                     np.int32)
        self.category_mask = np.array([_bits(p.technology_categories, _CATEGORY_BIT) for p in self.profiles], np.int64)
        self.sector_mask = np.array([_bits(p.sectors) for p in self.profiles], np.int64)
        self.category_count = np.array([len(p.technology_categories) for p in self.profiles], np.float32)

    def _items(self, dim: int) -> None:
        self.offer_items, self.offer_ptr = _stack_items([v.offer_items for v in self._vectors], dim)
        self.need_items, self.need_ptr = _stack_items([v.need_items for v in self._vectors], dim)

    def _lexical(self, lexical: LexicalModel | None) -> None:
        texts = [build_lexical_texts(p) for p in self.profiles]
        offer_texts, need_texts = [t[0] for t in texts], [t[1] for t in texts]
        if lexical is None:
            self.lexical, rows = LexicalModel.fit_transform(offer_texts + need_texts)
            self.lex_offer, self.lex_need = rows[:len(offer_texts)], rows[len(offer_texts):]
        else:
            self.lexical = lexical
            self.lex_offer = self.lexical.transform(offer_texts)
            self.lex_need = self.lexical.transform(need_texts)
        # Transposed copies turn one query's similarity to all rows into a walk over its terms' postings.
        self.lex_offer_t = sp.csr_matrix(self.lex_offer.T)
        self.lex_need_t = sp.csr_matrix(self.lex_need.T)
        # Which columns are glossary concepts, and each row's norm over its own words only: the exact-wording
        # similarity (the cosine without concepts, as plain TF-IDF would see it) of a few rows without a second model.
        self.lex_concept = np.char.startswith(self.lexical.feature_names().astype(str), CONCEPT_PREFIX)
        self.lex_offer_words = _word_norms(self.lex_offer, self.lex_concept)
        self.lex_need_words = _word_norms(self.lex_need, self.lex_concept)

    def _candidates(self) -> None:
        has_offer = np.array([v.offer is not None for v in self._vectors])
        has_need = np.array([v.need is not None for v in self._vectors])
        self.offer_span, self.need_span = {}, {}
        for s, (lo, hi) in self.side_range.items():
            self.offer_span[s] = _span(has_offer, lo, hi)
            self.need_span[s] = _span(has_need, lo, hi)
        self.candidates = {s: CandidateSet(self, s) for s in SIDE_ORDER}
        self.half_offer = self.half_need = None
        if any(self._wants_half(s) for s in SIDE_ORDER):
            from matchmaker import halfscan  # noqa: PLC0415 - imports torch

            if halfscan.available():
                self.half_offer, self.half_need = halfscan.HalfMatrix(self.offer), halfscan.HalfMatrix(self.need)
        # Scratch buffers are per thread: the web app may rank from several threads at once.
        self._scratch = threading.local()
        self._ann = None
        self._ann_lock = threading.Lock()

    def __getstate__(self) -> dict:
        # Pickled to cross from the process that built it to the one that serves it: per-thread buffers and locks
        # cannot cross, and the approximate-search structures (faiss) are built again on the other side.
        # Each profile's own vectors are rows of the stacked matrices, so they cross once, as those: 476 -> 347 MB at
        # 100,000 profiles, and 1.8 s to unpickle instead of 3.1 (400,000 small arrays were half of it).
        state = self.__dict__.copy()
        for name in ("_scratch", "_ann", "_ann_lock"):
            state.pop(name, None)
        vectors = state.pop("_vectors")
        state["_vectors_present"] = (np.array([v.offer is not None for v in vectors], bool),
                                     np.array([v.need is not None for v in vectors], bool))
        return state

    def __setstate__(self, state: dict) -> None:
        offer_present, need_present = state.pop("_vectors_present")
        self.__dict__.update(state)
        offer_ptr, need_ptr = self.offer_ptr.tolist(), self.need_ptr.tolist()
        self._vectors = [ProfileVectors(self.offer[i] if has_offer else None, self.need[i] if has_need else None,
                                        self.offer_items[offer_ptr[i]:offer_ptr[i + 1]],
                                        self.need_items[need_ptr[i]:need_ptr[i + 1]])
                         for i, (has_offer, has_need) in enumerate(zip(offer_present.tolist(),
                                                                       need_present.tolist()))]
        self._scratch = threading.local()
        self._ann = None
        self._ann_lock = threading.Lock()

    def uses_ann(self, side: str) -> bool:
        """Tell whether queries from `side` take the approximate candidate path."""
        return len(self.candidates[side].rows) > self.ann_threshold

    def _wants_half(self, side: str) -> bool:
        return self.half_threshold < len(self.candidates[side].rows) <= self.ann_threshold

    def scans_half(self, side: str) -> bool:
        """Tell whether full scans from `side` read the half-precision copies (see matchmaker.halfscan)."""
        return self.half_offer is not None and self._wants_half(side)

    def ann(self):
        """Return the candidate generator of the approximate path (created on first use; faiss loads lazily)."""
        if self._ann is None:
            with self._ann_lock:
                if self._ann is None:
                    from matchmaker.ann import CandidateGenerator  # noqa: PLC0415 - ann imports this module

                    self._ann = CandidateGenerator(self)
        return self._ann

    def scratch(self, side: str, names: tuple[str, ...]) -> dict[str, np.ndarray]:
        """Return this thread's reusable float32 buffers, one per name, sized to `side`'s candidates."""
        cache = getattr(self._scratch, "buffers", None)
        if cache is None:
            cache = self._scratch.buffers = {}
        m = len(self.candidates[side].rows)
        return {name: cache.setdefault((side, name), np.empty(m, np.float32)) for name in names}

    def __len__(self) -> int:
        return len(self.profiles)

    def __contains__(self, org_id: str) -> bool:
        return org_id in self.row

    def profile(self, org_id: str) -> Profile:
        """Return the profile with this id."""
        return self.profiles[self.row[org_id]]

    def vectors(self, org_id: str) -> ProfileVectors:
        """Return the vectors the index holds for this id."""
        return self._vectors[self.row[org_id]]

    def candidate_range(self, side: str) -> tuple[int, int]:
        """Return the contiguous row range holding every side that may match `side`."""
        if side == HOST:
            return self.side_range[SUPPORTER][0], len(self)
        if side == PROVIDER:
            return 0, self.side_range[SUPPORTER][1]
        return 0, len(self)  # supporters: hosts and providers, supporters between them (see CandidateSet)


def _word_norms(m: sp.csr_matrix, concept: np.ndarray) -> np.ndarray:
    """Return each row's L2 norm over its non-concept columns."""
    squares = np.where(concept[m.indices], np.float32(0), m.data * m.data).astype(np.float64)
    sums = np.zeros(m.shape[0], np.float64)
    np.add.at(sums, np.repeat(np.arange(m.shape[0]), np.diff(m.indptr)), squares)
    return np.sqrt(sums).astype(np.float32)


def _span(flags: np.ndarray, lo: int, hi: int) -> tuple[int, int]:
    rows = np.nonzero(flags[lo:hi])[0]
    if len(rows) == 0:
        return lo, lo
    if rows[-1] - rows[0] + 1 != len(rows):
        raise AssertionError("rows with a vector must be contiguous inside a side")
    return lo + int(rows[0]), lo + int(rows[-1]) + 1


def _grouped(keys: np.ndarray, values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Return CSR (ptr, values) grouping values by integer key in 0..size-1."""
    order = np.argsort(keys, kind="stable")
    ptr = np.zeros(size + 1, np.int64)
    ptr[1:] = np.cumsum(np.bincount(keys, minlength=size))
    return ptr, values[order].astype(np.int64)


def _merged(spans: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Join spans that continue each other in rows and in positions: one GEMV instead of two."""
    out: list[tuple[int, int, int]] = []
    for lo, hi, pos in spans:
        if out and out[-1][1] == lo and out[-1][2] + (out[-1][1] - out[-1][0]) == pos:
            out[-1] = (out[-1][0], hi, out[-1][2])
        else:
            out.append((lo, hi, pos))
    return out


class CandidateSet:
    """Every row one side may be matched with, laid end to end in "positions" with per-position arrays.

    Supporters' candidates (hosts, then providers) are two slices of the index; the others' are one.
    """

    def __init__(self, index: MatchIndex, side: str) -> None:
        sides = [s for s in SIDE_ORDER if s != side]
        self.sides = tuple(sides)
        self.segments: list[tuple[int, int, int]] = []  # (row lo, row hi, first position)
        pos = 0
        for s in sides:
            lo, hi = index.side_range[s]
            self.segments.append((lo, hi, pos))
            pos += hi - lo
        self.rows = np.concatenate([np.arange(lo, hi, dtype=np.int64) for lo, hi, _ in self.segments])
        rows = self.rows
        # Row spans holding vectors, with the position each starts at: the dense scan's GEMV calls.
        self.offer_spans = _merged([(lo, hi, lo - s_lo + p) for (s_lo, _, p), s in zip(self.segments, sides)
                                    for lo, hi in [index.offer_span[s]] if hi > lo])
        self.need_spans = _merged([(lo, hi, lo - s_lo + p) for (s_lo, _, p), s in zip(self.segments, sides)
                                   for lo, hi in [index.need_span[s]] if hi > lo])
        self.alpha = index.alpha[rows]
        # Category and sector overlap depend only on (category mask, category count, sector mask): score the
        # distinct keys once per query and gather, instead of bit arithmetic over every candidate.
        triples = np.stack([index.category_mask[rows], index.category_count[rows].astype(np.int64),
                            index.sector_mask[rows]], axis=1)
        keys, code = np.unique(triples, axis=0, return_inverse=True)
        self.structure_code = code.reshape(-1).astype(np.int32)
        self.key_category, self.key_sector = keys[:, 0].copy(), keys[:, 2].copy()
        self.key_count = keys[:, 1].astype(np.float32)
        n_codes = len(index.country_code)
        self.country_ptr, self.country_pos = _grouped(index.country[rows], np.arange(len(rows)), n_codes)
        t_keys, t_pos = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        for code, targeting in index.targeting.items():
            pos = self.positions(targeting)
            pos = pos[pos >= 0]
            t_keys.append(np.full(len(pos), code, np.int64))
            t_pos.append(pos)
        self.target_ptr, self.target_pos = _grouped(np.concatenate(t_keys), np.concatenate(t_pos), n_codes)

    def positions(self, rows: np.ndarray) -> np.ndarray:
        """Return the positions of index rows (-1 where a row is not a candidate)."""
        out = np.full(len(rows), -1, np.int64)
        for lo, hi, p in self.segments:
            inside = (rows >= lo) & (rows < hi)
            out[inside] = rows[inside] - lo + p
        return out

    def country_rows(self, code: int) -> np.ndarray:
        """Return the positions of candidates based in the country with this code."""
        return self.country_pos[self.country_ptr[code]:self.country_ptr[code + 1]]

    def targeting_rows(self, code: int) -> np.ndarray:
        """Return the positions of candidates that target the country with this code."""
        return self.target_pos[self.target_ptr[code]:self.target_ptr[code + 1]]


def build_index(profiles: Iterable[Profile], vectors: Mapping[str, ProfileVectors],
                lexical: LexicalModel | None = None, *, ann_threshold: int | None = None,
                half_threshold: int | None = None) -> MatchIndex:
    """Build an index from profiles and their precomputed vectors (the TF-IDF is fitted unless given).

    Sides with more than `ann_threshold` candidates (default ANN_MIN_CANDIDATES) are searched approximately; those
    with more than `half_threshold` (default HALF_MIN_CANDIDATES) scan half-precision copies, with the same results.
    """
    return MatchIndex(profiles, vectors, lexical, ann_threshold=ann_threshold, half_threshold=half_threshold)


def refresh_index(index: MatchIndex, upserts: Iterable[Profile] = (),
                  vectors: Mapping[str, ProfileVectors] | None = None,
                  removed: Iterable[str] = (), refit_lexical: bool = False) -> MatchIndex:
    """Return a new index with profiles added, replaced or removed; unchanged rows keep their vectors."""
    upserts = list(upserts)
    gone = set(removed) | {p.id for p in upserts}
    kept = [p for p in index.profiles if p.id not in gone]
    merged = {p.id: index.vectors(p.id) for p in kept}
    merged.update(vectors or {})
    # Reusing the fitted vocabulary keeps refreshes cheap; refit now and then so idf follows the corpus.
    return MatchIndex(kept + upserts, merged, None if refit_lexical else index.lexical, index.dim,
                      ann_threshold=index.ann_threshold, half_threshold=index.half_threshold)
