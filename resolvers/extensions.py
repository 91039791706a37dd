"""Schema extensions: request logging, authentication gate, error shaping."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import DocumentNode, ExecutionResult, FieldNode, GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from resolvers.errors import UnauthenticatedError, shape_errors


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


class RequireViewer(SchemaExtension):
    """No viewer, no execution: one top-level UNAUTHENTICATED error and data null.

    Introspection alone (GraphiQL loading the schema) needs no token.
    """

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        if getattr(context, "viewer_id", None) is None and not _introspection_only(
            self.execution_context.graphql_document, self.execution_context.operation_name
        ):
            error = UnauthenticatedError(
                getattr(context, "auth_error", None) or "Authentication required."
            )
            self.execution_context.result = ExecutionResult(
                data=None, errors=[GraphQLError(error.message, original_error=error)]
            )
        yield


def _introspection_only(document: DocumentNode | None, operation_name: str | None) -> bool:
    if document is None:
        return False
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None or (definition.name and definition.name.value == operation_name)
        ):
            return all(
                isinstance(selection, FieldNode) and selection.name.value.startswith("__")
                for selection in definition.selection_set.selections
            )
    return False


class PicgraphSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Logged by ShapeErrors instead: unexpected ones with the request id, once."""


class ShapeErrors(SchemaExtension):
    """Codes on every error; unexpected ones masked with the request id."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            context = self.execution_context.context
            request_id = str(getattr(context, "request_id", "unknown"))
            result.errors = shape_errors(result.errors, request_id)
