"""Query: node, image, images."""

from __future__ import annotations

from datetime import datetime

import strawberry

from resolvers.connections import ImageConnection, ImageEdge, PageInfo
from resolvers.context import Context
from resolvers.enums import ImageSort
from resolvers.enums import ImageStatus as ImageStatusType
from resolvers.errors import BadUserInputError, ForbiddenQueryError
from resolvers.types import Image, Node
from services.errors import BadQueryArgumentError, InvalidCursorError, QueryForbiddenError
from services.models import ImageStatus, SortOrder


@strawberry.input
class ImageFilter:
    owner_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only this owner's images."
    )
    tags: list[str] | None = strawberry.field(
        default=None,
        description="Only images carrying every one of these tags (normalised like Image.tags).",
    )
    created_after: datetime | None = strawberry.field(
        default=None, description="Strictly after this instant."
    )
    created_before: datetime | None = strawberry.field(
        default=None, description="Strictly before this instant."
    )
    status: ImageStatusType | None = strawberry.field(  # type: ignore[valid-type]
        default=None,
        description="Default READY. Any other status only together with ownerId = the viewer.",
    )


@strawberry.type
class Query:
    @strawberry.field
    def node(self, info: strawberry.Info[Context, None], id: strawberry.ID) -> Node | None:
        return _image(info, id)

    @strawberry.field(description="Null when it does not exist or the viewer may not see it.")
    def image(self, info: strawberry.Info[Context, None], id: strawberry.ID) -> Image | None:
        return _image(info, id)

    @strawberry.field(
        description=(
            "Cursor pagination (Relay): first/after forwards, last/before backwards; first\n"
            "and last together is BAD_USER_INPUT; page size defaults to 20, at most 100.\n"
            "Cursors are opaque and tamper-evident; a cursor used with a different filter or\n"
            "sort is BAD_USER_INPUT."
        )
    )
    def images(
        self,
        info: strawberry.Info[Context, None],
        filter: ImageFilter | None = None,
        sort: ImageSort | None = SortOrder.NEWEST_FIRST,  # type: ignore[valid-type]
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> ImageConnection:
        viewer_id = info.context.require_viewer()
        criteria = filter or ImageFilter()
        try:
            connection = info.context.app.listing.list_images(
                viewer_id,
                owner_id=criteria.owner_id,
                tags=criteria.tags,
                created_after=criteria.created_after,
                created_before=criteria.created_before,
                status=None if criteria.status is None else ImageStatus(criteria.status),
                sort=SortOrder(sort or SortOrder.NEWEST_FIRST),
                first=first,
                after=after,
                last=last,
                before=before,
            )
        except InvalidCursorError:
            raise BadUserInputError("invalid cursor") from None
        except BadQueryArgumentError as exc:
            raise BadUserInputError(str(exc)) from None
        except QueryForbiddenError as exc:
            raise ForbiddenQueryError(str(exc)) from None
        return ImageConnection(
            edges=[
                ImageEdge(cursor=edge.cursor, node=Image.from_model(edge.image))
                for edge in connection.edges
            ],
            page_info=PageInfo(
                has_next_page=connection.has_next_page,
                has_previous_page=connection.has_previous_page,
                start_cursor=connection.start_cursor,
                end_cursor=connection.end_cursor,
            ),
            query=connection.query,
        )


def _image(info: strawberry.Info[Context, None], image_id: str) -> Image | None:
    viewer_id = info.context.require_viewer()
    image = info.context.app.reader.get(viewer_id, image_id)
    return None if image is None else Image.from_model(image)
