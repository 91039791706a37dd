"""Relay cursor connections: the image list's connection, its edges and page information."""

from __future__ import annotations

from typing import TYPE_CHECKING

import strawberry

from resolvers.types import Image
from services.models import ImageQuery

if TYPE_CHECKING:
    from resolvers.context import Context


@strawberry.type(description="Relay cursor connections page information.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class ImageEdge:
    cursor: str
    node: Image


TOTAL_COUNT_DESCRIPTION = """Every image the filter matches (not only this page), from counters
that move in the same transaction as the images; null where no counter holds it.
Exact for: ownerId (any status, any sort) without tags or a date range; a single
tag (READY) without ownerId or a date range. Null for: the global feed (no ownerId,
no tags), two or more tags, any createdAfter/createdBefore, a tag with ownerId.
Images written before counters existed count only after `picgraph recount`.
Read only when selected."""


@strawberry.type
class ImageConnection:
    edges: list[ImageEdge]
    page_info: PageInfo
    query: strawberry.Private[ImageQuery | None] = None

    @strawberry.field(description=TOTAL_COUNT_DESCRIPTION)
    def total_count(self, info: strawberry.Info[Context, None]) -> int | None:
        if self.query is None:
            return None
        return info.context.app.listing.total_count(self.query)
