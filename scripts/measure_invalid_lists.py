"""Issue 8 item 4: what one hostile list costs, in-process through the real schema.

Sends `createImageUpload` and `updateImage` with `tags: ["#"] x N` (default 250,000) as a
client would (GraphQL variables), on in-memory fakes, and prints the JSON response size,
the number of userErrors and the time each took. No network, no emulator.

    .venv/bin/python scripts/measure_invalid_lists.py [--count 250000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.settings import Settings
from resolvers.bootstrap import build_app
from resolvers.context import Context
from resolvers.schema import create_schema
from tests.support.clock import FakeClock
from tests.support.fakes import FakeRepository, FakeStore

CREATE = """mutation Create($input: CreateImageUploadInput!) {
  createImageUpload(input: $input) { image { id } userErrors { field message code } }
}"""
UPDATE = """mutation Update($id: ID!, $input: UpdateImageInput!) {
  updateImage(id: $id, input: $input) { image { id } userErrors { field message code } }
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=250_000)
    count = parser.parse_args().count
    settings = Settings.from_env({"PICGRAPH_JWT_SECRET": "measure-secret-0123456789-abcdefgh"})
    app = build_app(settings, repository=FakeRepository(), store=FakeStore(), clock=FakeClock())
    schema = create_schema(introspection=True, max_depth=10, max_aliases=15, max_tokens=2000)
    created = app.uploads.create_upload(
        "measure", filename="a.jpg", content_type="image/jpeg", size_bytes=10
    )
    tags = ["#"] * count
    cases: dict[str, tuple[str, dict[str, Any]]] = {
        "createImageUpload": (
            CREATE,
            {"input": {"filename": "a.jpg", "contentType": "image/jpeg", "sizeBytes": 10}},
        ),
        "updateImage": (UPDATE, {"id": created.image.id, "input": {}}),
    }
    for field, (document, variables) in cases.items():
        variables["input"]["tags"] = tags
        request_bytes = len(json.dumps({"query": document, "variables": variables}))
        context = Context(app=app, request_id="measure", viewer_id="measure")
        started = time.perf_counter()
        result = schema.execute_sync(document, variable_values=variables, context_value=context)
        body = json.dumps({"data": result.data})
        elapsed = time.perf_counter() - started
        assert result.errors is None, result.errors
        assert result.data is not None
        errors = len(result.data[field]["userErrors"])
        print(
            f"{field} tags x {count}: request {request_bytes / 1e6:.2f} MB -> response "
            f"{len(body) / 1e6:.4f} MB ({len(body)} bytes), {errors} userErrors, "
            f"{elapsed:.3f} s"
        )


if __name__ == "__main__":
    main()
