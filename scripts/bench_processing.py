"""Time the rendition pipeline: naive Pillow, PillowImageProcessor, and pyvips side by side.

Run: .venv/bin/python scripts/bench_processing.py [--runs N] [--skip time formats memory]
[--only TEXT]

Each figure is the median of N runs of "bytes in -> every rendition encoded", after a warm-up;
the contenders take turns run by run, so that a busy machine slows them all alike; CPU time
(every thread of the process) is printed beside wall time, as it hardly depends on the load.
Ours renders the JPEG list here (what pyvips renders too), on the default threads and on one;
the goal is ours / pyvips (1 thread) <= 1.0. Then: bytes and SSIM per rendition per format
and the time each format adds; peak RSS (VmHWM) of a fresh process per decoder's largest
allowed input, ours against pyvips. Rows go to build/bench/bench_processing.json.
pyvips (optional, `pip install -e ".[bench]"`) is given its fastest fair pipeline: one
shrink-on-load decode to the largest size, then each smaller size from the previous one,
with its operation cache off so that no run reuses another's result. For a file with an
ICC profile every contender also converts the colours to sRGB (pyvips: export_profile).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from PIL import Image, ImageCms, ImageDraw, ImageOps

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from processing_metrics import (  # noqa: E402
    Rows,
    bench_formats,
    bench_memory,
    bench_webp_quality,
    decoded,
    psnr,
    worst_inputs,
)

from services.imaging import DEFAULT_SIZES, JPEG_QUALITY, PillowImageProcessor  # noqa: E402
from services.rendering import default_threads  # noqa: E402

SAMPLES_DIR = Path(os.environ.get("PICGRAPH_SAMPLES_DIR", REPO_ROOT.parent / "shared" / "samples"))
TARGET_RATIO = 1.0
NAIVE = "naive Pillow (full decode, resize per size)"
OURS_ONE = "ours, 1 thread"
JPEG_LIST = ("JPEG",)  # what pyvips is asked for too; other formats are timed apart
LIMITS_LARGEST_FIRST = sorted((limit for _, limit in DEFAULT_SIZES), reverse=True)


@dataclass(frozen=True)
class BenchInput:
    label: str
    data: bytes


def synthetic_photo(width: int = 4000, height: int = 3000) -> bytes:
    """A JPEG that compresses like a photo: gradients, textures at 3 scales, hard edges.

    Quality 90, stored sideways with EXIF Orientation 6 like a portrait phone picture.
    """
    gradient = Image.linear_gradient("L").resize((width, height))
    vignette = Image.radial_gradient("L").resize((width, height))
    coarse = Image.effect_noise((width // 16, height // 16), 60).resize(
        (width, height), Image.Resampling.BICUBIC
    )
    medium = Image.effect_noise((width // 4, height // 4), 40).resize(
        (width, height), Image.Resampling.BILINEAR
    )
    fine = Image.effect_noise((width, height), 12)
    red = Image.blend(Image.blend(gradient, coarse, 0.5), fine, 0.15)
    green = Image.blend(Image.blend(vignette, medium, 0.4), fine, 0.12)
    blue = Image.blend(
        Image.blend(coarse.transpose(Image.Transpose.ROTATE_180), medium, 0.5), fine, 0.2
    )
    picture = Image.merge("RGB", (red, green, blue))
    _draw_edges(picture)
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90, exif=exif.tobytes())
    return buffer.getvalue()


def _draw_edges(picture: Image.Image) -> None:
    draw = ImageDraw.Draw(picture)
    width, height = picture.size
    for index in range(12):
        left, top = (index * 331) % width, (index * 217) % height
        colour = ((index * 40) % 256, (index * 90) % 256, (index * 150) % 256)
        draw.ellipse((left, top, left + width // 6, top + height // 5), outline=colour, width=9)
        draw.rectangle((top, left % height, top + 300, left % height + 120), fill=colour)


def reencoded_sample(
    relative: str, label: str, size: tuple[int, int] | None, *, keep_profile: bool = False
) -> BenchInput | None:
    """A real photo from the samples, resized to `size` if given, saved as JPEG quality 90.

    With `keep_profile`, the JPEG carries the photo's ICC profile (Display P3 for the iPhone).
    """
    path = SAMPLES_DIR / relative
    if not path.is_file():
        return None
    picture, icc_profile = _decoded_sample(path, size)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90, icc_profile=icc_profile if keep_profile else None)
    return BenchInput(label, buffer.getvalue())


@functools.cache
def _decoded_sample(path: Path, size: tuple[int, int] | None) -> tuple[Image.Image, bytes | None]:
    if path.suffix.lower() == ".heic":
        importlib.import_module("pillow_heif").register_heif_opener()
    with Image.open(path) as source:
        picture = source.convert("RGB")
        icc_profile = source.info.get("icc_profile")
    if size is not None:
        picture = picture.resize(size, Image.Resampling.LANCZOS)
    return picture, icc_profile if isinstance(icc_profile, bytes) else None


def sample_file(relative: str, label: str) -> BenchInput | None:
    path = SAMPLES_DIR / relative
    return BenchInput(label, path.read_bytes()) if path.is_file() else None


def bench_inputs() -> list[BenchInput]:
    optional = [
        reencoded_sample(
            "exif-samples/heic/IMG_5195.HEIC",
            "12 MP JPEG 3024x4032 q90 (the iPhone sample, scaled up 1.2x)",
            (3024, 4032),
        ),
        reencoded_sample(
            "exif-samples/heic/IMG_5195.HEIC",
            "12 MP JPEG 3024x4032 q90, Display P3 profile (the same, as an iPhone exports it)",
            (3024, 4032),
            keep_profile=True,
        ),
        # As stored, this file has corrupt entropy data that libvips refuses to decode.
        reencoded_sample(
            "exif-samples/broken/corrupted.jpg",
            "10 MP camera JPEG 3648x2736 q90 (the Olympus sample, re-encoded)",
            None,
        ),
        sample_file("exif-samples/heic/IMG_5195.HEIC", "8.5 MP iPhone HEIC 2566x3313 (sample)"),
    ]
    found = [item for item in optional if item is not None]
    if len(found) < len(optional):
        print(f"(some samples not found under {SAMPLES_DIR}: skipped)")
    return [BenchInput("synthetic 4000x3000 JPEG q90, Orientation 6", synthetic_photo()), *found]


def icc_profile_of(data: bytes) -> bytes | None:
    with Image.open(io.BytesIO(data)) as image:
        icc_profile = image.info.get("icc_profile")
    return icc_profile if isinstance(icc_profile, bytes) and icc_profile else None


def naive_pillow(data: bytes) -> list[bytes]:
    """Full-size decode (and colour conversion to sRGB), then one resize per size."""
    with Image.open(io.BytesIO(data)) as image:
        upright = ImageOps.exif_transpose(image.convert("RGB"))
        icc_profile = image.info.get("icc_profile")
    if icc_profile:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        srgb = ImageCms.createProfile("sRGB")
        upright = ImageCms.profileToProfile(upright, source, srgb) or upright
    outputs = []
    for limit in LIMITS_LARGEST_FIRST:
        scale = min(1.0, limit / max(upright.size))
        size = (max(1, round(upright.width * scale)), max(1, round(upright.height * scale)))
        buffer = io.BytesIO()
        upright.resize(size, Image.Resampling.LANCZOS).save(buffer, "JPEG", quality=JPEG_QUALITY)
        outputs.append(buffer.getvalue())
    return outputs


def pyvips_pipeline(
    pyvips: ModuleType, threads: int, *, to_srgb: bool
) -> Callable[[bytes], list[bytes]]:
    # Only for a file with a profile: libvips would otherwise convert sRGB to sRGB.
    colour: dict[str, str] = {"export_profile": "srgb"} if to_srgb else {}

    def run(data: bytes) -> list[bytes]:
        pyvips.concurrency_set(threads)
        # thumbnail_buffer: shrink-on-load and auto-rotation from EXIF, like ours; with
        # export_profile, conversion from the embedded profile after the shrink, like ours.
        first = pyvips.Image.thumbnail_buffer(data, LIMITS_LARGEST_FIRST[0], **colour)
        current = first.copy_memory()
        outputs = [current.jpegsave_buffer(Q=JPEG_QUALITY, keep="none")]
        for limit in LIMITS_LARGEST_FIRST[1:]:
            current = current.thumbnail_image(limit).copy_memory()
            outputs.append(current.jpegsave_buffer(Q=JPEG_QUALITY, keep="none"))
        return outputs

    return run


def interleaved_median_ms(
    contenders: dict[str, Callable[[bytes], object]], data: bytes, runs: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Median wall and CPU time (every thread of this process) of each contender; runs
    alternate so that they share any machine load. CPU time barely depends on the load.
    Each round starts one contender further on, so that none always runs right after the
    same one (the naive decode leaves 100 MB of freed pages that the next run faults in
    again: always first after it, ours with 2 threads measured 20 % slower)."""
    for function in contenders.values():
        function(data)
    walls: dict[str, list[float]] = {label: [] for label in contenders}
    cpus: dict[str, list[float]] = {label: [] for label in contenders}
    order = list(contenders.items())
    for round_index in range(runs):
        shift = round_index % len(order)
        for label, function in order[shift:] + order[:shift]:
            start, start_cpu = time.perf_counter(), time.process_time()
            function(data)
            walls[label].append(time.perf_counter() - start)
            cpus[label].append(time.process_time() - start_cpu)
    return (
        {label: statistics.median(values) * 1000 for label, values in walls.items()},
        {label: statistics.median(values) * 1000 for label, values in cpus.items()},
    )


@dataclass(frozen=True)
class Pyvips:
    module: ModuleType
    thread_counts: tuple[int, ...]  # libvips' default first, then 1 (like a 1-vCPU Lambda)


def load_pyvips() -> Pyvips | None:
    try:
        module = importlib.import_module("pyvips")
    except (ImportError, OSError):  # OSError: the libvips shared library is missing
        return None
    module.cache_set_max(0)
    default_threads: int = module.concurrency_get()
    return Pyvips(module, tuple(sorted({default_threads, 1}, reverse=True)))


def pyvips_contenders(
    pyvips: Pyvips, data: bytes
) -> tuple[dict[str, Callable[[bytes], object]], str]:
    """One contender per thread count, or none and why when pyvips cannot decode the file."""
    to_srgb = icc_profile_of(data) is not None
    try:
        pyvips_pipeline(pyvips.module, pyvips.thread_counts[0], to_srgb=to_srgb)(data)
    except pyvips.module.Error as error:
        reason = str(error).strip().splitlines()[-1]
        return {}, f"  pyvips: cannot process this file, skipped ({reason})"
    contenders: dict[str, Callable[[bytes], object]] = {
        f"pyvips, {threads} thread(s)": pyvips_pipeline(pyvips.module, threads, to_srgb=to_srgb)
        for threads in pyvips.thread_counts
    }
    return contenders, ""


def bench(item: BenchInput, runs: int, pyvips: Pyvips | None, rows: Rows) -> None:
    print(f"\n{item.label}, {len(item.data) / 1e6:.1f} MB")
    threads = default_threads()
    ours = f"ours, {threads} threads (as deployed)"
    contenders: dict[str, Callable[[bytes], object]] = {}
    if item.data.startswith(b"\xff\xd8"):
        contenders[NAIVE] = naive_pillow
    contenders[ours] = PillowImageProcessor(formats=JPEG_LIST).process
    contenders[OURS_ONE] = PillowImageProcessor(formats=JPEG_LIST, threads=1).process
    vips_skipped = ""
    if pyvips is not None:
        vips_contenders, vips_skipped = pyvips_contenders(pyvips, item.data)
        contenders |= vips_contenders
    medians, cpu = interleaved_median_ms(contenders, item.data, runs)
    vips_one = medians.get("pyvips, 1 thread(s)")
    vips_cpu = cpu.get("pyvips, 1 thread(s)")
    for label, milliseconds in medians.items():
        note = ""
        if vips_one is not None and vips_cpu is not None and label in (ours, OURS_ONE):
            ratio = milliseconds / vips_one
            verdict = "within" if ratio <= TARGET_RATIO else "NOT within"
            note = f"/ pyvips 1 thread = {ratio:.2f}: {verdict} {TARGET_RATIO}x"
            note += f"; CPU {cpu[label] / vips_cpu:.2f}x"
            rows.add(
                f"processing {item.label}: {label} / pyvips 1 thread",
                f"{milliseconds:.0f} ms vs {vips_one:.0f} ms: {ratio:.2f}x"
                f" (CPU {cpu[label]:.0f} vs {vips_cpu:.0f} ms: {cpu[label] / vips_cpu:.2f}x)",
            )
        line = f"  {label:<42}{milliseconds:7.1f} ms (CPU {cpu[label]:6.1f})  {note}"
        print(line.rstrip())
    if vips_skipped:
        print(vips_skipped)
    fidelity = min(
        psnr(decoded(banded.data), decoded(single.data))
        for banded, single in zip(
            PillowImageProcessor(formats=JPEG_LIST).process(item.data).renditions,
            PillowImageProcessor(formats=JPEG_LIST, threads=1).process(item.data).renditions,
            strict=True,
        )
    )
    print(
        f"  PSNR of the renditions, {threads} threads vs 1 (the former pipeline): {fidelity:.1f} dB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs per figure (median)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["time", "formats", "memory"])
    parser.add_argument(
        "--only",
        default="",
        metavar="TEXT",
        help="time only the inputs whose label contains TEXT (e.g. 'camera', 'P3', '4000x3000')",
    )
    arguments = parser.parse_args()
    runs: int = arguments.runs
    rows = Rows()
    pyvips = load_pyvips()
    sizes = ", ".join(f"{name} {limit}" for name, limit in DEFAULT_SIZES)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"renditions: {sizes}; median of {runs} interleaved runs; {os.cpu_count()} CPUs")
    print(f"load average at start: {load} (a busy machine slows every contender alike)")
    if pyvips is None:
        print("pyvips: not installed, skipped (pip install -e '.[bench]')")
    else:
        version = f"{pyvips.module.version(0)}.{pyvips.module.version(1)}"
        print(f"pyvips {pyvips.module.__version__}, libvips {version}")
    inputs = bench_inputs()
    if "time" not in arguments.skip:
        for item in inputs:
            if arguments.only.lower() in item.label.lower():
                bench(item, runs, pyvips, rows)
    if "formats" not in arguments.skip:
        format_inputs = [
            *(item for item in sample_photos()),
            *(item for item in inputs if item.label.startswith("12 MP JPEG 3024x4032 q90 (")),
        ]
        bench_formats(format_inputs, max(3, runs // 2), rows)
    if "memory" not in arguments.skip:
        bench_memory(worst_inputs(), pyvips is not None, rows)
        bench_webp_quality(worst_inputs(), rows)
    rows.write()


def sample_photos() -> list[BenchInput]:
    """The real camera and phone photos of the samples, as uploaded."""
    found = [
        sample_file(relative, f"sample {relative.rsplit('/', 1)[1]}")
        for relative in (
            "exif-samples/heic/IMG_5195.HEIC",
            "exif-samples/gps/DSCN0010.jpg",
            "exif-samples/orientation/landscape_6.jpg",
            "exif-samples/cameras/Canon_40D.jpg",
        )
    ]
    return [item for item in found if item is not None]


if __name__ == "__main__":
    main()
