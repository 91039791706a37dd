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
import io
import logging
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageCms

from services.errors import InvalidImageError, UnsupportedMediaTypeError
from services.exif import read_exif
from services.models import ProcessedImage, Rendition
from services.placeholders import Placeholder, placeholder_for
from services.png_strips import PngLayout, png_layout, png_strips
from services.rendering import (
    DEFAULT_LIST_WEBP_QUALITY,
    JPEG_QUALITY,
    Worker,
    available_formats,
    banded_resize,
    default_threads,
    encode,
    formats_for,
    reduce_bands,
    reduction_factor,
)
from services.validation import ALLOWED_CONTENT_TYPES

__all__ = [
    "ALLOWED_FORMATS",
    "BASE_MIB",
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
    "WEBP_QUALITY",
    "DetectedFormat",
    "PillowImageProcessor",
    "memory_bound_mib",
    "sniff_format",
]

logger = logging.getLogger("picgraph.imaging")

DEFAULT_SIZES: tuple[tuple[str, int], ...] = (("thumbnail", 320), ("medium", 640), ("feed", 1080))
ALLOWED_FORMATS = ALLOWED_CONTENT_TYPES  # the same allowlist as createImageUpload's

WEBP_QUALITY = DEFAULT_LIST_WEBP_QUALITY
# Peak memory of processing one upload, as `make bench` measures it on the largest input of
# each decoder: the worst is a WebP, which Pillow decodes whole (libwebp's canvas, a copy
# as bytes, the image: ~16 bytes a pixel); PNG (8-bit) and JPEG stay under 2.5. The base
# covers the runtime, the app and two copies of the largest upload. Terraform requires
# lambda_memory_mb >= 1.3 x memory_bound_mib(max_pixels) (terraform/variables.tf).
PEAK_BYTES_PER_PIXEL = 17
BASE_MIB = 128


def memory_bound_mib(max_pixels: int) -> int:
    """The most memory (MiB) processing an upload of at most `max_pixels` pixels takes."""
    return BASE_MIB + -(-max_pixels * PEAK_BYTES_PER_PIXEL // 2**20)


# PNGs from this size on are decoded band by band (see services.png_strips).
STREAM_MIN_PIXELS = 2_000_000
_BAND_ROWS = 128

# Colour management: the stored values are converted from the source's ICC profile to sRGB,
# what browsers assume for an untagged image. Relative colorimetric maps each colour that
# sRGB can show to itself and clips the others, like a browser showing the original does.
_SRGB_INTENT = ImageCms.Intent.RELATIVE_COLORIMETRIC
# A profile whose transform moves no probe colour by more than this is sRGB under another
# name (sRGB IEC61966-2.1 from cameras, for one, is off by 1 at most): no conversion then.
_SRGB_TOLERANCE = 1
# What ImageCms raises on an unreadable profile or one it cannot build a transform for.
_ICC_ERRORS = (ImageCms.PyCMSError, OSError, ValueError, TypeError)
# RGB profiles weigh 0.5-4 KB (a few LUT-based ones 100s of KB); JPEG allows 16 MB. Bigger
# ones are ignored, so that the transform cache below stays small whatever is uploaded.
_MAX_ICC_BYTES = 1 << 20

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

# HEIF brands (ISO/IEC 23008-12): HEVC-coded ones are "HEIC"; AVIF is not an allowed format.
_HEVC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_GENERIC_HEIF_BRANDS = frozenset({b"mif1", b"mif2", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})

_EMPTY = "The file is not a valid image: it is empty."
_NO_PIXELS = "The file is not a valid image: it has no pixels."
_TRUNCATED = "The file is not a valid image: it is truncated."
_DAMAGED = "The file is not a valid image: it is damaged or cannot be decoded."
_UNSUPPORTED = (
    "The file is not a supported image type. Upload a JPEG, PNG, WebP, GIF or HEIC image."
)


@dataclass(frozen=True)
class DetectedFormat:
    """An allowed format, recognised from the file's first bytes."""

    pillow_format: str
    content_type: str
    extension: str


JPEG = DetectedFormat("JPEG", "image/jpeg", "jpg")
PNG = DetectedFormat("PNG", "image/png", "png")
GIF = DetectedFormat("GIF", "image/gif", "gif")
WEBP = DetectedFormat("WEBP", "image/webp", "webp")
HEIC = DetectedFormat("HEIF", "image/heic", "heic")
HEIF = DetectedFormat("HEIF", "image/heif", "heif")


def sniff_format(data: bytes) -> DetectedFormat:
    """The allowed format the bytes start like; UnsupportedMediaTypeError for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    heif = _sniff_heif(data)
    if heif is None:
        raise UnsupportedMediaTypeError(_UNSUPPORTED)
    return heif


def _sniff_heif(data: bytes) -> DetectedFormat | None:
    """HEIC or HEIF from the ISO-BMFF `ftyp` box: major brand, then compatible brands."""
    if len(data) < 16 or data[4:8] != b"ftyp":
        return None
    box_end = min(int.from_bytes(data[:4], "big"), len(data))
    major = data[8:12]
    brands = {major} | {data[i : i + 4] for i in range(16, box_end - 3, 4)}
    if major in _HEVC_BRANDS:
        return HEIC
    if major not in _GENERIC_HEIF_BRANDS or brands & _AVIF_BRANDS:
        return None
    return HEIC if brands & _HEVC_BRANDS else HEIF


class PillowImageProcessor:
    """ImageProcessor: validates uploads and renders resized copies, without metadata.

    Renditions come in every format of `formats` that this Pillow can write (JPEG, the
    default list, always). `threads` > 1 resizes in bands and encodes in parallel.
    """

    def __init__(
        self,
        *,
        max_pixels: int = 50_000_000,
        sizes: Sequence[tuple[str, int]] = DEFAULT_SIZES,
        formats: Sequence[str] | None = None,
        threads: int | None = None,
    ) -> None:
        if max_pixels < 1:
            raise ValueError("max_pixels must be positive")
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
        self._sizes_largest_first = tuple(sorted(sizes, key=lambda size: size[1], reverse=True))
        self._formats = chosen
        self._threads = threads or default_threads()

    def process(self, data: bytes) -> ProcessedImage:
        """Validate, decode and render `data`.

        Raises UnsupportedMediaTypeError when the bytes are not an allowed format
        and InvalidImageError when they are damaged, truncated or too large in pixels.
        """
        if not data:
            raise InvalidImageError(_EMPTY)
        detected = sniff_format(data)
        worker = Worker(self._threads)
        checksum = worker.submit(lambda: hashlib.sha256(data).hexdigest())  # while decoding
        with self._decode(data, detected) as decoded:
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

    @contextmanager
    def _decode(self, data: bytes, detected: DetectedFormat) -> Iterator[_Decoded]:
        if detected is WEBP:
            _check_riff_not_truncated(data)
        if detected.pillow_format == "HEIF":
            _check_heif_not_truncated(data)
            _register_heif_opener()
        too_large = self._too_large_for_pillow_message()
        with _decoding_errors(too_large):
            image = Image.open(io.BytesIO(data), formats=[detected.pillow_format])
        with image:
            stored_size = image.size
            self._check_pixel_count(stored_size)
            layout = png_layout(data) if detected is PNG else None
            if layout is not None and stored_size[0] * stored_size[1] >= STREAM_MIN_PIXELS:
                # Never decoded whole: bands come straight from the compressed data.
                bands = functools.partial(_guarded_bands, data, layout, too_large)
                yield _Decoded(image, stored_size, None, bands, layout.exif or b"")
                return
            draft_box = _draft(image, _fit(stored_size, self._sizes_largest_first[0][1]))
            with _decoding_errors(too_large):
                image.load()
            yield _Decoded(image, stored_size, draft_box, None)

    def _check_pixel_count(self, size: tuple[int, int]) -> None:
        width, height = size
        if width < 1 or height < 1:
            raise InvalidImageError(_NO_PIXELS)
        if width * height > self._max_pixels:
            raise InvalidImageError(
                f"The image is too large: {width}x{height} pixels, "
                f"more than the {self._max_pixels:,} allowed."
            )

    def _too_large_for_pillow_message(self) -> str:
        """When Pillow's own (global) bomb limit trips first: it does not tell the size."""
        pillow_limit = Image.MAX_IMAGE_PIXELS or self._max_pixels
        limit = min(self._max_pixels, pillow_limit)
        return f"The image is too large: more than the {limit:,} pixels allowed."

    def _render(
        self, decoded: _Decoded, orientation: int, worker: Worker
    ) -> tuple[tuple[Rendition, ...], Placeholder]:
        """Every size in every format, smallest first; each size from the next larger one."""
        transpose = _ORIENTATION_TRANSPOSE.get(orientation)
        icc_profile = decoded.image.info.get("icc_profile")  # before the source is dropped
        largest = _fit(decoded.stored_size, self._sizes_largest_first[0][1])
        current, box, opaque = _first_working(decoded, largest)
        encodes: list[tuple[str, Future[Rendition]]] = []
        upright: Image.Image | None = None
        for index, (name, limit) in enumerate(self._sizes_largest_first):
            target = _fit(decoded.stored_size, limit)
            if upright is None or current.size != target:
                if current.size != target:
                    current = banded_resize(current, target, box, worker)
                if index == 0:  # the largest: every smaller rendition is derived from it
                    current = _finish_mode(current, opaque)
                    current = _to_srgb(current, icc_profile)
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


def _check_riff_not_truncated(data: bytes) -> None:
    """WebP declares its length up front: tell "truncated" apart from "damaged"."""
    if len(data) < 8 + int.from_bytes(data[4:8], "little"):
        raise InvalidImageError(_TRUNCATED)


def _check_heif_not_truncated(data: bytes) -> None:
    """Refuse a HEIF file whose last top-level box is cut short.

    libheif decodes a truncated file without complaint, painting the missing tiles green.
    """
    offset = 0
    while offset + 8 <= len(data):
        box_size = int.from_bytes(data[offset : offset + 4], "big")
        if box_size == 0:  # the box runs to the end of the file
            return
        if box_size == 1:  # a 64-bit size follows the box type
            box_size = int.from_bytes(data[offset + 8 : offset + 16], "big")
        if box_size < 8:
            raise InvalidImageError(_DAMAGED)
        offset += box_size
        if offset > len(data):
            raise InvalidImageError(_TRUNCATED)


@dataclass(frozen=True)
class _Decoded:
    image: Image.Image  # possibly decoded at a reduced JPEG scale (see draft_box)
    stored_size: tuple[int, int]  # full size, as stored (before EXIF orientation)
    draft_box: tuple[float, float, float, float] | None  # the full picture, in `image` pixels
    # Set when `image` is left undecoded: its pixels, as bands of the given number of rows.
    bands: Callable[[int], Iterator[Image.Image]] | None
    exif: bytes | None = None  # the EXIF block when `image` is left undecoded


def _guarded_bands(
    data: bytes, layout: PngLayout, too_large_message: str, rows: int
) -> Iterator[Image.Image]:
    """png_strips, its failures told as Pillow's would be (damaged, truncated)."""
    strips = png_strips(data, layout, rows)
    while True:
        with _decoding_errors(too_large_message):
            band = next(strips, None)
        if band is None:
            return
        yield band


def _first_working(
    decoded: _Decoded, target: tuple[int, int]
) -> tuple[Image.Image, tuple[float, float, float, float] | None, bool]:
    """The source in working mode, ready for the largest resize: (image, box, opaque).

    A big non-JPEG source is converted and reduced band by band (from the compressed
    data for a streamed PNG), so that its only full-size copy is the decode, if any.
    """
    image = decoded.image
    factor = reduction_factor(decoded.stored_size, target)
    if decoded.bands is None and (image.format in ("JPEG", "MPO") or factor == (1, 1)):
        working = _working_image(image)
        return working, decoded.draft_box, working.mode != "RGBA"
    mode = _working_mode(image)
    rows = factor[1] * -(-_BAND_ROWS // factor[1])
    bands = decoded.bands(rows) if decoded.bands is not None else _crop_bands(image, rows)
    reduced = reduce_bands(
        bands, decoded.stored_size, factor, functools.partial(_to_working, mode=mode)
    )
    image.close()  # the decoded pixels, if any, are not needed any more
    return reduced.image, reduced.box, reduced.opaque


def _crop_bands(image: Image.Image, rows: int) -> Iterator[Image.Image]:
    for top in range(0, image.height, rows):
        yield image.crop((0, top, image.width, min(image.height, top + rows)))


def _finish_mode(image: Image.Image, opaque: bool) -> Image.Image:
    """RGB or RGBA from a resized working image (RGBa is premultiplied, for resizing)."""
    if image.mode == "RGBa":
        image = image.convert("RGBA")
    if image.mode == "RGBA" and opaque:
        image = image.convert("RGB")
    return image


@functools.cache
def _register_heif_opener() -> None:
    """Teach Pillow HEIF, once, and only when a HEIF file shows up (costly import)."""
    import pillow_heif

    pillow_heif.register_heif_opener()


@contextmanager
def _decoding_errors(too_large_message: str) -> Iterator[None]:
    """Turn whatever Pillow raises on a hostile or damaged file into InvalidImageError."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise InvalidImageError(too_large_message) from exc
        except MemoryError:
            raise
        # Deliberately broad, and re-raised: Pillow and its plugins (pillow-heif among them)
        # raise many unrelated types on damaged input (OSError, SyntaxError, ValueError,
        # EOFError, struct.error, IndexError, RuntimeError...); all mean "not a valid image".
        except Exception as exc:
            raise InvalidImageError(_damage_message(exc)) from exc


def _damage_message(exc: Exception) -> str:
    if isinstance(exc, EOFError) or "truncated" in str(exc).lower():
        return _TRUNCATED
    return _DAMAGED


def _fit(size: tuple[int, int], limit: int) -> tuple[int, int]:
    """`size` scaled so that its long side is at most `limit`; never enlarged."""
    width, height = size
    scale = limit / max(width, height)
    if scale >= 1:
        return size
    return max(1, round(width * scale)), max(1, round(height * scale))


def _draft(image: Image.Image, target: tuple[int, int]) -> tuple[float, float, float, float] | None:
    """Let JPEG decode at the smallest DCT scale (1/2, 1/4, 1/8) still >= `target`.

    `target` is in stored orientation, like the JPEG data. Returns the box covering the
    whole picture in the drafted image's pixels (it may have been rounded up).
    """
    if image.format not in ("JPEG", "MPO") or target == image.size:
        return None
    drafted = image.draft(None, target)
    return None if drafted is None else drafted[1]


def _working_mode(image: Image.Image) -> str:
    return "RGBA" if image.has_transparency_data else "RGB"


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


def _to_srgb(image: Image.Image, icc_profile: object) -> Image.Image:
    """`image` (RGB or RGBA) converted from its source's ICC profile to sRGB.

    Unchanged when there is no profile, when it is sRGB already or not an RGB one (grey,
    CMYK), and when it cannot be read or used: a broken profile never fails an upload.
    The result carries no profile: untagged is sRGB on the web.
    """
    if not isinstance(icc_profile, bytes) or not icc_profile:
        return image
    try:
        if len(icc_profile) > _MAX_ICC_BYTES:
            raise ValueError(f"a {len(icc_profile):,}-byte profile, more than allowed")
        transform = _srgb_transform(icc_profile, image.mode)
        if transform is None:
            return image
        converted = transform.apply(image)
    except _ICC_ERRORS as exc:
        logger.debug("colour profile not applied, values kept as stored: %r", exc)
        return image
    converted.info = {}  # apply() tags its result with the sRGB profile: renditions carry none
    return converted


@functools.lru_cache(maxsize=16)
def _srgb_transform(icc_profile: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """The transform from `icc_profile` to sRGB for `mode` images; None when it is sRGB.

    Cached: phones and cameras embed the same few profiles in every picture, and building
    a transform costs more than applying it to a rendition.
    """
    source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
    if source.profile.xcolor_space.strip() != "RGB":
        raise ValueError(f"a {source.profile.xcolor_space.strip()} profile on an RGB image")
    transform = ImageCms.buildTransform(source, _srgb_profile(), mode, mode, _SRGB_INTENT)
    probe = _colour_probe(mode)
    moved = ImageChops.difference(transform.apply(probe), probe)
    far = moved.point(lambda value: 255 if value > _SRGB_TOLERANCE else 0)
    return None if far.getbbox(alpha_only=False) is None else transform


@functools.cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@functools.cache
def _colour_probe(mode: str) -> Image.Image:
    """One pixel per colour of an 18-level grid of the RGB cube (opaque, for RGBA)."""
    levels = range(0, 256, 15)
    colours = [(red, green, blue, 255) for red in levels for green in levels for blue in levels]
    probe = Image.new("RGBA", (len(colours), 1))
    probe.putdata(colours)
    return probe.convert(mode)


def _upright_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    width, height = size
    return (height, width) if orientation in _AXES_SWAPPING_ORIENTATIONS else (width, height)
