"""The gallery and GraphiQL's vendored assets, served by the app over real HTTP."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
import requests

from resolvers import assets
from resolvers.cli import dev_links
from tests.integration.conftest import Api

HTML = {"Accept": "text/html"}


def base_of(api: Api) -> str:
    return api.url.removesuffix("/graphql")


def test_gallery_is_served_at_the_root(api: Api) -> None:
    response = requests.get(f"{base_of(api)}/", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/gallery/app.js">' in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-cache"
    for module in ("app.js", "api.js", "upload.js", "gallery.css"):
        asset = requests.get(f"{base_of(api)}/static/gallery/{module}", timeout=10)
        assert asset.status_code == 200, module
        assert asset.headers["cache-control"] == "no-cache"
        assert asset.headers["etag"]
        again = requests.get(
            f"{base_of(api)}/static/gallery/{module}",
            headers={"If-None-Match": asset.headers["etag"]},
            timeout=10,
        )
        assert again.status_code == 304


def test_graphiql_loads_every_asset_from_picgraph_with_its_integrity(api: Api) -> None:
    """GIVEN `make install` fetched the assets THEN the GraphiQL page references no other
    origin, and each file it loads matches the integrity attribute the browser checks."""
    if not (assets.VENDOR_DIR / "manifest.json").is_file():
        pytest.fail("GraphiQL's assets are not vendored: run `make vendor`")
    page = requests.get(api.url, headers=HTML, timeout=10)
    assert page.status_code == 200
    assert "unpkg.com" not in page.text
    references = re.findall(
        r'(?:src|href)="(/static/vendor/[^"]+)"\s+integrity="(sha384-[^"]+)"', page.text
    )
    assert len(references) == 7
    for path, integrity in references:
        response = requests.get(
            f"{base_of(api)}{path}", headers={"Accept-Encoding": "gzip"}, timeout=10
        )
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        digest = base64.b64encode(hashlib.sha384(response.content).digest()).decode()
        assert f"sha384-{digest}" == integrity, path
        if len(response.content) > 10_000:
            assert response.headers.get("content-encoding") == "gzip", path


def test_graphiql_keeps_unpkg_when_the_assets_are_absent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Lambda package ships no vendored files: Strawberry's page stays as it is."""
    monkeypatch.setattr(assets, "VENDOR_DIR", tmp_path)
    page = '<script src="https://unpkg.com/react@18.2.0/umd/react.production.min.js"></script>'
    assert assets.graphiql_html(page) == page
    target = tmp_path / "react@18.2.0" / "umd" / "react.production.min.js"
    target.parent.mkdir(parents=True)
    target.write_text("")
    assert assets.graphiql_html(page) == page.replace("https://unpkg.com/", "/static/vendor/")


def test_dev_links_open_graphiql_and_the_gallery_signed_in(api: Api) -> None:
    """`make dev` prints links with the token: GraphiQL's ?headers= and the gallery's #token."""
    token = api.token("dev-user")
    graphiql, gallery = (line.split(": ", 1)[1].strip() for line in dev_links("http://h", token))
    assert graphiql.startswith("http://h/graphql?headers=%7B%22Authorization%22")
    assert unquote(graphiql.split("headers=")[1]) == ('{"Authorization": "Bearer ' + token + '"}')
    assert gallery == f"http://h/#token={token}"
