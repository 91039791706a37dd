"""The lazy k-way merge on its own: order, laziness and the read bound (no AWS)."""

from __future__ import annotations

import random

import pytest

from infra.shard_merge import Item, ShardMerge, ShardRead, StoppedError


class Shards:
    """Sorted keys per shard, served like keyset Queries; records every read."""

    def __init__(self, keys_per_shard: list[list[str]], *, descending: bool) -> None:
        self.data = [sorted(keys, reverse=descending) for keys in keys_per_shard]
        self.reads: list[tuple[int, int]] = []

    def read(self, shard: int, limit: int, start: Item | None) -> ShardRead:
        self.reads.append((shard, limit))
        keys = self.data[shard]
        offset = 0 if start is None else keys.index(start["k"]) + 1
        chosen = keys[offset : offset + limit]
        more = offset + limit < len(keys)
        return ShardRead([{"k": key} for key in chosen], {"k": chosen[-1]} if more else None)


def drain(merge: ShardMerge, hint: int) -> list[str]:
    found = []
    while (item := merge.next(hint)) is not None:
        found.append(str(item["k"]))
    return found


@pytest.mark.parametrize("descending", [False, True])
def test_merges_every_shard_in_one_order(descending: bool) -> None:
    # GIVEN 7 shards of random sizes (some empty) WHEN drained THEN the sorted union
    rng = random.Random(3)  # noqa: S311 (test data)
    keys = [f"{rng.randrange(10**6):07d}" for _ in range(300)]
    shards = Shards([keys[i::7][: rng.randrange(60)] for i in range(7)], descending=descending)
    merge = ShardMerge(7, shards.read, sort_key=lambda item: str(item["k"]), descending=descending)
    union = [key for shard in shards.data for key in shard]
    assert drain(merge, 5) == sorted(union, reverse=descending)


def test_reads_lazily_a_share_of_each_shard_then_refills_only_what_the_page_needs() -> None:
    # GIVEN 8 shards of 50 interleaved keys WHEN 21 items are taken
    shards = Shards([[f"{n * 8 + s:04d}" for n in range(50)] for s in range(8)], descending=False)
    merge = ShardMerge(8, shards.read, sort_key=lambda item: str(item["k"]), descending=False)
    taken = [merge.next(21 - count) for count in range(21)]
    # THEN the first round reads ceil(21 / 8) + 1 = 4 per shard, and the 21 smallest
    # come out after refilling nothing (each shard contributes at most 3)
    assert [str(item["k"]) for item in taken if item] == [f"{n:04d}" for n in range(21)]
    assert shards.reads[:8] == [(shard, 4) for shard in range(8)]
    assert len(shards.reads) == 8
    assert merge.queries == 8


def test_a_refused_round_stops_the_merge_and_a_new_merge_resumes_from_one_position() -> None:
    # GIVEN a bound of 2 rounds WHEN a merge needs a third THEN StoppedError, and a
    # merge restarted past the last key handed out continues exactly
    shards = Shards([[f"{n * 3 + s:03d}" for n in range(10)] for s in range(3)], descending=False)
    rounds = [0]

    def may_read() -> bool:
        return rounds[0] < 2

    def counted(found: bool) -> None:
        rounds[0] += 1

    merge = ShardMerge(
        3,
        shards.read,
        sort_key=lambda item: str(item["k"]),
        descending=False,
        may_read=may_read,
        on_round=counted,
    )
    handed: list[str] = []

    def take_all() -> None:
        while (item := merge.next(2)) is not None:
            handed.append(str(item["k"]))

    with pytest.raises(StoppedError):
        take_all()
    assert handed == [f"{n:03d}" for n in range(len(handed))]
    assert handed, "the first rounds handed items out"
    rest = [key for shard in shards.data for key in shard if key > handed[-1]]
    assert sorted(rest) == [f"{n:03d}" for n in range(len(handed), 30)]
