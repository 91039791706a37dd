"""The ASGI app: GraphQL at /graphql (GraphiQL in a browser), the gallery at /, served by
uvicorn or Mangum.

GraphQL execution (resolvers, boto3, Pillow: all blocking) runs in a bounded thread
pool, never on the event loop, so that /health and other requests keep answering
while one request processes an image or waits on a stalled backend.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import anyio.to_thread
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from resolvers.assets import gallery_page, graphiql_html, static_routes
from resolvers.bootstrap import App, get_app
from resolvers.context import Context
from resolvers.errors import INTERNAL_SERVER_ERROR, MASKED_MESSAGE
from resolvers.identity import AuthenticationError, viewer_from_api_gateway, viewer_from_bearer
from resolvers.schema import schema_for
from resolvers.transport import (
    LimitRequestBody,
    TransportError,
    check_request_shape,
    error_response,
    parse_json_body,
    transport_error_response,
)

logger = logging.getLogger("picgraph.http")

# Threads that run GraphQL operations at once; more requests wait their turn.
EXECUTION_THREADS = 16
# Operations that process an image (seconds of CPU, hundreds of MB) queue apart, so
# that a burst of them never takes the threads every other request needs.
PROCESSING_FIELD = "completeImageUpload"
PROCESSING_THREADS = max(1, os.cpu_count() or 1)


class PicgraphGraphQL(GraphQL[Context, None]):
    def __init__(self, app_provider: Callable[[], App]) -> None:
        settings = app_provider().settings
        schema = schema_for(settings)
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.introspection else None,
            allow_queries_via_get=True,  # mutations over GET: 405 (execute_single)
        )
        self._app_provider = app_provider
        self._limiter = anyio.CapacityLimiter(EXECUTION_THREADS)
        self._processing_limiter = anyio.CapacityLimiter(PROCESSING_THREADS)
        self._ide_html: str | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # no subscriptions: nothing to serve over WebSocket
            await WebSocket(scope, receive=receive, send=send).close()
            return
        response: Response
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except TransportError as exc:
            response = transport_error_response(exc)
        except HTTPException as exc:  # Strawberry's own refusals
            response = error_response(exc.status_code, exc.reason)
        await response(scope, receive, send)

    def decode_json(self, data: str | bytes) -> object:
        return parse_json_body(data.encode() if isinstance(data, str) else data)

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData:
        if request.method == "GET":
            data: Any = self.parse_query_params(request.query_params)
        else:
            content_type, _ = parse_content_type(request.content_type or "")
            if content_type != "application/json":
                raise TransportError(415, "Send GraphQL requests as application/json.")
            data = self.parse_json(await request.get_body())
        data = check_request_shape(data)
        return GraphQLRequestData(
            query=data["query"],
            variables=data.get("variables"),
            operation_name=data.get("operationName"),
            extensions=data.get("extensions"),
        )

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        execute = partial(
            self.schema.execute_sync,
            request_data.query,
            variable_values=request_data.variables,
            context_value=context,
            root_value=root_value,
            operation_name=request_data.operation_name,
            allowed_operation_types=OperationType.from_http(request_adapter.method),
            operation_extensions=request_data.extensions,
        )
        try:
            return await anyio.to_thread.run_sync(execute, limiter=self._limiter_for(request_data))
        except InvalidOperationTypeError as exc:
            raise TransportError(
                405,
                exc.as_http_error_reason(request_adapter.method),
                headers={"Allow": "POST"},
            ) from exc
        except CannotGetOperationTypeError as exc:
            raise TransportError(400, exc.as_http_error_reason()) from exc
        except MissingQueryError as exc:
            raise TransportError(400, "The request has no `query` string.") from exc

    def _limiter_for(self, request_data: GraphQLRequestData) -> anyio.CapacityLimiter:
        # A scheduling hint only: a false match (the name in a comment) merely queues
        # the request with the image processing ones; every answer stays the same.
        if PROCESSING_FIELD in (request_data.query or ""):
            return self._processing_limiter
        return self._limiter

    @property
    def graphql_ide_html(self) -> str:
        if self._ide_html is None:
            self._ide_html = graphiql_html(super().graphql_ide_html)
        return self._ide_html

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        app = self._app_provider()
        context = Context(app=app, request_id=_request_id(request.scope))
        try:
            context.viewer_id = _viewer(request, app)
        except AuthenticationError as exc:
            context.auth_error = str(exc)
        return context


def _viewer(request: Request | WebSocket, app: App) -> str:
    event = request.scope.get("aws.event")
    if isinstance(event, dict):
        upstream = viewer_from_api_gateway(event)
        if upstream is not None:
            return upstream
    if app.settings.auth_mode == "upstream":
        raise AuthenticationError("Authentication required.")
    return viewer_from_bearer(
        request.headers.get("authorization"),
        app.settings.jwt_secret,
        max_lifetime_seconds=app.settings.max_token_lifetime_seconds,
    )


def _request_id(scope: Mapping[str, Any]) -> str:
    lambda_context = scope.get("aws.context")
    request_id = getattr(lambda_context, "aws_request_id", None)
    return str(request_id) if request_id else str(uuid.uuid4())


async def _health(_: Request) -> Response:
    """Liveness of this process only: never touches AWS, never waits for a thread."""
    return JSONResponse({"status": "ok"})


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return error_response(exc.status_code, str(exc.detail), headers=exc.headers)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    request_id = _request_id(request.scope)
    logger.error(
        "unexpected error outside GraphQL",
        exc_info=(type(exc), exc, exc.__traceback__),
        extra={"request_id": request_id, "path": request.url.path},
    )
    return error_response(
        500, MASKED_MESSAGE, INTERNAL_SERVER_ERROR, extensions={"requestId": request_id}
    )


def create_asgi_app(
    app_provider: Callable[[], App] = get_app, *, cors_origins: tuple[str, ...] = ()
) -> Starlette:
    graphql = PicgraphGraphQL(app_provider)
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
