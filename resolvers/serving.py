"""uvicorn's HTTP protocol with TCP_NODELAY on every connection, for `picgraph serve`.

With --workers, uvicorn binds the listening socket itself without IPPROTO_TCP, so
asyncio leaves Nagle's algorithm on for accepted connections: each response then
waits ~40 ms for the client's delayed ACK. Setting it per connection makes one
worker and N workers behave alike. A module of its own so that workers (spawned
processes) can import it by name.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.auto import AutoHTTPProtocol


class NoDelayHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        connection = transport.get_extra_info("socket")
        if connection is not None and connection.family in (socket.AF_INET, socket.AF_INET6):
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
