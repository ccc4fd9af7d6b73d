"""A small raw asyncio HTTP/1.1 client for benchmarks/load.py: keep-alive, little CPU per request."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

HOST = "127.0.0.1"  # the load goes to this machine only


@dataclass
class Stats:
    """What one step saw: latencies of served responses (ms) and the counts of everything else."""

    latencies: list[float] = field(default_factory=list)
    count: int = 0
    errors_5xx: int = 0  # every 5xx, 503 included
    busy: int = 0  # 503 (past capacity)
    timeouts: int = 0
    conn_errors: int = 0
    unexpected: int = 0  # answers other than 200/303/5xx (e.g. a 4xx)
    seconds: float = 1.0
    by_operation: dict[str, list[float]] = field(default_factory=dict)  # served latencies per operation
    failed_by_operation: dict[str, int] = field(default_factory=dict)  # timeouts and 5xx other than 503

    @property
    def answered(self) -> int:
        """Requests that got an answer (any status): what throughput counts."""
        return self.count - self.timeouts - self.conn_errors


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(round(p / 100 * (len(sorted_values) - 1))))]


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            parts.append(await reader.readexactly(size + 2))
            if size == 0:
                break
        body = b"".join(p[:-2] for p in parts)
    else:
        body = await reader.read()
    return status, headers, body


def _request_bytes(method: str, path: str, headers: dict[str, str], body: bytes | None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body is not None:
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


async def http_request(port: int, method: str, path: str, headers: dict[str, str] | None = None,
                       body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request on its own connection (set-up and log-in)."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(_request_bytes(method, path, {**(headers or {}), "Connection": "close"}, body))
        return await _read_response(reader)
    finally:
        writer.close()


class Client:
    """One logged-in member on one keep-alive connection (reopened after an error)."""

    def __init__(self, port: int, cookie: str, timeout: float) -> None:
        self.port = port
        self.cookie = cookie
        self.timeout = timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def call(self, method: str, path: str, body: bytes | None, stats: Stats, operation: str = "") -> int | None:
        """Send one request and note the outcome in stats; returns the status (None on error or timeout)."""
        started = time.perf_counter()
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
            self.writer.write(_request_bytes(method, path, {"Cookie": self.cookie}, body))
            status, headers, _ = await asyncio.wait_for(_read_response(self.reader), self.timeout)
        except asyncio.TimeoutError:
            stats.count += 1
            stats.timeouts += 1
            stats.failed_by_operation[operation or path] = stats.failed_by_operation.get(operation or path, 0) + 1
            self.close()
            return None
        except (OSError, asyncio.IncompleteReadError, ValueError):
            stats.count += 1
            stats.conn_errors += 1
            self.close()
            await asyncio.sleep(0.05)
            return None
        stats.count += 1
        if status >= 500:
            stats.errors_5xx += 1
            stats.busy += status == 503
            if status != 503:
                stats.failed_by_operation[operation or path] = stats.failed_by_operation.get(operation or path, 0) + 1
        elif status in (200, 303):
            stats.latencies.append((time.perf_counter() - started) * 1000)
            stats.by_operation.setdefault(operation or path, []).append(stats.latencies[-1])
        else:
            stats.unexpected += 1
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None
