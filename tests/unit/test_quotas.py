"""Per-viewer upload quotas on moto (real boto3): limits, windows, the pending count.

Every test reads the quota item back from the table; the pending count must equal
the owner's images in PENDING_UPLOAD or PROCESSING after each step.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from moto import mock_aws

from infra import keys
from infra.errors import ImageAlreadyExistsError, QuotaConditionError
from infra.quotas import COUNTED_STATUSES, RELEASE_SHARDS, QuotaCharge
from infra.settings import Settings, SettingsError
from services.cleanup import DEFAULT_GRACE
from services.errors import ErrorCode, QuotaExceededError
from services.models import Image, ImageStatus
from services.quotas import RECOUNT_SETTLE, WINDOW
from tests.support.inprocess import execute_as
from tests.support.world import JPEG, JWT_SECRET, MotoWorld, build_moto_world, new_user

PENDING_HOURS = 24


class World(MotoWorld):
    def create(self, owner: str, *, size: int = len(JPEG), key: str | None = None) -> Image:
        return self.app.uploads.create_upload(
            owner,
            filename="photo.jpg",
            content_type="image/jpeg",
            size_bytes=size,
            idempotency_key=key,
        ).image

    def refused(self, owner: str, *, size: int = len(JPEG)) -> QuotaExceededError:
        images_before = self.owner_images(owner)
        with pytest.raises(QuotaExceededError) as caught:
            self.create(owner, size=size)
        assert self.owner_images(owner) == images_before  # nothing half-created
        assert caught.value.code is ErrorCode.QUOTA_EXCEEDED
        return caught.value

    def owner_images(self, owner: str) -> list[Image]:
        found = []
        for (pk, sk), item in self.table_items().items():
            if sk == keys.IMAGE_SK and item["ownerId"]["S"] == owner:
                image = self.repository.get(pk.removeprefix("IMAGE#"))
                assert image is not None
                found.append(image)
        return found

    def pending_count(self, owner: str) -> int:
        return self.repository.quota_usage(owner).pending

    def assert_count_exact(self, owner: str) -> None:
        counted = [i for i in self.owner_images(owner) if i.status in COUNTED_STATUSES]
        assert self.pending_count(owner) == len(counted)


def world_with(**env: str) -> Iterator[World]:
    with mock_aws():
        yield build_moto_world(
            World,
            name_prefix="picgraph-quota",
            env={"PICGRAPH_PENDING_UPLOAD_HOURS": str(PENDING_HOURS), **env},
        )


@pytest.fixture
def pending_world() -> Iterator[World]:
    yield from world_with(
        PICGRAPH_QUOTA_PENDING_UPLOADS="3",
        PICGRAPH_QUOTA_UPLOADS_PER_DAY="0",
        PICGRAPH_QUOTA_BYTES_PER_DAY="0",
    )


@pytest.fixture
def daily_world() -> Iterator[World]:
    yield from world_with(
        PICGRAPH_QUOTA_PENDING_UPLOADS="0",
        PICGRAPH_QUOTA_UPLOADS_PER_DAY="3",
        PICGRAPH_QUOTA_BYTES_PER_DAY="0",
    )


@pytest.fixture
def bytes_world() -> Iterator[World]:
    yield from world_with(
        PICGRAPH_QUOTA_PENDING_UPLOADS="0",
        PICGRAPH_QUOTA_UPLOADS_PER_DAY="0",
        PICGRAPH_MAX_UPLOAD_BYTES="1000",
        PICGRAPH_QUOTA_BYTES_PER_DAY="2500",
    )


# --- each limit ---------------------------------------------------------------------------


def test_pending_uploads_limit_and_its_error(pending_world: World) -> None:
    """GIVEN a limit of 3 pending uploads WHEN a viewer creates a 4th
    THEN QUOTA_EXCEEDED naming the pending quota and the soonest expiry; nothing created;
    another viewer is not affected."""
    world, owner = pending_world, new_user("pend")
    first = world.create(owner)
    world.clock.advance(minutes=5)
    world.create(owner)
    world.create(owner)
    error = world.refused(owner)
    assert error.quota == "pendingUploads"
    assert error.limit == 3
    assert first.cleanup_after is not None
    assert error.resets_at == first.cleanup_after
    soonest = keys.format_instant(first.cleanup_after)[:19] + "Z"
    assert "Complete them or wait for pending uploads to expire" in error.message
    assert soonest in error.message
    assert world.pending_count(owner) == 3
    world.create(new_user("other"))


def test_pending_count_goes_down_on_complete_reject_delete_and_up_again(
    pending_world: World,
) -> None:
    """GIVEN 3 pending uploads (the limit) WHEN one completes READY, one is rejected,
    one is deleted by its owner THEN each frees a slot, and new creates take them again."""
    world, owner = pending_world, new_user("free")
    ready, rejected, deleted = (world.create(owner) for _ in range(3))
    world.refused(owner)

    world.app.store.write(ready.staging_key, JPEG, content_type="image/jpeg")
    assert world.app.uploads.complete_upload(owner, ready.id).image.status is ImageStatus.READY
    assert world.pending_count(owner) == 2
    world.assert_count_exact(owner)

    world.app.store.write(rejected.staging_key, b"no image", content_type="image/jpeg")
    completion = world.app.uploads.complete_upload(owner, rejected.id)
    assert completion.image.status is ImageStatus.REJECTED
    assert world.pending_count(owner) == 1

    world.app.deletion.delete_image(owner, deleted.id)
    assert world.pending_count(owner) == 0
    world.assert_count_exact(owner)

    for _ in range(3):
        world.create(owner)
    world.refused(owner)
    world.assert_count_exact(owner)


def test_upload_not_found_keeps_the_slot(pending_world: World) -> None:
    """GIVEN a pending upload WHEN it is completed before any bytes arrived
    (PROCESSING, then released back to PENDING_UPLOAD) THEN it still counts."""
    world, owner = pending_world, new_user("early")
    image = world.create(owner)
    completion = world.app.uploads.complete_upload(owner, image.id)
    assert completion.error is not None
    assert completion.error.code is ErrorCode.UPLOAD_NOT_FOUND
    assert world.pending_count(owner) == 1
    world.assert_count_exact(owner)


def test_cleanup_purges_free_slots_and_release_keeps_them(pending_world: World) -> None:
    """GIVEN an abandoned upload, a dead PROCESSING run still inside its upload window, and
    one past it WHEN cleanup runs THEN the purged ones are counted out in the same
    transaction as their purge; the released one (back to PENDING_UPLOAD) still counts."""
    world, owner = pending_world, new_user("clean")
    abandoned = world.create(owner)
    dead_late = world.create(owner)
    world.repository.save(
        dead_late.evolve(
            status=ImageStatus.PROCESSING,
            processing_until=world.clock.now() + timedelta(minutes=2),
        ),
        previous=dead_late,
    )
    world.clock.advance(timedelta(hours=PENDING_HOURS) + DEFAULT_GRACE + timedelta(minutes=1))
    dead_early = world.create(owner)
    world.repository.save(
        dead_early.evolve(
            status=ImageStatus.PROCESSING,
            processing_until=world.clock.now() + timedelta(minutes=2),
        ),
        previous=dead_early,
    )
    world.clock.advance(DEFAULT_GRACE + timedelta(minutes=3))
    report = world.app.cleanup.run()
    assert report.purged_pending == 1
    assert report.purged_processing == 1
    assert report.released_processing == 1
    assert world.repository.get(abandoned.id) is None
    assert world.stored(dead_early.id).status is ImageStatus.PENDING_UPLOAD
    assert world.pending_count(owner) == 1
    world.assert_count_exact(owner)
    world.app.cleanup.run()  # nothing more: no second decrement
    assert world.pending_count(owner) == 1


def test_purging_twice_counts_out_once(pending_world: World) -> None:
    """GIVEN a pending image purged WHEN a second (late) purge of the same read runs
    THEN it is not an error and the count is not decremented again."""
    world, owner = pending_world, new_user("twice")
    image = world.create(owner)
    world.create(owner)
    world.repository.delete(image)
    world.repository.delete(image)
    assert world.pending_count(owner) == 1
    world.assert_count_exact(owner)


def test_uploads_per_day_limit_and_window_rollover(daily_world: World) -> None:
    """GIVEN 3 uploads per 24 h WHEN a 4th is created THEN QUOTA_EXCEEDED until 24 h after
    the window's first upload; at that instant a new window starts with that upload."""
    world, owner = daily_world, new_user("daily")
    started = world.clock.now()
    world.create(owner)
    world.clock.advance(hours=20)
    world.create(owner)
    world.create(owner)
    error = world.refused(owner)
    assert error.quota == "uploadsPerDay"
    assert error.limit == 3
    assert error.resets_at == started + WINDOW
    assert keys.format_instant(started + WINDOW)[:19] + "Z" in error.message
    world.clock.advance(hours=4)
    assert world.clock.now() == started + WINDOW  # the window is over at this instant
    world.create(owner)
    usage = world.repository.quota_usage(owner)
    assert usage.window_start == started + WINDOW
    assert usage.window_uploads == 1
    world.create(owner)
    world.create(owner)
    assert world.refused(owner).resets_at == started + 2 * WINDOW


def test_bytes_per_day_limit(bytes_world: World) -> None:
    """GIVEN 2500 declared bytes per 24 h WHEN uploads add up past it
    THEN the one that would go over is refused; a smaller one that fits is not."""
    world, owner = bytes_world, new_user("bytes")
    world.create(owner, size=1000)
    world.create(owner, size=1000)
    error = world.refused(owner, size=1000)
    assert error.quota == "bytesPerDay"
    assert "2000 used" in error.message
    world.create(owner, size=500)
    world.refused(owner, size=1)
    assert world.repository.quota_usage(owner).window_bytes == 2500
    world.clock.advance(WINDOW)
    world.create(owner, size=1000)
    assert world.repository.quota_usage(owner).window_bytes == 1000


def test_idempotent_replay_is_not_refused(pending_world: World) -> None:
    """GIVEN a viewer at the pending limit WHEN a create is replayed with its key
    THEN the same image comes back (it creates nothing); a new create is refused."""
    world, owner = pending_world, new_user("replay")
    image = world.create(owner, key="k-1")
    world.create(owner)
    world.create(owner)
    assert world.create(owner, key="k-1").id == image.id
    world.refused(owner)
    assert world.pending_count(owner) == 3


def test_an_existing_idempotency_record_wins_over_the_quota_condition(
    pending_world: World,
) -> None:
    """GIVEN a key already used WHEN a racing create sends the same key with a quota charge
    that also fails THEN it is ImageAlreadyExistsError (classified by each write's
    cancellation reason), never a quota refusal; a stale charge alone is
    QuotaConditionError and writes nothing."""
    world, owner = pending_world, new_user("race")
    first = world.create(owner, key="same")
    stale = QuotaCharge(
        owner_id=owner, size_bytes=1, at=world.clock.now(), window_start_seen=None, rollover=True
    )
    late = first.evolve(id="another-image-id")
    with pytest.raises(ImageAlreadyExistsError) as caught:
        world.repository.create(late, idempotency_key="same", fingerprint="x", quota=stale)
    assert caught.value.existing_image_id == first.id
    with pytest.raises(QuotaConditionError):
        world.repository.create(late, quota=stale)
    assert world.repository.get(late.id) is None
    assert world.pending_count(owner) == 1


def test_a_drifted_count_is_recounted_at_the_limit(pending_world: World) -> None:
    """GIVEN a count that drifted (an item removed without its transaction, as the TTL
    backstop does) WHEN the viewer hits the limit THEN, once the owner index has
    settled, the count is recounted and the create succeeds."""
    world, owner = pending_world, new_user("drift")
    gone = world.create(owner)
    world.create(owner)
    world.create(owner)
    world.dynamodb.delete_item(
        TableName=world.settings.table_name,
        Key={k: {"S": v} for k, v in keys.image_key(gone.id).items()},
    )
    world.refused(owner)  # the last charge is too recent to trust the index
    world.clock.advance(RECOUNT_SETTLE)
    world.create(owner)
    assert world.pending_count(owner) == 3
    world.assert_count_exact(owner)
    world.refused(owner)


def test_uploads_leaving_the_count_write_release_shards_not_the_quota_item(
    pending_world: World,
) -> None:
    """GIVEN a viewer's uploads WHEN they complete THEN the quota item is written once per
    upload (its charge) and each completion adds to the release shard of its image id:
    a busy account's completions never land on its one quota key."""
    world, owner = pending_world, new_user("shards")
    uploads = [world.create(owner) for _ in range(3)]
    quota_item = keys.quota_key(owner)
    charged = world.table_items()[(quota_item["PK"], quota_item["SK"])]
    assert charged["pending"] == {"N": "3"}
    for image in uploads:
        world.app.store.write(image.staging_key, JPEG, content_type="image/jpeg")
        assert world.app.uploads.complete_upload(owner, image.id).error is None
    after = world.table_items()
    assert after[(quota_item["PK"], quota_item["SK"])] == charged  # untouched by completions
    released: dict[int, int] = {}
    for image in uploads:
        shard = keys.shard_of(image.id, RELEASE_SHARDS)
        released[shard] = released.get(shard, 0) + 1
    for shard, count in released.items():
        key = keys.quota_release_key(owner, shard)
        assert after[(key["PK"], key["SK"])]["released"] == {"N": str(count)}
    assert world.pending_count(owner) == 0
    world.assert_count_exact(owner)


def test_a_recount_loses_to_a_release_that_happened_after_its_read(
    pending_world: World,
) -> None:
    """GIVEN a recount decided from a usage read WHEN an upload is released in between
    THEN the recount writes nothing (its release-shard condition fails) and the count
    stays exact."""
    world, owner = pending_world, new_user("race")
    first = world.create(owner)
    world.create(owner)
    observed = world.pending_count(owner)
    original = world.repository.quota_usage

    def usage_then_release(owner_id: str) -> Any:
        usage = original(owner_id)
        world.app.store.write(first.staging_key, JPEG, content_type="image/jpeg")
        assert world.app.uploads.complete_upload(owner, first.id).error is None
        return usage

    world.repository.quota_usage = usage_then_release  # type: ignore[method-assign]
    try:
        recounted = world.repository.recount_pending(owner, observed=observed, actual=2)
    finally:
        world.repository.quota_usage = original  # type: ignore[method-assign]
    assert recounted is False
    assert world.pending_count(owner) == 1
    world.assert_count_exact(owner)


# --- through the API ----------------------------------------------------------------------

CREATE = """
mutation Create($input: CreateImageUploadInput!) {
  createImageUpload(input: $input) {
    image { id }
    upload { url }
    userErrors { field message code }
  }
}
"""


def test_graphql_shows_quota_exceeded_as_a_user_error(daily_world: World) -> None:
    """GIVEN a viewer at the daily limit WHEN createImageUpload runs through the schema
    THEN no image, no upload, one userError QUOTA_EXCEEDED saying when it resets."""
    world, owner = daily_world, new_user("gql")
    variables: dict[str, Any] = {
        "input": {"filename": "a.jpg", "contentType": "image/jpeg", "sizeBytes": 100}
    }
    for _ in range(3):
        payload = execute_as(world.app, owner, CREATE, **variables)["createImageUpload"]
        assert payload["userErrors"] == []
    payload = execute_as(world.app, owner, CREATE, **variables)["createImageUpload"]
    assert payload["image"] is None
    assert payload["upload"] is None
    [error] = payload["userErrors"]
    assert error["code"] == "QUOTA_EXCEEDED"
    resets = keys.format_instant(world.clock.now() + WINDOW)[:19] + "Z"
    assert error["message"].endswith(f"the quota resets at {resets}.")


# --- settings -----------------------------------------------------------------------------


def base_env(**extra: str) -> dict[str, str]:
    return {"PICGRAPH_JWT_SECRET": JWT_SECRET, **extra}


def test_quota_settings_defaults_and_validation() -> None:
    settings = Settings.from_env(base_env())
    assert (
        settings.quota_pending_uploads,
        settings.quota_uploads_per_day,
        settings.quota_bytes_per_day,
    ) == (100, 1000, 10 * 1024**3)
    assert Settings.from_env(base_env(PICGRAPH_QUOTA_BYTES_PER_DAY="0")).quota_bytes_per_day == 0
    with pytest.raises(SettingsError, match="at least PICGRAPH_MAX_UPLOAD_BYTES"):
        Settings.from_env(base_env(PICGRAPH_QUOTA_BYTES_PER_DAY="1000"))
    with pytest.raises(SettingsError, match="PICGRAPH_QUOTA_PENDING_UPLOADS"):
        Settings.from_env(base_env(PICGRAPH_QUOTA_PENDING_UPLOADS="-1"))


def test_a_count_found_too_low_is_raised_at_the_limit(pending_world: World) -> None:
    """GIVEN a count below the images it counts (uploads made before quotas existed, then
    completed) WHEN the viewer reaches the limit on the stored count THEN the recount
    raises it to what exists and the create is refused."""
    world, owner = pending_world, new_user("low")
    for _ in range(3):
        world.create(owner)
    world.dynamodb.update_item(
        TableName=world.settings.table_name,
        Key={name: {"S": value} for name, value in keys.quota_key(owner).items()},
        UpdateExpression="SET pending = :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    world.create(owner)
    world.create(owner)
    world.clock.advance(RECOUNT_SETTLE)
    error = world.refused(owner)
    assert "You have 5 uploads that are not completed yet" in error.message
    assert world.pending_count(owner) == 5
    world.assert_count_exact(owner)
