"""The pending-uploads quota under a race: 20 creates at once, as from 20 Lambda instances.

Each thread has its own app (own boto3 session and clients), all talking to moto over
HTTP, so the only thing they share is the table: the quota holds only if the
conditional charge in each create transaction does.

moto's TransactWriteItems is not isolated between threads (it deep-copies each table
first and puts the copy back when a condition fails, undoing other threads' writes
meanwhile); DynamoDB's transactions are serializable. The test gives moto that
isolation with a lock around its write operations, nothing else.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from infra import keys
from infra.settings import Settings
from resolvers.bootstrap import build_app
from services.errors import QuotaExceededError
from services.upload_requests import UploadTicket
from tests.support.aws import provisioned_settings

CREATES = 20
LIMIT = 5


@pytest.fixture
def isolated_moto_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    for name in ("transact_write_items", "put_item", "update_item", "delete_item"):
        original = getattr(DynamoDBBackend, name)

        def serialized(*args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return __original(*args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, serialized)


@pytest.mark.usefixtures("isolated_moto_writes")
def test_twenty_parallel_creates_with_a_limit_of_five(aws_endpoint: str) -> None:
    """GIVEN a pending-uploads limit of 5 WHEN 20 createImageUpload calls for one viewer
    start at once on 20 app instances THEN exactly 5 images exist, 15 calls get
    QUOTA_EXCEEDED, the quota counts 5, and nothing else was written (no half-created
    image, idempotency record or staging object)."""
    settings = provisioned_settings(
        PICGRAPH_QUOTA_PENDING_UPLOADS=str(LIMIT),
        PICGRAPH_QUOTA_UPLOADS_PER_DAY="0",
        PICGRAPH_QUOTA_BYTES_PER_DAY="0",
    )
    owner = f"racer-{uuid.uuid4().hex[:8]}"
    apps = [build_app(settings) for _ in range(CREATES)]
    start = threading.Barrier(CREATES)

    def create(index: int) -> UploadTicket | QuotaExceededError:
        app = apps[index]
        start.wait()
        try:
            return app.uploads.create_upload(
                owner,
                filename=f"p{index}.jpg",
                content_type="image/jpeg",
                size_bytes=1000,
                idempotency_key=f"key-{index}",
            )
        except QuotaExceededError as error:
            return error

    with ThreadPoolExecutor(max_workers=CREATES) as pool:
        results = list(pool.map(create, range(CREATES)))

    created = [result for result in results if isinstance(result, UploadTicket)]
    refused = [result for result in results if isinstance(result, QuotaExceededError)]
    assert len(created) == LIMIT
    assert len(refused) == CREATES - LIMIT
    assert {error.quota for error in refused} == {"pendingUploads"}
    items = table_items(settings)
    images = {pk for pk, sk in items if sk == keys.IMAGE_SK}
    assert images == {f"IMAGE#{ticket.image.id}" for ticket in created}
    records = [pk for pk, sk in items if sk == keys.IDEMPOTENCY_SK]
    assert len(records) == LIMIT
    quota = items[(keys.quota_key(owner)["PK"], keys.QUOTA_SK)]
    assert quota["pending"] == {"N": str(LIMIT)}
    assert staging_keys(settings) == set()


def table_items(settings: Settings) -> dict[tuple[str, str], dict[str, Any]]:
    client = boto3.Session(region_name=settings.region).client("dynamodb")
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for page in client.get_paginator("scan").paginate(TableName=settings.table_name):
        for item in page["Items"]:
            found[(item["PK"]["S"], item["SK"]["S"])] = item
    return found


def staging_keys(settings: Settings) -> set[str]:
    client = boto3.Session(region_name=settings.region).client("s3")
    listed = client.list_objects_v2(Bucket=settings.bucket_name, Prefix="uploads/")
    return {entry["Key"] for entry in listed.get("Contents", [])}
