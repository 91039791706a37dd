"""Decode a WebP at a reduced size, without Pillow's full-size canvases.

Pillow decodes every WebP through libwebp's animation decoder: two full-size RGBA canvases,
a copy of the frame as bytes and the image, 16 bytes a pixel. Here libwebp decodes it
straight to about DECODE_GAP times the largest rendition (services.libwebp_decode); an
animation's first frame (what Pillow shows) is decoded the same way and placed on its
canvas as libwebp's animation decoder would.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from services.libwebp_decode import available, decode_scaled, read_features
from services.rendering import fit

__all__ = ["DECODE_GAP", "Frame", "first_frame", "reduced_decode"]

# A WebP is decoded at this many times the largest rendition (long side), then resized
# with Lanczos: libwebp's reduce is a box filter, which a Lanczos pass of 2x hides. Less
# loses detail on lossless pictures; more grows the peak with the square of the gap.
DECODE_GAP = 2.0


def reduced_decode(
    data: bytes, largest: int
) -> tuple[Image.Image, tuple[float, float, float, float]] | None:
    """The picture (an animation's first frame) decoded at about DECODE_GAP x `largest`
    (long side), never enlarged: (image, the whole picture's box in its pixels).

    None when no libwebp is bound, or an animation's frames cannot be found (Pillow then
    decodes it). WebPDecodeError when libwebp cannot decode it.
    """
    if not available():
        return None
    data = data if type(data) is bytes else bytes(data)  # ctypes passes bytes without a copy
    features = read_features(data)
    canvas = (features.width, features.height)
    size = fit(canvas, round(DECODE_GAP * largest))
    box = (0.0, 0.0, float(size[0]), float(size[1]))
    if not features.has_animation:
        return decode_scaled(data, size, features.has_alpha), box
    frame = first_frame(data)
    if frame is None:
        return None
    return _first_frame_on_canvas(frame, canvas, size, features.has_alpha), box


@dataclass(frozen=True)
class Frame:
    left: int
    top: int
    width: int
    height: int
    bitstream: bytes  # its ALPH (if any) and VP8/VP8L chunks: what WebPDecode() accepts


def first_frame(data: bytes) -> Frame | None:
    """An animation's first frame (its ANMF chunk), or None when there is none."""
    offset = 12
    while offset + 8 <= len(data):
        kind = data[offset : offset + 4]
        length = int.from_bytes(data[offset + 4 : offset + 8], "little")
        payload = data[offset + 8 : offset + 8 + length]
        if kind == b"ANMF" and len(payload) > 16:
            return Frame(
                left=2 * int.from_bytes(payload[0:3], "little"),
                top=2 * int.from_bytes(payload[3:6], "little"),
                width=1 + int.from_bytes(payload[6:9], "little"),
                height=1 + int.from_bytes(payload[9:12], "little"),
                bitstream=payload[16:],
            )
        offset += 8 + length + (length & 1)
    return None


def _first_frame_on_canvas(
    frame: Frame, canvas: tuple[int, int], size: tuple[int, int], alpha: bool
) -> Image.Image:
    """As libwebp's animation decoder shows frame 1: on a canvas of transparent black
    (black when the file has no alpha), scaled to `size`."""
    scale_x, scale_y = size[0] / canvas[0], size[1] / canvas[1]
    left, top = round(frame.left * scale_x), round(frame.top * scale_y)
    right = max(left + 1, round((frame.left + frame.width) * scale_x))
    bottom = max(top + 1, round((frame.top + frame.height) * scale_y))
    if (frame.left, frame.top, frame.width, frame.height) == (0, 0, *canvas):
        return decode_scaled(frame.bitstream, size, alpha)
    pixels = decode_scaled(frame.bitstream, (right - left, bottom - top), alpha)
    result = Image.new("RGBA" if alpha else "RGB", size)
    result.paste(pixels, (left, top))
    return result
