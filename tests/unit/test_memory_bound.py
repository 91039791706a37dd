"""The memory bound per allowed input: the code's formula and Terraform's validation agree."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image

from infra.settings import Settings
from services.errors import InvalidImageError
from services.imaging import (
    BASE_MIB,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_WEBP_PIXELS,
    PEAK_BYTES_PER_PIXEL,
    WEBP_PEAK_BYTES_PER_PIXEL,
    PillowImageProcessor,
    memory_bound_mib,
)

VARIABLES = Path(__file__).resolve().parents[2] / "terraform" / "variables.tf"
HEADROOM = 1.3


def terraform_minimum(max_pixels: int, max_webp_pixels: int = DEFAULT_MAX_WEBP_PIXELS) -> int:
    """What terraform/variables.tf's validation on lambda_memory_mb computes, read from it."""
    text = VARIABLES.read_text()
    match = re.search(
        r"var\.lambda_memory_mb >= ceil\(([\d.]+) \* \((\d+) \+ ceil\(max\("
        r"var\.max_pixels \* (\d+), min\(var\.max_webp_pixels, var\.max_pixels\) \* (\d+)\)"
        r" / 1048576\)\)\)",
        text,
    )
    assert match is not None, "the lambda_memory_mb validation against the pixel limits is missing"
    headroom, base, per_pixel, per_webp_pixel = (
        float(match[1]),
        int(match[2]),
        int(match[3]),
        int(match[4]),
    )
    assert (headroom, base, per_pixel, per_webp_pixel) == (
        HEADROOM,
        BASE_MIB,
        PEAK_BYTES_PER_PIXEL,
        WEBP_PEAK_BYTES_PER_PIXEL,
    )
    peak = max(max_pixels * per_pixel, min(max_webp_pixels, max_pixels) * per_webp_pixel)
    return -(-int(headroom * 10 * (base + -(-peak // 1048576))) // 10)


@pytest.mark.parametrize("max_webp_pixels", [1, 2_000_000, DEFAULT_MAX_WEBP_PIXELS, 89_000_000])
def test_terraform_validation_is_the_code_bound_plus_30_percent(max_webp_pixels: int) -> None:
    """GIVEN the allowed pixel counts WHEN Terraform's minimum memory is computed
    THEN it is memory_bound_mib() plus 30 %, rounded up, for each of them."""
    for max_pixels in (1, 16_000_000, 50_000_000, 89_000_000):
        expected = -(-memory_bound_mib(max_pixels, max_webp_pixels) * 13 // 10)
        assert terraform_minimum(max_pixels, max_webp_pixels) == expected


def test_default_memory_covers_the_default_pixels_and_512_mb_covers_34_mp() -> None:
    """GIVEN the defaults (1769 MB, 50 MP, 20 MP WebP) THEN accepted; 512 MB covers 34 MP
    of any format, WebP included, not 35 MP."""
    assert terraform_minimum(DEFAULT_MAX_PIXELS) <= 1769
    assert terraform_minimum(34_000_000, 34_000_000) <= 512
    assert terraform_minimum(35_000_000, 35_000_000) > 512


def test_webp_pixels_cost_less_than_other_formats() -> None:
    """GIVEN WebP decoded by libwebp at a reduced size (5 bytes a pixel at most, lossless)
    THEN raising the WebP limit up to max_pixels leaves the bound as it is: that of 50 MP
    of any other format."""
    assert WEBP_PEAK_BYTES_PER_PIXEL < PEAK_BYTES_PER_PIXEL
    assert memory_bound_mib(50_000_000) == BASE_MIB + -(-50_000_000 * PEAK_BYTES_PER_PIXEL // 2**20)
    assert memory_bound_mib(50_000_000, 50_000_000) == memory_bound_mib(50_000_000)
    assert memory_bound_mib(10_000_000, 50_000_000) == memory_bound_mib(10_000_000, 10_000_000)


def test_settings_default_limits_are_the_processors() -> None:
    settings = Settings.from_env({"PICGRAPH_JWT_SECRET": "x" * 32})
    assert (settings.max_pixels, settings.max_webp_pixels) == (
        DEFAULT_MAX_PIXELS,
        DEFAULT_MAX_WEBP_PIXELS,
    )
    assert (
        Settings.from_env(
            {"PICGRAPH_JWT_SECRET": "x" * 32, "PICGRAPH_MAX_WEBP_PIXELS": "1000"}
        ).max_webp_pixels
        == 1000
    )


def encoded(size: tuple[int, int], image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize(size).convert("RGB").save(buffer, image_format)
    return buffer.getvalue()


def test_webp_over_its_own_limit_is_refused_with_its_limit() -> None:
    """GIVEN a 3000x2000 WebP and a WebP limit of 5,000,000 pixels (50,000,000 for others)
    WHEN processed THEN INVALID_IMAGE saying the WebP limit; the same picture as a PNG or
    JPEG is processed."""
    processor = PillowImageProcessor(max_webp_pixels=5_000_000, formats=("JPEG",))

    with pytest.raises(InvalidImageError) as refused:
        processor.process(encoded((3000, 2000), "WEBP"))

    assert str(refused.value) == (
        "The image is too large: 3000x2000 pixels, "
        "more than the 5,000,000 allowed for a WebP image."
    )
    for image_format in ("PNG", "JPEG"):
        assert processor.process(encoded((3000, 2000), image_format)).width == 3000
    assert processor.process(encoded((2000, 2000), "WEBP")).width == 2000


def test_webp_limit_above_max_pixels_changes_nothing() -> None:
    """GIVEN max_pixels below the WebP limit THEN a WebP gets max_pixels' message."""
    processor = PillowImageProcessor(max_pixels=1_000_000, max_webp_pixels=20_000_000)

    with pytest.raises(InvalidImageError) as refused:
        processor.process(encoded((1200, 1000), "WEBP"))

    assert str(refused.value) == (
        "The image is too large: 1200x1000 pixels, more than the 1,000,000 allowed."
    )
