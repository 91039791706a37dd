"""Query.image and Query.node from AppSync with no GraphQL engine: a cold start near boto3's.

AppSync has parsed and validated the client's operation before it invokes the Lambda, and
resolves the nested fields of what we return by name. For the two read fields this module
reads the selection (`info.selectionSetGraphQL`) with a small parser of its own, asks the
service layer, and shapes the answer field by field as resolvers/types.py does (a test
runs the same events through the schema and compares). Whatever it does not know (another
field, an argument it does not expect, a selection feature outside the subset the reader knows) it
leaves to the schema (resolvers/appsync_operations.py): `resolve` answers None.

The selection reader and the subset it reads are in resolvers/appsync_selection.py.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from resolvers.appsync_selection import Enum, Plan, UnsupportedSelectionError, parse_selection

if TYPE_CHECKING:
    from resolvers.bootstrap import App
    from services.models import Image, Variant

logger = logging.getLogger("picgraph.appsync")

# The codes and message of resolvers/errors.py (which imports graphql-core; a test keeps
# these equal).
UNAUTHENTICATED = "UNAUTHENTICATED"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
MASKED_MESSAGE = "Unexpected error."

FIELDS = frozenset({("Query", "image"), ("Query", "node")})
FORMATS = frozenset({"JPEG", "WEBP", "AVIF"})


Result = tuple[Any, tuple[str, str] | None]


def resolve(app: App, event: Mapping[str, Any], request_id: str) -> Result | None:
    """(data, error) as appsync_operations.resolve answers, or None to leave it to it."""
    info = event.get("info")
    if not isinstance(info, Mapping):
        return None
    arguments = event.get("arguments")
    if (str(info.get("parentTypeName")), str(info.get("fieldName"))) not in FIELDS:
        return None
    if not isinstance(arguments, Mapping) or set(arguments) != {"id"}:
        return None
    image_id = arguments["id"]
    if not isinstance(image_id, str):
        return None
    variables = info.get("variables")
    try:
        selection, fragments = parse_selection(str(info.get("selectionSetGraphQL") or ""))
        plan = Plan(fragments, dict(variables) if isinstance(variables, Mapping) else {}, _TYPES_OF)
        fields = plan.collect(selection, "Image")
        _check(plan, fields, "Image")
    except UnsupportedSelectionError:
        return None
    request_id = request_id or str(uuid.uuid4())
    viewer = _viewer(event.get("identity"))
    if isinstance(viewer, _Refused):
        return None, (UNAUTHENTICATED, viewer.message)
    try:
        image = app.reader.get(viewer, image_id)
        if image is None:
            return None, None
        shaped = _ImageShape(app, viewer, plan).value(image, fields)
        if info.get("fieldName") == "node":
            shaped["__typename"] = "Image"  # AppSync resolves the interface from it
        return shaped, None
    except Exception:
        logger.exception("unexpected error", extra={"request_id": request_id, "path": None})
        return None, (INTERNAL_SERVER_ERROR, f"{MASKED_MESSAGE} (request id {request_id})")


class _Refused:
    def __init__(self, message: str) -> None:
        self.message = message


def _viewer(identity: object) -> str | _Refused:
    from resolvers.identity import AuthenticationError, viewer_from_appsync

    if identity is not None and not isinstance(identity, Mapping):
        return _Refused("Authentication required (the request carries no identity).")
    try:
        return viewer_from_appsync(identity)
    except AuthenticationError as exc:
        return _Refused(str(exc))


_TYPES_OF = {
    "Image": frozenset({"Image", "Node"}),
    "ImageVariant": frozenset({"ImageVariant"}),
    "ImageMetadata": frozenset({"ImageMetadata"}),
}


def _check(
    plan: Plan, fields: dict[str, tuple[dict[str, Any], list[Any] | None]], type_name: str
) -> None:
    """Refused unless every field (and argument) is one _ImageShape serves."""
    for name, (arguments, subs) in fields.items():
        child = _CHILD_TYPES.get((type_name, name))
        if name not in _FIELDS_OF[type_name]:
            raise UnsupportedSelectionError
        if arguments and not (
            name in ("thumbnail", "variants")
            and set(arguments) == {"format"}
            and _format(arguments["format"]) is not None
        ):
            raise UnsupportedSelectionError
        if (child is None) != (subs is None):
            raise UnsupportedSelectionError
        if child is not None and subs is not None:
            _check(plan, plan.collect(subs, child), child)


def _format(value: Any) -> str | None:
    name = value.name if isinstance(value, Enum) else value
    return name if isinstance(name, str) and name in FORMATS else None


# --- the answer, shaped as resolvers/types.py does --------------------------------------

_SCALARS_OF_IMAGE: dict[str, Callable[[Image], Any]] = {
    "id": lambda image: image.id,
    "ownerId": lambda image: image.owner_id,
    "title": lambda image: image.title,
    "description": lambda image: image.description,
    "tags": lambda image: list(image.tags),
    "status": lambda image: image.status.name,
    "filename": lambda image: image.filename,
    "contentType": lambda image: image.content_type,
    "sizeBytes": lambda image: image.size_bytes,
    "width": lambda image: image.width,
    "height": lambda image: image.height,
    "checksumSha256": lambda image: image.checksum_sha256,
    "createdAt": lambda image: _instant(image.created_at),
    "updatedAt": lambda image: _instant(image.updated_at),
    "deletedAt": lambda image: _instant(image.deleted_at),
    "aspectRatio": lambda image: image.aspect_ratio,
    "placeholder": lambda image: image.placeholder if image.is_public else None,
    "dominantColor": lambda image: image.dominant_color if image.is_public else None,
    "__typename": lambda image: "Image",
}
_SCALARS_OF_VARIANT: dict[str, Callable[[Variant], Any]] = {
    "name": lambda variant: variant.name,
    "width": lambda variant: variant.width,
    "height": lambda variant: variant.height,
    "contentType": lambda variant: variant.content_type,
    "sizeBytes": lambda variant: variant.size_bytes,
    "__typename": lambda variant: "ImageVariant",
}
_SCALARS_OF_METADATA: dict[str, Callable[[Any], Any]] = {
    "cameraMake": lambda metadata: metadata.make,
    "cameraModel": lambda metadata: metadata.model,
    "takenAt": lambda metadata: _instant(metadata.taken_at),
    "__typename": lambda metadata: "ImageMetadata",
}
_FIELDS_OF = {
    "Image": {*_SCALARS_OF_IMAGE, "url", "thumbnail", "variants", "metadata"},
    "ImageVariant": {*_SCALARS_OF_VARIANT, "url"},
    "ImageMetadata": set(_SCALARS_OF_METADATA),
}
_CHILD_TYPES = {
    ("Image", "thumbnail"): "ImageVariant",
    ("Image", "variants"): "ImageVariant",
    ("Image", "metadata"): "ImageMetadata",
}


class _ImageShape:
    def __init__(self, app: App, viewer: str, plan: Plan) -> None:
        self.app = app
        self.viewer = viewer
        self.plan = plan

    def value(self, image: Image, fields: dict[str, tuple[dict[str, Any], Any]]) -> dict[str, Any]:
        shaped: dict[str, Any] = {}
        for name, (arguments, subs) in fields.items():
            if name in _SCALARS_OF_IMAGE:
                shaped[name] = _SCALARS_OF_IMAGE[name](image)
            elif name == "url":
                shaped[name] = self.app.reader.original_url(self.viewer, image)
            elif name == "metadata":
                shaped[name] = (
                    None
                    if image.metadata is None
                    else self._plain(image.metadata, subs, "ImageMetadata", _SCALARS_OF_METADATA)
                )
            else:
                image_format = _format(arguments.get("format", Enum("JPEG"))) or "JPEG"
                variants = [
                    self._variant(variant, subs)
                    for variant in self.app.reader.variants(image, image_format)
                ]
                if name == "thumbnail":
                    shaped[name] = variants[0] if variants else None
                else:
                    shaped[name] = variants
        return shaped

    def _variant(self, variant: Variant, subs: list[Any]) -> dict[str, Any]:
        shaped = self._plain(variant, subs, "ImageVariant", _SCALARS_OF_VARIANT)
        if "url" in self.plan.collect(subs, "ImageVariant"):
            shaped["url"] = self.app.reader.variant_url(variant)
        return shaped

    def _plain(
        self, value: Any, subs: list[Any], type_name: str, scalars: dict[str, Callable[[Any], Any]]
    ) -> dict[str, Any]:
        return {
            name: scalars[name](value)
            for name in self.plan.collect(subs, type_name)
            if name in scalars
        }


def _instant(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
