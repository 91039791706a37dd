"""The global feed's month buckets: which months a walk visits, and where the feed starts.

The feed (GSI2 `FEED#{yyyy-mm}`, keys.feed_bucket) is walked month by month in walk
order. The FEED/BOUNDS item's `firstBucket` is the oldest month with a READY image
ever: the repository records it before an image first becomes READY, and walks read
it to know where to stop (docs/data-model.md, "The global timeline: month buckets").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from infra import items, keys
from infra.records import ImageQuery, Position
from infra.timeline_range import EPOCH, FIRST_ID, LAST_ID
from infra.transactions import error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CLOCK_SKEW = timedelta(minutes=1)
"""Another instance's clock may be ahead: the feed walk starts at the month of now + this."""

_MICROSECOND = timedelta(microseconds=1)


def walk_months(
    query: ImageQuery,
    *,
    now: datetime,
    after: Position | None,
    ascending: bool,
    first_month: Callable[[], int | None],
) -> Iterator[int]:
    """The feed's month buckets in walk order, as month numbers (year * 12 + month - 1).

    From the newest possible month (now, createdBefore, the position) down to the
    oldest (the FEED/BOUNDS item's firstBucket, createdAfter, the position), or up.
    The bounds item is read only when the walk needs it: never for a newest-first
    page that the current month fills.
    """
    newest = month_of(now + CLOCK_SKEW)
    oldest: int | None = None
    if query.created_before is not None:
        newest = min(newest, month_of(query.created_before - _MICROSECOND))
    if query.created_after is not None and query.created_after >= EPOCH:
        try:
            oldest = month_of(query.created_after + _MICROSECOND)
        except OverflowError:
            return
    if after is not None:
        moment, image_id = after.created_at, after.image_id
        if ascending:
            # (t, LAST_ID) is past every key at t: a resume point at a month's end.
            start = month_of(moment + _MICROSECOND if image_id == LAST_ID else moment)
            oldest = start if oldest is None else max(oldest, start)
        else:
            # (t, FIRST_ID) is before every key at t: a resume point at a month's start.
            newest = min(
                newest, month_of(moment - _MICROSECOND if image_id == FIRST_ID else moment)
            )
    if ascending:
        first = first_month()
        if first is None:
            return
        yield from range(max(first, oldest or first), newest + 1)
        return
    month = newest
    first_known: int | None = None
    while oldest is None or month >= oldest:
        if month != newest:
            if first_known is None:
                first_known = first_month()
                if first_known is None:
                    return
            if month < first_known:
                return
        yield month
        month -= 1


def read_first_month(client: DynamoDBClient, table_name: str) -> int | None:
    """The oldest month with a READY image ever (None: the feed is empty)."""
    response = client.get_item(
        TableName=table_name,
        Key=items.serialize(keys.FEED_BOUNDS_KEY),
        ConsistentRead=True,
        ProjectionExpression="firstBucket",
    )
    bucket = response.get("Item", {}).get("firstBucket", {}).get("S")
    if bucket is None:
        return None
    return month_of(datetime.strptime(bucket, "%Y-%m").replace(tzinfo=UTC))


def record_first_bucket(client: DynamoDBClient, table_name: str, bucket: str) -> None:
    """Lower the FEED/BOUNDS item's firstBucket to `bucket` (a no-op when it is older)."""
    try:
        client.update_item(
            TableName=table_name,
            Key=items.serialize(keys.FEED_BOUNDS_KEY),
            UpdateExpression="SET firstBucket = :bucket",
            ConditionExpression="attribute_not_exists(firstBucket) OR firstBucket > :bucket",
            ExpressionAttributeValues={":bucket": {"S": bucket}},
        )
    except ClientError as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise


def past_month(month: int, *, ascending: bool) -> Position:
    """A position past every key of `month` in walk order (the month is exhausted)."""
    if ascending:
        return Position(month_start(month + 1) - _MICROSECOND, LAST_ID)
    return Position(month_start(month), FIRST_ID)


def month_of(moment: datetime) -> int:
    utc = moment.astimezone(UTC)
    return utc.year * 12 + utc.month - 1


def month_start(month: int) -> datetime:
    return datetime(month // 12, month % 12 + 1, 1, tzinfo=UTC)
