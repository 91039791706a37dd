"""deleteImage / restoreImage on the real repository and store (boto3 against moto).

The table and bucket are provisioned exactly as in production (infra.provisioning);
time is a FakeClock, so retention is crossed by moving the clock, not by waiting.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from moto import mock_aws

from infra import keys
from infra.s3 import S3ObjectStore
from services.errors import DomainError, ErrorCode
from services.imaging import PillowImageProcessor
from services.models import Image, ImageStatus, ProcessedImage
from services.ports import ImageProcessor
from services.rendering import available_formats
from services.uploads import UploadService
from tests.support.world import MotoWorld, build_moto_world, new_user

RETENTION_DAYS = 30
OUTPUT_PREFIXES = ("images/", "thumbnails/")


class HookedProcessor:
    """A real processor that runs `hook` (e.g. a delete) before it processes."""

    def __init__(self, inner: ImageProcessor) -> None:
        self.inner = inner
        self.hook: Callable[[], None] | None = None

    def process(self, data: bytes) -> ProcessedImage:
        if self.hook is not None:
            hook, self.hook = self.hook, None
            hook()
        return self.inner.process(data)


class HookedStore(S3ObjectStore):
    """The real store; runs `hook` once right after the `after_writes`-th write."""

    def __init__(self, bucket: str, *, client: Any) -> None:
        super().__init__(bucket, client=client)
        self.hook: Callable[[], None] | None = None
        self.after_writes = 0
        self.writes = 0

    def write(self, key: str, data: bytes, *, content_type: str) -> None:
        super().write(key, data, content_type=content_type)
        self.writes += 1
        if self.hook is not None and self.writes >= self.after_writes:
            hook, self.hook = self.hook, None
            hook()


@dataclass
class World(MotoWorld):
    processor: HookedProcessor  # the app's processor, whose hook a test may set

    def gsi1_ids(self, partition: str) -> list[str]:
        response = self.dynamodb.query(
            TableName=self.settings.table_name,
            IndexName=keys.GSI1,
            KeyConditionExpression="GSI1PK = :partition",
            ExpressionAttributeValues={":partition": {"S": partition}},
        )
        return [item["id"]["S"] for item in response["Items"]]

    def listed(self, viewer: str, **filters: Any) -> list[str]:
        connection = self.app.listing.list_images(viewer, first=100, **filters)
        return [edge.image.id for edge in connection.edges]

    def hooked_uploads(self) -> tuple[UploadService, HookedStore]:
        """An UploadService like the wired one that writes through a fresh HookedStore."""
        store = HookedStore(self.settings.bucket_name, client=self.s3)
        uploads = UploadService(
            repository=self.repository,
            store=store,
            processor=lambda: self.processor,
            clock=self.clock,
            settings=self.settings,
        )
        return uploads, store


def build_world(**env: str) -> World:
    return build_moto_world(
        World,
        env={"PICGRAPH_DELETE_RETENTION_DAYS": str(RETENTION_DAYS), **env},
        processor=lambda settings: HookedProcessor(
            PillowImageProcessor(max_pixels=settings.max_pixels)
        ),
    )


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield build_world()


def error_code(action: Callable[[], object]) -> ErrorCode:
    with pytest.raises(DomainError) as caught:
        action()
    return caught.value.code


# --- delete -------------------------------------------------------------------------------


def test_owner_delete_hides_the_image_from_everyone_else_and_keeps_it_in_the_trash(
    world: World,
) -> None:
    """
    GIVEN a READY image with tags, listed publicly, by tag and in its owner's timeline
    WHEN its owner deletes it
    THEN it is DELETED with deletedAt, gone from image(id) for others, from the feed, the
         tag timelines and the owner's READY listing; its tag items are removed; the
         owner still sees it (no URLs) and finds it with the filter status DELETED
    """
    owner, other = new_user("owner"), new_user("other")
    tag = f"sunset{uuid.uuid4().hex[:6]}"
    image = world.ready(owner, tags=(tag, "beach"))
    assert image.id in world.listed(other)
    assert image.id in world.listed(other, tags=[tag])
    assert world.gsi1_ids(keys.tag_partition(tag)) == [image.id]
    world.clock.advance(minutes=5)

    deleted = world.app.deletion.delete_image(owner, image.id)

    assert deleted.status is ImageStatus.DELETED
    assert deleted.deleted_at == world.clock.now()
    assert deleted.cleanup_after == world.clock.now() + timedelta(days=RETENTION_DAYS)
    assert world.app.reader.get(other, image.id) is None
    assert image.id not in world.listed(other)
    assert image.id not in world.listed(other, tags=[tag])
    assert image.id not in world.listed(owner, owner_id=owner)
    assert world.gsi1_ids(keys.tag_partition(tag)) == []
    assert world.gsi1_ids(keys.tag_partition("beach")) == []
    assert not [sk for pk, sk in world.table_items() if pk == f"IMAGE#{image.id}" and sk != "IMAGE"]

    seen_by_owner = world.app.reader.get(owner, image.id)
    assert seen_by_owner is not None
    assert seen_by_owner.status is ImageStatus.DELETED
    assert world.app.reader.variants(seen_by_owner) == ()
    assert world.app.reader.original_url(owner, seen_by_owner) is None
    assert world.listed(owner, owner_id=owner, status=ImageStatus.DELETED) == [image.id]
    assert world.gsi1_ids(keys.owner_partition(owner, ImageStatus.DELETED)) == [image.id]
    # Soft delete: the bytes stay until the purge.
    assert image.original_key in world.s3_keys()


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (ImageStatus.READY, ErrorCode.FORBIDDEN),
        (ImageStatus.PENDING_UPLOAD, ErrorCode.NOT_FOUND),
        (ImageStatus.REJECTED, ErrorCode.NOT_FOUND),
        (ImageStatus.DELETED, ErrorCode.NOT_FOUND),
    ],
)
def test_another_viewer_may_not_delete_and_learns_only_what_is_public(
    world: World, state: ImageStatus, expected: ErrorCode
) -> None:
    """
    GIVEN someone else's image in a given state
    WHEN a viewer who is not the owner deletes it
    THEN FORBIDDEN if it is publicly visible (READY), NOT_FOUND otherwise; nothing changes
    """
    owner, other = new_user("owner"), new_user("intruder")
    if state is ImageStatus.PENDING_UPLOAD:
        image = world.pending(owner)
    elif state is ImageStatus.REJECTED:
        image = world.staged(owner, data=b"not an image at all")
        image = world.app.uploads.complete_upload(owner, image.id).image
    else:
        image = world.ready(owner)
        if state is ImageStatus.DELETED:
            image = world.app.deletion.delete_image(owner, image.id)
    assert image.status is state

    assert error_code(lambda: world.app.deletion.delete_image(other, image.id)) is expected
    assert error_code(lambda: world.app.deletion.restore_image(other, image.id)) is expected
    assert world.repository.get(image.id) == image


def test_unknown_id_is_not_found(world: World) -> None:
    """
    GIVEN an id that was never issued
    WHEN anyone deletes or restores it
    THEN NOT_FOUND
    """
    viewer, missing = new_user("viewer"), str(uuid.uuid4())
    assert (
        error_code(lambda: world.app.deletion.delete_image(viewer, missing)) is ErrorCode.NOT_FOUND
    )
    assert (
        error_code(lambda: world.app.deletion.restore_image(viewer, missing)) is ErrorCode.NOT_FOUND
    )


def test_deleting_twice_gives_the_same_result(world: World) -> None:
    """
    GIVEN an image its owner deleted
    WHEN the owner deletes it again later (a retried request)
    THEN the same image comes back: same version, deletedAt and retention
    """
    owner = new_user("owner")
    image = world.ready(owner, tags=("twice",))
    first = world.app.deletion.delete_image(owner, image.id)
    world.clock.advance(hours=3)

    second = world.app.deletion.delete_image(owner, image.id)

    assert second == first
    assert world.repository.get(image.id) == first


def test_deleting_a_pending_upload_stops_it_from_ever_being_processed(world: World) -> None:
    """
    GIVEN an upload whose bytes arrived but which was not completed yet
    WHEN its owner deletes it, then completes it and the S3 event arrives anyway
    THEN it stays DELETED, nothing is rendered, the staging object is dropped, and it
         cannot be restored (there is nothing to restore)
    """
    owner = new_user("owner")
    image = world.staged(owner)
    world.app.deletion.delete_image(owner, image.id)

    completion = world.app.uploads.complete_upload(owner, image.id)
    world.app.uploads.process_staged_object(image.staging_key)

    assert completion.image.status is ImageStatus.DELETED
    assert world.repository.get(image.id) == completion.image
    assert world.keys_of(image.id) == set()
    assert (
        error_code(lambda: world.app.deletion.restore_image(owner, image.id)) is ErrorCode.CONFLICT
    )


OUTPUT_WRITES = 1 + 3 * len(available_formats())


# --- delete racing processing --------------------------------------------------------------


@pytest.mark.parametrize("moment", ["while decoding", "after renditions were written"])
def test_delete_racing_complete_upload_ends_deleted_without_orphans(
    world: World, moment: str
) -> None:
    """
    GIVEN an uploaded image being processed by completeImageUpload (real Pillow processor)
    WHEN its owner deletes it in the middle (while decoding, or after the renditions were
         written to S3 but before the final READY write)
    THEN the final state is DELETED, the completion reports DELETED, and S3 holds no
         original, rendition or staging object of it; after retention nothing remains
    """
    owner = new_user("owner")
    image = world.staged(owner, tags=("race",))
    uploads, store = world.hooked_uploads()
    deletions: list[Image] = []

    def delete() -> None:
        deletions.append(world.app.deletion.delete_image(owner, image.id))

    if moment == "while decoding":
        world.processor.hook = delete
    else:
        # the original and the 3 renditions in every format written
        store.hook, store.after_writes = delete, OUTPUT_WRITES

    completion = uploads.complete_upload(owner, image.id)

    assert len(deletions) == 1
    final = world.repository.get(image.id)
    assert final is not None
    assert final.status is ImageStatus.DELETED
    assert completion.image.status is ImageStatus.DELETED
    assert final.variants == ()
    assert final.original_key is None
    assert {key for key in world.keys_of(image.id) if key.startswith(OUTPUT_PREFIXES)} == set()
    assert world.keys_of(image.id) == set()
    assert world.gsi1_ids(keys.tag_partition("race")) == []
    if moment != "while decoding":
        assert store.writes == OUTPUT_WRITES  # original + renditions really written, then removed

    world.clock.advance(days=RETENTION_DAYS + 1)
    world.app.cleanup.run()
    assert world.repository.get(image.id) is None
    assert not [pk for pk, _ in world.table_items() if image.id in pk]


# --- restore ------------------------------------------------------------------------------


def test_restore_brings_back_status_indexes_tags_and_renditions(world: World) -> None:
    """
    GIVEN a READY image with tags that its owner deleted
    WHEN the owner restores it within the retention window
    THEN it is READY again with the same renditions, back in the feed, the tag timelines
         and the owner's listing, out of the trash, and served again
    """
    owner, other = new_user("owner"), new_user("other")
    tag = f"cat{uuid.uuid4().hex[:6]}"
    image = world.ready(owner, tags=(tag,))
    world.app.deletion.delete_image(owner, image.id)
    world.clock.advance(days=RETENTION_DAYS - 1)

    restored = world.app.deletion.restore_image(owner, image.id)

    assert restored.status is ImageStatus.READY
    assert restored.deleted_at is None
    assert restored.cleanup_after is None
    assert restored.variants == image.variants
    assert restored.original_key == image.original_key
    assert world.repository.get(image.id) == restored
    assert world.app.reader.get(other, image.id) == restored
    assert world.app.reader.variants(restored) == tuple(
        variant for variant in image.variants if variant.format == "JPEG"
    )
    assert world.app.reader.original_url(owner, restored) is not None
    assert image.id in world.listed(other)
    assert image.id in world.listed(other, tags=[tag])
    assert world.listed(owner, owner_id=owner) == [image.id]
    assert world.listed(owner, owner_id=owner, status=ImageStatus.DELETED) == []
    assert world.gsi1_ids(keys.tag_partition(tag)) == [image.id]
    assert set(image.stored_keys()) - {image.staging_key} <= world.s3_keys()


def test_restoring_an_image_that_is_not_deleted_is_a_conflict(world: World) -> None:
    """
    GIVEN a READY image
    WHEN its owner restores it
    THEN CONFLICT and the image is unchanged
    """
    owner = new_user("owner")
    image = world.ready(owner)
    assert error_code(lambda: world.app.deletion.restore_image(owner, image.id)) is (
        ErrorCode.CONFLICT
    )
    assert world.repository.get(image.id) == image


def test_restore_after_the_retention_window_is_not_found(world: World) -> None:
    """
    GIVEN two deleted images, not purged yet
    WHEN the owner restores one a second before its retention ends and one exactly at it
    THEN the first comes back and the second is NOT_FOUND (as if already purged)
    """
    owner = new_user("owner")
    early, late = world.ready(owner), world.ready(owner)
    world.app.deletion.delete_image(owner, early.id)
    world.app.deletion.delete_image(owner, late.id)
    world.clock.advance(days=RETENTION_DAYS, seconds=-1)

    assert world.app.deletion.restore_image(owner, early.id).status is ImageStatus.READY
    world.clock.advance(seconds=1)
    assert error_code(lambda: world.app.deletion.restore_image(owner, late.id)) is (
        ErrorCode.NOT_FOUND
    )
    still_deleted = world.repository.get(late.id)
    assert still_deleted is not None
    assert still_deleted.status is ImageStatus.DELETED


def test_restore_after_the_purge_is_not_found(world: World) -> None:
    """
    GIVEN a deleted image that cleanup purged after retention
    WHEN its owner restores it (or deletes it again)
    THEN NOT_FOUND, and no object or item of it remains
    """
    owner = new_user("owner")
    image = world.ready(owner, tags=("gone",))
    world.app.deletion.delete_image(owner, image.id)
    world.clock.advance(days=RETENTION_DAYS + 1)
    report = world.app.cleanup.run()
    assert report.purged_deleted == 1

    assert error_code(lambda: world.app.deletion.restore_image(owner, image.id)) is (
        ErrorCode.NOT_FOUND
    )
    assert error_code(lambda: world.app.deletion.delete_image(owner, image.id)) is (
        ErrorCode.NOT_FOUND
    )
    assert world.keys_of(image.id) == set()
    assert not [pk for pk, _ in world.table_items() if image.id in pk]


def test_a_stale_processor_does_not_delete_the_renditions_of_a_restorable_image(
    world: World,
) -> None:
    """
    GIVEN processor A whose lease expires while it writes renditions, processor B that
          takes over and makes the image READY, and the owner who then deletes it
    WHEN A finishes, loses its final write and abandons
    THEN A leaves the objects the DELETED image refers to, so a restore serves them
    """
    owner = new_user("owner")
    image = world.staged(owner)
    processor_a, store = world.hooked_uploads()
    takeover: list[Image] = []

    def lease_expires_and_b_takes_over() -> None:
        world.clock.advance(seconds=world.settings.processing_lease_seconds + 1)
        takeover.append(world.app.uploads.complete_upload(owner, image.id).image)
        world.app.deletion.delete_image(owner, image.id)

    store.hook, store.after_writes = lease_expires_and_b_takes_over, 1

    processor_a.complete_upload(owner, image.id)

    assert takeover[0].status is ImageStatus.READY
    restored = world.app.deletion.restore_image(owner, image.id)
    assert set(restored.stored_keys()) - {restored.staging_key} <= world.s3_keys()
