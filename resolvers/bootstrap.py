"""The one wiring function: builds the real objects once per process (cold start).

Each service is built (and its module imported) on first use: an S3 event needs the
upload service only, a scheduled event the cleanup only, so a Lambda container pays
for what its events use (resolvers/lambda_handler.py).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from infra.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Callable

    import boto3

    from services.cleanup import CleanupService
    from services.deletion import DeletionService
    from services.images import ImageReader
    from services.listing import ListingService
    from services.ports import Clock, ImageProcessor, ImageRepository, ObjectStore, RenditionUrls
    from services.updates import UpdateService
    from services.upload_processing import UploadProcessing
    from services.uploads import UploadService


class App:
    """Every service the entrypoints call, wired to one repository and one store."""

    def __init__(
        self,
        *,
        settings: Settings,
        repository: ImageRepository,
        store: ObjectStore,
        processor: Callable[[], ImageProcessor],
        clock: Clock,
        session: boto3.Session | None,
    ) -> None:
        self.settings = settings
        self.repository = repository
        self.store = store
        self._processor = processor
        self._clock = clock
        self._session = session
        self._services: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _service(self, name: str, build: Callable[[], Any]) -> Any:
        service = self._services.get(name)
        if service is None:
            with self._lock:
                service = self._services.get(name)
                if service is None:
                    service = self._services[name] = build()
        return service

    @property
    def uploads(self) -> UploadService:
        def build() -> UploadService:
            from services.uploads import UploadService

            return UploadService(
                repository=self.repository,
                store=self.store,
                processor=self._processor,
                clock=self._clock,
                settings=self.settings,
            )

        service: UploadService = self._service("uploads", build)
        return service

    @property
    def upload_processing(self) -> UploadProcessing:
        """Processing alone, for S3 events: they never create uploads (no quota or
        request validation to import). Stateless, like the one inside `uploads`."""

        def build() -> UploadProcessing:
            from services.upload_processing import UploadProcessing

            return UploadProcessing(
                repository=self.repository,
                store=self.store,
                processor=self._processor,
                clock=self._clock,
                settings=self.settings,
            )

        service: UploadProcessing = self._service("upload_processing", build)
        return service

    @property
    def reader(self) -> ImageReader:
        def build() -> ImageReader:
            from services.images import ImageReader

            return ImageReader(
                repository=self.repository,
                store=self.store,
                download_url_seconds=self.settings.download_url_seconds,
                rendition_urls=rendition_urls(self.settings, self._session, self._clock),
            )

        service: ImageReader = self._service("reader", build)
        return service

    @property
    def updates(self) -> UpdateService:
        def build() -> UpdateService:
            from services.updates import UpdateService

            return UpdateService(repository=self.repository, clock=self._clock)

        service: UpdateService = self._service("updates", build)
        return service

    @property
    def listing(self) -> ListingService:
        def build() -> ListingService:
            from services.listing import ListingService

            return ListingService(self.repository, self.settings.cursor_secret)

        service: ListingService = self._service("listing", build)
        return service

    @property
    def deletion(self) -> DeletionService:
        def build() -> DeletionService:
            from services.deletion import DeletionService

            return DeletionService(
                repository=self.repository,
                clock=self._clock,
                retention_days=self.settings.delete_retention_days,
            )

        service: DeletionService = self._service("deletion", build)
        return service

    @property
    def cleanup(self) -> CleanupService:
        def build() -> CleanupService:
            from services.cleanup import CleanupService

            return CleanupService(repository=self.repository, store=self.store, clock=self._clock)

        service: CleanupService = self._service("cleanup", build)
        return service

    def build_all(self) -> None:
        """Build every service now (e.g. during a Lambda init that preloads)."""
        for name in (
            "uploads",
            "upload_processing",
            "reader",
            "updates",
            "listing",
            "deletion",
            "cleanup",
        ):
            getattr(self, name)


def pillow_processor_factory(settings: Settings) -> Callable[[], ImageProcessor]:
    """Pillow is imported on first use only: most invocations never process an image."""
    cache: list[ImageProcessor] = []

    def factory() -> ImageProcessor:
        if not cache:
            from services.imaging import PillowImageProcessor

            cache.append(
                PillowImageProcessor(
                    max_pixels=settings.max_pixels, max_webp_pixels=settings.max_webp_pixels
                )
            )
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
    if clock is None:
        from services.clock import SystemClock

        clock = SystemClock()
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
            feed_shards=settings.feed_shards,
            hot_tag_shards=settings.hot_tag_shards,
            hot_tags=settings.hot_tags,
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
    return App(
        settings=settings,
        repository=repository,
        store=store,
        processor=processor or pillow_processor_factory(settings),
        clock=clock,
        session=session,
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
