"""Fault injection: the process dies after any single write; what follows cleans up.

Each scenario is one run that writes (create an upload, process it, reject it, take a
dead run over, purge, release a dead run). It first runs without a crash to count its
writes: every S3 PutObject/DeleteObjects and every DynamoDB PutItem/UpdateItem/
DeleteItem/TransactWriteItems, in one sequence. Then, for every N up to that count and
for every follow-up, on a fresh table and bucket (moto, real boto3):

  1. the run is killed right after its N-th write (a BaseException nothing catches);
  2. a restarted app (new clients, same clock) drives one follow-up: the owner retries
     after the lease, re-POSTs a PNG and retries, deletes and the purge runs after
     retention, cleanup releases the dead run and the owner retries, or nobody does
     anything (abandoned);
  3. the clock moves past every window and cleanup runs until it has nothing to do;
     then the bucket's lifecycle rule for uploads/ (terraform/s3.tf) expires staging
     objects.

After the crash and after the follow-up no object is orphaned (each belongs to
keys.object_keys of an image that still has an item) and no image is stuck (every
non-READY item is in the cleanup index); every READY image has all its objects and is in
the global feed; each owner's quota counts exactly its images in PENDING_UPLOAD or
PROCESSING (the count moves in the same transaction as the image); every owner and tag
counter equals a recount of the indexes. At the end the bucket holds exactly the keys
READY images serve, the table only READY images, and every quota counts zero pending
uploads.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from PIL import Image as PILImage

from infra import items, keys
from infra.dynamodb import DynamoImageRepository
from infra.provisioning import ensure_bucket, ensure_table
from infra.quotas import COUNTED_STATUSES
from infra.s3 import S3ObjectStore
from infra.settings import Settings
from resolvers.bootstrap import App, build_app
from services.cleanup import DEFAULT_GRACE
from services.errors import NotFoundError
from services.imaging import PillowImageProcessor
from services.models import Image, ImageQuery, ImageStatus, SortOrder
from tests.support.clock import FakeClock
from tests.support.dynamo import counter_mismatches
from tests.support.world import JPEG, JWT_SECRET, new_user

RETENTION_DAYS = 30
PENDING_HOURS = 24
REJECTED_HOURS = 168
LEASE_SECONDS = 120
TAGS = ("crash",)

S3_WRITES = frozenset({"PutObject", "DeleteObjects", "DeleteObject", "CopyObject"})
DYNAMODB_WRITES = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
)


class Crash(BaseException):
    """kill -9 right after a write: no `except Exception` in the code may swallow it."""


@dataclass
class WriteLog:
    """Every write the app's clients send, in order; raises Crash after the N-th."""

    crash_after: int | None = None
    writes: list[str] = field(default_factory=list)

    def reset(self, crash_after: int | None) -> None:
        self.crash_after = crash_after
        self.writes = []

    def attach(self, client: Any, writes: frozenset[str]) -> Any:
        send = client._make_api_call

        def call(operation: str, params: dict[str, Any]) -> Any:
            result = send(operation, params)
            if operation in writes:
                self.writes.append(f"{operation} {params.get('Key', '')}".strip())
                if len(self.writes) == self.crash_after:
                    self.crash_after = None  # the process is gone; a restart writes freely
                    raise Crash(self.writes[-1])
            return result

        client._make_api_call = call
        return client


@dataclass
class Backend:
    """One moto backend per scenario: the app's instrumented clients and the test's own."""

    session: boto3.Session
    log: WriteLog
    app_s3: Any
    app_dynamodb: Any
    s3: Any
    dynamodb: Any
    processor: PillowImageProcessor

    @classmethod
    def start(cls) -> Backend:
        session = boto3.Session(region_name="us-east-1")
        log = WriteLog()
        return cls(
            session=session,
            log=log,
            app_s3=log.attach(session.client("s3"), S3_WRITES),
            app_dynamodb=log.attach(session.client("dynamodb"), DYNAMODB_WRITES),
            s3=session.client("s3"),
            dynamodb=session.client("dynamodb"),
            processor=PillowImageProcessor(),
        )


@dataclass
class World:
    """A fresh table and bucket; `restarted` is a new process on them (same clock)."""

    backend: Backend
    settings: Settings
    clock: FakeClock = field(default_factory=FakeClock)
    owner: str = ""
    image_id: str = ""

    @classmethod
    def create(cls, backend: Backend) -> World:
        name = f"picgraph-crash-{uuid.uuid4().hex[:12]}"
        settings = Settings.from_env(
            {
                "PICGRAPH_TABLE_NAME": name,
                "PICGRAPH_BUCKET_NAME": name,
                "PICGRAPH_JWT_SECRET": JWT_SECRET,
                "AWS_REGION": "us-east-1",
                "PICGRAPH_DELETE_RETENTION_DAYS": str(RETENTION_DAYS),
                "PICGRAPH_PENDING_UPLOAD_HOURS": str(PENDING_HOURS),
                "PICGRAPH_REJECTED_RETENTION_HOURS": str(REJECTED_HOURS),
                "PICGRAPH_PROCESSING_LEASE_SECONDS": str(LEASE_SECONDS),
            }
        )
        ensure_table(backend.dynamodb, name)
        ensure_bucket(backend.s3, name, region="us-east-1")
        return cls(backend, settings)

    def restarted(self, *, crash_after: int | None = None) -> App:
        """New app objects (no state carried over) whose N-th write kills them."""
        self.backend.log.reset(crash_after)
        return build_app(
            self.settings,
            repository=DynamoImageRepository(
                self.settings.table_name, client=self.backend.app_dynamodb
            ),
            store=S3ObjectStore(self.settings.bucket_name, client=self.backend.app_s3),
            clock=self.clock,
            processor=lambda: self.backend.processor,
        )

    def s3_keys(self) -> set[str]:
        found: set[str] = set()
        paginator = self.backend.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.settings.bucket_name):
            found.update(entry["Key"] for entry in page.get("Contents", []))
        return found

    def image_items(self) -> dict[str, dict[str, Any]]:
        """Every image item by id (a test-only Scan)."""
        found: dict[str, dict[str, Any]] = {}
        paginator = self.backend.dynamodb.get_paginator("scan")
        for page in paginator.paginate(TableName=self.settings.table_name):
            for item in page["Items"]:
                if item["PK"]["S"].startswith("IMAGE#") and item["SK"]["S"] == keys.IMAGE_SK:
                    found[item["id"]["S"]] = item
        return found

    def pending_counts(self) -> dict[str, int]:
        """Every quota item's count of uploads in flight, by owner (a test-only Scan)."""
        owners: set[str] = set()
        paginator = self.backend.dynamodb.get_paginator("scan")
        for page in paginator.paginate(TableName=self.settings.table_name):
            for item in page["Items"]:
                if item["SK"]["S"] == keys.QUOTA_SK:
                    owners.add(item["PK"]["S"].removeprefix("QUOTA#"))
        repository = DynamoImageRepository(self.settings.table_name, client=self.backend.dynamodb)
        return {owner: repository.quota_usage(owner).pending for owner in owners}

    def images(self) -> list[Image]:
        return [items.from_item(item) for item in self.image_items().values()]

    def post(self, data: bytes, content_type: str) -> None:
        """The owner POSTs a file to the (still valid) presigned URL."""
        self.backend.s3.put_object(
            Bucket=self.settings.bucket_name,
            Key=f"uploads/{self.image_id}",
            Body=data,
            ContentType=content_type,
        )


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGBA", (90, 60), (250, 20, 20, 120)).save(buffer, "PNG")
    return buffer.getvalue()


PNG = png_bytes()


# --- set-ups and runs ---------------------------------------------------------------------


def create(world: World, app: App) -> None:
    world.owner = new_user("owner")
    ticket = app.uploads.create_upload(
        world.owner,
        filename="photo.jpg",
        content_type="image/jpeg",
        size_bytes=len(JPEG),
        tags=list(TAGS),
        idempotency_key=f"key-{world.owner}",
    )
    world.image_id = ticket.image.id


def staged(data: bytes, content_type: str) -> Callable[[World, App], None]:
    def prepare(world: World, app: App) -> None:
        create(world, app)
        world.post(data, content_type)

    return prepare


def complete(world: World, app: App) -> None:
    """completeImageUpload; NOT_FOUND is the right answer once the image was purged."""
    try:
        app.uploads.complete_upload(world.owner, world.image_id)
    except NotFoundError:
        assert app.repository.get(world.image_id) is None


def crashed_mid_jpeg_then_png(world: World, app: App) -> None:
    """A run died after writing the JPEG original and a rendition; then a PNG arrives."""
    staged(JPEG, "image/jpeg")(world, app)
    dying = world.restarted(crash_after=3)  # claim, original, one rendition
    with pytest.raises(Crash):
        complete(world, dying)
    world.post(PNG, "image/png")
    world.clock.advance(seconds=LEASE_SECONDS + 1)


def deleted_past_retention(world: World, app: App) -> None:
    staged(JPEG, "image/jpeg")(world, app)
    complete(world, app)
    app.deletion.delete_image(world.owner, world.image_id)
    world.clock.advance(timedelta(days=RETENTION_DAYS) + DEFAULT_GRACE, seconds=1)


def dead_run(lease_past: timedelta) -> Callable[[World, App], None]:
    """A run died after writing the original; `lease_past` later cleanup comes by."""

    def prepare(world: World, app: App) -> None:
        staged(JPEG, "image/jpeg")(world, app)
        dying = world.restarted(crash_after=2)  # claim, original
        with pytest.raises(Crash):
            complete(world, dying)
        world.clock.advance(timedelta(seconds=LEASE_SECONDS) + lease_past)

    return prepare


def clean(world: World, app: App) -> None:
    app.cleanup.run()


# --- follow-ups: what happens after the restart -----------------------------------------


def retry(world: World, app: App) -> None:
    world.clock.advance(seconds=LEASE_SECONDS + 1)
    complete(world, app)


def retry_as_png(world: World, app: App) -> None:
    world.post(PNG, "image/png")
    retry(world, app)


def retry_the_create(world: World, app: App) -> None:
    """The client never got an answer: it sends createImageUpload again (same key)."""
    ticket = app.uploads.create_upload(
        world.owner,
        filename="photo.jpg",
        content_type="image/jpeg",
        size_bytes=len(JPEG),
        tags=list(TAGS),
        idempotency_key=f"key-{world.owner}",
    )
    world.image_id = ticket.image.id
    world.post(JPEG, "image/jpeg")
    complete(world, app)


def delete_and_purge(world: World, app: App) -> None:
    if app.repository.get(world.image_id) is not None:
        app.deletion.delete_image(world.owner, world.image_id)
    world.clock.advance(timedelta(days=RETENTION_DAYS) + DEFAULT_GRACE, seconds=1)
    app.cleanup.run()


def cleanup_then_retry(world: World, app: App) -> None:
    world.clock.advance(DEFAULT_GRACE, seconds=LEASE_SECONDS + 1)
    app.cleanup.run()
    complete(world, app)


def rerun_cleanup(world: World, app: App) -> None:
    app.cleanup.run()


def abandon(world: World, app: App) -> None:
    del world, app  # nobody comes back


@dataclass(frozen=True)
class Scenario:
    name: str
    prepare: Callable[[World, App], None]
    run: Callable[[World, App], None]
    followups: tuple[Callable[[World, App], None], ...]
    min_writes: int  # so that a scenario which stopped writing cannot pass unnoticed


PROCESSING_FOLLOWUPS = (retry, retry_as_png, delete_and_purge, cleanup_then_retry, abandon)

SCENARIOS = (
    Scenario("create an upload", lambda world, app: None, create, (retry_the_create, abandon), 1),
    Scenario("process a JPEG", staged(JPEG, "image/jpeg"), complete, PROCESSING_FOLLOWUPS, 7),
    Scenario(
        "reject a damaged file",
        staged(b"\xff\xd8\xff\xe0 damaged", "image/jpeg"),
        complete,
        (retry, retry_as_png, delete_and_purge, abandon),
        3,
    ),
    Scenario("reject an empty file", staged(b"", "image/jpeg"), complete, (retry, abandon), 3),
    Scenario(
        "take over a dead JPEG run with a PNG",
        crashed_mid_jpeg_then_png,
        complete,
        PROCESSING_FOLLOWUPS,
        7,
    ),
    Scenario("purge a deleted image", deleted_past_retention, clean, (rerun_cleanup,), 2),
    Scenario(
        "release a dead run",
        dead_run(DEFAULT_GRACE + timedelta(seconds=1)),
        clean,
        (retry, retry_as_png, abandon),
        1,
    ),
    Scenario(
        "purge a dead run past the abandoned-upload window",
        dead_run(timedelta(hours=PENDING_HOURS) + DEFAULT_GRACE),
        clean,
        (rerun_cleanup, retry),
        2,
    ),
)


# --- what must hold ---------------------------------------------------------------------


def assert_nothing_orphaned_or_stuck(world: World, when: str) -> None:
    raw = world.image_items()
    images = [items.from_item(item) for item in raw.values()]
    in_s3 = world.s3_keys()
    owned = {key for image in images for key in keys.object_keys(image)}
    orphans = in_s3 - owned
    assert not orphans, f"{when}: objects no image owns: {sorted(orphans)}"
    for image in images:
        if image.status is ImageStatus.READY:
            served = set(image.stored_keys()) - {image.staging_key}
            assert served <= in_s3, f"{when}: READY image misses {sorted(served - in_s3)}"
            assert image.id in feed_ids(world, image), f"{when}: READY image not in the feed"
        else:
            assert "GSI3PK" in raw[image.id], f"{when}: {image.status} outside the cleanup index"
    counted = world.pending_counts()
    for owner, pending in counted.items():
        actual = [i for i in images if i.owner_id == owner and i.status in COUNTED_STATUSES]
        assert pending == len(actual), (
            f"{when}: the quota counts {pending} pending uploads of {owner}, {len(actual)} exist"
        )
    uncounted = {i.owner_id for i in images if i.status in COUNTED_STATUSES} - set(counted)
    assert not uncounted, f"{when}: pending uploads without a quota item: {uncounted}"
    wrong = counter_mismatches(world.backend.dynamodb, world.settings.table_name)
    assert not wrong, f"{when}: counters (counter, recount) differ from the indexes: {wrong}"


def feed_ids(world: World, image: Image) -> set[str]:
    """The global feed, oldest first, around the image's createdAt (reads FEED/BOUNDS)."""
    query = ImageQuery(
        viewer_id="anyone",
        sort=SortOrder.OLDEST_FIRST,
        created_after=image.created_at - timedelta(seconds=1),
        created_before=image.created_at + timedelta(seconds=1),
    )
    repository = DynamoImageRepository(world.settings.table_name, client=world.backend.dynamodb)
    page = repository.list_page(query, limit=100, after=None, backwards=False)
    return {listed.id for listed in page.images}


def finish(world: World) -> None:
    """Every window passes; cleanup runs until idle; S3 expires leftover staging objects."""
    app = world.restarted()
    world.clock.advance(days=RETENTION_DAYS + 10)
    for _ in range(5):
        report = app.cleanup.run()
        if report.purged == report.released_processing == 0:
            break
    assert_nothing_orphaned_or_stuck(world, "after cleanup")
    ready = [image for image in world.images() if image.status is ImageStatus.READY]
    served = {key for image in ready for key in set(image.stored_keys()) - {image.staging_key}}
    staging = {image.staging_key for image in ready}
    assert world.s3_keys() - served <= staging  # only staging keys, for the lifecycle rule
    expire_staging_objects(world)
    assert world.s3_keys() == served
    assert [image.status for image in world.images()] == [ImageStatus.READY] * len(ready)


def expire_staging_objects(world: World) -> None:
    """terraform/s3.tf's `expire-staging-uploads` rule, one day on (it has passed)."""
    stale = [key for key in world.s3_keys() if key.startswith("uploads/")]
    if stale:
        world.backend.s3.delete_objects(
            Bucket=world.settings.bucket_name,
            Delete={"Objects": [{"Key": key} for key in stale]},
        )


def writes_of(backend: Backend, scenario: Scenario) -> list[str]:
    world = World.create(backend)
    scenario.prepare(world, world.restarted())
    app = world.restarted()
    scenario.run(world, app)
    return list(backend.log.writes)


CRASH_POINTS: dict[str, int] = {}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[scenario.name for scenario in SCENARIOS])
def test_a_crash_after_any_write_leaves_nothing_orphaned_or_stuck(scenario: Scenario) -> None:
    """
    GIVEN one run of the scenario, killed right after its N-th write, for every N
    WHEN a restarted app drives each follow-up, then every window passes and cleanup runs
    THEN nothing is ever orphaned or stuck, and the bucket ends holding exactly the
         objects of READY images
    """
    failures: list[str] = []
    with mock_aws():
        backend = Backend.start()
        writes = writes_of(backend, scenario)
        assert len(writes) >= scenario.min_writes, writes
        for crash_after, write in enumerate(writes, start=1):
            for followup in scenario.followups:
                label = f"crash after write {crash_after} ({write}), then {followup.__name__}"
                world = World.create(backend)
                scenario.prepare(world, world.restarted())
                with pytest.raises(Crash):
                    scenario.run(world, world.restarted(crash_after=crash_after))
                try:
                    assert_nothing_orphaned_or_stuck(world, "after the crash")
                    followup(world, world.restarted())
                    assert_nothing_orphaned_or_stuck(world, f"after {followup.__name__}")
                    finish(world)
                except AssertionError as exc:
                    failures.append(f"{label}: {exc}")
    CRASH_POINTS[scenario.name] = len(writes)
    cases = len(writes) * len(scenario.followups)
    print(f"\n{scenario.name}: {len(writes)} crash points, {cases} cases")
    assert not failures, "\n".join(failures)
