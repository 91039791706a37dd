#!/usr/bin/env python3
"""What URL signing costs a page, against boto3's own presigner measured in the same run.

A 20-image page selecting `thumbnail { url }`, through the real schema on moto
(in-process): the signatures it makes, then the signing time for that page. Peers, same
process, same keys: the old resolver shape (every rendition presigned with boto3's
generate_presigned_url to return the first) and boto3's presigner for only the
thumbnails. picgraph's window-aligned URLs are measured cold (new process-level memo,
every URL signed) and warm (a repeat request in the same window: nothing to sign).

    .venv/bin/python scripts/bench_urls.py [--rounds 30]

Prints human-readable lines and writes build/bench/bench_urls.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moto import mock_aws

from infra.s3 import S3ObjectStore
from infra.urls import UrlMemo
from resolvers.bootstrap import App, build_app
from resolvers.context import Context
from resolvers.schema import create_schema

REPO_ROOT = Path(__file__).resolve().parent.parent
PAGE = "{ images(first: 20) { edges { node { id thumbnail { url } } } } }"


class BotoPresignStore(S3ObjectStore):
    """The peer: boto3's generate_presigned_url, signed now (a new URL every time)."""

    def presign_get(self, key: str, *, expires_in: int) -> str:
        return self.signing_client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in
        )


class _CountingStore(S3ObjectStore):
    def __init__(self, bucket: str, *, session: Any, signed: list[str]) -> None:
        super().__init__(bucket, session=session)
        self._signed = signed

    def presign_get(self, key: str, *, expires_in: int) -> str:
        self._signed.append(key)
        return super().presign_get(key, expires_in=expires_in)


def seeded_app() -> tuple[App, Any]:
    from tests.support.world import MotoWorld, build_moto_world, new_user

    world = build_moto_world(MotoWorld, name_prefix="bench-urls")
    for _ in range(20):
        world.ready(new_user("poster"))
    return world.app, world


def page_runner(app: App) -> Callable[[], None]:
    schema = create_schema(introspection=True, max_depth=10, max_aliases=15, max_tokens=2000)

    def run() -> None:
        context = Context(app=app, request_id="bench", viewer_id="viewer")
        result = schema.execute_sync(PAGE, context_value=context)
        assert not result.errors, result.errors
        assert result.data is not None
        assert len(result.data["images"]["edges"]) == 20

    return run


def median_us(
    run: Callable[[], None], rounds: int, before: Callable[[], None] | None = None
) -> float:
    samples = []
    for _ in range(rounds):
        if before is not None:
            before()
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1e6)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args(argv)
    with mock_aws():
        app, world = seeded_app()
        settings = world.settings

        def app_with(store: S3ObjectStore) -> App:
            return build_app(
                settings,
                repository=app.repository,
                store=store,
                clock=world.clock,
                processor=lambda: world.processor,
            )

        boto_store = BotoPresignStore(settings.bucket_name, session=world.session)
        ours_store = S3ObjectStore(
            settings.bucket_name,
            session=world.session,
            url_window_seconds=settings.url_window_seconds,
            now=world.clock.now,
        )
        keys = [
            variant.key
            for image in (world.stored(edge_id) for edge_id in _page_ids(app))
            for variant in image.variants
        ]
        thumbnails = keys[::3]

        def sign_all_with_boto() -> None:
            for key in keys:
                boto_store.presign_get(key, expires_in=3600)

        def sign_thumbnails_with_boto() -> None:
            for key in thumbnails:
                boto_store.presign_get(key, expires_in=3600)

        def sign_thumbnails_ours() -> None:
            for key in thumbnails:
                ours_store.presign_get(key, expires_in=3600)

        def forget() -> None:
            ours_store._memo = UrlMemo()  # as in a fresh process

        rows = []
        old = median_us(sign_all_with_boto, args.rounds)
        boto_thumbs = median_us(sign_thumbnails_with_boto, args.rounds)
        cold = median_us(sign_thumbnails_ours, args.rounds, before=forget)
        warm = median_us(sign_thumbnails_ours, args.rounds)
        signed: list[str] = []
        counting = _CountingStore(settings.bucket_name, session=world.session, signed=signed)
        page_runner(app_with(counting))()
        rows.append(
            (
                "signatures for a 20-image page, thumbnail { url }",
                f"{len(signed)} (was {len(keys)}: every rendition)",
            )
        )
        rows.append(("signing, old shape: 60 boto3 presigns", f"{old:.0f} µs (1.00)"))
        rows.append(
            (
                "signing, 20 boto3 presigns (now-signed)",
                f"{boto_thumbs:.0f} µs ({boto_thumbs / old:.2f}x)",
            )
        )
        rows.append(("signing, 20 window-aligned, cold", f"{cold:.0f} µs ({cold / old:.2f}x)"))
        rows.append(
            ("signing, 20 window-aligned, same window again", f"{warm:.0f} µs ({warm / old:.2f}x)")
        )
    print("URL signing, median of", args.rounds, "rounds (moto in-process)")
    for what, figure in rows:
        print(f"  {what}: {figure}")
    out = REPO_ROOT / "build" / "bench" / "bench_urls.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([{"what": w, "figure": f} for w, f in rows], indent=2) + "\n")
    return 0


def _page_ids(app: App) -> list[str]:
    schema = create_schema(introspection=True, max_depth=10, max_aliases=15, max_tokens=2000)
    context = Context(app=app, request_id="bench", viewer_id="viewer")
    query = "{ images(first: 20) { edges { node { id } } } }"
    result = schema.execute_sync(query, context_value=context)
    assert result.data is not None
    return [edge["node"]["id"] for edge in result.data["images"]["edges"]]


if __name__ == "__main__":
    raise SystemExit(main())
