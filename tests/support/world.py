"""The real app on moto: a provisioned table and bucket, a FakeClock, and helpers.

`build_moto_world()` provisions a fresh table and bucket (unique names) exactly as in
production (infra.provisioning), wires the real services to them with build_app and a
FakeClock, and returns a `MotoWorld`: the app plus the test's own boto3 clients, to seed
images through the real services and to read back every S3 key and table item. Call it
inside `moto.mock_aws()`. Test modules subclass `MotoWorld` for their own helpers.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import boto3
from PIL import Image as PILImage

from infra.dynamodb import DynamoImageRepository
from infra.provisioning import ensure_bucket, ensure_table
from infra.s3 import S3ObjectStore
from infra.settings import Settings
from resolvers.bootstrap import App, build_app
from services.imaging import PillowImageProcessor
from services.models import Image, ImageStatus
from services.ports import ImageProcessor
from tests.support.clock import FakeClock

JWT_SECRET = "unit-test-secret-0123456789-abcdefghij"

Items = dict[tuple[str, str], dict[str, Any]]


def jpeg_bytes(
    width: int = 96, height: int = 64, color: tuple[int, int, int] = (30, 120, 200)
) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), color).save(buffer, "JPEG")
    return buffer.getvalue()


JPEG = jpeg_bytes()


def new_user(label: str = "user") -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


@dataclass
class MotoWorld:
    settings: Settings
    clock: FakeClock
    app: App
    processor: ImageProcessor
    session: boto3.Session
    s3: Any  # the test's own clients, apart from the app's
    dynamodb: Any

    @property
    def repository(self) -> DynamoImageRepository:
        repository = self.app.repository
        assert isinstance(repository, DynamoImageRepository)
        return repository

    @property
    def app_dynamodb(self) -> Any:
        """The DynamoDB client the app's repository sends its requests through."""
        return self.repository.client

    def pending(self, owner: str, *, tags: tuple[str, ...] = ()) -> Image:
        return self.app.uploads.create_upload(
            owner,
            filename="photo.jpg",
            content_type="image/jpeg",
            size_bytes=len(JPEG),
            title="A photo",
            tags=list(tags),
        ).image

    def staged(self, owner: str, *, tags: tuple[str, ...] = (), data: bytes = JPEG) -> Image:
        image = self.pending(owner, tags=tags)
        self.app.store.write(image.staging_key, data, content_type="image/jpeg")
        return image

    def ready(self, owner: str, *, tags: tuple[str, ...] = ()) -> Image:
        image = self.staged(owner, tags=tags)
        completion = self.app.uploads.complete_upload(owner, image.id)
        assert completion.error is None
        assert completion.image.status is ImageStatus.READY
        return self.stored(image.id)  # as stored (what every later read sees)

    def stored(self, image_id: str) -> Image:
        image = self.repository.get(image_id)
        assert image is not None
        return image

    def s3_keys(self) -> set[str]:
        found: set[str] = set()
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.settings.bucket_name):
            found.update(entry["Key"] for entry in page.get("Contents", []))
        return found

    def keys_of(self, image_id: str) -> set[str]:
        return {key for key in self.s3_keys() if image_id in key}

    def table_items(self) -> Items:
        """Every item by (PK, SK): a test-only Scan, to prove nothing else changed."""
        found: Items = {}
        paginator = self.dynamodb.get_paginator("scan")
        for page in paginator.paginate(TableName=self.settings.table_name):
            for item in page["Items"]:
                found[(item["PK"]["S"], item["SK"]["S"])] = item
        return found


W = TypeVar("W", bound=MotoWorld)


def build_moto_world(
    world_type: type[W],
    *,
    name_prefix: str = "picgraph-test",
    env: Mapping[str, str] | None = None,
    processor: Callable[[Settings], ImageProcessor] | None = None,
    own_app_clients: bool = False,
) -> W:
    """A `world_type` on a fresh table and bucket named `name_prefix`-<unique suffix>.

    `env` adds to (or overrides) the settings' environment; `processor` makes the image
    processor from the settings (default: Pillow). By default build_app makes the app's
    adapters from the world's session; with `own_app_clients` the app's repository and
    store get plain clients of that session of their own (see `app_dynamodb`).
    """
    suffix = uuid.uuid4().hex[:12]
    settings = Settings.from_env(
        {
            "PICGRAPH_TABLE_NAME": f"{name_prefix}-{suffix}",
            "PICGRAPH_BUCKET_NAME": f"{name_prefix}-{suffix}",
            "PICGRAPH_JWT_SECRET": JWT_SECRET,
            "AWS_REGION": "us-east-1",
            **(env or {}),
        }
    )
    session = boto3.Session(region_name=settings.region)
    s3, dynamodb = session.client("s3"), session.client("dynamodb")
    ensure_table(dynamodb, settings.table_name)
    ensure_bucket(s3, settings.bucket_name, region=settings.region)
    clock = FakeClock()
    image_processor = (
        processor(settings)
        if processor is not None
        else PillowImageProcessor(max_pixels=settings.max_pixels)
    )
    if own_app_clients:
        app = build_app(
            settings,
            repository=DynamoImageRepository(
                settings.table_name, client=session.client("dynamodb")
            ),
            store=S3ObjectStore(settings.bucket_name, client=session.client("s3")),
            clock=clock,
            processor=lambda: image_processor,
        )
    else:
        app = build_app(settings, clock=clock, processor=lambda: image_processor, session=session)
    return world_type(settings, clock, app, image_processor, session, s3, dynamodb)
