"""BatchGetItem as every small multi-key read here uses it (counters, quotas, tag shards)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from infra import items
from infra.errors import BatchReadError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_GET_LIMIT = 100
"""Keys one BatchGetItem may ask for."""
BATCH_GET_ATTEMPTS = 5


def batch_get(
    client: DynamoDBClient,
    table_name: str,
    requested: Sequence[Mapping[str, str]],
    *,
    consistent: bool = False,
) -> list[dict[str, Any]]:
    """Every existing item of `requested` (<= 100 keys), retrying unprocessed keys with
    backoff; BatchReadError if DynamoDB keeps leaving some (throttling)."""
    found: list[dict[str, Any]] = []
    request: dict[str, Any] = {"Keys": [items.serialize(dict(key)) for key in requested]}
    if consistent:
        request["ConsistentRead"] = True
    pending: dict[str, Any] = {table_name: request}
    for attempt in range(BATCH_GET_ATTEMPTS):
        if attempt:
            time.sleep(min(1.0, 0.05 * 2**attempt))
        response = client.batch_get_item(RequestItems=pending)
        found.extend(response.get("Responses", {}).get(table_name, []))
        pending = dict(response.get("UnprocessedKeys") or {})
        if not pending:
            return found
    raise BatchReadError("DynamoDB left keys of a BatchGetItem unprocessed; try again")
