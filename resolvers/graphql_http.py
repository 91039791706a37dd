"""GraphQL over HTTP at /graphql, framework-neutral: a request in, a status, headers and body out.

The Starlette app (resolvers/http.py, for `picgraph serve` and Mangum) and the API
Gateway adapter (resolvers/apigw.py, the Lambda's /graphql) both call this one core,
so GET and POST, content types, request shapes, size limits, status codes, the viewer
and the response body follow the same rules everywhere. It imports no web framework
and no event loop: a Lambda answering /graphql needs neither Starlette nor Mangum.

Two steps, so that a server can keep the first on its event loop and send the second
to a thread: `prepare` (transport rules, no I/O) and `execute` (wiring, identity and
the operation itself, which blocks on boto3 and Pillow).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from resolvers.context import Context
from resolvers.errors import INTERNAL_SERVER_ERROR, MASKED_MESSAGE
from resolvers.identity import AuthenticationError, viewer_from_api_gateway, viewer_from_bearer
from resolvers.schema import schema_for
from resolvers.transport import (
    MAX_BODY_BYTES,
    PAYLOAD_TOO_LARGE,
    TransportError,
    check_request_shape,
    error_body,
    parse_json_body,
)

if TYPE_CHECKING:
    from resolvers.bootstrap import App

logger = logging.getLogger("picgraph.http")

GRAPHQL_PATH = "/graphql"
# Operations that process an image (seconds of CPU, hundreds of MB): a server queues
# them apart (resolvers/http.py) so that they never take every thread.
PROCESSING_FIELD = "completeImageUpload"


@dataclass(frozen=True)
class HttpRequest:
    """What /graphql reads of a request; header names lower case."""

    method: str
    headers: Mapping[str, str]
    query_params: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    request_id: str = ""
    # The API Gateway event, whose authorizer may have verified the caller already.
    upstream_event: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


@dataclass(frozen=True)
class GraphQLRequest:
    """A request that passed the transport rules, ready to execute."""

    http: HttpRequest
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None

    @property
    def processes_an_image(self) -> bool:
        # A scheduling hint only: a false match (the name in a comment) merely queues
        # the request with the image processing ones; every answer stays the same.
        return PROCESSING_FIELD in self.query


def json_response(
    status: int, content: Any, *, headers: Mapping[str, str] | None = None
) -> HttpResponse:
    """A JSON body as Starlette's JSONResponse renders it (UTF-8, compact)."""
    body = json.dumps(
        content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")
    return _response(status, body, "application/json", headers)


def error_http_response(
    status: int,
    message: str,
    code: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> HttpResponse:
    return json_response(status, error_body(status, message, code, extensions), headers=headers)


def transport_error_http_response(error: TransportError) -> HttpResponse:
    return error_http_response(error.status, error.message, error.code, headers=error.headers)


def unexpected_error_response(request_id: str, path: str, exc: BaseException) -> HttpResponse:
    """Masked 500 for a failure outside GraphQL's own error handling; logged once."""
    logger.error(
        "unexpected error outside GraphQL",
        exc_info=(type(exc), exc, exc.__traceback__),
        extra={"request_id": request_id, "path": path},
    )
    return error_http_response(
        500, MASKED_MESSAGE, INTERNAL_SERVER_ERROR, extensions={"requestId": request_id}
    )


def new_request_id() -> str:
    return str(uuid.uuid4())


def check_declared_length(headers: Mapping[str, str]) -> None:
    """Refuse a declared Content-Length that is not a number or over the limit."""
    declared = headers.get("content-length")
    if declared is None:
        return
    if not declared.isdigit():
        raise TransportError(400, "The Content-Length header is not a number.")
    if int(declared) > MAX_BODY_BYTES:
        raise body_too_large()


def body_too_large() -> TransportError:
    return TransportError(
        413,
        f"The request body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB.",
        code=PAYLOAD_TOO_LARGE,
        headers={"Connection": "close"},
    )


class GraphQLHttp:
    """The /graphql endpoint's rules; one per App (its settings shape the schema)."""

    def __init__(self, app_provider: Callable[[], App]) -> None:
        settings = app_provider().settings
        self.schema = schema_for(settings)
        self._app_provider = app_provider
        self._graphiql = settings.introspection
        self._ide_html: bytes | None = None

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Both steps in the calling thread, any unexpected failure masked (Lambda)."""
        try:
            prepared = self.prepare(request)
            if isinstance(prepared, HttpResponse):
                return prepared
            return self.execute(prepared)
        except Exception as exc:  # the last line of defence: never a traceback to clients
            return unexpected_error_response(request.request_id, GRAPHQL_PATH, exc)

    def prepare(self, request: HttpRequest) -> GraphQLRequest | HttpResponse:
        """The transport rules: method, size, GraphiQL, content type, JSON, shape."""
        try:
            return self._prepare(request)
        except TransportError as exc:
            return transport_error_http_response(exc)

    def _prepare(self, request: HttpRequest) -> GraphQLRequest | HttpResponse:
        if request.method not in ("GET", "POST"):
            raise TransportError(405, "GraphQL only supports GET and POST requests.")
        check_declared_length(request.headers)
        if len(request.body) > MAX_BODY_BYTES:
            raise body_too_large()
        if _wants_graphiql(request):
            if not self._graphiql:
                raise TransportError(404, "Not Found")
            return _response(200, self._graphiql_page(), "text/html; charset=utf-8")
        if request.method == "GET":
            data: Any = _query_params(request.query_params)
        else:
            content_type = request.headers.get("content-type", "").partition(";")[0]
            if content_type.strip().lower() != "application/json":
                raise TransportError(415, "Send GraphQL requests as application/json.")
            data = parse_json_body(request.body)
        data = check_request_shape(data)
        return GraphQLRequest(
            http=request,
            query=data["query"],
            variables=data.get("variables"),
            operation_name=data.get("operationName"),
            extensions=data.get("extensions"),
        )

    def execute(self, request: GraphQLRequest) -> HttpResponse:
        """Identify the caller and run the operation (blocking); the JSON result."""
        try:
            result = self.schema.execute_sync(
                request.query,
                variable_values=request.variables,
                context_value=self._context(request.http),
                operation_name=request.operation_name,
                allowed_operation_types=OperationType.from_http(
                    "GET" if request.http.method == "GET" else "POST"  # prepare checked it
                ),
                operation_extensions=request.extensions,
            )
        except InvalidOperationTypeError as exc:
            return transport_error_http_response(
                TransportError(
                    405, exc.as_http_error_reason(request.http.method), headers={"Allow": "POST"}
                )
            )
        except CannotGetOperationTypeError as exc:
            return transport_error_http_response(TransportError(400, exc.as_http_error_reason()))
        except MissingQueryError:
            return transport_error_http_response(
                TransportError(400, "The request has no `query` string.")
            )
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [error.formatted for error in result.errors]
        if result.extensions:
            payload["extensions"] = result.extensions
        # As Strawberry's views encode results: compact, ASCII-escaped.
        body = json.dumps(payload, separators=(",", ":")).encode()
        return _response(200, body, "application/json")

    def _context(self, request: HttpRequest) -> Context:
        app = self._app_provider()
        context = Context(app=app, request_id=request.request_id or new_request_id())
        try:
            context.viewer_id = _viewer(request, app)
        except AuthenticationError as exc:
            context.auth_error = str(exc)
        return context

    def _graphiql_page(self) -> bytes:
        if self._ide_html is None:
            from strawberry.http.ides import get_graphql_ide_html

            from resolvers.assets import graphiql_html

            self._ide_html = graphiql_html(get_graphql_ide_html(graphql_ide="graphiql")).encode()
        return self._ide_html


def _viewer(request: HttpRequest, app: App) -> str:
    if request.upstream_event is not None:
        upstream = viewer_from_api_gateway(request.upstream_event)
        if upstream is not None:
            return upstream
    if app.settings.auth_mode == "upstream":
        raise AuthenticationError("Authentication required.")
    return viewer_from_bearer(
        request.headers.get("authorization"),
        app.settings.jwt_secret,
        max_lifetime_seconds=app.settings.max_token_lifetime_seconds,
    )


def _wants_graphiql(request: HttpRequest) -> bool:
    """A browser opening /graphql: GET, no query, and HTML acceptable (as Strawberry)."""
    accept = request.headers.get("accept", "")
    return (
        request.method == "GET"
        and request.query_params.get("query") is None
        and ("text/html" in accept or "*/*" in accept)
    )


def _query_params(params: Mapping[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = dict(params)
    for name in ("variables", "extensions"):
        if data.get(name):
            data[name] = parse_json_body(data[name].encode())
    return data


def _response(
    status: int, body: bytes, content_type: str, headers: Mapping[str, str] | None = None
) -> HttpResponse:
    return HttpResponse(
        status=status,
        headers={
            **{name.lower(): value for name, value in (headers or {}).items()},
            "content-length": str(len(body)),
            "content-type": content_type,
        },
        body=body,
    )
