"""The one Lambda entrypoint: recognises each event kind and hands it on.

API Gateway (REST and HTTP API) and function URL requests for /graphql -> the
framework-neutral GraphQL-over-HTTP core (resolvers/apigw.py, resolvers/graphql_http.py),
any other path -> Mangum -> the Starlette app (gallery, /health); AppSync direct
resolver events (single and batch) -> the same schema; S3 ObjectCreated ->
upload processing; EventBridge scheduled events -> cleanup.

Events are classified with plain dict checks, and each kind imports only what it
needs: an S3 or scheduled event never loads Strawberry or graphql-core, /graphql
never loads Starlette, Mangum or PyJWT.
Where Lambda keeps the init phase apart from the first request (SnapStart takes
its snapshot after init; provisioned concurrency runs init ahead of traffic,
AWS_LAMBDA_INITIALIZATION_TYPE says which), init preloads and warms the GraphQL
paths instead, so that their first invoke costs no more than a warm one.

In a Lambda container the cyclic garbage collector is paused while modules load
and the App is wired (init, then the first invoke's imports): those 80-130 thousand
objects are module state that lives as long as the process, yet each collection
pass of a cold start would traverse them again (20-30 ms of CPU in all). Once
loaded they are frozen (gc.freeze: never traversed again) and collection resumes,
before the event's own work runs.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Mapping
from typing import Any

from resolvers.bootstrap import get_app
from resolvers.logs import configure_logging

logger = logging.getLogger("picgraph.lambda")
_http_handler: Any = None
_http_handler_app: Any = None
_graphql_http: Any = None
_graphql_http_app: Any = None
_logging_ready = False
_gc_paused = False


class UnsupportedEventError(Exception):
    """The Lambda was invoked with an event it does not know how to handle."""


def handler(event: Any, context: Any) -> Any:
    try:
        return _handle(event, context)
    finally:
        _resume_gc()  # whatever happened, collection never stays paused


def _handle(event: Any, context: Any) -> Any:
    _ensure_logging()
    request_id = str(getattr(context, "aws_request_id", "") or "")
    kind = event_kind(event)
    logger.info("invocation", extra={"request_id": request_id, "event_kind": kind})
    if kind == "http":
        return _http(event, context)
    if kind == "appsync":
        from resolvers import appsync

        app = get_app()
        _resume_gc()
        return appsync.handle(app, event, request_id)
    if kind == "s3":
        from resolvers.events import handle_s3_event

        app = get_app()
        _resume_gc()
        return handle_s3_event(app, event)
    if kind == "scheduled":
        from resolvers.events import handle_scheduled_event

        app = get_app()
        _resume_gc()
        return handle_scheduled_event(app, event, context)
    raise UnsupportedEventError(
        "Unsupported event: expected API Gateway, AppSync, S3 or EventBridge scheduled."
    )


def _pause_gc() -> None:
    global _gc_paused
    if gc.isenabled():
        gc.disable()
        _gc_paused = True


def _resume_gc() -> None:
    """Modules loaded and wired: freeze them, so that no collection traverses them again."""
    global _gc_paused
    if _gc_paused:
        gc.freeze()
        gc.enable()
        _gc_paused = False


def event_kind(event: Any) -> str | None:
    if _is_appsync(event):
        return "appsync"
    if not isinstance(event, Mapping):
        return None
    if "requestContext" in event and ("httpMethod" in event or "routeKey" in event):
        return "http"
    records = event.get("Records")
    if (
        isinstance(records, list)
        and records
        and all(
            isinstance(record, Mapping) and record.get("eventSource") == "aws:s3"
            for record in records
        )
    ):
        return "s3"
    if event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event":
        return "scheduled"
    return None


def _is_appsync(event: Any) -> bool:
    """A direct Lambda resolver event (or a batch of them): `info` names the field."""

    def single(item: Any) -> bool:
        info = item.get("info") if isinstance(item, Mapping) else None
        return isinstance(info, Mapping) and "fieldName" in info and "parentTypeName" in info

    if isinstance(event, list):
        return bool(event) and all(single(item) for item in event)
    return single(event)


def _graphql() -> Any:
    """The /graphql core, built once per App (its settings shape the schema)."""
    global _graphql_http, _graphql_http_app
    app = get_app()
    if _graphql_http is None or _graphql_http_app is not app:
        from resolvers.graphql_http import GraphQLHttp

        _graphql_http = GraphQLHttp(get_app)
        _graphql_http_app = app
    return _graphql_http


def _http(event: Mapping[str, Any], context: Any) -> Any:
    from resolvers.apigw import graphql_request, lambda_response
    from resolvers.graphql_http import HttpResponse

    request = graphql_request(event, context)
    if request is None:
        return _asgi(event, context)
    if isinstance(request, HttpResponse):
        return lambda_response(event, request)
    graphql = _graphql()
    _resume_gc()
    return lambda_response(event, graphql.handle(request))


def _http_app() -> Any:
    """The ASGI app behind Mangum, built once per App (its settings shape the schema)."""
    global _http_handler, _http_handler_app
    app = get_app()
    if _http_handler is None or _http_handler_app is not app:
        from mangum import Mangum

        from resolvers.http import create_asgi_app

        _http_handler = Mangum(create_asgi_app(), lifespan="off")
        _http_handler_app = app
    return _http_handler


def _asgi(event: Mapping[str, Any], context: Any) -> Any:
    """Paths other than /graphql (the gallery, /health): the Starlette app under Mangum."""
    import asyncio

    http_handler = _http_app()
    _resume_gc()
    # Mangum runs the app on the thread's event loop; a previous asyncio.run()
    # (or a closed loop on a warm container) leaves none usable, so set one.
    try:
        loop = asyncio.get_event_loop_policy().get_event_loop()
        if loop.is_closed():
            raise RuntimeError("closed loop")
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())
    return http_handler(event, context)


def _ensure_logging() -> None:
    global _logging_ready
    if not _logging_ready:
        configure_logging(get_app().settings.log_level)
        _logging_ready = True


_PRELOADING_INIT_TYPES = frozenset({"snap-start", "provisioned-concurrency"})


def _init_in_lambda() -> None:
    """In a Lambda container, wire (and validate settings) during init.

    A missing or malformed setting then fails the init phase with one clear line
    instead of failing every request; clients stay lazy, so no AWS call is made.
    """
    if not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return
    _pause_gc()
    _ensure_logging()
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") in _PRELOADING_INIT_TYPES:
        preload()
        _resume_gc()  # the snapshot (or the warm container) holds everything loaded


def preload() -> None:
    """Import, build and run once what GraphQL events need, touching no AWS service.

    One `{ __typename }` through the /graphql core and one through the schema leave
    parsing, validation, execution and the HTTP layer warm for the first request.
    """
    from resolvers import appsync, appsync_fast, appsync_operations  # noqa: F401 (AppSync)
    from resolvers.context import Context
    from resolvers.schema import schema_for

    app = get_app()
    app.build_all()
    appsync.warm(app)
    schema = schema_for(app.settings)
    schema.execute_sync("{ __typename }", context_value=Context(app=app, request_id="preload"))
    _http(_WARM_UP_EVENT, None)


_WARM_UP_EVENT: dict[str, Any] = {
    "version": "2.0",
    "routeKey": "POST /graphql",
    "rawPath": "/graphql",
    "rawQueryString": "",
    "headers": {"content-type": "application/json", "host": "preload.invalid"},
    "requestContext": {
        "http": {"method": "POST", "path": "/graphql", "sourceIp": "127.0.0.1"},
        "requestId": "preload",
        "stage": "$default",
    },
    "body": '{"query": "{ __typename }"}',
    "isBase64Encoded": False,
}


_init_in_lambda()
