"""The ASGI app: GraphQL at /graphql (GraphiQL in a browser), served by uvicorn or Mangum."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from resolvers.bootstrap import App, get_app
from resolvers.context import Context
from resolvers.identity import AuthenticationError, viewer_from_api_gateway, viewer_from_bearer
from resolvers.schema import schema_for


class PicgraphGraphQL(GraphQL[Context, None]):
    def __init__(self, app_provider: Callable[[], App]) -> None:
        settings = app_provider().settings
        schema = schema_for(settings)
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.introspection else None,
            allow_queries_via_get=True,  # mutations over GET are refused by Strawberry
        )
        self._app_provider = app_provider

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
    return JSONResponse({"status": "ok"})


async def _to_graphql(_: Request) -> Response:
    return RedirectResponse("/graphql")


def create_asgi_app(
    app_provider: Callable[[], App] = get_app, *, cors_origins: tuple[str, ...] = ()
) -> Starlette:
    graphql = PicgraphGraphQL(app_provider)
    middleware = (
        [
            Middleware(
                CORSMiddleware,
                allow_origins=list(cors_origins),
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["authorization", "content-type"],
            )
        ]
        if cors_origins
        else []
    )
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/health", _health, methods=["GET"]),
            Route("/", _to_graphql, methods=["GET"]),
        ],
        middleware=middleware,
    )
