"""What a fresh Lambda container loads per event kind and per init type.

Each test runs a fresh interpreter, as a new container would: modules already
imported by the test process must not hide what the handler pulls in.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import EVENTS_DIR, REPO_ROOT

GRAPHQL_MODULES = ("strawberry", "graphql", "jwt", "mangum", "starlette")
ENV = {
    "PATH": "/usr/bin:/bin",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing listens: no AWS call may be made
    "PICGRAPH_TABLE_NAME": "cold-start",
    "PICGRAPH_BUCKET_NAME": "cold-start",
    "PICGRAPH_JWT_SECRET": "cold-start-secret-0123456789-abcdef",
    "PICGRAPH_LOG_LEVEL": "WARNING",
    "AWS_LAMBDA_FUNCTION_NAME": "picgraph",
}


def fresh_python(code: str, **env: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**ENV, **env},
        check=True,
        timeout=60,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def loaded(modules: str = "sys.modules") -> str:
    return f"sorted(m for m in {GRAPHQL_MODULES!r} if m in {modules})"


def test_events_are_classified_without_loading_graphql() -> None:
    """GIVEN every sample event WHEN classified, and an S3 event handled THEN no GraphQL module."""
    events = {path.name: json.loads(path.read_text()) for path in Path(EVENTS_DIR).glob("*.json")}
    s3 = events["s3_object_created.json"]
    s3["Records"][0]["s3"]["bucket"]["name"] = "cold-start"
    s3["Records"][0]["s3"]["object"]["key"] = "not-a-staging-key"
    code = f"""
import json, sys
import resolvers.lambda_handler as h
events = json.loads({json.dumps(json.dumps(events))})
kinds = {{name: h.event_kind(event) for name, event in events.items()}}
result = h.handler(events["s3_object_created.json"], None)
print(json.dumps({{"kinds": kinds, "result": result, "loaded": {loaded()}}}))
"""
    answer = fresh_python(code, AWS_LAMBDA_INITIALIZATION_TYPE="on-demand")
    assert answer["loaded"] == []
    assert answer["result"] == {"processed": {"not-a-staging-key": "ignored"}}
    kinds = answer["kinds"]
    assert isinstance(kinds, dict)
    assert {
        name: kind for name, kind in kinds.items() if not name.startswith(("appsync", "apigw"))
    } == {
        "eventbridge_scheduled.json": "scheduled",
        "s3_object_created.json": "s3",
    }
    assert all(kinds[name] == "appsync" for name in kinds if name.startswith("appsync"))
    assert all(kinds[name] == "http" for name in kinds if name.startswith("apigw"))


def test_snap_start_init_preloads_the_graphql_paths() -> None:
    """GIVEN SnapStart or provisioned concurrency THEN init (the import) loads and warms GraphQL."""
    code = f"""
import json, sys
import resolvers.lambda_handler as h
print(json.dumps({{"loaded": {loaded()}, "http_ready": h._http_handler is not None}}))
"""
    for init_type in ("snap-start", "provisioned-concurrency"):
        answer = fresh_python(code, AWS_LAMBDA_INITIALIZATION_TYPE=init_type)
        assert answer == {"loaded": sorted(GRAPHQL_MODULES), "http_ready": True}
    on_demand = fresh_python(code, AWS_LAMBDA_INITIALIZATION_TYPE="on-demand")
    assert on_demand == {"loaded": [], "http_ready": False}
