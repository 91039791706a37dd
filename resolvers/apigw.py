"""API Gateway (REST, HTTP API payload 1.0 and 2.0) and function URL events for /graphql.

A thin adapter around resolvers/graphql_http.py: the event becomes an HttpRequest as
Mangum would have built its ASGI scope (lower-case headers, multi-value headers joined
with ", ", cookies, base64 bodies, the last value of a repeated query parameter), and
the HttpResponse becomes the response shape of that payload version. Other paths and
methods (the gallery, /health, static files, OPTIONS) return None here: the Lambda
handler serves them through Mangum and the Starlette app.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote

from resolvers.graphql_http import (
    GRAPHQL_PATH,
    HttpRequest,
    HttpResponse,
    error_http_response,
    new_request_id,
)

_METHODS = frozenset({"GET", "POST"})
# Mangum's text types: other bodies go back base64-encoded (none of ours do today).
_TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml")


def is_version_2(event: Mapping[str, Any]) -> bool:
    return event.get("version") == "2.0"


def method_and_path(event: Mapping[str, Any]) -> tuple[str, str]:
    if is_version_2(event):
        http = event["requestContext"]["http"]
        return str(http["method"]), unquote(str(http["path"] or "/"))
    return str(event["httpMethod"]), unquote(str(event.get("path") or "/"))


def graphql_request(event: Mapping[str, Any], context: Any) -> HttpRequest | HttpResponse | None:
    """The /graphql request this event carries; None for any other path or method.

    A body that claims to be base64 and is not is answered 400 at once.
    """
    method, path = method_and_path(event)
    if path != GRAPHQL_PATH or method not in _METHODS:
        return None
    try:
        body = _body(event)
    except binascii.Error:
        return error_http_response(400, "The request body is not valid base64.")
    request_id = getattr(context, "aws_request_id", None)
    return HttpRequest(
        method=method,
        headers=_headers(event),
        query_params=_query_params(event),
        body=body,
        request_id=str(request_id) if request_id else new_request_id(),
        upstream_event=event,
    )


def lambda_response(event: Mapping[str, Any], response: HttpResponse) -> dict[str, Any]:
    """The HttpResponse in the shape API Gateway expects for this event's payload version."""
    body, is_base64 = _encoded_body(response)
    if is_version_2(event):
        cookies = []
        headers: dict[str, str] = {}
        for name, value in response.headers.items():
            if name == "set-cookie":
                cookies.append(value)
            else:
                headers[name] = value
        out: dict[str, Any] = {"statusCode": response.status, "body": body}
        if headers:
            out["headers"] = headers
        if cookies:
            out["cookies"] = cookies
        out["isBase64Encoded"] = is_base64
        return out
    return {
        "statusCode": response.status,
        "headers": dict(response.headers),
        "multiValueHeaders": {},
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _headers(event: Mapping[str, Any]) -> dict[str, str]:
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    if is_version_2(event):
        cookies = event.get("cookies")
        if cookies:
            headers["cookie"] = "; ".join(cookies)
        return headers
    for name, values in (event.get("multiValueHeaders") or {}).items():
        headers[str(name).lower()] = ", ".join(values) if isinstance(values, list) else ""
    return headers


def _query_params(event: Mapping[str, Any]) -> dict[str, str]:
    if is_version_2(event):
        return dict(parse_qsl(str(event.get("rawQueryString") or ""), keep_blank_values=True))
    multi = event.get("multiValueQueryStringParameters") or {}
    if multi:
        return {str(k): str(v[-1]) for k, v in multi.items() if isinstance(v, list) and v}
    single = event.get("queryStringParameters") or {}
    return {str(k): str(v) for k, v in single.items()}


def _body(event: Mapping[str, Any]) -> bytes:
    body = event.get("body") or b""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body, validate=True)
    return body.encode() if isinstance(body, str) else bytes(body)


def _encoded_body(response: HttpResponse) -> tuple[str, bool]:
    if not response.body:
        return "", False
    if any(kind in response.content_type for kind in _TEXT_TYPES):
        try:
            return response.body.decode(), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(response.body).decode(), True
