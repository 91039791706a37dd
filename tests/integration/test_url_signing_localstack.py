"""Window-aligned URLs on a real S3 that checks signatures and expiry: LocalStack.

moto serves any URL; LocalStack (../shared/tools/localstack-host) refuses a tampered or
expired presigned GET as AWS does. So here a URL signed at its window's start (an
X-Amz-Date in the past) must be accepted, and refused once window + lifetime passed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import requests

from infra.aws import client_config
from infra.provisioning import ensure_bucket
from infra.s3 import S3ObjectStore
from infra.urls import SigningWindow
from tests.support.clock import FakeClock

pytestmark = pytest.mark.localstack_only  # moto serves any URL, valid or not

WINDOW, LIFETIME = 600, 120


@pytest.fixture
def s3_store(aws_endpoint: str) -> tuple[S3ObjectStore, FakeClock]:
    session = boto3.Session(region_name="us-east-1")
    bucket = f"picgraph-urls-{uuid.uuid4().hex[:10]}"
    ensure_bucket(
        session.client("s3", config=client_config(path_style=True)), bucket, region="us-east-1"
    )
    clock = FakeClock(datetime.now(UTC))
    store = S3ObjectStore(
        bucket, session=session, path_style=True, url_window_seconds=WINDOW, now=clock.now
    )
    return store, clock


KEY = "thumbnails/2026/12/localstack_thumb.jpg"


def test_window_aligned_url_is_accepted_until_window_plus_lifetime(
    s3_store: tuple[S3ObjectStore, FakeClock],
) -> None:
    """GIVEN a rendition WHEN its URL is signed at the window's start THEN S3 serves it
    (with the Cache-Control we stored); the same URL all window; a tampered one is refused;
    a URL whose window + lifetime has passed is refused."""
    store, clock = s3_store
    store.write(KEY, b"\xff\xd8 not really a jpeg", content_type="image/jpeg")
    url = store.presign_get(KEY, expires_in=LIFETIME)
    start, lifetime = SigningWindow(WINDOW, LIFETIME).for_key(KEY, clock.now())
    assert start <= clock.now().timestamp()
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    assert store.presign_get(KEY, expires_in=LIFETIME) == url
    tampered = url.replace("X-Amz-Expires=", "X-Amz-Expires=1")
    assert requests.get(tampered, timeout=10).status_code == 403

    # Signed for a window that ended longer ago than its lifetime: expired on real S3.
    clock.set(datetime.now(UTC) - timedelta(seconds=WINDOW + LIFETIME + 60))
    expired = store.presign_get(KEY, expires_in=LIFETIME)
    assert expired != url
    assert requests.get(expired, timeout=10).status_code == 403
    assert lifetime == WINDOW + LIFETIME
