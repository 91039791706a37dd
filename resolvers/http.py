"""The ASGI app: GraphQL at /graphql (GraphiQL in a browser), the gallery at /, served by
uvicorn (`picgraph serve`) or, in Lambda, by Mangum for every path but /graphql
(which resolvers/apigw.py answers without it). /graphql's rules live in
resolvers/graphql_http.py, shared by both.

GraphQL execution (resolvers, boto3, Pillow: all blocking) runs in a bounded thread
pool, never on the event loop, so that /health and other requests keep answering
while one request processes an image or waits on a stalled backend.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from resolvers.assets import gallery_page, static_routes
from resolvers.bootstrap import App, get_app
from resolvers.graphql_http import (
    PROCESSING_FIELD,
    GraphQLHttp,
    HttpRequest,
    HttpResponse,
    new_request_id,
    unexpected_error_response,
)
from resolvers.transport import LimitRequestBody, error_response

# Threads that run GraphQL operations at once; more requests wait their turn.
EXECUTION_THREADS = 16
# Operations that process an image (seconds of CPU, hundreds of MB) queue apart, so
# that a burst of them never takes the threads every other request needs.
PROCESSING_THREADS = max(1, os.cpu_count() or 1)
__all__ = ["EXECUTION_THREADS", "PROCESSING_FIELD", "PROCESSING_THREADS", "create_asgi_app"]


class GraphQLEndpoint:
    """/graphql on Starlette: resolvers/graphql_http.py's rules, the operation in a thread."""

    def __init__(self, app_provider: Callable[[], App]) -> None:
        self.core = GraphQLHttp(app_provider)
        self._limiter = anyio.CapacityLimiter(EXECUTION_THREADS)
        self._processing_limiter = anyio.CapacityLimiter(PROCESSING_THREADS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # no subscriptions: nothing to serve over WebSocket
            await WebSocket(scope, receive=receive, send=send).close()
            return
        request = Request(scope=scope, receive=receive)
        body = await request.body() if request.method == "POST" else b""
        prepared = self.core.prepare(
            HttpRequest(
                method=request.method,
                headers=request.headers,
                query_params=request.query_params,
                body=body,
                request_id=_request_id(scope),
                upstream_event=_upstream_event(scope),
            )
        )
        if not isinstance(prepared, HttpResponse):
            limiter = self._processing_limiter if prepared.processes_an_image else self._limiter
            prepared = await anyio.to_thread.run_sync(self.core.execute, prepared, limiter=limiter)
        await starlette_response(prepared)(scope, receive, send)


def starlette_response(response: HttpResponse) -> Response:
    return Response(response.body, status_code=response.status, headers=response.headers)


def _upstream_event(scope: Mapping[str, Any]) -> Mapping[str, Any] | None:
    event = scope.get("aws.event")  # set by Mangum
    return event if isinstance(event, dict) else None


def _request_id(scope: Mapping[str, Any]) -> str:
    lambda_context = scope.get("aws.context")
    request_id = getattr(lambda_context, "aws_request_id", None)
    return str(request_id) if request_id else new_request_id()


async def _health(_: Request) -> Response:
    """Liveness of this process only: never touches AWS, never waits for a thread."""
    return JSONResponse({"status": "ok"})


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return error_response(exc.status_code, str(exc.detail), headers=exc.headers)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    return starlette_response(
        unexpected_error_response(_request_id(request.scope), request.url.path, exc)
    )


def create_asgi_app(
    app_provider: Callable[[], App] = get_app, *, cors_origins: tuple[str, ...] = ()
) -> Starlette:
    graphql = GraphQLEndpoint(app_provider)
    middleware = [Middleware(LimitRequestBody)]
    if cors_origins:
        middleware.insert(
            0,
            Middleware(
                CORSMiddleware,
                allow_origins=list(cors_origins),
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["authorization", "content-type"],
            ),
        )
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/health", _health, methods=["GET"]),
            Route("/", gallery_page, methods=["GET"]),
            *static_routes(),
        ],
        middleware=middleware,
        exception_handlers={StarletteHTTPException: _http_error, Exception: _unexpected_error},
    )
