"""Even out the connections the server processes serve, so no process's clients wait longer than another's.

With a listening socket per process (web.processes) the kernel hands each new connection to one process by a
hash of its addresses, and a keep-alive connection stays with that process. 64 clients came out 35/29, then
41/23 (`ss -tnp` during benchmarks/load.py). Both processes were busy and got the same share of the two cores,
so the larger one's clients waited almost twice as long as the other's: a p99 set by the kernel's hash.

So each process counts the connections that sent it a request lately and publishes the count in a small table
the supervisor shares with its processes (a file each maps, one slot per process). A process serving more than
its share plus one answers some of them with `Connection: close`; those clients reconnect (a browser does it
without a sound) and the kernel spreads them again, half of them on average to another process. Only half the
surplus is shed per look, as the others' counts are up to REFRESH_SECONDS old. One process: nothing of this runs.
"""

from __future__ import annotations

import math
import mmap
import os
import struct
import tempfile
import time
from pathlib import Path
from typing import Any

# Internal plumbing from the supervisor to the processes it spawns, not settings.
TABLE_ENV = "_MATCHMAKER_PROCESS_TABLE"
SLOT_ENV = "_MATCHMAKER_PROCESS_SLOT"
MAX_SLOTS = 256  # processes a table holds (SIGTTIN adds processes)
HEADER = struct.Struct("<q")  # the number of processes, written by the supervisor
SLOT = struct.Struct("<qd")  # active connections, and when they were counted (CLOCK_MONOTONIC, system-wide)
TABLE_BYTES = HEADER.size + MAX_SLOTS * SLOT.size
ACTIVE_SECONDS = 5.0  # a connection that sent a request this recently counts as active
REFRESH_SECONDS = 0.5  # how often a process counts, publishes and compares
STALE_SECONDS = 2.0  # a slot not refreshed this long belongs to an idle (or restarting) process: it counts 0


class ProcessTable:
    """The processes' active-connection counts, one slot each, in a file every process maps."""

    def __init__(self, path: str | Path, slot: int) -> None:
        if not 0 <= slot < MAX_SLOTS:
            raise ValueError(f"process slot {slot} outside 0..{MAX_SLOTS - 1}")
        self.slot = slot
        with open(path, "r+b") as handle:
            self.map = mmap.mmap(handle.fileno(), TABLE_BYTES)

    @staticmethod
    def create(processes: int) -> Path:
        """A new table for a supervisor (remove the file when it stops)."""
        handle, name = tempfile.mkstemp(prefix="matchmaker-processes-")
        with os.fdopen(handle, "wb") as file:
            file.write(b"\0" * TABLE_BYTES)
        set_processes(name, processes)
        return Path(name)

    @classmethod
    def from_environment(cls) -> ProcessTable | None:
        """This process's table, when a supervisor started it with one."""
        path, slot = os.environ.get(TABLE_ENV), os.environ.get(SLOT_ENV)
        if not path or slot is None or not Path(path).exists():
            return None
        return cls(path, int(slot))

    def processes(self) -> int:
        return max(1, min(MAX_SLOTS, HEADER.unpack_from(self.map, 0)[0]))

    def publish(self, active: int, now: float) -> None:
        SLOT.pack_into(self.map, HEADER.size + self.slot * SLOT.size, active, now)

    def others(self, now: float) -> list[int]:
        """The other processes' counts; 0 for one that has not counted lately."""
        counts = []
        for slot in range(self.processes()):
            if slot != self.slot:
                active, when = SLOT.unpack_from(self.map, HEADER.size + slot * SLOT.size)
                counts.append(active if now - when <= STALE_SECONDS else 0)
        return counts


def set_processes(path: str | Path, processes: int) -> None:
    """The supervisor records how many processes share the table (at start, and on SIGTTIN/SIGTTOU)."""
    with open(path, "r+b") as handle:
        handle.write(HEADER.pack(processes))


class ConnectionBalancer:
    """Pure ASGI: counts this process's active connections and closes its surplus after their response."""

    def __init__(self, app: Any, table: ProcessTable) -> None:
        self.app = app
        self.table = table
        self.seen: dict[tuple, float] = {}  # connection (client address, port) -> its last request
        self.surplus = 0
        self.next_look = 0.0

    def look(self, now: float) -> None:
        """Forget quiet connections, publish the count, and work out how many to shed."""
        cutoff = now - ACTIVE_SECONDS
        self.seen = {key: when for key, when in self.seen.items() if when >= cutoff}
        mine = len(self.seen)
        self.table.publish(mine, now)
        others = self.table.others(now)
        share = math.ceil((mine + sum(others)) / (len(others) + 1))
        self.surplus = math.ceil(max(0, mine - share - 1) / 2)
        self.next_look = now + REFRESH_SECONDS

    async def __call__(self, scope, receive, send):
        client = scope.get("client") if scope["type"] == "http" else None
        if not client:
            await self.app(scope, receive, send)
            return
        key = tuple(client)
        now = time.monotonic()
        self.seen[key] = now
        if now >= self.next_look:
            self.look(now)
        if self.surplus <= 0:
            await self.app(scope, receive, send)
            return
        self.surplus -= 1
        self.seen.pop(key, None)

        async def send_closing(message):
            if message["type"] == "http.response.start":
                headers = [(name, value) for name, value in message.get("headers", []) if name.lower() != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, send_closing)
