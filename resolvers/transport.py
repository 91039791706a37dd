"""HTTP transport rules for /graphql: body size, request shape, and JSON error bodies.

Every transport error is a 4xx whose body is `{"errors": [{"message", "extensions":
{"code"}}]}`, as GraphQL clients expect: never plain text, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

# Starlette is imported only where an ASGI server uses this module: the Lambda's
# /graphql (resolvers/graphql_http.py) reads these rules without it.
if TYPE_CHECKING:
    from starlette.responses import JSONResponse
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

# API Gateway's payload cap: a body it would refuse is refused here too.
MAX_BODY_BYTES = 10 * 1024 * 1024
# Our inputs nest three levels deep; 32 leaves room for any real client.
MAX_JSON_DEPTH = 32

BAD_REQUEST = "BAD_REQUEST"
PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
BATCHING_NOT_SUPPORTED = "BATCHING_NOT_SUPPORTED"
NOT_FOUND = "NOT_FOUND"

_CODE_BY_STATUS = {
    400: BAD_REQUEST,
    404: NOT_FOUND,
    405: METHOD_NOT_ALLOWED,
    413: PAYLOAD_TOO_LARGE,
    415: UNSUPPORTED_MEDIA_TYPE,
}


class TransportError(Exception):
    """A request refused before GraphQL sees it; answered with `status` and `code`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _CODE_BY_STATUS.get(status, BAD_REQUEST)
        self.headers = dict(headers or {})


def error_body(
    status: int,
    message: str,
    code: str | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "errors": [
            {
                "message": message,
                "extensions": {
                    "code": code or _CODE_BY_STATUS.get(status, BAD_REQUEST),
                    **(extensions or {}),
                },
            }
        ]
    }


def error_response(
    status: int,
    message: str,
    code: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> JSONResponse:
    from starlette.responses import JSONResponse

    body = error_body(status, message, code, extensions)
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def transport_error_response(error: TransportError) -> JSONResponse:
    return error_response(error.status, error.message, error.code, headers=error.headers)


class _BodyTooLargeError(Exception):
    pass


def _too_large() -> JSONResponse:
    return error_response(
        413,
        f"The request body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB.",
        PAYLOAD_TOO_LARGE,
        headers={"Connection": "close"},
    )


class LimitRequestBody:
    """Refuse bodies over `max_bytes` as they arrive, whatever Content-Length says.

    A declared length over the limit is refused before a byte is read; a streamed
    (chunked) or understated body is refused as soon as the running count passes it.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from starlette.datastructures import Headers

        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not declared.isdigit():
                response = error_response(400, "The Content-Length header is not a number.")
                await response(scope, receive, send)
                return
            if int(declared) > self.max_bytes:
                await _too_large()(scope, receive, send)
                return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLargeError:
            if response_started:
                raise
            await _too_large()(scope, receive, send)


def parse_json_body(body: bytes) -> Any:
    try:
        data = json.loads(body)
    except RecursionError as exc:
        raise _too_deep() from exc
    except ValueError as exc:  # JSONDecodeError and invalid UTF-8 alike
        raise TransportError(400, "The request body is not valid JSON.") from exc
    if _depth(data) > MAX_JSON_DEPTH:
        raise _too_deep()
    return data


def _too_deep() -> TransportError:
    return TransportError(400, f"The request nests more than {MAX_JSON_DEPTH} levels deep.")


def _depth(value: Any) -> int:
    """Nesting depth of decoded JSON, without recursion (it may be hostile)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level + 1)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def check_request_shape(data: Any) -> dict[str, Any]:
    """The GraphQL-over-HTTP request object: `query`, `variables`, `operationName`."""
    if isinstance(data, list):
        raise TransportError(
            400,
            "Batched requests are not supported: send one operation per request.",
            code=BATCHING_NOT_SUPPORTED,
        )
    if not isinstance(data, dict):
        raise TransportError(400, "The request body must be a JSON object with a `query` string.")
    query = data.get("query")
    if not isinstance(query, str) or not query.strip():
        raise TransportError(400, "The request has no `query` string.")
    for name in ("variables", "extensions"):
        if not isinstance(data.get(name), dict | type(None)):
            raise TransportError(400, f"`{name}` must be an object or null.")
    if not isinstance(data.get("operationName"), str | type(None)):
        raise TransportError(400, "`operationName` must be a string or null.")
    return data
