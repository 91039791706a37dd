"""uvicorn's HTTP protocol and event loop for `picgraph serve --workers N`.

A module of its own so that workers (spawned processes) can import both by name.

TCP_NODELAY: with --workers, uvicorn binds the listening socket itself without
IPPROTO_TCP, so asyncio leaves Nagle's algorithm on for accepted connections: each
response then waits ~40 ms for the client's delayed ACK. Setting it per connection
makes one worker and N workers behave alike.

One accept per wakeup: the workers share one listening socket, and asyncio accepts
every pending connection (up to the backlog, 2048) each time the socket is readable.
Keep-alive clients that connect at once (a browser, a load test, a connection pool)
all landed in whichever worker woke first, and `--workers 2` served 8 clients on one
core. Accepting one connection per event-loop pass lets every idle worker take its
share, and a busy worker, slower back to its loop, takes fewer. The listen backlog (the
kernel's queue) is unchanged.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

EVENT_LOOP = "resolvers.serving:BalancedEventLoop"  # uvicorn's `loop` setting


class NoDelayHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        connection = transport.get_extra_info("socket")
        if connection is not None and connection.family in (socket.AF_INET, socket.AF_INET6):
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


class BalancedEventLoop(asyncio.SelectorEventLoop):
    """asyncio's loop, accepting at most one connection each time a listener is readable."""

    def _accept_connection(
        self,
        protocol_factory: Any,
        sock: socket.socket,
        sslcontext: Any = None,
        server: Any = None,
        backlog: int = 100,
        *timeouts: Any,
    ) -> None:
        del backlog  # asyncio's count of accept() calls per wakeup, not the listen backlog
        super()._accept_connection(  # type: ignore[misc]
            protocol_factory, sock, sslcontext, server, 1, *timeouts
        )
