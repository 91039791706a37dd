"""What a client needs to lay out an image before its pixels arrive.

ThumbHash (Evan Wallace's published format, https://evanw.github.io/thumbhash/): a DCT of
the picture in a luminance/colour-difference space, quantised to 4 bits per coefficient,
at most 25 bytes here. Clients decode it into a blurred 32 px preview with the aspect ratio
and average colour of the image. The dominant colour is the most common colour of a
median-cut palette, for a solid background behind the preview.

Both are computed from the smallest rendition, reduced to a few thousand pixels first:
a hash only keeps 7 frequencies per axis, so more pixels change nothing but the time.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

__all__ = [
    "Placeholder",
    "average_rgba",
    "dominant_colour",
    "placeholder_for",
    "thumbhash",
    "thumbhash_aspect_ratio",
]

# The format allows 100 px per side; 24 samples already resolve its 7 frequencies.
_HASH_INPUT_SIDE = 24
_PALETTE_COLOURS = 6
_PALETTE_INPUT_SIDE = 32
_OPAQUE_ENOUGH = 128


@dataclass(frozen=True)
class Placeholder:
    thumbhash: str  # base64 of the ThumbHash bytes
    dominant_colour: str  # "#rrggbb"


def placeholder_for(image: Image.Image) -> Placeholder:
    """The ThumbHash and dominant colour of an upright RGB or RGBA picture."""
    return Placeholder(
        thumbhash=base64.b64encode(thumbhash(image)).decode("ascii"),
        dominant_colour=dominant_colour(image),
    )


def thumbhash(image: Image.Image) -> bytes:
    """The ThumbHash bytes of `image` (any mode; reduced to fit 24x24 first)."""
    small = image.convert("RGBA")
    if max(small.size) > _HASH_INPUT_SIDE:
        small.thumbnail((_HASH_INPUT_SIDE, _HASH_INPUT_SIDE), Image.Resampling.BOX)
    width, height = small.size
    raw = small.tobytes()
    pixels = [tuple(raw[offset : offset + 4]) for offset in range(0, len(raw), 4)]
    return _encode(width, height, pixels)


def _round(value: float) -> int:
    """JavaScript's Math.round, which the format is defined with (halves go up)."""
    return math.floor(value + 0.5)


def _encode(width: int, height: int, pixels: Sequence[Sequence[int]]) -> bytes:
    count = width * height
    total_alpha: float = sum(alpha for *_, alpha in pixels) / 255
    average = [0.0, 0.0, 0.0]
    for *rgb, opacity in pixels:
        weight = opacity / 255 / 255
        for channel in range(3):
            average[channel] += weight * rgb[channel]
    if total_alpha > 0:
        average = [value / total_alpha for value in average]

    has_alpha = total_alpha < count
    luminance_limit = 5 if has_alpha else 7  # fewer luminance terms when alpha needs room
    longest = max(width, height)
    lx = max(1, _round(luminance_limit * width / longest))
    ly = max(1, _round(luminance_limit * height / longest))

    # RGBA -> LPQA, composited over the average colour.
    lum: list[float] = []
    yellow_blue: list[float] = []
    red_green: list[float] = []
    alphas: list[float] = []
    for red, green, blue, alpha_byte in pixels:
        alpha = alpha_byte / 255
        r = average[0] * (1 - alpha) + alpha / 255 * red
        g = average[1] * (1 - alpha) + alpha / 255 * green
        b = average[2] * (1 - alpha) + alpha / 255 * blue
        lum.append((r + g + b) / 3)
        yellow_blue.append((r + g) / 2 - b)
        red_green.append(r - g)
        alphas.append(alpha)

    l_dc, l_ac, l_scale = _dct(lum, width, height, max(3, lx), max(3, ly))
    p_dc, p_ac, p_scale = _dct(yellow_blue, width, height, 3, 3)
    q_dc, q_ac, q_scale = _dct(red_green, width, height, 3, 3)

    landscape = width > height
    header24 = (
        _round(63 * l_dc)
        | (_round(31.5 + 31.5 * p_dc) << 6)
        | (_round(31.5 + 31.5 * q_dc) << 12)
        | (_round(31 * l_scale) << 18)
        | (int(has_alpha) << 23)
    )
    header16 = (
        (ly if landscape else lx)
        | (_round(63 * p_scale) << 3)
        | (_round(63 * q_scale) << 9)
        | (int(landscape) << 15)
    )
    out = bytearray(
        [header24 & 255, (header24 >> 8) & 255, header24 >> 16, header16 & 255, header16 >> 8]
    )
    factors = [*l_ac, *p_ac, *q_ac]
    if has_alpha:
        a_dc, a_ac, a_scale = _dct(alphas, width, height, 5, 5)
        out.append(_round(15 * a_dc) | (_round(15 * a_scale) << 4))
        factors.extend(a_ac)
    start = len(out)
    out.extend(bytes((len(factors) + 1) // 2))
    for index, factor in enumerate(factors):
        out[start + (index >> 1)] |= _round(15 * factor) << ((index & 1) << 2)
    return bytes(out)


def _dct(
    channel: Sequence[float], width: int, height: int, nx: int, ny: int
) -> tuple[float, list[float], float]:
    """DC term, AC terms normalised to 0..1, and their scale (the format's triangle of terms).

    Separable: each row is first summed against the horizontal cosines.
    """
    columns = [
        [math.cos(math.pi / width * cx * (x + 0.5)) for x in range(width)] for cx in range(nx)
    ]
    row_sums = [
        [
            sum(
                value * weight
                for value, weight in zip(channel[y * width : (y + 1) * width], fx, strict=True)
            )
            for y in range(height)
        ]
        for fx in columns
    ]
    dc = 0.0
    ac: list[float] = []
    for cy in range(ny):
        fy = [math.cos(math.pi / height * cy * (y + 0.5)) for y in range(height)]
        cx = 0
        while cx * ny < nx * (ny - cy):
            value = sum(s * w for s, w in zip(row_sums[cx], fy, strict=True)) / (width * height)
            if cx or cy:
                ac.append(value)
            else:
                dc = value
            cx += 1
    scale = max((abs(value) for value in ac), default=0.0)
    if scale:
        ac = [0.5 + 0.5 / scale * value for value in ac]
    return dc, ac, scale


def average_rgba(hash_bytes: bytes) -> tuple[float, float, float, float]:
    """The average colour a ThumbHash decodes to, each channel 0..1 (as decoders compute it)."""
    header = hash_bytes[0] | (hash_bytes[1] << 8) | (hash_bytes[2] << 16)
    lum = (header & 63) / 63
    p = ((header >> 6) & 63) / 31.5 - 1
    q = ((header >> 12) & 63) / 31.5 - 1
    alpha = (hash_bytes[5] & 15) / 15 if header >> 23 else 1.0
    blue = lum - 2 / 3 * p
    red = (3 * lum - blue + q) / 2
    green = red - q
    return (*(min(1.0, max(0.0, value)) for value in (red, green, blue)), alpha)  # type: ignore[return-value]


def thumbhash_aspect_ratio(hash_bytes: bytes) -> float:
    """The approximate width/height a ThumbHash records (as decoders read it)."""
    has_alpha = bool(hash_bytes[2] & 0x80)
    landscape = bool(hash_bytes[4] & 0x80)
    long_side = 5 if has_alpha else 7
    short_side = hash_bytes[3] & 7
    lx = long_side if landscape else short_side
    ly = short_side if landscape else long_side
    return lx / ly


def dominant_colour(image: Image.Image) -> str:
    """The most common colour of a small median-cut palette, over the visible pixels."""
    small = image.convert("RGBA")
    if max(small.size) > _PALETTE_INPUT_SIDE:
        small.thumbnail((_PALETTE_INPUT_SIDE, _PALETTE_INPUT_SIDE), Image.Resampling.BOX)
    visible = small.getchannel("A").point(lambda alpha: 255 if alpha >= _OPAQUE_ENOUGH else 0)
    rgb = small.convert("RGB")
    if visible.getbbox() is None:  # nothing visible: the colour the pixels hold anyway
        visible = Image.new("L", small.size, 255)
    palette_image = rgb.quantize(_PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT)
    counts = palette_image.histogram(mask=visible)
    index = max(range(len(counts)), key=counts.__getitem__)
    palette = palette_image.getpalette() or []
    red, green, blue = palette[index * 3 : index * 3 + 3]
    return f"#{red:02x}{green:02x}{blue:02x}"
