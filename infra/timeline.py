"""Reading image timelines: DynamoDB Queries on the right index, never a Scan.

Three access patterns (key layout in infra/keys.py, rationale in docs/data-model.md):

  owner given          GSI1 `OWNER#{owner}#{status}`  (tags checked here, in code)
  tags, no owner       GSI1 `TAG#{first tag}`         (READY only; other tags checked here)
  neither              GSI2 `FEED#{yyyy-mm}`          (READY only; month buckets walked in order)

Sort keys are `{createdAt}#{id}` with a fixed-width UTC instant, so a string range
on the sort key is a (createdAt, id) range. Date bounds are strict:
  createdAt > t  <=>  SK > "{t}#~"   ('~' sorts after every id character)
  createdAt < t  <=>  SK < "{t}#"    (every real key is longer than "{t}#")
Neither string is a real key, so they may also serve as inclusive BETWEEN bounds.

A page reads `limit + 1` matching items to know whether more exist, so a page of an
unfiltered pattern costs exactly one Query when its partition holds enough items.
A write-sharded partition (a feed month, a hot tag: keys.feed_partitions,
keys.tag_partitions) is read as one ordered stream by infra.shard_merge: one round of
parallel Queries, one per shard, then a refill of a shard only when the merge needs
its next item. Patterns that drop items in code (more tags than the index key covers)
read on, with a growing Limit, until the page is full or the data ends: at most
MAX_QUERY_CALLS rounds that read something per page, plus at most MAX_EMPTY_MONTHS
rounds of empty feed months (cheap, and only a feed with gaps of whole months has
them). A round is one Query, or the first Query of every shard of a partition. When a bound
is hit the page may be short (even empty); it then says has_more=True and
`resume_after` is the position of the last item *read* (or the edge of the last month
walked), so the next page continues from the scan position instead of reading the
same items again. That is the only case in which a page is short while more results
exist.

Only infra.* is imported here (resolvers -> services -> infra).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from infra import items, keys
from infra.records import Image, ImagePage, ImageQuery, ImageStatus, Position, SortOrder
from infra.shard_merge import Reader, ShardMerge, ShardRead, StoppedError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_QUERY_CALLS = 10
"""Queries that read items one page may issue; bounds filters that drop items in code."""

MAX_EMPTY_MONTHS = 36
"""Empty feed months one page may walk through (each costs one minimal Query)."""

MAX_READ_LIMIT = 1000
"""The largest Limit a filtered read grows to (DynamoDB also stops each call at 1 MB)."""

CLOCK_SKEW = timedelta(minutes=1)
"""Another instance's clock may be ahead: the feed walk starts at the month of now + this."""

FIRST_ID = ""
"""An image id sorting before every real id (for positions at a month's first instant)."""

LAST_ID = "~"
"""An image id sorting after every real id (uuid4 ids: hex digits and '-')."""

_MICROSECOND = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def read_timeline(
    client: DynamoDBClient,
    table_name: str,
    query: ImageQuery,
    *,
    limit: int,
    after: Position | None,
    backwards: bool,
    now: datetime | None = None,
    max_calls: int | None = None,
    feed_shards: int = 1,
    tag_shards: Callable[[str], int] | None = None,
) -> ImagePage:
    """Up to `limit` images of `query`, strictly after `after` in walk order.

    The walk order is query.sort, reversed when `backwards`. `query` must be validated
    (aware datetimes, normalised tags, allowed status); the partition comes from it only.
    `max_calls` defaults to MAX_QUERY_CALLS. `feed_shards` is how many write shards
    each feed month has; `tag_shards(tag)` how many the tag the listing reads has.
    """
    max_calls = MAX_QUERY_CALLS if max_calls is None else max_calls
    if limit < 0:
        raise ValueError("limit must not be negative")
    if max_calls < 1:
        raise ValueError("max_calls must be positive")
    ascending = (query.sort is SortOrder.OLDEST_FIRST) != backwards
    walk = _Walk.plan(
        client,
        table_name,
        query,
        after,
        ascending,
        now or datetime.now(UTC),
        feed_shards=feed_shards,
        tag_shards=tag_shards,
    )
    if walk is None:
        return ImagePage((), False, None)
    return walk.read(limit=limit, after=after, max_calls=max_calls)


@dataclass
class _Budget:
    """The read bound of one page: rounds of Queries that read something, empty rounds.

    A round is one Query, or for a sharded partition the first parallel Query of every
    shard (each later refill of one shard is a round of its own). An empty round is an
    empty feed month (or an empty partition).
    """

    max_calls: int
    calls: int = 0
    empty: int = 0
    hint: int = 0  # the Limit the page asks for now
    previous: int = 0  # the hint of the last round, bounds the next one's growth

    def may_read(self) -> bool:
        return self.calls < self.max_calls and self.empty < MAX_EMPTY_MONTHS

    def count(self, found: bool) -> None:
        self.previous = self.hint
        if found:
            self.calls += 1
        else:
            self.empty += 1


@dataclass(frozen=True)
class _KeyRange:
    """The sort-key condition shared by every partition of a walk."""

    low: str | None
    high: str | None
    # The `after` position's own key when an inclusive BETWEEN covers it: skipped in code.
    skip: str | None

    @classmethod
    def build(cls, query: ImageQuery, after: Position | None, ascending: bool) -> _KeyRange | None:
        """None when the range is empty."""
        lows: list[str] = []
        highs: list[str] = []
        if query.created_after is not None and query.created_after >= _EPOCH:
            # Earlier bounds exclude nothing (every image is younger), and years
            # below 1000 would not format to fixed-width keys.
            lows.append(keys.timeline_sort_key(query.created_after, LAST_ID))
        if query.created_before is not None:
            if query.created_before <= _EPOCH:
                return None
            highs.append(keys.timeline_sort_key(query.created_before, FIRST_ID))
        position_key = None if after is None else keys.position_sort_key(after)
        if position_key is not None:
            (lows if ascending else highs).append(position_key)
        low = max(lows, default=None)
        high = min(highs, default=None)
        if low is not None and high is not None:
            if low >= high:
                return None
            return cls(low, high, position_key if position_key in (low, high) else None)
        return cls(low, high, None)

    def condition(self) -> tuple[str, dict[str, dict[str, str]]]:
        values: dict[str, dict[str, str]] = {}
        if self.low is not None:
            values[":low"] = {"S": self.low}
        if self.high is not None:
            values[":high"] = {"S": self.high}
        if self.low is not None and self.high is not None:
            return "#pk = :pk AND #sk BETWEEN :low AND :high", values
        if self.low is not None:
            return "#pk = :pk AND #sk > :low", values
        if self.high is not None:
            return "#pk = :pk AND #sk < :high", values
        return "#pk = :pk", values


@dataclass
class _Walk:
    client: DynamoDBClient
    table_name: str
    query: ImageQuery
    index: str
    key_range: _KeyRange
    ascending: bool
    # Tags the index key does not cover, checked in code (the read grows when non-empty).
    extra_tags: frozenset[str]
    # The partition's shards (one unless write-sharded), or None for the global feed.
    partitions: list[str] | None
    now: datetime
    after: Position | None
    feed_shards: int

    @classmethod
    def plan(
        cls,
        client: DynamoDBClient,
        table_name: str,
        query: ImageQuery,
        after: Position | None,
        ascending: bool,
        now: datetime,
        *,
        feed_shards: int = 1,
        tag_shards: Callable[[str], int] | None = None,
    ) -> _Walk | None:
        key_range = _KeyRange.build(query, after, ascending)
        if key_range is None:
            return None
        common: dict[str, Any] = {
            "client": client,
            "table_name": table_name,
            "query": query,
            "key_range": key_range,
            "ascending": ascending,
            "now": now,
            "after": after,
            "feed_shards": feed_shards,
        }
        if query.owner_id is not None:
            return cls(
                index=keys.GSI1,
                extra_tags=frozenset(query.tags),
                partitions=[keys.owner_partition(query.owner_id, query.status)],
                **common,
            )
        if query.status is not ImageStatus.READY:
            return None  # only READY images are listed across owners
        if query.tags:
            return cls(
                index=keys.GSI1,
                extra_tags=frozenset(query.tags[1:]) - {query.tags[0]},
                partitions=keys.tag_partitions(
                    query.tags[0], 1 if tag_shards is None else tag_shards(query.tags[0])
                ),
                **common,
            )
        return cls(index=keys.GSI2, extra_tags=frozenset(), partitions=None, **common)

    def read(self, *, limit: int, after: Position | None, max_calls: int) -> ImagePage:
        partition_key, sort_key = keys.INDEXES[self.index]
        condition, values = self.key_range.condition()
        names = {"#pk": partition_key}
        if values:  # DynamoDB rejects names the expression does not use
            names["#sk"] = sort_key
        wanted = limit + 1
        matched: list[Image] = []
        skip = self.key_range.skip
        scanned: Position | None = None  # the last position read, in walk order
        # Unfiltered, every round yields items the page keeps (a refill brings at least
        # one), so the bound only matters for filters checked in code.
        budget = _Budget(max_calls if self.extra_tags else max_calls + wanted)
        read = 0  # items read by this page
        for month, partitions in self._groups():
            merge = ShardMerge(
                len(partitions),
                self._reader(partitions, condition, names, values),
                sort_key=lambda raw: str(raw[sort_key]["S"]),
                descending=not self.ascending,
                may_read=budget.may_read,
                on_round=budget.count,
                # the first item read may be the `after` item itself (inclusive BETWEEN)
                first_extra=0 if skip is None else 1,
            )
            while True:
                budget.hint = self._call_limit(
                    wanted - len(matched), previous=budget.previous, read=read, matched=len(matched)
                )
                try:
                    raw = merge.next(budget.hint)
                except StoppedError:
                    return ImagePage(tuple(matched), True, scanned or after)
                if raw is None:
                    break
                if skip is not None:
                    own_key = raw[sort_key]["S"]
                    skip = None  # only the first item read can be the `after` item
                    if own_key == self.key_range.skip:
                        continue
                image = items.from_item(raw)
                read += 1
                scanned = Position(image.created_at, image.id)
                if not self._matches(image):
                    continue
                matched.append(image)
                if len(matched) == wanted:
                    last = matched[limit - 1] if limit else None
                    return ImagePage(
                        tuple(matched[:limit]),
                        True,
                        None if last is None else Position(last.created_at, last.id),
                    )
            if month is not None:
                scanned = self._past_month(month)
        last = matched[-1] if matched else None
        return ImagePage(
            tuple(matched), False, None if last is None else Position(last.created_at, last.id)
        )

    def _reader(
        self,
        group: list[str],
        condition: str,
        names: dict[str, str],
        values: dict[str, dict[str, str]],
    ) -> Reader:
        """One keyset Query of shard `shard` of `group`, for the merge."""

        def query_shard(shard: int, limit: int, start: dict[str, Any] | None) -> ShardRead:
            request: dict[str, Any] = {
                "TableName": self.table_name,
                "IndexName": self.index,
                "KeyConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": {":pk": {"S": group[shard]}, **values},
                "ScanIndexForward": self.ascending,
                "Limit": limit,
            }
            if start is not None:
                request["ExclusiveStartKey"] = start
            response = self.client.query(**request)
            return ShardRead(response.get("Items", []), response.get("LastEvaluatedKey"))

        return query_shard

    def _call_limit(self, missing: int, *, previous: int, read: int, matched: int) -> int:
        """Limit = what the page still misses, unless items are being dropped in code.

        Then the next read is sized from the share of items that matched so far
        (smoothed), for the missing count plus two standard deviations' worth of
        headroom, growing at most 8-fold per call and never above MAX_READ_LIMIT: a
        sparse filter reaches its page in few calls without reading far past it.
        """
        if not self.extra_tags or read == 0:
            return missing
        share = (matched + 1) / (read + 2)
        estimate = math.ceil((missing + 2 * math.sqrt(missing)) / share)
        return max(missing, min(MAX_READ_LIMIT, estimate, previous * 8))

    def _matches(self, image: Image) -> bool:
        query = self.query
        return (
            image.status is query.status
            and (query.owner_id is None or image.owner_id == query.owner_id)
            and all(tag in image.tags for tag in query.tags)
        )

    def _groups(self) -> Iterator[tuple[int | None, list[str]]]:
        """The partitions to merge, in walk order: one group, or one per feed month."""
        if self.partitions is not None:
            yield None, self.partitions
            return
        for month in self._months():
            bucket = keys.feed_bucket(_month_start(month))
            yield month, keys.feed_partitions(bucket, self.feed_shards)

    def _months(self) -> Iterator[int]:
        """The feed's month buckets in walk order, as month numbers (year * 12 + month - 1).

        From the newest possible month (now, createdBefore, the position) down to the
        oldest (the FEED/BOUNDS item's firstBucket, createdAfter, the position), or up.
        The bounds item is read only when the walk needs it: never for a newest-first
        page that the current month fills.
        """
        query = self.query
        newest = _month_of(self.now + CLOCK_SKEW)
        oldest: int | None = None
        if query.created_before is not None:
            newest = min(newest, _month_of(query.created_before - _MICROSECOND))
        if query.created_after is not None and query.created_after >= _EPOCH:
            try:
                oldest = _month_of(query.created_after + _MICROSECOND)
            except OverflowError:
                return
        if self.after is not None:
            moment, image_id = self.after.created_at, self.after.image_id
            if self.ascending:
                # (t, LAST_ID) is past every key at t: a resume point at a month's end.
                start = _month_of(moment + _MICROSECOND if image_id == LAST_ID else moment)
                oldest = start if oldest is None else max(oldest, start)
            else:
                # (t, FIRST_ID) is before every key at t: a resume point at a month's start.
                newest = min(
                    newest, _month_of(moment - _MICROSECOND if image_id == FIRST_ID else moment)
                )
        if self.ascending:
            first = self._first_month()
            if first is None:
                return
            yield from range(max(first, oldest or first), newest + 1)
            return
        month = newest
        first_known: int | None = None
        while oldest is None or month >= oldest:
            if month != newest:
                if first_known is None:
                    first_known = self._first_month()
                    if first_known is None:
                        return
                if month < first_known:
                    return
            yield month
            month -= 1

    def _first_month(self) -> int | None:
        """The oldest month with a READY image ever (None: the feed is empty)."""
        response = self.client.get_item(
            TableName=self.table_name,
            Key=items.serialize(keys.FEED_BOUNDS_KEY),
            ConsistentRead=True,
            ProjectionExpression="firstBucket",
        )
        bucket = response.get("Item", {}).get("firstBucket", {}).get("S")
        if bucket is None:
            return None
        return _month_of(datetime.strptime(bucket, "%Y-%m").replace(tzinfo=UTC))

    def _past_month(self, month: int) -> Position:
        """A position past every key of `month` in walk order (the month is exhausted)."""
        if self.ascending:
            return Position(_month_start(month + 1) - _MICROSECOND, LAST_ID)
        return Position(_month_start(month), FIRST_ID)


def _month_of(moment: datetime) -> int:
    utc = moment.astimezone(UTC)
    return utc.year * 12 + utc.month - 1


def _month_start(month: int) -> datetime:
    return datetime(month // 12, month % 12 + 1, 1, tzinfo=UTC)
