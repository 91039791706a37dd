"""The Strawberry schema: Query, Mutation, and the request pipeline around them.

Strawberry builds the types and resolvers; every request runs through
resolvers/execution.py (cached documents, limits, error codes, one log line), so that
its views and the AppSync adapter share the same rules.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

import strawberry
from graphql import GraphQLError, GraphQLObjectType, GraphQLSchema
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from resolvers.documents import Limits
from resolvers.execution import Engine
from resolvers.executor import PicgraphExecutionContext, attribute_resolver, context_resolver
from resolvers.mutations.complete_image_upload import complete_image_upload
from resolvers.mutations.create_image_upload import create_image_upload
from resolvers.mutations.delete_image import delete_image
from resolvers.mutations.restore_image import restore_image
from resolvers.mutations.update_image import update_image
from resolvers.queries import Query
from resolvers.types import CONTEXT_RESOLVERS, DIRECT_RESOLVERS, Image

if TYPE_CHECKING:
    from infra.settings import Settings


@strawberry.type
class Mutation:
    create_image_upload = strawberry.mutation(
        resolver=create_image_upload,
        description=(
            "Reserve an image and get a presigned POST to upload its bytes straight to S3."
        ),
    )
    complete_image_upload = strawberry.mutation(
        resolver=complete_image_upload,
        description="Validate and process the uploaded object. Idempotent; owner only.",
    )
    update_image = strawberry.mutation(resolver=update_image, description="Owner only.")
    delete_image = strawberry.mutation(
        resolver=delete_image, description="Soft delete. Owner only. Idempotent."
    )
    restore_image = strawberry.mutation(
        resolver=restore_image,
        description="Undo a soft delete before cleanup purges it. Owner only.",
    )


class PicgraphSchema(strawberry.Schema):
    """strawberry.Schema whose execute methods run the picgraph pipeline."""

    def __init__(self, *, limits: Limits, **kwargs: Any) -> None:
        super().__init__(execution_context_class=PicgraphExecutionContext, **kwargs)
        _install_direct_resolvers(self._schema)
        self.engine = Engine(self._schema, self.execution_context_class, limits)

    def _warn_for_federation_directives(self) -> None:
        """Skipped: picgraph uses no federation directive, and the check imports
        strawberry.federation.schema_directives (~5 ms of every HTTP cold start)."""

    def execute_sync(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        result = self._run(
            query,
            variable_values,
            context_value,
            operation_name,
            allowed_operation_types,
            operation_extensions,
        )
        if isinstance(result, ExecutionResult):
            return result
        close = getattr(result, "close", None)
        if close is not None:
            close()
        raise RuntimeError("GraphQL execution failed to complete synchronously.")

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        result = self._run(
            query,
            variable_values,
            context_value,
            operation_name,
            allowed_operation_types,
            operation_extensions,
        )
        return result if isinstance(result, ExecutionResult) else await result

    async def stream(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
    ) -> AsyncGenerator[Any, None]:
        """Streaming transports get the single result of the same pipeline."""

        async def single() -> AsyncGenerator[Any, None]:
            yield await self.execute(
                query,
                variable_values,
                context_value,
                root_value,
                operation_name,
                allowed_operation_types,
                operation_extensions,
            )

        return single()

    async def subscribe(self, *args: Any, **kwargs: Any) -> Any:
        return ExecutionResult(
            data=None,
            errors=[
                GraphQLError("Subscriptions are not supported.", extensions={"code": "BAD_REQUEST"})
            ],
        )

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Logged by the pipeline instead: unexpected ones with the request id, once."""

    def _run(
        self,
        query: str | None,
        variables: dict[str, Any] | None,
        context: Any,
        operation_name: str | None,
        allowed: Iterable[OperationType] | None,
        operation_extensions: dict[str, Any] | None,
    ) -> ExecutionResult | Awaitable[ExecutionResult]:
        from strawberry.exceptions import MissingQueryError

        if not query:
            raise MissingQueryError
        return self.engine.run_text(
            query,
            variables=variables,
            context=context,
            operation_name=operation_name,
            allowed=allowed,
            operation_extensions=operation_extensions,
        )


def _install_direct_resolvers(schema: GraphQLSchema) -> None:
    """graphql-core resolvers for the fields that need none of Strawberry's per-call work.

    A field without a resolver is `getattr(source, python_name)` (Strawberry reaches it
    through three calls per value, this in one). The fields in types.py's
    CONTEXT_RESOLVERS and DIRECT_RESOLVERS convert their own arguments (an enum's value)
    and have no permission classes or field extensions (checked here), so Strawberry's
    wrapper around each call (argument conversion, a strawberry.Info) buys them nothing."""
    for named in schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for field_name, field in named.fields.items():
            definition = (field.extensions or {}).get("strawberry-definition")
            if definition is None:
                continue
            key = (named.name, field_name)
            if key in CONTEXT_RESOLVERS or key in DIRECT_RESOLVERS:
                if definition.permission_classes or definition.extensions:
                    raise TypeError(f"{named.name}.{field_name} needs Strawberry's resolver.")
                field.resolve = (
                    context_resolver(CONTEXT_RESOLVERS[key])
                    if key in CONTEXT_RESOLVERS
                    else DIRECT_RESOLVERS[key]
                )
            elif getattr(field.resolve, "_is_default", False) and (
                definition.default_resolver is getattr
            ):
                field.resolve = attribute_resolver(definition.python_name)


@cache
def create_schema(
    *,
    introspection: bool = True,
    max_depth: int = 10,
    max_aliases: int = 15,
    max_tokens: int = 2000,
    max_cost: int = 20_000,
) -> PicgraphSchema:
    """One schema (and document cache) per configuration, built once per process."""
    return PicgraphSchema(
        query=Query,
        mutation=Mutation,
        types=[Image],
        config=StrawberryConfig(disable_field_suggestions=not introspection),
        limits=Limits(
            max_depth=max_depth,
            max_aliases=max_aliases,
            max_tokens=max_tokens,
            max_cost=max_cost,
            introspection=introspection,
        ),
    )


def schema_for(settings: Settings) -> PicgraphSchema:
    return create_schema(
        introspection=settings.introspection,
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_aliases,
        max_tokens=settings.max_tokens,
        max_cost=settings.max_query_cost,
    )


def export_sdl() -> str:
    return create_schema().as_str() + "\n"
