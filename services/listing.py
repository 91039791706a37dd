"""The `images` query: filters, sort and Relay cursor pagination over the timelines.

Pagination semantics (as GitHub implements Relay connections):
- first/after walk forwards, last/before backwards; first and last together, a
  negative size or one above MAX_PAGE_SIZE is a BadQueryArgumentError. The size
  defaults to DEFAULT_PAGE_SIZE; `before` alone (no first/last, no after) means the
  DEFAULT_PAGE_SIZE items just before it. first: 0 / last: 0 give no edges and an
  exact hasNextPage / hasPreviousPage.
- after and before together are a window: the page is taken from the items strictly
  between them (forwards from `after` unless `last` is given), and hasNextPage (or
  hasPreviousPage when walking backwards) only counts items inside the window.
- hasNextPage on a forward page (hasPreviousPage on a backward one) is exact: the
  read asks for one item more than the page, never an empty page after the last one.
  The other direction is "the cursor is given" (graphql-ruby, GitHub): a cursor comes
  from an edge, so the item it points at precedes the page. Exact existence would
  cost a second Query per page for a flag clients rarely read; this is one Query.
- Cursors are signed and bound to the viewer, the normalised filter and the sort
  (services.cursors); they are checked before any read. Either cursor may be used
  with after or before.
- Read bound: filters checked in code (tags beyond the index key) read at most
  infra.page_budget.MAX_QUERY_CALLS Queries that return items per page (and the feed
  walks at most MAX_EMPTY_MONTHS empty months). When that bound is hit the page
  may be short, even empty, with hasNextPage (hasPreviousPage backwards) true, and
  endCursor (startCursor backwards) points at the last item *read*, so following it
  continues the scan instead of reading the same items again (the repository's
  ImagePage.resume_after).
- A filter on several tags (and no owner) drives on its most selective tag: the tag
  counters (one BatchGetItem, cached per process: services.counting) pick the
  tag with the fewest READY images, whose timeline is read while the other tags are
  checked in code. Every timeline has the same (createdAt, id) order and a cursor
  holds only a position in it, so the choice is not part of the cursor: a cursor stays
  exact if the counts (and so the driving tag) change between pages.
- totalCount (Connection.total_count, read only when asked) is exact where a counter
  holds it, None elsewhere; see ListingService.total_count.
- created_after / created_before must be timezone-aware (a naive datetime is a
  BadQueryArgumentError: guessing a zone would silently shift the range); both are
  strict bounds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.counting import TagSelectivity, total_count
from services.cursors import CursorCodec
from services.errors import BadQueryArgumentError, InputValidationError, QueryForbiddenError
from services.models import Image, ImagePage, ImageQuery, ImageStatus, Position, SortOrder
from services.ports import ImageRepository
from services.validation import normalize_tags

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_OWNER_ID_LENGTH = 256

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "Connection",
    "Edge",
    "ListingService",
    "query_binding",
]


@dataclass(frozen=True)
class Edge:
    cursor: str
    image: Image


@dataclass(frozen=True)
class Connection:
    edges: tuple[Edge, ...]
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None
    query: ImageQuery  # the validated filter, for total_count


class ListingService:
    def __init__(self, repository: ImageRepository, cursor_secret: str) -> None:
        self._repository = repository
        self._cursors = CursorCodec(cursor_secret)
        self._selectivity = TagSelectivity(repository)

    def total_count(self, query: ImageQuery) -> int | None:
        """See services.counting.total_count."""
        return total_count(self._repository, query)

    def list_images(
        self,
        viewer_id: str,
        *,
        owner_id: str | None = None,
        tags: Sequence[str] | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        status: ImageStatus | None = None,
        sort: SortOrder = SortOrder.NEWEST_FIRST,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection:
        size, backwards = _page(first, last, after, before)
        query = _query(
            viewer_id,
            owner_id=owner_id,
            tags=tags,
            created_after=created_after,
            created_before=created_before,
            status=status,
            sort=sort,
        )
        binding = query_binding(query)
        after_position = None if after is None else self._cursors.decode(after, binding)
        before_position = None if before is None else self._cursors.decode(before, binding)

        # In walk order: start is exclusive, stop (the window's far end) is exclusive.
        start, stop = (
            (before_position, after_position) if backwards else (after_position, before_position)
        )
        ascending = (query.sort is SortOrder.OLDEST_FIRST) != backwards
        page: list[Image] = []
        more, resume = False, None
        # An empty window (start not before stop) has nothing to read.
        if start is None or stop is None or _precedes(start, stop, ascending):
            driven = self._selectivity.most_selective_first(query)
            page, more, resume = self._read(driven, size, start, stop, ascending, backwards)

        edges = tuple(Edge(self._cursor(image, binding), image) for image in page)
        if backwards:
            edges = edges[::-1]
        resume_cursor = None if not more or resume is None else self._encode(resume, binding)
        first_cursor = edges[0].cursor if edges else None
        last_cursor = edges[-1].cursor if edges else None
        if backwards:
            return Connection(
                edges=edges,
                has_next_page=before is not None,
                has_previous_page=more,
                start_cursor=resume_cursor or first_cursor,
                end_cursor=last_cursor,
                query=query,
            )
        return Connection(
            edges=edges,
            has_next_page=more,
            has_previous_page=after is not None,
            start_cursor=first_cursor,
            end_cursor=resume_cursor or last_cursor,
            query=query,
        )

    def _read(
        self,
        query: ImageQuery,
        size: int,
        start: Position | None,
        stop: Position | None,
        ascending: bool,
        backwards: bool,
    ) -> tuple[list[Image], bool, Position | None]:
        """The page in walk order, whether more follow it, and where the next one starts."""
        if stop is None:
            found = self._list(query, limit=size, after=start, backwards=backwards)
            return list(found.images), found.has_more, found.resume_after
        # A window: one item more than the page tells whether the window goes on.
        found = self._list(query, limit=size + 1, after=start, backwards=backwards)
        inside = [image for image in found.images if _precedes(_position(image), stop, ascending)]
        if len(inside) > size:
            page = inside[:size]
            return page, True, _position(page[-1]) if page else None
        window_ends = (
            len(inside) < len(found.images)
            or not found.has_more
            or found.resume_after is None
            or not _precedes(found.resume_after, stop, ascending)
        )
        if window_ends:
            return inside, False, None
        return inside, True, found.resume_after  # the read bound was hit inside the window

    def _list(
        self, query: ImageQuery, *, limit: int, after: Position | None, backwards: bool
    ) -> ImagePage:
        return self._repository.list_page(query, limit=limit, after=after, backwards=backwards)

    def _cursor(self, image: Image, binding: str) -> str:
        return self._encode(_position(image), binding)

    def _encode(self, position: Position, binding: str) -> str:
        return self._cursors.encode(position, binding)


def query_binding(query: ImageQuery) -> str:
    """The canonical text a cursor is bound to: viewer, normalised filter and sort.

    Tags are a set (every listed tag must match), so their order is not part of it;
    instants are compared as UTC, whatever offset the client wrote them with.
    """
    return json.dumps(
        {
            "viewer": query.viewer_id,
            "owner": query.owner_id,
            "tags": sorted(query.tags),
            "createdAfter": _instant(query.created_after),
            "createdBefore": _instant(query.created_before),
            "status": query.status.value,
            "sort": query.sort.value,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )


def _page(
    first: int | None, last: int | None, after: str | None, before: str | None
) -> tuple[int, bool]:
    """The page size and whether the walk goes backwards."""
    if first is not None and last is not None:
        raise BadQueryArgumentError("Passing both `first` and `last` is not supported.")
    for name, value in (("first", first), ("last", last)):
        if value is None:
            continue
        if value < 0:
            raise BadQueryArgumentError(f"`{name}` must not be negative.")
        if value > MAX_PAGE_SIZE:
            raise BadQueryArgumentError(
                f"Requesting {value} records exceeds the `{name}` limit of {MAX_PAGE_SIZE}."
            )
    if first is not None:
        return first, False
    if last is not None:
        return last, True
    return DEFAULT_PAGE_SIZE, before is not None and after is None


def _query(
    viewer_id: str,
    *,
    owner_id: str | None,
    tags: Sequence[str] | None,
    created_after: datetime | None,
    created_before: datetime | None,
    status: ImageStatus | None,
    sort: SortOrder,
) -> ImageQuery:
    if owner_id is not None and not 1 <= len(owner_id) <= MAX_OWNER_ID_LENGTH:
        raise BadQueryArgumentError(f"ownerId must be 1 to {MAX_OWNER_ID_LENGTH} characters.")
    try:
        clean_tags = normalize_tags(tags or (), field=("filter", "tags"))
    except InputValidationError as exc:
        raise BadQueryArgumentError(exc.message) from None
    after_utc, before_utc = (
        _utc("createdAfter", created_after),
        _utc("createdBefore", created_before),
    )
    wanted = ImageStatus.READY if status is None else ImageStatus(status)
    if wanted is not ImageStatus.READY and owner_id != viewer_id:
        raise QueryForbiddenError(
            f"Listing {wanted.value} images is allowed only for your own images (ownerId)."
        )
    return ImageQuery(
        viewer_id=viewer_id,
        owner_id=owner_id,
        tags=clean_tags,
        created_after=after_utc,
        created_before=before_utc,
        status=wanted,
        sort=SortOrder(sort),
    )


# One day inside datetime's range: the timelines step a microsecond or a month past a bound.
_EARLIEST = datetime.min.replace(tzinfo=UTC) + timedelta(days=1)
_LATEST = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)


def _utc(name: str, moment: datetime | None) -> datetime | None:
    """The bound in UTC, or BadQueryArgumentError (no offset, or outside year 1-9999 in UTC)."""
    if moment is None:
        return None
    if moment.utcoffset() is None:
        raise BadQueryArgumentError(f"{name} must include a timezone offset.")
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not _EARLIEST <= utc <= _LATEST:
        raise BadQueryArgumentError(
            f"{name} must lie between {_EARLIEST.date()} and {_LATEST.date()} (UTC)."
        )
    return utc


def _position(image: Image) -> Position:
    return Position(image.created_at, image.id)


def _precedes(left: Position, right: Position, ascending: bool) -> bool:
    """Whether `left` comes strictly before `right` in the walk order."""
    left_key = (left.created_at, left.image_id)
    right_key = (right.created_at, right.image_id)
    return left_key < right_key if ascending else left_key > right_key


def _instant(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="microseconds")
