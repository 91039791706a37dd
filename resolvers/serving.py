"""uvicorn's HTTP protocol and event loop for `picgraph serve --workers N`.

A module of its own so that workers (spawned processes) can import both by name.

TCP_NODELAY: with --workers, uvicorn binds the listening socket itself without
IPPROTO_TCP, so asyncio leaves Nagle's algorithm on for accepted connections: each
response then waits ~40 ms for the client's delayed ACK. Setting it per connection
makes one worker and N workers behave alike.

Sharing connections: the workers share one listening socket, and asyncio accepts every
pending connection (up to the backlog, 2048) each time the socket is readable. Keep-alive
clients that connect at once (a browser, a load test, a connection pool) all landed in
whichever worker woke first, and `--workers 2` served 8 clients on one core. Here a
worker accepts one connection per wakeup, and a worker that already holds open
connections waits a little (0.25 ms for each, at most 2 ms) before it accepts the next,
which leaves the other workers, woken by the same connection, time to take theirs even
on a busy machine. A worker with no open connection accepts at once, so a client that
opens a connection per request waits for nothing. The listen backlog (the kernel's
queue) is unchanged.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

EVENT_LOOP = "resolvers.serving:BalancedEventLoop"  # uvicorn's `loop` setting
ACCEPT_DELAY_PER_CONNECTION = 0.00025  # seconds
MAX_ACCEPT_DELAY = 0.002
_open_connections = 0  # in this process (one event loop per worker)


def open_connections() -> int:
    return _open_connections


class NoDelayHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        global _open_connections
        _open_connections += 1
        connection = transport.get_extra_info("socket")
        if connection is not None and connection.family in (socket.AF_INET, socket.AF_INET6):
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        global _open_connections
        _open_connections -= 1
        super().connection_lost(exc)


class BalancedEventLoop(asyncio.SelectorEventLoop):
    """asyncio's loop: one accept per wakeup, later ones deferred while connections are open."""

    def _accept_connection(
        self,
        protocol_factory: Any,
        sock: socket.socket,
        sslcontext: Any = None,
        server: Any = None,
        backlog: int = 100,
        *timeouts: Any,
    ) -> None:
        # `backlog` is asyncio's count of accept() calls per wakeup, not the listen backlog.
        super()._accept_connection(  # type: ignore[misc]
            protocol_factory, sock, sslcontext, server, 1, *timeouts
        )
        delay = min(MAX_ACCEPT_DELAY, ACCEPT_DELAY_PER_CONNECTION * _open_connections)
        if delay <= 0 or server is None:
            return
        self._remove_reader(sock.fileno())  # type: ignore[attr-defined]
        arguments = (protocol_factory, sock, sslcontext, server, backlog, *timeouts)
        self.call_later(delay, self._resume_accepting, server, sock, arguments)

    def _resume_accepting(
        self, server: Any, sock: socket.socket, arguments: tuple[Any, ...]
    ) -> None:
        if server.is_serving() and sock.fileno() != -1:
            self._add_reader(sock.fileno(), self._accept_connection, *arguments)  # type: ignore[attr-defined]
