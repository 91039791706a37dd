"""The upload lifecycle's rules, on in-memory fakes: check the resulting state."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta

import pytest
from PIL import Image as PILImage

from infra.settings import Settings
from services.deletion import DeletionService
from services.errors import ErrorCode, ForbiddenError, NotFoundError
from services.imaging import PillowImageProcessor
from services.models import ImageStatus, ProcessedImage
from services.ports import ImageProcessor
from services.updates import UpdateService
from services.uploads import UploadService
from tests.support.clock import FakeClock
from tests.support.fakes import FakeRepository, FakeStore

SETTINGS = Settings.from_env({"PICGRAPH_JWT_SECRET": "unit-test-secret-0123456789-abcdefghij"})


def jpeg(width: int = 800, height: int = 600) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), "teal").save(buffer, format="JPEG")
    return buffer.getvalue()


class Interrupting:
    """A real processor that lets something else happen mid-processing."""

    def __init__(self, during: Callable[[], object]) -> None:
        self._inner = PillowImageProcessor()
        self._during = during

    def process(self, data: bytes) -> ProcessedImage:
        result = self._inner.process(data)
        self._during()
        return result


class World:
    def __init__(self) -> None:
        self.repository = FakeRepository()
        self.store = FakeStore()
        self.clock = FakeClock()
        self.processor: ImageProcessor = PillowImageProcessor()
        self.uploads = UploadService(
            repository=self.repository,
            store=self.store,
            processor=lambda: self.processor,
            clock=self.clock,
            settings=SETTINGS,
        )
        self.deletion = DeletionService(
            repository=self.repository, clock=self.clock, retention_days=30
        )
        self.updates = UpdateService(repository=self.repository, clock=self.clock)

    def staged(self, owner: str = "ann", data: bytes | None = None) -> str:
        data = data if data is not None else jpeg()
        ticket = self.uploads.create_upload(
            owner, filename="a.jpg", content_type="image/jpeg", size_bytes=len(data)
        )
        self.store.write(ticket.image.staging_key, data, content_type="image/jpeg")
        return ticket.image.id


@pytest.fixture
def world() -> World:
    return World()


def test_completion_stores_original_and_renditions_then_ready(world: World) -> None:
    image_id = world.staged()
    completion = world.uploads.complete_upload("ann", image_id)
    image = completion.image
    assert completion.error is None
    assert image.status is ImageStatus.READY
    assert set(world.store.objects) == {image.original_key, *(v.key for v in image.variants)}
    assert world.repository.get(image_id) == image


def test_a_non_owner_cannot_complete(world: World) -> None:
    image_id = world.staged()
    with pytest.raises(NotFoundError):
        world.uploads.complete_upload("intruder", image_id)
    world.uploads.complete_upload("ann", image_id)
    with pytest.raises(ForbiddenError):
        world.uploads.complete_upload("intruder", image_id)


def test_a_live_processing_lease_is_respected_and_an_expired_one_is_taken_over(
    world: World,
) -> None:
    """GIVEN a run that claimed the image and died
    WHEN another completion comes before the lease ends THEN it returns PROCESSING, untouched;
    WHEN it comes after THEN it processes the image to READY."""
    image_id = world.staged()
    image = world.repository.get(image_id)
    assert image is not None
    claimed = image.evolve(
        status=ImageStatus.PROCESSING,
        processing_until=world.clock.now() + timedelta(seconds=SETTINGS.processing_lease_seconds),
    )
    world.repository.save(claimed, previous=image)
    assert world.uploads.complete_upload("ann", image_id).image == claimed
    world.clock.advance(seconds=SETTINGS.processing_lease_seconds + 1)
    assert world.uploads.complete_upload("ann", image_id).image.status is ImageStatus.READY


def test_delete_during_processing_wins_and_leaves_no_files(world: World) -> None:
    image_id = world.staged()
    world.processor = Interrupting(lambda: world.deletion.delete_image("ann", image_id))
    completion = world.uploads.complete_upload("ann", image_id)
    assert completion.image.status is ImageStatus.DELETED
    assert world.store.objects == {}


def test_an_edit_during_processing_is_kept(world: World) -> None:
    """GIVEN the owner retitles the image while it is processed THEN READY keeps the new title."""
    image_id = world.staged()
    world.processor = Interrupting(
        lambda: world.updates.update_image("ann", image_id, title="Edited", tags=["new"])
    )
    image = world.uploads.complete_upload("ann", image_id).image
    assert image.status is ImageStatus.READY
    assert image.title == "Edited"
    assert image.tags == ("new",)
    assert image.variants


def test_missing_upload_returns_to_pending(world: World) -> None:
    ticket = world.uploads.create_upload(
        "ann", filename="a.jpg", content_type="image/jpeg", size_bytes=10
    )
    completion = world.uploads.complete_upload("ann", ticket.image.id)
    assert completion.error is not None
    assert completion.error.code is ErrorCode.UPLOAD_NOT_FOUND
    stored = world.repository.get(ticket.image.id)
    assert stored is not None
    assert stored.status is ImageStatus.PENDING_UPLOAD


def test_a_stray_post_after_ready_is_dropped(world: World) -> None:
    image_id = world.staged()
    ready = world.uploads.complete_upload("ann", image_id).image
    world.store.write(ready.staging_key, b"late bytes", content_type="image/jpeg")
    completion = world.uploads.process_staged_object(ready.staging_key)
    assert completion is not None
    assert completion.image == ready
    assert ready.staging_key not in world.store.objects


def test_an_event_for_an_unknown_image_drops_the_object(world: World) -> None:
    world.store.write("uploads/nobody", b"x", content_type="image/jpeg")
    assert world.uploads.process_staged_object("uploads/nobody") is None
    assert world.store.objects == {}
    assert world.uploads.process_staged_object("images/2026/01/x.jpg") is None


def test_rejection_removes_the_bytes_and_remembers_why(world: World) -> None:
    image_id = world.staged(data=b"%PDF-1.4 not an image")
    completion = world.uploads.complete_upload("ann", image_id)
    assert completion.error is not None
    assert completion.error.code is ErrorCode.UNSUPPORTED_MEDIA_TYPE
    assert world.store.objects == {}
    replay = world.uploads.complete_upload("ann", image_id)
    assert replay.image.status is ImageStatus.REJECTED
    assert replay.error is not None
    assert (replay.error.code, replay.error.message) == (
        completion.error.code,
        completion.error.message,
    )


def test_staging_object_vanishing_before_it_is_read_returns_to_pending(world: World) -> None:
    """GIVEN the staging object disappears between its HEAD and its GET (lifecycle expiry,
    or another run finished) THEN no internal error: PENDING_UPLOAD with UPLOAD_NOT_FOUND."""
    image_id = world.staged()
    real_read = world.store.read

    def vanishing_read(key: str, *, max_bytes: int) -> bytes:
        world.store.delete_many([key])
        return real_read(key, max_bytes=max_bytes)

    world.store.read = vanishing_read  # type: ignore[method-assign]
    completion = world.uploads.complete_upload("ann", image_id)
    assert completion.image.status is ImageStatus.PENDING_UPLOAD
    assert completion.error is not None
    assert completion.error.code is ErrorCode.UPLOAD_NOT_FOUND


def test_a_second_post_during_processing_never_changes_the_original(world: World) -> None:
    """GIVEN the owner POSTs other bytes to the still-valid upload URL mid-processing
    THEN the stored original is exactly the validated bytes its checksum describes."""
    import hashlib

    first = jpeg(640, 480)
    image_id = world.staged(data=first)
    world.processor = Interrupting(
        lambda: world.store.write(f"uploads/{image_id}", jpeg(10, 10), content_type="image/jpeg")
    )
    image = world.uploads.complete_upload("ann", image_id).image
    assert image.original_key is not None
    stored = world.store.objects[image.original_key][0]
    assert stored == first
    assert image.checksum_sha256 == hashlib.sha256(first).hexdigest()
    assert (image.width, image.height) == (640, 480)


class Crash(BaseException):
    """kill -9: nothing in the service may catch it."""


def png(width: int = 300, height: int = 200) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGBA", (width, height), (10, 200, 10, 100)).save(buffer, format="PNG")
    return buffer.getvalue()


def crash_after_writes(world: World, count: int) -> None:
    """The store dies (the process is killed) right after its `count`-th write."""
    real_write = world.store.write
    writes = 0

    def write(key: str, data: bytes, *, content_type: str) -> None:
        nonlocal writes
        real_write(key, data, content_type=content_type)
        writes += 1
        if writes == count:
            world.store.write = real_write  # type: ignore[method-assign]  # the restart
            raise Crash(key)

    world.store.write = write  # type: ignore[method-assign]


def test_a_retry_in_another_format_after_a_crash_leaves_only_what_is_served(
    world: World,
) -> None:
    """GIVEN a run killed right after writing the JPEG original (before READY)
    WHEN the owner POSTs a PNG to the still-valid URL and completes after the lease
    THEN READY as PNG, and the bucket holds exactly its original and renditions
    (no orphaned .jpg, no staging object)."""
    image_id = world.staged()
    crash_after_writes(world, 1)
    with pytest.raises(Crash):
        world.uploads.complete_upload("ann", image_id)
    assert any(key.endswith(".jpg") for key in world.store.objects if key.startswith("images/"))

    world.store.write(f"uploads/{image_id}", png(), content_type="image/png")
    world.clock.advance(seconds=SETTINGS.processing_lease_seconds + 1)
    ready = world.uploads.complete_upload("ann", image_id).image

    assert (ready.status, ready.content_type) == (ImageStatus.READY, "image/png")
    assert set(world.store.objects) == {ready.original_key, *(v.key for v in ready.variants)}


def test_a_crash_mid_processing_then_delete_and_purge_leaves_nothing(world: World) -> None:
    """GIVEN a run killed after writing the original and one rendition
    WHEN the owner deletes the image and the cleanup job runs after retention
    THEN every object is gone, although the item never recorded any of their keys."""
    from services.cleanup import DEFAULT_GRACE, CleanupService

    image_id = world.staged()
    crash_after_writes(world, 2)
    with pytest.raises(Crash):
        world.uploads.complete_upload("ann", image_id)
    world.deletion.delete_image("ann", image_id)
    world.clock.advance(timedelta(days=30) + DEFAULT_GRACE)

    report = CleanupService(repository=world.repository, store=world.store, clock=world.clock).run()

    assert report.purged_deleted == 1
    assert world.store.objects == {}
    assert world.repository.get(image_id) is None


def test_a_rejected_retry_after_a_crash_removes_what_the_dead_run_wrote(world: World) -> None:
    """GIVEN a run killed after writing the original
    WHEN the owner POSTs a damaged file and completes after the lease
    THEN REJECTED, and no object of the image is left."""
    image_id = world.staged()
    crash_after_writes(world, 1)
    with pytest.raises(Crash):
        world.uploads.complete_upload("ann", image_id)
    world.store.write(f"uploads/{image_id}", b"\x89PNG\r\n\x1a\nbroken", content_type="image/png")
    world.clock.advance(seconds=SETTINGS.processing_lease_seconds + 1)

    completion = world.uploads.complete_upload("ann", image_id)

    assert completion.image.status is ImageStatus.REJECTED
    assert world.store.objects == {}


def test_an_empty_upload_is_rejected_with_a_clear_error(world: World) -> None:
    """GIVEN a zero-byte file in the staging key WHEN completed
    THEN REJECTED with INVALID_IMAGE "The uploaded file is empty.", bytes removed, and a
    second completion answers the same."""
    image_id = world.staged()
    world.store.write(f"uploads/{image_id}", b"", content_type="image/jpeg")
    completion = world.uploads.complete_upload("ann", image_id)
    assert completion.image.status is ImageStatus.REJECTED
    assert completion.error is not None
    assert (completion.error.code, completion.error.message) == (
        ErrorCode.INVALID_IMAGE,
        "The uploaded file is empty.",
    )
    assert world.store.objects == {}
    again = world.uploads.complete_upload("ann", image_id)
    assert again.error is not None
    assert (again.error.code, again.error.message) == (
        ErrorCode.INVALID_IMAGE,
        "The uploaded file is empty.",
    )


def test_an_empty_upload_on_s3_is_rejected_not_an_internal_error() -> None:
    """GIVEN a zero-byte object on S3 (moto, real boto3: a ranged GET answers InvalidRange)
    WHEN completed THEN REJECTED with INVALID_IMAGE, and the staging object is gone."""
    from moto import mock_aws

    from tests.support.world import MotoWorld, build_moto_world, new_user

    with mock_aws():
        moto = build_moto_world(MotoWorld, name_prefix="picgraph-empty")
        owner = new_user()
        image = moto.staged(owner)
        moto.app.store.write(image.staging_key, b"", content_type="image/jpeg")
        completion = moto.app.uploads.complete_upload(owner, image.id)
        assert completion.image.status is ImageStatus.REJECTED
        assert completion.error is not None
        assert completion.error.code is ErrorCode.INVALID_IMAGE
        assert completion.error.message == "The uploaded file is empty."
        assert moto.keys_of(image.id) == set()


def test_a_slow_run_overtaken_by_a_retry_in_another_format_destroys_nothing(
    world: World,
) -> None:
    """GIVEN a JPEG run so slow that its lease expires while processing, and meanwhile the
    owner re-POSTs a PNG and completes (taking over: READY as PNG)
    WHEN the slow run goes on to write its JPEG keys and finish
    THEN it loses, deletes only what it wrote, and the PNG image keeps every object."""
    image_id = world.staged()
    inner = PillowImageProcessor()
    overtaken: list[object] = []

    class Slow:
        def process(self, data: bytes) -> ProcessedImage:
            result = inner.process(data)
            if not overtaken:
                overtaken.append(True)
                world.clock.advance(seconds=SETTINGS.processing_lease_seconds + 1)
                world.store.write(f"uploads/{image_id}", png(), content_type="image/png")
                overtaken.append(world.uploads.complete_upload("ann", image_id).image)
            return result

    world.processor = Slow()
    slow = world.uploads.complete_upload("ann", image_id)

    winner = overtaken[-1]
    assert slow.image == winner
    assert isinstance(winner, type(slow.image))
    assert (winner.status, winner.content_type) == (ImageStatus.READY, "image/png")
    assert set(world.store.objects) == {winner.original_key, *(v.key for v in winner.variants)}


def test_a_run_past_half_its_lease_removes_stale_keys_only_after_winning_ready(
    world: World,
) -> None:
    """GIVEN a run killed after writing a JPEG original, then a PNG retry whose processing
    takes more than half the lease
    WHEN it finishes THEN READY as PNG and the stale .jpg is gone all the same."""
    image_id = world.staged()
    crash_after_writes(world, 1)
    with pytest.raises(Crash):
        world.uploads.complete_upload("ann", image_id)
    world.store.write(f"uploads/{image_id}", png(), content_type="image/png")
    world.clock.advance(seconds=SETTINGS.processing_lease_seconds + 1)
    world.processor = Interrupting(
        lambda: world.clock.advance(seconds=SETTINGS.processing_lease_seconds * 0.6)
    )

    ready = world.uploads.complete_upload("ann", image_id).image

    assert (ready.status, ready.content_type) == (ImageStatus.READY, "image/png")
    assert set(world.store.objects) == {ready.original_key, *(v.key for v in ready.variants)}
