"""Per-test AWS resources with unique names, provisioned like production."""

from __future__ import annotations

import uuid
from typing import Any

import boto3

from infra.provisioning import ensure_bucket, ensure_table
from infra.settings import Settings

JWT_SECRET = "integration-test-secret-0123456789-abcdef"


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def provisioned_settings(**overrides: str) -> Settings:
    """Settings with a fresh table and bucket at the configured endpoint."""
    env = {
        "PICGRAPH_TABLE_NAME": unique_name("picgraph"),
        "PICGRAPH_BUCKET_NAME": unique_name("picgraph"),
        "PICGRAPH_JWT_SECRET": JWT_SECRET,
        "AWS_REGION": "us-east-1",
        **overrides,
    }
    import os

    settings = Settings.from_env({**os.environ, **env})
    session = boto3.Session(region_name=settings.region)
    ensure_table(session.client("dynamodb"), settings.table_name)
    ensure_bucket(
        session.client("s3", config=_path_style()), settings.bucket_name, region=settings.region
    )
    return settings


def _path_style() -> Any:
    from infra.aws import client_config

    return client_config(path_style=True)


def s3_keys(settings: Settings) -> set[str]:
    client = boto3.client("s3", config=_path_style())
    keys: set[str] = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=settings.bucket_name):
        keys.update(item["Key"] for item in page.get("Contents", []))
    return keys


def table_items(settings: Settings) -> list[dict[str, Any]]:
    """Every item (a test-only Scan, to prove nothing is orphaned)."""
    table = boto3.resource("dynamodb").Table(settings.table_name)
    items: list[dict[str, Any]] = []
    response = table.scan()
    items.extend(response["Items"])
    while "LastEvaluatedKey" in response:
        response = table.scan(ExclusiveStartKey=response["LastEvaluatedKey"])
        items.extend(response["Items"])
    return items
