"""Reads of the cleanup index (GSI3): what is due, per status, over its write shards."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

from infra import items, keys
from infra.records import Image, ImageStatus
from infra.shard_merge import MAX_PARALLEL_QUERIES

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class CleanupReader:
    """The repository's due_for_cleanup: one Query per cleanup shard, merged by due time."""

    def __init__(
        self, table_name: str, client: Callable[[], DynamoDBClient], *, shards: int
    ) -> None:
        self.table_name = table_name
        self.shards = shards
        self._client = client
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def due(
        self,
        status: ImageStatus,
        due_before: datetime,
        *,
        limit: int,
        after: Image | None = None,
    ) -> list[Image]:
        """One Query per cleanup shard (in parallel), merged by due time: exact.

        Each shard returns its `limit` soonest entries past `after`'s position, so the
        `limit` soonest of their union are the `limit` soonest of the status.
        """
        partitions = keys.cleanup_partitions(status, self.shards)
        position = None if after is None else keys.cleanup_index_key(after)["GSI3SK"]
        client = self._client()  # built here, once, before the threads need it

        def read(partition: str) -> list[dict[str, Any]]:
            request: dict[str, Any] = {
                "TableName": self.table_name,
                "IndexName": keys.GSI3,
                "KeyConditionExpression": "GSI3PK = :partition AND GSI3SK <= :due",
                "ExpressionAttributeValues": {
                    ":partition": {"S": partition},
                    # '~' sorts after every id character: include items due exactly now.
                    ":due": {"S": f"{keys.format_instant(due_before)}#~"},
                },
                "Limit": limit,
            }
            if after is not None and position is not None:
                # Resume past a position (its item may have been purged since, or live
                # in another shard: a start key is only a position in the index).
                request["ExclusiveStartKey"] = items.serialize(
                    {**keys.image_key(after.id), "GSI3PK": partition, "GSI3SK": position}
                )
            found: list[dict[str, Any]] = client.query(**request).get("Items", [])
            return found

        if len(partitions) == 1:
            found = read(partitions[0])
        else:
            found = [item for shard in self._fan_out().map(read, partitions) for item in shard]
            found.sort(key=lambda item: str(item["GSI3SK"]["S"]))
        return [items.from_item(item) for item in found[:limit]]

    def _fan_out(self) -> ThreadPoolExecutor:
        """One pool per repository, started on first use: a cleanup run's every batch (and
        every warm invocation) reuses its threads instead of starting 16 new ones."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=MAX_PARALLEL_QUERIES, thread_name_prefix="picgraph-shards"
                )
            return self._pool
