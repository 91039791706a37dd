"""The image repository on one DynamoDB table (single-table design, see infra/keys.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from infra import counters, feed_months, idempotency, items, keys, quotas, tag_entries
from infra.cleanup_reads import CleanupReader
from infra.errors import ImageAlreadyExistsError, QuotaConditionError, StaleImageError
from infra.quotas import QuotaCharge, QuotaUsage
from infra.records import IdempotencyRecord, Image, ImagePage, ImageQuery, ImageStatus, Position
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
        self._lock = threading.Lock()
        extras: dict[str, Any] = {"random": tag_random, "clock": wall_clock}
        self.tags = TagDirectory(
            table_name,
            lambda: self.client,
            hot_shards=hot_tag_shards,
            hot_tags=hot_tags,
            **{name: value for name, value in extras.items() if value is not None},
        )
        self.cleanup = CleanupReader(table_name, lambda: self.client, shards=cleanup_shards)

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
            writes.append(
                idempotency.record_put(self.table_name, image, idempotency_key, fingerprint)
            )
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
        return idempotency.read_record(self.client, self.table_name, owner_id, idempotency_key)

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
            *tag_entries.entry_writes(self.table_name, image, previous, self.tags),
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
        tag_deletes = tag_entries.entry_deletes(self.table_name, image)
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
        return self.cleanup.due(status, due_before, limit=limit, after=after)

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

    def _note_feed_bucket(self, bucket: str) -> None:
        """Remember the oldest month of the global timeline, so walks know where to stop."""
        if self._first_bucket_seen is not None and self._first_bucket_seen <= bucket:
            return  # already recorded by this process: an older or equal month is stored
        feed_months.record_first_bucket(self.client, self.table_name, bucket)
        self._first_bucket_seen = bucket


_QUOTA_RETRY_REASONS = ("ConditionalCheckFailed", "TransactionConflict")
