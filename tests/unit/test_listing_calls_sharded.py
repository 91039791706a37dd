"""The call-shape tests of test_listing_calls.py, unchanged, on the sharded layout.

Left out: the two feed tests that describe the unsharded feed's calls (one Query per
month); tests/unit/test_feed_shards.py checks the sharded feed's calls. In the `hot
tags` layout the one-Query-per-tag-page test is skipped: a hot tag's page merges its
shards (a cold tag's page stays one Query, checked in the `defaults` layout).
"""

from __future__ import annotations

import pytest

from tests.support.layouts import LAYOUTS, use_sharded_layout
from tests.unit.test_listing_calls import (
    env,
    test_filters_checked_in_code_stay_within_the_query_bound,
    test_never_a_scan_for_any_combination,
    test_owner_and_single_tag_pages_cost_exactly_one_query,
    test_status_filter_reads_the_owners_status_partition,
)

__all__ = [
    "env",
    "test_filters_checked_in_code_stay_within_the_query_bound",
    "test_never_a_scan_for_any_combination",
    "test_owner_and_single_tag_pages_cost_exactly_one_query",
    "test_status_filter_reads_the_owners_status_partition",
]

_UNSHARDED_SHAPES = {
    "test_owner_and_single_tag_pages_cost_exactly_one_query",
    "test_filters_checked_in_code_stay_within_the_query_bound",
}


@pytest.fixture(autouse=True, params=LAYOUTS)
def sharded_layout(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    layout = str(request.param)
    if layout == "hot tags" and request.function.__name__ in _UNSHARDED_SHAPES:
        pytest.skip("a hot tag's page merges its shards: not the one-partition call shape")
    use_sharded_layout(monkeypatch, layout)
