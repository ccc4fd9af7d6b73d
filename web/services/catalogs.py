"""What many pages show and seldom changes, computed once per process and reused until the data changes.

Reference data (technology categories, partner countries) is kept for a minute: it changes only when the seed
command runs. Figures derived from organizations (countries and sectors in use, counts, the technology overview)
are kept while the organization table's fingerprint stays the same: its newest updated_at and its highest id, one
index probe each, asked once per request. Every change to an organization (an import, a profile saved, an
approval) moves updated_at, so the next request sees it. While one request recomputes a value, the others get the
previous one instead of queuing behind it; only a process's very first request waits.

Answers to repeated questions asked of organizations (a directory search, a filter, a page of them) are kept the
same way, keyed by the question and the fingerprint it was answered under: a bounded number of them, the least
recently asked dropped first.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import Country, Organization, TechnologyCategory

T = TypeVar("T")
REFERENCE_SECONDS = 60.0
# A safety net, not the mechanism: a transaction that commits an older updated_at after a newer one was read
# would otherwise go unseen until the next change.
DERIVED_SECONDS = 300.0
ANSWERS = 512  # answers kept per kind of question; a directory answer is a few dozen ids
ANSWER_SECONDS = 60.0


@dataclass(frozen=True)
class Category:
    """A technology category as pages show it (a plain value, safe to share between requests and threads)."""

    slug: str
    name_en: str
    name_ja: str
    group: str
    description_en: str
    description_ja: str
    position: int

    def name(self, language: str) -> str:
        """The category's name in the given UI language."""
        return self.name_ja if language == "ja" else self.name_en


class Cached:
    """One value, recomputed when its key changes or it is older than max_age; the old one is served meanwhile."""

    def __init__(self, max_age: float) -> None:
        self.max_age = max_age
        self._lock = threading.Lock()
        self._entry: tuple[Hashable, float, Any] | None = None

    def _fresh(self, key: Hashable) -> bool:
        entry = self._entry
        return entry is not None and entry[0] == key and time.monotonic() - entry[1] < self.max_age

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        if self._fresh(key):
            return self._entry[2]  # type: ignore[index]
        previous = self._entry
        if previous is not None and not self._lock.acquire(blocking=False):
            return previous[2]  # another request is recomputing it
        if previous is None:
            self._lock.acquire()  # nothing to show yet: wait for the request computing it
        try:
            if not self._fresh(key):
                self._entry = (key, time.monotonic(), compute())
            return self._entry[2]  # type: ignore[index]
        finally:
            self._lock.release()


class Answers:
    """Answers keyed by (fingerprint, question): at most `size`, none older than max_age.

    An answer is stored under the fingerprint its caller read the data with, so once the data has moved on it is
    not asked for again; like the other derived values, a caller given the previous figures while another request
    recomputes them asks under the previous fingerprint meanwhile. Two requests missing the same question at once
    both compute it (the lock is not held while computing).
    """

    def __init__(self, size: int, max_age: float) -> None:
        self.size = size
        self.max_age = max_age
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and now - entry[0] < self.max_age:
                self._entries.move_to_end(key)
                return entry[1]  # type: ignore[no-any-return]
        value = compute()
        with self._lock:
            self._entries[key] = (now, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._entries)


class Catalogs:
    """The cached values of one database (one engine)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, Cached] = {}
        self._answers: dict[str, Answers] = {}

    def answers(self, name: str) -> Answers:
        with self._lock:
            if name not in self._answers:
                self._answers[name] = Answers(ANSWERS, ANSWER_SECONDS)
            return self._answers[name]

    def cached(self, name: str, max_age: float) -> Cached:
        with self._lock:
            if name not in self._values:
                self._values[name] = Cached(max_age)
            return self._values[name]


_CATALOGS: weakref.WeakKeyDictionary[Engine, Catalogs] = weakref.WeakKeyDictionary()
_CATALOGS_LOCK = threading.Lock()


def catalogs_of(session: Session) -> Catalogs:
    """The caches of the session's database (per engine, so two databases in one process never mix)."""
    engine = session.get_bind().engine
    with _CATALOGS_LOCK:
        catalogs = _CATALOGS.get(engine)
        if catalogs is None:
            catalogs = _CATALOGS[engine] = Catalogs()
        return catalogs


# Built once: composing it (and its cache key) on every view cost more than SQLite's two index probes.
_ORGANIZATIONS_VERSION = select(select(func.max(Organization.updated_at)).scalar_subquery(),
                                select(func.max(Organization.id)).scalar_subquery())


def organizations_version(session: Session) -> tuple:
    """A fingerprint of the organization table that every insert or update changes: two index probes."""
    return tuple(session.execute(_ORGANIZATIONS_VERSION).one())


def derived(session: Session, name: str, compute: Callable[[], T], version: tuple | None = None) -> T:
    """A value computed from organizations, recomputed when the organization table changed."""
    key = version if version is not None else organizations_version(session)
    return catalogs_of(session).cached(name, DERIVED_SECONDS).get(key, compute)


def answer(session: Session, name: str, version: tuple, question: Hashable, compute: Callable[[], T]) -> T:
    """The answer to a question asked of organizations, computed once per organizations_version (see Answers).
    compute must return a plain value (ids, counts), never ORM objects: answers are shared between sessions."""
    return catalogs_of(session).answers(name).get((version, question), compute)


def reference(session: Session, name: str, compute: Callable[[], T]) -> T:
    """A value computed from reference data, kept for a minute."""
    return catalogs_of(session).cached(name, REFERENCE_SECONDS).get(None, compute)


def categories(session: Session) -> list[Category]:
    """The technology categories in their display order."""
    def load() -> list[Category]:
        rows = session.scalars(select(TechnologyCategory)
                               .order_by(TechnologyCategory.position, TechnologyCategory.slug))
        return [Category(c.slug, c.name_en, c.name_ja, c.group, c.description_en, c.description_ja, c.position)
                for c in rows]
    return reference(session, "categories", load)


def partner_countries(session: Session) -> list[str]:
    """ISO codes of the JCM partner countries."""
    return reference(session, "partner_countries", lambda: sorted(
        session.scalars(select(Country.iso2).where(Country.is_jcm_partner.is_(True)))))

