"""TransactWriteItems as the repository sends it: bounded, retried on conflicts only,
and its cancellation reasons read by position (never by message text)."""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_TRANSACTION_ITEMS = 100
"""DynamoDB's limit of actions in one TransactWriteItems."""
TRANSACT_ATTEMPTS = 5
TRANSACT_BACKOFF_SECONDS = 0.01


def transact(client: DynamoDBClient, writes: list[Any]) -> None:
    """Send `writes` as one transaction, again (with jittered backoff) while it loses only
    to concurrent transactions; a failed condition is the caller's (never retried)."""
    assert len(writes) <= MAX_TRANSACTION_ITEMS, f"{len(writes)} items in one transaction"
    for attempt in range(TRANSACT_ATTEMPTS):
        try:
            client.transact_write_items(TransactItems=writes)
            return
        except ClientError as exc:
            # Hot counter items take concurrent transactions: DynamoDB cancels one of
            # two that overlap on an item (TransactionConflict), writing nothing.
            if attempt == TRANSACT_ATTEMPTS - 1 or not only_conflicts(exc):
                raise
        time.sleep(random.uniform(0, TRANSACT_BACKOFF_SECONDS * 2**attempt))  # noqa: S311


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def only_conflicts(exc: ClientError) -> bool:
    """A cancelled transaction that lost only to concurrent ones (no condition failed)."""
    if error_code(exc) != "TransactionCanceledException":
        return False
    reasons = {
        str(reason.get("Code", "None")) for reason in exc.response.get("CancellationReasons", [])
    }
    return "TransactionConflict" in reasons and reasons <= {"TransactionConflict", "None"}


def cancellation_reasons(exc: ClientError, count: int) -> list[str]:
    """Each write's cancellation reason code, in transaction order ("None" if it passed)."""
    reasons: list[Any] = list(exc.response.get("CancellationReasons", []))
    codes = [str(reason.get("Code", "None")) for reason in reasons[:count]]
    return codes + ["None"] * (count - len(codes))
