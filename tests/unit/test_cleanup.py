"""The cleanup job on the real repository and store (boto3 against moto).

Every test seeds its own table and bucket (provisioned as in production) through the
real services, moves a FakeClock past the retention windows, runs CleanupService and
compares every S3 key and every table item before and after.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from moto import mock_aws
from PIL import Image as PILImage

from infra import keys
from infra.dynamodb import DynamoImageRepository
from infra.errors import ObjectDeleteError
from infra.quotas import COUNTED_STATUSES
from infra.s3 import S3ObjectStore
from resolvers import lambda_handler
from resolvers.bootstrap import set_app
from resolvers.logs import JsonFormatter
from services.cleanup import DEFAULT_GRACE, CleanupReport, CleanupService
from services.errors import ErrorCode
from services.models import Image, ImageStatus
from tests.support.clock import FakeMonotonic
from tests.support.dynamo import counter_mismatches, one_request_at_a_time
from tests.support.world import Items, MotoWorld, build_moto_world, new_user

EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"
RETENTION_DAYS = 30
PENDING_HOURS = 24
REJECTED_HOURS = 168


class World(MotoWorld):
    def cleanup(self, **options: Any) -> CleanupService:
        """A CleanupService like the wired one, with other options or adapters."""
        options.setdefault("repository", self.repository)
        options.setdefault("store", self.app.store)
        return CleanupService(clock=self.clock, **options)

    def rejected(self, owner: str) -> Image:
        image = self.staged(owner, data=b"these bytes are no image")
        assert self.app.uploads.complete_upload(owner, image.id).image.status is (
            ImageStatus.REJECTED
        )
        return self.stored(image.id)

    def deleted(self, owner: str, *, tags: tuple[str, ...] = ()) -> Image:
        image = self.ready(owner, tags=tags)
        self.app.deletion.delete_image(owner, image.id)
        return self.stored(image.id)

    def stuck_processing(self, owner: str, *, lease: timedelta = timedelta(minutes=2)) -> Image:
        """An upload claimed by a processor that died, its lease ending `lease` from now."""
        image = self.staged(owner)
        claimed = image.evolve(
            status=ImageStatus.PROCESSING, processing_until=self.clock.now() + lease
        )
        self.repository.save(claimed, previous=image)
        return claimed


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGBA", (40, 30), (200, 10, 10, 128)).save(buffer, "PNG")
    return buffer.getvalue()


def build_world() -> World:
    return build_moto_world(
        World,
        name_prefix="picgraph-cleanup",
        env={
            "PICGRAPH_DELETE_RETENTION_DAYS": str(RETENTION_DAYS),
            "PICGRAPH_PENDING_UPLOAD_HOURS": str(PENDING_HOURS),
            "PICGRAPH_REJECTED_RETENTION_HOURS": str(REJECTED_HOURS),
        },
        own_app_clients=True,  # app_dynamodb is not the test's client (its calls are recorded)
    )


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield build_world()


def image_items(items: Items, *images: Image) -> Items:
    """The items that belong to these images (the image item and its tag items)."""
    partitions = {f"IMAGE#{image.id}" for image in images}
    return {key: item for key, item in items.items() if key[0] in partitions}


def not_counters(items: Items) -> Items:
    """Every item but the counters (their values are checked against a recount)."""
    return {key: item for key, item in items.items() if not key[0].startswith("COUNTS#")}


def without(items: Items, removed: Items) -> Items:
    return {key: item for key, item in items.items() if key not in removed}


@dataclass
class Seeded:
    """Images of every kind; `due` ones are purgeable at `world.clock.now()`."""

    due: dict[str, Image] = field(default_factory=dict)
    kept: dict[str, Image] = field(default_factory=dict)

    @property
    def due_keys(self) -> set[str]:
        return {key for image in self.due.values() for key in keys.object_keys(image)}


def seed_every_kind(world: World) -> Seeded:
    """Old and recent images of each kind; then the clock is 31 days on."""
    owner = new_user("seed")
    seeded = Seeded()
    seeded.due["deleted long ago"] = world.deleted(owner, tags=("alpha", "beta"))
    seeded.due["pending old"] = world.staged(owner)
    seeded.due["rejected old"] = world.rejected(owner)
    seeded.due["processing old"] = world.stuck_processing(owner)
    world.clock.advance(days=RETENTION_DAYS + 1)
    seeded.kept["processing live"] = world.stuck_processing(owner)
    seeded.kept["deleted recently"] = world.deleted(owner, tags=("alpha",))
    seeded.kept["ready"] = world.ready(owner, tags=("alpha",))
    seeded.kept["pending fresh"] = world.staged(owner)
    seeded.kept["rejected fresh"] = world.rejected(owner)
    return seeded


def assert_purged(world: World, seeded: Seeded, keys_before: set[str], items_before: Items) -> None:
    """Exactly the due images' objects and items are gone; everything else is untouched."""
    assert world.s3_keys() == keys_before - seeded.due_keys
    assert not_counters(not_quotas(world.table_items())) == without(
        not_counters(not_quotas(items_before)), image_items(items_before, *seeded.due.values())
    )
    assert counter_mismatches(world.dynamodb, world.settings.table_name) == {}
    for image in seeded.due.values():
        assert world.repository.get(image.id) is None
    for image in seeded.kept.values():
        assert world.repository.get(image.id) is not None
    # The owner's pending-upload quota counts out exactly the purged pending/processing.
    owners = {image.owner_id for image in (*seeded.due.values(), *seeded.kept.values())}
    for owner in owners:
        counted = [
            image
            for image in seeded.kept.values()
            if image.owner_id == owner and world.repository.get(image.id).status in COUNTED_STATUSES  # type: ignore[union-attr]
        ]
        assert world.repository.quota_usage(owner).pending == len(counted)


def not_quotas(items: Items) -> Items:
    """Everything but the quota items (whose pending count a purge moves)."""
    return {key: item for key, item in items.items() if not key[0].startswith("QUOTA#")}


# --- what is purged ------------------------------------------------------------------------


def test_purge_removes_exactly_the_due_objects_and_items(world: World) -> None:
    """
    GIVEN images deleted long ago and recently, READY ones, old and fresh pending uploads,
          old and fresh rejected uploads, a PROCESSING one whose processor died long ago
          and one being processed now
    WHEN cleanup runs after the retention windows of the old ones
    THEN exactly the old deleted (original, renditions, tag items, item), the old pending
         and the old processing (staging object, item) and the old rejected (item) are
         purged; every other S3 object and table item is untouched; a second run finds
         nothing to do
    """
    seeded = seed_every_kind(world)
    deleted_long_ago = seeded.due["deleted long ago"]
    assert deleted_long_ago.original_key is not None
    assert len(deleted_long_ago.variants) >= 1
    keys_before, items_before = world.s3_keys(), world.table_items()
    assert {deleted_long_ago.original_key, *(v.key for v in deleted_long_ago.variants)} <= (
        keys_before
    )
    assert seeded.due["pending old"].staging_key in keys_before
    assert seeded.due["processing old"].staging_key in keys_before

    report = world.app.cleanup.run()

    assert report == CleanupReport(
        purged_deleted=1,
        purged_pending=1,
        purged_rejected=1,
        purged_processing=1,
        objects_deleted=sum(len(keys.object_keys(image)) for image in seeded.due.values()),
    )
    assert_purged(world, seeded, keys_before, items_before)
    assert world.app.cleanup.run() == CleanupReport()


def test_images_are_purged_only_a_grace_period_after_they_are_due(world: World) -> None:
    """
    GIVEN an image deleted now and uploads created now whose owner is still uploading
    WHEN cleanup runs just before their cleanup_after, at it, and within the grace period
    THEN nothing is purged; an upload can be completed until its cleanup_after and not
         from then on (so no processing run writes while the purge deletes); once the
         grace period after cleanup_after has passed, the abandoned ones are purged
    """
    owner = new_user("owner")
    deleted = world.deleted(owner)
    uploading = world.pending(owner)
    completed_late = world.staged(owner)
    completed_too_late = world.staged(owner)

    world.clock.advance(hours=PENDING_HOURS, seconds=-1)
    assert world.app.cleanup.run().purged == 0
    completion = world.app.uploads.complete_upload(owner, completed_late.id)
    assert completion.image.status is ImageStatus.READY
    world.clock.advance(seconds=1)  # cleanup_after of the uploads
    assert world.app.cleanup.run().purged == 0
    too_late = world.app.uploads.complete_upload(owner, completed_too_late.id)
    assert too_late.image.status is ImageStatus.PENDING_UPLOAD
    assert too_late.error is not None
    assert too_late.error.code is ErrorCode.UPLOAD_NOT_FOUND
    assert "expired" in too_late.error.message
    world.clock.advance(DEFAULT_GRACE - timedelta(seconds=1))
    assert world.app.cleanup.run().purged == 0

    world.clock.advance(seconds=1)
    report = world.app.cleanup.run()
    assert (report.purged_pending, report.purged_deleted) == (2, 0)
    assert world.repository.get(uploading.id) is None
    assert world.keys_of(completed_too_late.id) == set()
    assert world.stored(completed_late.id).status is ImageStatus.READY

    world.clock.set(deleted.cleanup_after or datetime.max)
    assert world.app.cleanup.run().purged == 0
    world.clock.advance(DEFAULT_GRACE)
    assert world.app.cleanup.run().purged_deleted == 1
    assert world.repository.get(deleted.id) is None


def test_dry_run_changes_nothing_and_reports_what_would_be_purged(world: World) -> None:
    """
    GIVEN more due images than one batch holds, of every kind
    WHEN cleanup runs with dry_run (in small batches)
    THEN no S3 object and no item changes, and the report counts every due image and its
         keys; a real run then purges exactly those counts
    """
    seeded = seed_every_kind(world)
    owner = new_user("extra")
    for number in range(4):
        seeded.due[f"deleted {number}"] = world.app.deletion.delete_image(
            owner, world.pending(owner).id
        )
    world.clock.advance(days=RETENTION_DAYS + 1)
    keys_before, items_before = world.s3_keys(), world.table_items()
    # The recent ones are due now too (31 more days passed).
    for name in ("deleted recently", "pending fresh", "rejected fresh", "processing live"):
        seeded.due[name] = seeded.kept.pop(name)
    expected_keys = sum(len(keys.object_keys(image)) for image in seeded.due.values())

    dry = world.cleanup(batch_size=2).run(dry_run=True)

    assert dry == CleanupReport(
        purged_deleted=6,
        purged_pending=2,
        purged_rejected=2,
        purged_processing=2,
        objects_deleted=expected_keys,
        dry_run=True,
    )
    assert world.s3_keys() == keys_before
    assert world.table_items() == items_before

    real = world.cleanup(batch_size=2).run()
    assert real.as_dict() == {**dry.as_dict(), "dry_run": False}
    assert_purged(world, seeded, keys_before, items_before)


# --- processing runs that died -------------------------------------------------------------


def test_a_dead_processing_run_is_released_to_its_owner_and_counted_by_a_dry_run(
    world: World,
) -> None:
    """
    GIVEN an upload whose processor died after writing an original, now 20 minutes past
          its lease (the owner never retried)
    WHEN cleanup runs with --dry-run, then for real
    THEN the dry run counts it (released_processing) and changes nothing; the real run
         returns it to PENDING_UPLOAD (staging kept, no S3 call), and when the owner
         completes again with a PNG the image is READY with exactly the keys it serves
    """
    owner = new_user("owner")
    image = world.stuck_processing(owner)
    world.app.store.write(keys.original_key(image, "jpg"), b"partial", content_type="image/jpeg")
    world.clock.advance(minutes=22)
    keys_before, items_before = world.s3_keys(), world.table_items()

    dry = world.app.cleanup.run(dry_run=True)

    assert dry == CleanupReport(released_processing=1, dry_run=True)
    assert (world.s3_keys(), world.table_items()) == (keys_before, items_before)

    assert world.app.cleanup.run() == CleanupReport(released_processing=1)
    released = world.stored(image.id)
    assert (released.status, released.processing_until) == (ImageStatus.PENDING_UPLOAD, None)
    assert released.cleanup_after == image.cleanup_after  # the abandoned-upload window
    assert world.s3_keys() == keys_before
    assert world.app.cleanup.run() == CleanupReport()

    world.app.store.write(image.staging_key, png_bytes(), content_type="image/png")
    ready = world.app.uploads.complete_upload(owner, image.id).image
    assert (ready.status, ready.content_type) == (ImageStatus.READY, "image/png")
    assert world.keys_of(image.id) == set(ready.stored_keys()) - {ready.staging_key}


def test_a_dead_processing_run_past_the_abandoned_upload_window_is_purged_entirely(
    world: World,
) -> None:
    """
    GIVEN an upload whose processor died after writing an original and a rendition, and
          nobody retried until the abandoned-upload window was over
    WHEN cleanup runs
    THEN it is purged: its item, its staging object and what the dead run wrote
    """
    owner = new_user("owner")
    image = world.stuck_processing(owner)
    world.app.store.write(keys.original_key(image, "jpg"), b"partial", content_type="image/jpeg")
    world.app.store.write(
        keys.rendition_key(image, "thumbnail", "jpg"), b"partial", content_type="image/jpeg"
    )
    world.clock.advance(hours=PENDING_HOURS + 1)

    report = world.app.cleanup.run()

    assert (report.purged_processing, report.released_processing) == (1, 0)
    assert world.repository.get(image.id) is None
    assert world.keys_of(image.id) == set()


def test_a_dead_run_released_while_its_owner_takes_over_is_skipped(world: World) -> None:
    """
    GIVEN a dead processing run listed as due by the cleanup index
    WHEN the owner completes again (taking over the expired lease) before the release
    THEN the release's conditional write loses: skipped, and the image ends READY
    """
    owner = new_user("owner")
    image = world.stuck_processing(owner)
    world.clock.advance(minutes=10)
    repository = RacingRepository(world.settings.table_name, client=world.app_dynamodb)
    completions: list[Any] = []
    repository.after_query = lambda _: completions.append(
        world.app.uploads.complete_upload(owner, image.id)
    )

    report = world.cleanup(repository=repository).run()

    assert (report.released_processing, report.skipped_conflicts) == (0, 1)
    assert completions[0].image.status is ImageStatus.READY
    assert world.stored(image.id).status is ImageStatus.READY


# --- crash safety, conflicts, concurrency ------------------------------------------------------


class CrashingStore(S3ObjectStore):
    """The real store, except that its `crash_on`-th delete_many deletes one key and dies."""

    def __init__(self, bucket: str, *, client: Any, crash_on: int, error: Exception) -> None:
        super().__init__(bucket, client=client)
        self.crash_on = crash_on
        self.error = error
        self.calls = 0

    def delete_many(self, keys: Any) -> None:
        self.calls += 1
        if self.calls == self.crash_on:
            super().delete_many(sorted(keys)[-1:])  # half-way: some keys gone, some not
            raise self.error
        super().delete_many(keys)


def test_a_purge_interrupted_half_way_is_finished_by_the_next_run(world: World) -> None:
    """
    GIVEN several due images of every kind
    WHEN the purge dies in the middle of deleting one image's objects (a crash)
    THEN the run fails, the interrupted image keeps its item (so it is still found), and
         the next run purges everything that was due and nothing else
    """
    seeded = seed_every_kind(world)
    owner = new_user("more")
    for number in range(3):
        seeded.due[f"deleted {number}"] = world.deleted(owner, tags=("gamma",))
        world.clock.advance(days=1)
    world.clock.advance(days=RETENTION_DAYS + 1)
    for name in ("deleted recently", "pending fresh", "rejected fresh", "processing live"):
        seeded.due[name] = seeded.kept.pop(name)
    keys_before, items_before = world.s3_keys(), world.table_items()
    store = CrashingStore(
        world.settings.bucket_name,
        client=world.s3,
        crash_on=2,
        error=RuntimeError("simulated crash"),
    )

    with pytest.raises(RuntimeError, match="simulated crash"):
        world.cleanup(store=store, batch_size=2).run()

    interrupted = [image for image in seeded.due.values() if world.repository.get(image.id)]
    assert len(interrupted) == len(seeded.due) - 1  # the first one was purged
    assert world.s3_keys() < keys_before

    report = world.app.cleanup.run()

    assert report.purged == len(seeded.due) - 1
    assert_purged(world, seeded, keys_before, items_before)


def test_objects_s3_refuses_to_delete_leave_the_image_for_the_next_run(world: World) -> None:
    """
    GIVEN three deleted images past retention
    WHEN S3 refuses to delete one image's objects (DeleteObjects reports errors)
    THEN that image is counted as failed and kept, the others are purged in the same run,
         and the next run purges the one left
    """
    owner = new_user("owner")
    images = [world.deleted(owner) for _ in range(3)]
    world.clock.advance(days=RETENTION_DAYS + 1)
    store = CrashingStore(
        world.settings.bucket_name,
        client=world.s3,
        crash_on=2,
        error=ObjectDeleteError(["some/key"]),
    )

    first = world.cleanup(store=store).run()

    assert (first.purged_deleted, first.failed, first.remaining) == (2, 1, False)
    left = [image for image in images if world.repository.get(image.id)]
    assert len(left) == 1
    second = world.app.cleanup.run()
    assert (second.purged_deleted, second.failed) == (1, 0)
    assert not [key for key in world.s3_keys() if any(i.id in key for i in images)]


class RacingRepository(DynamoImageRepository):
    """The real repository; `before_delete` runs once just before the conditional delete."""

    def __init__(self, table_name: str, *, client: Any) -> None:
        super().__init__(table_name, client=client)
        self.before_delete: Any = None
        self.after_query: Any = None

    def delete(self, image: Image) -> None:
        if self.before_delete is not None:
            hook, self.before_delete = self.before_delete, None
            hook(image)
        super().delete(image)

    def due_for_cleanup(
        self,
        status: ImageStatus,
        due_before: datetime,
        *,
        limit: int,
        after: Image | None = None,
    ) -> list[Image]:
        found = super().due_for_cleanup(status, due_before, limit=limit, after=after)
        if self.after_query is not None and found:
            hook, self.after_query = self.after_query, None
            hook(found)
        return found


def test_an_image_changed_before_the_conditional_delete_is_skipped(world: World) -> None:
    """
    GIVEN an abandoned upload past its cleanup time
    WHEN its owner edits it between the purge's read and its conditional delete
    THEN the delete loses (StaleImageError): the image is skipped and counted, its item
         stays, and the next run purges it
    """
    owner = new_user("owner")
    image = world.staged(owner)
    world.clock.advance(hours=PENDING_HOURS + 1)
    repository = RacingRepository(world.settings.table_name, client=world.app_dynamodb)
    repository.before_delete = lambda _: world.app.updates.update_image(
        owner, image.id, title="edited meanwhile"
    )

    report = world.cleanup(repository=repository).run()

    assert (report.purged_pending, report.skipped_conflicts) == (0, 1)
    assert world.stored(image.id).title == "edited meanwhile"
    assert world.app.cleanup.run().purged_pending == 1
    assert world.repository.get(image.id) is None


def test_an_image_restored_after_the_index_was_read_is_not_touched(world: World) -> None:
    """
    GIVEN a deleted image listed as due by the (eventually consistent) cleanup index
    WHEN it was restored meanwhile (the index still lists it)
    THEN the purge's consistent read sees READY: skipped and counted, every object kept
    """
    owner = new_user("owner")
    image = world.deleted(owner, tags=("kept",))
    world.clock.advance(days=RETENTION_DAYS + 1)
    keys_before = world.s3_keys()
    repository = RacingRepository(world.settings.table_name, client=world.app_dynamodb)

    def restore_behind_the_index(found: list[Image]) -> None:
        current = world.stored(image.id)
        restored = current.evolve(status=ImageStatus.READY, deleted_at=None, cleanup_after=None)
        world.repository.save(restored, previous=current)

    repository.after_query = restore_behind_the_index

    report = world.cleanup(repository=repository).run()

    assert (report.purged, report.skipped_conflicts, report.objects_deleted) == (0, 1, 0)
    assert world.stored(image.id).status is ImageStatus.READY
    assert world.s3_keys() == keys_before


def test_two_purges_at_once_both_finish_and_leave_a_clean_state(world: World) -> None:
    """
    GIVEN many due images of every kind
    WHEN two cleanup runs start at the same moment on two threads (small batches)
    THEN both finish without error, every due image is purged by one or both, and
         every other object and item is untouched
    """
    seeded = seed_every_kind(world)
    owner = new_user("bulk")
    for number in range(6):
        seeded.due[f"deleted {number}"] = world.deleted(owner, tags=("bulk",))
        seeded.due[f"pending {number}"] = world.staged(owner)
    world.clock.advance(days=RETENTION_DAYS + 1)
    for name in ("deleted recently", "pending fresh", "rejected fresh", "processing live"):
        seeded.due[name] = seeded.kept.pop(name)
    keys_before, items_before = world.s3_keys(), world.table_items()
    start = threading.Barrier(2)
    reports: list[CleanupReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        cleanup = CleanupService(
            repository=DynamoImageRepository(
                world.settings.table_name,
                client=one_request_at_a_time(world.session.client("dynamodb")),
            ),
            store=S3ObjectStore(
                world.settings.bucket_name, client=one_request_at_a_time(world.session.client("s3"))
            ),
            clock=world.clock,
            batch_size=3,
        )
        start.wait(timeout=10)
        try:
            reports.append(cleanup.run())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert len(reports) == 2
    assert all(not report.remaining and report.failed == 0 for report in reports)
    assert sum(report.purged for report in reports) >= len(seeded.due)
    assert_purged(world, seeded, keys_before, items_before)


# --- budget, resumption, index only --------------------------------------------------------


def test_a_run_out_of_time_stops_and_the_next_run_resumes(world: World) -> None:
    """
    GIVEN seven due images and a time budget that fits only a few purges per run
    WHEN cleanup runs repeatedly
    THEN each run purges some, reports remaining=True while work is left, and the runs
         together purge every due image exactly once, the last reporting remaining=False
         (a run given no time at all purges nothing and says work remains)
    """
    owner = new_user("owner")
    due = [world.deleted(owner) for _ in range(4)] + [world.staged(owner) for _ in range(3)]
    world.clock.advance(days=RETENTION_DAYS + 1)
    cleanup = world.cleanup(batch_size=2, time_budget_seconds=6, monotonic=FakeMonotonic(tick=1))

    no_time = cleanup.run(time_budget_seconds=0)
    assert (no_time.purged, no_time.remaining) == (0, True)

    reports = [cleanup.run()]
    while reports[-1].remaining:
        assert reports[-1].purged > 0  # every run makes progress
        assert len(reports) < 10
        reports.append(cleanup.run())

    assert len(reports) > 2
    assert sum(report.purged for report in reports) == len(due)
    assert sum(report.purged_deleted for report in reports) == 4
    assert all(world.repository.get(image.id) is None for image in due)


def test_work_is_found_only_through_the_cleanup_index_never_a_scan(world: World) -> None:
    """
    GIVEN due images of every kind
    WHEN cleanup runs
    THEN its DynamoDB calls are Queries on GSI3, consistent GetItems and the conditional
         deletes: never a Scan, never a Query on another index
    """
    seed_every_kind(world)
    calls: list[tuple[str, str | None]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append((model.name, params.get("IndexName")))

    world.app_dynamodb.meta.events.register("before-parameter-build.dynamodb", record)

    report = world.app.cleanup.run()

    assert report.purged == 4
    assert {name for name, _ in calls} == {"Query", "GetItem", "TransactWriteItems"}
    assert {index for name, index in calls if name == "Query"} == {keys.GSI3}


# --- entrypoints and logs ---------------------------------------------------------------


def test_the_scheduled_event_runs_cleanup_through_the_lambda_handler(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    GIVEN due images and the EventBridge scheduled event the cleanup rule sends
    WHEN the Lambda handler is invoked with it
    THEN it recognises a scheduled event, purges what is due and returns the counts
    """
    seeded = seed_every_kind(world)
    keys_before, items_before = world.s3_keys(), world.table_items()
    event = json.loads((EVENTS_DIR / "eventbridge_scheduled.json").read_text())
    assert lambda_handler.event_kind(event) == "scheduled"
    monkeypatch.setattr(lambda_handler, "_logging_ready", True)  # keep pytest's log setup
    set_app(world.app)
    try:
        result = lambda_handler.handler(event, SimpleNamespace(aws_request_id="req-cleanup-1"))
    finally:
        set_app(None)

    assert result == {
        "purged_deleted": 1,
        "purged_pending": 1,
        "purged_rejected": 1,
        "purged_processing": 1,
        "released_processing": 0,
        "objects_deleted": sum(len(keys.object_keys(image)) for image in seeded.due.values()),
        "skipped_conflicts": 0,
        "failed": 0,
        "remaining": False,
        "dry_run": False,
    }
    assert_purged(world, seeded, keys_before, items_before)


def test_the_cli_dry_run_prints_the_report_and_changes_nothing(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """
    GIVEN due images, among them a PROCESSING one whose processor died long ago
    WHEN `picgraph cleanup --dry-run` runs
    THEN it prints the report as JSON (dry_run true, counts filled, the dead run
         included) and changes nothing
    """
    from resolvers.cli import main

    seed_every_kind(world)
    keys_before, items_before = world.s3_keys(), world.table_items()
    set_app(world.app)
    try:
        assert main(["cleanup", "--dry-run", "--aws"]) == 0  # moto stands in for AWS
    finally:
        set_app(None)

    printed = json.loads(capsys.readouterr().out)
    assert printed["dry_run"] is True
    purged = ("purged_deleted", "purged_pending", "purged_rejected", "purged_processing")
    assert [printed[name] for name in purged] == [1, 1, 1, 1]
    assert world.s3_keys() == keys_before
    assert world.table_items() == items_before


def test_a_run_logs_one_json_line_with_its_counts(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """
    GIVEN due images
    WHEN cleanup runs
    THEN "picgraph.cleanup" logs exactly one "cleanup finished" record carrying the
         counts, which the JSON formatter renders as one JSON object
    """
    seed_every_kind(world)
    caplog.set_level(logging.INFO, logger="picgraph.cleanup")

    report = world.app.cleanup.run()

    records = [r for r in caplog.records if r.name == "picgraph.cleanup"]
    assert [record.getMessage() for record in records] == ["cleanup finished"]
    line = JsonFormatter().format(records[0])
    assert "\n" not in line
    entry = json.loads(line)
    assert {name: entry[name] for name in report.as_dict()} == report.as_dict()
    assert entry["message"] == "cleanup finished"
    assert isinstance(entry["duration_ms"], float)


def test_a_run_started_in_the_middle_of_another_run_leaves_it_nothing_to_trip_on(
    world: World,
) -> None:
    """
    GIVEN due images of every kind
    WHEN a second run starts and finishes while the first is between deleting an image's
         objects and deleting its item (deterministic overlap)
    THEN the first run finishes without error (its delete of an already purged item is
         not an error, the rest it finds gone), and the state is clean
    """
    seeded = seed_every_kind(world)
    owner = new_user("overlap")
    for number in range(3):
        seeded.due[f"deleted {number}"] = world.deleted(owner, tags=("overlap",))
    world.clock.advance(days=RETENTION_DAYS + 1)
    for name in ("deleted recently", "pending fresh", "rejected fresh", "processing live"):
        seeded.due[name] = seeded.kept.pop(name)
    keys_before, items_before = world.s3_keys(), world.table_items()
    repository = RacingRepository(world.settings.table_name, client=world.app_dynamodb)
    second: list[CleanupReport] = []
    repository.before_delete = lambda _: second.append(world.app.cleanup.run())

    first = world.cleanup(repository=repository, batch_size=2).run()

    assert second[0].purged == len(seeded.due)
    assert (first.purged, first.failed, first.remaining) == (1, 0, False)
    assert_purged(world, seeded, keys_before, items_before)
