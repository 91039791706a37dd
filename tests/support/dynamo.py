"""DynamoDB helpers for tests: the real table layout, and a recorder of API calls.

create_table builds the table from infra.keys alone (not from infra.provisioning), so
tests also catch a provisioning definition that drifts from the key layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from infra import keys

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def create_table(client: DynamoDBClient, table_name: str) -> None:
    """The single table: PK/SK, GSI1..GSI3 projecting ALL, on-demand, TTL on expiresAt."""
    attributes = [keys.TABLE_PK, keys.TABLE_SK]
    for partition, sort in keys.INDEXES.values():
        attributes += [partition, sort]
    client.create_table(
        TableName=table_name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in attributes],
        KeySchema=[
            {"AttributeName": keys.TABLE_PK, "KeyType": "HASH"},
            {"AttributeName": keys.TABLE_SK, "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": partition, "KeyType": "HASH"},
                    {"AttributeName": sort, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index, (partition, sort) in keys.INDEXES.items()
        ],
    )
    client.get_waiter("table_exists").wait(TableName=table_name)
    client.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": keys.TTL_ATTRIBUTE},
    )


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
