"""docker-compose.yml, checked statically (no Docker engine here).

The pins, the port the Makefile and docs use, the health check, the data volume, and that
SERVICES covers every AWS service terraform/ deploys to LocalStack. `docker compose config`
(or docker-compose's) also validates it against the Compose schema where installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
# The last community image that starts without LOCALSTACK_AUTH_TOKEN (2026.3.0 needs one).
COMMUNITY_IMAGE = "localstack/localstack:4.14.0"

# Terraform resource/data type prefix -> LocalStack service; None = nothing to emulate.
TERRAFORM_SERVICES: dict[str, str | None] = {
    "aws_s3_": "s3",
    "aws_dynamodb_": "dynamodb",
    "aws_lambda_": "lambda",
    "aws_iam_": "iam",
    "aws_iam_policy_document": None,  # rendered locally by the provider
    "aws_cloudwatch_log_": "logs",
    "aws_cloudwatch_event_": "events",
    "aws_caller_identity": "sts",
    "aws_partition": None,
    "aws_region": None,
}
# Not in the community edition; picgraph's answer to each is in docs/localstack.md.
COMMUNITY_LACKS = ("aws_apigatewayv2_", "aws_appsync_", "aws_cloudfront_")


def localstack() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    service: dict[str, Any] = document["services"]["localstack"]
    return service


def environment() -> dict[str, str]:
    env = localstack()["environment"]
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(name): str(value) for name, value in env.items()}


def test_image_is_pinned_to_the_last_community_release() -> None:
    assert localstack()["image"] == COMMUNITY_IMAGE
    assert "LOCALSTACK_AUTH_TOKEN" not in environment()


def test_gateway_is_published_on_loopback_4566_as_the_makefile_expects() -> None:
    assert localstack()["ports"] == ["127.0.0.1:4566:4566"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^LOCALSTACK_ENDPOINT \?= http://localhost:4566$", makefile, re.M)


def test_services_are_what_terraform_deploys() -> None:
    """Every AWS resource/data type in terraform/ maps to a service in SERVICES (or is one
    the community edition lacks), and SERVICES names nothing terraform does not use."""
    services = set(environment()["SERVICES"].split(","))
    types = set()
    for tf in (ROOT / "terraform").glob("*.tf"):
        types |= set(re.findall(r'^(?:resource|data) "(aws_[a-z0-9_]+)"', tf.read_text(), re.M))
    needed: set[str] = set()
    for kind in sorted(types):
        if kind.startswith(COMMUNITY_LACKS):
            continue
        prefixes = [prefix for prefix in TERRAFORM_SERVICES if kind.startswith(prefix)]
        assert prefixes, f"{kind}: add its LocalStack service to SERVICES and to this map"
        service = TERRAFORM_SERVICES[max(prefixes, key=len)]
        if service is not None:
            needed.add(service)
    assert services == needed


def test_health_check_waits_for_init_and_the_data_services() -> None:
    check = localstack()["healthcheck"]
    command = " ".join(check["test"])
    assert check["test"][0] == "CMD-SHELL"
    assert "/_localstack/init/ready" in command
    assert '"s3"' in command
    assert '"dynamodb"' in command
    assert int(check["retries"]) * int(check["interval"].rstrip("s")) >= 60


def test_state_lives_in_a_named_volume_with_persistence_requested() -> None:
    assert environment()["PERSISTENCE"] == "1"
    volumes = localstack()["volumes"]
    assert "localstack-data:/var/lib/localstack" in volumes
    assert "/var/run/docker.sock:/var/run/docker.sock" in volumes  # Lambda containers
    document = yaml.safe_load(COMPOSE.read_text())
    assert "localstack-data" in document["volumes"]


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run(
            [docker, "compose", "version"], capture_output=True, check=False
        ).returncode
        == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_compose_validates_the_file() -> None:
    command = _compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor docker-compose is installed")
    done = subprocess.run(
        [*command, "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
