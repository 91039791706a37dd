"""The DynamoDB calls a listing makes: Queries on the right index, never a Scan.

Every call is recorded with botocore event hooks (tests.support.CallRecorder); a Scan
fails the test before it is sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra import keys, page_budget
from infra.dynamodb import DynamoImageRepository
from infra.records import ImageStatus, SortOrder
from services.listing import Connection, ListingService
from tests.support import Call, CallRecorder, create_table, seed_image

NOW = datetime.now(UTC)
M0 = NOW.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
M1 = (M0 - timedelta(days=1)).replace(day=1)
M2 = (M1 - timedelta(days=1)).replace(day=1)


@dataclass
class Env:
    repository: DynamoImageRepository
    recorder: CallRecorder
    service: ListingService

    def queries(self) -> list[Call]:
        return [call for call in self.recorder.calls if call.operation == "Query"]


@pytest.fixture
def env() -> Iterator[Env]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        table_name = f"picgraph-{uuid.uuid4().hex[:12]}"
        create_table(client, table_name)
        repository = DynamoImageRepository(table_name, client=client)
        recorder = CallRecorder(forbid=("Scan",)).attach(client)
        yield Env(repository, recorder, ListingService(repository, "calls-secret"))
        assert recorder.count("Scan") == 0


def partition(call: Call) -> str:
    return str(call.params["ExpressionAttributeValues"][":pk"]["S"])


def pages_forward(env: Env, size: int, **filters: Any) -> Iterator[tuple[Connection, list[Call]]]:
    """Each forward page with the calls it made."""
    after: str | None = None
    while True:
        env.recorder.clear()
        page = env.service.list_images("viewer", first=size, after=after, **filters)
        yield page, list(env.recorder.calls)
        if not page.has_next_page:
            return
        after = page.end_cursor


def pages_backward(env: Env, size: int, **filters: Any) -> Iterator[tuple[Connection, list[Call]]]:
    before: str | None = None
    while True:
        env.recorder.clear()
        page = env.service.list_images("viewer", last=size, before=before, **filters)
        yield page, list(env.recorder.calls)
        if not page.has_previous_page:
            return
        before = page.start_cursor


@pytest.mark.parametrize("sort", list(SortOrder))
@pytest.mark.parametrize(
    ("filters", "index", "expected_partition"),
    [
        ({"owner_id": "alice"}, keys.GSI1, keys.owner_partition("alice", ImageStatus.READY)),
        ({"tags": ["cat"]}, keys.GSI1, keys.tag_partition("cat")),
        (
            {"owner_id": "alice", "created_after": M2, "created_before": M0},
            keys.GSI1,
            keys.owner_partition("alice", ImageStatus.READY),
        ),
        (
            {"tags": ["cat"], "created_after": M2},
            keys.GSI1,
            keys.tag_partition("cat"),
        ),
    ],
)
def test_owner_and_single_tag_pages_cost_exactly_one_query(
    env: Env, sort: SortOrder, filters: dict[str, Any], index: str, expected_partition: str
) -> None:
    """GIVEN 9 of alice's READY cats among others
    WHEN walking her gallery or the tag 4 at a time, forwards and backwards, with or
    without a date range
    THEN every page is exactly one Query on GSI1, in the partition from the arguments,
    with Limit = page size + 1 (+1 when a BETWEEN also covers the cursor's own key)."""
    for minute in range(9):
        seed_image(env.repository, "alice", M1 + timedelta(minutes=minute), tags=["cat"])
    seed_image(env.repository, "bob", M1 + timedelta(minutes=3), tags=["dog"])
    seed_image(env.repository, "alice", M1, tags=["cat"], status=ImageStatus.DELETED)
    for walk in (pages_forward, pages_backward):
        sizes = []
        for number, (page, calls) in enumerate(walk(env, 4, sort=sort, **filters)):
            sizes.append(len(page.edges))
            assert [call.operation for call in calls] == ["Query"]
            (call,) = calls
            assert call.params["IndexName"] == index
            assert partition(call) == expected_partition
            between = "BETWEEN" in call.params["KeyConditionExpression"]
            assert call.params["Limit"] == 5 + (1 if between and number > 0 else 0)
        assert sizes == [4, 4, 1]


def test_status_filter_reads_the_owners_status_partition(env: Env) -> None:
    """GIVEN alice's deleted images
    WHEN alice lists her trash
    THEN one Query on OWNER#alice#DELETED."""
    seed_image(env.repository, "alice", M1, status=ImageStatus.DELETED)
    env.recorder.clear()
    page = env.service.list_images("alice", owner_id="alice", status=ImageStatus.DELETED)
    assert len(page.edges) == 1
    (call,) = env.recorder.calls
    assert partition(call) == keys.owner_partition("alice", ImageStatus.DELETED)


def test_a_full_current_month_costs_one_query(env: Env) -> None:
    """GIVEN 25 READY images this month
    WHEN the first feed page of 20 is read newest first
    THEN exactly one Query on this month's GSI2 bucket, and no other call."""
    if timedelta(seconds=5) > NOW - M0:
        pytest.skip("the month has just begun")
    for index in range(25):
        seed_image(env.repository, "alice", NOW - timedelta(milliseconds=index + 1))
    env.recorder.clear()
    page = env.service.list_images("viewer", first=20)
    assert len(page.edges) == 20
    assert page.has_next_page
    (call,) = env.recorder.calls
    assert call.params["IndexName"] == keys.GSI2
    assert partition(call) == keys.feed_partition(keys.feed_bucket(NOW))


@pytest.mark.parametrize("sort", list(SortOrder))
def test_feed_walks_month_buckets_in_order_with_bounded_calls(env: Env, sort: SortOrder) -> None:
    """GIVEN READY images in the three months before the last one, none since
    WHEN the feed is walked 2 at a time
    THEN each page queries month buckets in walk order, starting at its cursor's month,
    at most one Query per month and one read of the feed bounds; the walk covers every
    month from the current one to the oldest and finds every image once."""
    moments = [M2 - timedelta(days=10), M2 + timedelta(days=3), M2 + timedelta(days=20)]
    moments += [M1 + timedelta(days=3), M1 + timedelta(days=20)]
    for moment in moments:
        seed_image(env.repository, "alice", moment)
    months = [
        keys.feed_partition(month)
        for month in sorted({keys.feed_bucket(moment) for moment in [*moments, NOW]})
    ]
    assert len(months) == 4
    newest_first = sort is SortOrder.NEWEST_FIRST
    seen: list[str] = []
    walked: set[str] = set()
    for page, calls in pages_forward(env, 2, sort=sort):
        assert {call.operation for call in calls} <= {"Query", "GetItem"}
        assert sum(call.operation == "GetItem" for call in calls) <= 1
        queries = [call for call in calls if call.operation == "Query"]
        assert {call.params["IndexName"] for call in queries} == {keys.GSI2}
        queried = [partition(call) for call in queries]
        assert queried == sorted(set(queried), reverse=newest_first)
        if seen:  # a later page starts in the month of its cursor, the last image seen
            (last,) = moments_by_id(env, seen[-1:])
            assert queried[0] == keys.feed_partition(keys.feed_bucket(last))
        seen += [edge.image.id for edge in page.edges]
        walked.update(queried)
    assert len(seen) == len(set(seen)) == len(moments)
    assert sorted(walked) == months


def moments_by_id(env: Env, image_ids: list[str]) -> Iterator[datetime]:
    for image_id in image_ids:
        image = env.repository.get(image_id)
        assert image is not None
        yield image.created_at


@pytest.mark.parametrize(
    "filters",
    [{"tags": ["cat", "dog"]}, {"owner_id": "alice", "tags": ["dog"]}],
)
def test_filters_checked_in_code_stay_within_the_query_bound(
    env: Env, filters: dict[str, Any]
) -> None:
    """GIVEN 40 of alice's cats of which only 2 are also dogs, and 41 of bob's dogs (so
    cat is the more selective tag and drives, dog is checked in code)
    WHEN walking cats-and-dogs (or alice's dogs) 1 at a time
    THEN each page makes at most MAX_QUERY_CALLS Queries on one GSI1 partition, starting
    with Limit = page size + 1 (besides reading the tags' counters once), and the walk
    finds both images."""
    for minute in range(40):
        tags = ["cat", "dog"] if minute in (5, 30) else ["cat"]
        seed_image(env.repository, "alice", M1 + timedelta(minutes=minute), tags=tags)
    for minute in range(41):
        seed_image(env.repository, "bob", M1 + timedelta(hours=1, minutes=minute), tags=["dog"])
    found = 0
    for page, all_calls in pages_forward(env, 1, **filters):
        found += len(page.edges)
        calls = [call for call in all_calls if call.operation != "BatchGetItem"]
        assert len(all_calls) - len(calls) <= 1  # the counters, cached after the first page
        assert 1 <= len(calls) <= page_budget.MAX_QUERY_CALLS
        assert {call.operation for call in calls} == {"Query"}
        assert len({partition(call) for call in calls}) == 1
        limits = [call.params["Limit"] for call in calls]
        assert limits[0] == 2  # the page size + 1; later reads are sized from the matches
        assert max(limits) <= page_budget.MAX_READ_LIMIT
    assert found == 2


def test_never_a_scan_for_any_combination(env: Env) -> None:
    """GIVEN a few images
    WHEN every filter combination is listed in both sorts and directions
    THEN only Query, GetItem and BatchGetItem (tag counters) calls are made."""
    for hour in range(3):
        seed_image(env.repository, "alice", M1 + timedelta(hours=hour), tags=["cat", "dog"])
    env.recorder.clear()
    combos: list[dict[str, Any]] = [
        {},
        {"owner_id": "alice"},
        {"tags": ["cat"]},
        {"tags": ["cat", "dog"]},
        {"owner_id": "alice", "tags": ["dog"]},
        {"created_after": M2},
        {"created_before": M0, "created_after": M2},
        {"owner_id": "viewer", "status": ImageStatus.DELETED},
    ]
    for filters in combos:
        for sort in SortOrder:
            env.service.list_images("viewer", first=2, sort=sort, **filters)
            env.service.list_images("viewer", last=2, sort=sort, **filters)
    assert set(env.recorder.operations()) <= {"Query", "GetItem", "BatchGetItem"}
    assert all(
        call.params.get("TableName", next(iter(call.params.get("RequestItems", {})), None))
        == env.repository.table_name
        for call in env.recorder.calls
    )
