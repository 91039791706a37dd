"""DynamoDB helpers for tests: the real table layout, and a recorder of API calls.

create_table builds the table from infra.keys alone (not from infra.provisioning), so
tests also catch a provisioning definition that drifts from the key layout.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from infra.provisioning import ensure_table
from infra.records import Image, ImageStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from infra.dynamodb import DynamoImageRepository


def create_table(client: DynamoDBClient, table_name: str) -> None:
    """The single table exactly as production provisions it (infra.provisioning)."""
    ensure_table(client, table_name)


@dataclass
class Call:
    operation: str
    params: dict[str, Any]
    response: dict[str, Any] | None = None


@dataclass
class CallRecorder:
    """Records every DynamoDB API call a client makes, with its parameters and response.

    botocore event hooks: before-parameter-build (the API parameters) and after-call.

    With forbid=("Scan",) a forbidden operation fails the call before it is sent.
    """

    forbid: tuple[str, ...] = ("Scan",)
    calls: list[Call] = field(default_factory=list)

    def attach(self, client: DynamoDBClient) -> CallRecorder:
        client.meta.events.register("before-parameter-build.dynamodb", self._before)
        client.meta.events.register("after-call.dynamodb", self._after)
        return self

    def clear(self) -> None:
        self.calls.clear()

    def operations(self) -> list[str]:
        return [call.operation for call in self.calls]

    def count(self, operation: str) -> int:
        return sum(1 for call in self.calls if call.operation == operation)

    def _before(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        if model.name in self.forbid:
            raise AssertionError(f"forbidden DynamoDB operation: {model.name}")
        self.calls.append(Call(model.name, dict(params)))

    def _after(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        for call in reversed(self.calls):
            if call.operation == model.name and call.response is None:
                call.response = parsed
                break


def seed_image(
    repository: DynamoImageRepository,
    owner: str,
    created_at: datetime,
    *,
    tags: Sequence[str] = (),
    status: ImageStatus = ImageStatus.READY,
    image_id: str | None = None,
) -> Image:
    """An image in `status`, reached through the real lifecycle writes (create, save).

    PENDING_UPLOAD -> PROCESSING | REJECTED | READY (-> DELETED), each save with the
    next version, so index attributes, tag items and feed bounds are the real ones.
    `tags` must already be normalised.
    """
    pending = Image(
        id=image_id or str(uuid.uuid4()),
        owner_id=owner,
        filename="photo.jpg",
        content_type="image/jpeg",
        declared_size=1000,
        created_at=created_at,
        updated_at=created_at,
        tags=tuple(tags),
        cleanup_after=created_at + timedelta(hours=2),
    )
    repository.create(pending)
    if status is ImageStatus.PENDING_UPLOAD:
        return pending
    if status is ImageStatus.PROCESSING:
        processing = pending.evolve(
            status=status, processing_until=created_at + timedelta(minutes=5)
        )
        repository.save(processing, previous=pending)
        return processing
    if status is ImageStatus.REJECTED:
        rejected = pending.evolve(status=status, rejection_code="INVALID_IMAGE")
        repository.save(rejected, previous=pending)
        return rejected
    ready = pending.evolve(
        status=ImageStatus.READY, size_bytes=1000, width=4, height=3, cleanup_after=None
    )
    repository.save(ready, previous=pending)
    if status is ImageStatus.READY:
        return ready
    deleted = ready.evolve(
        status=ImageStatus.DELETED,
        deleted_at=created_at + timedelta(hours=1),
        cleanup_after=created_at + timedelta(days=30),
    )
    repository.save(deleted, previous=ready)
    return deleted


def counter_mismatches(client: DynamoDBClient, table_name: str) -> dict[str, tuple[int, int]]:
    """Counters that differ from a recount of what the indexes hold (a test-only Scan).

    Owner counts against the image items per owner and status; tag counts (summed over
    their shards) against the tag-timeline entries, which exist exactly while an image
    is READY. Returns {what: (counter, recount)}; empty when every counter is exact.
    """
    counters: dict[str, int] = {}
    recount: dict[str, int] = {}
    paginator = client.get_paginator("scan")
    for page in paginator.paginate(TableName=table_name):
        for item in page["Items"]:
            pk, sk = item["PK"]["S"], item["SK"]["S"]
            if pk.startswith("COUNTS#OWNER#"):
                shard = sk.removeprefix("COUNTS").removeprefix("#")
                owner = pk.removeprefix("COUNTS#OWNER#").removesuffix(f"#{shard}" if shard else "")
                for name, value in item.items():
                    if name not in ("PK", "SK"):
                        what = f"owner {owner} {name}"
                        counters[what] = counters.get(what, 0) + int(value["N"])
            elif pk.startswith("COUNTS#TAG#"):
                what = f"tag {pk.removeprefix('COUNTS#TAG#').split('#')[0]}"
                counters[what] = counters.get(what, 0) + int(item["ready"]["N"])
            elif pk.startswith("IMAGE#") and sk == "IMAGE":
                what = f"owner {item['ownerId']['S']} {item['status']['S']}"
                recount[what] = recount.get(what, 0) + 1
            elif pk.startswith("IMAGE#") and sk.startswith("TAG#"):
                what = f"tag {sk.removeprefix('TAG#')}"
                recount[what] = recount.get(what, 0) + 1
    return {
        what: (counters.get(what, 0), recount.get(what, 0))
        for what in sorted(set(counters) | set(recount))
        if counters.get(what, 0) != recount.get(what, 0)
    }


_MOTO_LOCK = threading.Lock()


def one_request_at_a_time(client: Any) -> Any:
    """A client whose requests the in-process moto backend handles one at a time.

    Each real DynamoDB or S3 request is atomic; moto's in-memory backend is not thread
    safe (a transaction deep-copies a table another thread is changing). The lock makes
    each request atomic as in AWS while the two runs still interleave between requests.
    """
    call = client._make_api_call

    def atomic(operation: str, params: dict[str, Any]) -> Any:
        with _MOTO_LOCK:
            return call(operation, params)

    client._make_api_call = atomic
    return client
