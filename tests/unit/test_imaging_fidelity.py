"""The fast paths keep the pictures: 3/8-scale JPEG decoding, rendition sizes, fidelity.

Fidelity is the PSNR of each rendition's pixels (as handed to the encoder) against a
reference: the whole picture decoded at full size, turned upright and resized once with
Lanczos to the rendition's size. The former pipeline (1/2-scale decode) measured 46-54 dB
on the bench's photos, the 3/8 one 44-52 dB: no visible difference (JPEG's own quality 82
loss is around 35-40 dB).
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageOps

from services import imaging, jpeg_draft, rendering
from services.imaging import PillowImageProcessor
from services.models import Rendition

samples = pytest.mark.samples
FIDELITY_DB = 40.0
LIMITS = {"thumbnail": 320, "medium": 640, "feed": 1080}


def photo_like(size: tuple[int, int]) -> Image.Image:
    """Gradients, textures at two scales and hard edges: compresses and resizes like a photo."""
    width, height = size
    gradient = Image.linear_gradient("L").resize(size)
    coarse = Image.effect_noise((width // 16, height // 16), 60).resize(
        size, Image.Resampling.BICUBIC
    )
    fine = Image.effect_noise((width // 3, height // 3), 30).resize(size, Image.Resampling.BILINEAR)
    picture = Image.merge(
        "RGB",
        (
            Image.blend(gradient, coarse, 0.5),
            Image.blend(coarse, fine, 0.4),
            Image.blend(fine, gradient.transpose(Image.Transpose.ROTATE_180), 0.5),
        ),
    )
    draw = ImageDraw.Draw(picture)
    for index in range(8):
        left, top = (index * 331) % width, (index * 217) % height
        draw.ellipse((left, top, left + width // 6, top + height // 5), outline="white", width=9)
    return picture


def jpeg(picture: Image.Image, orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90, exif=exif.tobytes())
    return buffer.getvalue()


def psnr(first: Image.Image, second: Image.Image) -> float:
    histogram = ImageChops.difference(first.convert("RGB"), second.convert("RGB")).histogram()
    squared = sum(count * (value % 256) ** 2 for value, count in enumerate(histogram))
    mean = squared / (first.width * first.height * 3)
    return math.inf if mean == 0 else 10 * math.log10(255**2 / mean)


def encoded_sources(
    data: bytes, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Image.Image], tuple[Rendition, ...]]:
    """Each JPEG rendition's pixels as handed to the encoder, by name, and the renditions."""
    sources: dict[str, Image.Image] = {}
    original = rendering.encode

    def capturing(name: str, image: Image.Image, image_format: str) -> Rendition:
        sources[name] = image.copy()
        return original(name, image, image_format)

    monkeypatch.setattr(imaging, "encode", capturing)
    result = PillowImageProcessor(formats=("JPEG",), threads=1).process(data)
    return sources, result.renditions


def reference(data: bytes, size: tuple[int, int]) -> Image.Image:
    with Image.open(io.BytesIO(data)) as stored:
        upright = ImageOps.exif_transpose(stored.convert("RGB"))
    return upright.resize(size, Image.Resampling.LANCZOS)


def test_three_eighths_decode_covers_the_feed_and_the_whole_picture() -> None:
    """GIVEN a 3001x2251 JPEG (3/8 of it, 1126x845, covers 1080x810; 1/4 would not)
    WHEN drafted for the feed THEN it decodes at 3/8 (rounded up) and the box is the
    whole picture in those pixels."""
    data = jpeg(photo_like((3001, 2251)))
    with Image.open(io.BytesIO(data)) as image:
        box = jpeg_draft.jpeg_draft(image, (1080, 810))
        image.load()
        assert image.size == (1126, 845)
        assert box == (0.0, 0.0, 3001 * 3 / 8, 2251 * 3 / 8)


def test_three_eighths_decode_is_the_picture_at_that_scale() -> None:
    """GIVEN a 3000x2248 JPEG WHEN decoded at 3/8 THEN it is the full decode scaled to
    1125x843 (within FIDELITY_DB: the scaled IDCT is a good low-pass)."""
    data = jpeg(photo_like((3000, 2248)))
    with Image.open(io.BytesIO(data)) as image:
        jpeg_draft.jpeg_draft(image, (1080, 809))
        image.load()
        assert image.size == (1125, 843)
        full = Image.open(io.BytesIO(data)).convert("RGB")
        assert psnr(image, full.resize(image.size, Image.Resampling.LANCZOS)) > FIDELITY_DB


@pytest.mark.parametrize(
    ("size", "decoded"), [((2400, 1800), (1200, 900)), ((9000, 6000), (1125, 750))]
)
def test_other_scales_are_pillows(size: tuple[int, int], decoded: tuple[int, int]) -> None:
    """GIVEN JPEGs where 1/2 or 1/8 is the smallest scale covering the feed THEN Pillow's own
    draft decides, as before (3/8 is only taken where 1/4 is too small)."""
    data = jpeg(Image.new("RGB", size, "gray"))
    with Image.open(io.BytesIO(data)) as image:
        jpeg_draft.jpeg_draft(image, rendering.fit(size, 1080))
        image.load()
        assert image.size == decoded


def test_without_libjpeg_turbo_the_half_scale_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN a Pillow built without libjpeg-turbo (IJG 6b would decode 1/3 at 1/2 and
    overflow the rows) THEN the 3/8 scale is never asked for."""
    monkeypatch.setattr(jpeg_draft, "_libjpeg_scales_by_eighths", lambda: False)
    data = jpeg(Image.new("RGB", (4000, 3000), "gray"))
    with Image.open(io.BytesIO(data)) as image:
        jpeg_draft.jpeg_draft(image, (1080, 810))
        image.load()
        assert image.size == (2000, 1500)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_three_eighths_renditions_are_upright_and_faithful(
    orientation: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a 3648x2736 photo stored with each orientation (decoded at 3/8)
    WHEN processed THEN each rendition has the upright size and is within FIDELITY_DB of
    the full-size decode resized once with Lanczos."""
    picture = photo_like((3648, 2736))
    data = jpeg(picture, orientation)
    upright = (2736, 3648) if orientation >= 5 else (3648, 2736)

    sources, renditions = encoded_sources(data, monkeypatch)

    for rendition in renditions:
        expected = rendering.fit(upright, LIMITS[rendition.name])
        assert (rendition.width, rendition.height) == expected
        assert psnr(sources[rendition.name], reference(data, expected)) >= FIDELITY_DB


@samples
def test_every_sample_keeps_its_rendition_sizes(samples_dir: Path) -> None:
    """GIVEN every JPEG, PNG and HEIC of the samples (the broken ones aside)
    WHEN processed THEN each rendition is the upright picture fitted to its limit."""
    processor = PillowImageProcessor(formats=("JPEG",))
    checked = 0
    for path in sorted(samples_dir.rglob("*")):
        if path.suffix.lower() not in (".jpg", ".jpeg", ".png", ".heic") or "broken" in path.parts:
            continue
        result = processor.process(path.read_bytes())
        for rendition in result.renditions:
            fitted = rendering.fit((result.width, result.height), LIMITS[rendition.name])
            assert (rendition.width, rendition.height) == fitted, path.name
        checked += 1
    assert checked >= 20
