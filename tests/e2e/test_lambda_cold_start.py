"""What a fresh Lambda container loads per event kind and per init type.

Each test runs a fresh interpreter, as a new container would: modules already
imported by the test process must not hide what the handler pulls in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from infra.settings import Settings
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


def fresh_python(code: str, *args: str, **env: str) -> dict[str, object]:
    """The JSON object a fresh interpreter running `code` prints last."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
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
print(json.dumps({{"loaded": {loaded()}, "http_ready": h._graphql_http is not None,
                  "cryptography": "cryptography" in sys.modules}}))
"""
    # /graphql needs the engine only: no PyJWT (nor cryptography), Starlette or Mangum,
    # which serve only the Lambda's other paths (the gallery, /health).
    for init_type in ("snap-start", "provisioned-concurrency"):
        answer = fresh_python(code, AWS_LAMBDA_INITIALIZATION_TYPE=init_type)
        assert answer == {
            "loaded": ["graphql", "strawberry"],
            "http_ready": True,
            "cryptography": False,
        }
    on_demand = fresh_python(code, AWS_LAMBDA_INITIALIZATION_TYPE="on-demand")
    assert on_demand == {"loaded": [], "http_ready": False, "cryptography": False}


# Per event kind, modules its fresh container must never load: each pays only for what
# it needs (the GraphQL engine, PyJWT, the HTTP layer, Pillow, services it never calls).
NOT_NEEDED: dict[str, tuple[str, ...]] = {
    "s3": (
        *GRAPHQL_MODULES,
        "cryptography",
        "PIL",
        "services.uploads",
        "services.upload_requests",
        "services.quotas",
        "services.listing",
        "services.cleanup",
        "services.deletion",
        "services.updates",
        "services.images",
    ),
    "scheduled": (
        *GRAPHQL_MODULES,
        "cryptography",
        "PIL",
        "services.uploads",
        "services.validation",
        "services.listing",
        "services.deletion",
        "services.updates",
        "services.images",
    ),
    # Query.image: resolvers/appsync_fast.py, no GraphQL engine at all.
    "appsync": (*GRAPHQL_MODULES, "PIL", "services.cleanup", "resolvers.schema"),
    # /graphql: the engine, but no web framework, no PyJWT or cryptography (HS256 is
    # verified with the standard library), no ASGI server code.
    "http": (
        "PIL",
        "services.cleanup",
        "resolvers.appsync_operations",
        "jwt",
        "cryptography",
        "mangum",
        "starlette",
        "anyio",
        "resolvers.http",
        "resolvers.assets",
    ),
}


def sample_events(settings: Settings) -> dict[str, object]:
    """The real sample events, pointed at this test's bucket and a caller's token."""
    from resolvers.identity import issue_token

    s3 = json.loads((EVENTS_DIR / "s3_object_created.json").read_text())
    s3["Records"][0]["s3"]["bucket"]["name"] = settings.bucket_name
    s3["Records"][0]["s3"]["object"]["key"] = f"uploads/{uuid.uuid4()}"
    appsync = json.loads((EVENTS_DIR / "appsync_query_image.json").read_text())
    appsync["arguments"]["id"] = str(uuid.uuid4())
    appsync["identity"]["sub"] = appsync["identity"]["claims"]["sub"] = "cold-start-user"
    http = json.loads((EVENTS_DIR / "apigw_http_v2_post_graphql.json").read_text())
    http["body"] = json.dumps(
        {"query": "query($id: ID!) { image(id: $id) { id } }", "variables": {"id": "x"}}
    )
    http["headers"]["content-length"] = str(len(http["body"]))
    token = issue_token("cold-start-user", str(settings.jwt_secret))
    http["headers"]["authorization"] = f"Bearer {token}"
    return {
        "s3": s3,
        "scheduled": json.loads((EVENTS_DIR / "eventbridge_scheduled.json").read_text()),
        "appsync": appsync,
        "http": http,
    }


@pytest.mark.parametrize("kind", sorted(NOT_NEEDED))
def test_each_event_kind_loads_only_what_it_needs(kind: str, settings: Settings) -> None:
    """GIVEN a fresh on-demand container WHEN it handles one real sample event of a kind
    THEN the event is really handled and none of the modules that kind does not need load."""
    event = sample_events(settings)[kind]
    code = f"""
import json, sys
from types import SimpleNamespace
import resolvers.lambda_handler as h
context = SimpleNamespace(aws_request_id="cold", get_remaining_time_in_millis=lambda: 30_000)
result = h.handler(json.loads(sys.argv[1]), context)
names = {list(NOT_NEEDED[kind])!r}
print(json.dumps({{"result": result, "loaded": [m for m in names if m in sys.modules]}},
                 default=str))
"""
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(event)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={
            **ENV,
            "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"],
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "PICGRAPH_TABLE_NAME": settings.table_name,
            "PICGRAPH_BUCKET_NAME": settings.bucket_name,
            "PICGRAPH_JWT_SECRET": str(settings.jwt_secret),
        },
        check=True,
        timeout=60,
    )
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    result = answer["result"]
    if kind == "http":
        assert result["statusCode"] == 200
        assert json.loads(result["body"]) == {"data": {"image": None}}
    elif kind == "s3":
        assert list(result["processed"].values()) == ["ignored"]
    elif kind == "scheduled":
        assert result["failed"] == 0
        assert result["remaining"] is False
    else:
        assert result is None  # AppSync: no such image
    assert answer["loaded"] == []


GC_STATE = """
import gc, json, sys
import resolvers.lambda_handler as h
after_init = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count() > 0}
try:
    h.handler(json.loads(sys.argv[1]), None)
except h.UnsupportedEventError:
    pass
after_invoke = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count() > 0}
print(json.dumps({"init": after_init, "invoke": after_invoke}))
"""


def test_garbage_collection_pauses_only_while_a_cold_container_loads() -> None:
    """GIVEN a fresh on-demand container THEN the cyclic GC is paused through init, and
    enabled again (the loaded modules frozen) once the first invoke has loaded what it
    needs, even when that invoke fails; SnapStart's init ends with it enabled; outside a
    Lambda container the import leaves the collector alone."""

    def state(**env: str) -> dict[str, object]:
        return fresh_python(GC_STATE, json.dumps({"hello": "world"}), **env)

    paused, resumed = {"enabled": False, "frozen": False}, {"enabled": True, "frozen": True}
    assert state(AWS_LAMBDA_INITIALIZATION_TYPE="on-demand") == {
        "init": paused,
        "invoke": resumed,
    }
    assert state(AWS_LAMBDA_INITIALIZATION_TYPE="snap-start") == {
        "init": resumed,
        "invoke": resumed,
    }
    untouched = {"enabled": True, "frozen": False}
    assert state(AWS_LAMBDA_FUNCTION_NAME="") == {"init": untouched, "invoke": untouched}
