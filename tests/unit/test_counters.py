"""Owner and tag counters, ImageConnection.totalCount, and multi-tag selectivity.

Real boto3 against moto, the real services and the real GraphQL schema. Every test
ends by comparing every counter with a recount of what the indexes hold
(tests.support.dynamo.counter_mismatches).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from infra import keys
from infra.dynamodb import DynamoImageRepository
from infra.errors import ImageAlreadyExistsError
from infra.transactions import MAX_TRANSACTION_ITEMS, TRANSACT_ATTEMPTS
from services.cleanup import DEFAULT_GRACE
from services.errors import DomainError
from services.listing import ListingService
from services.models import Image, ImageStatus
from services.validation import MAX_TAGS
from tests.support.dynamo import (
    CallRecorder,
    counter_mismatches,
    one_request_at_a_time,
    seed_image,
)
from tests.support.inprocess import execute_as
from tests.support.world import MotoWorld, build_moto_world, new_user

RETENTION_DAYS = 30

COUNT = """
query Count($filter: ImageFilter) {
  images(filter: $filter, first: 1) { totalCount edges { node { id } } }
}
"""


class World(MotoWorld):
    def total(self, viewer: str, **filters: Any) -> int | None:
        data = execute_as(self.app, viewer, COUNT, filter=filters)
        total: int | None = data["images"]["totalCount"]
        return total

    def counts(self, owner: str) -> dict[str, int | None]:
        """totalCount of the owner's images in every status, as the owner sees them."""
        return {
            status.value: self.total(owner, ownerId=owner, status=status.value)
            for status in ImageStatus
        }

    def assert_counters_exact(self) -> None:
        assert counter_mismatches(self.dynamodb, self.settings.table_name) == {}


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield build_moto_world(
            World,
            name_prefix="picgraph-counts",
            env={"PICGRAPH_DELETE_RETENTION_DAYS": str(RETENTION_DAYS)},
        )


def only(status: ImageStatus, count: int = 1) -> dict[str, int | None]:
    return {each.value: count if each is status else 0 for each in ImageStatus}


def test_total_count_follows_every_lifecycle_transition(world: World) -> None:
    """
    GIVEN an owner's upload
    WHEN it is created, completed, re-tagged, deleted, restored, deleted and purged
    THEN after each step totalCount per status and per tag equals what the indexes hold
    """
    owner = new_user("owner")
    image = world.staged(owner, tags=("sea", "sky"))
    assert world.counts(owner) == only(ImageStatus.PENDING_UPLOAD)
    assert world.total(owner, tags=["sea"]) == 0  # only READY images are counted

    assert world.app.uploads.complete_upload(owner, image.id).error is None
    assert world.counts(owner) == only(ImageStatus.READY)
    assert world.total(owner, tags=["sea"]) == world.total(owner, tags=["sky"]) == 1
    assert world.total("stranger", ownerId=owner) == 1  # READY is public

    world.app.updates.update_image(owner, image.id, tags=["sky", "sand"])
    assert (world.total(owner, tags=["sea"]), world.total(owner, tags=["sand"])) == (0, 1)
    world.app.updates.update_image(owner, image.id, title="Only the title")
    assert world.total(owner, tags=["sky"]) == 1

    world.app.deletion.delete_image(owner, image.id)
    assert world.counts(owner) == only(ImageStatus.DELETED)
    assert world.total(owner, tags=["sky"]) == 0
    world.app.deletion.delete_image(owner, image.id)  # twice is not an error, nor a count
    assert world.counts(owner) == only(ImageStatus.DELETED)

    world.app.deletion.restore_image(owner, image.id)
    assert world.counts(owner) == only(ImageStatus.READY)
    assert world.total(owner, tags=["sand"]) == 1

    world.app.deletion.delete_image(owner, image.id)
    world.clock.advance(timedelta(days=RETENTION_DAYS) + DEFAULT_GRACE, seconds=1)
    assert world.app.cleanup.run().purged == 1
    assert world.counts(owner) == only(ImageStatus.READY, 0)
    world.assert_counters_exact()


def test_rejected_and_abandoned_uploads_are_counted_until_purged(world: World) -> None:
    """
    GIVEN a rejected upload and one never completed
    WHEN cleanup purges both after their windows
    THEN REJECTED and PENDING_UPLOAD count them until then, and 0 after
    """
    owner = new_user("owner")
    rejected = world.staged(owner, data=b"no image at all")
    world.app.uploads.complete_upload(owner, rejected.id)
    world.pending(owner)
    counts = world.counts(owner)
    assert (counts["REJECTED"], counts["PENDING_UPLOAD"]) == (1, 1)
    world.clock.advance(days=30)
    world.app.cleanup.run()
    assert world.counts(owner) == only(ImageStatus.READY, 0)
    world.assert_counters_exact()


def test_total_count_is_null_where_no_counter_holds_it(world: World) -> None:
    """
    GIVEN READY images with tags
    WHEN totalCount is asked for the feed, two tags, a date range, or a tag with an owner
    THEN it is null (the page itself is still listed)
    """
    owner = new_user("owner")
    world.ready(owner, tags=("sea", "sky"))
    after = "2000-01-01T00:00:00Z"
    for filters in (
        {},
        {"tags": ["sea", "sky"]},
        {"ownerId": owner, "createdAfter": after},
        {"tags": ["sea"], "createdBefore": "2999-01-01T00:00:00Z"},
        {"ownerId": owner, "tags": ["sea"]},
    ):
        data = execute_as(world.app, owner, COUNT, filter=filters)
        assert data["images"]["totalCount"] is None, filters
        assert len(data["images"]["edges"]) == 1, filters


def test_counters_are_read_only_when_total_count_is_selected(world: World) -> None:
    """
    GIVEN an owner's image
    WHEN the owner's gallery is listed without and with totalCount
    THEN only the second reads the owner's counters (one BatchGetItem of its
         PICGRAPH_OWNER_COUNTER_SHARDS shards); a tag's total is one BatchGetItem of its
         PICGRAPH_COUNTER_SHARDS shards; never a Scan or COUNT Query
    """
    owner = new_user("owner")
    world.ready(owner, tags=("sea",))
    recorder = CallRecorder().attach(world.app_dynamodb)
    execute_as(
        world.app,
        owner,
        "query($o: ID) { images(filter: {ownerId: $o}) { edges { cursor } } }",
        o=owner,
    )
    assert recorder.operations() == ["Query"]
    recorder.clear()
    assert world.total(owner, ownerId=owner) == 1
    assert recorder.operations() == ["Query", "BatchGetItem"]
    (request,) = recorder.calls[1].params["RequestItems"].values()
    assert [key["PK"]["S"] for key in request["Keys"]] == [
        f"COUNTS#OWNER#{owner}",
        *(f"COUNTS#OWNER#{owner}#{shard}" for shard in range(1, 4)),
    ]
    assert world.settings.owner_counter_shards == 4
    recorder.clear()
    assert world.total(owner, tags=["sea"]) == 1
    assert recorder.operations() == ["Query", "BatchGetItem"]
    (request,) = recorder.calls[1].params["RequestItems"].values()
    assert len(request["Keys"]) == world.settings.counter_shards == 16
    assert all(call.params.get("Select") != "COUNT" for call in recorder.calls)


def test_concurrent_deletes_restores_and_tag_edits_keep_every_count_exact(world: World) -> None:
    """
    GIVEN 6 READY images of one owner, tagged from {a, b, c, d}
    WHEN 20 threads at once delete, restore and re-tag them (300 operations; lost
         optimistic locks retry or give up with CONFLICT)
    THEN every counter equals a recount of the indexes, and totalCount equals the
         number of images a full listing returns, for the owner and for every tag
    """
    owner = new_user("owner")
    tags = ("a", "b", "c", "d")
    images = [world.ready(owner, tags=tags[: 1 + n % 4]) for n in range(6)]
    # Each request atomic, as in AWS (moto's backend is not thread safe); threads
    # still interleave between the read and the conditional write of every change.
    one_request_at_a_time(world.app_dynamodb)
    rng = random.Random(12)  # noqa: S311 (a reproducible plan, not a secret)
    plan = [
        (rng.choice(images).id, rng.random(), rng.sample(tags, rng.randint(0, 3)))
        for _ in range(300)
    ]

    def act(step: tuple[str, float, list[str]]) -> None:
        image_id, roll, new_tags = step
        try:
            if roll < 0.35:
                world.app.deletion.delete_image(owner, image_id)
            elif roll < 0.7:
                world.app.deletion.restore_image(owner, image_id)
            else:
                world.app.updates.update_image(owner, image_id, tags=new_tags)
        except DomainError:
            pass  # CONFLICT (not deleted, deleted, or lost every retry): part of the race

    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(act, plan))

    world.assert_counters_exact()
    for status in (ImageStatus.READY, ImageStatus.DELETED):
        listed = listed_ids(world.app.listing, owner, owner_id=owner, status=status)
        assert world.total(owner, ownerId=owner, status=status.value) == len(listed)
    for tag in tags:
        assert world.total(owner, tags=[tag]) == len(
            listed_ids(world.app.listing, owner, tags=[tag])
        )
    assert sum(world.counts(owner).values()) == len(images)  # type: ignore[arg-type]


def listed_ids(listing: ListingService, viewer: str, **filters: Any) -> list[str]:
    found: list[str] = []
    after = None
    while True:
        page = listing.list_images(viewer, first=3, after=after, **filters)
        found += [edge.image.id for edge in page.edges]
        if not page.has_next_page:
            return found
        after = page.end_cursor


class FixedCounts(DynamoImageRepository):
    """The real repository, but it claims given tag counts (to force a driving tag)."""

    def __init__(self, real: DynamoImageRepository, counts: dict[str, int]) -> None:
        super().__init__(real.table_name, client=real.client)
        self.fixed = counts

    def tag_counts(self, tags: Sequence[str]) -> dict[str, int]:
        return {tag: self.fixed[tag] for tag in tags}


def test_two_tags_drive_on_the_rarer_tag_with_identical_pages_and_cursors(world: World) -> None:
    """
    GIVEN 12 images tagged `common`, 3 of which also `rare`, and 2 tagged `rare` only
    WHEN `common + rare` is walked 2 at a time (in either order of the tags)
    THEN every page Queries only the rare tag's timeline, the pages are the ones that
         driving on `common` gives, and a cursor from one driving tag continues exactly
         under the other (the order is the same (createdAt, id) in every timeline)
    """
    owner = new_user("owner")
    both = set()
    for n in range(12):
        image = world.ready(owner, tags=("common", "rare") if n in (2, 6, 9) else ("common",))
        world.clock.advance(seconds=1)
        if n in (2, 6, 9):
            both.add(image.id)
    for _ in range(2):
        world.ready(owner, tags=("rare",))
    real = world.repository
    recorder = CallRecorder().attach(real.client)
    selective = ListingService(real, world.settings.cursor_secret)
    pages = []
    after = None
    while True:
        page = selective.list_images(owner, tags=["common", "rare"], first=2, after=after)
        pages.append([edge.image.id for edge in page.edges])
        if not page.has_next_page:
            break
        after = page.end_cursor
    queried = {
        call.params["ExpressionAttributeValues"][":pk"]["S"]
        for call in recorder.calls
        if call.operation == "Query"
    }
    assert queried == {keys.tag_partition("rare")}
    assert recorder.count("BatchGetItem") == 1  # counts reused for the next pages

    on_common = ListingService(
        FixedCounts(real, {"common": 0, "rare": 99}), world.settings.cursor_secret
    )
    assert [image for page in pages for image in page] == listed_ids(
        on_common, owner, tags=["rare", "common"]
    )
    assert {image for page in pages for image in page} == both
    first = selective.list_images(owner, tags=["rare", "common"], first=1)
    rest = on_common.list_images(owner, tags=["common", "rare"], first=5, after=first.end_cursor)
    assert [edge.image.id for edge in first.edges + rest.edges] == [
        image for page in pages for image in page
    ]
    world.assert_counters_exact()


def test_twenty_tags_replaced_by_twenty_others_fit_one_transaction(world: World) -> None:
    """
    GIVEN a READY image with the most tags allowed
    WHEN all of them are replaced by as many others (the largest transaction: image,
         20 puts, 20 deletes, 40 tag counters, the owner counter stays)
    THEN it is one TransactWriteItems within DynamoDB's limit and the counts follow
    """
    owner = new_user("owner")
    old = tuple(f"old{n}" for n in range(MAX_TAGS))
    image = world.ready(owner, tags=old)
    recorder = CallRecorder().attach(world.app_dynamodb)
    world.app.updates.update_image(owner, image.id, tags=[f"new{n}" for n in range(MAX_TAGS)])
    (write,) = [call for call in recorder.calls if call.operation == "TransactWriteItems"]
    assert (
        len(write.params["TransactItems"])
        == 1 + 2 * MAX_TAGS + 2 * MAX_TAGS
        <= MAX_TRANSACTION_ITEMS
    )
    assert world.total(owner, tags=["old3"]) == 0
    assert world.total(owner, tags=["new3"]) == 1
    world.assert_counters_exact()


def test_purging_an_image_already_gone_decrements_nothing(world: World) -> None:
    """
    GIVEN a deleted image purged once
    WHEN a second purge of the same version runs (a run that lost the race, or a retry)
    THEN it is not an error and the DELETED count stays 0 (not -1)
    """
    owner = new_user("owner")
    image = world.ready(owner)
    deleted = world.app.deletion.delete_image(owner, image.id)
    stored = world.stored(deleted.id)
    world.repository.delete(stored)
    world.repository.delete(stored)
    assert world.counts(owner) == only(ImageStatus.READY, 0)
    world.assert_counters_exact()


def test_counter_shards_spread_a_tags_increments(world: World) -> None:
    """
    GIVEN 16 counter shards
    WHEN 40 images get the same tag
    THEN the increments land on several shards and their sum is the count
    """
    repository = world.repository
    assert repository.counter_shards == world.settings.counter_shards == 16
    owner = new_user("owner")
    shards = set()
    for minute in range(40):
        image = seed_image(
            repository, owner, world.clock.now() + timedelta(minutes=minute), tags=["hot"]
        )
        shards.add(keys.shard_of(image.id, 16))
    stored = {pk for pk, _ in world.table_items() if pk.startswith("COUNTS#TAG#hot")}
    assert len(stored) == len(shards) > 4
    assert repository.tag_counts(["hot", "cold"]) == {"hot": 40, "cold": 0}
    world.assert_counters_exact()


def test_recount_rebuilds_counters_of_images_written_before_counters(world: World) -> None:
    """
    GIVEN READY, DELETED and pending images whose counters are gone (written before
          counters existed) and a stale tag shard
    WHEN `picgraph recount` runs for the owner and the tags (the repository's recount)
    THEN every counter equals what the indexes hold again, from Queries only
    """
    owner = new_user("owner")
    world.ready(owner, tags=("sea", "sky"))
    world.ready(owner, tags=("sea",))
    world.app.deletion.delete_image(owner, world.ready(owner, tags=("sky",)).id)
    world.pending(owner, tags=("sea",))
    for pk, sk in world.table_items():
        if pk.startswith("COUNTS#"):
            world.dynamodb.delete_item(
                TableName=world.settings.table_name, Key={"PK": {"S": pk}, "SK": {"S": sk}}
            )
    stale = keys.tag_counter_key("sea", 5)
    world.dynamodb.put_item(
        TableName=world.settings.table_name,
        Item={**{name: {"S": value} for name, value in stale.items()}, "ready": {"N": "7"}},
    )
    assert world.total(owner, ownerId=owner) == 0
    assert counter_mismatches(world.dynamodb, world.settings.table_name) != {}
    recorder = CallRecorder().attach(world.app_dynamodb)

    report = world.repository.recount(owners=[owner], tags=["sea", "sky"])

    assert report["tags"] == {"sea": 2, "sky": 1}
    assert report["owners"][owner]["READY"] == 2
    assert set(recorder.operations()) == {"Query", "TransactWriteItems"}
    assert world.counts(owner) == {
        "PENDING_UPLOAD": 1,
        "PROCESSING": 0,
        "READY": 2,
        "REJECTED": 0,
        "DELETED": 1,
    }
    assert (world.total(owner, tags=["sea"]), world.total(owner, tags=["sky"])) == (2, 1)
    world.assert_counters_exact()


def test_recount_without_owner_or_tag_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """GIVEN no --owner and no --tag WHEN `picgraph recount` runs THEN exit 2, one line."""
    from resolvers.cli import main

    assert main(["recount"]) == 2
    assert "--owner or --tag" in capsys.readouterr().err


def test_owner_ids_with_hashes_never_share_a_counter_item() -> None:
    """
    GIVEN owners `a` and `a#1` (ids are JWT subjects: any text)
    WHEN their counter shards are keyed
    THEN no (PK, SK) of one is a key of the other
    """
    first = {tuple(key.values()) for key in keys.owner_counter_keys("a", 16)}
    second = {tuple(key.values()) for key in keys.owner_counter_keys("a#1", 16)}
    assert len(first) == len(second) == 16
    assert not first & second


class ConflictingClient:
    """Cancels the first transactions as DynamoDB does when they overlap on an item."""

    def __init__(self, reasons: list[str], conflicts: int) -> None:
        self.reasons, self.conflicts, self.calls = reasons, conflicts, 0

    def transact_write_items(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.conflicts:
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                    "CancellationReasons": [{"Code": code} for code in self.reasons],
                },
                "TransactWriteItems",
            )
        return {}


@pytest.mark.parametrize(
    ("reasons", "conflicts", "outcome"),
    [
        (["None", "TransactionConflict"], 2, "written after 3 calls"),
        (["ConditionalCheckFailed", "TransactionConflict"], 1, ImageAlreadyExistsError),
        (["TransactionConflict"], 99, ClientError),
    ],
)
def test_a_transaction_that_lost_only_to_a_concurrent_one_is_retried(
    reasons: list[str], conflicts: int, outcome: Any
) -> None:
    """
    GIVEN a hot counter item that concurrent transactions also write
    WHEN DynamoDB cancels the create for a TransactionConflict (nothing was written)
    THEN it is sent again (a bounded number of times); a failed condition never is
    """
    client = ConflictingClient(reasons, conflicts)
    repository = DynamoImageRepository("t", client=client)  # type: ignore[arg-type]
    image = Image(
        id="img",
        owner_id="owner",
        filename="a.jpg",
        content_type="image/jpeg",
        declared_size=10,
        created_at=datetime(2026, 11, 1, tzinfo=UTC),
        updated_at=datetime(2026, 11, 1, tzinfo=UTC),
    )
    if isinstance(outcome, str):
        repository.create(image)
        assert client.calls == 3
        return
    with pytest.raises(outcome):
        repository.create(image)
    assert client.calls == (1 if outcome is ImageAlreadyExistsError else TRANSACT_ATTEMPTS)
