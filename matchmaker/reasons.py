"""Concrete, translatable reasons why a candidate is recommended to a viewer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

from matchmaker.language import CONCEPT_PREFIX, concept_label, technology_overlap
from matchmaker.profiles import SUPPORTER, Profile
from matchmaker.text import category_words


def N_(s: str) -> str:
    """Mark a template for gettext extraction without translating it here (Babel keyword N_)."""
    return s


OFFER_FOR_NEED = N_("offers “{offer}” for your need: “{need}”")
NEED_FOR_OFFER = N_("needs “{need}”, which your offer “{offer}” addresses")
WORKS_IN = N_("works in {country}")
BASED_IN_TARGET = N_("based in {country}, one of your target countries")
SHARED_TARGETS = N_("also active in {countries}")
SUPPORTS_IN = N_("supports projects in {countries}")
SHARED_CATEGORY = N_("both in {categories}")
SHARED_SECTOR = N_("shared sector: {sectors}")
SHARED_TERMS = N_("similar wording: {terms}")
CLOSEST_WORDING = N_("the closest wording to yours among all members: {terms}")
# How lists inside a reason are joined; translated ("、" in Japanese).
LIST_SEPARATOR = N_(", ")

TEMPLATES: dict[str, str] = {
    "offer_for_need": OFFER_FOR_NEED,
    "need_for_offer": NEED_FOR_OFFER,
    "works_in": WORKS_IN,
    "based_in_target": BASED_IN_TARGET,
    "shared_targets": SHARED_TARGETS,
    "supports_in": SUPPORTS_IN,
    "shared_category": SHARED_CATEGORY,
    "shared_sector": SHARED_SECTOR,
    "shared_terms": SHARED_TERMS,
    "closest_wording": CLOSEST_WORDING,
}

# Params holding ISO2 codes or category slugs (space separated) that format_reason turns into names.
_COUNTRY_PARAMS = ("country", "countries")
_CATEGORY_PARAMS = ("categories",)
# Params holding free-text lists, joined with a newline until formatting.
_LIST_PARAMS = ("sectors", "terms")
QUOTE_LIMIT = 120
# An offer/need pair is quoted ("offers X for your need Y") when its cosine is at least MIN_QUOTE_SIMILARITY, or at
# least MIN_QUOTE_WITH_TECHNOLOGY and both texts name the same technology (half of the shorter one's glossary
# technology concepts). Set for precision first on the labelled pairs of benchmarks/data/reason-pairs.csv
# (benchmarks/reason_quality.py; docs/matching.md has the precision and recall).
MIN_QUOTE_SIMILARITY = 0.65
MIN_QUOTE_WITH_TECHNOLOGY = 0.45
MIN_TECHNOLOGY_OVERLAP = 0.5


def quotable(similarity: float, need: str, offer: str) -> bool:
    """Tell whether an offer may be said to meet a need: close embeddings, or fairly close and the same technology."""
    if similarity >= MIN_QUOTE_SIMILARITY:
        return True
    return similarity >= MIN_QUOTE_WITH_TECHNOLOGY and technology_overlap(need, offer) >= MIN_TECHNOLOGY_OVERLAP


@dataclass(frozen=True)
class Reason:
    """One reason: a template code and its parameters (codes stay codes until formatting)."""

    code: str
    params: dict[str, str] = field(default_factory=dict)


def _identity(s: str) -> str:
    return s


def truncate(text: str, limit: int = QUOTE_LIMIT) -> str:
    """Shorten a quoted item to about `limit` characters at a word boundary."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:.") + "…"


def _term(term: str, language: str) -> str:
    # Glossary concepts are shown in the reader's language; other terms as the profiles wrote them.
    return concept_label(term, language) if term.startswith(CONCEPT_PREFIX) else term


def format_reason(reason: Reason, translate: Callable[[str], str] = _identity,
                  country_names: Mapping[str, str] | None = None,
                  category_names: Mapping[str, str] | None = None, language: str = "en") -> str:
    """Render a reason in the viewer's language: countries, categories and glossary terms by name, never by code."""
    params = dict(reason.params)
    separator = translate(LIST_SEPARATOR)
    if "terms" in params:
        params["terms"] = "\n".join(dict.fromkeys(_term(t, language) for t in params["terms"].split("\n")))
    if "sectors" in params:
        params["sectors"] = "\n".join(s[:1].upper() + s[1:] for s in params["sectors"].split("\n"))
    for key in _COUNTRY_PARAMS:
        if key in params:
            params[key] = separator.join((country_names or {}).get(c, c) for c in params[key].split())
    for key in _CATEGORY_PARAMS:
        if key in params:
            params[key] = separator.join((category_names or {}).get(c, category_words(c)) for c in params[key].split())
    for key in _LIST_PARAMS:
        if key in params:
            params[key] = separator.join(params[key].split("\n"))
    return translate(TEMPLATES[reason.code]).format(**params)


def explain(viewer: Profile, other: Profile, pair: tuple[float, int, int], rev_pair: tuple[float, int, int],
            shared_terms: list[str] | None = None, limit: int = 4, closest_wording: bool = False) -> list[Reason]:
    """Return the reasons `other` suits `viewer`, most concrete first; every one of them true of the pair.

    pair is (cosine, viewer need item, other offer item); rev_pair is (cosine, other need item, viewer offer item).
    A need is said to be met only when quotable() holds for it and its closest offer. closest_wording: the
    candidate was moved up because its own words are the closest to the viewer's.
    """
    out: list[Reason] = []
    if closest_wording and shared_terms:
        words = [t for t in shared_terms if not t.startswith(CONCEPT_PREFIX)] or shared_terms
        out.append(Reason("closest_wording", {"terms": "\n".join(words)}))
        shared_terms = None
    quotes = []
    if pair[1] >= 0 and quotable(pair[0], viewer.needs[pair[1]], other.offers[pair[2]]):
        quotes.append((pair[0], Reason("offer_for_need", {"offer": truncate(other.offers[pair[2]]),
                                                          "need": truncate(viewer.needs[pair[1]])})))
    if rev_pair[1] >= 0 and quotable(rev_pair[0], other.needs[rev_pair[1]], viewer.offers[rev_pair[2]]):
        quotes.append((rev_pair[0], Reason("need_for_offer", {"need": truncate(other.needs[rev_pair[1]]),
                                                              "offer": truncate(viewer.offers[rev_pair[2]])})))
    out.extend(r for _, r in sorted(quotes, key=lambda q: -q[0]))
    if not out and shared_terms:
        out.append(Reason("shared_terms", {"terms": "\n".join(shared_terms)}))
    shared_targets = [c for c in other.target_countries if c in viewer.target_countries]
    if other.side == SUPPORTER and other.target_countries:
        where = [c for c in other.target_countries if c == viewer.country or c in shared_targets]
        out.append(Reason("supports_in", {"countries": " ".join((where or list(other.target_countries))[:3])}))
    elif viewer.country and viewer.country in other.target_countries:
        out.append(Reason("works_in", {"country": viewer.country}))
    elif other.country and other.country in viewer.target_countries:
        out.append(Reason("based_in_target", {"country": other.country}))
    elif shared_targets:
        out.append(Reason("shared_targets", {"countries": " ".join(shared_targets[:3])}))
    categories = [c for c in other.technology_categories if c in viewer.technology_categories]
    if categories:
        out.append(Reason("shared_category", {"categories": " ".join(categories[:2])}))
    sectors = [s for s in other.sectors if s in viewer.sectors]
    if sectors:
        out.append(Reason("shared_sector", {"sectors": "\n".join(sectors[:2])}))
    if shared_terms and out and out[0].code != "shared_terms" and len(out) < limit:
        out.append(Reason("shared_terms", {"terms": "\n".join(shared_terms)}))
    return out[:limit]
