"""The one Lambda entrypoint: recognises each event kind and hands it on.

API Gateway (REST and HTTP API) -> Mangum -> the ASGI app; AppSync direct
resolver events (single and batch) -> the same schema; S3 ObjectCreated ->
upload processing; EventBridge scheduled events -> cleanup. Heavy modules are
imported on first use so that each event kind pays only for what it needs.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from typing import Any

from resolvers.bootstrap import get_app
from resolvers.logs import configure_logging

logger = logging.getLogger("picgraph.lambda")
_http_handler: Any = None
_logging_ready = False


class UnsupportedEventError(Exception):
    """The Lambda was invoked with an event it does not know how to handle."""


def handler(event: Any, context: Any) -> Any:
    _ensure_logging()
    request_id = str(getattr(context, "aws_request_id", "") or "")
    kind = event_kind(event)
    logger.info("invocation", extra={"request_id": request_id, "event_kind": kind})
    if kind == "http":
        return _http(event, context)
    if kind == "appsync":
        from resolvers import appsync

        return appsync.handle(get_app(), event, request_id)
    if kind == "s3":
        from resolvers.events import handle_s3_event

        return handle_s3_event(get_app(), event)
    if kind == "scheduled":
        from resolvers.events import handle_scheduled_event

        return handle_scheduled_event(get_app(), event, context)
    raise UnsupportedEventError(
        "Unsupported event: expected API Gateway, AppSync, S3 or EventBridge scheduled."
    )


def event_kind(event: Any) -> str | None:
    from resolvers.appsync import is_appsync_event

    if is_appsync_event(event):
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


def _http(event: Mapping[str, Any], context: Any) -> Any:
    global _http_handler
    if _http_handler is None:
        from mangum import Mangum

        from resolvers.http import create_asgi_app

        _http_handler = Mangum(create_asgi_app(), lifespan="off")
    # Mangum runs the app on the thread's event loop; a previous asyncio.run()
    # (or a closed loop on a warm container) leaves none usable, so set one.
    try:
        loop = asyncio.get_event_loop_policy().get_event_loop()
        if loop.is_closed():
            raise RuntimeError("closed loop")
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())
    return _http_handler(event, context)


def _ensure_logging() -> None:
    global _logging_ready
    if not _logging_ready:
        configure_logging(get_app().settings.log_level)
        _logging_ready = True


def _init_in_lambda() -> None:
    """In a Lambda container, wire (and validate settings) during init.

    A missing or malformed setting then fails the init phase with one clear line
    instead of failing every request; clients stay lazy, so no AWS call is made.
    """
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        _ensure_logging()


_init_in_lambda()
