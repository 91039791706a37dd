"""The idempotency record of a create: written in the image's own transaction, read on replay."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infra import items, keys
from infra.records import IdempotencyRecord, Image

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

IDEMPOTENCY_SECONDS = 24 * 3600


def record_put(
    table_name: str, image: Image, idempotency_key: str, fingerprint: str | None
) -> dict[str, Any]:
    """The record's TransactWriteItems Put, conditional on no record existing."""
    record = {
        **keys.idempotency_key(image.owner_id, idempotency_key),
        "type": "Idempotency",
        "imageId": image.id,
        **({} if fingerprint is None else {"fingerprint": fingerprint}),
        keys.TTL_ATTRIBUTE: int(image.created_at.timestamp()) + IDEMPOTENCY_SECONDS,
    }
    put_record: dict[str, Any] = {
        "TableName": table_name,
        "Item": items.serialize(record),
        "ConditionExpression": "attribute_not_exists(PK)",
    }
    return {"Put": put_record}


def read_record(
    client: DynamoDBClient, table_name: str, owner_id: str, idempotency_key: str
) -> IdempotencyRecord | None:
    response = client.get_item(
        TableName=table_name,
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
