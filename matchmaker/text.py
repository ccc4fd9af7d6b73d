"""Texts embedded for a profile: what it offers, what it needs, and each item on its own."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from matchmaker.language import embedding_text
from matchmaker.profiles import Profile


@dataclass(frozen=True)
class ProfileTexts:
    """The texts the engine embeds for one profile ("" when a side is empty)."""

    offer: str
    need: str
    offer_items: tuple[str, ...]
    need_items: tuple[str, ...]

    def all_texts(self) -> list[str]:
        """Return every non-empty text, for batch embedding."""
        return [t for t in (self.offer, self.need, *self.offer_items, *self.need_items) if t]


def category_words(slug: str) -> str:
    """Turn a technology category slug into plain words."""
    return slug.replace("_", " ")


def build_offer_text(p: Profile) -> str:
    """Return the text describing what a profile offers (offers, technologies, description)."""
    parts = []
    if p.offers:
        parts.append("; ".join(p.offers) + ".")
    if p.technology_categories:
        parts.append("Technologies: " + ", ".join(category_words(c) for c in p.technology_categories) + ".")
    if p.description:
        parts.append(p.description)
    return " ".join(parts)


def build_need_text(p: Profile) -> str:
    """Return the text describing what a profile needs (needs, description)."""
    parts = []
    if p.needs:
        parts.append("; ".join(p.needs) + ".")
    if p.description:
        parts.append(p.description)
    return " ".join(parts)


def build_texts(p: Profile) -> ProfileTexts:
    """Return all texts to embed for one profile (Japanese texts as their English glossary gloss)."""
    return ProfileTexts(
        offer=_embedded(build_offer_text(p)),
        need=_embedded(build_need_text(p)),
        offer_items=tuple(embedding_text(t) for t in p.offers),
        need_items=tuple(embedding_text(t) for t in p.needs),
    )


def build_lexical_texts(p: Profile) -> tuple[str, str]:
    """Return (offer, need) texts as written, for the lexical signal (which reads Japanese itself)."""
    return build_offer_text(p), build_need_text(p)


def _embedded(text: str) -> str:
    # Offers, categories and description are joined sentences: gloss each Japanese one, keep English ones.
    if not text:
        return text
    return " ".join(embedding_text(s) for s in _SENTENCES.split(text) if s)


_SENTENCES = re.compile(r"(?<=[.;。；])\s*")


def text_hash(text: str) -> str:
    """Return the sha256 hex digest of a text, the cache key for its vector."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
