"""totalCount from counters, and which tag a multi-tag listing drives on.

The counters (infra/counters.py) move in the same transaction as the images they count,
so they are exact for what they hold: an owner's images per status, and a tag's READY
images. Reading one is a GetItem (owner) or one BatchGetItem of the tag's shards; never
a Scan or a COUNT Query.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import replace

from services.models import ImageQuery, ImageStatus
from services.ports import ImageRepository

SELECTIVITY_TTL_SECONDS = 60.0
"""How long a tag's count may be reused to pick the driving tag (only speed depends on it)."""
SELECTIVITY_CACHE_SIZE = 10_000


def total_count(repository: ImageRepository, query: ImageQuery) -> int | None:
    """Every image the (validated) query matches, or None where no counter holds it.

    Exact for an owner's images in one status (ownerId, any sort, no tags, no date
    range) and for one tag's READY images (no owner, no date range). None for the rest:
    the global feed, several tags, a date range, a tag together with an owner. Images
    written before counters existed are not counted (`picgraph recount` rebuilds an
    owner's or a tag's counters); a count is never shown below 0.
    """
    if query.created_after is not None or query.created_before is not None:
        return None
    if query.owner_id is not None:
        if query.tags:
            return None
        return max(0, repository.owner_count(query.owner_id, query.status))
    if len(query.tags) == 1 and query.status is ImageStatus.READY:
        (tag,) = query.tags
        return max(0, repository.tag_counts([tag])[tag])
    return None


class TagSelectivity:
    """Orders a multi-tag query so that its rarest tag comes first (and drives the read).

    The timeline reader reads the first tag's timeline and checks the others in code,
    so the rarest tag reads the fewest items. Every timeline has the same (createdAt,
    id) order and a cursor holds only a position, so which tag drives is not part of
    the cursor: pages stay exact when the counts (and the choice) change between pages.
    Counts are cached per process for SELECTIVITY_TTL_SECONDS: a stale count only costs
    speed, never a wrong page.
    """

    def __init__(self, repository: ImageRepository) -> None:
        self._repository = repository
        self._cache: dict[str, tuple[float, int]] = {}  # tag -> (read at, count)
        self._lock = threading.Lock()

    def most_selective_first(self, query: ImageQuery) -> ImageQuery:
        if query.owner_id is not None or len(query.tags) < 2:
            return query  # an owner's partition drives; one tag has no choice
        counts = self._counts(query.tags)
        driving = min(query.tags, key=lambda tag: (counts[tag], tag))
        rest = tuple(tag for tag in query.tags if tag != driving)
        return replace(query, tags=(driving, *rest))

    def _counts(self, tags: Sequence[str]) -> dict[str, int]:
        now = time.monotonic()
        known: dict[str, int] = {}
        with self._lock:
            for tag in tags:
                cached = self._cache.get(tag)
                if cached is not None and now - cached[0] < SELECTIVITY_TTL_SECONDS:
                    known[tag] = cached[1]
        missing = [tag for tag in tags if tag not in known]
        if missing:
            fresh = self._repository.tag_counts(missing)
            with self._lock:
                if len(self._cache) + len(fresh) > SELECTIVITY_CACHE_SIZE:
                    self._cache.clear()  # a crude bound; refilled on demand
                self._cache.update({tag: (now, count) for tag, count in fresh.items()})
            known.update(fresh)
        return known
