"""A lazy k-way merge of write-sharded partitions, read with keyset Queries.

A sharded partition (a feed month, a hot tag) is N partition keys whose entries share
one sort-key order. Reading it in order means merging N sorted streams. This merge
reads each shard lazily:

- the first item can come from any shard, so the first round queries every shard in
  parallel, each with a small Limit (about its share of what the page still needs);
- afterwards a shard is re-queried only when the merge needs its next item: its
  buffer is empty, it may hold more (the Query returned a LastEvaluatedKey), and the
  last key it returned precedes every item buffered by the other shards. A shard that
  has already returned items past the merge point is never read again for this page.

So a page of P items over N shards reads about P + N items in N + (a few) Queries
instead of N pages of P. The merge order is total (the sort key ends with the image
id), and items are handed out strictly in that order, so the position of the last
item handed out is an exact resume point in every shard: every shard's entries up to
it have been handed out, none after it. A page that stops mid-merge (its read bound)
resumes from that single position, re-reading at most the items still buffered.

Callers bound the work: `may_read` is asked before each round of Queries (the first
parallel round counts as one round, each refill as one).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

Item = dict[str, Any]

MAX_PARALLEL_QUERIES = 16
"""Threads one fan-out over shards uses (boto3 clients are thread-safe)."""

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def parallel_map(function: Callable[[Any], Any], arguments: Sequence[Any]) -> list[Any]:
    """`function` over `arguments`, in parallel (a shared, lazily started pool)."""
    global _pool
    if len(arguments) <= 1:
        return [function(argument) for argument in arguments]
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=MAX_PARALLEL_QUERIES, thread_name_prefix="shard-read"
            )
    return list(_pool.map(function, arguments))


@dataclass(frozen=True)
class ShardRead:
    """One Query's answer for one shard: its items in merge order and where to go on."""

    items: list[Item]
    next_start: Item | None


# (shard, limit, exclusive start key or None) -> what one Query returned
Reader = Callable[[int, int, Item | None], ShardRead]


class StoppedError(Exception):
    """The caller's read bound refused the next round of Queries."""


@dataclass
class _Shard:
    number: int
    buffer: deque[Item] = field(default_factory=deque)
    read: bool = False  # queried at least once
    next_start: Item | None = None
    last_key: str | None = None  # sort key of the last item the shard returned
    last_limit: int = 0

    @property
    def may_hold_more(self) -> bool:
        return not self.read or self.next_start is not None


class ShardMerge:
    """Items of `shards` sorted streams, in one order, read lazily through `read`.

    `sort_key` gives an item's sort key (string order = merge order, reversed when
    `descending`). `next(hint)` returns the next item or None at the end; `hint` is how
    many more items the caller expects to consume (it sizes the Limits).
    """

    def __init__(
        self,
        shards: int,
        read: Reader,
        *,
        sort_key: Callable[[Item], str],
        descending: bool,
        may_read: Callable[[], bool] = lambda: True,
        on_round: Callable[[bool], None] = lambda found: None,
        first_extra: int = 0,
    ) -> None:
        if shards < 1:
            raise ValueError("shards must be positive")
        self._shards = [_Shard(number) for number in range(shards)]
        self._read = read
        self._sort_key = sort_key
        self._descending = descending
        self._may_read = may_read
        self._on_round = on_round
        self._first_extra = first_extra
        self.queries = 0

    def next(self, hint: int) -> Item | None:
        """The next item in merge order, None when every shard is exhausted.

        Raises StoppedError when a needed Query round is refused by `may_read`.
        """
        hint = max(1, hint)
        unread = [shard for shard in self._shards if not shard.read]
        if unread:
            self._round(unread, self._first_limit(hint) + self._first_extra)
        while True:
            best: _Shard | None = None
            for shard in self._shards:
                if shard.buffer and (
                    best is None
                    or self._before(self._sort_key(shard.buffer[0]), self._sort_key(best.buffer[0]))
                ):
                    best = shard
            best_key = None if best is None else self._sort_key(best.buffer[0])
            # A drained shard that may hold more blocks the merge if its next entry could
            # come first: its last returned key precedes the best buffered candidate.
            blocking = [
                shard
                for shard in self._shards
                if not shard.buffer
                and shard.next_start is not None
                and (
                    best_key is None
                    or shard.last_key is None
                    or self._before(shard.last_key, best_key)
                )
            ]
            if not blocking:
                if best is None:
                    return None
                return best.buffer.popleft()
            earliest = blocking[0]
            for shard in blocking[1:]:
                if earliest.last_key is not None and (
                    shard.last_key is None or self._before(shard.last_key, earliest.last_key)
                ):
                    earliest = shard
            self._round([earliest], self._refill_limit(earliest, hint))

    def _before(self, left: str, right: str) -> bool:
        return left > right if self._descending else left < right

    def _first_limit(self, hint: int) -> int:
        """One shard: the hint itself. Several: about each shard's share, plus one."""
        count = len(self._shards)
        if count == 1:
            return hint
        return min(hint, math.ceil(hint / count) + 1)

    def _refill_limit(self, shard: _Shard, hint: int) -> int:
        if len(self._shards) == 1:
            return hint
        return min(hint, max(2 * shard.last_limit, self._first_limit(hint)))

    def _round(self, shards: list[_Shard], limit: int) -> None:
        if not self._may_read():
            raise StoppedError()

        def query(shard: _Shard) -> ShardRead:
            return self._read(shard.number, limit, shard.next_start)

        answers = parallel_map(query, shards)
        self.queries += len(shards)
        found = False
        for shard, answer in zip(shards, answers, strict=True):
            shard.read = True
            shard.last_limit = limit
            shard.next_start = answer.next_start
            shard.buffer.extend(answer.items)
            if answer.items:
                shard.last_key = self._sort_key(answer.items[-1])
            found = found or bool(answer.items) or answer.next_start is not None
        self._on_round(found)
