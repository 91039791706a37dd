"""moto over HTTP answers concurrent DynamoDB requests without losing any write."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def dynamodb(moto_endpoint: str) -> Any:
    """A table of its own on the session's moto server."""
    client = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    table = f"isolation-{uuid.uuid4().hex[:12]}"
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client, table


def test_a_failing_transaction_never_undoes_another_threads_write(dynamodb: Any) -> None:
    """GIVEN transactions that fail their condition (moto puts back a copy of the table
    taken when each began) WHEN other threads write meanwhile THEN every write stays."""
    client, table = dynamodb
    run = uuid.uuid4().hex
    # A table big enough that moto's copy of it, at each transaction's start, takes a while
    for batch in range(20):
        client.batch_write_item(
            RequestItems={
                table: [
                    {"PutRequest": {"Item": {"PK": {"S": f"{run}#{batch}-{index}"}}}}
                    for index in range(25)
                ]
            }
        )
    client.put_item(TableName=table, Item={"PK": {"S": f"{run}#taken"}})
    cancelled: list[str] = []
    written: list[str] = []
    stop = threading.Event()

    def fail_transactions() -> None:
        while not stop.is_set():
            try:
                client.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": table,
                                "Item": {"PK": {"S": f"{run}#taken"}},
                                "ConditionExpression": "attribute_not_exists(PK)",
                            }
                        },
                        {"Put": {"TableName": table, "Item": {"PK": {"S": f"{run}#x"}}}},
                    ]
                )
            except ClientError as error:
                cancelled.append(error.response["Error"]["Code"])

    def write(worker: int) -> None:
        for index in range(60):
            key = f"{run}#w{worker}-{index}"
            client.put_item(TableName=table, Item={"PK": {"S": key}})
            written.append(key)

    failing = [threading.Thread(target=fail_transactions) for _ in range(3)]
    writers = [threading.Thread(target=write, args=(worker,)) for worker in range(3)]
    for thread in failing + writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in failing:
        thread.join()

    missing = [
        key
        for key in written
        if "Item" not in client.get_item(TableName=table, Key={"PK": {"S": key}})
    ]
    assert missing == []
    assert cancelled, "no transaction ran while the writes did"
    assert set(cancelled) == {"TransactionCanceledException"}
