"""Fixtures shared by every test layer."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from infra.settings import Settings
    from resolvers.bootstrap import App

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = Path(os.environ.get("PICGRAPH_SAMPLES_DIR", REPO_ROOT.parent / "shared" / "samples"))
EVENTS_DIR = Path(__file__).resolve().parent / "events"


def pytest_configure(config: pytest.Config) -> None:
    """moto, in process or over HTTP, answers one DynamoDB request at a time, like the
    emulator: its transactions are not isolated otherwise (resolvers/emulator.py)."""
    from resolvers.emulator import serialize_dynamodb_requests

    serialize_dynamodb_requests()


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """../shared/samples: real camera and phone files, never copied into the repo."""
    if not (SAMPLES_DIR / "exif-samples").is_dir():
        pytest.skip(f"sample images not found at {SAMPLES_DIR} (set PICGRAPH_SAMPLES_DIR)")
    return SAMPLES_DIR


@pytest.fixture(autouse=True)
def _aws_test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials so that no test can reach a real AWS account by accident."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's S3 + DynamoDB over real HTTP on 127.0.0.1, shared by the session."""
    from tests.support.servers import moto_server

    with moto_server() as url:
        yield url


@pytest.fixture
def aws_endpoint(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str) -> str:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    return moto_endpoint


@pytest.fixture
def settings(aws_endpoint: str) -> Settings:
    """A fresh table and bucket (unique names) on the shared moto server."""
    from tests.support.aws import provisioned_settings

    return provisioned_settings()


@pytest.fixture
def app(settings: Settings) -> App:
    from resolvers.bootstrap import build_app

    return build_app(settings)
