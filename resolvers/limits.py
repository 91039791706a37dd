"""Static limits on an operation: depth, aliases and cost, computed once per document.

Cost (PICGRAPH_MAX_QUERY_COST, README "Query cost") is an upper bound on the values a
response can hold, weighted by what they cost the server:

    cost(selection) = sum over its fields of  weight(field) + size(field) * cost(field's selection)

- weight is 10 for a presigned URL (`Image.url`, `ImageVariant.url`), 1 for any other field;
- size is the page size of a paginated field (`first` or `last`; DEFAULT_PAGE_SIZE when
  neither is given; taken from the variable's value when it is a variable), the number
  of renditions for `Image.variants`, and 1 otherwise;
- fragments count where they are spread; introspection fields count 1 each.

The walk memoises every fragment, so a document that spreads fragments exponentially
costs linear time to analyse (and an exponential cost, which the limit then refuses).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)

from services.listing import DEFAULT_PAGE_SIZE

URL_WEIGHT = 10
RENDITIONS_PER_IMAGE = 3  # thumbnail, medium, feed (services/imaging.py)
_WEIGHTS: Mapping[tuple[str, str], int] = {
    ("Image", "url"): URL_WEIGHT,
    ("ImageVariant", "url"): URL_WEIGHT,
}
_LIST_SIZES: Mapping[tuple[str, str], int] = {("Image", "variants"): RENDITIONS_PER_IMAGE}
_PAGE_ARGUMENTS = ("first", "last")


@dataclass(frozen=True)
class Scaled:
    """`inner` repeated by a page size that a variable gives at request time."""

    variable: str
    default: int
    inner: Cost


@dataclass(frozen=True)
class Cost:
    fixed: int = 0
    scaled: tuple[Scaled, ...] = ()

    def total(self, variables: Mapping[str, Any]) -> int:
        return self.fixed + sum(
            _size(variables.get(part.variable), part.default) * part.inner.total(variables)
            for part in self.scaled
        )

    def plus(self, other: Cost) -> Cost:
        return Cost(self.fixed + other.fixed, self.scaled + other.scaled)

    def times(self, size: int | Scaled) -> Cost:
        if isinstance(size, Scaled):
            return Cost(0, (Scaled(size.variable, size.default, self),))
        return Cost(size * self.fixed, tuple(_repeat(part, size) for part in self.scaled))


def _repeat(part: Scaled, size: int) -> Scaled:
    return Scaled(part.variable, part.default, part.inner.times(size))


def _size(value: object, default: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return max(value, 0)
    return default


@dataclass(frozen=True)
class Shape:
    """What the limits need to know about one selection set (or operation)."""

    depth: int = 0
    aliases: int = 0
    cost: Cost = field(default_factory=Cost)


class _Walker:
    def __init__(self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode]):
        self._schema = schema
        self._fragments = fragments
        self._memo: dict[str, Shape] = {}
        self._visiting: set[str] = set()

    def operation(self, operation: OperationDefinitionNode) -> Shape:
        root = self._schema.get_root_type(operation.operation)
        return self.selection_set(operation.selection_set, root)

    def selection_set(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None
    ) -> Shape:
        depth, aliases, cost = 0, 0, Cost()
        for selection in (selection_set.selections or ()) if selection_set else ():
            if isinstance(selection, FieldNode):
                shape = self._field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self._schema.get_type(condition.name.value) if condition else parent
                shape = self.selection_set(selection.selection_set, target)
            elif isinstance(selection, FragmentSpreadNode):
                shape = self._spread(selection.name.value)
            else:  # pragma: no cover - graphql-core has no other selection kind
                continue
            depth = max(depth, shape.depth)
            aliases += shape.aliases
            cost = cost.plus(shape.cost)
        return Shape(depth, aliases, cost)

    def _spread(self, name: str) -> Shape:
        if name in self._memo:
            return self._memo[name]
        fragment = self._fragments.get(name)
        if fragment is None or name in self._visiting:
            return Shape()  # undefined or cyclic: validation reports it
        self._visiting.add(name)
        target = self._schema.get_type(fragment.type_condition.name.value)
        shape = self.selection_set(fragment.selection_set, target)
        self._visiting.discard(name)
        self._memo[name] = shape
        return shape

    def _field(self, node: FieldNode, parent: GraphQLNamedType | None) -> Shape:
        name = node.name.value
        aliases = 1 if node.alias else 0
        if name.startswith("__"):
            # Introspection: not counted for depth (GraphiQL's query nests deeply).
            return Shape(0, aliases, Cost(1))
        parent_name = getattr(parent, "name", "")
        definition = (getattr(parent, "fields", None) or {}).get(name)
        weight = _WEIGHTS.get((parent_name, name), 1)
        if definition is None or node.selection_set is None:
            return Shape(0, aliases, Cost(weight))
        child = self.selection_set(node.selection_set, get_named_type(definition.type))
        size = _page_size(node, definition.args)
        if size is None:
            size = _LIST_SIZES.get((parent_name, name), 1)
        return Shape(
            child.depth + 1, aliases + child.aliases, Cost(weight).plus(child.cost.times(size))
        )


def _page_size(node: FieldNode, arguments: Mapping[str, Any]) -> int | Scaled | None:
    if not any(name in arguments for name in _PAGE_ARGUMENTS):
        return None
    sizes: list[int | Scaled] = []
    for argument in node.arguments or ():
        if argument.name.value not in _PAGE_ARGUMENTS:
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            sizes.append(max(int(value.value), 0))
        elif isinstance(value, VariableNode):
            sizes.append(Scaled(value.name.value, DEFAULT_PAGE_SIZE, Cost()))
    if not sizes:
        return DEFAULT_PAGE_SIZE
    fixed = [size for size in sizes if isinstance(size, int)]
    # first and last together are refused by the resolver; count the larger literal.
    return max(fixed) if fixed else sizes[0]


def operation_shapes(
    schema: GraphQLSchema,
    operations: Mapping[str | None, OperationDefinitionNode],
    fragments: Mapping[str, FragmentDefinitionNode],
) -> dict[str | None, Shape]:
    walker = _Walker(schema, fragments)
    return {name: walker.operation(operation) for name, operation in operations.items()}
