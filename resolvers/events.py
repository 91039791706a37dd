"""S3 upload events and scheduled events: translate, then call the services."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from resolvers.bootstrap import App

logger = logging.getLogger("picgraph.events")


def handle_s3_event(app: App, event: Mapping[str, Any]) -> dict[str, Any]:
    """Process each uploaded staging object; AWS delivers at least once, in any order."""
    outcomes: dict[str, str] = {}
    for record in event.get("Records", []):
        if not str(record.get("eventName", "")).startswith("ObjectCreated:"):
            continue
        s3 = record.get("s3", {})
        if s3.get("bucket", {}).get("name") != app.settings.bucket_name:
            logger.warning("event for another bucket ignored")
            continue
        key = unquote_plus(str(s3.get("object", {}).get("key", "")))
        completion = app.upload_processing.process_staged_object(key)
        outcomes[key] = "ignored" if completion is None else completion.image.status.value
    logger.info("s3 event processed", extra={"outcomes": outcomes})
    return {"processed": outcomes}


_SAFETY_MARGIN_SECONDS = 10.0


def handle_scheduled_event(app: App, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """EventBridge's schedule runs the same cleanup as `picgraph cleanup`.

    The time budget is what the invocation has left, less a margin to log and
    return: work not done now stays in the index for the next run.
    """
    del event
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    budget = None
    if callable(remaining):
        budget = max(1.0, remaining() / 1000 - _SAFETY_MARGIN_SECONDS)
    report = app.cleanup.run(time_budget_seconds=budget)
    return report.as_dict()
