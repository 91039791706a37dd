"""The `images` listing: filters, sort, Relay pagination and cursors, on a real table.

Every test runs against moto's DynamoDB with the table built from infra.keys, seeded
through DynamoImageRepository.create/save so that every index attribute, tag item and
the feed bounds item are the real ones.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from infra import keys, page_budget
from infra.dynamodb import DynamoImageRepository
from infra.records import Image, ImageStatus, Position, SortOrder
from services.cursors import MAX_CURSOR_LENGTH, CursorCodec
from services.errors import BadQueryArgumentError, InvalidCursorError, QueryForbiddenError
from services.listing import Connection, ListingService
from tests.support import CallRecorder, create_table, seed_image

SECRET = "listing-test-secret"
NOW = datetime.now(UTC)
# Month starts: the current month, the previous one and the one before (all in the past).
M0 = NOW.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
M1 = (M0 - timedelta(days=1)).replace(day=1)
M2 = (M1 - timedelta(days=1)).replace(day=1)
US = timedelta(microseconds=1)


@dataclass
class Env:
    client: Any
    repository: DynamoImageRepository
    recorder: CallRecorder
    images: list[Image] = field(default_factory=list)

    def service(self, repository: Any = None) -> ListingService:
        return ListingService(repository or self.repository, SECRET)

    def add(
        self,
        owner: str,
        created_at: datetime,
        *,
        tags: Sequence[str] = (),
        status: ImageStatus = ImageStatus.READY,
        image_id: str | None = None,
    ) -> Image:
        image = seed_image(
            self.repository, owner, created_at, tags=tags, status=status, image_id=image_id
        )
        self.images.append(image)
        return image


def new_env(
    client: Any, repository_class: type[DynamoImageRepository] = DynamoImageRepository
) -> Env:
    table_name = f"picgraph-{uuid.uuid4().hex[:12]}"
    create_table(client, table_name)
    repository = repository_class(table_name, client=client)
    return Env(client, repository, CallRecorder().attach(client))


@pytest.fixture
def env() -> Iterator[Env]:
    with mock_aws():
        yield new_env(boto3.client("dynamodb", region_name="us-east-1"))


@pytest.fixture
def timeline_env() -> Iterator[Env]:
    with mock_aws():
        yield new_env(boto3.client("dynamodb", region_name="us-east-1"))


def expected_ids(
    images: Sequence[Image],
    *,
    owner_id: str | None = None,
    tags: Sequence[str] = (),
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    status: ImageStatus | None = None,
    sort: SortOrder = SortOrder.NEWEST_FIRST,
) -> list[str]:
    """The reference answer: filter and sort in plain Python."""
    wanted = status or ImageStatus.READY
    chosen = [
        image
        for image in images
        if image.status is wanted
        and (owner_id is None or image.owner_id == owner_id)
        and set(tags) <= set(image.tags)
        and (created_after is None or image.created_at > created_after)
        and (created_before is None or image.created_at < created_before)
    ]
    chosen.sort(key=lambda image: (image.created_at, image.id))
    if sort is SortOrder.NEWEST_FIRST:
        chosen.reverse()
    return [image.id for image in chosen]


def ids(connection: Connection) -> list[str]:
    return [edge.image.id for edge in connection.edges]


def walk_forward(
    service: ListingService, viewer: str, size: int, *, strict: bool = True, **filters: Any
) -> tuple[list[str], list[Connection]]:
    """Every page with first/after; checks the pageInfo of each (strict: no bound hits)."""
    pages: list[Connection] = []
    after: str | None = None
    while True:
        page = service.list_images(viewer, first=size, after=after, **filters)
        assert page.has_previous_page == (after is not None)
        assert page.start_cursor == (page.edges[0].cursor if page.edges else None)
        if strict:
            assert page.end_cursor == (page.edges[-1].cursor if page.edges else None)
            if page.has_next_page:
                assert len(page.edges) == size, "a page is short only when the read bound is hit"
            elif pages:
                assert page.edges, "no empty page after the last one"
        pages.append(page)
        if not page.has_next_page:
            break
        after = page.end_cursor
        assert len(pages) < 500
    return [image_id for page in pages for image_id in ids(page)], pages


def walk_backward(
    service: ListingService, viewer: str, size: int, *, strict: bool = True, **filters: Any
) -> tuple[list[str], list[Connection]]:
    """Every page with last/before from the end; the ids come back in sort order."""
    pages: list[Connection] = []
    before: str | None = None
    while True:
        page = service.list_images(viewer, last=size, before=before, **filters)
        assert page.has_next_page == (before is not None)
        assert page.end_cursor == (page.edges[-1].cursor if page.edges else None)
        if strict:
            assert page.start_cursor == (page.edges[0].cursor if page.edges else None)
            if page.has_previous_page:
                assert len(page.edges) == size
            elif pages:
                assert page.edges
        pages.append(page)
        if not page.has_previous_page:
            break
        before = page.start_cursor
        assert len(pages) < 500
    return [image_id for page in reversed(pages) for image_id in ids(page)], pages


# --- filters, sort and pageInfo ------------------------------------------------------


def test_owner_gallery_pages_forward_and_backward(env: Env) -> None:
    """GIVEN 7 READY images of alice and 2 of bob
    WHEN bob walks alice's gallery 3 at a time, both ways and in both sorts
    THEN he gets exactly alice's images in order, full pages, exact pageInfo, no empty page."""
    for hour in range(7):
        env.add("alice", M1 + timedelta(hours=hour))
    env.add("bob", M1 + timedelta(minutes=30))
    env.add("bob", M1 + timedelta(hours=9))
    service = env.service()
    for sort in SortOrder:
        want = expected_ids(env.images, owner_id="alice", sort=sort)
        assert len(want) == 7
        forward, pages = walk_forward(service, "bob", 3, owner_id="alice", sort=sort)
        assert forward == want
        assert [len(page.edges) for page in pages] == [3, 3, 1]
        backward, pages = walk_backward(service, "bob", 3, owner_id="alice", sort=sort)
        assert backward == want
        assert [len(page.edges) for page in pages] == [3, 3, 1]


def test_last_page_is_exact_when_the_total_is_a_multiple_of_the_page(env: Env) -> None:
    """GIVEN 6 images
    WHEN walking 3 at a time
    THEN the second page says hasNextPage false (no empty third page)."""
    for minute in range(6):
        env.add("alice", M1 + timedelta(minutes=minute))
    _, pages = walk_forward(env.service(), "alice", 3, owner_id="alice")
    assert [len(page.edges) for page in pages] == [3, 3]
    assert pages[-1].has_next_page is False


def test_default_page_size_is_20_and_first_zero_is_exact(env: Env) -> None:
    """GIVEN 21 images
    WHEN listing without first/last, and with first: 0
    THEN 20 edges with hasNextPage, and no edges with an exact hasNextPage."""
    for second in range(21):
        env.add("alice", M1 + timedelta(seconds=second))
    service = env.service()
    page = service.list_images("alice", owner_id="alice")
    assert len(page.edges) == 20
    assert page.has_next_page
    empty = service.list_images("alice", owner_id="alice", first=0)
    assert (empty.edges, empty.has_next_page, empty.start_cursor, empty.end_cursor) == (
        (),
        True,
        None,
        None,
    )
    none = service.list_images("alice", owner_id="nobody", first=0)
    assert none.has_next_page is False


def test_previous_page_through_before_cursor(env: Env) -> None:
    """GIVEN 9 images and the third forward page of 3
    WHEN asking last: 3 before its startCursor
    THEN the second page comes back, with hasNextPage true and exact hasPreviousPage."""
    for minute in range(9):
        env.add("alice", M1 + timedelta(minutes=minute))
    service = env.service()
    _, pages = walk_forward(service, "alice", 3, owner_id="alice")
    back = service.list_images("alice", owner_id="alice", last=3, before=pages[2].start_cursor)
    assert ids(back) == ids(pages[1])
    assert back.has_previous_page is True
    assert back.has_next_page is True
    first_page = service.list_images("alice", owner_id="alice", last=3, before=back.start_cursor)
    assert ids(first_page) == ids(pages[0])
    assert first_page.has_previous_page is False
    # A backward cursor used forwards: `after` the second page's start = pages 2 and 3.
    again = service.list_images("alice", owner_id="alice", first=6, after=pages[0].end_cursor)
    assert ids(again) == ids(pages[1]) + ids(pages[2])
    # `before` alone means the default-size page just before it.
    alone = service.list_images("alice", owner_id="alice", before=pages[2].start_cursor)
    assert ids(alone) == ids(pages[0]) + ids(pages[1])


def test_after_and_before_together_are_a_window(env: Env) -> None:
    """GIVEN 10 images and cursors on the 2nd and the 8th
    WHEN listing after the 2nd and before the 8th, forwards and backwards
    THEN only the 5 items between them, paged inside the window."""
    for minute in range(10):
        env.add("alice", M1 + timedelta(minutes=minute))
    service = env.service()
    whole = service.list_images("alice", owner_id="alice", first=10)
    cursors = [edge.cursor for edge in whole.edges]
    inside = ids(whole)[2:7]
    page = service.list_images(
        "alice", owner_id="alice", first=3, after=cursors[1], before=cursors[7]
    )
    assert ids(page) == inside[:3]
    assert (page.has_next_page, page.has_previous_page) == (True, True)
    rest = service.list_images(
        "alice", owner_id="alice", first=3, after=page.end_cursor, before=cursors[7]
    )
    assert ids(rest) == inside[3:]
    assert rest.has_next_page is False
    exact = service.list_images(
        "alice", owner_id="alice", first=5, after=cursors[1], before=cursors[7]
    )
    assert ids(exact) == inside
    assert exact.has_next_page is False
    tail = service.list_images(
        "alice", owner_id="alice", last=2, after=cursors[1], before=cursors[7]
    )
    assert ids(tail) == inside[-2:]
    assert (tail.has_previous_page, tail.has_next_page) == (True, True)
    env.recorder.clear()
    crossed = service.list_images("alice", owner_id="alice", after=cursors[7], before=cursors[1])
    assert crossed.edges == ()
    assert env.recorder.calls == [], "an empty window needs no read"


def test_equal_timestamps_are_ordered_by_id(env: Env) -> None:
    """GIVEN 5 images created at the same microsecond
    WHEN walking them 2 at a time in both sorts and directions
    THEN the id breaks the tie, a total order with no duplicates or gaps."""
    moment = M1 + timedelta(days=2)
    for _ in range(5):
        env.add("alice", moment, tags=["same"])
    service = env.service()
    for sort in SortOrder:
        want = expected_ids(env.images, tags=["same"], sort=sort)
        assert want == sorted(want, reverse=sort is SortOrder.NEWEST_FIRST)
        for filters in ({"owner_id": "alice"}, {"tags": ["same"]}, {}):
            assert walk_forward(service, "bob", 2, sort=sort, **filters)[0] == want
            assert walk_backward(service, "bob", 2, sort=sort, **filters)[0] == want


def test_date_bounds_are_strict(env: Env) -> None:
    """GIVEN images at t-1us, t, t+1us
    WHEN createdAfter or createdBefore is exactly t (in any timezone)
    THEN the image at t is excluded, its neighbours are not."""
    t = M1 + timedelta(days=3, hours=5)
    before, at, after = (
        env.add("alice", t + delta, tags=["edge"]) for delta in (-US, timedelta(), US)
    )
    service = env.service()
    offset = timezone(timedelta(hours=-7))
    for filters in ({"owner_id": "alice"}, {"tags": ["edge"]}, {}):
        for sort in SortOrder:
            newer = service.list_images(
                "bob", created_after=t.astimezone(offset), sort=sort, **filters
            )
            assert ids(newer) == [after.id]
            older = service.list_images("bob", created_before=t, sort=sort, **filters)
            assert ids(older) == [before.id]
            both = service.list_images(
                "bob", created_after=t - 2 * US, created_before=t + 2 * US, sort=sort, **filters
            )
            assert sorted(ids(both)) == sorted([before.id, at.id, after.id])
            none = service.list_images("bob", created_after=t, created_before=t + US, **filters)
            assert none.edges == ()


def test_empty_or_inverted_date_range_reads_nothing(env: Env) -> None:
    """GIVEN createdAfter at or after createdBefore
    WHEN listing
    THEN an empty page, without any DynamoDB call."""
    env.add("alice", M1)
    env.recorder.clear()
    for filters in ({"owner_id": "alice"}, {"tags": ["x"]}, {}):
        page = env.service().list_images("alice", created_after=M1, created_before=M1, **filters)
        assert (page.edges, page.has_next_page) == ((), False)
    assert env.recorder.calls == []


def test_month_buckets_are_walked_across_boundaries(env: Env) -> None:
    """GIVEN READY images on both sides of two month boundaries (to the microsecond)
    WHEN the global feed is walked 1 and 2 at a time, both sorts, both directions
    THEN every image comes back once, in order, and month edges split as expected."""
    edges = [M2 - US, M2, M1 - US, M1, M1 + US, M0 - US]
    for moment in edges:
        env.add("alice", moment)
    env.add("carol", M1 + timedelta(days=1), status=ImageStatus.PROCESSING)
    service = env.service()
    for sort in SortOrder:
        want = expected_ids(env.images, sort=sort)
        assert len(want) == len(edges)
        for size in (1, 2):
            assert walk_forward(service, "bob", size, sort=sort)[0] == want
            assert walk_backward(service, "bob", size, sort=sort)[0] == want
        just_before = service.list_images("bob", created_before=M1, sort=sort)
        assert ids(just_before) == expected_ids(env.images, created_before=M1, sort=sort)
        from_edge = service.list_images("bob", created_after=M1 - US, sort=sort)
        assert ids(from_edge) == expected_ids(env.images, created_after=M1 - US, sort=sort)
    partitions = {
        call.params["ExpressionAttributeValues"][":pk"]["S"]
        for call in env.recorder.calls
        if call.operation == "Query"
    }
    assert keys.feed_partition(keys.feed_bucket(M1 - US)) in partitions
    assert keys.feed_partition(keys.feed_bucket(M1)) in partitions
    assert keys.feed_bucket(M1 - US) != keys.feed_bucket(M1)


def test_feed_walks_past_empty_months(env: Env) -> None:
    """GIVEN READY images 5 and 6 months ago only (the months between are empty)
    WHEN the feed is listed newest first, and oldest first
    THEN the images come back on the first page, all months walked in one page."""
    old = (M2 - timedelta(days=95)).replace(day=10)
    images = [env.add("alice", old), env.add("alice", old - timedelta(days=31))]
    page = env.service().list_images("bob", first=5)
    assert ids(page) == [images[0].id, images[1].id]
    assert page.has_next_page is False
    oldest = env.service().list_images("bob", first=1, sort=SortOrder.OLDEST_FIRST)
    assert ids(oldest) == [images[1].id]
    assert oldest.has_next_page is True


def test_tag_filter_with_several_tags(env: Env) -> None:
    """GIVEN images with various tag sets, owners and statuses
    WHEN filtering by several tags, spelled differently, with and without an owner
    THEN only READY images carrying every tag, whatever the tags' order or case."""
    both = env.add("alice", M1 + timedelta(hours=1), tags=["cat", "dog"])
    env.add("alice", M1 + timedelta(hours=2), tags=["cat"])
    env.add("bob", M1 + timedelta(hours=3), tags=["dog"])
    three = env.add("bob", M1 + timedelta(hours=4), tags=["sun", "dog", "cat"])
    env.add("alice", M1 + timedelta(hours=5), tags=["cat", "dog"], status=ImageStatus.DELETED)
    env.add("alice", M1 + timedelta(hours=6), tags=["cat", "dog"], status=ImageStatus.PROCESSING)
    service = env.service()
    assert ids(service.list_images("carol", tags=["cat", "dog"])) == [three.id, both.id]
    assert ids(service.list_images("carol", tags=[" DOG ", "Cat", "cat"])) == [three.id, both.id]
    assert ids(service.list_images("carol", tags=["cat", "dog", "sun"])) == [three.id]
    assert ids(service.list_images("carol", tags=["cat", "dog"], owner_id="alice")) == [both.id]
    assert ids(service.list_images("carol", tags=["cat", "dog"], sort=SortOrder.OLDEST_FIRST)) == [
        both.id,
        three.id,
    ]
    assert ids(service.list_images("carol", tags=["nothing-here"])) == []
    cursor = service.list_images("carol", tags=["cat", "dog"], first=1).end_cursor
    assert ids(service.list_images("carol", tags=["dog", "cat"], after=cursor)) == [both.id]


@pytest.mark.parametrize("bad", ["bad tag", "", "#", "x" * 51, "a/b"])
def test_invalid_tag_is_a_bad_argument(env: Env, bad: str) -> None:
    """GIVEN a tag that is not valid once normalised
    WHEN filtering by it
    THEN BadQueryArgumentError and no DynamoDB call."""
    env.recorder.clear()
    with pytest.raises(BadQueryArgumentError):
        env.service().list_images("alice", tags=["cat", bad])
    assert env.recorder.calls == []


def test_unlisted_statuses_never_appear_in_public_listings(env: Env) -> None:
    """GIVEN alice's images in every status, all tagged
    WHEN anyone (alice included) lists the feed, the tag, or alice's gallery by default
    THEN only the READY image appears."""
    ready = env.add("alice", M1 + timedelta(hours=1), tags=["mine"])
    for hour, status in enumerate(
        (
            ImageStatus.PENDING_UPLOAD,
            ImageStatus.PROCESSING,
            ImageStatus.REJECTED,
            ImageStatus.DELETED,
        ),
        start=2,
    ):
        env.add("alice", M1 + timedelta(hours=hour), tags=["mine"], status=status)
    service = env.service()
    for viewer in ("alice", "bob"):
        for filters in (
            {},
            {"tags": ["mine"]},
            {"owner_id": "alice"},
            {"status": ImageStatus.READY},
        ):
            for sort in SortOrder:
                assert ids(service.list_images(viewer, sort=sort, **filters)) == [ready.id]


@pytest.mark.parametrize(
    "status",
    [ImageStatus.PENDING_UPLOAD, ImageStatus.PROCESSING, ImageStatus.REJECTED, ImageStatus.DELETED],
)
def test_other_statuses_only_for_own_images(env: Env, status: ImageStatus) -> None:
    """GIVEN alice's images in `status`
    WHEN bob asks for that status (alice's, or without an owner)
    THEN QueryForbiddenError, no DynamoDB call; alice herself gets her own images."""
    mine = env.add("alice", M1 + timedelta(hours=1), tags=["t"], status=status)
    env.add("alice", M1 + timedelta(hours=2), tags=["t"])
    env.recorder.clear()
    service = env.service()
    with pytest.raises(QueryForbiddenError):
        service.list_images("bob", owner_id="alice", status=status)
    with pytest.raises(QueryForbiddenError):
        service.list_images("bob", status=status)
    with pytest.raises(QueryForbiddenError):
        service.list_images("alice", status=status, tags=["t"])
    assert env.recorder.calls == []
    assert ids(service.list_images("alice", owner_id="alice", status=status)) == [mine.id]
    assert ids(service.list_images("alice", owner_id="alice", status=status, tags=["t"])) == [
        mine.id
    ]


@pytest.mark.parametrize(
    "arguments",
    [
        {"first": 1, "last": 1},
        {"first": -1},
        {"last": -1},
        {"first": 101},
        {"last": 101},
        {"created_after": datetime(2026, 1, 1)},
        {"created_before": datetime(2026, 1, 1)},
        {"owner_id": ""},
        {"owner_id": "x" * 257},
    ],
)
def test_bad_arguments(env: Env, arguments: dict[str, Any]) -> None:
    """GIVEN an invalid combination of arguments
    WHEN listing
    THEN BadQueryArgumentError before any DynamoDB call."""
    env.recorder.clear()
    with pytest.raises(BadQueryArgumentError):
        env.service().list_images("alice", **arguments)
    assert env.recorder.calls == []


def test_page_size_limits_are_accepted(env: Env) -> None:
    """GIVEN 3 images
    WHEN asking first: 100 and last: 100
    THEN all of them."""
    for minute in range(3):
        env.add("alice", M1 + timedelta(minutes=minute))
    service = env.service()
    assert len(service.list_images("alice", first=100).edges) == 3
    assert len(service.list_images("alice", last=100).edges) == 3


def test_new_images_during_a_walk_cause_no_duplicates_or_gaps(env: Env) -> None:
    """GIVEN a feed walk in progress
    WHEN images become READY meanwhile (new ones, and an old upload completing late)
    THEN every image that existed throughout comes back exactly once."""
    for hour in range(8):
        env.add("alice", M1 + timedelta(hours=hour))
    original = expected_ids(env.images)
    late = seed_image(
        env.repository,
        "bob",
        M1 + timedelta(hours=3, minutes=30),
        status=ImageStatus.PENDING_UPLOAD,
    )
    service = env.service()
    page = service.list_images("carol", first=3)
    seen = ids(page)
    env.add("bob", M1 + timedelta(hours=20))  # newer than the walk's position
    ready = late.evolve(status=ImageStatus.READY, cleanup_after=None)
    env.repository.save(ready, previous=late)  # lands ahead of the position
    while page.has_next_page:
        page = service.list_images("carol", first=3, after=page.end_cursor)
        seen += ids(page)
    assert len(seen) == len(set(seen))
    assert [image_id for image_id in seen if image_id in original] == original
    assert ready.id in seen


# --- cursors ---------------------------------------------------------------------------


def _variants(cursor: str) -> Iterator[str]:
    """Every single-bit flip of the decoded token, and every one-character change."""
    token = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    for index in range(len(token)):
        for bit in range(8):
            flipped = bytearray(token)
            flipped[index] ^= 1 << bit
            yield base64.urlsafe_b64encode(bytes(flipped)).rstrip(b"=").decode()
    for index, char in enumerate(cursor):
        replacement = "A" if char != "A" else "B"
        yield cursor[:index] + replacement + cursor[index + 1 :]
    yield cursor[:-1]
    yield cursor + "A"
    yield cursor + "AAAA"


def test_cursor_tampering_matrix(env: Env) -> None:
    """GIVEN a cursor issued for bob's view of alice's cats, newest first
    WHEN any bit or character is changed, or it is used with another filter, sort or
    viewer, or garbage or an oversized cursor is sent, as after or before
    THEN InvalidCursorError("invalid cursor"), and no DynamoDB call is made."""
    for minute in range(3):
        env.add("alice", M1 + timedelta(minutes=minute), tags=["cat"])
    service = env.service()
    filters: dict[str, Any] = {"owner_id": "alice", "tags": ["cat"], "created_after": M2}
    cursor = service.list_images("bob", first=1, **filters).end_cursor
    assert cursor is not None
    assert len(service.list_images("bob", first=5, after=cursor, **filters).edges) == 2
    foreign = ListingService(env.repository, "another-secret").list_images(
        "bob", first=1, **filters
    )
    other_queries: list[tuple[str, dict[str, Any], str]] = [
        ("carol", filters, cursor),
        ("alice", filters, cursor),
        ("bob", {**filters, "owner_id": "carol"}, cursor),
        ("bob", {**filters, "tags": ["cat", "dog"]}, cursor),
        ("bob", {**filters, "tags": []}, cursor),
        ("bob", {**filters, "created_after": M2 + US}, cursor),
        ("bob", {**filters, "created_before": M0}, cursor),
        ("bob", {**filters, "sort": SortOrder.OLDEST_FIRST}, cursor),
        ("bob", {k: v for k, v in filters.items() if k != "owner_id"}, cursor),
        ("bob", filters, str(foreign.end_cursor)),
    ]
    garbage = [
        "",
        "garbage",
        "!!!!",
        "=" * 8,
        "A" * (MAX_CURSOR_LENGTH + 1),
        "x" * 10_000,
        base64.urlsafe_b64encode(b"\x01" + b"\x00" * 60).decode(),
        base64.urlsafe_b64encode(b"\x02" + b"\x00" * 60).decode().rstrip("="),
        "Ã©" * 10,
        cursor + "\n",
        " " + cursor,
    ]
    attempts = [("bob", filters, variant) for variant in _variants(cursor)]
    attempts += other_queries + [("bob", filters, junk) for junk in garbage]
    env.recorder.clear()
    for viewer, query, bad in attempts:
        for direction in ("after", "before"):
            cursor_argument: dict[str, Any] = {direction: bad}
            with pytest.raises(InvalidCursorError, match=r"^invalid cursor$"):
                service.list_images(viewer, **cursor_argument, **query)
    assert env.recorder.calls == []
    assert len(attempts) > 800


def test_cursor_binding_is_normalised(env: Env) -> None:
    """GIVEN a cursor issued with tags and an instant in one spelling
    WHEN the same filter is written differently (tag case and order, another offset)
    THEN the cursor is accepted."""
    for minute in range(3):
        env.add("alice", M1 + timedelta(minutes=minute), tags=["cat", "dog"])
    service = env.service()
    cursor = service.list_images("bob", first=1, tags=["cat", "dog"], created_after=M2).end_cursor
    same = service.list_images(
        "bob",
        after=cursor,
        tags=["DOG", " cat"],
        created_after=M2.astimezone(timezone(timedelta(hours=5, minutes=30))),
        status=ImageStatus.READY,
    )
    assert len(same.edges) == 2


def test_cursor_codec_round_trip_and_size() -> None:
    """GIVEN positions with long ids and extreme instants
    WHEN encoded and decoded with the same binding
    THEN the same position, within MAX_CURSOR_LENGTH, in the base64url alphabet."""
    codec = CursorCodec(SECRET)
    for position in (
        Position(datetime(1970, 1, 1, tzinfo=UTC), ""),
        Position(datetime(2026, 2, 28, 23, 59, 59, 999999, tzinfo=UTC), str(uuid.uuid4())),
        Position(datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), "~" * 200),
    ):
        cursor = codec.encode(position, "binding")
        assert len(cursor) <= MAX_CURSOR_LENGTH
        assert cursor.replace("-", "").replace("_", "").isalnum()
        assert codec.decode(cursor, "binding") == position
        with pytest.raises(InvalidCursorError):
            codec.decode(cursor, "another binding")
    with pytest.raises(ValueError, match="secret"):
        CursorCodec("")


# --- the read bound ------------------------------------------------------------------


def test_bound_hit_gives_a_short_page_that_resumes_at_the_scan_position(
    timeline_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN an owner with 24 images of which only 3 carry a tag, and a read bound of
    2 Queries of at most 3 items
    WHEN walking the owner's tagged images 2 at a time, both ways
    THEN pages may be short (even empty) with hasNextPage true and an endCursor past
    the last returned item, and the walk still returns exactly the 3 images once."""
    monkeypatch.setattr(page_budget, "MAX_QUERY_CALLS", 2)
    monkeypatch.setattr(page_budget, "MAX_READ_LIMIT", 3)
    env = timeline_env
    for minute in range(24):
        env.add(
            "alice", M1 + timedelta(minutes=minute), tags=["rare"] if minute in (2, 3, 21) else []
        )
    service = env.service()
    for sort in SortOrder:
        want = expected_ids(env.images, owner_id="alice", tags=["rare"], sort=sort)
        forward, pages = walk_forward(
            service, "bob", 2, strict=False, owner_id="alice", tags=["rare"], sort=sort
        )
        assert forward == want
        short = [page for page in pages if page.has_next_page and len(page.edges) < 2]
        assert short, "the bound was hit"
        assert any(
            page.end_cursor != (page.edges[-1].cursor if page.edges else None) for page in short
        )
        backward, _ = walk_backward(
            service, "bob", 2, strict=False, owner_id="alice", tags=["rare"], sort=sort
        )
        assert backward == want
    env.recorder.clear()
    service.list_images("bob", first=2, owner_id="alice", tags=["rare"])
    assert env.recorder.count("Query") <= 2


def test_feed_bound_on_empty_months_resumes(
    timeline_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN READY images only 7 months ago and a bound of 2 empty months per page
    WHEN the feed is walked
    THEN early pages are empty with hasNextPage and a cursor, and the walk reaches the images."""
    monkeypatch.setattr(page_budget, "MAX_EMPTY_MONTHS", 2)
    env = timeline_env
    old = (M2 - timedelta(days=130)).replace(day=5)
    image = env.add("alice", old)
    found, pages = walk_forward(env.service(), "bob", 5, strict=False)
    assert found == [image.id]
    assert len(pages) > 1
    assert pages[0].edges == ()
    assert pages[0].has_next_page
    assert pages[0].end_cursor


def test_every_filter_kind_walks_to_the_reference_results(env: Env) -> None:
    """GIVEN a mix of owners and tags
    WHEN walking with every filter kind, both ways
    THEN the same results as the reference."""
    for minute in range(7):
        env.add(
            "alice" if minute % 2 else "bob",
            M1 + timedelta(minutes=minute),
            tags=["a"] if minute % 3 else ["a", "b"],
        )
    service = env.service()
    for filters in (
        {},
        {"owner_id": "alice"},
        {"tags": ["a"]},
        {"tags": ["a", "b"]},
        {"created_after": M1 + timedelta(minutes=2)},
    ):
        for sort in SortOrder:
            want = expected_ids(env.images, sort=sort, **filters)
            assert walk_forward(service, "carol", 2, sort=sort, **filters)[0] == want
            assert walk_backward(service, "carol", 2, sort=sort, **filters)[0] == want


# --- properties ------------------------------------------------------------------------

OWNERS = ("alice", "bob", "carol")
TAGS = ("cat", "dog", "sun")
EDGE_INSTANTS = (M2 - US, M2, M2 + US, M1 - US, M1, M1 + US, M1 + timedelta(days=3))
_BASE = M2 - timedelta(days=35)
instants = st.one_of(
    st.sampled_from(EDGE_INSTANTS),
    st.integers(0, 80 * 86_400_000_000).map(lambda micros: _BASE + micros * US),
)
statuses = st.sampled_from(list(ImageStatus))
image_specs = st.tuples(
    st.sampled_from(OWNERS),
    instants,
    st.lists(st.sampled_from(TAGS), unique=True, max_size=3),
    st.one_of(st.just(ImageStatus.READY), statuses),
)
queries = st.fixed_dictionaries(
    {},
    optional={
        "owner_id": st.sampled_from(OWNERS),
        "tags": st.lists(st.sampled_from(TAGS), unique=True, min_size=1, max_size=2),
        "created_after": instants,
        "created_before": instants,
        "status": statuses,
        "sort": st.sampled_from(list(SortOrder)),
    },
)


def test_walks_return_exactly_the_filtered_sorted_set() -> None:
    """GIVEN random images (owners, tags, statuses, instants around month edges, ties)
    WHEN a random viewer walks a random filter forwards and backwards, random page size
    THEN both walks return exactly the reference set in order, with exact pageInfo,
    or QueryForbiddenError when the status filter is not allowed."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")

        @settings(
            max_examples=75,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(
            specs=st.lists(image_specs, min_size=3, max_size=16),
            viewer=st.sampled_from(OWNERS),
            query=queries,
            size=st.integers(1, 4),
            duplicate=st.booleans(),
        )
        def check(
            specs: list[tuple[str, datetime, list[str], ImageStatus]],
            viewer: str,
            query: dict[str, Any],
            size: int,
            duplicate: bool,
        ) -> None:
            env = new_env(client)
            for owner, moment, tags, status in specs:
                env.add(owner, moment, tags=tags, status=status)
                if duplicate:  # a twin at the same instant: the id decides
                    env.add(owner, moment, tags=tags, status=status)
            service = env.service()
            wanted = query.get("status")
            if wanted not in (None, ImageStatus.READY) and query.get("owner_id") != viewer:
                with pytest.raises(QueryForbiddenError):
                    service.list_images(viewer, first=size, **query)
                event("forbidden")
                return
            want = expected_ids(env.images, **query)
            event(
                f"results: {'none' if not want else 'one page' if len(want) <= size else 'pages'}"
            )
            forward, pages = walk_forward(service, viewer, size, **query)
            assert forward == want
            assert len(pages) == max(1, -(-len(want) // size))
            backward, _ = walk_backward(service, viewer, size, **query)
            assert backward == want

        check()
