"""Several server processes, each with a listening socket of its own, so the kernel spreads new connections.

uvicorn's supervisor gives every process the same listening socket. Whichever process wakes first then accepts
a whole burst of new connections (asyncio accepts until the queue is empty): with two processes and a burst of 8
or 32 clients, one process got them all and the other core stayed idle (`benchmarks/load.py`, both on SQLite
and PostgreSQL). Here each process listens on its own socket bound to the same address with SO_REUSEPORT, and
the kernel hands each new connection to one of them by a hash of its addresses. The rest is uvicorn's
supervisor: it restarts a process that dies (on the same socket, which kept its queue meanwhile) and passes
SIGTERM and SIGINT on.

A process also stops when its supervisor dies, even by SIGKILL or the out-of-memory killer: before, the processes
went on serving on their sockets with nobody to restart or stop them, and a new server could not take the port
from them cleanly.

The socket names its protocol (TCP): asyncio turns Nagle's algorithm off (TCP_NODELAY) only on connections
accepted from a socket that says it is TCP, and one made as uvicorn makes its own (`socket.socket(family)`,
protocol 0) says nothing. With Nagle on, a response's body waited for the client to acknowledge its headers,
which a client delays by up to 40 ms: every small page took 44 ms on a keep-alive connection with
MATCHMAKER_WORKERS=2 against 1.7 ms with one process.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import sys

from uvicorn import Config
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess, Process, logger

from web.balance import SLOT_ENV, TABLE_ENV, ProcessTable, set_processes

SUPERVISOR_ENV = "MATCHMAKER_SUPERVISOR_PID"  # internal plumbing to the spawned processes, not a setting
LOG_LEVEL_ENV = "MATCHMAKER_SUPERVISOR_LOG_LEVEL"  # the same: the level the supervisor's own log has
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def stop_with_supervisor(supervisor: int) -> bool:
    """Have Linux send this process SIGTERM when its parent (the supervisor, pid `supervisor`) dies; if it has died
    already, stop now. SIGTERM is the graceful stop: running requests get the shutdown timeout.
    Returns whether the kernel took the request."""
    return stop_when_parent_dies(supervisor)


def stop_when_parent_dies(parent: int) -> bool:
    """Have Linux send this process SIGTERM when its parent (pid `parent`; strictly, the thread that started it)
    dies, or stop now if it has died already. Returns whether the kernel took the request."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        taken = libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0
    except (OSError, AttributeError):
        taken = False
    if not taken:
        logger.warning("This process will not stop by itself if its parent dies (prctl refused).")
    if os.getppid() != parent:  # the parent died before the request: nobody else would signal it
        os.kill(os.getpid(), signal.SIGTERM)
    return taken


class WatchedProcess(Process):
    """uvicorn's server process, which also stops when its supervisor dies (stop_with_supervisor)."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # runs in the spawned process
        supervisor = os.environ.get(SUPERVISOR_ENV)
        if supervisor:
            stop_with_supervisor(int(supervisor))
        level = os.environ.get(LOG_LEVEL_ENV)
        if level:
            # A spawned process starts with Python's default log (warnings only): the platform's own INFO lines
            # (the match index published or read, mail sent) went nowhere with more than one process.
            logging.basicConfig(level=int(level))
        super().target(sockets)


def can_spread(config: Config) -> bool:
    """Whether this platform and address can take a socket per process (Linux's SO_REUSEPORT balances; a port
    of 0 would give each process a different one)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT") and config.port != 0


def reuse_port_socket(config: Config) -> socket.socket:
    """A socket bound to the configured address that other sockets may bind too; the process listens on it."""
    family = socket.AF_INET6 if config.host and ":" in config.host else socket.AF_INET
    # IPPROTO_TCP, not 0: accepted connections inherit it, and asyncio sets TCP_NODELAY only on those (module doc).
    sock = socket.socket(family=family, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((config.host, config.port))
    except OSError as exc:
        logger.error(exc)
        sys.exit(STARTUP_FAILURE)
    sock.set_inheritable(True)
    return sock


class SpreadMultiprocess(Multiprocess):
    """uvicorn's supervisor with one socket per process slot (a restarted process takes its slot's socket)."""

    def __init__(self, config: Config) -> None:
        sockets = [reuse_port_socket(config) for _ in range(config.workers)]
        logger.info("Listening on %s:%d with %d processes, a socket each", config.host, config.port, len(sockets))
        super().__init__(config, sockets=sockets)
        # Where the processes publish their connection counts (web.balance evens them out).
        self.table = ProcessTable.create(config.workers)

    def _process(self, slot: int) -> Process:
        # Spawned processes take the environment as it is when they start, which is right after this.
        os.environ[TABLE_ENV], os.environ[SLOT_ENV] = str(self.table), str(slot)
        os.environ[SUPERVISOR_ENV] = str(os.getpid())
        root = logging.getLogger()
        if root.handlers:  # the supervisor's log was set up (`matchmaker serve`): its processes log alike
            os.environ[LOG_LEVEL_ENV] = str(root.level)
        return WatchedProcess(self.config, [self.sockets[slot]])

    def run(self) -> None:
        try:
            super().run()
        finally:
            self.table.unlink(missing_ok=True)

    def init_processes(self) -> None:
        for slot in range(self.processes_num):
            process = self._process(slot)
            process.start()
            self.processes.append(process)

    def keep_subprocess_alive(self) -> None:
        """As uvicorn's, but the replacement gets the dead process's socket."""
        if self.should_exit.is_set():
            return
        for slot, process in enumerate(self.processes):
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()
            process.join()
            if process.exitcode == STARTUP_FAILURE:
                logger.error(f"Child process [{process.pid}] failed to start, stopping the parent process.")
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            logger.info(f"Child process [{process.pid}] died")
            replacement = self._process(slot)
            replacement.start()
            self.processes[slot] = replacement

    def restart_all(self) -> None:
        """SIGHUP: replace each process in turn, the new one on the old one's socket, once it is ready."""
        for slot, old in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new = self._process(slot)
            new.start()
            if not new.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
                new.kill()
                new.join()
                logger.error(f"New child process [{new.pid}] was not ready in time; keeping [{old.pid}].")
                return
            old.terminate()
            old.join()
            self.processes[slot] = new

    def handle_ttin(self) -> None:
        """SIGTTIN: one more process, on a socket of its own."""
        logger.info("Received SIGTTIN, increasing the number of processes.")
        self.sockets.append(reuse_port_socket(self.config))
        self.processes_num += 1
        set_processes(self.table, self.processes_num)
        process = self._process(len(self.sockets) - 1)
        process.start()
        self.processes.append(process)

    def handle_ttou(self) -> None:
        """SIGTTOU: one process fewer; its socket closes with it (connections still in its queue are reset)."""
        logger.info("Received SIGTTOU, decreasing the number of processes.")
        if self.processes_num <= 1:
            logger.info("Already reached one process, cannot decrease the number of processes anymore.")
            return
        self.processes_num -= 1
        set_processes(self.table, self.processes_num)
        process = self.processes.pop()
        process.terminate()
        process.join()
        self.sockets.pop().close()
