"""AppSync direct Lambda resolver events, single and batch, run through the same schema.

Each event names one field (`info.parentTypeName`.`info.fieldName`) with its
arguments and the client's selection set; we execute exactly that field as a
GraphQL operation, so AppSync gets contract-shaped data from the same resolvers.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from graphql import GraphQLNamedType, GraphQLSchema, get_named_type

from resolvers.bootstrap import App
from resolvers.context import Context
from resolvers.identity import AuthenticationError, viewer_from_appsync
from resolvers.schema import create_schema

_OPERATIONS = {"Query": "query", "Mutation": "mutation"}


class AppSyncResolverError(Exception):
    """Raised for a single invocation: Lambda reports the class name as errorType."""

    @property
    def error_type(self) -> str:
        return type(self).__name__


_ERROR_CLASSES: dict[str, type[AppSyncResolverError]] = {}


def error_class(code: str) -> type[AppSyncResolverError]:
    # Lambda's errorType is the exception's class name, and AppSync shows it to
    # clients: one subclass per code makes that the GraphQL error code.
    if code not in _ERROR_CLASSES:
        _ERROR_CLASSES[code] = type(code, (AppSyncResolverError,), {})
    return _ERROR_CLASSES[code]


def is_appsync_event(event: object) -> bool:
    def single(item: object) -> bool:
        return (
            isinstance(item, Mapping)
            and isinstance(item.get("info"), Mapping)
            and "fieldName" in item["info"]
            and "parentTypeName" in item["info"]
        )

    if isinstance(event, list):
        return bool(event) and all(single(item) for item in event)
    return single(event)


def handle(app: App, event: Mapping[str, Any] | list[Mapping[str, Any]], request_id: str) -> Any:
    if isinstance(event, list):
        return [_batch_item(app, item, f"{request_id}:{index}") for index, item in enumerate(event)]
    data, error = resolve(app, event, request_id)
    if error is not None:
        raise error_class(error[0])(error[1])
    return data


def _batch_item(app: App, event: Mapping[str, Any], request_id: str) -> dict[str, Any]:
    data, error = resolve(app, event, request_id)
    if error is None:
        return {"data": data}
    return {"data": None, "errorType": error[0], "errorMessage": error[1]}


def resolve(
    app: App, event: Mapping[str, Any], request_id: str
) -> tuple[Any, tuple[str, str] | None]:
    """Run one AppSync field; returns (data, (errorType, message) or None)."""
    info = event["info"]
    parent, field = str(info["parentTypeName"]), str(info["fieldName"])
    schema = create_schema(
        introspection=app.settings.introspection,
        max_depth=app.settings.max_query_depth,
        max_aliases=app.settings.max_aliases,
        max_tokens=app.settings.max_tokens,
    )
    try:
        document = build_operation(
            schema._schema,  # graphql-core's schema: Strawberry exposes no public accessor
            parent,
            field,
            event.get("arguments") or {},
            str(info.get("selectionSetGraphQL") or ""),
        )
    except ValueError as exc:
        return None, ("BAD_REQUEST", str(exc))
    context = Context(app=app, request_id=request_id or str(uuid.uuid4()))
    try:
        context.viewer_id = viewer_from_appsync(event.get("identity"))
    except AuthenticationError as exc:
        context.auth_error = str(exc)
    result = schema.execute_sync(
        document, variable_values=dict(event.get("arguments") or {}), context_value=context
    )
    if result.errors:
        first = result.errors[0]
        return None, (
            str((first.extensions or {}).get("code", "INTERNAL_SERVER_ERROR")),
            first.message,
        )
    return (result.data or {}).get(field), None


def build_operation(
    schema: GraphQLSchema, parent: str, field: str, arguments: Mapping[str, Any], selection: str
) -> str:
    """`query ($id: ID!) { image(id: $id) { ...selection } }` for one root field."""
    operation = _OPERATIONS.get(parent)
    root = schema.get_type(parent)
    fields = getattr(root, "fields", None)
    if operation is None or fields is None or field not in fields:
        raise ValueError(f"Unknown field {parent}.{field}.")
    definition = fields[field]
    unknown = set(arguments) - set(definition.args)
    if unknown:
        raise ValueError(f"Unknown argument(s) for {parent}.{field}: {', '.join(sorted(unknown))}.")
    names = [name for name in definition.args if name in arguments]
    variables = ", ".join(f"${name}: {definition.args[name].type}" for name in names)
    call = ", ".join(f"{name}: ${name}" for name in names)
    header = f"{operation} ({variables})" if variables else operation
    invocation = f"{field}({call})" if call else field
    if not selection.strip() and not _is_leaf(get_named_type(definition.type)):
        raise ValueError(f"{parent}.{field} needs a selection set.")
    return f"{header} {{ {invocation} {selection} }}"


def _is_leaf(named: GraphQLNamedType) -> bool:
    return not hasattr(named, "fields")
