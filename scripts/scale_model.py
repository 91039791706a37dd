"""A recording, in-memory stand-in for the DynamoDB client (for scripts/bench_scale.py).

It implements the calls the repository makes (get_item, batch_get_item, put_item,
update_item, transact_write_items, query) on one table with the GSIs of infra.keys.INDEXES, keeps
the items so that services can read what they wrote, and records the capacity each
call would consume on DynamoDB, per table and index, per partition key:

- item size: attribute names plus values (S/B: bytes, N: about one byte per two
  digits, L/M: 3 bytes plus their elements), as DynamoDB documents it;
- a write costs ceil(size / 1 KB) WCU on the table, the larger of the old and the new
  item; twice that inside TransactWriteItems;
- each GSI whose key the write touches: a put of the new entry (ceil(new / 1 KB)) on
  its partition and a delete of the old one (ceil(old / 1 KB)) on its partition when
  the index key changed, or one update (the larger size) when it did not. Indexes
  project every attribute, so an entry is as large as the item;
- a Query reads 0.5 RCU per started 4 KB of the items it returns (eventually
  consistent), a consistent GetItem 1 RCU per started 4 KB.

Conditions of PutItem and transactions are not evaluated (the simulation runs one
request at a time, so none would fail). UpdateItem conditions are (the feed bounds
and the hot-tag directory rely on them): `attribute_not_exists(a)`, comparisons,
joined by AND or OR; other forms are assumed to hold. A failed one raises
ConditionalCheckFailedException and costs 1 WCU, as on DynamoDB. UpdateItem
honours ReturnValues=ALL_NEW.
"""

from __future__ import annotations

import math
import re
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from infra import keys

Item = dict[str, Any]
TABLE = "table"

_KEY_CONDITION = re.compile(
    r"^(\S+) = (\S+)(?: AND (?:(\S+) (<=|>=|<|>|=) (\S+)|(\S+) BETWEEN (\S+) AND (\S+)))?$"
)
_SET = re.compile(r"^(\S+) = (\S+)$")


def value_size(value: dict[str, Any]) -> int:
    (kind, raw), *_ = value.items()
    if kind in ("S", "B"):
        return len(raw.encode() if isinstance(raw, str) else raw)
    if kind == "N":
        return (len(str(raw).lstrip("-").replace(".", "")) + 1) // 2 + 1
    if kind == "L":
        return 3 + sum(1 + value_size(element) for element in raw)
    if kind == "M":
        return 3 + sum(1 + len(name) + value_size(element) for name, element in raw.items())
    if kind in ("SS", "NS"):
        return sum(len(str(element)) for element in raw)
    return 1  # BOOL, NULL


def item_size(item: Item | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


@dataclass
class Capacity:
    """Consumed capacity per table/index name, per partition key."""

    writes: dict[str, dict[str, float]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(float))
    )
    queries: int = 0
    gets: int = 0
    read_units: float = 0.0

    def write(self, where: str, partition: str, units: float) -> None:
        self.writes[where][partition] += units

    def reset(self) -> None:
        self.writes.clear()
        self.queries = self.gets = 0
        self.read_units = 0.0


_COMPARISON = re.compile(r"^(\S+) (<=|>=|<|>|=|<>) (\S+)$")


def _holds(condition: str, item: Item | None, request: dict[str, Any]) -> bool:
    """A condition of clauses joined by OR, each of terms joined by AND (no parentheses)."""
    names: dict[str, str] = request.get("ExpressionAttributeNames", {})
    values: dict[str, Any] = request.get("ExpressionAttributeValues", {})
    present = item or {}

    def plain(value: dict[str, Any]) -> Any:
        (kind, raw), *_ = value.items()
        return float(raw) if kind == "N" else raw

    def term(text: str) -> bool:
        text = text.strip()
        for function, wanted in (("attribute_not_exists(", False), ("attribute_exists(", True)):
            if text.startswith(function):
                name = text[len(function) : -1].strip()
                return (names.get(name, name) in present) is wanted
        match = _COMPARISON.match(text)
        if match is None:
            return True  # a form this model does not evaluate: assumed to hold
        name = names.get(match.group(1), match.group(1))
        if name not in present:
            return False
        left, right = plain(present[name]), plain(values[match.group(3)])
        outcome: bool = {
            "=": left == right,
            "<>": left != right,
            "<": left < right,
            ">": left > right,
            "<=": left <= right,
            ">=": left >= right,
        }[match.group(2)]
        return outcome

    return any(
        all(term(part) for part in clause.split(" AND ")) for clause in condition.split(" OR ")
    )


def _table_key(item: Item) -> tuple[str, str]:
    return item[keys.TABLE_PK]["S"], item[keys.TABLE_SK]["S"]


def _index_key(item: Item | None, index: str) -> tuple[str, str] | None:
    if item is None:
        return None
    partition, sort = keys.INDEXES[index]
    if partition not in item or sort not in item:
        return None
    return item[partition]["S"], item[sort]["S"]


class RecordingDynamoClient:
    """The subset of the boto3 DynamoDB client the repository uses, in memory."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Item] = {}
        # index -> partition -> {(sort key, table key)}
        self._entries: dict[str, dict[str, set[tuple[str, tuple[str, str]]]]] = {
            index: defaultdict(set) for index in keys.INDEXES
        }
        self.capacity = Capacity()
        self._lock = threading.Lock()

    # -- writes ---------------------------------------------------------------------

    def _apply(self, key: tuple[str, str], new: Item | None, *, factor: int) -> None:
        old = self.items.get(key)
        size_old, size_new = item_size(old), item_size(new)
        self.capacity.write(TABLE, key[0], factor * write_units(max(size_old, size_new)))
        for index in keys.INDEXES:
            before, after = _index_key(old, index), _index_key(new, index)
            if before is not None and before == after:
                self.capacity.write(index, before[0], write_units(max(size_old, size_new)))
                continue
            if before is not None:
                self.capacity.write(index, before[0], write_units(size_old))
                self._entries[index][before[0]].discard((before[1], key))
            if after is not None:
                self.capacity.write(index, after[0], write_units(size_new))
                self._entries[index][after[0]].add((after[1], key))
        if new is None:
            self.items.pop(key, None)
        else:
            self.items[key] = new

    def put_item(self, *, Item: Item, **_: Any) -> dict[str, Any]:  # noqa: N803
        with self._lock:
            self._apply(_table_key(Item), dict(Item), factor=1)
        return {}

    def delete_item(self, *, Key: Item, **_: Any) -> dict[str, Any]:  # noqa: N803
        with self._lock:
            self._apply(_table_key(Key), None, factor=1)
        return {}

    def update_item(self, **request: Any) -> dict[str, Any]:
        with self._lock:
            key = _table_key(request["Key"])
            current = self.items.get(key)
            condition = request.get("ConditionExpression")
            if condition is not None and not _holds(condition, current, request):
                self.capacity.write(TABLE, key[0], write_units(item_size(current)))
                raise ClientError(
                    {"Error": {"Code": "ConditionalCheckFailedException", "Message": "failed"}},
                    "UpdateItem",
                )
            self._update(request, factor=1)
            new = self.items.get(key)
        if request.get("ReturnValues") == "ALL_NEW" and new is not None:
            return {"Attributes": dict(new)}
        return {}

    def _update(self, request: dict[str, Any], *, factor: int) -> None:
        key = _table_key(request["Key"])
        new = dict(self.items.get(key) or request["Key"])
        names: dict[str, str] = request.get("ExpressionAttributeNames", {})
        values: dict[str, Any] = request.get("ExpressionAttributeValues", {})
        expression: str = request["UpdateExpression"]
        for clause in re.split(r"\s(?=SET |ADD |REMOVE )", expression.strip()):
            verb, _, body = clause.partition(" ")
            for part in (piece.strip() for piece in body.split(",")):
                if verb == "SET":
                    match = _SET.match(part)
                    if match and match.group(2) in values:
                        new[names.get(match.group(1), match.group(1))] = values[match.group(2)]
                elif verb == "ADD":
                    name, value = part.split()
                    name = names.get(name, name)
                    current = float(new.get(name, {"N": "0"})["N"])
                    total = current + float(values[value]["N"])
                    new[name] = {"N": str(int(total)) if total.is_integer() else str(total)}
                elif verb == "REMOVE":
                    new.pop(names.get(part, part), None)
        self._apply(key, new, factor=factor)

    def transact_write_items(self, *, TransactItems: list[Any], **_: Any) -> dict[str, Any]:  # noqa: N803
        with self._lock:
            for action in TransactItems:
                if "Put" in action:
                    item = action["Put"]["Item"]
                    self._apply(_table_key(item), dict(item), factor=2)
                elif "Delete" in action:
                    self._apply(_table_key(action["Delete"]["Key"]), None, factor=2)
                elif "Update" in action:
                    self._update(action["Update"], factor=2)
                elif "ConditionCheck" in action:
                    key = _table_key(action["ConditionCheck"]["Key"])
                    size = item_size(self.items.get(key))
                    self.capacity.write(TABLE, key[0], 2 * write_units(size))
        return {}

    # -- reads ----------------------------------------------------------------------

    def get_item(self, *, Key: Item, ConsistentRead: bool = False, **_: Any) -> dict[str, Any]:  # noqa: N803
        with self._lock:
            item = self.items.get(_table_key(Key))
            self.capacity.gets += 1
            units = max(1, math.ceil(item_size(item) / 4096))
            self.capacity.read_units += units if ConsistentRead else units / 2
        return {} if item is None else {"Item": dict(item)}

    def batch_get_item(self, *, RequestItems: dict[str, Any], **_: Any) -> dict[str, Any]:  # noqa: N803
        """Eventually consistent: 0.5 RCU per started 4 KB of each key, found or not."""
        responses: dict[str, list[Item]] = {}
        with self._lock:
            for name, request in RequestItems.items():
                found = responses.setdefault(name, [])
                for key in request["Keys"]:
                    item = self.items.get(_table_key(key))
                    self.capacity.gets += 1
                    self.capacity.read_units += max(1, math.ceil(item_size(item) / 4096)) / 2
                    if item is not None:
                        found.append(dict(item))
        return {"Responses": responses, "UnprocessedKeys": {}}

    def query(self, **request: Any) -> dict[str, Any]:
        index = request.get("IndexName")
        if index not in self._entries:
            raise ValueError(f"the recording client queries indexes only, not {index!r}")
        names: dict[str, str] = request.get("ExpressionAttributeNames", {})
        values: dict[str, Any] = request.get("ExpressionAttributeValues", {})
        match = _KEY_CONDITION.match(request["KeyConditionExpression"].strip())
        if match is None:
            raise ValueError(f"unsupported key condition {request['KeyConditionExpression']!r}")
        partition = values[match.group(2)]["S"]

        def accepts(sort: str) -> bool:
            if match.group(4) is not None:
                bound: str = values[match.group(5)]["S"]
                outcome: bool = {
                    "<": sort < bound,
                    "<=": sort <= bound,
                    ">": sort > bound,
                    ">=": sort >= bound,
                    "=": sort == bound,
                }[match.group(4)]
                return outcome
            if match.group(6) is not None:
                return bool(values[match.group(7)]["S"] <= sort <= values[match.group(8)]["S"])
            return True

        del names  # the key names are implied by the index
        forward = request.get("ScanIndexForward", True)
        limit = request.get("Limit")
        with self._lock:
            entries = sorted(
                entry for entry in self._entries[index][partition] if accepts(entry[0])
            )
            if not forward:
                entries.reverse()
            start = request.get("ExclusiveStartKey")
            if start is not None:
                resume = (start[keys.INDEXES[index][1]]["S"], _table_key(start))
                entries = [
                    entry for entry in entries if (entry > resume if forward else entry < resume)
                ]
            chosen = entries if limit is None else entries[:limit]
            found = [dict(self.items[table_key]) for _, table_key in chosen]
            self.capacity.queries += 1
            size = sum(item_size(item) for item in found)
            self.capacity.read_units += max(1, math.ceil(size / 4096)) / 2
        response: dict[str, Any] = {"Items": found, "Count": len(found)}
        if limit is not None and len(chosen) == limit and found:
            last = found[-1]
            partition_name, sort_name = keys.INDEXES[index]
            response["LastEvaluatedKey"] = {
                name: last[name]
                for name in (keys.TABLE_PK, keys.TABLE_SK, partition_name, sort_name)
            }
        return response
