"""GraphQL documents through the real schema in process, as a given viewer (no HTTP)."""

from __future__ import annotations

from typing import Any

from resolvers.bootstrap import App
from resolvers.context import Context
from resolvers.schema import create_schema


def execute_as(app: App, viewer: str | None, document: str, **variables: Any) -> dict[str, Any]:
    """The data of one operation run with every extension and limit; any error fails the test."""
    schema = create_schema(introspection=True, max_depth=10, max_aliases=15, max_tokens=2000)
    context = Context(app=app, request_id="req-in-process", viewer_id=viewer)
    result = schema.execute_sync(document, variable_values=variables, context_value=context)
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data
