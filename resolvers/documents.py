"""Parse, validate and measure each distinct GraphQL document once (a bounded LRU cache).

The cache is keyed on the exact document text, so a document is only ever answered
with its own parse and validation result. Everything the limits decide that does not
depend on variables (tokens, depth, aliases, a cost without variable page sizes) is
decided here, once; a cost that depends on variables is checked per request
(resolvers/execution.py) before any resolver runs.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule, specified_rules
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from resolvers.errors import (
    GRAPHQL_PARSE_FAILED,
    GRAPHQL_VALIDATION_FAILED,
    QUERY_TOO_COMPLEX,
    coded,
)
from resolvers.limits import Shape, operation_shapes

CACHE_SIZE = 512
# Longer documents (comments and string literals are not tokens) are answered but not
# kept, so that the cache's memory stays bounded: CACHE_SIZE x this many characters.
MAX_CACHED_DOCUMENT_CHARS = 32 * 1024


@dataclass(frozen=True)
class Limits:
    max_depth: int = 10
    max_aliases: int = 15
    max_tokens: int = 2000
    max_cost: int = 20_000
    introspection: bool = True


@dataclass(frozen=True)
class PreparedDocument:
    """A parsed document, its coded errors (parse, validation, limits) and its shape."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...] = ()
    operations: dict[str | None, OperationDefinitionNode] = field(default_factory=dict)
    shapes: dict[str | None, Shape] = field(default_factory=dict)

    def operation(self, name: str | None) -> OperationDefinitionNode | None:
        """The operation to run: the named one, or the only one when no name is given."""
        if name:
            return self.operations.get(name)
        if len(self.operations) == 1:
            return next(iter(self.operations.values()))
        return None


def prepare(schema: GraphQLSchema, text: str, limits: Limits) -> PreparedDocument:
    try:
        document = parse(text, max_tokens=limits.max_tokens)
    except GraphQLError as error:
        return PreparedDocument(None, (coded(error, GRAPHQL_PARSE_FAILED),))
    rules = [*specified_rules, MaybeNullValidationRule, OneOfInputValidationRule]
    if not limits.introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    errors = validate(schema, document, rules, hide_suggestions=not limits.introspection)
    coded_errors = tuple(coded(error, GRAPHQL_VALIDATION_FAILED) for error in errors)
    return measure(schema, document, limits, coded_errors)


def measure(
    schema: GraphQLSchema,
    document: DocumentNode,
    limits: Limits,
    errors: tuple[GraphQLError, ...] = (),
) -> PreparedDocument:
    """Operations, fragments and limits of a document (valid or not: the walk is total)."""
    operations: dict[str | None, OperationDefinitionNode] = {}
    fragments: dict[str, FragmentDefinitionNode] = {}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            operations[definition.name.value if definition.name else None] = definition
        elif isinstance(definition, FragmentDefinitionNode):
            fragments[definition.name.value] = definition
    shapes = operation_shapes(schema, operations, fragments)
    if not errors:
        errors = tuple(_limit_errors(operations, shapes, limits))
    return PreparedDocument(document, errors, operations, shapes)


def _limit_errors(
    operations: dict[str | None, OperationDefinitionNode],
    shapes: dict[str | None, Shape],
    limits: Limits,
) -> list[GraphQLError]:
    errors: list[GraphQLError] = []
    for name, operation in operations.items():
        shape = shapes[name]
        label = name or "anonymous"
        if shape.depth > limits.max_depth:
            errors.append(
                coded(
                    GraphQLError(
                        f"'{label}' exceeds maximum operation depth of {limits.max_depth}",
                        operation,
                    ),
                    GRAPHQL_VALIDATION_FAILED,
                )
            )
        if shape.aliases > limits.max_aliases:
            errors.append(
                coded(
                    GraphQLError(
                        f"{shape.aliases} aliases found. Allowed: {limits.max_aliases}", operation
                    ),
                    GRAPHQL_VALIDATION_FAILED,
                )
            )
        if not shape.cost.scaled and shape.cost.fixed > limits.max_cost:
            errors.append(cost_error(shape.cost.fixed, limits.max_cost))
    return errors


def cost_error(cost: int, max_cost: int) -> GraphQLError:
    return GraphQLError(
        f"The query is too complex: its cost is {cost} and at most {max_cost} is allowed "
        "(page sizes multiply the fields selected under them; see the README).",
        extensions={"code": QUERY_TOO_COMPLEX, "cost": cost, "maxCost": max_cost},
    )


class DocumentCache:
    """A bounded, thread-safe LRU of prepared documents."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[object, PreparedDocument] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(
        self, key: object, build: Callable[[], PreparedDocument], *, keep: bool = True
    ) -> PreparedDocument:
        with self._lock:
            prepared = self._entries.get(key)
            if prepared is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return prepared
            self.misses += 1
        prepared = build()
        if keep:
            with self._lock:
                self._entries[key] = prepared
                self._entries.move_to_end(key)
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)
        return prepared

    def __len__(self) -> int:
        return len(self._entries)
