"""Hot tags: which tag timelines are write-sharded, and over how many shards.

A cold tag is one partition, `TAG#{tag}`, and its listing is one Query per page. A
popular tag takes a large share of all uploads: every READY image with it puts an
entry into its partition. A hot tag is spread over `hot_shards` partitions
(`TAG#{tag}` for shard 0, `TAG#{tag}#{k}`; shard = keys.shard_of(image id, count)),
and its listings merge them (infra/shard_merge.py). A tag is hot when it is listed in
PICGRAPH_HOT_TAGS, or when the write path detects it.

The directory item of a tag (PK `TAGMETA#{tag}`, SK `META`), absent for a cold tag:

    shards      how many shards listings merge; only ever grows
    previous    the count writers used before the last promotion
    activeFrom  epoch seconds from which writers hash over `shards` (before: `previous`)
    window      start (epoch seconds) of the current detection window
    count       estimated tag-entry writes in that window

Both paths cache it per process for `cache_seconds`. Staleness is safe both ways:
- a writer's stale (smaller) count puts an entry into shard_of(id, n) < n <= the
  current count, a shard every reader merges (shards only grow);
- a reader's stale (smaller) count would miss entries written into the new shards,
  so writers start using a new count only `grace_seconds` (more than the cache
  lifetime, plus clock skew) after the promotion: by then every cached copy that
  predates it has expired. Until then the new shards are merged but still empty.

Detection is sampled so that the directory item itself never becomes hot: each tag
entry put draws a random number, and with probability 1/`sample_every` adds
`sample_every` to the window's count (one UpdateItem). When the count of a window
reaches `promote_rate` x `window_seconds`, the tag is promoted to `hot_shards`.
With `hot_shards` = 1 nothing is sharded, detected or read: today's layout.
"""

from __future__ import annotations

import random as random_module
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from infra import items, keys
from infra.batch_reads import batch_get
from infra.transactions import error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SAMPLE_EVERY = 16
WINDOW_SECONDS = 10
PROMOTE_RATE = 50.0
"""Tag-entry writes per second (about 100 WCU/s of 1-2 KB entries) that make a tag hot."""
CACHE_SECONDS = 30.0
GRACE_SECONDS = CACHE_SECONDS + 30.0


@dataclass(frozen=True)
class _Entry:
    shards: int
    previous: int
    active_from: float
    expires: float

    def write_count(self, now: float) -> int:
        return self.shards if now >= self.active_from else self.previous


_COLD = (1, 1, 0.0)


class TagDirectory:
    def __init__(
        self,
        table_name: str,
        client: Callable[[], DynamoDBClient],
        *,
        hot_shards: int = 1,
        hot_tags: Iterable[str] = (),
        random: Callable[[], float] = random_module.random,
        clock: Callable[[], float] = time.time,
        sample_every: int = SAMPLE_EVERY,
        window_seconds: int = WINDOW_SECONDS,
        promote_rate: float = PROMOTE_RATE,
        cache_seconds: float = CACHE_SECONDS,
        grace_seconds: float = GRACE_SECONDS,
    ) -> None:
        if hot_shards < 1:
            raise ValueError("hot_shards must be positive")
        self.table_name = table_name
        self.hot_shards = hot_shards
        self.hot_tags = frozenset(hot_tags) if hot_shards > 1 else frozenset()
        self._client = client
        self._random = random
        self._clock = clock
        self._sample_every = sample_every
        self._window = window_seconds
        self._threshold = promote_rate * window_seconds
        self._cache_seconds = cache_seconds
        self._grace = grace_seconds
        self._cache: dict[str, _Entry] = {}

    @property
    def enabled(self) -> bool:
        return self.hot_shards > 1

    def read_shards(self, tag: str) -> int:
        """How many shards a listing of `tag` merges (1 for a cold tag)."""
        if not self.enabled:
            return 1
        if tag in self.hot_tags:
            return self.hot_shards
        return self._entries([tag])[tag].shards

    def write_shards(self, tags: Sequence[str]) -> dict[str, int]:
        """The shard count each tag's new entry is hashed over, now."""
        if not self.enabled or not tags:
            return dict.fromkeys(tags, 1)
        now = self._clock()
        counts = {tag: self.hot_shards for tag in tags if tag in self.hot_tags}
        rest = [tag for tag in tags if tag not in counts]
        if rest:
            entries = self._entries(rest)
            counts.update({tag: entries[tag].write_count(now) for tag in rest})
        return counts

    def observe(self, tags: Iterable[str]) -> None:
        """Sampled detection: called for each tag whose entry the write path puts."""
        if not self.enabled:
            return
        for tag in tags:
            if tag in self.hot_tags or self._random() * self._sample_every >= 1:
                continue
            cached = self._cache.get(tag)
            if cached is not None and cached.shards >= self.hot_shards:
                continue  # already promoted: nothing left to detect
            self._sample(tag)

    # -- the directory item -------------------------------------------------------------

    def _entries(self, tags: Sequence[str]) -> dict[str, _Entry]:
        now = self._clock()
        found = {
            tag: entry
            for tag in tags
            if (entry := self._cache.get(tag)) is not None and entry.expires > now
        }
        missing = [tag for tag in dict.fromkeys(tags) if tag not in found]
        for tag, raw in self._fetch(missing).items():
            found[tag] = self._remember(tag, raw, now)
        return found

    def _fetch(self, tags: list[str]) -> dict[str, dict[str, Any] | None]:
        """The directory items of `tags` (None: absent): one GetItem or BatchGetItem."""
        if not tags:
            return {}
        client = self._client()
        if len(tags) == 1:
            response = client.get_item(
                TableName=self.table_name, Key=items.serialize(keys.tag_meta_key(tags[0]))
            )
            return {tags[0]: response.get("Item")}
        found: dict[str, dict[str, Any] | None] = dict.fromkeys(tags)
        requested = [keys.tag_meta_key(tag) for tag in tags]
        for raw in batch_get(client, self.table_name, requested):
            found[str(raw[keys.TABLE_PK]["S"]).removeprefix("TAGMETA#")] = raw
        return found

    def _remember(self, tag: str, raw: dict[str, Any] | None, now: float) -> _Entry:
        shards, previous, active_from = _COLD if raw is None else _parse(raw)
        entry = _Entry(shards, previous, active_from, now + self._cache_seconds)
        self._cache[tag] = entry
        return entry

    def _sample(self, tag: str) -> None:
        now = self._clock()
        window = int(now // self._window) * self._window
        key = items.serialize(keys.tag_meta_key(tag))
        names = {"#window": "window", "#count": "count"}
        step = {":window": {"N": str(window)}, ":step": {"N": str(self._sample_every)}}
        client = self._client()
        try:
            response = client.update_item(
                TableName=self.table_name,
                Key=key,
                UpdateExpression="ADD #count :step",
                ConditionExpression="#window = :window",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=step,
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            try:  # a new window: this sample opens it
                response = client.update_item(
                    TableName=self.table_name,
                    Key=key,
                    UpdateExpression="SET #window = :window, #count = :step",
                    ConditionExpression="attribute_not_exists(#window) OR #window < :window",
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=step,
                    ReturnValues="ALL_NEW",
                )
            except ClientError as again:
                if error_code(again) != "ConditionalCheckFailedException":
                    raise
                return  # another instance opened the window meanwhile: one sample lost
        item = response.get("Attributes", {})
        count = float(item.get("count", {}).get("N", "0"))
        shards, previous, active_from = _parse(item)
        if count >= self._threshold and shards < self.hot_shards:
            self._promote(tag, shards if now >= active_from else previous, now)
        else:
            self._remember(tag, item, now)

    def _promote(self, tag: str, writing: int, now: float) -> None:
        """Raise the tag's count; writers follow after the grace period."""
        try:
            self._client().update_item(
                TableName=self.table_name,
                Key=items.serialize(keys.tag_meta_key(tag)),
                UpdateExpression="SET #shards = :shards, #previous = :previous, #from = :from",
                ConditionExpression="attribute_not_exists(#shards) OR #shards < :shards",
                ExpressionAttributeNames={
                    "#shards": "shards",
                    "#previous": "previous",
                    "#from": "activeFrom",
                },
                ExpressionAttributeValues={
                    ":shards": {"N": str(self.hot_shards)},
                    ":previous": {"N": str(writing)},
                    ":from": {"N": str(int(now + self._grace) + 1)},
                },
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise  # lost: another instance promoted it first
        self._cache.pop(tag, None)


def _parse(raw: dict[str, Any]) -> tuple[int, int, float]:
    shards = int(raw.get("shards", {}).get("N", "1"))
    previous = int(raw.get("previous", {}).get("N", "1"))
    active_from = float(raw.get("activeFrom", {}).get("N", "0"))
    return shards, previous, active_from
