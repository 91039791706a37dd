"""Measures for bench_processing.py: image quality (PSNR, SSIM), peak memory in a fresh
process, the largest inputs the settings allow, and the benchmark's JSON rows."""

from __future__ import annotations

import io
import json
import math
import os
import statistics
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops, ImageDraw, ImageMath

REPO_ROOT = Path(__file__).resolve().parent.parent
OUTPUT = REPO_ROOT / "build" / "bench" / "bench_processing.json"
INPUTS = REPO_ROOT / "build" / "bench" / "inputs"
# The largest picture PICGRAPH_MAX_PIXELS allows by default (50,000,000): 8660x5773; the
# largest WebP PICGRAPH_MAX_WEBP_PIXELS allows by default (20,000,000): 5477x3651.
WORST_SIZE = (8660, 5773)
WORST_WEBP_SIZE = (5477, 3651)


class Rows:
    """The {"what", "figure"} rows every bench writes to build/bench/<script>.json."""

    def __init__(self) -> None:
        self.rows: list[dict[str, str]] = []

    def add(self, what: str, figure: str) -> None:
        load = f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        self.rows.append({"what": what, "figure": f"{figure}; {load}"})

    def write(self, path: Path = OUTPUT) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.rows, indent=2) + "\n")
        print(f"\n(wrote {len(self.rows)} rows to {path.relative_to(REPO_ROOT)})")


def decoded(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


def psnr(first: Image.Image, second: Image.Image) -> float:
    """PSNR in dB over the RGB values; inf when identical."""
    histogram = ImageChops.difference(first.convert("RGB"), second.convert("RGB")).histogram()
    squared = sum(count * (value % 256) ** 2 for value, count in enumerate(histogram))
    mean = squared / (first.width * first.height * 3)
    return math.inf if mean == 0 else 10 * math.log10(255**2 / mean)


def ssim(reference: Image.Image, candidate: Image.Image, block: int = 8) -> float:
    """Mean SSIM of the luma over non-overlapping `block`x`block` windows (Wang et al.'s
    constants); block means come from Pillow's BOX resize of float images."""
    x = reference.convert("L").convert("F")
    y = candidate.convert("L").convert("F")
    width, height = (x.width // block) * block, (x.height // block) * block
    x, y = x.crop((0, 0, width, height)), y.crop((0, 0, width, height))
    small = (width // block, height // block)

    def mean(image: Image.Image) -> Image.Image:
        return image.resize(small, Image.Resampling.BOX)

    def product(a: Image.Image, b: Image.Image) -> Image.Image:
        result = ImageMath.lambda_eval(lambda args: args["a"] * args["b"], a=a, b=b)
        assert isinstance(result, Image.Image)
        return result

    mx, my = mean(x), mean(y)
    mxx, myy, mxy = mean(product(x, x)), mean(product(y, y)), mean(product(x, y))
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    index = ImageMath.lambda_eval(
        lambda a: (
            ((a["mx"] * a["my"] * 2 + c1) * ((a["mxy"] - a["mx"] * a["my"]) * 2 + c2))
            / (
                (a["mx"] * a["mx"] + a["my"] * a["my"] + c1)
                * (a["mxx"] - a["mx"] * a["mx"] + a["myy"] - a["my"] * a["my"] + c2)
            )
        ),
        mx=mx,
        my=my,
        mxx=mxx,
        myy=myy,
        mxy=mxy,
    )
    assert isinstance(index, Image.Image)
    values = list(index.getdata())  # a few thousand block values
    return statistics.fmean(values)


def worst_inputs() -> dict[str, tuple[Path, tuple[int, int]]]:
    """The largest inputs the default settings allow, one per decoder, cached on disk:
    label -> (path, size)."""
    INPUTS.mkdir(parents=True, exist_ok=True)
    makers: dict[str, tuple[str, tuple[int, int], Callable[[tuple[int, int]], bytes]]] = {
        "50 MP RGBA PNG (gradients, transparent corners)": ("rgba.png", WORST_SIZE, _png_rgba),
        "50 MP RGB JPEG q90": ("rgb.jpg", WORST_SIZE, _jpeg_rgb),
        "50 MP progressive JPEG q90 (coefficients buffered)": (
            "progressive.jpg",
            WORST_SIZE,
            _jpeg_progressive,
        ),
        "20 MP RGB WebP (its own limit)": ("rgb.webp", WORST_WEBP_SIZE, _webp_rgb),
        "20 MP lossless RGB WebP (its own limit)": (
            "lossless.webp",
            WORST_WEBP_SIZE,
            _webp_lossless,
        ),
        "50 MP GIF": ("gif.gif", WORST_SIZE, _gif),
        "50 MP 16-bit greyscale PNG": ("l16.png", WORST_SIZE, _png_16),
        "50 MP 48-bit RGB PNG": ("rgb48.png", WORST_SIZE, _png_48),
        "50 MP 4-bit palette PNG": ("p4.png", WORST_SIZE, _png_palette_4),
        "50 MP interlaced RGBA PNG (decoded whole)": ("adam7.png", WORST_SIZE, _png_adam7),
        "50 MP HEIC": ("rgb.heic", WORST_SIZE, _heic),
    }
    found: dict[str, tuple[Path, tuple[int, int]]] = {}
    for label, (name, size, make) in makers.items():
        path = INPUTS / f"{size[0]}x{size[1]}-{name}"
        if not path.is_file():
            path.write_bytes(make(size))
        megabytes = path.stat().st_size / 2**20
        found[f"{label}, {megabytes:.1f} MiB"] = (path, size)
    return found


def _picture(mode: str, size: tuple[int, int]) -> Image.Image:
    gradient = Image.linear_gradient("L").resize(size)
    radial = Image.radial_gradient("L").resize(size)
    picture = Image.merge("RGB", (gradient, radial, gradient.transpose(Image.Transpose.ROTATE_180)))
    draw = ImageDraw.Draw(picture)
    for index in range(40):
        left, top = (index * 997) % size[0], (index * 613) % size[1]
        draw.ellipse((left, top, left + 900, top + 700), outline=(index * 6, 80, 200), width=25)
    if mode == "RGBA":
        rgba = picture.convert("RGBA")
        alpha = Image.new("L", size, 255)
        ImageDraw.Draw(alpha).ellipse((-2000, -2000, 2000, 2000), fill=0)
        rgba.putalpha(alpha)
        return rgba
    return picture


def _encoded(image: Image.Image, image_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def _png_rgba(size: tuple[int, int]) -> bytes:
    return _encoded(_picture("RGBA", size), "PNG", compress_level=9)


def _jpeg_rgb(size: tuple[int, int]) -> bytes:
    return _encoded(_picture("RGB", size), "JPEG", quality=90)


def _jpeg_progressive(size: tuple[int, int]) -> bytes:
    return _encoded(_picture("RGB", size), "JPEG", quality=90, progressive=True)


def _gif(size: tuple[int, int]) -> bytes:
    return _encoded(_picture("RGB", size).convert("P", palette=Image.Palette.ADAPTIVE), "GIF")


def _png_16(size: tuple[int, int]) -> bytes:
    grey = _picture("RGB", size).convert("L").convert("I").point(lambda value: value * 256)
    return _encoded(grey.convert("I;16"), "PNG")


def _png_palette_4(size: tuple[int, int]) -> bytes:
    palette = _picture("RGB", size).quantize(16)  # 16 colours: Pillow writes 4 bits a pixel
    return _encoded(palette, "PNG", bits=4)


def _png_48(size: tuple[int, int]) -> bytes:
    """16 bits a sample in RGB, which Pillow cannot write: written here, each row "Up"
    filtered against the last (a horizontal ramp and a wave across, a vertical ramp down)."""
    width, height = size
    first = bytearray()
    for x in range(width):
        red, blue = x * 65535 // width, (x * 7919) % 65536
        first += struct.pack(">HHH", red, 0, blue)
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(b"\x00" + bytes(first))]
    previous_green = 0
    for y in range(1, height):
        green = y * 65535 // height
        high = (green >> 8) - (previous_green >> 8)
        low = (green & 0xFF) - (previous_green & 0xFF)
        row = bytearray(6 * width)  # "Up": only green changes from one row to the next
        row[2::6], row[3::6] = bytes([high % 256]) * width, bytes([low % 256]) * width
        parts.append(compressor.compress(b"\x02" + bytes(row)))
        previous_green = green
    parts.append(compressor.flush())
    return _png(size, depth=16, colour_type=2, interlace=0, image_data=b"".join(parts))


# Adam7's seven passes: first column, first row, column step, row step
_ADAM7: tuple[tuple[int, int, int, int], ...] = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)


def _png_adam7(size: tuple[int, int]) -> bytes:
    """An interlaced (Adam7) RGBA PNG, which Pillow cannot write: its seven passes of
    sub-sampled rows, unfiltered."""
    picture = _picture("RGBA", size)
    width, height = size
    pixels = picture.tobytes()
    compressor = zlib.compressobj(6)
    parts = []
    for left, top, column_step, row_step in _ADAM7:
        columns = len(range(left, width, column_step))
        for y in range(top, height, row_step):
            row = pixels[y * width * 4 : (y + 1) * width * 4]
            sampled = bytearray(columns * 4)
            for channel in range(4):
                sampled[channel::4] = row[left * 4 + channel :: column_step * 4]
            parts.append(compressor.compress(b"\x00" + bytes(sampled)))
    parts.append(compressor.flush())
    return _png(size, depth=8, colour_type=6, interlace=1, image_data=b"".join(parts))


def _png(
    size: tuple[int, int], *, depth: int, colour_type: int, interlace: int, image_data: bytes
) -> bytes:
    header = struct.pack(">IIBBBBB", *size, depth, colour_type, 0, 0, interlace)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", header),
            _png_chunk(b"IDAT", image_data),
            _png_chunk(b"IEND", b""),
        )
    )


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload)
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _heic(size: tuple[int, int]) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    return _encoded(_picture("RGB", size), "HEIF", quality=50)


def _webp_rgb(size: tuple[int, int]) -> bytes:
    return _encoded(_picture("RGB", size), "WEBP", quality=80, method=0)


def _webp_lossless(size: tuple[int, int]) -> bytes:
    return _encoded(_picture("RGB", size), "WEBP", lossless=True, quality=0, method=0)


def bench_webp_quality(inputs: dict[str, tuple[Path, tuple[int, int]]], rows: Rows) -> None:
    """The largest WebPs' renditions, libwebp's reduced decode against Pillow's full-size
    decode (the former pipeline): PSNR of the unencoded pixels (RGB, and luma), then of
    each encoded rendition against the former unencoded pixels, former -> ours."""
    print(
        "\nWebP renditions, libwebp's reduced decode vs Pillow's full decode (former): PSNR of"
        " the pixels before encoding (luma), then of each encoded rendition against the"
        " former pixels, former -> ours"
    )
    for label, (path, _) in inputs.items():
        if "WebP" not in label:
            continue
        data = path.read_bytes()
        former, former_pixels = _renditions_and_pixels(data, full_decode=True)
        ours, our_pixels = _renditions_and_pixels(data, full_decode=False)
        cells = []
        lowest = math.inf
        for name in dict.fromkeys(rendition.name for rendition in ours):
            reference, candidate = former_pixels[(name, "JPEG")], our_pixels[(name, "JPEG")]
            value = psnr(reference, candidate)
            luma = psnr(reference.convert("L"), candidate.convert("L"))
            lowest = min(lowest, value)
            cells.append(f"{name} {value:.1f} dB ({luma:.1f})")
        print(f"  {label}: pixels " + " | ".join(cells))
        encoded = []
        for mine, theirs in zip(ours, former, strict=True):
            reference = former_pixels[(mine.name, mine.format)]
            before, after = (psnr(reference, decoded(item.data)) for item in (theirs, mine))
            encoded.append(f"{mine.name} {mine.format} {before:.1f} -> {after:.1f}")
        print("    encoded: " + " | ".join(encoded))
        rows.add(f"lowest rendition PSNR, reduced vs full decode, {label}", f"{lowest:.1f} dB")


def _renditions_and_pixels(
    data: bytes, full_decode: bool
) -> tuple[Sequence[Any], dict[tuple[str, str], Image.Image]]:
    from services import decoding
    from services.imaging import PillowImageProcessor

    namespace = vars(decoding)  # services.decoding calls reduced_decode() by this name
    scaled_decode = namespace["reduced_decode"]
    if full_decode:
        namespace["reduced_decode"] = lambda data, largest: None  # Pillow's decode, whole
    try:
        with _Captured() as captured:
            renditions = PillowImageProcessor().process(data).renditions
    finally:
        namespace["reduced_decode"] = scaled_decode
    return renditions, captured.sources


_CHILD = """
import sys
def high_water_kib():  # VmHWM: this process's own peak (ru_maxrss survives exec on Linux)
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
sys.path.insert(0, {root!r})
contender, path = sys.argv[1], sys.argv[2]
data = open(path, "rb").read()
if contender == "ours":
    from services.imaging import PillowImageProcessor
    run = PillowImageProcessor().process  # as deployed: every format, default threads
else:
    if contender == "pyvips-system":  # Debian's libvips, not the wheel's: skip its binding
        sys.modules["_libvips"] = None
    import pyvips
    pyvips.cache_set_max(0)
    pyvips.concurrency_set(1)
    formats = {formats!r}
    modern = (pyvips.version(0), pyvips.version(1)) >= (8, 15)  # `keep` replaced `strip`
    bare = dict(keep="none") if modern else dict(strip=True)
    def save(image):  # the renditions ours writes by default, at the same settings
        image.jpegsave_buffer(Q={jpeg_quality}, **bare)
        if "WEBP" in formats:
            image.webpsave_buffer(Q={webp_quality}, effort={webp_method}, **bare)
        if "AVIF" in formats:  # libvips' effort 0..9 is libaom's speed 9..0
            image.heifsave_buffer(
                compression="av1", Q={avif_quality}, effort={avif_effort}, **bare
            )
    def run(data):
        current = pyvips.Image.thumbnail_buffer(data, 1080).copy_memory()
        save(current)
        for limit in (640, 320):
            current = current.thumbnail_image(limit).copy_memory()
            save(current)
before = high_water_kib()
run(data)
after = high_water_kib()
print(before, after)
"""


def child_code() -> str:
    """_CHILD with our rendition settings, so that the pyvips peer writes what we write
    (given as literals: importing Pillow would add its memory to the peer's)."""
    from services import rendering

    return _CHILD.format(
        root=str(REPO_ROOT),
        formats=rendering.available_formats(),
        jpeg_quality=rendering.JPEG_QUALITY,
        webp_quality=rendering.WEBP_QUALITY,
        webp_method=rendering.WEBP_METHOD,
        avif_quality=rendering.AVIF_QUALITY,
        avif_effort=9 - rendering.AVIF_SPEED,
    )


def peak_rss_mib(contender: str, path: Path) -> tuple[float, float]:
    """(RSS after imports, peak RSS) in MiB of a fresh interpreter processing `path` once."""
    output = subprocess.run(
        [sys.executable, "-c", child_code(), contender, str(path)],
        # Python's copy of the environment: the wheel's libvips, once imported here, sets
        # VIPSHOME in the process's own, which would send Debian's libvips to its modules
        env=dict(os.environ),
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    before, after = (int(value) / 1024 for value in output[-2:])
    return before, after


class _Captured:
    """Wraps services.imaging.encode to keep what each rendition was encoded from."""

    def __init__(self) -> None:
        from services import imaging

        self._namespace = vars(imaging)  # services.imaging calls encode() by this name
        self._original = self._namespace["encode"]
        self.sources: dict[tuple[str, str], Image.Image] = {}

    def __enter__(self) -> _Captured:
        def capturing(name: str, image: Image.Image, image_format: str) -> Any:
            self.sources[(name, image_format)] = image.copy()
            return self._original(name, image, image_format)

        self._namespace["encode"] = capturing
        return self

    def __exit__(self, *_: object) -> None:
        self._namespace["encode"] = self._original


def bench_formats(inputs: Sequence[Any], runs: int, rows: Rows) -> None:
    """Bytes and SSIM per rendition per format, and the time each format adds."""
    from services.imaging import PillowImageProcessor
    from services.rendering import available_formats

    formats = available_formats()
    print(f"\nFormats ({', '.join(formats)}): bytes per rendition, SSIM vs the unencoded pixels")
    totals = dict.fromkeys(formats, 0)
    for item in inputs:
        with _Captured() as captured:
            result = PillowImageProcessor(threads=1).process(item.data)
        print(f"  {item.label}")
        for name in dict.fromkeys(rendition.name for rendition in result.renditions):
            cells = []
            jpeg_bytes = 0
            for rendition in (r for r in result.renditions if r.name == name):
                source = captured.sources[(name, rendition.format)]
                quality = ssim(source, decoded(rendition.data))
                size = len(rendition.data)
                totals[rendition.format] += size
                if rendition.format == "JPEG":
                    jpeg_bytes = size
                    cells.append(f"JPEG {size / 1000:6.1f} kB SSIM {quality:.3f}")
                else:
                    saved = 100 * (1 - size / jpeg_bytes)
                    kilobytes = f"{size / 1000:6.1f} kB ({-saved:+.0f} %)"
                    cells.append(f"{rendition.format} {kilobytes} SSIM {quality:.3f}")
            width, height = next((r.width, r.height) for r in result.renditions if r.name == name)
            print(f"    {name:<9} {width:>4}x{height:<4} " + " | ".join(cells))
    for image_format in formats[1:]:
        saved = 100 * (1 - totals[image_format] / totals["JPEG"])
        line = f"{totals[image_format] / 1000:.0f} kB vs JPEG {totals['JPEG'] / 1000:.0f} kB"
        print(f"  all of the above in {image_format}: {line}, {saved:.0f} % smaller")
        rows.add(
            f"renditions in {image_format} vs JPEG (samples + 12 MP)", f"{saved:.0f} % smaller"
        )
    _bench_added_time(inputs[-1], formats, runs, rows)


def _bench_added_time(item: Any, formats: Sequence[str], runs: int, rows: Rows) -> None:
    from services.imaging import PillowImageProcessor

    contenders: dict[str, Callable[[bytes], object]] = {
        "JPEG": PillowImageProcessor(formats=("JPEG",), threads=1).process
    }
    for image_format in formats[1:]:
        contenders[image_format] = PillowImageProcessor(
            formats=("JPEG", image_format), threads=1
        ).process
    contenders["all, 1 thread"] = PillowImageProcessor(threads=1).process
    contenders["all, as deployed"] = PillowImageProcessor().process
    medians = _interleaved_ms(contenders, item.data, runs)
    print(f"  processing time added per format ({item.label}, median of {runs}):")
    for label, milliseconds in medians.items():
        added = milliseconds - medians["JPEG"]
        print(f"    {label:<18} {milliseconds:7.1f} ms  ({added:+.1f} ms vs JPEG only)")
        if label != "JPEG":
            rows.add(f"processing time added by {label} (12 MP)", f"{added:+.0f} ms")


def _interleaved_ms(
    contenders: dict[str, Callable[[bytes], object]], data: bytes, runs: int
) -> dict[str, float]:
    for function in contenders.values():
        function(data)
    timings: dict[str, list[float]] = {label: [] for label in contenders}
    for _ in range(runs):
        for label, function in contenders.items():
            start = time.perf_counter()
            function(data)
            timings[label].append(time.perf_counter() - start)
    return {label: statistics.median(values) * 1000 for label, values in timings.items()}


def bench_memory(
    inputs: dict[str, tuple[Path, tuple[int, int]]], with_pyvips: bool, rows: Rows, repeats: int = 3
) -> None:
    """Peak RSS of one upload's processing in a fresh process, ours against pyvips."""
    from services.imaging import memory_bound_mib
    from services.rendering import available_formats

    bound = memory_bound_mib(50_000_000)
    print(
        f"\nPeak RSS (VmHWM) of a fresh process processing one upload, median of {repeats} "
        f"interleaved runs; the bound for PICGRAPH_MAX_PIXELS=50,000,000 is {bound} MiB;\n"
        f"  both write every rendition in {', '.join(available_formats())}"
        " (ours with its default threads, pyvips with 1)"
    )
    for label, (path, size) in inputs.items():
        peer = _memory_peer(path) if with_pyvips else None
        contenders = ("ours",) if peer is None else ("ours", peer)
        peaks: dict[str, list[float]] = {name: [] for name in contenders}
        base = 0.0
        for _ in range(repeats):
            for name in contenders:
                before, after = peak_rss_mib(name, path)
                peaks[name].append(after)
                base = before if name == "ours" else base
        ours = statistics.median(peaks["ours"])
        per_pixel = (ours - base) * 2**20 / (size[0] * size[1])
        line = f"ours {ours:5.0f} MiB ({per_pixel:4.1f} B/px over imports {base:.0f})"
        figure = f"{ours:.0f} MiB"
        if peer is not None:
            vips = statistics.median(peaks[peer])
            verdict = "within" if ours <= 1.5 * vips else "NOT within"
            name = "pyvips" if peer == "pyvips" else "pyvips on Debian's libvips"
            line += f", {name} {vips:5.0f} MiB: {ours / vips:.2f}x ({verdict} 1.5x)"
            figure += f" vs {name} {vips:.0f} MiB: {ours / vips:.2f}x"
        elif with_pyvips:
            line += f", no pyvips peer ({SYSTEM_LIBVIPS_HINT})"
        line += f"; {'under' if ours <= bound else 'OVER'} the bound"
        print(f"  {label:<50} {line}")
        rows.add(f"peak RSS, {label}", figure)


SYSTEM_LIBVIPS_HINT = (
    "the wheel's libvips has no HEVC decoder; `make bench-peers` installs Debian's, which has"
)


def _memory_peer(path: Path) -> str | None:
    """The pyvips that can decode `path`: the wheel's libvips, else Debian's (HEIC)."""
    for peer in ("pyvips", "pyvips-system"):
        try:
            peak_rss_mib(peer, path)
        except subprocess.CalledProcessError:
            continue
        return peer
    return None
