"""Write sharding of the feed month and of hot tags: exact merged pages, on moto.

Each test seeds the same images through the real write path into an unsharded and a
sharded table (or changes the layout of one table midway) and compares what the
listing service returns: edges, pageInfo and cursors must be identical.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra import items, keys, page_budget
from infra.dynamodb import DynamoImageRepository
from infra.records import Image, ImageStatus, SortOrder
from infra.settings import Settings, SettingsError
from services.cursors import MAX_CURSOR_LENGTH
from services.listing import Connection, ListingService
from tests.support import CallRecorder, create_table, seed_image

SECRET = "feed-shards-secret"
NOW = datetime.now(UTC)
M0 = NOW.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
M1 = (M0 - timedelta(days=1)).replace(day=1)
M2 = (M1 - timedelta(days=1)).replace(day=1)
US = timedelta(microseconds=1)
CURSOR_CAP = 128
"""The most characters a cursor of a uuid4 image id may take, on every layout (120 today)."""


@dataclass
class Table:
    repository: DynamoImageRepository
    recorder: CallRecorder

    @property
    def service(self) -> ListingService:
        return ListingService(self.repository, SECRET)


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("dynamodb", region_name="us-east-1")


def new_table(client: Any, **layout: Any) -> Table:
    name = f"picgraph-{uuid.uuid4().hex[:12]}"
    create_table(client, name)
    return Table(
        DynamoImageRepository(name, client=client, **layout), CallRecorder().attach(client)
    )


def same_table(table: Table, **layout: Any) -> Table:
    """Another process on the same table, with another layout."""
    client = table.repository.client
    return Table(
        DynamoImageRepository(table.repository.table_name, client=client, **layout), table.recorder
    )


def entry_partitions(table: Table, images: list[Image], tag: str) -> set[str]:
    """The GSI1 partitions of the images' `tag` entries (read by table key)."""
    found = set()
    for image in images:
        key = items.serialize(keys.tag_item_key(image.id, tag))
        raw = table.repository.client.get_item(TableName=table.repository.table_name, Key=key)
        if "Item" in raw:
            found.add(str(raw["Item"]["GSI1PK"]["S"]))
    return found


def page_shape(page: Connection) -> tuple[Any, ...]:
    return (
        [edge.image.id for edge in page.edges],
        [edge.cursor for edge in page.edges],
        page.has_next_page,
        page.has_previous_page,
        page.start_cursor,
        page.end_cursor,
    )


def walk(
    service: ListingService, size: int, *, backwards: bool = False, **filters: Any
) -> list[Connection]:
    pages: list[Connection] = []
    cursor: str | None = None
    while len(pages) < 200:
        if backwards:
            page = service.list_images("viewer", last=size, before=cursor, **filters)
            more, cursor = page.has_previous_page, page.start_cursor
        else:
            page = service.list_images("viewer", first=size, after=cursor, **filters)
            more, cursor = page.has_next_page, page.end_cursor
        pages.append(page)
        if not more:
            return pages
    raise AssertionError("the walk does not end")


def reference(images: list[Image], sort: SortOrder, **filters: Any) -> list[str]:
    after, before = filters.get("created_after"), filters.get("created_before")
    tags = set(filters.get("tags", ()))
    chosen = sorted(
        (
            image
            for image in images
            if image.status is ImageStatus.READY
            and tags <= set(image.tags)
            and (after is None or image.created_at > after)
            and (before is None or image.created_at < before)
        ),
        key=lambda image: (image.created_at, image.id),
        reverse=sort is SortOrder.NEWEST_FIRST,
    )
    return [image.id for image in chosen]


def ids(pages: list[Connection], *, backwards: bool = False) -> list[str]:
    ordered = reversed(pages) if backwards else pages
    return [edge.image.id for page in ordered for edge in page.edges]


def test_feed_pages_across_shards_are_identical_to_the_unsharded_layout(client: Any) -> None:
    """GIVEN the same random images (three months, month edges, equal instants, a few
    DELETED) in an unsharded table and a table with 8 feed shards
    WHEN the feed is walked forwards and backwards, both sorts, with and without date
    bounds, page sizes from 1 to 25
    THEN every page is identical: the same edges, cursors and pageInfo, and the walks
    return the reference order."""
    rng = random.Random(12)  # noqa: S311 (test data)
    plain, sharded = new_table(client), new_table(client, feed_shards=8)
    edges = (M2, M2 + US, M1 - US, M1, M1 + US, M0 - US)
    images: list[Image] = []
    for number in range(48):
        moment = (
            rng.choice(edges)
            if number % 4 == 0
            else M2 + timedelta(seconds=rng.randrange(50 * 86400))
        )
        image_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        status = ImageStatus.DELETED if number % 9 == 0 else ImageStatus.READY
        for table in (plain, sharded):
            image = seed_image(
                table.repository, f"owner-{number % 5}", moment, image_id=image_id, status=status
            )
        images.append(image)
    filters: list[dict[str, Any]] = [
        {},
        {"created_after": M1 - US},
        {"created_before": M1 + US},
        {"created_after": M2 + timedelta(days=3), "created_before": M1 + timedelta(days=2)},
    ]
    for number, bounds in enumerate(filters):
        for sort in SortOrder:
            for backwards in (False, True):
                size = (4, 7, 25, 1)[number] if not backwards else (25, 3, 9, 2)[number]
                want = walk(plain.service, size, backwards=backwards, sort=sort, **bounds)
                got = walk(sharded.service, size, backwards=backwards, sort=sort, **bounds)
                assert [page_shape(page) for page in got] == [page_shape(page) for page in want]
                assert ids(got, backwards=backwards) == reference(images, sort, **bounds)


def test_a_feed_page_reads_about_its_share_of_each_shard(client: Any) -> None:
    """GIVEN 80 READY images this month over 16 feed shards
    WHEN the first two feed pages of 20 are read
    THEN each page is one parallel Query per shard plus few refills, with small Limits:
    it reads at most 3 items per shard plus the refills, not 20 per shard."""
    if timedelta(seconds=5) > NOW - M0:
        pytest.skip("the month has just begun")
    table = new_table(client, feed_shards=16)
    for number in range(80):
        seed_image(table.repository, "alice", NOW - timedelta(milliseconds=number + 1))
    after = None
    for _ in range(2):
        table.recorder.clear()
        page = table.service.list_images("viewer", first=20, after=after)
        after = page.end_cursor
        queries = [call for call in table.recorder.calls if call.operation == "Query"]
        partitions = {call.params["ExpressionAttributeValues"][":pk"]["S"] for call in queries}
        assert partitions == set(keys.feed_partitions(keys.feed_bucket(NOW), 16))
        assert len(queries) <= 16 + 4
        read = sum(len(call.response["Items"]) for call in queries if call.response)
        assert len(page.edges) == 20
        assert read <= 16 * 3 + 20  # each shard's first Limit, plus the refills
        assert max(call.params["Limit"] for call in queries[:16]) == 3  # ceil(21 / 16) + 1


def test_cursors_are_one_position_and_the_same_on_every_layout(client: Any) -> None:
    """GIVEN the same images in an unsharded table and in one with 64 feed shards
    WHEN pages are read
    THEN the cursors are byte-identical (one position, not one per shard: a cursor
    from before sharding stays valid) and at most CURSOR_CAP characters."""
    plain, sharded = new_table(client), new_table(client, feed_shards=64)
    for minute in range(6):
        image_id = str(uuid.uuid4())
        for table in (plain, sharded):
            seed_image(table.repository, "alice", M1 + timedelta(minutes=minute), image_id=image_id)
    want = walk(plain.service, 2)
    got = walk(sharded.service, 2)
    cursors = [edge.cursor for page in got for edge in page.edges]
    assert cursors == [edge.cursor for page in want for edge in page.edges]
    assert max(len(cursor) for cursor in cursors) <= CURSOR_CAP <= MAX_CURSOR_LENGTH
    # a cursor from the unsharded layout resumes the sharded walk
    resumed = sharded.service.list_images("viewer", first=10, after=want[0].end_cursor)
    assert [edge.image.id for edge in resumed.edges] == ids(want)[2:]


def test_raising_the_feed_shard_count_keeps_every_entry_listed(client: Any) -> None:
    """GIVEN images written with 1, then 4, then 16 feed shards into one table
    WHEN the feed is listed with 16 shards
    THEN every image is listed once, in order (older entries sit in lower shards)."""
    table = new_table(client)
    images = []
    for count, layout in enumerate((1, 4, 16)):
        writer = same_table(table, feed_shards=layout)
        for minute in range(8):
            images.append(
                seed_image(
                    writer.repository, "alice", M1 + timedelta(minutes=minute, seconds=count)
                )
            )
    reader = same_table(table, feed_shards=16)
    for sort in SortOrder:
        assert ids(walk(reader.service, 5, sort=sort)) == reference(images, sort)


def test_hot_tag_entries_keep_their_shard_zero_and_list_exactly(client: Any) -> None:
    """GIVEN 12 images tagged `cat` written while the tag was cold, then `cat` listed in
    PICGRAPH_HOT_TAGS with 4 shards and 12 more written, and `dog` (cold) on some
    WHEN `cat`, `cat` + `dog` and `dog` are listed both ways, and a `cat` image is
    deleted (by table key) and restored
    THEN the old entries stay in TAG#cat, new ones spread over the 4 shards, and every
    listing returns exactly the reference; `dog` pages stay one Query."""
    cold = new_table(client)
    images = [
        seed_image(
            cold.repository,
            "alice",
            M1 + timedelta(minutes=minute),
            tags=["cat", "dog"][: 1 + minute % 2],
        )
        for minute in range(12)
    ]
    hot = same_table(cold, hot_tag_shards=4, hot_tags=("cat",), feed_shards=4)
    images += [
        seed_image(
            hot.repository,
            "bob",
            M1 + timedelta(minutes=minute, seconds=30),
            tags=["cat", "dog"][: 1 + minute % 3 // 2],
        )
        for minute in range(12)
    ]
    assert entry_partitions(hot, images[:12], "cat") == {"TAG#cat"}
    spread = entry_partitions(hot, images[12:], "cat")
    assert spread <= set(keys.tag_partitions("cat", 4))
    assert len(spread) >= 3  # 12 random ids over 4 shards
    for tags in (["cat"], ["cat", "dog"], ["dog"]):
        for sort in SortOrder:
            for backwards in (False, True):
                pages = walk(hot.service, 5, backwards=backwards, sort=sort, tags=tags)
                assert ids(pages, backwards=backwards) == reference(images, sort, tags=tags)
    fresh = same_table(cold, hot_tag_shards=4, hot_tags=("cat",), feed_shards=4)
    fresh.recorder.clear()
    fresh.service.list_images("viewer", first=3, tags=["dog"])
    assert fresh.recorder.operations() == ["GetItem", "Query"]  # the directory, one Query
    fresh.recorder.clear()
    fresh.service.list_images("viewer", first=3, tags=["dog"])
    assert fresh.recorder.operations() == ["Query"]  # the directory is cached
    deleted = hot.repository.get(images[0].id)
    assert deleted is not None
    gone = deleted.evolve(status=ImageStatus.DELETED, deleted_at=NOW)
    hot.repository.save(gone, previous=deleted)
    assert images[0].id not in ids(walk(hot.service, 50, tags=["cat"]))


def test_a_page_stopped_mid_merge_by_its_read_bound_resumes_exactly(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a hot tag over 4 shards where only 3 of 40 images also carry `rare` (on 48
    images in all, so the filter drives on the hot tag), and a
    read bound of 2 rounds of Queries of at most 3 items
    WHEN `cat` + `rare` is walked 1 at a time, both ways
    THEN pages stop mid-merge (short, with a cursor at the last item merged) and the walk
    still returns exactly the 3 images once: one position resumes every shard."""
    monkeypatch.setattr(page_budget, "MAX_QUERY_CALLS", 2)
    monkeypatch.setattr(page_budget, "MAX_READ_LIMIT", 3)
    table = new_table(client, hot_tag_shards=4, hot_tags=("cat",))
    images = [
        seed_image(
            table.repository,
            "alice",
            M1 + timedelta(minutes=minute),
            tags=["cat", "rare"] if minute in (3, 17, 31) else ["cat"],
        )
        for minute in range(40)
    ]
    # `rare` alone on more images than `cat`: the filter drives on `cat` (the fewest)
    images += [
        seed_image(table.repository, "bob", M2 + timedelta(minutes=minute), tags=["rare"])
        for minute in range(45)
    ]
    for sort in SortOrder:
        want = reference(images, sort, tags=["cat", "rare"])
        forward = walk(table.service, 1, sort=sort, tags=["cat", "rare"])
        assert ids(forward) == want
        assert any(page.has_next_page and not page.edges for page in forward), "stopped mid-merge"
        backward = walk(table.service, 1, backwards=True, sort=sort, tags=["cat", "rare"])
        assert ids(backward, backwards=True) == want


def test_detection_promotes_a_hot_tag_after_the_grace_period(client: Any) -> None:
    """GIVEN tag-sharding on (4 shards) with a deterministic sampler that samples every
    entry put, and a controlled wall clock
    WHEN 40 images tagged `love` become READY within one detection window (the
    threshold is 500 estimated writes: 32 samples of 16), and a cold tag's writes are
    never sampled
    THEN `love` is promoted to 4 shards: writers keep shard 0 until the grace period
    has passed, then spread; a reader that cached the cold count before the promotion
    lists every image at every step; the cold tag has no directory item."""
    moment = [1_800_000_000.0]
    draws = iter([0.0] * 40 + [0.99] * 1000)

    def clock() -> float:
        return moment[0]

    writer = new_table(client, hot_tag_shards=4, tag_random=lambda: next(draws), wall_clock=clock)
    reader = same_table(writer, hot_tag_shards=4, wall_clock=clock)
    images = [
        seed_image(writer.repository, "alice", M1 + timedelta(seconds=second), tags=["love"])
        for second in range(3)
    ]
    assert ids(walk(reader.service, 2, tags=["love"])) == reference(
        images, SortOrder.NEWEST_FIRST, tags=["love"]
    )
    images += [
        seed_image(
            writer.repository, "alice", M1 + timedelta(minutes=1, seconds=second), tags=["love"]
        )
        for second in range(37)
    ]
    images.append(seed_image(writer.repository, "bob", M1, tags=["quiet"]))
    table_name = writer.repository.table_name
    meta = client.get_item(TableName=table_name, Key=items.serialize(keys.tag_meta_key("love")))[
        "Item"
    ]
    assert meta["shards"] == {"N": "4"}
    assert float(meta["activeFrom"]["N"]) > moment[0] + 30
    assert "Item" not in client.get_item(
        TableName=table_name, Key=items.serialize(keys.tag_meta_key("quiet"))
    )

    assert entry_partitions(writer, images, "love") == {"TAG#love"}
    for step in range(4):  # 0 s, 31 s, 62 s, 93 s after the promotion
        images += [
            seed_image(
                writer.repository,
                "carol",
                M1 + timedelta(hours=1 + step, minutes=minute),
                tags=["love"],
            )
            for minute in range(6)
        ]
        for sort in SortOrder:
            assert ids(walk(reader.service, 7, sort=sort, tags=["love"])) == reference(
                images, sort, tags=["love"]
            )
        moment[0] += 31
    spread = entry_partitions(writer, images[-6:], "love")
    assert spread <= set(keys.tag_partitions("love", 4))
    assert len(spread) >= 2


def test_feed_bounds_are_written_once_per_process_and_month() -> None:
    """GIVEN a repository on the recording fake of the simulation
    WHEN 30 images become READY in one month, then one in an older month
    THEN the FEED/BOUNDS item takes 2 writes (the first month, the older one), not 31."""
    import importlib
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    fake = importlib.import_module("scale_model").RecordingDynamoClient()
    repository = DynamoImageRepository("t", client=fake, feed_shards=64)
    for minute in range(30):
        seed_image(repository, "alice", M1 + timedelta(minutes=minute))
    seed_image(repository, "alice", M2)
    assert fake.capacity.writes["table"]["FEED"] == 2


def test_shard_settings_and_hot_tags_are_parsed_and_checked() -> None:
    """GIVEN the shard settings
    WHEN read from the environment
    THEN documented defaults, tags normalised as the API does, bad values refused."""
    base = {"PICGRAPH_TABLE_NAME": "t", "PICGRAPH_BUCKET_NAME": "b"}
    defaults = Settings.from_env(base)
    assert (defaults.feed_shards, defaults.hot_tag_shards, defaults.hot_tags) == (64, 16, ())
    parsed = Settings.from_env(
        {**base, "PICGRAPH_HOT_TAGS": " Love, instagood,,LOVE ", "PICGRAPH_FEED_SHARDS": "128"}
    )
    assert parsed.hot_tags == ("love", "instagood")
    assert parsed.feed_shards == 128
    for name, value in (
        ("PICGRAPH_HOT_TAGS", "a#b"),
        ("PICGRAPH_FEED_SHARDS", "0"),
        ("PICGRAPH_HOT_TAG_SHARDS", "x"),
    ):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({**base, name: value})


def test_recount_of_a_hot_tag_counts_every_timeline_shard(client: Any) -> None:
    """GIVEN 10 images of a hot tag spread over 4 timeline shards
    WHEN its counter is rebuilt from the index
    THEN it counts all 10 (not only shard 0's)."""
    table = new_table(client, hot_tag_shards=4, hot_tags=("cat",))
    for minute in range(10):
        seed_image(table.repository, "alice", M1 + timedelta(minutes=minute), tags=["cat"])
    assert table.repository.recount(tags=["cat"])["tags"] == {"cat": 10}
