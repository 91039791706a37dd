"""Structured JSON logs: one object per line; never tokens, never image bytes."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from strawberry.extensions import SchemaExtension

_STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({name: value for name, value in vars(record).items() if name not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO") -> None:
    """JSON on every root handler (Lambda's runtime installs its own handler)."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        handler.setFormatter(JsonFormatter())
    root.setLevel(level)
    for noisy in ("botocore", "werkzeug", "moto"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class RequestLog(SchemaExtension):
    """One line per GraphQL operation: request id, operation, viewer, latency, errors."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context.context
        result = self.execution_context.result
        logging.getLogger("picgraph.request").info(
            "graphql operation",
            extra={
                "request_id": getattr(context, "request_id", None),
                "operation": self.execution_context.operation_name,
                "operation_type": _operation_type(self.execution_context),
                "viewer": getattr(context, "viewer_id", None),
                "latency_ms": round((time.perf_counter() - started) * 1000, 1),
                "errors": [(error.extensions or {}).get("code") for error in (result.errors or [])]
                if result is not None
                else [],
            },
        )


def _operation_type(execution_context: Any) -> str | None:
    try:
        return str(execution_context.operation_type.value)
    except Exception:
        return None
