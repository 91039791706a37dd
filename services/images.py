"""Reading images: who sees what, and short-lived URLs to the bytes."""

from __future__ import annotations

from services.ids import is_image_id
from services.models import Image, ImageStatus, Variant
from services.ports import ImageRepository, ObjectStore, RenditionUrls


class ImageReader:
    def __init__(
        self,
        *,
        repository: ImageRepository,
        store: ObjectStore,
        download_url_seconds: int,
        rendition_urls: RenditionUrls | None = None,
    ) -> None:
        """`rendition_urls` (a CDN) serves renditions; without one, the store presigns."""
        self._repository = repository
        self._store = store
        self._url_seconds = download_url_seconds
        self._rendition_urls = rendition_urls

    def get(self, viewer_id: str, image_id: str) -> Image | None:
        """READY images for everyone, any other status only for the owner, else None."""
        if not is_image_id(image_id):
            return None
        image = self._repository.get(image_id)
        if image is None or not image.visible_to(viewer_id):
            return None
        return image

    def original_url(self, viewer_id: str, image: Image) -> str | None:
        """Originals may carry location data: only their owner gets a URL."""
        if image.status is not ImageStatus.READY or image.owner_id != viewer_id:
            return None
        if image.original_key is None:
            return None
        return self._store.presign_get(image.original_key, expires_in=self._url_seconds)

    def variants(self, image: Image, image_format: str = "JPEG") -> tuple[Variant, ...]:
        """The renditions in `image_format`, smallest first; only while READY.

        A transparent image's default renditions are WebP already: they are its WEBP
        list too. An image processed before a format was offered has none in it.
        """
        if image.status is not ImageStatus.READY:
            return ()
        chosen = tuple(variant for variant in image.variants if variant.format == image_format)
        if not chosen and image_format == "WEBP":
            defaults = tuple(variant for variant in image.variants if variant.format == "JPEG")
            if defaults and all(variant.content_type == "image/webp" for variant in defaults):
                return defaults
        return chosen

    def variant_url(self, variant: Variant) -> str:
        if self._rendition_urls is not None:
            return self._rendition_urls.url_for(variant.key)
        return self._store.presign_get(variant.key, expires_in=self._url_seconds)
