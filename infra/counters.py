"""Image counters: per owner and status, and per tag (READY images), sharded for hot tags.

Writes: `counter_updates` returns the ADDs that move an image from one state to another;
infra/dynamodb.py puts them into the very TransactWriteItems that writes the image with
its version condition, so a counter moves exactly when the image does (a lost condition
writes nothing). Reads: one GetItem for an owner, one BatchGetItem of every shard for a
tag. `recount_owner` / `recount_tag` rebuild a counter from the indexes with Queries
(`picgraph recount`, for images written before counters existed). Keys: infra/keys.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from infra import items, keys
from infra.batch_reads import BATCH_GET_LIMIT, batch_get
from infra.records import Image, ImageStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def counter_updates(
    table_name: str,
    image: Image | None,
    previous: Image | None,
    *,
    shards: int,
    owner_shards: int,
) -> list[dict[str, Any]]:
    """The counter ADDs that move `previous` to `image` (None: absent), for its transaction.

    The owner's per-status counts follow the image's status; a tag's count holds the
    READY images carrying it (exactly like the tag timelines). Increments and decrements
    go to the shard of the image id; only the sum over shards is read.
    """
    subject = image or previous
    if subject is None:
        return []
    before = None if previous is None else previous.status
    after = None if image is None else image.status
    updates: list[dict[str, Any]] = []
    if before is not after:
        deltas = {
            status.value: delta
            for status, delta in ((before, -1), (after, 1))
            if status is not None
        }
        key = keys.owner_counter_key(subject.owner_id, keys.shard_of(subject.id, owner_shards))
        updates.append(items.counter_update(table_name, key, deltas))
    counted_before, counted_after = _counted_tags(previous), _counted_tags(image)
    shard = keys.shard_of(subject.id, shards)
    moves = [(tag, -1) for tag in sorted(counted_before - counted_after)]
    moves += [(tag, 1) for tag in sorted(counted_after - counted_before)]
    for tag, delta in moves:
        key = keys.tag_counter_key(tag, shard)
        updates.append(items.counter_update(table_name, key, {keys.TAG_COUNT_ATTRIBUTE: delta}))
    return updates


def read_owner_count(
    client: DynamoDBClient, table_name: str, owner_id: str, status: ImageStatus, *, shards: int
) -> int:
    """The owner's shards summed: one BatchGetItem (0.5 RCU per shard, eventually consistent)."""
    requested = keys.owner_counter_keys(owner_id, shards)
    found = batch_get(client, table_name, requested)
    return sum(items.counter_value(item, status.value) for item in found)


def read_tag_counts(
    client: DynamoDBClient, table_name: str, tags: Sequence[str], *, shards: int
) -> dict[str, int]:
    """Each tag's shards summed: one BatchGetItem per 100 keys (absent shards count 0)."""
    wanted = list(dict.fromkeys(tags))
    tag_of = {
        key[keys.TABLE_PK]: tag for tag in wanted for key in keys.tag_counter_keys(tag, shards)
    }
    requested = [key for tag in wanted for key in keys.tag_counter_keys(tag, shards)]
    totals = dict.fromkeys(wanted, 0)
    for start in range(0, len(requested), BATCH_GET_LIMIT):
        chunk = requested[start : start + BATCH_GET_LIMIT]
        for item in batch_get(client, table_name, chunk):
            totals[tag_of[item[keys.TABLE_PK]["S"]]] += items.counter_value(
                item, keys.TAG_COUNT_ATTRIBUTE
            )
    return totals


def recount_owner(
    client: DynamoDBClient, table_name: str, owner_id: str, *, shards: int
) -> dict[str, int]:
    """Set the owner's counters to what GSI1 holds per status (Queries of keys only)."""
    counts = {
        status.value: _count_partition(client, table_name, keys.owner_partition(owner_id, status))
        for status in ImageStatus
    }
    zeros = dict.fromkeys(counts, 0)
    _put_shards(client, table_name, keys.owner_counter_keys(owner_id, shards), counts, zeros)
    return counts


def recount_tag(
    client: DynamoDBClient, table_name: str, tag: str, *, shards: int, timeline_shards: int = 1
) -> int:
    """Set the tag's count to its timeline's entries: shard 0 holds it, the others 0.

    A hot tag's timeline is write-sharded (infra/tag_shards.py): every shard is counted.
    """
    count = sum(
        _count_partition(client, table_name, partition)
        for partition in keys.tag_partitions(tag, timeline_shards)
    )
    attribute = keys.TAG_COUNT_ATTRIBUTE
    _put_shards(
        client, table_name, keys.tag_counter_keys(tag, shards), {attribute: count}, {attribute: 0}
    )
    return count


def _put_shards(
    client: DynamoDBClient,
    table_name: str,
    shard_keys: list[dict[str, str]],
    first: dict[str, int],
    others: dict[str, int],
) -> None:
    """Shard 0 gets `first`, every other shard `others`, in one transaction (<= 100)."""
    writes: list[Any] = [
        {
            "Put": {
                "TableName": table_name,
                "Item": items.serialize({**key, **(first if shard == 0 else others)}),
            }
        }
        for shard, key in enumerate(shard_keys)
    ]
    client.transact_write_items(TransactItems=writes)


def _count_partition(client: DynamoDBClient, table_name: str, partition: str) -> int:
    """The entries of one GSI1 partition, paging through keys only."""
    total = 0
    request: dict[str, Any] = {
        "TableName": table_name,
        "IndexName": keys.GSI1,
        "KeyConditionExpression": "GSI1PK = :pk",
        "ExpressionAttributeValues": {":pk": {"S": partition}},
        "ProjectionExpression": "PK",
    }
    while True:
        response = client.query(**request)
        total += len(response.get("Items", []))
        start = response.get("LastEvaluatedKey")
        if start is None:
            return total
        request["ExclusiveStartKey"] = start


def _counted_tags(image: Image | None) -> set[str]:
    return set(image.tags) if image is not None and image.status is ImageStatus.READY else set()
