"""Recognise and decode an upload: sniffing, damage and size checks, reduced JPEG decodes.

A JPEG is decoded at the smallest DCT scale that still covers the largest rendition
(services.jpeg_draft). A big PNG (not interlaced) is never decoded whole: its bands come
straight from the compressed data (services.png_strips); a big HEIC's are cut from
libheif's buffer (services.heif_bands). A still WebP is decoded by libwebp at a reduced
size (services.webp_scaled).
"""

from __future__ import annotations

import functools
import io
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PIL import Image

from services.errors import InvalidImageError, UnsupportedMediaTypeError
from services.heif_bands import heif_bands
from services.jpeg_draft import jpeg_draft
from services.png_strips import png_layout, png_strips
from services.rendering import fit, reduction_factor
from services.webp_scaled import reduced_decode

__all__ = [
    "GIF",
    "HEIC",
    "HEIF",
    "JPEG",
    "PNG",
    "STREAM_MIN_PIXELS",
    "WEBP",
    "Decoded",
    "DetectedFormat",
    "decode",
    "decoding_errors",
    "sniff_format",
    "sniff_upload",
]

# PNGs from this size on are decoded band by band (see services.png_strips).
STREAM_MIN_PIXELS = 2_000_000

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


def sniff_upload(data: bytes) -> DetectedFormat:
    """sniff_format, after refusing an empty upload as an invalid image."""
    if not data:
        raise InvalidImageError(_EMPTY)
    return sniff_format(data)


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


@dataclass(frozen=True)
class Decoded:
    image: Image.Image  # possibly decoded at a reduced JPEG or WebP scale (see draft_box)
    stored_size: tuple[int, int]  # full size, as stored (before EXIF orientation)
    draft_box: tuple[float, float, float, float] | None  # the full picture, in `image` pixels
    # Set when `image` is left undecoded: its pixels, as bands of the given number of rows.
    bands: Callable[[int], Iterator[Image.Image]] | None
    exif: bytes | None = None  # the EXIF block when `image` is left undecoded


@contextmanager
def decode(
    data: bytes, detected: DetectedFormat, max_pixels: int, largest: int, *, limit_for: str = ""
) -> Iterator[Decoded]:
    """The upload opened (and decoded, unless streamed) for renditions of at most `largest` px.

    InvalidImageError when it is damaged, truncated, empty or has more than `max_pixels`
    (the limit of that format: `limit_for` says so in the message, " for a WebP image").
    """
    if detected is WEBP:
        _check_riff_not_truncated(data)
    if detected.pillow_format == "HEIF":
        _check_heif_not_truncated(data)
        _register_heif_opener()
    too_large = _too_large_for_pillow_message(max_pixels)
    with decoding_errors(too_large):
        image = Image.open(io.BytesIO(data), formats=[detected.pillow_format])
    with image:
        stored_size = image.size
        _check_pixel_count(stored_size, max_pixels, limit_for)
        big = stored_size[0] * stored_size[1] >= STREAM_MIN_PIXELS
        layout = png_layout(data) if detected is PNG else None
        if layout is not None and big:
            # Never decoded whole: bands come straight from the compressed data.
            bands = functools.partial(
                _guarded_bands, functools.partial(png_strips, data, layout), too_large
            )
            yield Decoded(image, stored_size, None, bands, layout.exif or b"")
            return
        reduced = reduction_factor(stored_size, fit(stored_size, largest)) != (1, 1)
        if detected.pillow_format == "HEIF" and big and reduced:
            # libheif's decode is the only full-size copy: bands are cut from it and
            # reduced (unreduced, they would make a full-size copy again).
            bands = functools.partial(
                _guarded_bands, functools.partial(heif_bands, data, stored_size), too_large
            )
            yield Decoded(image, stored_size, None, bands)
            return
        if detected is WEBP:
            with decoding_errors(too_large):
                scaled = reduced_decode(data, largest)
            if scaled is not None:  # decoded by libwebp, scaled, without Pillow's canvases
                small, box = scaled
                small.info = dict(image.info)  # EXIF, XMP and ICC profile, as Pillow read them
                yield Decoded(small, stored_size, box, None)
                return
        draft_box = jpeg_draft(image, fit(stored_size, largest))
        with decoding_errors(too_large):
            image.load()
        yield Decoded(image, stored_size, draft_box, None)


def _check_pixel_count(size: tuple[int, int], max_pixels: int, limit_for: str) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise InvalidImageError(_NO_PIXELS)
    if width * height > max_pixels:
        raise InvalidImageError(
            f"The image is too large: {width}x{height} pixels, "
            f"more than the {max_pixels:,} allowed{limit_for}."
        )


def _too_large_for_pillow_message(max_pixels: int) -> str:
    """When Pillow's own (global) bomb limit trips first: it does not tell the size."""
    limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
    return f"The image is too large: more than the {limit:,} pixels allowed."


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


def _guarded_bands(
    make_bands: Callable[[int], Iterator[Image.Image]], too_large_message: str, rows: int
) -> Iterator[Image.Image]:
    """make_bands(rows), its failures told as Pillow's would be (damaged, truncated)."""
    strips = make_bands(rows)
    while True:
        with decoding_errors(too_large_message):
            band = next(strips, None)
        if band is None:
            return
        yield band


@functools.cache
def _register_heif_opener() -> None:
    """Teach Pillow HEIF, once, and only when a HEIF file shows up (costly import)."""
    import pillow_heif

    pillow_heif.register_heif_opener()


@contextmanager
def decoding_errors(too_large_message: str) -> Iterator[None]:
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
