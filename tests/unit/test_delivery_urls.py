"""Cacheable URLs: window-aligned S3 presigning, CloudFront URLs, Cache-Control, and URLs
signed only for the fields a query selects. Real boto3 against moto (mock_aws)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import botocore.auth
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from infra.s3 import PRIVATE_CACHE_CONTROL, SHARED_CACHE_CONTROL, S3ObjectStore
from infra.settings import Settings, SettingsError
from infra.urls import SigningWindow
from resolvers.bootstrap import App, build_app
from tests.support.clock import FakeClock
from tests.support.inprocess import execute_as
from tests.support.world import MotoWorld, build_moto_world, new_user

WINDOW = 3600
DOWNLOAD = 900
KEY = "thumbnails/2026/03/abc_thumb.jpg"


def query_params(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def epoch(url_date: str) -> int:
    return int(datetime.strptime(url_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp())


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def store_at(clock: FakeClock, **options: Any) -> S3ObjectStore:
    session = boto3.Session(region_name="eu-west-1")
    return S3ObjectStore(
        "picgraph-urls", session=session, url_window_seconds=WINDOW, now=clock.now, **options
    )


# --------------------------------------------------------------------------
# The signing window
# --------------------------------------------------------------------------


@given(
    instant=st.integers(min_value=1_600_000_000, max_value=2_000_000_000),
    window=st.integers(min_value=1, max_value=302_400),
    download=st.integers(min_value=60, max_value=302_400),
    key=st.text(min_size=1, max_size=40),
)
def test_a_url_handed_out_is_valid_long_enough_and_never_too_long(
    instant: int, window: int, download: int, key: str
) -> None:
    """GIVEN any instant THEN the URL's window contains it, it stays valid at least the
    download lifetime from now, and at most window + download."""
    start, lifetime = SigningWindow(window, download).for_key(
        key, datetime.fromtimestamp(instant, UTC)
    )
    assert start <= instant < start + window
    assert start + lifetime - instant >= download
    assert lifetime == window + download <= 7 * 86400


def test_each_key_changes_url_at_its_own_boundary() -> None:
    """Windows are shifted per key: a page's URLs do not all change at the same second."""
    window = SigningWindow(WINDOW, DOWNLOAD)
    now = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
    starts = {window.for_key(f"thumbnails/2026/03/{n}_thumb.jpg", now)[0] for n in range(20)}
    assert len(starts) > 10


def test_same_url_for_the_whole_window_then_a_new_one(aws: None) -> None:
    """GIVEN a 1 h window WHEN the same key is signed across the window THEN one URL,
    X-Amz-Date = the window's start, X-Amz-Expires = window + download; the next window
    signs a new URL."""
    clock = FakeClock(datetime(2026, 3, 14, 12, 0, tzinfo=UTC))
    store = store_at(clock)
    start, _ = SigningWindow(WINDOW, DOWNLOAD).for_key(KEY, clock.now())
    clock.set(datetime.fromtimestamp(start, UTC))
    first = store.presign_get(KEY, expires_in=DOWNLOAD)
    clock.advance(seconds=WINDOW - 1)
    assert store_at(clock).presign_get(KEY, expires_in=DOWNLOAD) == first  # another process
    params = query_params(first)
    assert epoch(params["X-Amz-Date"]) == start
    assert int(params["X-Amz-Expires"]) == WINDOW + DOWNLOAD
    clock.advance(seconds=1)
    second = store.presign_get(KEY, expires_in=DOWNLOAD)
    assert second != first
    assert epoch(query_params(second)["X-Amz-Date"]) == start + WINDOW


def test_signature_is_botocores_own_for_that_signing_time(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window-aligned URL is exactly what boto3's generate_presigned_url signs at the
    window's start (so S3 accepts it as any presigned URL)."""
    clock = FakeClock(datetime(2026, 3, 14, 12, 0, tzinfo=UTC))
    store = store_at(clock)
    ours = store.presign_get(KEY, expires_in=DOWNLOAD)
    start, lifetime = SigningWindow(WINDOW, DOWNLOAD).for_key(KEY, clock.now())
    monkeypatch.setattr(
        botocore.auth,
        "get_current_datetime",
        lambda: datetime.fromtimestamp(start, UTC).replace(tzinfo=None),
    )
    theirs = store.signing_client.generate_presigned_url(
        "get_object", Params={"Bucket": store.bucket, "Key": KEY}, ExpiresIn=lifetime
    )
    assert ours == theirs


def test_window_and_download_lifetimes_are_bounded_by_sigv4() -> None:
    """SigV4 URLs live at most 7 days: each setting gets half, so their sum always fits."""
    base = {"PICGRAPH_JWT_SECRET": "x" * 32}
    assert Settings.from_env(base).url_window_seconds == 3600
    with pytest.raises(SettingsError, match="PICGRAPH_URL_WINDOW_SECONDS"):
        Settings.from_env({**base, "PICGRAPH_URL_WINDOW_SECONDS": "302401"})
    with pytest.raises(SettingsError, match="PICGRAPH_DOWNLOAD_URL_SECONDS"):
        Settings.from_env({**base, "PICGRAPH_DOWNLOAD_URL_SECONDS": "604800"})


# --------------------------------------------------------------------------
# Cache-Control on stored objects
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "rendition_cache_control"),
    [
        ({}, PRIVATE_CACHE_CONTROL),
        (
            {"PICGRAPH_CDN_URL": "https://cdn.example", "PICGRAPH_CDN_PUBLIC": "true"},
            SHARED_CACHE_CONTROL,
        ),
    ],
)
def test_renditions_are_shared_cacheable_only_behind_a_cdn(
    aws: None, env: dict[str, str], rendition_cache_control: str
) -> None:
    """GIVEN a READY image THEN originals are always private; renditions are public (a CDN
    may cache them) only when a CDN serves them."""
    world = build_moto_world(MotoWorld, env=env)
    image = world.ready(new_user())
    assert image.original_key is not None
    original = world.s3.head_object(Bucket=world.settings.bucket_name, Key=image.original_key)
    assert (
        original["CacheControl"] == PRIVATE_CACHE_CONTROL == "private, max-age=31536000, immutable"
    )
    for variant in image.variants:
        head = world.s3.head_object(Bucket=world.settings.bucket_name, Key=variant.key)
        assert head["CacheControl"] == rendition_cache_control


# --------------------------------------------------------------------------
# CloudFront
# --------------------------------------------------------------------------


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def cloudfront_b64decode(text: str) -> bytes:
    return base64.b64decode(text.replace("-", "+").replace("_", "=").replace("~", "/"))


class SecretCounter:
    def __init__(self) -> None:
        self.reads = 0

    def __call__(self, **_: Any) -> None:
        self.reads += 1


def cdn_world(key: rsa.RSAPrivateKey, counter: SecretCounter) -> MotoWorld:
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    arn = secrets.create_secret(Name=f"cdn-key-{new_user()}", SecretString=pem(key))["ARN"]
    world = build_moto_world(
        MotoWorld,
        env={
            "PICGRAPH_CDN_URL": "https://d111111abcdef8.cloudfront.net/",
            "PICGRAPH_CDN_KEY_PAIR_ID": "K2JCJMDEHXQW5F",
            "PICGRAPH_CDN_PRIVATE_KEY_SECRET_ARN": arn,
            "PICGRAPH_URL_WINDOW_SECONDS": str(WINDOW),
            "PICGRAPH_DOWNLOAD_URL_SECONDS": str(DOWNLOAD),
        },
    )
    world.session.events.register("before-call.secrets-manager.GetSecretValue", counter)
    return world


IMAGE_URLS = "query($id: ID!) { image(id: $id) { url thumbnail { url } variants { url } } }"


def execute(app: App, query: str, viewer: str, **variables: Any) -> dict[str, Any]:
    return execute_as(app, viewer, query, **variables)


def test_renditions_get_signed_cloudfront_urls_originals_stay_on_s3(aws: None) -> None:
    """GIVEN a CDN with a key pair in Secrets Manager WHEN an owner reads an image twice
    THEN variants point at the CDN with a canned-policy signature that verifies with the
    public key and a window-aligned expiry, the original stays a presigned S3 URL, the
    same URLs come back, and the secret was read once."""
    key, counter = rsa_key(), SecretCounter()
    world = cdn_world(key, counter)
    owner = new_user()
    image = world.ready(owner)
    assert counter.reads == 0  # lazily: not at start, not while processing
    first = execute(world.app, IMAGE_URLS, owner, id=image.id)["image"]
    second = execute(world.app, IMAGE_URLS, owner, id=image.id)["image"]
    assert first == second
    assert counter.reads == 1
    assert "X-Amz-Signature" in first["url"]
    assert not first["url"].startswith("https://d111111abcdef8.cloudfront.net")
    jpeg = world.app.reader.variants(image)
    for variant, url in zip(jpeg, [v["url"] for v in first["variants"]], strict=True):
        assert url.startswith(f"https://d111111abcdef8.cloudfront.net/{variant.key}?")
        params = query_params(url)
        assert params["Key-Pair-Id"] == "K2JCJMDEHXQW5F"
        start, lifetime = SigningWindow(WINDOW, DOWNLOAD).for_key(variant.key, world.clock.now())
        assert int(params["Expires"]) == start + lifetime
        resource = url.split("?")[0]
        policy = json.dumps(
            {
                "Statement": [
                    {
                        "Resource": resource,
                        "Condition": {"DateLessThan": {"AWS:EpochTime": start + lifetime}},
                    }
                ]
            },
            separators=(",", ":"),
        )
        key.public_key().verify(
            cloudfront_b64decode(params["Signature"]),
            policy.encode(),
            padding.PKCS1v15(),
            hashes.SHA1(),  # noqa: S303 - CloudFront's algorithm
        )
    world.clock.advance(timedelta(seconds=WINDOW))
    later = execute(world.app, IMAGE_URLS, owner, id=image.id)["image"]
    assert later["thumbnail"]["url"] != first["thumbnail"]["url"]


def test_public_cdn_urls_are_unsigned_and_read_no_secret(aws: None) -> None:
    world = build_moto_world(
        MotoWorld, env={"PICGRAPH_CDN_URL": "https://cdn.example", "PICGRAPH_CDN_PUBLIC": "true"}
    )
    owner = new_user()
    image = world.ready(owner)
    data = execute(world.app, IMAGE_URLS, owner, id=image.id)["image"]
    assert (
        data["thumbnail"]["url"] == f"https://cdn.example/{world.app.reader.variants(image)[0].key}"
    )
    assert "X-Amz-Signature" in data["url"]


def test_signed_cdn_needs_a_key(aws: None) -> None:
    with pytest.raises(SettingsError, match="PICGRAPH_CDN_KEY_PAIR_ID"):
        Settings.from_env(
            {"PICGRAPH_JWT_SECRET": "x" * 32, "PICGRAPH_CDN_URL": "https://c.example"}
        )


# --------------------------------------------------------------------------
# Only what the query selects is signed
# --------------------------------------------------------------------------


class CountingStore(S3ObjectStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.presigned: list[str] = []

    def presign_get(self, key: str, *, expires_in: int) -> str:
        self.presigned.append(key)
        return super().presign_get(key, expires_in=expires_in)


PAGE = "query { images(first: 20) { edges { node { id %s } } } }"


@pytest.mark.parametrize(
    ("selection", "signed_per_image"),
    [
        ("thumbnail { url }", 1),
        ("thumbnail { name width }", 0),
        ("variants { name }", 0),
        ("variants { url }", 3),
        ("url", 0),  # originals: only for their owner, and the viewer owns none
    ],
)
def test_a_page_signs_only_the_selected_urls(
    aws: None, selection: str, signed_per_image: int
) -> None:
    """GIVEN 20 READY images with 3 renditions each WHEN a page selects `thumbnail { url }`
    THEN 20 URLs are signed, not 60; unselected URLs are never signed."""
    world = build_moto_world(MotoWorld)
    for _ in range(20):
        assert len(world.app.reader.variants(world.ready(new_user("poster")))) == 3
    store = CountingStore(world.settings.bucket_name, session=world.session)
    app = build_app(
        world.settings,
        repository=world.app.repository,
        store=store,
        clock=world.clock,
        processor=lambda: world.processor,
    )
    data = execute(app, PAGE % selection, "viewer")
    assert len(data["images"]["edges"]) == 20
    assert len(store.presigned) == len(set(store.presigned)) == 20 * signed_per_image
