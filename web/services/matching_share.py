"""Whole match indexes kept in a folder, so a server's processes and its next start build once between them.

Each process of a server keeps its own index in memory (web.services.matching_index). Before, each built it
whole after a start: with two processes, two builds of the same index side by side (a minute of CPU each at
100,000 organizations, and a process replaced after a crash or a SIGHUP rebuilt it again while its members saw
"being prepared"). Now a whole build takes the folder's lock for its model and database; under it a process
first reads the newest index kept there and brings it up to date (refresh_state: nothing to do when the
organizations did not change, the changed rows when few did), and builds only when that cannot be done, keeping
what it built for the next. The others wait on the lock and then find it.

A kept index is a pickle, which runs code when read: only a folder that this user owns and nobody else can write
to is used (it is made so), and its files are written owner-only. One file per model is kept (the newest, for
the database that wrote last), about the size of the index in memory. Its name carries a fingerprint of the code
and libraries that pickled it: after an upgrade an older file is never read; it is removed when the new one is
written.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import logging
import os
import pickle
import re
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

# What a kept index's objects are made of: their classes' code and the libraries they pickle (numpy arrays,
# scipy matrices, the scikit-learn vectorizer). A file pickled by any other combination is not read.
_SOURCES = ("matchmaker", "web/services/matching_build.py", "web/services/matching_vectors.py")
_LIBRARIES = ("numpy", "scipy", "scikit-learn")
_ROOT = Path(__file__).resolve().parents[2]
_fingerprint: str | None = None
LOCK_POLL_SECONDS = 0.1
HOUR_SECONDS, WEEK_SECONDS = 3600, 7 * 24 * 3600


def code_fingerprint() -> str:
    """A digest of the index's code and libraries (computed once per process)."""
    global _fingerprint
    if _fingerprint is None:
        digest = hashlib.sha256(sys.version.encode())
        for library in _LIBRARIES:
            digest.update(f"{library}={importlib.metadata.version(library)}".encode())
        for source in _SOURCES:
            path = _ROOT / source
            for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
                digest.update(str(file.relative_to(_ROOT)).encode())
                digest.update(file.read_bytes())
        _fingerprint = digest.hexdigest()
    return _fingerprint


def usable_folder(folder: Path) -> bool:
    """Make the folder (owner-only) if missing; True if it is a folder of this user that nobody else can write."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
    except OSError as exc:
        log.warning("match index folder %s cannot be used (%s): each process builds its own index", folder, exc)
        return False
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        log.warning("match index folder %s is not a folder of this user closed to others: it is not used, and "
                    "each process builds its own index", folder)
        return False
    return True


class KeptIndexes:
    """The folder of kept indexes for one database (its URL, password left out, names the files)."""

    def __init__(self, folder: Path, database_url: str) -> None:
        self.folder = folder
        self.database = make_url(database_url).render_as_string(hide_password=True)

    def _stem(self, model: str) -> str:
        key = hashlib.sha256(f"{code_fingerprint()}\n{self.database}\n{model}".encode()).hexdigest()[:24]
        return f"{re.sub(r'[^A-Za-z0-9._-]', '_', model)[:60]}-{key}"

    def path(self, model: str) -> Path:
        return self.folder / f"{self._stem(model)}.pickle"

    @contextmanager
    def locked(self, model: str, stopping: Callable[[], bool]) -> Iterator[None]:
        """The model's lock, held across processes (flock); waits for it while stopping() is false. Where the
        folder cannot be locked (a file system without flock) the build goes on unlocked: at worst two processes
        build, as each did before, and the file is still replaced whole."""
        try:
            lock = open(self.folder / f"{self._stem(model)}.lock", "a+b")  # noqa: SIM115 - closed below
        except OSError as exc:
            log.warning("match index folder %s cannot be locked (%s): building without waiting for others",
                        self.folder, exc)
            yield
            return
        with lock:
            with suppress(OSError):  # owner-only like the index; a lock file someone else made still locks
                os.fchmod(lock.fileno(), 0o600)
            while True:
                try:
                    fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if stopping():
                        raise RuntimeError("the server is stopping: no index build") from None
                    time.sleep(LOCK_POLL_SECONDS)
                except OSError as exc:
                    log.warning("match index folder %s cannot be locked (%s): building without waiting for "
                                "others", self.folder, exc)
                    yield
                    return
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def read(self, model: str) -> Any | None:
        """The kept index of a model (an IndexState), or None; a file that cannot be read is removed."""
        path = self.path(model)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("kept match index %s cannot be read (%s): building instead", path, exc)
            return None
        started = time.perf_counter()
        try:
            outcome, state = pickle.loads(data)
            if outcome != "built" or getattr(state, "model", None) != model:
                raise ValueError("not an index of this model")
        except Exception as exc:  # noqa: BLE001 - a torn or foreign file: remove it, build instead
            log.warning("kept match index %s is not usable (%s): removed, building instead", path, exc)
            path.unlink(missing_ok=True)
            return None
        log.info("match index for %s read from %s (%.0f MB) in %.2f s", model, path, len(data) / 2**20,
                 time.perf_counter() - started)
        return state

    def write(self, model: str, data: bytes) -> None:
        """Keep a build's answer (the pickled ("built", state)) as the model's newest index, whole or not at all."""
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=self._stem(model), suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, self.path(model))
        except OSError as exc:
            Path(temporary).unlink(missing_ok=True)
            log.warning("match index for %s could not be kept in %s (%s)", model, self.folder, exc)
            return
        self._remove_others(model)

    def _remove_others(self, model: str) -> None:
        """One file per model: the model's files pickled by other code (an upgrade) or for another database
        sharing the folder go; so do other models' files not written for a week (a model no longer used: the
        embedding precision changed, say) and pieces of writes a killed process left (over an hour old)."""
        kept, slug = self.path(model), re.escape(self._stem(model).rsplit("-", 1)[0])
        pickled, piece = re.compile(rf"{slug}-[0-9a-f]{{24}}\.pickle"), re.compile(r".+-[0-9a-f]{24}.*\.tmp")
        now = time.time()
        for path in self.folder.iterdir():
            try:
                if path == kept or not path.name.endswith((".pickle", ".tmp")):
                    continue
                age = now - path.stat().st_mtime
                if pickled.fullmatch(path.name) or (path.suffix == ".pickle" and age > WEEK_SECONDS) \
                        or (piece.fullmatch(path.name) and age > HOUR_SECONDS):
                    path.unlink()
            except OSError:
                pass  # gone already: another process tidied up
