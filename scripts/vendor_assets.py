#!/usr/bin/env python3
"""Fetch GraphiQL's (and the gallery's) JavaScript and CSS from the npm registry.

Strawberry's GraphiQL page loads 7 files from unpkg.com; without internet it stays a
blank "Loading..." page. This script reads exactly which files that page references
(package, version, path and Subresource Integrity hash) from the installed Strawberry,
fetches each package with `npm pack` from the registry, and writes the files to
resolvers/static/vendor/<package>@<version>/<path>, the layout of unpkg itself, so that
resolvers/assets.py only has to swap the origin. Nothing here is committed by hand.

Integrity, twice over:
- each tarball's SHA-512 must equal the `dist.integrity` pinned in scripts/vendor-lock.json
  (what `npm view <package>@<version> dist.integrity` printed when the pin was added);
- each extracted file's SHA-384 must equal the `integrity` attribute of Strawberry's page
  (the browser checks it again when it loads the file).

    python scripts/vendor_assets.py            # fetch what is missing
    python scripts/vendor_assets.py --check    # exit 1 unless everything is in place
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VENDOR_DIR = REPO_ROOT / "resolvers" / "static" / "vendor"
STAMP = VENDOR_DIR / "manifest.json"
UNPKG = "https://unpkg.com/"

# package@version -> npm's dist.integrity of its tarball (`npm view <spec> dist.integrity`).
VENDOR_LOCK: dict[str, str] = json.loads((Path(__file__).with_name("vendor-lock.json")).read_text())

_ASSET = re.compile(
    r'(?:src|href)="https://unpkg\.com/(?P<spec>(?:@[^/"]+/)?[^@/"]+@[^/"]+)/(?P<path>[^"]+)"'
    r'\s+integrity="(?P<integrity>sha\d+-[^"]+)"'
)


class VendorError(Exception):
    """Something the developer must fix; printed as one line."""


@dataclass(frozen=True)
class Asset:
    spec: str  # package@version
    path: str  # inside the package
    integrity: str  # SRI of the file, as in Strawberry's page

    @property
    def destination(self) -> Path:
        return VENDOR_DIR / self.spec / self.path


def gallery_assets() -> list[Asset]:
    """The gallery's own dependency: ThumbHash's decoder (an ES module, MIT)."""
    return [
        Asset(
            "thumbhash@0.1.1",
            "thumbhash.js",
            "sha384-5hOfzPrSEJzrWHlLmgaHtQ+L6zcVQjhIiVGfS9pTzN4ZGNxF+FzrZ3Y+zFg1Myay",
        )
    ]


def graphiql_assets() -> list[Asset]:
    """Every file Strawberry's GraphiQL page loads from unpkg."""
    from strawberry.http.ides import get_graphql_ide_html

    html = get_graphql_ide_html("graphiql")
    assets = [Asset(m["spec"], m["path"], m["integrity"]) for m in _ASSET.finditer(html)]
    if len(assets) != html.count(UNPKG):
        raise VendorError("Strawberry's GraphiQL page has an unpkg URL without integrity")
    return assets


def sri(data: bytes, algorithm: str) -> str:
    digest = hashlib.new(algorithm, data).digest()
    return f"{algorithm}-{base64.b64encode(digest).decode()}"


def file_is_valid(asset: Asset) -> bool:
    if not asset.destination.is_file():
        return False
    algorithm = asset.integrity.split("-", 1)[0]
    return sri(asset.destination.read_bytes(), algorithm) == asset.integrity


def npm_pack(spec: str, workdir: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise VendorError("npm is not on PATH (apt-get install npm): it fetches GraphiQL's assets")
    result = subprocess.run(
        [npm, "pack", "--json", "--silent", "--pack-destination", str(workdir), spec],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if result.returncode != 0:
        raise VendorError(f"npm pack {spec} failed: {result.stderr.strip()[:500]}")
    return workdir / str(json.loads(result.stdout)[0]["filename"])


def fetch(spec: str, assets: list[Asset], workdir: Path) -> None:
    pinned = VENDOR_LOCK.get(spec)
    if pinned is None:
        raise VendorError(
            f"{spec} is not pinned: add it to scripts/vendor-lock.json with the output "
            f"of `npm view {spec} dist.integrity`"
        )
    tarball = npm_pack(spec, workdir)
    actual = sri(tarball.read_bytes(), "sha512")
    if actual != pinned:
        raise VendorError(f"{spec}: tarball integrity {actual} is not the pinned {pinned}")
    with tarfile.open(tarball, "r:gz") as archive:
        for asset in assets:
            member = archive.extractfile(f"package/{asset.path}")
            if member is None:
                raise VendorError(f"{spec} has no file {asset.path}")
            data = member.read()
            algorithm = asset.integrity.split("-", 1)[0]
            if sri(data, algorithm) != asset.integrity:
                raise VendorError(f"{spec}/{asset.path} does not match the page's integrity")
            asset.destination.parent.mkdir(parents=True, exist_ok=True)
            asset.destination.write_bytes(data)
    tarball.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check; fetch nothing")
    args = parser.parse_args(argv)
    try:
        assets = graphiql_assets() + gallery_assets()
        missing = [asset for asset in assets if not file_is_valid(asset)]
        if args.check or not missing:
            for asset in missing:
                print(f"missing or altered: {asset.destination.relative_to(REPO_ROOT)}")
            if not missing:
                print(f"vendor: {len(assets)} GraphiQL and gallery assets in place")
            return 1 if missing else 0
        by_package: dict[str, list[Asset]] = {}
        for asset in assets:
            by_package.setdefault(asset.spec, []).append(asset)
        with tempfile.TemporaryDirectory(prefix="picgraph-vendor-") as workdir:
            for spec, package_assets in by_package.items():
                fetch(spec, package_assets, Path(workdir))
        manifest = [
            {
                "url": f"{UNPKG}{a.spec}/{a.path}",
                "integrity": a.integrity,
                "bytes": a.destination.stat().st_size,
            }
            for a in assets
        ]
        STAMP.write_text(json.dumps(manifest, indent=2) + "\n")
        total = sum(asset.destination.stat().st_size for asset in assets)
        print(f"vendor: fetched {len(assets)} assets from npm ({total} bytes)")
        return 0
    except VendorError as exc:
        print(f"vendor_assets: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
