"""Hot partitions at peak: a synthetic peak replayed through the real write paths.

The services (uploads, processing, details, delete/restore, cleanup) and the real
DynamoDB repository run against scripts/scale_model.RecordingDynamoClient, an
in-memory client that records the write units every call would consume per table
and per GSI, per partition key (not moto: moto has no capacity model). The key
layout comes from infra/keys.py through the repository, exactly as in Lambda.

The peak (defaults; change them with the flags below):
- 10,000 createImageUpload/s; owners Zipf-distributed (exponent 0.8 over 1,000,000
  accounts: the busiest account makes ~1% of uploads), 0-5 tags per image, tags
  Zipf-distributed (exponent 1.0 over 200,000 tags: the top tag is on ~5% of images);
- 90% of uploads are completed (1% of those rejected), 10% are never completed and
  reach the cleanup job a day later, at the same rate;
- deletes at 5% of the upload rate, restores at 20% of deletes, detail edits at 3%
  (half of them change tags), and the cleanup job purging the expired pending uploads
  and the deleted images past retention at their steady-state rates;
- 50 warm Lambda instances (repositories) share the traffic round-robin; a warm-up
  phase (not measured) fills the table with the images the window's completions,
  deletes, restores and purges act on.

It prints, per table and index, the write units per second on the hottest partition
key (DynamoDB serves at most 1,000 WCU/s per partition; the goal is <= 500) and the
total, then the Queries and read units per listing page. Each layout is a set of
PICGRAPH_* settings; `baseline` is today's (every shard count 1).

    .venv/bin/python scripts/bench_scale.py [--rate 10000] [--seconds 1.0] [--seed 7]

Writes build/bench/bench_scale.json ({"what", "figure"} rows).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import random
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_model import TABLE, RecordingDynamoClient

from infra import keys, quotas
from infra.dynamodb import DynamoImageRepository
from infra.errors import ObjectNotFoundError
from infra.records import CameraMetadata, Image, ImageStatus
from infra.settings import Settings
from resolvers.bootstrap import App, build_app
from services.errors import DomainError, InvalidImageError
from services.models import PresignedPost, ProcessedImage, Rendition, StoredObject

LAYOUTS: dict[str, dict[str, str]] = {
    "baseline": {
        "PICGRAPH_CLEANUP_SHARDS": "1",
        "PICGRAPH_FEED_SHARDS": "1",
        "PICGRAPH_HOT_TAG_SHARDS": "1",
        "PICGRAPH_COUNTER_SHARDS": "1",
        "PICGRAPH_OWNER_COUNTER_SHARDS": "1",
    },
    "sharded": {},
}
"""Layouts compared side by side: PICGRAPH_* settings on top of the defaults."""

INSTANCES = 50
PAGE_SIZE = 20
START = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
BASE_ENV = {
    "PICGRAPH_JWT_SECRET": "bench-secret-0123456789-abcdefghijkl",
    "PICGRAPH_TABLE_NAME": "bench",
    "PICGRAPH_BUCKET_NAME": "bench",
    # The whole peak is replayed: no viewer quota refuses the Zipf-busiest accounts
    # (their quota item is still written, as in production).
    "PICGRAPH_QUOTA_PENDING_UPLOADS": "0",
    "PICGRAPH_QUOTA_UPLOADS_PER_DAY": "0",
    "PICGRAPH_QUOTA_BYTES_PER_DAY": "0",
}


@dataclass(frozen=True)
class Peak:
    rate: float = 10_000.0
    seconds: float = 1.0
    owners: int = 1_000_000
    owner_exponent: float = 0.8
    tags: int = 200_000
    tag_exponent: float = 1.0
    tag_counts: tuple[float, ...] = (0.3, 0.2, 0.2, 0.15, 0.1, 0.05)  # P(0..5 tags)
    completed: float = 0.9
    rejected: float = 0.01
    deletes: float = 0.05
    restores: float = 0.2  # of deletes
    edits: float = 0.03


class SimClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


class NullStore:
    """Objects by key with their sizes only; URLs are plain strings."""

    def __init__(self) -> None:
        self.sizes: dict[str, int] = {}

    def presign_post(
        self, key: str, *, content_type: str, max_size_bytes: int, expires_in: int
    ) -> PresignedPost:
        return PresignedPost("https://s3.example/bench", {"key": key}, START, max_size_bytes)

    def presign_get(self, key: str, *, expires_in: int) -> str:
        return f"https://s3.example/bench/{key}"

    def head(self, key: str) -> StoredObject | None:
        size = self.sizes.get(key)
        return None if size is None else StoredObject(key, size, "image/jpeg")

    def read(self, key: str, *, max_bytes: int) -> bytes:
        if key not in self.sizes:
            raise ObjectNotFoundError(key)
        return b"\xff" * min(16, self.sizes[key], max_bytes)

    def write(self, key: str, data: bytes, *, content_type: str) -> None:
        self.sizes[key] = len(data)

    def delete_many(self, keys: Any) -> None:
        for key in keys:
            self.sizes.pop(key, None)


class CannedProcessor:
    """What Pillow would return for a phone photo: 3 renditions in JPEG and WEBP."""

    def __init__(self, rng: random.Random, rejected: float) -> None:
        self._rng = rng
        self._rejected = rejected

    def process(self, data: bytes) -> ProcessedImage:
        if self._rng.random() < self._rejected:
            raise InvalidImageError("The file is damaged.")
        renditions = tuple(
            Rendition(name, width, width * 3 // 4, mime, extension, b"r" * width, fmt)
            for fmt, mime, extension in (
                ("JPEG", "image/jpeg", "jpg"),
                ("WEBP", "image/webp", "webp"),
            )
            for name, width in (("thumbnail", 320), ("medium", 1080), ("feed", 640))
        )
        return ProcessedImage(
            format="JPEG",
            content_type="image/jpeg",
            extension="jpg",
            width=4032,
            height=3024,
            checksum_sha256="9" * 64,
            metadata=CameraMetadata(make="Apple", model="iPhone 15 Pro", taken_at=START),
            renditions=renditions,
            placeholder="2fcZFIB3iId/h3iJh4aIYJ2V8g==",
            dominant_color="#7a6a5c",
        )


class Zipf:
    def __init__(self, count: int, exponent: float, rng: random.Random) -> None:
        self._rng = rng
        self._cumulative = list(
            itertools.accumulate(rank**-exponent for rank in range(1, count + 1))
        )
        self._ranks = range(1, count + 1)

    def sample(self, k: int = 1) -> list[int]:
        return self._rng.choices(self._ranks, cum_weights=self._cumulative, k=k)


@dataclass
class World:
    client: RecordingDynamoClient
    apps: list[App]
    clock: SimClock
    store: NullStore
    rng: random.Random
    peak: Peak
    owners: Zipf
    tags: Zipf
    pending: deque[Image] = field(default_factory=deque)
    ready: list[Image] = field(default_factory=list)
    deleted: list[Image] = field(default_factory=list)
    turn: itertools.count[int] = field(default_factory=itertools.count)

    def app(self) -> App:
        return self.apps[next(self.turn) % len(self.apps)]

    def create(self) -> Image:
        owner = f"owner-{self.owners.sample()[0]}"
        count = self.rng.choices(range(len(self.peak.tag_counts)), self.peak.tag_counts)[0]
        tags = sorted({f"t{rank}" for rank in self.tags.sample(count)}) if count else []
        ticket = self.app().uploads.create_upload(
            owner,
            filename="IMG_0001.jpg",
            content_type="image/jpeg",
            size_bytes=2_400_000,
            title="Sunset over the bay",
            tags=tags,
        )
        self.store.write(ticket.image.staging_key, b"", content_type="image/jpeg")
        self.store.sizes[ticket.image.staging_key] = 2_400_000
        return ticket.image

    def complete(self) -> None:
        if not self.pending:
            return
        image = self.pending.popleft()
        completion = self.app().uploads.complete_upload(image.owner_id, image.id)
        if completion.image.status is ImageStatus.READY:
            self.ready.append(completion.image)

    def delete(self) -> None:
        if not self.ready:
            return
        image = self.ready.pop(self.rng.randrange(len(self.ready)))
        self.deleted.append(self.app().deletion.delete_image(image.owner_id, image.id))

    def restore(self) -> None:
        if not self.deleted:
            return
        image = self.deleted.pop(self.rng.randrange(len(self.deleted)))
        self.ready.append(self.app().deletion.restore_image(image.owner_id, image.id))

    def edit(self) -> None:
        if not self.ready:
            return
        index = self.rng.randrange(len(self.ready))
        image = self.ready[index]
        if self.rng.random() < 0.5:
            changed = self.app().updates.update_image(image.owner_id, image.id, title="Edited")
        else:
            tags = sorted({f"t{rank}" for rank in self.tags.sample(2)})
            changed = self.app().updates.update_image(image.owner_id, image.id, tags=tags)
        self.ready[index] = changed

    def cleanup(self) -> None:
        self.app().cleanup.run()


def build_world(layout: dict[str, str], peak: Peak, seed: int) -> World:
    rng = random.Random(seed)
    client = RecordingDynamoClient()
    clock = SimClock(START)
    store = NullStore()
    settings = Settings.from_env({**BASE_ENV, **layout})
    processor = CannedProcessor(rng, peak.rejected)
    apps = [
        build_app(
            settings,
            repository=DynamoImageRepository(
                settings.table_name,
                client=client,  # type: ignore[arg-type]
                cleanup_shards=settings.cleanup_shards,
                counter_shards=settings.counter_shards,
                owner_counter_shards=settings.owner_counter_shards,
                feed_shards=settings.feed_shards,
                hot_tag_shards=settings.hot_tag_shards,
                hot_tags=settings.hot_tags,
                tag_random=rng.random,
                wall_clock=lambda: clock.moment.timestamp(),
            ),
            store=store,
            processor=lambda: processor,
            clock=clock,
        )
        for _ in range(INSTANCES)
    ]
    return World(
        client=client,
        apps=apps,
        clock=clock,
        store=store,
        rng=rng,
        peak=peak,
        owners=Zipf(peak.owners, peak.owner_exponent, rng),
        tags=Zipf(peak.tags, peak.tag_exponent, rng),
    )


def _at(world: World, moment: datetime, action: Callable[[], Any], times: int) -> None:
    world.clock.moment = moment
    for step in range(times):
        world.clock.moment = moment + timedelta(microseconds=step)
        action()


DETECTION_SECONDS = 15
"""Seconds of the peak before the window replayed through the hot-tag detector."""


def detect_hot_tags(world: World) -> None:
    """The peak's tag traffic of the DETECTION_SECONDS before the window (not measured).

    Each completion's tags go through TagDirectory.observe, the call the write path
    makes for every tag entry it puts, at the peak's rate, from 90 s before the window:
    the tags hot at this peak are promoted as in production after the first seconds of
    a peak, and their grace period has passed when the window starts.
    """
    peak = world.peak
    per_second = round(peak.rate * peak.completed)
    start = START - timedelta(seconds=90)
    for second in range(DETECTION_SECONDS):
        for step in range(per_second):
            world.clock.moment = start + timedelta(seconds=second + step / per_second)
            count = world.rng.choices(range(len(peak.tag_counts)), peak.tag_counts)[0]
            tags = sorted({f"t{rank}" for rank in world.tags.sample(count)}) if count else []
            repository = world.app().repository
            assert isinstance(repository, DynamoImageRepository)
            repository.tags.observe(tags)


def warm_up(world: World) -> None:
    """The state the measured window acts on (not measured)."""
    peak = world.peak
    window = peak.rate * peak.seconds
    # Due for cleanup: pending uploads never completed, and deleted images past retention.
    _at(world, START - timedelta(days=3), world.create, round(window * (1 - peak.completed)))
    stale_deletes = round(window * peak.deletes * (1 - peak.restores))
    world.pending.clear()
    for image in (world.create() for _ in range(stale_deletes)):
        world.pending.append(image)
    world.clock.moment = START - timedelta(days=40)
    for _ in range(stale_deletes):
        world.complete()
    for _ in range(len(world.ready)):
        world.delete()
    world.deleted.clear()
    world.ready.clear()
    # Recent READY and DELETED images for the window's deletes, restores and edits, and
    # the uploads in flight that the window's completions finish.
    recent = START - timedelta(minutes=10)
    world.clock.moment = recent
    in_flight = [world.create() for _ in range(round(window * peak.deletes * 4))]
    world.pending.extend(in_flight)
    for _ in range(len(in_flight)):
        world.complete()
    for _ in range(round(window * peak.deletes * peak.restores * 2)):
        world.delete()
    detect_hot_tags(world)
    world.clock.moment = START - timedelta(seconds=30)
    world.pending.extend(world.create() for _ in range(round(window * peak.completed)))


def total_units(world: World) -> float:
    return sum(sum(partitions.values()) for partitions in world.client.capacity.writes.values())


def measured_window(world: World) -> tuple[float, dict[str, tuple[int, float]]]:
    peak = world.peak
    window = peak.rate * peak.seconds
    counts = {
        world.create: window,
        world.complete: window * peak.completed,
        world.delete: window * peak.deletes,
        world.restore: window * peak.deletes * peak.restores,
        world.edit: window * peak.edits,
    }
    events: list[tuple[float, Callable[[], Any]]] = [
        (world.rng.uniform(0, peak.seconds), action)
        for action, count in counts.items()
        for _ in range(round(count))
    ]
    events.append((peak.seconds / 2, world.cleanup))
    events.sort(key=lambda event: event[0])
    world.client.capacity.reset()
    started = time.perf_counter()
    per_operation: dict[str, tuple[int, float]] = {}
    for offset, action in events:
        world.clock.moment = START + timedelta(seconds=offset)
        before = total_units(world)
        # e.g. an edit of an image a concurrent delete took: part of the traffic
        with contextlib.suppress(DomainError):
            action()
        name = getattr(action, "__name__", "?")
        count, units = per_operation.get(name, (0, 0.0))
        per_operation[name] = (count + 1, units + total_units(world) - before)
    return time.perf_counter() - started, per_operation


def item_family(partition: str, sort: str, item: dict[str, Any], settings: Settings) -> str:
    """The family an item belongs to: every shard of a sharded item is one family."""
    if sort == "IMAGE":
        return f"image item, {item['status']['S']}"
    if sort.startswith("TAG#"):
        return "tag entry (READY image copy)"
    if partition.startswith("COUNTS#OWNER#"):
        return f"owner counter shard (each of {settings.owner_counter_shards})"
    if partition.startswith("COUNTS#TAG#"):
        return f"tag counter shard (each of {settings.counter_shards})"
    if sort.startswith(f"{keys.QUOTA_SK}#RELEASED#"):
        return f"quota release shard (each of {quotas.RELEASE_SHARDS})"
    if sort == keys.QUOTA_SK:
        return "quota item"
    if {keys.TABLE_PK: partition, keys.TABLE_SK: sort} == keys.FEED_BOUNDS_KEY:
        return "feed bounds (FEED/BOUNDS)"
    if sort == keys.TAG_META_SK and partition.startswith("TAGMETA#"):
        return "hot-tag directory (TAGMETA)"
    return sort.lower()


def item_sizes(world: World) -> dict[str, float]:
    """The largest item size in bytes (DynamoDB's rule) per item family, over the table."""
    from scale_model import item_size

    settings = world.apps[0].settings
    sizes: dict[str, list[int]] = {}
    for (partition, sort), item in world.client.items.items():
        kind = item_family(partition, sort, item, settings)
        sizes.setdefault(kind, []).append(item_size(item))
    return {kind: max(found) for kind, found in sorted(sizes.items())}


@dataclass(frozen=True)
class Hottest:
    where: str
    key: str
    per_second: float
    total_per_second: float


def hottest(world: World) -> list[Hottest]:
    seconds = world.peak.seconds
    rows = []
    for where in (TABLE, "GSI1", "GSI2", "GSI3"):
        partitions = world.client.capacity.writes.get(where, {})
        if not partitions:
            rows.append(Hottest(where, "-", 0.0, 0.0))
            continue
        key, units = max(partitions.items(), key=lambda pair: pair[1])
        rows.append(Hottest(where, key, units / seconds, sum(partitions.values()) / seconds))
    return rows


def hottest_by_family(world: World) -> dict[str, Hottest]:
    """Per key family (FEED#..., CLEANUP#..., TAG#..., OWNER#..., the FEED bounds item)."""
    seconds = world.peak.seconds
    best: dict[str, Hottest] = {}
    for where, partitions in world.client.capacity.writes.items():
        for key, units in partitions.items():
            family = key.split("#", 1)[0] if "#" in key else f"{key} (bounds)"
            if family == "TAGMETA":
                family = "TAGMETA (directory)"
            if family in ("IMAGE", "IDEMPOTENCY"):
                family = f"{family} (table)"
            current = best.get(family)
            if current is None or units / seconds > current.per_second:
                best[family] = Hottest(where, key, units / seconds, 0.0)
    best.setdefault("FEED (bounds)", Hottest(TABLE, "FEED", 0.0, 0.0))
    return dict(sorted(best.items()))


@dataclass(frozen=True)
class PageCost:
    queries: int
    gets: int
    read_units: float


def page_costs(world: World) -> dict[str, PageCost]:
    """Queries and read units of the second page of each listing kind (past a cursor)."""
    app = world.apps[0]
    owners = {image.owner_id for image in world.ready}
    owner_counts = dict.fromkeys(owners, 0)
    for image in world.ready:
        owner_counts[image.owner_id] += 1
    cold_owner = max(
        owners, key=lambda owner: (int(owner.split("-")[1]) > 1000, owner_counts[owner])
    )
    tag_counts: dict[str, int] = {}
    for image in world.ready:
        for tag in image.tags:
            tag_counts[tag] = tag_counts.get(tag, 0) + 1
    cold_tag = max(tag_counts, key=lambda tag: (int(tag[1:]) > 1000, tag_counts[tag]))
    viewer = "owner-1"
    kinds: dict[str, Callable[[str | None], Any]] = {
        "owner gallery, busiest owner": lambda after: app.listing.list_images(
            viewer, owner_id="owner-1", first=PAGE_SIZE, after=after
        ),
        "owner gallery, cold owner": lambda after: app.listing.list_images(
            viewer, owner_id=cold_owner, first=PAGE_SIZE, after=after
        ),
        "tag, hottest (t1)": lambda after: app.listing.list_images(
            viewer, tags=["t1"], first=PAGE_SIZE, after=after
        ),
        "tag, cold": lambda after: app.listing.list_images(
            viewer, tags=[cold_tag], first=PAGE_SIZE, after=after
        ),
        "two tags (t1 + t2)": lambda after: app.listing.list_images(
            viewer, tags=["t1", "t2"], first=PAGE_SIZE, after=after
        ),
        "global feed": lambda after: app.listing.list_images(viewer, first=PAGE_SIZE, after=after),
    }
    costs = {}
    capacity = world.client.capacity
    for name, page in kinds.items():
        first = page(None)
        capacity.reset()
        page(first.end_cursor)
        costs[name] = PageCost(capacity.queries, capacity.gets, capacity.read_units)
    capacity.reset()
    app.repository.due_for_cleanup(ImageStatus.PENDING_UPLOAD, START, limit=25)
    costs["cleanup batch (25)"] = PageCost(capacity.queries, capacity.gets, capacity.read_units)
    return costs


@dataclass(frozen=True)
class Result:
    layout: str
    elapsed: float
    hottest: list[Hottest]
    families: dict[str, Hottest]
    pages: dict[str, PageCost]
    operations: dict[str, tuple[int, float]]
    sizes: dict[str, float]
    promoted: list[str]


def simulate(name: str, layout: dict[str, str], peak: Peak, seed: int) -> Result:
    world = build_world(layout, peak, seed)
    warm_up(world)
    elapsed, operations = measured_window(world)
    rows, families = hottest(world), hottest_by_family(world)
    promoted = sorted(
        (
            pk.removeprefix("TAGMETA#")
            for (pk, sk), item in world.client.items.items()
            if pk.startswith("TAGMETA#") and int(item.get("shards", {}).get("N", "1")) > 1
        ),
        key=lambda tag: int(tag[1:]),
    )
    return Result(
        name, elapsed, rows, families, page_costs(world), operations, item_sizes(world), promoted
    )


def report(results: Sequence[Result], peak: Peak) -> list[dict[str, str]]:
    names = [result.layout for result in results]
    print(
        f"peak: {peak.rate:,.0f} uploads/s for {peak.seconds:g} s; layouts: "
        + ", ".join(f"{r.layout} = {LAYOUTS[r.layout] or 'the defaults'}" for r in results)
    )
    rows: list[dict[str, str]] = []
    print("\nWCU/s on the hottest partition key (goal <= 500), and the total")
    print(f"{'where':<8}" + "".join(f" | {name + ' hottest':>40} {'total':>9}" for name in names))
    for position, where in enumerate((TABLE, "GSI1", "GSI2", "GSI3")):
        line = f"{where:<8}"
        figures = []
        for result in results:
            row = result.hottest[position]
            line += f" | {row.key[:28]:>28} {row.per_second:>11,.0f} {row.total_per_second:>9,.0f}"
            figures.append(f"{result.layout} {row.per_second:,.0f} ({row.key})")
        print(line)
        rows.append(
            {"what": f"bench_scale hottest key WCU/s, {where}", "figure": "; ".join(figures)}
        )
    for result in results:
        worst = max(result.hottest, key=lambda row: row.per_second)
        verdict = "met" if worst.per_second <= 500 else "NOT met"
        print(
            f"{result.layout}: hottest key {worst.per_second:,.0f} WCU/s ({worst.where} "
            f"{worst.key}): goal {verdict}; tags promoted by detection: {len(result.promoted)}"
            + (f" ({', '.join(result.promoted[:12])}, ...)" if result.promoted else "")
        )
        rows.append(
            {
                "what": f"bench_scale hottest key WCU/s, {result.layout}",
                "figure": f"{worst.per_second:,.0f} ({worst.where} {worst.key})",
            }
        )
    print("\nper key family: hottest key, WCU/s")
    families = sorted({family for result in results for family in result.families})
    for family in families:
        line = f"{family:<20}"
        figures = []
        for result in results:
            found = result.families.get(family)
            if found is None:
                line += f" | {'-':>40}"
                continue
            line += f" | {found.where + ' ' + found.key[:26]:>31} {found.per_second:>8,.0f}"
            figures.append(f"{result.layout} {found.per_second:,.0f} ({found.key})")
        print(line)
        rows.append({"what": f"bench_scale hottest {family} WCU/s", "figure": "; ".join(figures)})
    print(f"\nlisting page of {PAGE_SIZE} past a cursor: Queries (GetItems), RCU")
    for kind in results[0].pages:
        line = f"{kind:<30}"
        figures = []
        for result in results:
            cost = result.pages[kind]
            line += (
                f" | {result.layout:>9} {cost.queries:>3} Q ({cost.gets} G)"
                f" {cost.read_units:>6.1f} RCU"
            )
            figures.append(f"{result.layout} {cost.queries} Queries, {cost.read_units:.1f} RCU")
        print(line)
        rows.append({"what": f"bench_scale page cost, {kind}", "figure": "; ".join(figures)})
    print("\nWCU per operation (table + every index; mean over the window)")
    for operation in results[0].operations:
        line = f"{operation:<10}"
        figures = []
        for result in results:
            count, units = result.operations.get(operation, (0, 0.0))
            mean = units / count if count else 0.0
            line += f" | {result.layout:>9} {mean:>9.1f} WCU x {count:,}"
            figures.append(f"{result.layout} {mean:.1f}")
        print(line)
        rows.append({"what": f"bench_scale WCU per {operation}", "figure": "; ".join(figures)})
    print("\nlargest item size per family, bytes (" + results[-1].layout + ")")
    for kind, size in results[-1].sizes.items():
        print(f"{kind:<38} {size:>7,.0f}")
        rows.append({"what": f"bench_scale largest item size, {kind}", "figure": f"{size:,.0f} B"})
    for result in results:
        print(f"{result.layout}: simulated in {result.elapsed:.1f} s")
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=Peak.rate, help="uploads per second")
    parser.add_argument("--seconds", type=float, default=Peak.seconds, help="measured window")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--layouts", default=",".join(LAYOUTS), help="comma-separated names")
    args = parser.parse_args(argv)
    peak = Peak(rate=args.rate, seconds=args.seconds)
    results = [simulate(name, LAYOUTS[name], peak, args.seed) for name in args.layouts.split(",")]
    rows = report(results, peak)
    out = Path("build/bench/bench_scale.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
