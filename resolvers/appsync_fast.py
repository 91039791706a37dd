"""Query.image and Query.node from AppSync with no GraphQL engine: a cold start near boto3's.

AppSync has parsed and validated the client's operation before it invokes the Lambda, and
resolves the nested fields of what we return by name. For the two read fields this module
reads the selection (`info.selectionSetGraphQL`) with a small parser of its own, asks the
service layer, and shapes the answer field by field as resolvers/types.py does (a test
runs the same events through the schema and compares). Whatever it does not know (another
field, an argument it does not expect, a selection feature outside the subset below) it
leaves to the schema (resolvers/appsync_operations.py): `resolve` answers None.

Subset read: fields (aliases dropped: AppSync applies them), arguments with literal or
variable values, `@include` / `@skip`, named fragments and inline fragments.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

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
# Well below the schema's parser limit (resolvers/documents.py Limits.max_tokens): a
# selection near it goes to the schema, which answers as it always has.
MAX_TOKENS = 1000
FORMATS = frozenset({"JPEG", "WEBP", "AVIF"})


class UnsupportedSelectionError(Exception):
    """Outside what this module reads: the schema handles the event."""


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
        plan = _Plan(fragments, dict(variables) if isinstance(variables, Mapping) else {})
        fields = plan.collect(selection, "Image")
        plan.check_image(fields)
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


# --- the selection: tokens, then a tree of plain tuples --------------------------------

_TOKEN = re.compile(
    r"""
    (?P<skip>[\s,\ufeff]+|\#[^\n\r]*)
    |(?P<spread>\.\.\.)
    |(?P<punct>[{}():\[\]$@=!])
    |(?P<name>[_A-Za-z][_0-9A-Za-z]*)
    |(?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?(?![_A-Za-z0-9.]))
    |(?P<string>"(?:[^"\\\n\r]|\\["\\/bfnrt])*"(?!"))
    """,
    re.VERBOSE,
)
_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}

# A field: ("field", name, arguments, directives, selections or None)
# A spread: ("spread", name, directives); inline: ("inline", type or None, directives, sels)


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.lastgroup is None:
            raise UnsupportedSelectionError
        position = match.end()
        if match.lastgroup != "skip":
            found.append((match.lastgroup, match.group()))
            if len(found) > MAX_TOKENS:
                raise UnsupportedSelectionError
    return found


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, value: str | None = None, kind: str | None = None) -> str:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise UnsupportedSelectionError
        if kind is not None and token[0] != kind:
            raise UnsupportedSelectionError
        self.at += 1
        return token[1]

    def selections(self) -> list[tuple[Any, ...]]:
        self.take("{")
        found: list[tuple[Any, ...]] = []
        while self.peek() is not None and self.peek() != ("punct", "}"):
            found.append(self.selection())
        self.take("}")
        if not found:
            raise UnsupportedSelectionError
        return found

    def selection(self) -> tuple[Any, ...]:
        if self.peek() == ("spread", "..."):
            self.take("...")
            token = self.peek()
            if token is not None and token[0] == "name" and token[1] != "on":
                name = self.take(kind="name")
                return ("spread", name, self.directives())
            type_name = None
            if token == ("name", "on"):
                self.take("on")
                type_name = self.take(kind="name")
            directives = self.directives()
            return ("inline", type_name, directives, self.selections())
        name = self.take(kind="name")
        if self.peek() == ("punct", ":"):  # an alias: AppSync applies it, not us
            self.take(":")
            name = self.take(kind="name")
        arguments = self.arguments()
        directives = self.directives()
        selections = self.selections() if self.peek() == ("punct", "{") else None
        return ("field", name, arguments, directives, selections)

    def arguments(self) -> dict[str, Any]:
        if self.peek() != ("punct", "("):
            return {}
        self.take("(")
        found: dict[str, Any] = {}
        while self.peek() != ("punct", ")"):
            name = self.take(kind="name")
            self.take(":")
            if name in found:
                raise UnsupportedSelectionError
            found[name] = self.value()
        self.take(")")
        if not found:
            raise UnsupportedSelectionError
        return found

    def directives(self) -> list[tuple[str, dict[str, Any]]]:
        found: list[tuple[str, dict[str, Any]]] = []
        while self.peek() == ("punct", "@"):
            self.take("@")
            found.append((self.take(kind="name"), self.arguments()))
        return found

    def value(self) -> Any:
        token = self.peek()
        if token is None:
            raise UnsupportedSelectionError
        kind, text = token
        if text == "$":
            self.take("$")
            return _Variable(self.take(kind="name"))
        self.at += 1
        if kind == "string":
            return _unescape(text[1:-1])
        if kind == "number":
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind == "name":
            return {"true": True, "false": False, "null": None}.get(text, _Enum(text))
        if text == "[":
            items = []
            while self.peek() != ("punct", "]"):
                items.append(self.value())
            self.take("]")
            return items
        raise UnsupportedSelectionError  # input objects: no field this module serves takes one

    def document(self) -> tuple[list[tuple[Any, ...]], dict[str, tuple[str, list[Any]]]]:
        selection = self.selections()
        fragments: dict[str, tuple[str, list[Any]]] = {}
        while self.peek() is not None:
            self.take("fragment")
            name = self.take(kind="name")
            if name == "on" or name in fragments:
                raise UnsupportedSelectionError
            self.take("on")
            type_name = self.take(kind="name")
            if self.peek() == ("punct", "@"):
                raise UnsupportedSelectionError
            fragments[name] = (type_name, self.selections())
        return selection, fragments


class _Variable:
    def __init__(self, name: str) -> None:
        self.name = name


class _Enum:
    def __init__(self, name: str) -> None:
        self.name = name


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text)


def parse_selection(
    text: str,
) -> tuple[list[tuple[Any, ...]], dict[str, tuple[str, list[Any]]]]:
    """`{ a b ...F } fragment F on T { c }` -> (selections, fragments), or refused."""
    if not text.strip():
        raise UnsupportedSelectionError
    return _Parser(text).document()


# --- the plan: which fields of which type, with their arguments -------------------------

_TYPES_OF = {"Image": {"Image", "Node"}, "ImageVariant": {"ImageVariant"}}
_TYPES_OF["ImageMetadata"] = {"ImageMetadata"}


class _Plan:
    def __init__(self, fragments: dict[str, tuple[str, list[Any]]], variables: dict[str, Any]):
        self.fragments = fragments
        self.variables = variables

    def resolved(self, value: Any) -> Any:
        if isinstance(value, _Variable):
            if value.name not in self.variables:
                raise UnsupportedSelectionError
            return self.variables[value.name]
        if isinstance(value, list):
            return [self.resolved(item) for item in value]
        return value

    def included(self, directives: list[tuple[str, dict[str, Any]]]) -> bool:
        for name, arguments in directives:
            if name not in ("include", "skip") or set(arguments) != {"if"}:
                raise UnsupportedSelectionError
            condition = self.resolved(arguments["if"])
            if not isinstance(condition, bool):
                raise UnsupportedSelectionError
            if condition is (name == "skip"):
                return False
        return True

    def collect(
        self, selections: list[tuple[Any, ...]], type_name: str, seen: frozenset[str] = frozenset()
    ) -> dict[str, tuple[dict[str, Any], list[Any] | None]]:
        """Field name -> (arguments, sub-selections), as GraphQL's CollectFields merges them."""
        fields: dict[str, tuple[dict[str, Any], list[Any] | None]] = {}

        def merge(name: str, arguments: dict[str, Any], subs: list[Any] | None) -> None:
            if name not in fields:
                fields[name] = (arguments, subs)
                return
            before, earlier = fields[name]
            if before != arguments or (earlier is None) != (subs is None):
                raise UnsupportedSelectionError  # differing arguments once aliases are gone
            fields[name] = (before, None if earlier is None else [*earlier, *(subs or [])])

        for selection in selections:
            if selection[0] == "field":
                _, name, arguments, directives, subs = selection
                if self.included(directives):
                    merge(name, {k: self.resolved(v) for k, v in arguments.items()}, subs)
                continue
            if selection[0] == "spread":
                _, fragment, directives = selection
                if fragment not in self.fragments or fragment in seen:
                    raise UnsupportedSelectionError
                condition, subs = self.fragments[fragment]
                seen_now = seen | {fragment}
            else:
                _, condition, directives, subs = selection
                seen_now = seen
            if condition is not None and condition not in _TYPES_OF.get(type_name, set()):
                if condition not in ("Image", "Node", "ImageVariant", "ImageMetadata"):
                    raise UnsupportedSelectionError
                continue
            if self.included(directives):
                for name, (arguments, inner) in self.collect(subs, type_name, seen_now).items():
                    merge(name, arguments, inner)
        return fields

    def check_image(self, fields: dict[str, tuple[dict[str, Any], list[Any] | None]]) -> None:
        """Refused unless every field (and argument) is one _ImageShape serves."""
        self._check(fields, "Image")

    def _check(
        self, fields: dict[str, tuple[dict[str, Any], list[Any] | None]], type_name: str
    ) -> None:
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
                self._check(self.collect(subs, child), child)


def _format(value: Any) -> str | None:
    name = value.name if isinstance(value, _Enum) else value
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
    def __init__(self, app: App, viewer: str, plan: _Plan) -> None:
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
                image_format = _format(arguments.get("format", _Enum("JPEG"))) or "JPEG"
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
