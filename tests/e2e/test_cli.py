"""The `picgraph` console script, run as a user runs it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import jwt
import pytest
import requests

from tests.conftest import REPO_ROOT
from tests.support.servers import free_port

CREATE = """mutation {
  createImageUpload(input: {filename: "a.jpg", contentType: "image/jpeg", sizeBytes: 10}) {
    image { status ownerId }
  }
}"""
PICGRAPH = [sys.executable, "-m", "resolvers.cli"]
SECRET = "cli-test-secret-0123456789abcdef"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PICGRAPH, *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=120,
        check=False,
    )


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_ENDPOINT", "PICGRAPH_"))
    }
    env.update(extra)
    return env


def test_token_is_a_verifiable_hs256_jwt() -> None:
    result = run(
        "token", "--user", "alice", "--ttl", "60", env=clean_env(PICGRAPH_JWT_SECRET=SECRET)
    )
    assert result.returncode == 0, result.stderr
    claims = jwt.decode(result.stdout.strip(), SECRET, algorithms=["HS256"])
    assert claims["sub"] == "alice"
    assert 0 < claims["exp"] - time.time() <= 60


def test_token_refuses_a_lifetime_the_api_would_refuse() -> None:
    """GIVEN PICGRAPH_MAX_TOKEN_LIFETIME_SECONDS (default 24 h) THEN --ttl above it is refused."""
    env = clean_env(PICGRAPH_JWT_SECRET=SECRET)
    too_long = run("token", "--user", "alice", "--ttl", "86401", env=env)
    assert too_long.returncode == 2
    assert too_long.stdout == ""
    assert len(too_long.stderr.strip().splitlines()) == 1
    assert "86400" in too_long.stderr
    configured = clean_env(PICGRAPH_JWT_SECRET=SECRET, PICGRAPH_MAX_TOKEN_LIFETIME_SECONDS="600")
    assert run("token", "--user", "alice", "--ttl", "601", env=configured).returncode == 2
    assert run("token", "--user", "alice", "--ttl", "600", env=configured).returncode == 0


def test_serve_prints_no_token_for_a_real_secret(tmp_path: Path) -> None:
    """GIVEN a non-development PICGRAPH_JWT_SECRET THEN serve prints no bearer token."""
    with serving(clean_env(PICGRAPH_JWT_SECRET=SECRET), cwd=tmp_path) as (_, lines):
        banner = "".join(lines)
    assert "Bearer" not in banner
    assert "picgraph token --user" in banner
    assert not re.search(r"eyJ[\w-]+\.[\w-]+\.[\w-]+", banner)


def test_missing_settings_fail_with_one_clear_line() -> None:
    """GIVEN a Lambda environment with no table name THEN one line names the setting."""
    env = clean_env(AWS_LAMBDA_FUNCTION_NAME="picgraph", PICGRAPH_JWT_SECRET=SECRET)
    result = run("token", "--user", "x", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "picgraph: configuration error: PICGRAPH_TABLE_NAME is required"
    ]


def test_lambda_without_secret_or_upstream_auth_refuses_to_start() -> None:
    env = clean_env(
        AWS_LAMBDA_FUNCTION_NAME="picgraph", PICGRAPH_TABLE_NAME="t", PICGRAPH_BUCKET_NAME="b"
    )
    result = run("token", "--user", "x", env=env)
    assert result.returncode == 2
    assert "PICGRAPH_JWT_SECRET is required" in result.stderr


def test_export_schema_writes_the_committed_schema(tmp_path: Path) -> None:
    target = tmp_path / "schema.graphql"
    result = run("export-schema", "--output", str(target), env=clean_env())
    assert result.returncode == 0, result.stderr
    assert target.read_text() == (REPO_ROOT / "schema.graphql").read_text()


def test_bootstrap_is_idempotent(moto_endpoint: str) -> None:
    import uuid

    env = clean_env(
        AWS_ENDPOINT_URL=moto_endpoint,
        PICGRAPH_TABLE_NAME=f"cli-{uuid.uuid4().hex[:8]}",
        PICGRAPH_BUCKET_NAME=f"cli-{uuid.uuid4().hex[:8]}",
        PICGRAPH_JWT_SECRET=SECRET,
    )
    first = run("bootstrap", env=env)
    second = run("bootstrap", env=env)
    assert first.returncode == 0, first.stderr
    assert "created" in first.stdout
    assert second.stdout.count("already exists") == 2


@contextmanager
def serving(env: dict[str, str], cwd: Path = REPO_ROOT) -> Iterator[tuple[str, list[str]]]:
    """`picgraph serve` until it has printed its banner: (GraphQL URL, banner lines)."""
    port = free_port()
    process = subprocess.Popen(
        [*PICGRAPH, "serve", "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
            lines.append(line)
            if "Header for GraphiQL" in line or "Auth:" in line:
                yield f"http://127.0.0.1:{port}/graphql", lines
                return
        raise AssertionError("serve printed no banner:\n" + "".join(lines))
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`picgraph serve` with no AWS endpoint: it must start its own emulator."""
    with serving(clean_env(), cwd=tmp_path) as (url, lines):
        match = re.search(r'"Bearer ([^"]+)"', lines[-1])
        assert match, "serve printed no token:\n" + "".join(lines)
        yield url, match.group(1)


def test_serve_starts_an_emulator_and_answers_with_the_printed_token(
    served: tuple[str, str],
) -> None:
    url, token = served
    deadline = time.monotonic() + 20
    while True:
        try:
            response = requests.post(
                url,
                json={"query": CREATE},
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            break
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    assert response.json() == {
        "data": {
            "createImageUpload": {"image": {"status": "PENDING_UPLOAD", "ownerId": "dev-user"}}
        }
    }


def test_lambda_init_fails_fast_on_missing_settings() -> None:
    """GIVEN a Lambda container with no JWT secret and no upstream authorizer
    WHEN the runtime imports the handler THEN init fails with one clear line."""
    env = clean_env(
        AWS_LAMBDA_FUNCTION_NAME="picgraph", PICGRAPH_TABLE_NAME="t", PICGRAPH_BUCKET_NAME="b"
    )
    result = subprocess.run(
        [sys.executable, "-c", "import resolvers.lambda_handler"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "SettingsError: PICGRAPH_JWT_SECRET is required in Lambda" in result.stderr
    ok = subprocess.run(
        [sys.executable, "-c", "import resolvers.lambda_handler"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
        check=False,
        env={**env, "PICGRAPH_JWT_SECRET": "s" * 32},
    )
    assert ok.returncode == 0, ok.stderr


# -- local commands: one line per error, `make dev`'s emulator or nothing -----------------


def no_aws_env(**extra: str) -> dict[str, str]:
    """No credentials anywhere (env, files, instance metadata), no endpoint."""
    env = {
        key: value
        for key, value in clean_env().items()
        if not key.startswith(("AWS_ACCESS", "AWS_SECRET", "AWS_SESSION", "AWS_PROFILE"))
    }
    env.update(
        AWS_CONFIG_FILE="/nonexistent/picgraph-test",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/picgraph-test",
        AWS_EC2_METADATA_DISABLED="true",
        **extra,
    )
    return env


def assert_one_line_error(result: subprocess.CompletedProcess[str], exit_code: int) -> str:
    """Exactly one error line (warnings, one line each, may come before it)."""
    assert result.returncode == exit_code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert all(line.startswith("picgraph: ") for line in lines), result.stderr
    errors = [line for line in lines if not line.startswith("picgraph: warning: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def run_in(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PICGRAPH, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("command", [["cleanup", "--dry-run"], ["bootstrap"]])
def test_local_commands_refuse_real_aws_without_an_emulator(
    tmp_path: Path, command: list[str]
) -> None:
    """GIVEN no `make dev` running, no AWS_ENDPOINT_URL and no --aws (but AWS credentials)
    THEN one line that says what to do, exit 2, and no AWS call at all."""
    result = run_in(tmp_path, *command, env=clean_env())
    line = assert_one_line_error(result, 2)
    assert "make dev" in line
    assert "--aws" in line
    assert result.stdout == ""


@pytest.mark.parametrize(
    "arguments",
    [["cleanup", "--bogus"], ["token"], ["nope"], ["token", "--user", "a", "--ttl", "x"]],
)
def test_usage_mistakes_are_one_line(tmp_path: Path, arguments: list[str]) -> None:
    result = run_in(tmp_path, *arguments, env=clean_env())
    line = assert_one_line_error(result, 2)
    assert "--help" in line


def test_aws_errors_are_one_line(tmp_path: Path) -> None:
    """GIVEN --aws without credentials, or an endpoint that does not answer THEN one line."""
    no_credentials = run_in(tmp_path, "cleanup", "--dry-run", "--aws", env=no_aws_env())
    assert "no AWS credentials" in assert_one_line_error(no_credentials, 1)
    closed = f"http://127.0.0.1:{free_port()}"
    unreachable = run_in(tmp_path, "bootstrap", env=clean_env(AWS_ENDPOINT_URL=closed))
    assert "cannot reach" in assert_one_line_error(unreachable, 1)


def test_local_commands_find_the_make_dev_emulator(tmp_path: Path) -> None:
    """GIVEN `picgraph serve` (make dev) running in a checkout WHEN cleanup and bootstrap run
    from a second terminal (no AWS settings, even from a subdirectory) THEN they act on its
    emulator; AND when serve stops, its endpoint record is gone."""
    (tmp_path / "pyproject.toml").write_text("")
    subdirectory = tmp_path / "docs"
    subdirectory.mkdir()
    record = tmp_path / ".picgraph" / "dev-endpoint.json"
    with serving(clean_env(PICGRAPH_TABLE_NAME="dev-table"), cwd=tmp_path):
        assert record.is_file()
        endpoint = json.loads(record.read_text())["endpoint"]
        cleanup = run_in(subdirectory, "cleanup", "--dry-run", env=no_aws_env())
        assert cleanup.returncode == 0, cleanup.stderr
        assert json.loads(cleanup.stdout)["dry_run"] is True
        assert endpoint in cleanup.stderr
        bootstrap = run_in(tmp_path, "bootstrap", env=no_aws_env())
        assert bootstrap.returncode == 0, bootstrap.stderr
        assert bootstrap.stdout.splitlines() == [
            "table dev-table: already exists",
            "bucket picgraph-images: already exists",
        ]
    assert not record.exists()
    after = run_in(tmp_path, "cleanup", "--dry-run", env=no_aws_env())
    assert_one_line_error(after, 2)


def test_a_stale_endpoint_record_is_ignored(tmp_path: Path) -> None:
    """GIVEN the record of a serve killed with -9 (its endpoint no longer answers)
    THEN local commands do not use it: they refuse as if make dev were not running."""
    state = tmp_path / ".picgraph"
    state.mkdir()
    (state / "dev-endpoint.json").write_text(
        json.dumps(
            {
                "endpoint": f"http://127.0.0.1:{free_port()}",
                "table_name": "picgraph",
                "bucket_name": "picgraph-images",
                "region": "us-east-1",
                "pid": 999_999,
            }
        )
    )
    result = run_in(tmp_path, "cleanup", "--dry-run", env=no_aws_env())
    assert "no local emulator found" in assert_one_line_error(result, 2)
