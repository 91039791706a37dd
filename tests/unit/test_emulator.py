"""`picgraph serve`'s embedded emulator answers as moto's own server does, only faster."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from moto.core.serialize import JSONSerializer, XFormedAttributePicker
from moto.core.utils import get_service_model

from resolvers.emulator import dynamodb_serializer
from resolvers.serving import BalancedEventLoop

EVERY_TYPE: dict[str, Any] = {
    "PK": {"S": "IMAGE#1"},
    "empty": {"S": ""},
    "size": {"N": "2000000"},
    "ratio": {"N": "-1.5e3"},
    "blob": {"B": b"\x00\xffbytes"},
    "tags": {"SS": ["beach", "sunset"]},
    "sizes": {"NS": ["1", "2.5"]},
    "blobs": {"BS": [b"a", b"\x01\x02"]},
    "flag": {"BOOL": False},
    "nothing": {"NULL": True},
    "variants": {
        "L": [
            {"M": {"name": {"S": "thumb"}, "width": {"N": "320"}, "raw": {"B": b"\x10"}}},
            {"L": [{"BOOL": True}, {"NULL": True}]},
            {"M": {}},
        ]
    },
    "none": {"L": []},
}


def _body(serializer: type[Any], operation: str, result: dict[str, Any]) -> Any:
    model = get_service_model("dynamodb").operation_model(operation)
    picker = XFormedAttributePicker(response_transformers=None)
    serialized = serializer(operation_model=model, value_picker=picker).serialize(result)
    return json.loads(serialized["body"])


@pytest.mark.parametrize(
    ("operation", "result"),
    [
        ("GetItem", {"Item": EVERY_TYPE}),
        ("GetItem", {}),
        ("Query", {"Items": [EVERY_TYPE, {"PK": {"S": "x"}}], "Count": 2, "ScannedCount": 2}),
        ("Query", {"Items": [], "Count": 0, "LastEvaluatedKey": {"PK": {"S": "IMAGE#1"}}}),
        ("UpdateItem", {"Attributes": EVERY_TYPE}),
        ("BatchGetItem", {"Responses": {"t": [EVERY_TYPE]}, "UnprocessedKeys": {}}),
    ],
)
def test_dynamodb_answers_are_the_same_json_as_moto_writes(
    operation: str, result: dict[str, Any]
) -> None:
    """GIVEN moto's result for an operation, with every attribute type nested in maps and
    lists WHEN the emulator's serializer writes it THEN the JSON equals moto's own."""
    assert _body(dynamodb_serializer(), operation, result) == _body(
        JSONSerializer, operation, result
    )


def test_a_worker_accepts_one_connection_per_wakeup() -> None:
    """GIVEN four clients waiting on a shared listening socket WHEN a worker's loop wakes
    THEN it takes one of them and leaves the rest to the other workers."""
    loop = BalancedEventLoop()
    accepted: list[Any] = []

    class Recorder:
        def connection_made(self, transport: Any) -> None:
            accepted.append(transport)

        def __getattr__(self, name: str) -> Any:
            return lambda *args: None

    with socket.create_server(("127.0.0.1", 0), backlog=16) as listener:
        listener.setblocking(False)
        clients = [socket.create_connection(listener.getsockname()) for _ in range(4)]
        try:
            loop._accept_connection(Recorder, listener, None, None, 2048)
            loop.run_until_complete(_settle())
            assert len(accepted) == 1
            leftover, _ = listener.accept()  # the other three are still in the queue
            leftover.close()
        finally:
            for transport in accepted:
                transport.close()
            for client in clients:
                client.close()
            loop.run_until_complete(_settle())
            loop.close()


async def _settle() -> None:
    import asyncio

    for _ in range(5):
        await asyncio.sleep(0)


def test_attribute_values_skip_the_per_member_lookups(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN a 12-attribute item WHEN the emulator writes it THEN moto's per-member value
    picker runs for the envelope only, not ten times per attribute."""
    lookups = {"count": 0}
    original = JSONSerializer.get_value

    def counting(self: Any, value: Any, key: str, shape: Any) -> Any:
        lookups["count"] += 1
        return original(self, value, key, shape)

    monkeypatch.setattr(JSONSerializer, "get_value", counting)
    _body(JSONSerializer, "GetItem", {"Item": EVERY_TYPE})
    generic, lookups["count"] = lookups["count"], 0
    _body(dynamodb_serializer(), "GetItem", {"Item": EVERY_TYPE})
    assert generic > 100
    assert lookups["count"] <= 3
