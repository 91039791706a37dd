"""The gallery and GraphiQL in a real headless Chromium (Debian's), driven by Playwright.

The app runs under uvicorn on moto over real HTTP (S3 + DynamoDB on 127.0.0.1): the page
uploads a sample photo with the presigned POST, shows its thumbnail, loads a second page
by scrolling, and after a reload the DevTools protocol proves that no rendition byte
crossed the network again. GraphiQL must load with every request kept on 127.0.0.1.

`make browser` installs Chromium (apt, as root) and Playwright; without them the tests
skip, unless PICGRAPH_REQUIRE_BROWSER=1 (.ci/run) makes that a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from resolvers.bootstrap import App, build_app
from resolvers.http import create_asgi_app
from resolvers.identity import issue_token
from tests.conftest import REPO_ROOT
from tests.support.aws import provisioned_settings
from tests.support.servers import app_server
from tests.support.world import new_user

CHROMIUM = os.environ.get("PICGRAPH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO_ROOT / "build" / "browser"
SEEDED = 25  # more than one page (20) of the gallery


def _browser_or_skip() -> Any:
    required = os.environ.get("PICGRAPH_REQUIRE_BROWSER") == "1"
    reason = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "playwright is not installed (make browser)"
    if reason is None and not shutil.which(CHROMIUM):
        reason = f"{CHROMIUM} not found (make browser: apt-get install chromium)"
    if reason is not None:
        if required:
            pytest.fail(reason)
        pytest.skip(reason)
    return sync_playwright


@dataclass
class NetworkLog:
    """Network.* DevTools events of one page, by request id."""

    requests: dict[str, dict[str, Any]] = field(default_factory=dict)

    def attach(self, cdp: Any) -> NetworkLog:
        cdp.send("Network.enable")
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.requestServedFromCache", self._from_memory)
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.loadingFinished", self._finished)
        return self

    def _entry(self, event: dict[str, Any]) -> dict[str, Any]:
        return self.requests.setdefault(event["requestId"], {"fromMemoryCache": False})

    def _sent(self, event: dict[str, Any]) -> None:
        self._entry(event)["url"] = event["request"]["url"]

    def _from_memory(self, event: dict[str, Any]) -> None:
        self._entry(event)["fromMemoryCache"] = True

    def _response(self, event: dict[str, Any]) -> None:
        entry = self._entry(event)
        response = event["response"]
        entry["url"] = response["url"]
        entry["status"] = response["status"]
        entry["fromDiskCache"] = response.get("fromDiskCache", False)
        entry["cacheControl"] = {k.lower(): v for k, v in response["headers"].items()}.get(
            "cache-control"
        )

    def _finished(self, event: dict[str, Any]) -> None:
        self._entry(event)["encodedDataLength"] = event["encodedDataLength"]

    def renditions(self) -> list[dict[str, Any]]:
        return [
            entry
            for entry in self.requests.values()
            if "/thumbnails/" in urlsplit(entry.get("url", "")).path and "status" in entry
        ]

    def clear(self) -> None:
        self.requests.clear()


def network_bytes(entries: list[dict[str, Any]]) -> int:
    """Bytes that crossed the network (a cache hit transfers none)."""
    return sum(
        int(entry.get("encodedDataLength", 0))
        for entry in entries
        if not (entry["fromDiskCache"] or entry["fromMemoryCache"])
    )


@dataclass
class Gallery:
    base: str
    app: App
    viewer: str

    def token(self, viewer: str | None = None) -> str:
        assert self.app.settings.jwt_secret is not None
        return issue_token(viewer or self.viewer, self.app.settings.jwt_secret)


def sample_photos(samples_dir: Path) -> list[Path]:
    """Real camera and phone JPEGs (GPS, orientations, several makes), never the broken."""
    folders = ("exif-samples/gps", "exif-samples/orientation", "exif-samples/cameras")
    return sorted(path for folder in folders for path in (samples_dir / folder).glob("*.jpg"))


def serve(app: App, viewer: str) -> Iterator[Gallery]:
    with app_server(create_asgi_app(lambda: app)) as base:
        yield Gallery(base=base, app=app, viewer=viewer)


@pytest.fixture
def gallery(aws_endpoint: str, samples_dir: Path) -> Iterator[Gallery]:
    """The app with SEEDED READY images of real sample photos by another user."""
    # A day-long window: the reload below must see the very same URLs.
    app = build_app(provisioned_settings(PICGRAPH_URL_WINDOW_SECONDS="86400"))
    photos = sample_photos(samples_dir)
    poster = new_user("poster")
    for index in range(SEEDED):
        data = photos[index % len(photos)].read_bytes()
        ticket = app.uploads.create_upload(
            poster,
            filename=f"seed-{index}.jpg",
            content_type="image/jpeg",
            size_bytes=len(data),
            title=f"Seed {index}",
            tags=["seed", "even" if index % 2 == 0 else "odd"],
        )
        app.store.write(ticket.image.staging_key, data, content_type="image/jpeg")
        assert app.uploads.complete_upload(poster, ticket.image.id).error is None
    yield from serve(app, new_user("browser"))


@pytest.fixture
def empty_gallery(aws_endpoint: str) -> Iterator[Gallery]:
    yield from serve(build_app(provisioned_settings()), new_user("browser"))


@pytest.fixture
def browser() -> Iterator[Any]:
    sync_playwright = _browser_or_skip()
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


LAYOUT_SHIFTS = """
window.__layoutShift = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (!entry.hadRecentInput) window.__layoutShift += entry.value;
  }
}).observe({ type: "layout-shift", buffered: true });
"""


def schema_features(gallery: Gallery) -> dict[str, bool]:
    import requests

    query = '{ __type(name: "Image") { fields { name args { name } } } }'
    body = requests.post(f"{gallery.base}/graphql", json={"query": query}, timeout=10).json()
    fields = {field["name"]: field for field in body["data"]["__type"]["fields"]}
    return {
        "aspectRatio": "aspectRatio" in fields,
        "placeholder": "placeholder" in fields,
        "formats": any(arg["name"] == "format" for arg in fields["variants"]["args"]),
    }


def cards(page: Any) -> int:
    return int(page.locator("#grid > li.card").count())


def wait_for_images(page: Any) -> None:
    """Every <img> in the viewport has loaded (lazy ones below it may still wait)."""
    page.wait_for_function(
        """() => [...document.querySelectorAll('#grid img')]
            .filter((img) => img.getBoundingClientRect().top < innerHeight)
            .every((img) => img.complete && img.naturalWidth > 0)"""
    )


def test_gallery_upload_scroll_cached_reload_delete_restore(
    gallery: Gallery, browser: Any, samples_dir: Path, tmp_path: Path
) -> None:
    photo = samples_dir / "orientation-examples" / "Portrait_6.jpg"
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(photo.read_bytes()[:2000])  # a truncated JPEG
    # bypass_csp: Playwright evaluates its wait conditions as strings (the page forbids eval).
    context = browser.new_context(viewport={"width": 1024, "height": 700}, bypass_csp=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(LAYOUT_SHIFTS)
    log = NetworkLog().attach(context.new_cdp_session(page))

    # GIVEN a token received in the URL fragment WHEN the page opens THEN page 1 shows.
    page.goto(f"{gallery.base}/#token={quote(gallery.token())}")
    page.wait_for_function("document.querySelector('#grid').dataset.pages === '1'")
    assert cards(page) == 20
    assert "#token" not in page.url  # taken from the URL, kept in localStorage

    # WHEN a sample photo and a broken file are uploaded together THEN the photo's
    # thumbnail appears first, its progress bar full; the broken one says why it failed.
    page.set_input_files("#file-input", [str(photo), str(broken)])
    page.wait_for_function("document.querySelectorAll('#grid > li.card').length === 21")
    failed = page.locator("#uploads li .failed")
    failed.wait_for()
    assert "INVALID_IMAGE" in failed.inner_text()
    assert page.locator("#uploads li progress").evaluate_all(
        "(bars) => bars.map(b => b.value)"
    ) == [
        1,
        1,
    ]
    first = page.locator("#grid > li.card").first
    page.wait_for_function(
        "() => { const img = document.querySelector('#grid > li.card img');"
        " return img && img.complete && img.naturalWidth > 0; }"
    )
    image_id = first.get_attribute("data-id")
    assert image_id is not None
    stored = gallery.app.repository.get(image_id)
    assert stored is not None
    assert stored.status.value == "READY"
    assert stored.owner_id == gallery.viewer
    natural = page.evaluate(
        "() => { const img = document.querySelector('#grid > li.card img');"
        " return [img.naturalWidth, img.naturalHeight]; }"
    )
    assert natural[1] > natural[0], "orientation 6 is a portrait once upright"

    # WHEN the reader scrolls to the end THEN the second page (cursor `after`) loads.
    page.mouse.wheel(0, 20_000)
    page.wait_for_function("document.querySelector('#grid').dataset.pages === '2'")
    assert cards(page) == SEEDED + 1
    page.evaluate("window.scrollTo(0, 0)")
    wait_for_images(page)
    page.wait_for_load_state("networkidle")  # every response body is in the cache
    first_load = log.renditions()
    assert first_load, "renditions were fetched"
    first_bytes = network_bytes(first_load)
    assert all(entry["cacheControl"].startswith("private, max-age=") for entry in first_load)

    # WHEN the page is reloaded THEN every rendition comes from the browser cache.
    log.clear()
    page.reload()
    page.wait_for_function("document.querySelector('#grid').dataset.pages === '1'")
    wait_for_images(page)
    reloaded = log.renditions()
    assert len(reloaded) >= 8, "the reload showed images again"
    seen = {entry["url"] for entry in first_load}
    assert all(entry["url"] in seen for entry in reloaded), "the same URLs after a reload"
    assert all(entry["fromDiskCache"] or entry["fromMemoryCache"] for entry in reloaded), (
        json.dumps(reloaded, indent=1)[:3000]
    )
    reload_bytes = network_bytes(reloaded)
    assert reload_bytes == 0
    # Boxes are sized before pixels arrive (aspect ratio from the API): nothing moves.
    layout_shift = page.evaluate("window.__layoutShift")
    assert layout_shift < 0.01
    features = schema_features(gallery)
    if features["formats"]:
        assert page.locator("#grid picture source[type='image/avif']").count() > 0
        assert page.locator("#grid picture source[type='image/webp']").count() > 0
    if features["aspectRatio"]:
        ratio = page.locator("#grid .frame").first.evaluate(
            "(frame) => frame.style.getPropertyValue('--ratio')"
        )
        assert float(ratio) < 1, "the upright portrait's aspectRatio"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "gallery.png"))
    (ARTIFACTS / "repeat-view.json").write_text(
        json.dumps(
            {
                "first_load_rendition_requests": len(first_load),
                "first_load_rendition_bytes": first_bytes,
                "reload_rendition_requests": len(reloaded),
                "reload_rendition_bytes_from_network": reload_bytes,
                "reload_cumulative_layout_shift": layout_shift,
            },
            indent=2,
        )
    )
    print(f"\nrepeat view: first load {len(first_load)} renditions, {first_bytes} bytes; ")
    print(f"reload {len(reloaded)} renditions, {reload_bytes} bytes from the network")

    # WHEN the owner deletes the photo THEN it leaves the grid and shows in the trash.
    card = page.locator(f'#grid > li.card[data-id="{image_id}"]')
    card.locator("button.delete").click()
    card.wait_for(state="detached")
    deleted = gallery.app.repository.get(image_id)
    assert deleted is not None
    assert deleted.status.value == "DELETED"
    page.click("#view-trash")
    trashed = page.locator(f'#grid > li.card[data-id="{image_id}"]')
    trashed.wait_for()
    page.screenshot(path=str(ARTIFACTS / "trash.png"))

    # WHEN it is restored THEN it is READY again and back in the gallery.
    trashed.locator("button.restore").click()
    trashed.wait_for(state="detached")
    page.click("#view-gallery")
    page.locator(f'#grid > li.card[data-id="{image_id}"] img').wait_for()
    restored = gallery.app.repository.get(image_id)
    assert restored is not None
    assert restored.status.value == "READY"

    # AND a tag filter lists only the images carrying it.
    page.fill("#tag-input", "Even")
    page.click("#filter-form button[type=submit]")
    page.wait_for_function(
        "() => document.querySelector('#grid').dataset.pages === '1' &&"
        " document.querySelectorAll('#grid > li.card').length === 13"
    )
    assert errors == []
    context.close()


def test_the_grid_is_laid_out_before_any_pixel_arrives(gallery: Gallery, browser: Any) -> None:
    """GIVEN renditions that never arrive THEN every card already has its box (aspect
    ratio) and, when the schema offers them, its ThumbHash preview or dominant colour."""
    context = browser.new_context(viewport={"width": 1024, "height": 700}, bypass_csp=True)
    page = context.new_page()
    page.route("**/thumbnails/**", lambda route: route.abort())
    page.goto(f"{gallery.base}/#token={quote(gallery.token())}")
    page.wait_for_function("document.querySelector('#grid').dataset.pages === '1'")
    frames = page.locator("#grid .frame").evaluate_all(
        """(frames) => frames.map((frame) => ({
            ratio: frame.style.getPropertyValue('--ratio'),
            preview: frame.style.backgroundImage.startsWith('url("data:image/png'),
            height: frame.getBoundingClientRect().height,
        }))"""
    )
    assert len(frames) == 20
    assert all(frame["ratio"] and frame["height"] > 50 for frame in frames)
    if schema_features(gallery)["placeholder"]:
        assert all(frame["preview"] for frame in frames), "ThumbHash previews"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "placeholders.png"))
    context.close()


def test_graphiql_works_offline_with_the_token_in_its_headers(
    empty_gallery: Gallery, browser: Any
) -> None:
    """GIVEN a browser that may reach nothing but 127.0.0.1 WHEN GraphiQL opens with
    ?headers= THEN it renders, runs a query with that token, and asked nothing else."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    elsewhere: list[str] = []

    def only_local(route: Any) -> None:
        host = urlsplit(route.request.url).hostname
        if host == "127.0.0.1":
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    log = NetworkLog().attach(context.new_cdp_session(page))
    headers = json.dumps({"Authorization": f"Bearer {empty_gallery.token()}"})
    query = "{ images(first: 2) { edges { node { id } } } }"
    started = time.monotonic()
    page.goto(f"{empty_gallery.base}/graphql?headers={quote(headers)}&q={quote(query)}")
    page.get_by_test_id("graphiql-container").wait_for(timeout=30_000)
    page.locator(".graphiql-execute-button").click()
    page.locator(".graphiql-response").get_by_text('"edges"').wait_for(timeout=30_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "graphiql.png"))
    assert elsewhere == []
    vendor = [entry for entry in log.requests.values() if "/static/vendor/" in entry.get("url", "")]
    assert len(vendor) == 7
    (ARTIFACTS / "graphiql.json").write_text(
        json.dumps(
            {
                "assets": len(vendor),
                "bytes_over_the_wire": sum(int(e.get("encodedDataLength", 0)) for e in vendor),
                "seconds_to_first_result": round(time.monotonic() - started, 2),
            },
            indent=2,
        )
    )
    context.close()


def test_an_upload_still_processing_is_awaited(
    empty_gallery: Gallery, browser: Any, samples_dir: Path
) -> None:
    """GIVEN completeImageUpload answers PROCESSING (another invocation holds the image)
    THEN the page shows that state and asks again until the image is READY."""
    context = browser.new_context(viewport={"width": 1024, "height": 700}, bypass_csp=True)
    page = context.new_page()
    asked: list[str] = []

    def still_processing(route: Any) -> None:
        body = route.request.post_data or ""
        if "completeImageUpload" not in body:
            if "query Image(" in body:
                asked.append("image")
            route.continue_()
            return
        response = route.fetch()
        data = response.json()
        data["data"]["completeImageUpload"]["image"]["status"] = "PROCESSING"
        route.fulfill(response=response, json=data)

    page.route("**/graphql", still_processing)
    page.goto(f"{empty_gallery.base}/#token={quote(empty_gallery.token())}")
    page.wait_for_function("document.querySelector('#grid').dataset.pages === '1'")
    page.set_input_files("#file-input", str(samples_dir / "exif-samples/gps/DSCN0010.jpg"))
    page.get_by_text("processing", exact=True).wait_for()
    page.locator("#grid > li.card[data-status='READY'] img").wait_for()
    assert asked, "the page asked for the image again"
    context.close()
