"""The memory bound per allowed input: the code's formula and Terraform's validation agree."""

from __future__ import annotations

import re
from pathlib import Path

from services.imaging import BASE_MIB, PEAK_BYTES_PER_PIXEL, memory_bound_mib

VARIABLES = Path(__file__).resolve().parents[2] / "terraform" / "variables.tf"
HEADROOM = 1.3


def terraform_minimum(max_pixels: int) -> int:
    """What terraform/variables.tf's validation on lambda_memory_mb computes, read from it."""
    text = VARIABLES.read_text()
    match = re.search(
        r"var\.lambda_memory_mb >= ceil\(([\d.]+) \* \((\d+) \+ "
        r"ceil\(var\.max_pixels \* (\d+) / 1048576\)\)\)",
        text,
    )
    assert match is not None, "the lambda_memory_mb validation against max_pixels is missing"
    headroom, base, per_pixel = float(match[1]), int(match[2]), int(match[3])
    assert (headroom, base, per_pixel) == (HEADROOM, BASE_MIB, PEAK_BYTES_PER_PIXEL)
    return -(-int(headroom * 10 * (base + -(-max_pixels * per_pixel // 1048576))) // 10)


def test_terraform_validation_is_the_code_bound_plus_30_percent() -> None:
    """GIVEN the allowed pixel counts WHEN Terraform's minimum memory is computed
    THEN it is memory_bound_mib() plus 30 %, rounded up, for each of them."""
    for max_pixels in (1, 16_000_000, 50_000_000, 89_000_000):
        expected = -(-memory_bound_mib(max_pixels) * 13 // 10)
        assert terraform_minimum(max_pixels) == expected


def test_default_memory_covers_the_default_pixels_and_512_mb_covers_16_mp() -> None:
    """GIVEN the defaults (1769 MB, 50 MP) THEN accepted; 512 MB is enough for 16 MP only."""
    assert terraform_minimum(50_000_000) <= 1769
    assert terraform_minimum(16_000_000) <= 512 < terraform_minimum(20_000_000)
