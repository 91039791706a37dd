"""Every test of test_listing.py, unchanged, on the sharded layout.

Collected here a second time with the repository's shard counts defaulting to a
sharded layout (tests/support/layouts.py): the feed sharded and half the tags the
tests use listed hot (`mixed`), so walks merge feed and tag shards and meet cold
tags, and multi-tag filters drive on hot and on cold tags.
"""

from __future__ import annotations

import pytest

from tests.support.layouts import use_sharded_layout
from tests.unit.test_listing import *  # noqa: F403


@pytest.fixture(autouse=True)
def sharded_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    use_sharded_layout(monkeypatch, "mixed")
