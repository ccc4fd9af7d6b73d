"""A real `matchmaker serve` in tests: start it, wait for it, and see its processes and their connections in /proc."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import httpx


def start_serve(tmp_path, name: str, seed: bool = False, **settings: str) -> tuple[subprocess.Popen, int]:
    """`matchmaker serve` on a free port with a fresh SQLite database `name`.db in tmp_path, its output in
    tmp_path/serve.log (a file, not a pipe: a full pipe would stall the server). settings: MATCHMAKER_ values.
    Returns the process and its port."""
    from tests.web.live_support import free_port

    port = free_port()
    env = {**os.environ, "MATCHMAKER_DATABASE_URL": f"sqlite:///{tmp_path / (name + '.db')}",
           "MATCHMAKER_DATA_DIR": str(tmp_path / "data"), "MATCHMAKER_EMBEDDING_MODEL": "hashing",
           "MATCHMAKER_SECRET_KEY": f"{name}-test-key", "MATCHMAKER_SHUTDOWN_TIMEOUT": "3",
           "PYTHONFAULTHANDLER": "1", **{f"MATCHMAKER_{key.upper()}": value for key, value in settings.items()}}
    _cli(env, "db", "upgrade")
    if seed:
        _cli(env, "seed")
    with open(tmp_path / "serve.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--port", str(port)], env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    return process, port


def _cli(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "web.cli", *args], env=env, check=True, capture_output=True, timeout=120)


def _wait_until_up(base: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "server exited at start"
        try:
            if httpx.get(base + "/login", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("server did not start")


def _children(pid: int) -> list[int]:
    """Process ids of the living processes whose parent is pid (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":  # a zombie is dead, only not yet reaped
                out.append(int(entry))
    return out


def _tcp_table() -> list[list[str]]:
    """The rows of /proc/net/tcp (IPv4 sockets), split into fields."""
    with open("/proc/net/tcp") as table:
        return [line.split() for line in table.readlines()[1:]]


def _socket_inodes(pid: int) -> set[str]:
    """The inodes of the sockets the process holds open (from /proc)."""
    inodes = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _accepting_process(client_port: int, pids: list[int]) -> int | None:
    """Which of pids holds the server end of the TCP connection from 127.0.0.1:client_port."""
    inodes = {fields[9] for fields in _tcp_table() if int(fields[2].split(":")[1], 16) == client_port}
    return next((pid for pid in pids if _socket_inodes(pid) & inodes), None)


def _listening(pid: int) -> bool:
    """Whether the process holds a listening TCP socket (state 0A)."""
    return bool(_socket_inodes(pid) & {fields[9] for fields in _tcp_table() if fields[3] == "0A"})


def _is_spawned_worker(pid: int) -> bool:
    """A worker process the supervisor spawned (multiprocessing's resource tracker is not one)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            command = cmdline.read()
    except OSError:
        return False
    return b"multiprocessing.spawn" in command and b"resource_tracker" not in command


def kill_with_workers(process) -> None:
    """SIGKILL a `matchmaker serve` left running by a failed test, and its worker processes: workers outlive a
    killed supervisor, and would go on serving (and taking CPU from the tests after it)."""
    if process.poll() is not None:
        return
    leftover = [pid for pid in _children(process.pid) if _is_spawned_worker(pid)]
    process.kill()
    process.wait()
    for pid in leftover:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
