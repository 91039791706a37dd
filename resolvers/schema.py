"""The Strawberry schema: Query, Mutation, and the safety limits around them."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import strawberry
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig

from resolvers.extensions import PicgraphSchema, RequestLog, RequireViewer, ShapeErrors
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
