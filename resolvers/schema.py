"""The Strawberry schema: Query, Mutation, and the safety limits around them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache

import strawberry
from graphql import DocumentNode, ExecutionResult, FieldNode, GraphQLError, OperationDefinitionNode
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from resolvers.errors import UnauthenticatedError, shape_errors
from resolvers.logs import RequestLog
from resolvers.mutations.complete_image_upload import complete_image_upload
from resolvers.mutations.create_image_upload import create_image_upload
from resolvers.mutations.delete_image import delete_image
from resolvers.mutations.restore_image import restore_image
from resolvers.mutations.update_image import update_image
from resolvers.queries import Query
from resolvers.types import Image


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


@cache
def create_schema(
    *,
    introspection: bool = True,
    max_depth: int = 10,
    max_aliases: int = 15,
    max_tokens: int = 2000,
) -> PicgraphSchema:
    # Factories, so that each request gets fresh extension instances.
    extensions: list[Callable[[], SchemaExtension]] = [
        RequestLog,
        ShapeErrors,
        RequireViewer,
        lambda: QueryDepthLimiter(max_depth=max_depth),
        lambda: MaxAliasesLimiter(max_alias_count=max_aliases),
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return PicgraphSchema(
        query=Query,
        mutation=Mutation,
        types=[Image],
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=not introspection),
    )


def export_sdl() -> str:
    return create_schema().as_str() + "\n"
