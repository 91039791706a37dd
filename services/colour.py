"""Colour management: a rendition's values converted from its source's ICC profile to sRGB.

sRGB is what browsers assume for an untagged image. Relative colorimetric maps each colour
that sRGB can show to itself and clips the others, like a browser showing the original does.
The conversion runs once, on the largest rendition (the smaller ones are derived from it).
"""

from __future__ import annotations

import functools
import io
import itertools
import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import Protocol, TypeVar

from PIL import Image, ImageChops, ImageCms

__all__ = ["to_srgb"]

T = TypeVar("T")

logger = logging.getLogger("picgraph.imaging")

_SRGB_INTENT = ImageCms.Intent.RELATIVE_COLORIMETRIC
# A profile whose transform moves no probe colour by more than this is sRGB under another
# name (sRGB IEC61966-2.1 from cameras, for one, is off by 1 at most): no conversion then.
_SRGB_TOLERANCE = 1
# What ImageCms raises on an unreadable profile or one it cannot build a transform for.
_ICC_ERRORS = (ImageCms.PyCMSError, OSError, ValueError, TypeError)
# RGB profiles weigh 0.5-4 KB (a few LUT-based ones 100s of KB); JPEG allows 16 MB. Bigger
# ones are ignored, so that the transform cache below stays small whatever is uploaded.
MAX_ICC_BYTES = 1 << 20
_MIN_BAND_ROWS = 160  # a band of fewer rows is not worth a thread


class Threads(Protocol):
    """Where bands of rows are converted (services.rendering.Worker)."""

    threads: int

    def submit(self, function: Callable[[], T]) -> Future[T]: ...


def to_srgb(image: Image.Image, icc_profile: object, worker: Threads | None = None) -> Image.Image:
    """`image` (RGB or RGBA) converted from its source's ICC profile to sRGB.

    Unchanged when there is no profile, when it is sRGB already or not an RGB one (grey,
    CMYK), and when it cannot be read or used: a broken profile never fails an upload.
    The result carries no profile: untagged is sRGB on the web. With a `worker` of several
    threads, bands of rows are converted in parallel (LittleCMS converts row by row, and
    Pillow lets go of the GIL meanwhile: the same pixels).
    """
    if not isinstance(icc_profile, bytes) or not icc_profile:
        return image
    try:
        if len(icc_profile) > MAX_ICC_BYTES:
            raise ValueError(f"a {len(icc_profile):,}-byte profile, more than allowed")
        transform = _srgb_transform(icc_profile, image.mode)
        if transform is None:
            return image
        converted = _apply(transform, image, worker)
    except _ICC_ERRORS as exc:
        logger.debug("colour profile not applied, values kept as stored: %r", exc)
        return image
    converted.info = {}  # apply() tags its result with the sRGB profile: renditions carry none
    return converted


def _apply(
    transform: ImageCms.ImageCmsTransform, image: Image.Image, worker: Threads | None
) -> Image.Image:
    bands = min(worker.threads, image.height // _MIN_BAND_ROWS) if worker is not None else 1
    if worker is None or bands < 2:
        return transform.apply(image)
    edges = [image.height * index // bands for index in range(bands + 1)]
    parts = [
        worker.submit(functools.partial(transform.apply, image.crop((0, top, image.width, bottom))))
        for top, bottom in itertools.pairwise(edges)
    ]
    converted = Image.new(image.mode, image.size)
    for top, part in zip(edges, parts, strict=False):
        converted.paste(part.result(), (0, top))
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
