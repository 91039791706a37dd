"""Upload a photo to picgraph the way a client does: create, POST to S3, complete.

Usage: .venv/bin/python examples/upload.py PHOTO [--url http://127.0.0.1:8000/graphql]
The token comes from PICGRAPH_TOKEN, or is signed here for user "dev-user" like `picgraph token`.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import os
from pathlib import Path

import requests
from gql import Client, gql
from gql.transport.requests import RequestsHTTPTransport

CREATE = gql("""
mutation Create($input: CreateImageUploadInput!) {
  createImageUpload(input: $input) {
    image { id status }
    upload { url fields { name value } }
    userErrors { field code message }
  }
}""")

COMPLETE = gql("""
mutation Complete($id: ID!) {
  completeImageUpload(id: $id) {
    image { id status width height contentType
            metadata { cameraMake cameraModel takenAt }
            thumbnail { url width height } variants { name width height url } }
    userErrors { code message }
  }
}""")


def dev_token() -> str:
    """A token for "dev-user", signed like `picgraph token` does."""
    from infra.settings import Settings
    from resolvers.identity import issue_token

    secret = Settings.from_env().jwt_secret
    assert secret is not None, "set PICGRAPH_TOKEN or PICGRAPH_JWT_SECRET"
    return issue_token("dev-user", secret)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("photo", type=Path)
    parser.add_argument("--url", default="http://127.0.0.1:8000/graphql")
    args = parser.parse_args()
    token = os.environ.get("PICGRAPH_TOKEN") or dev_token()
    transport = RequestsHTTPTransport(url=args.url, headers={"Authorization": f"Bearer {token}"})
    data = args.photo.read_bytes()
    content_type = mimetypes.guess_type(args.photo.name)[0] or "image/jpeg"
    with Client(transport=transport) as session:
        CREATE.variable_values = {
            "input": {
                "filename": args.photo.name,
                "contentType": content_type,
                "sizeBytes": len(data),
            }
        }
        created = session.execute(CREATE)["createImageUpload"]
        if created["userErrors"]:
            print(json.dumps(created["userErrors"], indent=2))
            return 1
        upload = created["upload"]
        fields = {field["name"]: field["value"] for field in upload["fields"]}
        response = requests.post(
            upload["url"],
            data=fields,
            files={"file": (args.photo.name, data, content_type)},
            timeout=60,
        )
        print(f"POST to S3: HTTP {response.status_code}")
        COMPLETE.variable_values = {"id": created["image"]["id"]}
        completed = session.execute(COMPLETE)["completeImageUpload"]
    print(json.dumps(completed, indent=2))
    return 0 if not completed["userErrors"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
