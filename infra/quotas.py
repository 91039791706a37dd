"""The per-viewer quota item (keys.quota_key): its records and the writes that move it.

One item per viewer holds the uploads charged to it (`pending`: every create adds one)
and the usage of the current 24 h window (`windowStart`, `windowUploads`,
`windowBytes`). An upload leaving PENDING_UPLOAD/PROCESSING adds one to `released` on
one of RELEASE_SHARDS release items (keys.quota_release_key, the shard of its image
id), so the viewer's count of uploads in flight is `pending` minus the released sum.
Sharding the releases keeps the quota item at one write per upload: a busy account's
complete calls would otherwise double the writes on its one key. Every write that
moves an image into or out of those two statuses carries the matching quota write in
the same TransactWriteItems (infra/dynamodb.py), so the count can never drift from
the images by a crash between two writes.
The limits themselves are policy: services/quotas.py decides, these writes only
enforce its decision atomically (the conditions) across Lambda instances.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from infra import items, keys
from infra.batch_reads import batch_get
from infra.records import ImageStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

COUNTED_STATUSES = frozenset({ImageStatus.PENDING_UPLOAD, ImageStatus.PROCESSING})
"""The statuses the pending-uploads quota counts."""

RELEASE_SHARDS = 8
"""Release items per viewer. Only ever raise it: releases in dropped shards would be
lost and the viewer's count would stay too high (until a recount at the limit)."""


@dataclass(frozen=True)
class QuotaUsage:
    """A viewer's quota item as read (all zero / None when it does not exist yet)."""

    pending: int = 0
    """Uploads in flight: charged minus released."""
    window_start: datetime | None = None
    window_uploads: int = 0
    window_bytes: int = 0
    last_charge_at: datetime | None = None
    released: tuple[int, ...] = ()
    """Each release shard's count as read (empty: none read)."""


@dataclass(frozen=True)
class QuotaCharge:
    """One create's quota write, built from the usage read just before.

    `rollover` starts a new window at `at` (none yet, or the one read has ended);
    otherwise the charge adds to the window read. Either way the write is conditional
    on the window still being the one read (`window_start_seen`) and on each limit
    (None: unlimited) still holding, so two instances can never both pass a limit.
    """

    owner_id: str
    size_bytes: int
    at: datetime
    window_start_seen: datetime | None
    rollover: bool
    max_pending: int | None = None
    max_uploads: int | None = None
    max_bytes: int | None = None
    released_seen: int = 0
    """The releases read with the usage: the charged count may reach max_pending plus
    them (releases only grow, so uploads in flight stay under max_pending)."""


def pending_delta(previous: ImageStatus | None, current: ImageStatus | None) -> int:
    """How a transition changes the pending count (None: the image does not exist)."""
    return int(current in COUNTED_STATUSES) - int(previous in COUNTED_STATUSES)


def charge_write(table_name: str, charge: QuotaCharge) -> dict[str, Any]:
    """The TransactWriteItems Update that charges one new upload to its owner's quota."""
    values: dict[str, Any] = {
        ":one": 1,
        ":size": charge.size_bytes,
        ":now": keys.format_instant(charge.at),
        ":type": "Quota",
    }
    conditions = []
    if charge.rollover:
        update = (
            "SET #type = :type, #start = :now, #uploads = :one, #bytes = :size, #last = :now "
            "ADD #pending :one"
        )
    else:
        update = "SET #type = :type, #last = :now ADD #pending :one, #uploads :one, #bytes :size"
        if charge.max_uploads is not None:
            conditions.append("#uploads < :maxUploads")
            values[":maxUploads"] = charge.max_uploads
        if charge.max_bytes is not None:
            conditions.append("#bytes <= :bytesLeft")
            values[":bytesLeft"] = charge.max_bytes - charge.size_bytes
    if charge.window_start_seen is None:
        conditions.append("attribute_not_exists(#start)")
    else:
        conditions.append("#start = :seen")
        values[":seen"] = keys.format_instant(charge.window_start_seen)
    if charge.max_pending is not None:
        conditions.append("(attribute_not_exists(#pending) OR #pending < :maxPending)")
        values[":maxPending"] = charge.max_pending + charge.released_seen
    condition = " AND ".join(conditions)
    return {"Update": _update(table_name, charge.owner_id, update, condition, values)}


def transition_writes(
    table_name: str,
    image_id: str,
    owner_id: str,
    previous: ImageStatus | None,
    current: ImageStatus | None,
) -> list[dict[str, Any]]:
    """The quota writes a status transition needs in its transaction (often none).

    Unconditional: the image write in the same transaction is the condition.
    """
    delta = pending_delta(previous, current)
    if delta > 0:
        return [{"Update": _update(table_name, owner_id, "ADD #pending :one", None, {":one": 1})}]
    if delta < 0:
        shard = keys.shard_of(image_id, RELEASE_SHARDS)
        return [
            {
                "Update": {
                    "TableName": table_name,
                    "Key": items.serialize(keys.quota_release_key(owner_id, shard)),
                    "UpdateExpression": "SET #type = :type ADD #released :one",
                    "ExpressionAttributeNames": {"#type": "type", "#released": "released"},
                    "ExpressionAttributeValues": items.serialize(
                        {":type": "QuotaRelease", ":one": 1}
                    ),
                }
            }
        ]
    return []


def read_usage(client: DynamoDBClient, table_name: str, owner_id: str) -> QuotaUsage:
    """The quota item and every release shard, in one consistent BatchGetItem."""
    main = keys.quota_key(owner_id)
    shards = keys.quota_release_keys(owner_id, RELEASE_SHARDS)
    found = {
        (str(data[keys.TABLE_PK]), str(data[keys.TABLE_SK])): data
        for data in map(
            items.deserialize, batch_get(client, table_name, [main, *shards], consistent=True)
        )
    }
    released = tuple(
        int(found.get((key[keys.TABLE_PK], key[keys.TABLE_SK]), {}).get("released", 0))
        for key in shards
    )
    data = found.get((main[keys.TABLE_PK], main[keys.TABLE_SK]), {})
    return QuotaUsage(
        pending=int(data.get("pending", 0)) - sum(released),
        window_start=_instant(data.get("windowStart")),
        window_uploads=int(data.get("windowUploads", 0)),
        window_bytes=int(data.get("windowBytes", 0)),
        last_charge_at=_instant(data.get("lastChargeAt")),
        released=released,
    )


def recount_writes(
    table_name: str, owner_id: str, usage: QuotaUsage, *, actual: int
) -> list[dict[str, Any]]:
    """A transaction setting uploads in flight to `actual`, if nothing moved since `usage`.

    Conditional on the charged count and on every release shard still being as read,
    so a concurrent create or release cancels it instead of being overwritten.
    """
    released = sum(usage.released)
    charged = usage.pending + released
    writes: list[dict[str, Any]] = [
        {
            "Update": _update(
                table_name,
                owner_id,
                "SET #pending = :target",
                "#pending = :charged"
                if charged
                else "attribute_not_exists(#pending) OR #pending = :charged",
                {":target": actual + released, ":charged": charged},
            )
        }
    ]
    for shard, count in enumerate(usage.released):
        writes.append(
            {
                "ConditionCheck": {
                    "TableName": table_name,
                    "Key": items.serialize(keys.quota_release_key(owner_id, shard)),
                    "ConditionExpression": "#released = :seen"
                    if count
                    else "attribute_not_exists(#released) OR #released = :seen",
                    "ExpressionAttributeNames": {"#released": "released"},
                    "ExpressionAttributeValues": items.serialize({":seen": count}),
                }
            }
        )
    return writes


def _update(
    table_name: str,
    owner_id: str,
    update: str,
    condition: str | None,
    values: dict[str, Any],
) -> dict[str, Any]:
    text = update + " " + (condition or "")
    names = {name: attribute for name, attribute in _NAMES.items() if name in _words(text)}
    request: dict[str, Any] = {
        "TableName": table_name,
        "Key": items.serialize(keys.quota_key(owner_id)),
        "UpdateExpression": update,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": items.serialize(values),
    }
    if condition:
        request["ConditionExpression"] = condition
    return request


_NAMES = {
    "#type": "type",
    "#pending": "pending",
    "#start": "windowStart",
    "#uploads": "windowUploads",
    "#bytes": "windowBytes",
    "#last": "lastChargeAt",
}


def _words(text: str) -> set[str]:
    return set(re.findall(r"#\w+", text))


def _instant(value: Any) -> datetime | None:
    return None if value is None else keys.parse_instant(str(value))
