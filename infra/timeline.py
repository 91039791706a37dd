"""Reading image timelines: DynamoDB Queries on the right index, never a Scan.

Three access patterns (key layout in infra/keys.py, rationale in docs/data-model.md):

  owner given          GSI1 `OWNER#{owner}#{status}`  (tags checked here, in code)
  tags, no owner       GSI1 `TAG#{first tag}`         (READY only; other tags checked here)
  neither              GSI2 `FEED#{yyyy-mm}`          (READY only; month buckets walked in order)

Sort keys are `{createdAt}#{id}`, so a string range on the sort key is a (createdAt, id)
range (infra.timeline_range); the feed's month buckets are walked by infra.feed_months.

A page reads `limit + 1` matching items to know whether more exist, so a page of an
unfiltered pattern costs exactly one Query when its partition holds enough items.
A write-sharded partition (a feed month, a hot tag: keys.feed_partitions,
keys.tag_partitions) is read as one ordered stream by infra.shard_merge: one round of
parallel Queries, one per shard, then a refill of a shard only when the merge needs
its next item. Patterns that drop items in code (more tags than the index key covers)
read on, with a growing Limit, until the page is full or the data ends: at most
MAX_QUERY_CALLS rounds that read something per page, plus at most MAX_EMPTY_MONTHS
rounds of empty feed months (cheap, and only a feed with gaps of whole months has
them; the bounds and each round's Limit: infra.page_budget). A round is one Query, or
the first Query of every shard of a partition. When a bound is hit the page may be
short (even empty); it then says has_more=True and `resume_after` is the position of
the last item *read* (or the edge of the last month walked), so the next page
continues from the scan position instead of reading the same items again. That is
the only case in which a page is short while more results exist.

Only infra.* is imported here (resolvers -> services -> infra).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from infra import feed_months, items, keys, page_budget
from infra.records import Image, ImagePage, ImageQuery, ImageStatus, Position, SortOrder
from infra.shard_merge import Reader, ShardMerge, ShardRead, StoppedError
from infra.timeline_range import KeyRange

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


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
    `max_calls` defaults to page_budget.MAX_QUERY_CALLS. `feed_shards` is how many write
    shards each feed month has; `tag_shards(tag)` how many the tag the listing reads has.
    """
    max_calls = page_budget.MAX_QUERY_CALLS if max_calls is None else max_calls
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
class _Walk:
    client: DynamoDBClient
    table_name: str
    query: ImageQuery
    index: str
    key_range: KeyRange
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
        key_range = KeyRange.build(query, after, ascending)
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
        budget = page_budget.PageBudget(max_calls if self.extra_tags else max_calls + wanted)
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
                budget.hint = page_budget.call_limit(
                    wanted - len(matched),
                    previous=budget.previous,
                    read=read,
                    matched=len(matched),
                    filtered=bool(self.extra_tags),
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
                scanned = feed_months.past_month(month, ascending=self.ascending)
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
        months = feed_months.walk_months(
            self.query,
            now=self.now,
            after=self.after,
            ascending=self.ascending,
            first_month=partial(feed_months.read_first_month, self.client, self.table_name),
        )
        for month in months:
            bucket = keys.feed_bucket(feed_months.month_start(month))
            yield month, keys.feed_partitions(bucket, self.feed_shards)
