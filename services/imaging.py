"""Image processing with Pillow: sniff, validate, read camera metadata, render resized copies.

Pure computation on bytes, no I/O. The pipeline decodes once (JPEG at a reduced DCT scale
when the renditions are much smaller than the original), downscales in a chain from the
largest rendition to the smallest and applies the EXIF orientation to the small results.
A source with a wide-gamut colour profile (Display P3, Adobe RGB...) is converted to sRGB
once, at the largest rendition's size, before the smaller ones are derived from it.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future

from PIL import Image

from services.colour import to_srgb
from services.decoding import (
    GIF,
    HEIC,
    HEIF,
    JPEG,
    PNG,
    STREAM_MIN_PIXELS,
    WEBP,
    Decoded,
    DetectedFormat,
    decode,
    sniff_format,
    sniff_upload,
)
from services.exif import read_exif
from services.models import ProcessedImage, Rendition
from services.placeholders import Placeholder, placeholder_for
from services.rendering import (
    DEFAULT_LIST_WEBP_QUALITY,
    JPEG_QUALITY,
    Worker,
    available_formats,
    banded_resize,
    default_threads,
    encode,
    fit,
    formats_for,
    reduce_bands,
    reduction_factor,
)
from services.validation import ALLOWED_CONTENT_TYPES

__all__ = [
    "ALLOWED_FORMATS",
    "BASE_MIB",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MAX_WEBP_PIXELS",
    "DEFAULT_SIZES",
    "GIF",
    "HEIC",
    "HEIF",
    "JPEG",
    "JPEG_QUALITY",
    "PEAK_BYTES_PER_PIXEL",
    "PNG",
    "STREAM_MIN_PIXELS",
    "WEBP",
    "WEBP_PEAK_BYTES_PER_PIXEL",
    "WEBP_QUALITY",
    "DetectedFormat",
    "PillowImageProcessor",
    "memory_bound_mib",
    "sniff_format",
]

DEFAULT_SIZES: tuple[tuple[str, int], ...] = (("thumbnail", 320), ("medium", 640), ("feed", 1080))
ALLOWED_FORMATS = ALLOWED_CONTENT_TYPES  # the same allowlist as createImageUpload's

WEBP_QUALITY = DEFAULT_LIST_WEBP_QUALITY
# Peak memory of processing one upload, as `make bench` measures it on the largest input of
# each decoder: a HEIC too small for an integer reduce is the worst (decoded whole by
# libheif, then copied whole by Pillow: 7.4 bytes a pixel); a bigger one is cut into bands
# from libheif's buffer, an interlaced PNG is decoded whole (both about 5); other PNGs,
# GIF and JPEG stay under 3.5 (a progressive JPEG's coefficients the most). A WebP is
# decoded by libwebp straight to twice the largest rendition (services.webp_scaled): a
# lossy one costs about its output, a lossless one its
# whole ARGB (4 bytes a pixel, the bitstream's nature): 4.8 bytes a pixel at 20 MP, the
# worst WebP. Its own, lower pixel limit (PICGRAPH_MAX_WEBP_PIXELS) dates from Pillow's
# decode (16 bytes a pixel), which stays the fallback when no libwebp can be bound. The
# base covers the runtime, the app and two copies of the largest upload. Terraform
# requires lambda_memory_mb >= 1.3 x memory_bound_mib(max_pixels, max_webp_pixels)
# (terraform/variables.tf).
PEAK_BYTES_PER_PIXEL = 8
WEBP_PEAK_BYTES_PER_PIXEL = 5
BASE_MIB = 128
DEFAULT_MAX_PIXELS = 50_000_000
DEFAULT_MAX_WEBP_PIXELS = 20_000_000


def memory_bound_mib(max_pixels: int, max_webp_pixels: int = DEFAULT_MAX_WEBP_PIXELS) -> int:
    """The most memory (MiB) processing an upload takes, given the pixel limits."""
    webp_pixels = min(max_pixels, max_webp_pixels)
    peak = max(max_pixels * PEAK_BYTES_PER_PIXEL, webp_pixels * WEBP_PEAK_BYTES_PER_PIXEL)
    return BASE_MIB + -(-peak // 2**20)


# A band of a streamed source holds about this many pixels (30 rows of 8660): its copies
# (inflated, re-stored, decoded, converted) are the transient part of the peak. Smaller
# bands also run faster (they stay in cache); 2**19 and 2**20 peaked 15 % higher.
_BAND_PIXELS = 1 << 18
_GREYSCALE_MODES = frozenset({"1", "L", "I", "F"})

_ORIENTATION_TRANSPOSE: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_AXES_SWAPPING_ORIENTATIONS = frozenset({5, 6, 7, 8})


class PillowImageProcessor:
    """ImageProcessor: validates uploads and renders resized copies, without metadata.

    Renditions come in every format of `formats` that this Pillow can write (JPEG, the
    default list, always). `threads` > 1 resizes in bands and encodes in parallel.
    """

    def __init__(
        self,
        *,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        max_webp_pixels: int = DEFAULT_MAX_WEBP_PIXELS,
        sizes: Sequence[tuple[str, int]] = DEFAULT_SIZES,
        formats: Sequence[str] | None = None,
        threads: int | None = None,
    ) -> None:
        if max_pixels < 1 or max_webp_pixels < 1:
            raise ValueError("max_pixels and max_webp_pixels must be positive")
        if not sizes or any(limit < 1 for _, limit in sizes):
            raise ValueError("sizes must be a non-empty list of positive pixel limits")
        if len({name for name, _ in sizes}) != len(sizes):
            raise ValueError("rendition names must be unique")
        offered = available_formats()
        chosen = tuple(offered if formats is None else formats)
        if "JPEG" not in chosen or any(name not in offered for name in chosen):
            raise ValueError(f"formats must include JPEG and be among {', '.join(offered)}")
        if threads is not None and threads < 1:
            raise ValueError("threads must be positive")
        self._max_pixels = max_pixels
        self._max_webp_pixels = min(max_pixels, max_webp_pixels)
        self._sizes_largest_first = tuple(sorted(sizes, key=lambda size: size[1], reverse=True))
        self._formats = chosen
        self._threads = threads or default_threads()

    def process(self, data: bytes) -> ProcessedImage:
        """Validate, decode and render `data`.

        Raises UnsupportedMediaTypeError when the bytes are not an allowed format
        and InvalidImageError when they are damaged, truncated or too large in pixels.
        """
        detected = sniff_upload(data)
        worker = Worker(self._threads)
        checksum = worker.submit(lambda: hashlib.sha256(data).hexdigest())  # while decoding
        largest = self._sizes_largest_first[0][1]
        limit = self._max_webp_pixels if detected is WEBP else self._max_pixels
        limit_for = " for a WebP image" if limit < self._max_pixels else ""
        with decode(data, detected, limit, largest, limit_for=limit_for) as decoded:
            orientation, metadata = read_exif(decoded.image, decoded.exif)
            renditions, placeholder = self._render(decoded, orientation, worker)
        width, height = _upright_size(decoded.stored_size, orientation)
        return ProcessedImage(
            format=detected.pillow_format,
            content_type=detected.content_type,
            extension=detected.extension,
            width=width,
            height=height,
            checksum_sha256=checksum.result(),
            metadata=metadata,
            renditions=renditions,
            placeholder=placeholder.thumbhash,
            dominant_color=placeholder.dominant_colour,
        )

    def _render(
        self, decoded: Decoded, orientation: int, worker: Worker
    ) -> tuple[tuple[Rendition, ...], Placeholder]:
        """Every size in every format, smallest first; each size from the next larger one."""
        transpose = _ORIENTATION_TRANSPOSE.get(orientation)
        icc_profile = decoded.image.info.get("icc_profile")  # before the source is dropped
        largest = fit(decoded.stored_size, self._sizes_largest_first[0][1])
        current, box, opaque = _first_working(decoded, largest)
        encodes: list[tuple[str, Future[Rendition]]] = []
        upright: Image.Image | None = None
        for index, (name, limit) in enumerate(self._sizes_largest_first):
            target = fit(decoded.stored_size, limit)
            if upright is None or current.size != target:
                # The largest: finished (8-bit RGB or RGBA, sRGB) as it is resized, band by
                # band; every smaller rendition is derived from it.
                finish = _finisher(opaque, icc_profile) if index == 0 else None
                if current.size != target:
                    resized = banded_resize(current, target, box, worker, finish)
                    if index == 0:  # nothing encoded yet: free the decode before encoding
                        current.close()
                        decoded.image.close()
                    current = resized
                elif index == 0:
                    current = to_srgb(_finish_mode(current, opaque), icc_profile, worker)
                box = None
                upright = current.transpose(transpose) if transpose is not None else current
            for image_format in formats_for(upright, self._formats):
                encodes.append(
                    (name, worker.submit(functools.partial(encode, name, upright, image_format)))
                )
        assert upright is not None
        placeholder = worker.submit(functools.partial(placeholder_for, upright))
        renditions = [future.result() for _, future in encodes]
        order = {name: rank for rank, (name, _) in enumerate(reversed(self._sizes_largest_first))}
        renditions.sort(key=lambda rendition: order[rendition.name])
        return tuple(renditions), placeholder.result()


def _first_working(
    decoded: Decoded, target: tuple[int, int]
) -> tuple[Image.Image, tuple[float, float, float, float] | None, bool]:
    """The source in working mode, ready for the largest resize: (image, box, opaque).

    A big non-JPEG source is converted and reduced band by band (from the compressed
    data for a streamed PNG), so that its only full-size copy is the decode, if any.
    """
    image = decoded.image
    factor = reduction_factor(decoded.stored_size, target)
    already_reduced = decoded.draft_box is not None  # a JPEG draft or a scaled WebP decode
    if decoded.bands is None and (
        already_reduced or image.format in ("JPEG", "MPO") or factor == (1, 1)
    ):
        working = _working_image(image)
        return working, decoded.draft_box, working.mode != "RGBA"
    mode = _working_mode(image)
    rows = factor[1] * -(-max(1, _BAND_PIXELS // decoded.stored_size[0]) // factor[1])
    bands = decoded.bands(rows) if decoded.bands is not None else _crop_bands(image, rows)
    reduced = reduce_bands(
        bands, decoded.stored_size, factor, functools.partial(_to_working, mode=mode)
    )
    image.close()  # the decoded pixels, if any, are not needed any more
    return reduced.image, reduced.box, reduced.opaque


def _crop_bands(image: Image.Image, rows: int) -> Iterator[Image.Image]:
    for top in range(0, image.height, rows):
        yield image.crop((0, top, image.width, min(image.height, top + rows)))


def _finisher(opaque: bool, icc_profile: object) -> Callable[[Image.Image], Image.Image]:
    """What makes rows of the resized working image a rendition's: mode, then sRGB."""

    def finish(rows: Image.Image) -> Image.Image:
        return to_srgb(_finish_mode(rows, opaque), icc_profile)

    return finish


def _finish_mode(image: Image.Image, opaque: bool) -> Image.Image:
    """RGB or RGBA from a resized working image (RGBa is premultiplied, for resizing)."""
    if image.mode == "L":
        return image.convert("RGB")
    if image.mode == "RGBa":
        image = image.convert("RGBA")
    if image.mode == "RGBA" and opaque:
        image = image.convert("RGB")
    return image


def _working_mode(image: Image.Image) -> str:
    """RGBA with transparency; a greyscale source stays L (a third of RGB's memory) until
    the largest rendition is resized: every channel of its RGB copy would be the same."""
    if image.has_transparency_data:
        return "RGBA"
    return "L" if image.mode in _GREYSCALE_MODES or image.mode.startswith("I;16") else "RGB"


def _to_working(image: Image.Image, mode: str) -> Image.Image:
    """8-bit `mode` (RGB or RGBA), without the source's metadata."""
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    working = image if image.mode == mode else image.convert(mode)
    # Derived images inherit `info`; emptied, no EXIF, XMP, ICC or comment can reach a rendition.
    working.info = {}
    return working


def _working_image(image: Image.Image) -> Image.Image:
    """8-bit RGB, or RGBA when some pixel is not opaque, without the source's metadata."""
    working = _to_working(image, _working_mode(image))
    if working.mode == "RGBA" and working.getchannel("A").getextrema() == (255, 255):
        working = working.convert("RGB")
        working.info = {}
    return working


def _upright_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    width, height = size
    return (height, width) if orientation in _AXES_SWAPPING_ORIENTATIONS else (width, height)
