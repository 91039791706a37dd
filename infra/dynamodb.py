"""The image repository on one DynamoDB table (single-table design, see infra/keys.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from infra import counters, items, keys, quotas
from infra.errors import ImageAlreadyExistsError, QuotaConditionError, StaleImageError
from infra.quotas import QuotaCharge, QuotaUsage
from infra.records import IdempotencyRecord, Image, ImagePage, ImageQuery, ImageStatus, Position
from infra.shard_merge import MAX_PARALLEL_QUERIES
from infra.tag_shards import TagDirectory
from infra.transactions import cancellation_reasons, error_code, transact

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoImageRepository:
    """Implements services.ports.ImageRepository.

    Every write is conditional on the version read before (optimistic locking);
    a lost condition becomes StaleImageError.
    """

    def __init__(
        self,
        table_name: str,
        *,
        client: DynamoDBClient | None = None,
        session: boto3.Session | None = None,
        cleanup_shards: int = 1,
        counter_shards: int = 1,
        owner_counter_shards: int = 1,
        feed_shards: int = 1,
        hot_tag_shards: int = 1,
        hot_tags: Iterable[str] = (),
        tag_random: Callable[[], float] | None = None,
        wall_clock: Callable[[], float] | None = None,
    ) -> None:
        """Shard counts default to 1 (unsharded); bootstrap passes the settings'."""
        if min(cleanup_shards, counter_shards, owner_counter_shards, feed_shards) < 1:
            raise ValueError("shard counts must be positive")
        self.table_name = table_name
        self.cleanup_shards = cleanup_shards
        self.counter_shards = counter_shards
        self.owner_counter_shards = owner_counter_shards
        self.feed_shards = feed_shards
        self._client = client
        self._session = session
        self._first_bucket_seen: str | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        extras: dict[str, Any] = {"random": tag_random, "clock": wall_clock}
        self.tags = TagDirectory(
            table_name,
            lambda: self.client,
            hot_shards=hot_tag_shards,
            hot_tags=hot_tags,
            **{name: value for name, value in extras.items() if value is not None},
        )

    @property
    def client(self) -> DynamoDBClient:
        if self._client is None:
            # Locked: threads of a fan-out asking at once would each build a client
            # (tens of ms of CPU each, at a cold start).
            with self._lock:
                if self._client is None:
                    from infra.aws import client_config, new_session

                    session = self._session or new_session()
                    self._client = session.client("dynamodb", config=client_config())
        return self._client

    def get(self, image_id: str) -> Image | None:
        response = self.client.get_item(
            TableName=self.table_name,
            Key=items.serialize(keys.image_key(image_id)),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return None if item is None else items.from_item(item)

    def create(
        self,
        image: Image,
        *,
        idempotency_key: str | None = None,
        fingerprint: str | None = None,
        quota: QuotaCharge | None = None,
    ) -> None:
        put_image: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": self._item(image),
            "ConditionExpression": "attribute_not_exists(PK)",
        }
        writes: list[Any] = [{"Put": put_image}]
        if idempotency_key is not None:
            record = {
                **keys.idempotency_key(image.owner_id, idempotency_key),
                "type": "Idempotency",
                "imageId": image.id,
                **({} if fingerprint is None else {"fingerprint": fingerprint}),
                keys.TTL_ATTRIBUTE: int(image.created_at.timestamp()) + IDEMPOTENCY_SECONDS,
            }
            put_record: dict[str, Any] = {
                "TableName": self.table_name,
                "Item": items.serialize(record),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
            writes.append({"Put": put_record})
        existence_checks = len(writes)
        if quota is not None:
            writes.append(quotas.charge_write(self.table_name, quota))
        writes.extend(self._counter_updates(image, previous=None))
        try:
            self._transact(writes)
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            # Classified by each write's cancellation reason, in transaction order: an
            # existing image or idempotency record wins over a quota condition (a
            # replay creates nothing, so the quota must not refuse it).
            reasons = cancellation_reasons(exc, len(writes))
            if "ConditionalCheckFailed" in reasons[:existence_checks]:
                existing = (
                    None
                    if idempotency_key is None
                    else self.find_by_idempotency_key(image.owner_id, idempotency_key)
                )
                raise ImageAlreadyExistsError(
                    None if existing is None else existing.image_id
                ) from exc
            if quota is not None and reasons[existence_checks] in _QUOTA_RETRY_REASONS:
                raise QuotaConditionError(image.owner_id) from exc
            raise

    def quota_usage(self, owner_id: str) -> QuotaUsage:
        return quotas.read_usage(self.client, self.table_name, owner_id)

    def recount_pending(self, owner_id: str, *, observed: int, actual: int) -> bool:
        usage = self.quota_usage(owner_id)
        if usage.pending != observed:
            return False
        try:
            self.client.transact_write_items(
                TransactItems=quotas.recount_writes(self.table_name, owner_id, usage, actual=actual)  # type: ignore[arg-type]
            )
        except ClientError as exc:
            if error_code(exc) == "TransactionCanceledException":
                return False
            raise
        return True

    def find_by_idempotency_key(
        self, owner_id: str, idempotency_key: str
    ) -> IdempotencyRecord | None:
        response = self.client.get_item(
            TableName=self.table_name,
            Key=items.serialize(keys.idempotency_key(owner_id, idempotency_key)),
            ConsistentRead=True,
        )
        item = response.get("Item")
        if item is None:
            return None
        record = items.deserialize(item)
        fingerprint = record.get("fingerprint")
        return IdempotencyRecord(
            image_id=str(record["imageId"]),
            fingerprint=None if fingerprint is None else str(fingerprint),
        )

    def save(self, image: Image, *, previous: Image) -> None:
        if image.version != previous.version + 1:
            raise ValueError("save() takes the next version of the previous image")
        put_image: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": self._item(image),
            "ConditionExpression": "#version = :expected",
            "ExpressionAttributeNames": {"#version": "version"},
            "ExpressionAttributeValues": {":expected": {"N": str(previous.version)}},
        }
        tag_writes = [
            *self._tag_writes(image, previous),
            *self._counter_updates(image, previous),
            *quotas.transition_writes(
                self.table_name, image.id, image.owner_id, previous.status, image.status
            ),
        ]
        if image.status is ImageStatus.READY and previous.status is not ImageStatus.READY:
            # Before the image can be READY: a crash in between must not leave a READY
            # image in a month the feed's walks do not know (an extra month is harmless).
            self._note_feed_bucket(keys.feed_bucket(image.created_at))
        try:
            if tag_writes:
                self._transact([{"Put": put_image}, *tag_writes])
            else:
                self.client.put_item(**put_image)
        except ClientError as exc:
            if error_code(exc) in (
                "ConditionalCheckFailedException",
                "TransactionCanceledException",
            ):
                raise StaleImageError(image.id) from exc
            raise

    def delete(self, image: Image) -> None:
        quota_writes = quotas.transition_writes(
            self.table_name, image.id, image.owner_id, image.status, None
        )
        # Only the stored version itself: the counters' and the quota's decrements in the
        # same transaction must not apply twice when the image is already gone.
        delete_image: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": items.serialize(keys.image_key(image.id)),
            "ConditionExpression": "#version = :expected",
            "ExpressionAttributeNames": {"#version": "version"},
            "ExpressionAttributeValues": {":expected": {"N": str(image.version)}},
        }
        tag_deletes: list[Any] = [
            {
                "Delete": {
                    "TableName": self.table_name,
                    "Key": items.serialize(keys.tag_item_key(image.id, tag)),
                }
            }
            for tag in image.tags
        ]
        moved = self._counter_updates(None, previous=image)
        try:
            self._transact([{"Delete": delete_image}, *tag_deletes, *quota_writes, *moved])
        except ClientError as exc:
            if error_code(exc) == "TransactionCanceledException":
                if self.get(image.id) is None:
                    return  # already purged (by this call's lost answer or by another run)
                raise StaleImageError(image.id) from exc
            raise

    def owner_count(self, owner_id: str, status: ImageStatus) -> int:
        return counters.read_owner_count(
            self.client, self.table_name, owner_id, status, shards=self.owner_counter_shards
        )

    def tag_counts(self, tags: Sequence[str]) -> dict[str, int]:
        return counters.read_tag_counts(
            self.client, self.table_name, tags, shards=self.counter_shards
        )

    def recount(self, *, owners: Sequence[str] = (), tags: Sequence[str] = ()) -> dict[str, Any]:
        """Rebuild counters from the indexes (exact when those images do not move meanwhile)."""
        return {
            "owners": {
                owner: counters.recount_owner(
                    self.client, self.table_name, owner, shards=self.owner_counter_shards
                )
                for owner in owners
            },
            "tags": {
                tag: counters.recount_tag(
                    self.client,
                    self.table_name,
                    tag,
                    shards=self.counter_shards,
                    timeline_shards=self.tags.read_shards(tag),
                )
                for tag in tags
            },
        }

    def list_page(
        self, query: ImageQuery, *, limit: int, after: Position | None, backwards: bool
    ) -> ImagePage:
        from infra.timeline import read_timeline

        return read_timeline(
            self.client,
            self.table_name,
            query,
            limit=limit,
            after=after,
            backwards=backwards,
            feed_shards=self.feed_shards,
            tag_shards=self.tags.read_shards,
        )

    def due_for_cleanup(
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
        partitions = keys.cleanup_partitions(status, self.cleanup_shards)
        position = None if after is None else keys.cleanup_index_key(after)["GSI3SK"]
        client = self.client  # built here, once, before the threads need it

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

    def _item(self, image: Image) -> dict[str, Any]:
        return items.to_item(
            image, cleanup_shards=self.cleanup_shards, feed_shards=self.feed_shards
        )

    def _transact(self, writes: list[Any]) -> None:
        # Image + <= 20 tag puts + <= 20 tag deletes + <= 40 tag counters + owner counter
        # + quota item = 83 at most (services.validation.MAX_TAGS = 20).
        transact(self.client, writes)

    def _counter_updates(self, image: Image | None, previous: Image | None) -> list[Any]:
        return counters.counter_updates(
            self.table_name,
            image,
            previous,
            shards=self.counter_shards,
            owner_shards=self.owner_counter_shards,
        )

    def _tag_writes(self, image: Image, previous: Image) -> Iterator[dict[str, Any]]:
        """Tag-timeline entries follow the image: present exactly while it is READY."""
        wanted = set(image.tags) if image.status is ImageStatus.READY else set()
        existing = set(previous.tags) if previous.status is ImageStatus.READY else set()
        # Entries are found by table key (IMAGE#{id}, TAG#{tag}) for moves and deletes;
        # only a put needs the tag's current shard count (infra/tag_shards.py).
        shards = self.tags.write_shards(sorted(wanted))
        self.tags.observe(sorted(wanted))
        for tag in sorted(wanted):
            item = items.to_tag_item(image, tag, shards=shards[tag])
            yield {"Put": {"TableName": self.table_name, "Item": item}}
        for tag in sorted(existing - wanted):
            yield {
                "Delete": {
                    "TableName": self.table_name,
                    "Key": items.serialize(keys.tag_item_key(image.id, tag)),
                }
            }

    def _note_feed_bucket(self, bucket: str) -> None:
        """Remember the oldest month of the global timeline, so walks know where to stop."""
        if self._first_bucket_seen is not None and self._first_bucket_seen <= bucket:
            return  # already recorded by this process: an older or equal month is stored
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=items.serialize(keys.FEED_BOUNDS_KEY),
                UpdateExpression="SET firstBucket = :bucket",
                ConditionExpression="attribute_not_exists(firstBucket) OR firstBucket > :bucket",
                ExpressionAttributeValues={":bucket": {"S": bucket}},
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
        self._first_bucket_seen = bucket


IDEMPOTENCY_SECONDS = 24 * 3600
__all__ = ["MAX_PARALLEL_QUERIES", "DynamoImageRepository"]


_QUOTA_RETRY_REASONS = ("ConditionalCheckFailed", "TransactionConflict")
