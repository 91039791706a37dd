"""A greyscale source is reduced and resized one byte a pixel, and renders as before."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from services.decoding import STREAM_MIN_PIXELS
from services.imaging import PillowImageProcessor
from tests.support.peak_memory import peak_growth_bytes


def encode(image: Image.Image, image_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def grey_picture(size: tuple[int, int]) -> Image.Image:
    """Gradients, noise and an edge: every resize tap sees different values."""
    noise = Image.effect_noise(size, 40).convert("L")
    picture = Image.blend(Image.linear_gradient("L").resize(size), noise, 0.3)
    ImageDraw.Draw(picture).rectangle((size[0] // 3, size[1] // 4, size[0] // 2, size[1]), 255)
    return picture


@pytest.mark.parametrize(
    ("size", "image_format", "mode"),
    [
        ((2100, 1000), "PNG", "L"),  # streamed in bands (over STREAM_MIN_PIXELS)
        ((2100, 1000), "PNG", "I;16"),
        ((900, 600), "PNG", "L"),  # decoded whole
        ((2100, 1000), "JPEG", "L"),  # reduced DCT decode
        ((2100, 1000), "GIF", "L"),
    ],
)
def test_greyscale_renditions_are_those_of_its_rgb_copy(
    size: tuple[int, int], image_format: str, mode: str
) -> None:
    """GIVEN a greyscale upload and the same picture stored as RGB
    WHEN both are processed
    THEN every rendition is RGB and byte for byte the RGB copy's."""
    grey = grey_picture(size)
    assert size[0] * size[1] >= STREAM_MIN_PIXELS or size == (900, 600)
    if mode == "I;16":
        grey_data = encode(grey.convert("I").point(lambda value: value * 257).convert(mode), "PNG")
    else:
        grey_data = encode(grey, image_format)
    with Image.open(io.BytesIO(grey_data)) as stored:
        as_decoded = stored.convert("I").point(lambda v: v / 257) if mode == "I;16" else stored
        rgb_data = encode(as_decoded.convert("L").convert("RGB"), "PNG")
    processor = PillowImageProcessor(formats=("JPEG",), threads=2)

    from_grey = processor.process(grey_data)
    from_rgb = processor.process(rgb_data)

    assert [r.name for r in from_grey.renditions] == [r.name for r in from_rgb.renditions]
    for grey_rendition, rgb_rendition in zip(
        from_grey.renditions, from_rgb.renditions, strict=True
    ):
        with Image.open(io.BytesIO(grey_rendition.data)) as rendition:
            assert rendition.mode == "RGB"
        if image_format in ("PNG", "GIF"):  # a JPEG's own decode differs in Y-only files
            assert grey_rendition.data == rgb_rendition.data, grey_rendition.name


def test_a_big_16_bit_greyscale_png_peaks_under_2_bytes_a_pixel(tmp_path: Path) -> None:
    """GIVEN a 20 MP 16-bit greyscale PNG (streamed in bands)
    WHEN a fresh process renders it in every format with its default threads
    THEN its peak RSS grows by less than 2 bytes a pixel (RGB working copies took 2.6)."""
    size = (8000, 2500)
    grey = Image.linear_gradient("L").resize(size).convert("I").point(lambda value: value * 256)
    path = tmp_path / "grey16.png"
    path.write_bytes(encode(grey.convert("I;16"), "PNG", compress_level=1))

    growth = peak_growth_bytes(path)

    assert growth / (size[0] * size[1]) < 2.0
