"""One GraphQL request: cached document, limits, authentication gate, execution, errors, log.

Every transport (HTTP through Strawberry's view, AppSync events, tests) ends here, so the
same rules hold everywhere. Stages, each with its own error code (resolvers/errors.py):
prepare (parse + validate + static limits, once per document) -> operation selection ->
viewer gate -> variables (graphql-core coerces them) -> cost with variables -> execute.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Iterable, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
)
from graphql import (
    ExecutionResult as CoreResult,
)
from graphql.execution import Executor
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from resolvers.documents import (
    MAX_CACHED_DOCUMENT_CHARS,
    DocumentCache,
    Limits,
    PreparedDocument,
    cost_error,
    prepare,
)
from resolvers.errors import (
    BAD_USER_INPUT,
    UnauthenticatedError,
    coded,
    masked,
    public_error,
    shape_execution_errors,
)
from resolvers.executor import awaitable_check, leaf_fields

request_log = logging.getLogger("picgraph.request")


class Engine:
    def __init__(
        self, schema: GraphQLSchema, executor_class: type[Executor[Any]], limits: Limits
    ) -> None:
        self.schema = schema
        self.limits = limits
        self.documents = DocumentCache()
        self._executor_class = executor_class
        self._leaves = leaf_fields(schema)
        self._is_awaitable = awaitable_check(schema)

    def prepared(self, text: str) -> PreparedDocument:
        return self.documents.get(
            text,
            lambda: prepare(self.schema, text, self.limits),
            keep=len(text) <= MAX_CACHED_DOCUMENT_CHARS,
        )

    def run_text(
        self,
        text: str,
        *,
        variables: Mapping[str, Any] | None,
        context: Any,
        operation_name: str | None = None,
        allowed: Iterable[OperationType] | None = None,
        operation_extensions: Mapping[str, Any] | None = None,
    ) -> ExecutionResult | Awaitable[ExecutionResult]:
        started = time.perf_counter()
        try:
            prepared = self.prepared(text)
        except Exception as exc:
            request_id = str(getattr(context, "request_id", None) or "unknown")
            return self._finish(
                _refused([masked(None, request_id, exc)]), None, context, request_id, started
            )
        return self.run(
            prepared,
            variables=variables,
            context=context,
            operation_name=operation_name,
            allowed=allowed,
            operation_extensions=operation_extensions,
            started=started,
        )

    def run(
        self,
        prepared: PreparedDocument,
        *,
        variables: Mapping[str, Any] | None,
        context: Any,
        operation_name: str | None = None,
        allowed: Iterable[OperationType] | None = None,
        operation_extensions: Mapping[str, Any] | None = None,
        started: float | None = None,
    ) -> ExecutionResult | Awaitable[ExecutionResult]:
        """The result, or (only if a resolver is async) an awaitable of it."""
        started = time.perf_counter() if started is None else started
        operation = prepared.operation(operation_name)
        if operation is not None and allowed is not None:
            operation_type = OperationType(operation.operation.value)
            if operation_type not in allowed:
                raise InvalidOperationTypeError(operation_type)
        request_id = str(getattr(context, "request_id", None) or "unknown")
        try:
            outcome = self._run(
                prepared, operation, variables, context, operation_name, operation_extensions
            )
        except Exception as exc:
            outcome = _refused([masked(None, request_id, exc)])
        if isinstance(outcome, (CoreResult, ExecutionResult)):
            return self._finish(outcome, operation, context, request_id, started)
        return self._finish_later(outcome, operation, context, request_id, started)

    def _run(
        self,
        prepared: PreparedDocument,
        operation: OperationDefinitionNode | None,
        variables: Mapping[str, Any] | None,
        context: Any,
        operation_name: str | None,
        operation_extensions: Mapping[str, Any] | None,
    ) -> CoreResult | ExecutionResult | Awaitable[CoreResult]:
        if prepared.errors or prepared.document is None:
            return _refused(list(prepared.errors))
        if operation is None:
            message = (
                f"Unknown operation named '{operation_name}'."
                if operation_name
                else "Must provide operation name if query contains multiple operations."
            )
            return _refused([GraphQLError(message, extensions={"code": BAD_USER_INPUT})])
        if getattr(context, "viewer_id", None) is None and not _introspection_only(operation):
            error = UnauthenticatedError(
                getattr(context, "auth_error", None) or "Authentication required."
            )
            return _refused([public_error(error)])
        return self._execute(
            prepared.document, prepared, operation, variables, context, operation_extensions
        )

    def _execute(
        self,
        document: DocumentNode,
        prepared: PreparedDocument,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any] | None,
        context: Any,
        operation_extensions: Mapping[str, Any] | None,
    ) -> CoreResult | ExecutionResult | Awaitable[CoreResult]:
        name = operation.name.value if operation.name else None
        if variables is not None and not isinstance(variables, Mapping):
            return _refused(
                [GraphQLError("variables must be an object.", extensions={"code": BAD_USER_INPUT})]
            )
        try:
            executor = self._executor_class.build(
                self.schema,
                document,
                None,
                context,
                dict(variables or {}),
                name,
                is_awaitable=self._is_awaitable,  # type: ignore[arg-type]
                hide_suggestions=not self.limits.introspection,
                operation_extensions=operation_extensions,
            )
        except RecursionError:
            error = GraphQLError("Variables are nested too deeply.")
            return _refused([coded(error, BAD_USER_INPUT)])
        if isinstance(executor, list):
            # Request errors: the variables (type, null, missing, unknown input fields).
            return _refused([coded(error, BAD_USER_INPUT) for error in executor])
        executor.leaves = self._leaves  # type: ignore[attr-defined]
        cost = prepared.shapes[name].cost
        if cost.scaled:
            total = cost.total(executor.variable_values.coerced)
            if total > self.limits.max_cost:
                return _refused([cost_error(total, self.limits.max_cost)])
        return executor.execute_operation()  # type: ignore[return-value]

    async def _finish_later(
        self,
        outcome: Awaitable[CoreResult],
        operation: OperationDefinitionNode | None,
        context: Any,
        request_id: str,
        started: float,
    ) -> ExecutionResult:
        result: CoreResult | ExecutionResult
        try:
            result = await outcome
        except Exception as exc:
            result = _refused([masked(None, request_id, exc)])
        return self._finish(result, operation, context, request_id, started)

    def _finish(
        self,
        result: CoreResult | ExecutionResult,
        operation: OperationDefinitionNode | None,
        context: Any,
        request_id: str,
        started: float,
    ) -> ExecutionResult:
        errors = list(result.errors or [])
        if errors and not isinstance(result, ExecutionResult):
            # Field errors from execution: every earlier stage returns coded errors.
            errors = shape_execution_errors(errors, request_id)
        request_log.info(
            "graphql operation",
            extra={
                "request_id": request_id,
                "operation": None
                if operation is None or operation.name is None
                else operation.name.value,
                "operation_type": None if operation is None else operation.operation.value,
                "viewer": getattr(context, "viewer_id", None),
                "latency_ms": round((time.perf_counter() - started) * 1000, 1),
                "errors": [(error.extensions or {}).get("code") for error in errors],
            },
        )
        return ExecutionResult(data=result.data, errors=errors or None)


def _refused(errors: list[GraphQLError]) -> ExecutionResult:
    """A result decided before execution; its errors are already coded."""
    return ExecutionResult(data=None, errors=errors)


def _introspection_only(operation: OperationDefinitionNode) -> bool:
    return all(
        isinstance(selection, FieldNode) and selection.name.value.startswith("__")
        for selection in operation.selection_set.selections
    )
