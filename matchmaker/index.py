"""The match index: profiles, their vectors and lexical rows as contiguous arrays grouped by side."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np
import scipy.sparse as sp

from matchmaker.embedding import Embedder
from matchmaker.lexical import LexicalModel
from matchmaker.profiles import HOST, PROVIDER, SUPPORTER, TECHNOLOGY_CATEGORIES, Profile
from matchmaker.text import build_texts, text_hash

# Rows are stored host | supporter | provider so each side's candidates are one contiguous slice.
SIDE_ORDER = (HOST, SUPPORTER, PROVIDER)
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
                 lexical: LexicalModel | None = None, dim: int | None = None) -> None:
        self.profiles: list[Profile] = sorted(profiles, key=lambda p: SIDE_ORDER.index(p.side))
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
        self.category_mask = np.array([_bits(p.technology_categories, _CATEGORY_BIT) for p in self.profiles], np.int64)
        self.sector_mask = np.array([_bits(p.sectors) for p in self.profiles], np.int64)
        self.category_count = np.array([len(p.technology_categories) for p in self.profiles], np.float32)

    def _items(self, dim: int) -> None:
        self.offer_items, self.offer_ptr = _stack_items([v.offer_items for v in self._vectors], dim)
        self.need_items, self.need_ptr = _stack_items([v.need_items for v in self._vectors], dim)

    def _lexical(self, lexical: LexicalModel | None) -> None:
        texts = [build_texts(p) for p in self.profiles]
        offer_texts, need_texts = [t.offer for t in texts], [t.need for t in texts]
        self.lexical = lexical or LexicalModel.fit(offer_texts + need_texts)
        self.lex_offer = self.lexical.transform(offer_texts)
        self.lex_need = self.lexical.transform(need_texts)
        # Transposed copies turn one query's similarity to all rows into a walk over its terms' postings.
        self.lex_offer_t = sp.csr_matrix(self.lex_offer.T)
        self.lex_need_t = sp.csr_matrix(self.lex_need.T)

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
        return 0, len(self)  # supporters: hosts and providers, supporters masked out by the engine


def build_index(profiles: Iterable[Profile], vectors: Mapping[str, ProfileVectors],
                lexical: LexicalModel | None = None) -> MatchIndex:
    """Build an index from profiles and their precomputed vectors (the TF-IDF is fitted unless given)."""
    return MatchIndex(profiles, vectors, lexical)


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
    return MatchIndex(kept + upserts, merged, None if refit_lexical else index.lexical, index.dim)
