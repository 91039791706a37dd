"""Write sharding of the cleanup index: deterministic shards, exact merged reads."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from infra import items, keys
from infra.dynamodb import DynamoImageRepository
from infra.records import Image, ImageStatus
from tests.support import CallRecorder, create_table, seed_image

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
SHARDS = 8


@pytest.fixture
def sharded() -> Iterator[tuple[DynamoImageRepository, CallRecorder]]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        table_name = f"picgraph-{uuid.uuid4().hex[:12]}"
        create_table(client, table_name)
        repository = DynamoImageRepository(table_name, client=client, cleanup_shards=SHARDS)
        yield repository, CallRecorder().attach(client)


def pending(image_id: str) -> Image:
    return Image(
        id=image_id,
        owner_id="owner",
        filename="a.jpg",
        content_type="image/jpeg",
        declared_size=10,
        created_at=T0,
        updated_at=T0,
        cleanup_after=T0 + timedelta(hours=1),
    )


def test_shard_is_a_function_of_the_image_id_and_shard_zero_is_todays_key() -> None:
    # GIVEN ids WHEN sharded over 1 and 8 shards THEN 1 shard is the unsharded key
    ids = [str(uuid.UUID(int=number)) for number in range(200)]
    assert {keys.shard_of(image_id, 1) for image_id in ids} == {0}
    spread = {keys.shard_of(image_id, SHARDS) for image_id in ids}
    assert spread == set(range(SHARDS))
    assert [keys.shard_of(image_id, SHARDS) for image_id in ids] == [
        keys.shard_of(image_id, SHARDS) for image_id in ids
    ]
    image = pending(ids[0])
    assert keys.cleanup_index_key(image)["GSI3PK"] == "CLEANUP#PENDING_UPLOAD"
    shard = keys.shard_of(image.id, SHARDS)
    expected = "CLEANUP#PENDING_UPLOAD" + ("" if shard == 0 else f"#{shard}")
    assert items.deserialize(items.to_item(image, cleanup_shards=SHARDS))["GSI3PK"] == expected


def test_due_for_cleanup_merges_every_shard_in_due_order_and_resumes_exactly(
    sharded: tuple[DynamoImageRepository, CallRecorder],
) -> None:
    # GIVEN 30 pending uploads due one minute apart, spread over 8 shards
    repository, recorder = sharded
    seeded = [
        seed_image(
            repository, "owner", T0 + timedelta(minutes=minute), status=ImageStatus.PENDING_UPLOAD
        )
        for minute in range(30)
    ]
    stored = {
        repository.client.get_item(
            TableName=repository.table_name, Key=items.serialize(keys.image_key(image.id))
        )["Item"]["GSI3PK"]["S"]
        for image in seeded
    }
    assert len(stored) > 1  # really sharded
    # WHEN reading batches of 7, each resuming past the last image of the one before
    recorder.clear()
    found: list[Image] = []
    after: Image | None = None
    while True:
        batch = repository.due_for_cleanup(
            ImageStatus.PENDING_UPLOAD, T0 + timedelta(days=1), limit=7, after=after
        )
        if not batch:
            break
        found.extend(batch)
        after = batch[-1]
    # THEN every image comes exactly once, soonest due first, one Query per shard per batch
    assert [image.id for image in found] == [image.id for image in seeded]
    assert recorder.count("Query") == SHARDS * (len(seeded) // 7 + 2)


def test_due_for_cleanup_finds_entries_written_with_fewer_shards(
    sharded: tuple[DynamoImageRepository, CallRecorder],
) -> None:
    # GIVEN an upload written before sharding (shard count 1), then the count raised
    repository, _ = sharded
    before = DynamoImageRepository(repository.table_name, client=repository.client)
    old = seed_image(before, "owner", T0, status=ImageStatus.PENDING_UPLOAD)
    new = seed_image(
        repository, "owner", T0 + timedelta(minutes=1), status=ImageStatus.PENDING_UPLOAD
    )
    # WHEN the sharded repository reads the cleanup index THEN it finds both
    due = repository.due_for_cleanup(ImageStatus.PENDING_UPLOAD, T0 + timedelta(days=1), limit=10)
    assert [image.id for image in due] == [old.id, new.id]


def test_simulation_meets_the_hot_key_goal_for_the_cleanup_index(tmp_path: Path) -> None:
    # GIVEN a small peak WHEN the simulation runs both layouts THEN the sharded cleanup
    # index's hottest key is far below the baseline's, and the JSON rows are written
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/bench_scale.py"), "--rate", "300"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    rows = json.loads((tmp_path / "build/bench/bench_scale.json").read_text())
    gsi3 = next(row for row in rows if row["what"] == "bench_scale hottest key WCU/s, GSI3")
    baseline, sharded_figure = gsi3["figure"].split("; ")
    assert "CLEANUP#PENDING_UPLOAD)" in baseline
    assert float(baseline.split()[1].replace(",", "")) > 10 * float(
        sharded_figure.split()[1].replace(",", "")
    )
    # ... and so is the feed month's (GSI2)
    gsi2 = next(row for row in rows if row["what"] == "bench_scale hottest key WCU/s, GSI2")
    feed_baseline, feed_sharded = gsi2["figure"].split("; ")
    assert "FEED#2026-11)" in feed_baseline
    assert "FEED#2026-11#" in feed_sharded
    assert float(feed_baseline.split()[1].replace(",", "")) > 10 * float(
        feed_sharded.split()[1].replace(",", "")
    )
    assert "sharded" in result.stdout


def test_each_status_gets_the_shards_its_write_rate_needs_and_raising_never_lowers_one() -> None:
    # GIVEN the default PICGRAPH_CLEANUP_SHARDS WHEN counting shards per status THEN the
    # upload path keeps them all, DELETED an eighth, REJECTED (~100 WCU/s at peak) one
    assert keys.cleanup_shard_count(ImageStatus.PENDING_UPLOAD, 64) == 64
    assert keys.cleanup_shard_count(ImageStatus.PROCESSING, 64) == 64
    assert keys.cleanup_shard_count(ImageStatus.DELETED, 64) == 8
    assert keys.cleanup_shard_count(ImageStatus.REJECTED, 64) == 1
    assert sum(len(keys.cleanup_partitions(status, 64)) for status in keys.CLEANUP_STATUSES) == 137
    # AND raising the setting never lowers a status's count (entries stay where reads look)
    for status in keys.CLEANUP_STATUSES:
        counts = [keys.cleanup_shard_count(status, shards) for shards in range(1, 1025)]
        assert counts == sorted(counts)
        assert counts[0] == 1


def test_a_cold_status_is_written_and_read_over_its_own_shard_count() -> None:
    # GIVEN 40 deleted images in a repository with 64 cleanup shards
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        table_name = f"picgraph-{uuid.uuid4().hex[:12]}"
        create_table(client, table_name)
        repository = DynamoImageRepository(table_name, client=client, cleanup_shards=64)
        deleted = [
            seed_image(repository, "owner", T0 + timedelta(minutes=m), status=ImageStatus.DELETED)
            for m in range(40)
        ]
        partitions = {
            client.get_item(TableName=table_name, Key=items.serialize(keys.image_key(image.id)))[
                "Item"
            ]["GSI3PK"]["S"]
            for image in deleted
        }
        recorder = CallRecorder().attach(client)
        # WHEN the cleanup reads DELETED
        due = repository.due_for_cleanup(ImageStatus.DELETED, T0 + timedelta(days=400), limit=50)
    # THEN the entries sit in its 8 shards, one Query per shard finds every one in order
    assert partitions <= set(keys.cleanup_partitions(ImageStatus.DELETED, 64))
    assert len(partitions) > 1
    assert recorder.count("Query") == 8
    assert sorted(image.id for image in due) == sorted(image.id for image in deleted)


def test_a_cold_fan_out_builds_one_client_not_one_per_thread() -> None:
    # GIVEN a repository that creates its client lazily from a session (as in Lambda)
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        table_name = f"picgraph-{uuid.uuid4().hex[:12]}"
        create_table(session.client("dynamodb"), table_name)
        created: list[object] = []

        class CountingSession:
            def client(self, *args: object, **kwargs: object) -> object:
                time.sleep(0.05)  # as slow as a cold client: the other threads get in
                client = session.client(*args, **kwargs)  # type: ignore[call-overload]
                created.append(client)
                return client

        repository = DynamoImageRepository(
            table_name,
            session=CountingSession(),  # type: ignore[arg-type]
            cleanup_shards=64,
        )
        # WHEN its first call is a cleanup read over 64 shards on 16 threads
        repository.due_for_cleanup(ImageStatus.PENDING_UPLOAD, T0, limit=25)
    # THEN one client was built (each costs tens of ms of CPU at a cold start)
    assert len(created) == 1
