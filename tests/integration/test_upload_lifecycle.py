"""The upload lifecycle over real HTTP: gql client -> uvicorn -> moto server (S3 + DynamoDB)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import requests
from PIL import Image as PILImage

from tests.integration.conftest import Api, served_rendition_keys
from tests.support.aws import s3_keys, table_items
from tests.support.graphql import COMPLETE_UPLOAD, IMAGE
from tests.support.uploads import create_upload, post_to_s3, upload_and_complete

ORIENTATIONS = [f"exif-samples/orientation/landscape_{n}.jpg" for n in range(1, 9)]
PORTRAITS = [f"orientation-examples/Portrait_{n}.jpg" for n in (0, 3, 6, 8)]


def _download(url: str) -> PILImage.Image:
    response = requests.get(url, timeout=30)
    assert response.status_code == 200
    image = PILImage.open(io.BytesIO(response.content))
    image.load()
    return image


@pytest.mark.parametrize("sample", ORIENTATIONS)
def test_orientation_samples_end_upright(api: Api, samples_dir: Path, sample: str) -> None:
    """GIVEN a photo stored with EXIF orientation 1..8
    WHEN it is uploaded and completed over HTTP
    THEN width/height are the upright picture's, and renditions are upright too."""
    data = (samples_dir / sample).read_bytes()
    completed = upload_and_complete(api, "alice", data, filename=Path(sample).name)
    assert completed["userErrors"] == []
    image = completed["image"]
    assert image["status"] == "READY"
    assert (image["width"], image["height"]) == (600, 450)
    thumbnail = _download(image["thumbnail"]["url"])
    assert thumbnail.width > thumbnail.height
    assert thumbnail.getexif() == {}


@pytest.mark.parametrize("sample", PORTRAITS)
def test_portrait_samples_end_upright(api: Api, samples_dir: Path, sample: str) -> None:
    """GIVEN a portrait stored rotated THEN it ends 1200x1800 with portrait renditions."""
    completed = upload_and_complete(api, "bob", (samples_dir / sample).read_bytes())
    image = completed["image"]
    assert (image["width"], image["height"]) == (1200, 1800)
    names = [variant["name"] for variant in image["variants"]]
    assert names[0] == "thumbnail" == image["thumbnail"]["name"]
    widths = [variant["width"] for variant in image["variants"]]
    assert widths == sorted(widths), "variants come smallest first"
    assert all(variant["height"] > variant["width"] for variant in image["variants"])


@pytest.mark.parametrize("sample", ["DSCN0010.jpg", "DSCN0021.jpg", "DSCN0027.jpg"])
def test_gps_never_reaches_renditions_or_other_viewers(
    api: Api, samples_dir: Path, sample: str
) -> None:
    """GIVEN a photo with GPS coordinates
    WHEN it is processed
    THEN no rendition carries EXIF, and only the owner gets the original's URL."""
    completed = upload_and_complete(
        api, "carol", (samples_dir / "exif-samples/gps" / sample).read_bytes()
    )
    image = completed["image"]
    for variant in image["variants"]:
        rendition = _download(variant["url"])
        assert rendition.getexif() == {}
        assert "exif" not in rendition.info
    assert image["url"] is not None
    seen_by_other = api.execute("dave", IMAGE, id=image["id"])["image"]
    assert seen_by_other["url"] is None
    assert len(seen_by_other["variants"]) == len(image["variants"])


def test_camera_metadata_is_exposed(api: Api, samples_dir: Path) -> None:
    """GIVEN a Canon 40D photo THEN make and model come from its EXIF."""
    data = (samples_dir / "exif-samples/cameras/Canon_40D.jpg").read_bytes()
    image = upload_and_complete(api, "erin", data)["image"]
    assert image["metadata"]["cameraMake"] == "Canon"
    assert image["metadata"]["cameraModel"] == "Canon EOS 40D"
    assert image["metadata"]["takenAt"] is not None


def test_heic_is_processed_into_web_renditions(api: Api, samples_dir: Path) -> None:
    """GIVEN an iPhone HEIC THEN it ends READY with JPEG renditions and a HEIC original."""
    data = (samples_dir / "exif-samples/heic/IMG_5195.HEIC").read_bytes()
    completed = upload_and_complete(
        api, "frank", data, filename="IMG_5195.HEIC", content_type="image/heic"
    )
    image = completed["image"]
    assert completed["userErrors"] == []
    assert image["status"] == "READY"
    assert image["contentType"] in ("image/heic", "image/heif")
    assert {variant["contentType"] for variant in image["variants"]} <= {"image/jpeg", "image/webp"}
    _download(image["thumbnail"]["url"])


@pytest.mark.parametrize("sample", ["corrupted.jpg", "image01088.jpg"])
def test_broken_files_end_with_a_clear_result(api: Api, samples_dir: Path, sample: str) -> None:
    """GIVEN a damaged file THEN the upload ends READY or REJECTED/INVALID_IMAGE, never a crash,
    and a rejected upload leaves no bytes behind."""
    data = (samples_dir / "exif-samples/broken" / sample).read_bytes()
    completed = upload_and_complete(api, "gina", data, filename=sample)
    image = completed["image"]
    if image["status"] == "REJECTED":
        assert [error["code"] for error in completed["userErrors"]] == ["INVALID_IMAGE"]
        assert not [key for key in s3_keys(api.app.settings) if image["id"] in key]
    else:
        assert image["status"] == "READY"
        assert completed["userErrors"] == []


def test_full_lifecycle_moves_original_and_drops_staging(api: Api, samples_dir: Path) -> None:
    """GIVEN a processed upload THEN S3 holds the original under images/yyyy/mm and renditions
    under thumbnails/, the staging object is gone, and a later POST to the old URL changes
    nothing that is served."""
    data = (samples_dir / "exif-samples/cameras/Nikon_D70.jpg").read_bytes()
    created = create_upload(
        api,
        "henry",
        filename="nikon.jpg",
        content_type="image/jpeg",
        size_bytes=len(data),
        title="  Nikon  ",
        tags=["Travel", " travel ", "Nikon"],
    )
    image_id = created["image"]["id"]
    assert created["image"]["status"] == "PENDING_UPLOAD"
    assert created["image"]["title"] == "Nikon"
    assert created["image"]["tags"] == ["travel", "nikon"]
    assert (
        post_to_s3(created["upload"], data, filename="nikon.jpg", content_type="image/jpeg") == 204
    )
    image = api.execute("henry", COMPLETE_UPLOAD, id=image_id)["completeImageUpload"]["image"]
    keys = {key for key in s3_keys(api.app.settings) if image_id in key}
    created_at = image["createdAt"]
    prefix = f"{created_at[:4]}/{created_at[5:7]}/{image_id}"
    assert [v["name"] for v in image["variants"]] == ["thumbnail", "medium", "feed"]
    renditions = served_rendition_keys(api, "henry", image_id)
    layout = re.compile(rf"thumbnails/{prefix}_(thumb|medium|feed)\.(jpg|webp|avif)")
    assert all(layout.fullmatch(key) for key in renditions), sorted(renditions)
    assert {f"thumbnails/{prefix}_{size}.jpg" for size in ("thumb", "medium", "feed")} <= renditions
    assert len(renditions) % 3 == 0  # every offered format has all three sizes
    assert keys == {f"images/{prefix}.jpg"} | renditions  # nothing stored that is not served
    assert f"uploads/{image_id}" not in keys
    checksum = image["checksumSha256"]
    assert len(checksum) == 64

    # A late POST of other bytes to the old staging URL.
    assert (
        post_to_s3(created["upload"], b"not an image", filename="x.jpg", content_type="image/jpeg")
        == 204
    )
    again = api.execute("henry", COMPLETE_UPLOAD, id=image_id)["completeImageUpload"]
    assert again["image"]["status"] == "READY"
    assert again["image"]["checksumSha256"] == checksum
    original = requests.get(again["image"]["url"], timeout=30)
    assert original.content == data


def test_image_items_follow_the_single_table_layout(api: Api, samples_dir: Path) -> None:
    """GIVEN a READY tagged image THEN the table holds its item and one item per tag only."""
    data = (samples_dir / "exif-samples/cameras/Pentax_K10D.jpg").read_bytes()
    image = upload_and_complete(api, "iris", data, tags=["a", "b"])["image"]
    items = [item for item in table_items(api.app.settings) if item["PK"] == f"IMAGE#{image['id']}"]
    assert sorted(item["SK"] for item in items) == ["IMAGE", "TAG#a", "TAG#b"]
