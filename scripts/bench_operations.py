"""AWS calls per operation and completeImageUpload time for a 12 MP JPEG.

Runs the real services against moto (in-process `mock_aws`), counting every boto3
call by service and operation with botocore event hooks. The completeImageUpload
time is compared with its peer measured in the same run: Pillow processing alone
on the same bytes (what the service adds is the rest). Prints figures and writes
build/bench/bench_operations.json.
Note: moto answers in-process, so times are processing plus moto's overhead, not
network latency to AWS.
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PICGRAPH_JWT_SECRET": "bench-secret-0123456789-abcdefghijkl",
        "PICGRAPH_TABLE_NAME": "bench",
        "PICGRAPH_BUCKET_NAME": "bench",
    }
)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import boto3
from bench_rows import write_rows
from moto import mock_aws
from PIL import Image

from infra.provisioning import ensure_bucket, ensure_table
from infra.settings import Settings
from resolvers.bootstrap import App, build_app


def photo_jpeg(width: int = 4000, height: int = 3000) -> bytes:
    """A photo-like 12 MP JPEG (gradients plus noise, so it compresses like a photo)."""
    gradient = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 40)
    image = Image.merge(
        "RGB", (gradient, noise, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    )
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Bench"
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90, exif=exif)
    return buffer.getvalue()


class CallCounter:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    @contextmanager
    def measuring(self) -> Iterator[Counter[str]]:
        self.calls = Counter()
        yield self.calls


def wire(counter: CallCounter) -> App:
    settings = Settings.from_env()
    session = boto3.Session(region_name="us-east-1")
    session.events.register("before-call.*.*", counter)
    ensure_table(session.client("dynamodb"), settings.table_name)
    ensure_bucket(session.client("s3"), settings.bucket_name, region="us-east-1")
    return build_app(settings, session=session)


ROWS: list[dict[str, str]] = []
REPORTED = ("createImageUpload (3 tags)", "completeImageUpload (12 MP)", "image(id)")


def report(label: str, calls: Counter[str], seconds: float | None = None) -> None:
    detail = ", ".join(f"{name} x{count}" for name, count in sorted(calls.items())) or "none"
    timing = f" in {seconds * 1000:.0f} ms" if seconds is not None else ""
    print(f"  {label:<34} {sum(calls.values()):>2} AWS calls{timing}: {detail}")
    if label.strip() in REPORTED or label.startswith("images("):
        ROWS.append(
            {"what": f"AWS calls: {label.strip()}", "figure": f"{sum(calls.values())}: {detail}"}
        )


def measure(counter: CallCounter, label: str, action: Callable[[], Any]) -> Any:
    with counter.measuring() as calls:
        started = time.perf_counter()
        result = action()
        elapsed = time.perf_counter() - started
    report(label, calls, elapsed)
    return result


def main() -> None:
    data = photo_jpeg()
    print(f"12 MP JPEG: 4000x3000, {len(data) / 1e6:.1f} MB, EXIF orientation 6")
    counter = CallCounter()
    with mock_aws():
        app = wire(counter)
        print("AWS calls per operation (moto in-process):")
        ticket = measure(
            counter,
            "createImageUpload (3 tags)",
            lambda: app.uploads.create_upload(
                "bench-user",
                filename="big.jpg",
                content_type="image/jpeg",
                size_bytes=len(data),
                tags=["a", "b", "c"],
            ),
        )
        measure(
            counter,
            "createImageUpload + idempotencyKey",
            lambda: app.uploads.create_upload(
                "bench-user",
                filename="big.jpg",
                content_type="image/jpeg",
                size_bytes=len(data),
                idempotency_key="k1",
            ),
        )
        app.store.write(ticket.image.staging_key, data, content_type="image/jpeg")
        measure(
            counter,
            "completeImageUpload (12 MP)",
            lambda: app.uploads.complete_upload("bench-user", ticket.image.id),
        )
        measure(
            counter,
            "completeImageUpload (repeat)",
            lambda: app.uploads.complete_upload("bench-user", ticket.image.id),
        )
        image = measure(counter, "image(id)", lambda: app.reader.get("viewer", ticket.image.id))
        measure(
            counter,
            "  + url, thumbnail, variants URLs",
            lambda: (
                app.reader.original_url("bench-user", image),
                [app.reader.variant_url(v) for v in image.variants],
            ),
        )
        measure(
            counter,
            "updateImage (tags a,b,c -> b,d)",
            lambda: app.updates.update_image("bench-user", ticket.image.id, tags=["b", "d"]),
        )
        measure(
            counter,
            "images(first: 20) owner gallery",
            lambda: app.listing.list_images("bench-user", owner_id="bench-user", first=20),
        )
        measure(
            counter,
            "images(first: 20) by tag",
            lambda: app.listing.list_images("bench-user", tags=["b"], first=20),
        )
        measure(
            counter,
            "images(first: 20) global feed",
            lambda: app.listing.list_images("bench-user", first=20),
        )
        measure(
            counter, "deleteImage", lambda: app.deletion.delete_image("bench-user", ticket.image.id)
        )
        measure(
            counter,
            "restoreImage",
            lambda: app.deletion.restore_image("bench-user", ticket.image.id),
        )

        from services.imaging import PillowImageProcessor

        processor = PillowImageProcessor(max_pixels=app.settings.max_pixels)
        durations = []
        alone = []
        for _ in range(5):
            started = time.perf_counter()
            processor.process(data)
            alone.append(time.perf_counter() - started)
            again = app.uploads.create_upload(
                "bench-user", filename="big.jpg", content_type="image/jpeg", size_bytes=len(data)
            )
            app.store.write(again.image.staging_key, data, content_type="image/jpeg")
            started = time.perf_counter()
            app.uploads.complete_upload("bench-user", again.image.id)
            durations.append(time.perf_counter() - started)
        total, peer = statistics.median(durations), statistics.median(alone)
        print(
            "completeImageUpload, 12 MP JPEG, median of 5: "
            f"{total * 1000:.0f} ms (min {min(durations) * 1000:.0f} ms), processing included;"
            f" Pillow processing alone {peer * 1000:.0f} ms: ratio {total / peer:.2f}"
        )
        ROWS.append(
            {
                "what": "completeImageUpload, 12 MP JPEG, end to end on moto (in-process)",
                "figure": f"{total * 1000:.0f} ms; processing alone {peer * 1000:.0f} ms"
                f" (ratio {total / peer:.2f})",
            }
        )
    write_rows("bench_operations", ROWS)


if __name__ == "__main__":
    main()
