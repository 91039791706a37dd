"""Run unchanged listing tests on the sharded layout (tests/unit/test_*_sharded.py).

`use_sharded_layout` makes DynamoImageRepository's shard counts default to a sharded
layout instead of 1. The counts are small by default (4 feed shards, 4 hot-tag
shards: every merge path, fast on moto); PICGRAPH_TEST_SHARDS=defaults uses the
settings' defaults (64 and 16, about ten times slower on moto):

    PICGRAPH_TEST_SHARDS=defaults .venv/bin/python -m pytest -q tests/unit/test_*_sharded.py
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from infra.dynamodb import DynamoImageRepository
from infra.settings import Settings

# Tags the listing tests use, by layout: `defaults` lists none hot (as the settings'
# default), `hot tags` every one, `mixed` some (so one walk meets hot and cold tags).
HOT_TAGS = {
    "defaults": (),
    "hot tags": ("a", "b", "cat", "dog", "sun", "rare", "beach"),
    "mixed": ("a", "cat", "sun", "rare"),
}
LAYOUTS = ("defaults", "hot tags")


def shard_counts() -> tuple[int, int]:
    if os.environ.get("PICGRAPH_TEST_SHARDS") == "defaults":
        settings = Settings.from_env({"PICGRAPH_TABLE_NAME": "t", "PICGRAPH_BUCKET_NAME": "b"})
        return settings.feed_shards, settings.hot_tag_shards
    return 4, 4


def use_sharded_layout(monkeypatch: pytest.MonkeyPatch, layout: str) -> None:
    """The feed sharded, and the tags of HOT_TAGS[layout] listed hot."""
    original = DynamoImageRepository.__init__
    feed_shards, tag_shards = shard_counts()
    hot = HOT_TAGS[layout]

    def init(self: DynamoImageRepository, table_name: str, **options: Any) -> None:
        options.setdefault("feed_shards", feed_shards)
        options.setdefault("hot_tag_shards", tag_shards)
        options.setdefault("hot_tags", hot)
        original(self, table_name, **options)

    monkeypatch.setattr(DynamoImageRepository, "__init__", init)
