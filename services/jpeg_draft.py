"""A JPEG decoded at the smallest DCT scale libjpeg-turbo offers that covers a target size.

libjpeg-turbo scales by eighths while decoding (1/8, 1/4, 3/8, 1/2): the scaled IDCT is a
cheap, good low-pass, and every pixel it saves is one the Lanczos resize after it does not
filter. Pillow's draft() asks for 1/scale only; 3/8 is reached here through its settings.
"""

from __future__ import annotations

import functools

from PIL import Image, ImageFile, features

__all__ = ["jpeg_draft"]


def jpeg_draft(
    image: Image.Image, target: tuple[int, int]
) -> tuple[float, float, float, float] | None:
    """Let JPEG decode at the smallest DCT scale (1/8, 1/4, 3/8, 1/2) still >= `target`.

    `target` is in stored orientation, like the JPEG data. Returns the box covering the
    whole picture in the drafted image's pixels (it may have been rounded up).
    """
    if image.format not in ("JPEG", "MPO") or target == image.size:
        return None
    if _three_eighths_fits(image.size, target) and isinstance(image, ImageFile.ImageFile):
        box = _draft_three_eighths(image)
        if box is not None:
            return box
    drafted = image.draft(None, target)
    return None if drafted is None else drafted[1]


def _three_eighths_fits(size: tuple[int, int], target: tuple[int, int]) -> bool:
    """3/8 is the scale to use: it covers `target`, and 1/4 (Pillow's next) does not."""
    width, height = size
    covers = -(-width * 3 // 8) >= target[0] and -(-height * 3 // 8) >= target[1]
    quarter_covers = width // target[0] >= 4 and height // target[1] >= 4
    return covers and not quarter_covers


@functools.cache
def _libjpeg_scales_by_eighths() -> bool:
    """libjpeg-turbo (and IJG libjpeg 7+) round a 1/3 scale request up to 3/8."""
    return bool(features.check_feature("libjpeg_turbo"))


def _draft_three_eighths(image: ImageFile.ImageFile) -> tuple[float, float, float, float] | None:
    """Image.draft() at 3/8, which Pillow does not offer (it asks libjpeg for 1/scale only).

    Pillow asks for 1/3, which libjpeg-turbo rounds up to 3/8, with the decoded size set to
    exactly what libjpeg-turbo outputs at 3/8 (ceil(size * 3 / 8)) so that the decoder's
    row buffer is the size of libjpeg's rows. The same three settings as Image.draft();
    Returns the whole picture's box in decoded pixels, like Image.draft(); None (nothing
    changed) when this Pillow does not look like the one this was made for.
    """
    if not _libjpeg_scales_by_eighths() or image.decoderconfig or len(image.tile) != 1:
        return None
    tile = image.tile[0]
    if tile.codec_name != "jpeg" or tile.extents != (0, 0, *image.size):
        return None
    stored_width, stored_height = image.size
    width, height = -(-stored_width * 3 // 8), -(-stored_height * 3 // 8)
    image.tile = [ImageFile._Tile(tile.codec_name, (0, 0, width, height), tile.offset, tile.args)]
    image._size = (width, height)
    image.decoderconfig = (3, 0)  # scale 1/3, not in fast "draft" quality
    return (0.0, 0.0, stored_width * 3 / 8, stored_height * 3 / 8)
