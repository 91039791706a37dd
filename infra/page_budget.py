"""How much one timeline page may read: rounds of Queries, empty feed months, each Limit.

Unfiltered patterns read `limit + 1` items in one round per partition; patterns that
drop items in code (infra.timeline) read on with a growing Limit (call_limit) within
these bounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_QUERY_CALLS = 10
"""Queries that read items one page may issue; bounds filters that drop items in code."""

MAX_EMPTY_MONTHS = 36
"""Empty feed months one page may walk through (each costs one minimal Query)."""

MAX_READ_LIMIT = 1000
"""The largest Limit a filtered read grows to (DynamoDB also stops each call at 1 MB)."""


@dataclass
class PageBudget:
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


def call_limit(missing: int, *, previous: int, read: int, matched: int, filtered: bool) -> int:
    """Limit = what the page still misses, unless items are being dropped in code
    (`filtered`: tags the index key does not cover are checked in code).

        Then the next read is sized from the share of items that matched so far
        (smoothed), for the missing count plus two standard deviations' worth of
        headroom, growing at most 8-fold per call and never above MAX_READ_LIMIT: a
        sparse filter reaches its page in few calls without reading far past it.
    """
    if not filtered or read == 0:
        return missing
    share = (matched + 1) / (read + 2)
    estimate = math.ceil((missing + 2 * math.sqrt(missing)) / share)
    return max(missing, min(MAX_READ_LIMIT, estimate, previous * 8))
