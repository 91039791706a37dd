"""The sort-key range of a timeline walk: date bounds and the resume position as one condition.

Sort keys are `{createdAt}#{id}` with a fixed-width UTC instant, so a string range
on the sort key is a (createdAt, id) range. Date bounds are strict:
  createdAt > t  <=>  SK > "{t}#~"   ('~' sorts after every id character)
  createdAt < t  <=>  SK < "{t}#"    (every real key is longer than "{t}#")
Neither string is a real key, so they may also serve as inclusive BETWEEN bounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from infra import keys
from infra.records import ImageQuery, Position

FIRST_ID = ""
"""An image id sorting before every real id (for positions at a month's first instant)."""

LAST_ID = "~"
"""An image id sorting after every real id (uuid4 ids: hex digits and '-')."""

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class KeyRange:
    """The sort-key condition shared by every partition of a walk."""

    low: str | None
    high: str | None
    # The `after` position's own key when an inclusive BETWEEN covers it: skipped in code.
    skip: str | None

    @classmethod
    def build(cls, query: ImageQuery, after: Position | None, ascending: bool) -> KeyRange | None:
        """None when the range is empty."""
        lows: list[str] = []
        highs: list[str] = []
        if query.created_after is not None and query.created_after >= EPOCH:
            # Earlier bounds exclude nothing (every image is younger), and years
            # below 1000 would not format to fixed-width keys.
            lows.append(keys.timeline_sort_key(query.created_after, LAST_ID))
        if query.created_before is not None:
            if query.created_before <= EPOCH:
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
