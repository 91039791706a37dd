"""scripts/bench_scale.py: item sizes are printed per item family, not per shard."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import pytest

from infra import keys, quotas
from infra.settings import Settings
from tests.conftest import REPO_ROOT


@pytest.fixture(scope="module")
def bench_scale() -> ModuleType:
    path = REPO_ROOT / "scripts" / "bench_scale.py"
    spec = importlib.util.spec_from_file_location("bench_scale", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_scale"] = module
    spec.loader.exec_module(module)
    return module


def family(bench_scale: ModuleType, key: dict[str, str], settings: Settings) -> str:
    item = {"status": {"S": "READY"}}
    name: str = bench_scale.item_family(key[keys.TABLE_PK], key[keys.TABLE_SK], item, settings)
    return name


def test_every_shard_of_an_item_is_one_family(bench_scale: ModuleType) -> None:
    """GIVEN the default shard counts WHEN the owner counter, tag counter and quota release
    shards are classified THEN each sharded item is one family naming its shard count, and
    the quota item and the feed bounds are families of their own."""
    settings = Settings.from_env({"PICGRAPH_TABLE_NAME": "t", "PICGRAPH_BUCKET_NAME": "b"})
    owner = {
        family(bench_scale, key, settings)
        for key in keys.owner_counter_keys("owner-1", settings.owner_counter_shards)
    }
    tag = {
        family(bench_scale, key, settings)
        for key in keys.tag_counter_keys("sunset", settings.counter_shards)
    }
    released = {
        family(bench_scale, key, settings)
        for key in keys.quota_release_keys("owner-1", quotas.RELEASE_SHARDS)
    }
    assert owner == {f"owner counter shard (each of {settings.owner_counter_shards})"}
    assert tag == {f"tag counter shard (each of {settings.counter_shards})"}
    assert released == {f"quota release shard (each of {quotas.RELEASE_SHARDS})"}
    assert family(bench_scale, keys.quota_key("owner-1"), settings) == "quota item"
    assert family(bench_scale, keys.FEED_BOUNDS_KEY, settings) == "feed bounds (FEED/BOUNDS)"
    assert family(bench_scale, keys.image_key("i-1"), settings) == "image item, READY"
