"""The one wiring function: builds the real objects once per process (cold start)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from infra.settings import Settings
from services.clock import SystemClock
from services.deletion import DeletionService
from services.images import ImageReader
from services.ports import Clock, ImageProcessor, ImageRepository, ObjectStore, RenditionUrls
from services.updates import UpdateService
from services.uploads import UploadService

if TYPE_CHECKING:
    from collections.abc import Callable

    import boto3

    from services.cleanup import CleanupService
    from services.listing import ListingService


@dataclass(frozen=True)
class App:
    """Every service the entrypoints call, wired to one repository and one store."""

    settings: Settings
    repository: ImageRepository
    store: ObjectStore
    uploads: UploadService
    reader: ImageReader
    updates: UpdateService
    listing: ListingService
    deletion: DeletionService
    cleanup: CleanupService


def pillow_processor_factory(settings: Settings) -> Callable[[], ImageProcessor]:
    """Pillow is imported on first use only: most invocations never process an image."""
    cache: list[ImageProcessor] = []

    def factory() -> ImageProcessor:
        if not cache:
            from services.imaging import PillowImageProcessor

            cache.append(PillowImageProcessor(max_pixels=settings.max_pixels))
        return cache[0]

    return factory


def rendition_urls(
    settings: Settings, session: boto3.Session | None, clock: Clock
) -> RenditionUrls | None:
    """CloudFront URLs for renditions when PICGRAPH_CDN_URL is set; else the store's."""
    if settings.cdn_url is None:
        return None
    from infra.urls import PublicCdnUrls, SecretPem, SignedCdnUrls, SigningWindow

    if settings.cdn_public:
        return PublicCdnUrls(settings.cdn_url)
    # Both checked by Settings: a signed CDN needs its key.
    assert settings.cdn_key_pair_id is not None
    assert settings.cdn_private_key_secret_arn is not None
    return SignedCdnUrls(
        settings.cdn_url,
        window=SigningWindow(settings.url_window_seconds, settings.download_url_seconds),
        key_pair_id=settings.cdn_key_pair_id,
        private_key_pem=SecretPem(settings.cdn_private_key_secret_arn, session=session),
        now=clock.now,
    )


def build_app(
    settings: Settings | None = None,
    *,
    repository: ImageRepository | None = None,
    store: ObjectStore | None = None,
    processor: Callable[[], ImageProcessor] | None = None,
    clock: Clock | None = None,
    session: boto3.Session | None = None,
) -> App:
    settings = settings or Settings.from_env()
    clock = clock or SystemClock()
    if session is None and (repository is None or store is None):
        from infra.aws import new_session

        session = new_session(settings.region)
    if repository is None:
        from infra.dynamodb import DynamoImageRepository

        repository = DynamoImageRepository(
            settings.table_name,
            session=session,
            cleanup_shards=settings.cleanup_shards,
            counter_shards=settings.counter_shards,
            owner_counter_shards=settings.owner_counter_shards,
        )
    if store is None:
        from infra.s3 import S3ObjectStore

        store = S3ObjectStore(
            settings.bucket_name,
            session=session,
            public_endpoint=settings.public_s3_endpoint,
            path_style=settings.custom_endpoint,
            url_window_seconds=settings.url_window_seconds,
            shared_cache_renditions=settings.cdn_url is not None,
            now=clock.now,
        )
    from services.cleanup import CleanupService
    from services.listing import ListingService

    processor = processor or pillow_processor_factory(settings)
    return App(
        settings=settings,
        repository=repository,
        store=store,
        uploads=UploadService(
            repository=repository,
            store=store,
            processor=processor,
            clock=clock,
            settings=settings,
        ),
        reader=ImageReader(
            repository=repository,
            store=store,
            download_url_seconds=settings.download_url_seconds,
            rendition_urls=rendition_urls(settings, session, clock),
        ),
        updates=UpdateService(repository=repository, clock=clock),
        listing=ListingService(repository, settings.cursor_secret),
        deletion=DeletionService(
            repository=repository, clock=clock, retention_days=settings.delete_retention_days
        ),
        cleanup=CleanupService(repository=repository, store=store, clock=clock),
    )


_app: App | None = None
_lock = threading.Lock()


def get_app() -> App:
    """The process-wide App, built on first use (once per Lambda container)."""
    global _app
    if _app is None:
        with _lock:
            if _app is None:
                _app = build_app()
    return _app


def set_app(app: App | None) -> None:
    """Install (or, with None, forget) the process-wide App; for serve and tests."""
    global _app
    _app = app
