"""AppSync's `info.selectionSetGraphQL`, read without a GraphQL engine.

A small parser for the subset resolvers/appsync_fast.py serves: fields (aliases dropped:
AppSync applies them), arguments with literal or variable values, `@include` / `@skip`,
named fragments and inline fragments. Anything else raises UnsupportedSelectionError and
the event goes to the schema, which reads every GraphQL document (graphql-core is not
imported here: this is the AppSync cold path).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Well below the schema's parser limit (resolvers/documents.py Limits.max_tokens): a
# selection near it goes to the schema, which answers as it always has.
MAX_TOKENS = 1000


class UnsupportedSelectionError(Exception):
    """Outside what this module reads: the schema handles the event."""


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
            return Variable(self.take(kind="name"))
        self.at += 1
        if kind == "string":
            return _unescape(text[1:-1])
        if kind == "number":
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind == "name":
            return {"true": True, "false": False, "null": None}.get(text, Enum(text))
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


class Variable:
    def __init__(self, name: str) -> None:
        self.name = name


class Enum:
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


class Plan:
    """Variables, directives and fragments applied to a parsed selection.

    `types_of` names, per concrete type, the type conditions that apply to it (the
    type and its interfaces); any other known condition skips its fragment.
    """

    def __init__(
        self,
        fragments: dict[str, tuple[str, list[Any]]],
        variables: dict[str, Any],
        types_of: Mapping[str, frozenset[str]],
    ):
        self.fragments = fragments
        self.variables = variables
        self.types_of = types_of

    def resolved(self, value: Any) -> Any:
        if isinstance(value, Variable):
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
            if condition is not None and condition not in self.types_of.get(type_name, set()):
                if not any(condition in known for known in self.types_of.values()):
                    raise UnsupportedSelectionError
                continue
            if self.included(directives):
                for name, (arguments, inner) in self.collect(subs, type_name, seen_now).items():
                    merge(name, arguments, inner)
        return fields
