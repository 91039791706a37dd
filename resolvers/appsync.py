"""AppSync direct Lambda resolver events, single and batch, run through the same schema.

Each event names one field (`info.parentTypeName`.`info.fieldName`) with its
arguments and the client's selection set (`info.selectionSetGraphQL`, named
fragments included); resolvers/appsync_operations.py turns that into a one-field
operation and runs it through the schema's pipeline.

Results follow the AWS AppSync reference for direct Lambda resolvers: a single
invocation returns the field's value or raises (Lambda reports the class name as
errorType); a BatchInvoke returns, in order, one `{"data": ...}` per item, with
`errorMessage` and `errorType` added for the items that failed.

This module stays light to import (no GraphQL engine): the handler may import it just
to classify an event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from resolvers.bootstrap import App


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
    data, error = _resolve(app, event, request_id)
    if error is not None:
        raise error_class(error[0])(error[1])
    return data


def _resolve(
    app: App, event: Mapping[str, Any], request_id: str
) -> tuple[Any, tuple[str, str] | None]:
    """The read fields without an engine where resolvers/appsync_fast.py can; else the schema."""
    from resolvers import appsync_fast

    answer = appsync_fast.resolve(app, event, request_id)
    if answer is not None:
        return answer
    from resolvers.appsync_operations import resolve

    return resolve(app, event, request_id)


def _batch_item(app: App, event: Mapping[str, Any], request_id: str) -> dict[str, Any]:
    data, error = _resolve(app, event, request_id)
    if error is None:
        return {"data": data}
    return {"data": None, "errorMessage": error[1], "errorType": error[0]}


def warm(app: App) -> None:
    """Import the GraphQL engine and build the schema now (e.g. during Lambda init)."""
    from resolvers.schema import schema_for

    schema_for(app.settings)
