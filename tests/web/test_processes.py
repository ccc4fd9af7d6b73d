"""The listening sockets `matchmaker serve` makes for several processes (web.processes)."""

from __future__ import annotations

import asyncio
import multiprocessing
import socket

from uvicorn import Config

from tests.web.live_support import free_port
from web.processes import reuse_port_socket


def _nodelay_of_accepted(sock: socket.socket) -> int:
    """TCP_NODELAY of a connection that asyncio (as uvicorn serves) accepts from sock."""

    async def main() -> int:
        seen: asyncio.Future = asyncio.get_running_loop().create_future()

        async def handle(reader, writer):
            seen.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(handle, sock=sock)
        async with server:
            _reader, writer = await asyncio.open_connection(*sock.getsockname()[:2])
            value = await asyncio.wait_for(seen, 10)
            writer.close()
            return value

    return asyncio.run(main())


def _in_spawned_process(sock: socket.socket, answer) -> None:
    answer.put(_nodelay_of_accepted(sock))


def test_connections_accepted_from_a_process_socket_have_nagle_off():
    # Before: the socket said protocol 0, asyncio left Nagle on, and a response's body waited up to 40 ms for
    # the acknowledgement of its headers.
    sock = reuse_port_socket(Config("web.main:app", host="127.0.0.1", port=free_port()))
    try:
        assert sock.proto == socket.IPPROTO_TCP
        assert _nodelay_of_accepted(sock) != 0
    finally:
        sock.close()


def test_the_socket_keeps_nagle_off_in_a_spawned_process():
    # uvicorn's supervisor hands each process its socket through multiprocessing's spawn, as here.
    context = multiprocessing.get_context("spawn")
    sock = reuse_port_socket(Config("web.main:app", host="127.0.0.1", port=free_port()))
    answer = context.Queue()
    try:
        process = context.Process(target=_in_spawned_process, args=(sock, answer))
        process.start()
        value = answer.get(timeout=60)
        process.join(30)
        assert process.exitcode == 0
        assert value != 0
    finally:
        sock.close()
