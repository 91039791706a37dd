"""Listing cost per page against table size, on moto's in-process DynamoDB.

For each table size it seeds images straight into the single table (batch_write_item
with infra.items.to_item / to_tag_item and the feed bounds item), then walks a few
pages of each filter kind through ListingService and prints, per page: DynamoDB calls,
items read (sum of ScannedCount), consumed read capacity (ReturnConsumedCapacity=TOTAL;
n/a when the emulator does not report it) and latency. The last table gives the
large/small ratio of calls and items read: keyset pagination on the right partition
should cost the same per page at any size (target <= 1.2). Writes those ratios to
build/bench/bench_listing.json (the small table is the peer, measured in the same run).

Latency is moto's, not DynamoDB's: moto evaluates a GSI Query by looking at every item
of the table, so its latency grows with the table while the calls and items read
(what DynamoDB bills and what its latency follows) do not.

    .venv/bin/python scripts/bench_listing.py [--sizes 1000,20000] [--pages 4]

The default large size is 20,000: 100,000 works (`--sizes 1000,100000`) but takes
about 8 minutes on moto (3 minutes to seed, then about 10 s per Query, since moto
evaluates a GSI Query by looking at every item of the table).

moto reports ConsumedCapacity as 1.0 per call whatever was read, so the `RCU` column
is moto's figure and `est. RCU` is what DynamoDB would bill for the same reads:
eventually consistent Query = 0.5 per started 4 KB of the items read, consistent
GetItem = 1 per started 4 KB (item sizes approximated from the attribute names and
values).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import boto3
from bench_rows import write_rows
from moto import mock_aws

from infra import items, keys
from infra.dynamodb import DynamoImageRepository
from infra.provisioning import ensure_table
from infra.records import Image, ImageStatus
from services.listing import ListingService

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE = "picgraph-bench"
PAGE_SIZE = 20
DAYS = 180
TAGS = [f"tag-{index}" for index in range(20)]
TAG_WEIGHTS = [1 / (index + 1) for index in range(len(TAGS))]  # Zipf-like popularity
STAR_OWNER = "owner-0"  # holds 10% of all images, so the gallery grows with the table
NOW = datetime.now(UTC)

FILTERS: dict[str, dict[str, Any]] = {
    "owner": {"owner_id": STAR_OWNER},
    "tag": {"tags": ["tag-0"]},
    "multi-tag": {"tags": ["tag-0", "tag-1"]},
    "global feed": {},
    "date range": {
        "created_after": NOW - timedelta(days=100),
        "created_before": NOW - timedelta(days=70),
    },
}


@dataclass
class Meter:
    """Counts DynamoDB calls, items read and capacity through botocore event hooks."""

    calls: int = 0
    items_read: int = 0
    capacity: float = 0.0
    capacity_reported: bool = True
    estimated: float = 0.0
    operations: list[str] = field(default_factory=list)

    def attach(self, client: DynamoDBClient) -> None:
        client.meta.events.register("provide-client-params.dynamodb.Query", _ask_capacity)
        client.meta.events.register("provide-client-params.dynamodb.GetItem", _ask_capacity)
        client.meta.events.register("after-call.dynamodb", self._after)

    def reset(self) -> None:
        self.calls, self.items_read, self.capacity, self.estimated = 0, 0, 0.0, 0.0
        self.capacity_reported = True
        self.operations.clear()

    def _after(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if model.name not in ("Query", "GetItem"):
            return
        self.calls += 1
        self.operations.append(model.name)
        if model.name == "Query":
            self.items_read += int(parsed.get("ScannedCount", parsed.get("Count", 0)))
            size = sum(_item_size(item) for item in parsed.get("Items", []))
            self.estimated += 0.5 * max(1, math.ceil(size / 4096))
        else:
            self.items_read += 1 if "Item" in parsed else 0
            self.estimated += max(1, math.ceil(_item_size(parsed.get("Item", {})) / 4096))
        consumed = parsed.get("ConsumedCapacity")
        if consumed is None:
            self.capacity_reported = False
        else:
            self.capacity += float(consumed.get("CapacityUnits", 0.0))


def _item_size(item: dict[str, Any]) -> int:
    """Roughly DynamoDB's item size: attribute names plus their values' lengths."""
    return sum(len(name) + len(json.dumps(value)) for name, value in item.items())


def _ask_capacity(params: dict[str, Any], **_: Any) -> None:
    params.setdefault("ReturnConsumedCapacity", "TOTAL")


@dataclass(frozen=True)
class PageCost:
    calls: int
    items_read: int
    capacity: float | None
    estimated: float
    latency_ms: float
    edges: int


def generate(count: int, rng: random.Random) -> Iterator[Image]:
    owners = [f"owner-{index}" for index in range(1, max(2, count // 50))]
    statuses = [ImageStatus.READY] * 18 + [ImageStatus.DELETED, ImageStatus.PROCESSING]
    for _ in range(count):
        created = NOW - timedelta(microseconds=rng.randrange(DAYS * 86_400_000_000))
        status = rng.choice(statuses)
        tag_count = rng.choice((0, 1, 2, 2, 3))
        tags: list[str] = []
        while len(tags) < tag_count:
            tag = rng.choices(TAGS, TAG_WEIGHTS)[0]
            if tag not in tags:
                tags.append(tag)
        yield Image(
            id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            owner_id=STAR_OWNER if rng.random() < 0.1 else rng.choice(owners),
            filename="photo.jpg",
            content_type="image/jpeg",
            declared_size=2_000_000,
            created_at=created,
            updated_at=created,
            status=status,
            title="A photo",
            tags=tuple(tags),
            size_bytes=2_000_000,
            width=4032,
            height=3024,
            deleted_at=created if status is ImageStatus.DELETED else None,
            cleanup_after=created + timedelta(days=30) if status is ImageStatus.DELETED else None,
        )


def seed(client: DynamoDBClient, count: int) -> float:
    """Writes `count` images (and their tag items, and the feed bounds); returns seconds."""
    started = time.perf_counter()
    rng = random.Random(count)  # reproducible test data
    first_bucket: str | None = None
    batch: list[Any] = []
    for image in generate(count, rng):
        written = [items.to_item(image)]
        if image.status is ImageStatus.READY:
            written += [items.to_tag_item(image, tag) for tag in image.tags]
            bucket = keys.feed_bucket(image.created_at)
            first_bucket = bucket if first_bucket is None else min(first_bucket, bucket)
        for item in written:
            batch.append({"PutRequest": {"Item": item}})
            if len(batch) == 25:
                _write(client, batch)
                batch = []
    if batch:
        _write(client, batch)
    if first_bucket is not None:
        client.put_item(
            TableName=TABLE,
            Item=items.serialize({**keys.FEED_BOUNDS_KEY, "firstBucket": first_bucket}),
        )
    return time.perf_counter() - started


def _write(client: DynamoDBClient, requests: list[Any]) -> None:
    while requests:
        response = client.batch_write_item(RequestItems={TABLE: requests})
        requests = list(response.get("UnprocessedItems", {}).get(TABLE, []))


def measure(
    service: ListingService, meter: Meter, filters: dict[str, Any], pages: int
) -> list[PageCost]:
    costs: list[PageCost] = []
    after: str | None = None
    for _ in range(pages):
        meter.reset()
        started = time.perf_counter()
        page = service.list_images("bench-viewer", first=PAGE_SIZE, after=after, **filters)
        elapsed = (time.perf_counter() - started) * 1000
        costs.append(
            PageCost(
                calls=meter.calls,
                items_read=meter.items_read,
                capacity=meter.capacity if meter.capacity_reported else None,
                estimated=meter.estimated,
                latency_ms=elapsed,
                edges=len(page.edges),
            )
        )
        if not page.has_next_page:
            break
        after = page.end_cursor
    return costs


def run_size(count: int, pages: int) -> dict[str, list[PageCost]]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        ensure_table(client, TABLE)
        seconds = seed(client, count)
        print(f"\n== {count:,} images: seeded in {seconds:.1f} s ==", flush=True)
        meter = Meter()
        meter.attach(client)
        service = ListingService(DynamoImageRepository(TABLE, client=client), "bench-secret")
        results = {name: measure(service, meter, flt, pages) for name, flt in FILTERS.items()}
    print(
        f"{'filter':<12} {'pages':>5} {'edges':>6} {'calls':>6} {'max':>4} "
        f"{'items read':>10} {'max':>5} {'RCU':>6} {'est. RCU':>8} {'latency ms':>11}"
    )
    for name, costs in results.items():
        capacities = [cost.capacity for cost in costs]
        rcu = (
            "n/a"
            if any(value is None for value in capacities)
            else f"{statistics.fmean(value or 0.0 for value in capacities):.1f}"
        )
        edges = _mean(costs, lambda c: c.edges)
        calls = _mean(costs, lambda c: c.calls)
        read = _mean(costs, lambda c: c.items_read)
        latency = _mean(costs, lambda c: c.latency_ms)
        estimated = _mean(costs, lambda c: c.estimated)
        most_calls = max(cost.calls for cost in costs)
        most_read = max(cost.items_read for cost in costs)
        print(
            f"{name:<12} {len(costs):>5} {edges:>6.1f} {calls:>6.2f} {most_calls:>4} "
            f"{read:>10.1f} {most_read:>5} {rcu:>6} {estimated:>8.1f} {latency:>11.1f}"
        )
    return results


def _mean(costs: list[PageCost], value: Callable[[PageCost], float]) -> float:
    return statistics.fmean(value(cost) for cost in costs) if costs else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="1000,20000", help="comma-separated table sizes")
    parser.add_argument("--pages", type=int, default=4, help="pages walked per filter kind")
    args = parser.parse_args(argv)
    sizes = sorted(int(size) for size in args.sizes.split(","))
    print(f"sizes used: {', '.join(f'{size:,}' for size in sizes)} images; page size {PAGE_SIZE}")
    print("per page: mean over the pages walked, and max; RCU is moto's, est. RCU DynamoDB's")
    results = {size: run_size(size, args.pages) for size in sizes}
    rows: list[dict[str, str]] = []
    if len(sizes) >= 2:
        small, large = results[sizes[0]], results[sizes[-1]]
        print(f"\nratio {sizes[-1]:,} / {sizes[0]:,} per full page (target <= 1.2)")
        print(f"{'filter':<12} {'calls':>6} {'items read':>10}")
        for name in FILTERS:
            calls = _ratio(small[name], large[name], lambda c: c.calls)
            read = _ratio(small[name], large[name], lambda c: c.items_read)
            print(f"{name:<12} {calls:>6.2f} {read:>10.2f}")
            per_page = _mean(large[name], lambda c: c.calls)
            items = _mean(large[name], lambda c: c.items_read)
            rows.append(
                {
                    "what": f"images page ({name}), {sizes[-1]:,} vs {sizes[0]:,} images",
                    "figure": f"{per_page:.2f} DynamoDB calls and {items:.1f} items read per page;"
                    f" ratio {calls:.2f} calls, {read:.2f} items read (target <= 1.2)",
                }
            )
    write_rows("bench_listing", rows)
    return 0


def _ratio(
    small: list[PageCost], large: list[PageCost], value: Callable[[PageCost], float]
) -> float:
    """Mean per full page (PAGE_SIZE edges) of the large table over the small one."""
    small_full = [cost for cost in small if cost.edges == PAGE_SIZE]
    large_full = [cost for cost in large if cost.edges == PAGE_SIZE]
    base = _mean(small_full, value)
    return _mean(large_full, value) / base if base and large_full else float("nan")


if __name__ == "__main__":
    raise SystemExit(main())
