"""Resize and encode renditions: in bands and in parallel, in every offered format.

Pillow releases the GIL while it resizes and encodes, so a resize split into bands of
output rows (each band computed from the source rows its filter reaches, exactly the
pixels of one whole resize) and the encodes of finished renditions run on several cores
at once. A big source that is not a JPEG (no DCT scaling) is first reduced by an integer
factor band by band, as it is decoded, so that no full-size working copy ever exists.
"""

from __future__ import annotations

import functools
import io
import itertools
import math
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from PIL import Image, features

from services.models import Rendition

__all__ = [
    "AVIF_QUALITY",
    "DEFAULT_LIST_WEBP_QUALITY",
    "JPEG_QUALITY",
    "WEBP_QUALITY",
    "Worker",
    "available_formats",
    "banded_resize",
    "encode",
    "fit",
    "formats_for",
    "reduce_bands",
    "reduction_factor",
]

JPEG_QUALITY = 82
DEFAULT_LIST_WEBP_QUALITY = 82  # a transparent image's default renditions, as ever
WEBP_QUALITY = 82
WEBP_METHOD = 2  # 0 (fast) .. 6 (small): 2 costs a third of the default 4 for 4 % more bytes
AVIF_QUALITY = 60
AVIF_SPEED = 9  # libaom's real-time presets: 9 encodes 1080 px in tens of ms, 6 takes 10x
# An integer reduce() before the filter when the source is 3x+ the target: much faster on
# big non-JPEG sources (no DCT scaling for them), with no visible loss at that ratio.
REDUCING_GAP = 3.0
_MIN_BAND_ROWS = 160  # fewer rows a band: too short a resize to be worth a thread
_CHUNK_BYTES = 1 << 20  # the most of the source a band copies at a time (horizontal pass)
_MAX_THREADS = 4

T = TypeVar("T")


@functools.cache
def available_formats() -> tuple[str, ...]:
    """The rendition formats this Pillow can write, JPEG (the default list) first."""
    formats = ["JPEG"]
    if features.check("webp"):
        formats.append("WEBP")
    if features.check("avif"):
        formats.append("AVIF")
    return tuple(formats)


def default_threads() -> int:
    return max(1, min(_MAX_THREADS, os.cpu_count() or 1))


@functools.cache
def _pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="picgraph-render")


class Worker:
    """Runs work on a shared thread pool, or inline with one thread."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._executor: Executor | None = _pool(threads) if threads > 1 else None

    def submit(self, function: Callable[[], T]) -> Future[T]:
        if self._executor is not None:
            return self._executor.submit(function)
        future: Future[T] = Future()
        try:
            future.set_result(function())
        except BaseException as exc:  # re-raised by future.result(), like a pool would
            future.set_exception(exc)
        return future


def fit(size: tuple[int, int], limit: int) -> tuple[int, int]:
    """`size` scaled so that its long side is at most `limit`; never enlarged."""
    width, height = size
    scale = limit / max(width, height)
    if scale >= 1:
        return size
    return max(1, round(width * scale)), max(1, round(height * scale))


def reduction_factor(source: tuple[int, int], target: tuple[int, int]) -> tuple[int, int]:
    """The integer reduce Pillow's resize(reducing_gap=REDUCING_GAP) would apply first."""
    return (
        int(source[0] / target[0] / REDUCING_GAP) or 1,
        int(source[1] / target[1] / REDUCING_GAP) or 1,
    )


@dataclass(frozen=True)
class Reduced:
    image: Image.Image  # RGB, or RGBa (premultiplied) when the source has transparency
    box: tuple[float, float, float, float]  # the whole picture, in `image` pixels
    opaque: bool  # every source pixel was opaque


def reduce_bands(
    bands: Iterable[Image.Image],
    size: tuple[int, int],
    factor: tuple[int, int],
    to_working: Callable[[Image.Image], Image.Image],
) -> Reduced:
    """Consecutive bands of a `size` picture, each converted and reduced by `factor`.

    Band heights must be multiples of factor[1] (but the last): the result is then the
    pixels of one reduce() over the whole picture.
    """
    fx, fy = factor
    reduced: Image.Image | None = None
    opaque = True
    top = 0
    for band in bands:
        rows = band.height
        working = to_working(band)
        if working is not band:
            band.close()
        if working.mode == "RGBA":
            opaque = opaque and working.getchannel("A").getextrema() == (255, 255)
            working = working.convert("RGBa")
        small = working.reduce(factor) if factor != (1, 1) else working
        if reduced is None:
            reduced = Image.new(small.mode, (-(-size[0] // fx), -(-size[1] // fy)))
        reduced.paste(small, (0, top // fy))
        top += rows
    assert reduced is not None
    return Reduced(reduced, (0.0, 0.0, size[0] / fx, size[1] / fy), opaque)


def banded_resize(
    image: Image.Image,
    size: tuple[int, int],
    box: tuple[float, float, float, float] | None,
    worker: Worker,
    finish: Callable[[Image.Image], Image.Image] | None = None,
) -> Image.Image:
    """image.resize(size, LANCZOS, box), computed in bands of output rows on `worker.threads`,
    then `finish` (a conversion that works row by row: mode, colour profile) applied to it,
    to each band on its own thread as soon as it is resized.

    Pillow resizes horizontally first, then vertically, rounding to 8 bits in between; so
    does each band, explicitly (given a box of partial rows, Pillow may pick the other
    order): the horizontal pass on copies of the source rows the band's vertical filter
    reaches, 1 MB at a time (its pixels are exactly those rows of the whole pass; a few rows
    are filtered twice, where bands meet), then the vertical pass. Bands are cut where
    the band's box is exact in float32 (Pillow's box type), so that every filter position
    is the one of the whole resize (to the last bit, or to one unit in rare pixels).
    """
    left, top, right, bottom = box if box is not None else (0.0, 0.0, *image.size)
    bands = min(worker.threads, size[1] // _MIN_BAND_ROWS)
    if bands < 2 or reduction_factor((int(right - left), int(bottom - top)), size) != (1, 1):
        resized = image.resize(
            size,
            Image.Resampling.LANCZOS,
            box=(left, top, right, bottom),
            reducing_gap=REDUCING_GAP,
        )
        return resized if finish is None else finish(resized)
    premultiplied = image.mode in ("RGBA", "LA")
    source = image.convert({"RGBA": "RGBa", "LA": "La"}[image.mode]) if premultiplied else image
    scale = (bottom - top) / size[1]
    # Source rows a band reads: its filter reaches 3 output pixels' worth either side.
    reach = 3 * scale + 2
    chunk_rows = max(16, _CHUNK_BYTES // (4 * source.width))

    def band(start: int, stop: int) -> Image.Image:
        band_top, band_bottom = top + start * scale, top + stop * scale
        first = max(0, int(band_top - reach))
        last = min(source.height, math.ceil(band_bottom + reach))
        widened = Image.new(source.mode, (size[0], last - first))
        for chunk_top in range(first, last, chunk_rows):  # a small copy of the source
            rows = source.crop((0, chunk_top, source.width, min(last, chunk_top + chunk_rows)))
            part = rows.resize(
                (size[0], rows.height), Image.Resampling.LANCZOS, box=(left, 0, right, rows.height)
            )
            widened.paste(part, (0, chunk_top - first))
        band_box = (0, band_top - first, size[0], band_bottom - first)
        part = widened.resize((size[0], stop - start), Image.Resampling.LANCZOS, box=band_box)
        if premultiplied:
            part = part.convert(image.mode)
        return part if finish is None else finish(part)

    edges = _edges(0, size[1], bands, _exact_step(top, bottom, size[1]))
    parts = [worker.submit(functools.partial(band, a, b)) for a, b in itertools.pairwise(edges)]
    finished = [part.result() for part in parts]
    result = Image.new(finished[0].mode, size)
    for start, part in zip(edges[:-1], finished, strict=True):
        result.paste(part, (0, start))
    return result


def _edges(start: int, stop: int, bands: int, step: int) -> list[int]:
    """`bands` + 1 increasing cut points from start to stop, inner ones multiples of step."""
    inner = {
        start + round((stop - start) * index / bands / step) * step for index in range(1, bands)
    }
    return [start, *sorted(edge for edge in inner if start < edge < stop), stop]


def _exact_step(top: float, bottom: float, rows: int) -> int:
    """The smallest row count whose source span is a whole number (1 if none is small)."""
    span = bottom - top
    if top != int(top) or span != int(span):
        return 1
    step = rows // math.gcd(int(span), rows)
    return step if step <= rows // 4 else 1


def encode(name: str, image: Image.Image, image_format: str) -> Rendition:
    """One rendition; the default (JPEG) list uses WebP for an image with alpha.

    Safe to call on one image from several threads at once: Pillow's save() keeps its
    options on the image itself (`encoderinfo`, merged with any already there), so
    concurrent saves of one image object would hand each other their quality; each save
    here is of a private copy (a rendition's pixels: a few MB at most).
    """
    buffer = io.BytesIO()
    image = image.copy()
    if image_format == "AVIF":
        image.save(buffer, "AVIF", quality=AVIF_QUALITY, speed=AVIF_SPEED, max_threads=1)
        content_type, extension = "image/avif", "avif"
    elif image_format == "WEBP":
        image.save(buffer, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
        content_type, extension = "image/webp", "webp"
    elif image.mode == "RGBA":
        image.save(buffer, "WEBP", quality=DEFAULT_LIST_WEBP_QUALITY)
        content_type, extension = "image/webp", "webp"
    else:
        image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=False)
        content_type, extension = "image/jpeg", "jpg"
    return Rendition(
        name=name,
        width=image.width,
        height=image.height,
        content_type=content_type,
        extension=extension,
        data=buffer.getvalue(),
        format=image_format,
    )


def formats_for(image: Image.Image, formats: Sequence[str]) -> tuple[str, ...]:
    """A transparent image's default list is WebP already: no second WebP list for it."""
    if image.mode == "RGBA":
        return tuple(name for name in formats if name != "WEBP")
    return tuple(formats)
