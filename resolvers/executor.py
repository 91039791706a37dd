"""graphql-core's executor, with fewer calls for the fields a page is made of.

Most fields of a page are a plain attribute of a leaf type (`Image.title`, `createdAt`,
`tags`) or a URL read from the context. graphql-core runs each through the same path as
any field: a Path, the resolve info, the resolver, two awaitable checks and
complete_value's type tests (Strawberry's enums then walk their values). `LeafField`
does that work in one call, with graphql-core's own semantics and messages (null checks,
coercion, error paths); anything unusual is left to graphql-core. The table of such
fields is built once per schema from the field definitions alone: it cannot depend on,
or leak between, documents (tests/unit/test_graphql_execution.py compares both
executors)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from inspect import CO_ITERABLE_COROUTINE
from types import CoroutineType, GeneratorType
from typing import Any

from graphql import (
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    is_leaf_type,
)
from graphql.execution.executor import Executor
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

ATTRIBUTE_MARK = "picgraph_attribute"
READ_MARK = "picgraph_read"
ContextRead = Callable[[Any, Any], Any]


def attribute_resolver(name: str) -> Callable[..., Any]:
    """Strawberry's default resolver (`getattr(source, python_name)`) in one call."""

    def resolve(source: Any, _info: Any, **_arguments: Any) -> Any:
        return getattr(source, name)

    setattr(resolve, ATTRIBUTE_MARK, name)
    return resolve


def context_resolver(read: ContextRead) -> Callable[..., Any]:
    """A resolver of an argument-less field that needs only the source and the context."""

    def resolve(source: Any, info: Any, **_arguments: Any) -> Any:
        return read(source, info.context)

    setattr(resolve, READ_MARK, read)
    return resolve


class UnusualListError(Exception):
    """A list value the shortcut leaves to graphql-core (not a list or tuple, or an item
    that does not coerce to a value): graphql-core resolves the field again, which for a
    plain attribute reads the same value."""


@dataclass(frozen=True, slots=True)
class LeafField:
    """A field of a leaf type, or a list of one (each maybe non-null), that
    `attribute_resolver` or `context_resolver` resolves: completed as graphql-core's
    complete_value would, without building the resolve info."""

    attribute: str | None
    read: ContextRead | None
    return_type: GraphQLOutputType
    leaf: GraphQLLeafType  # the item type of a list
    null_message: str | None  # set for a non-null field
    listed: bool = False
    # A Strawberry enum: its Python class, and each member's GraphQL name.
    enum_class: type | None = None
    enum_names: Mapping[Any, str] | None = None

    def complete(self, source: Any, context: Any) -> Any:
        if self.attribute is not None:
            result = getattr(source, self.attribute)
        else:
            result = self.read(source, context)  # type: ignore[misc]
        if isinstance(result, Exception):
            raise result
        if result is None or result is Undefined:
            if self.null_message is not None:
                raise TypeError(self.null_message)
            return None
        if self.listed:
            return self._complete_items(result)
        if type(result) is self.enum_class:
            name = self.enum_names.get(result)  # type: ignore[union-attr]
            if name is not None:
                return name
        coerced = self.leaf.coerce_output_value(result)
        if coerced is None or coerced is Undefined:
            # graphql-core raises its own message for this.
            return Executor.complete_leaf_value(self.leaf, result)
        return coerced

    def _complete_items(self, result: Any) -> list[Any]:
        if type(result) is not list and type(result) is not tuple:
            raise UnusualListError
        coerce = self.leaf.coerce_output_value
        completed = []
        for item in result:
            if item is None or item is Undefined or isinstance(item, Exception):
                raise UnusualListError
            try:
                value = coerce(item)
            except Exception:
                raise UnusualListError from None
            if value is None or value is Undefined:
                raise UnusualListError
            completed.append(value)
        return completed


LeafTable = Mapping[GraphQLObjectType, Mapping[str, LeafField]]


def leaf_fields(schema: GraphQLSchema) -> LeafTable:
    table: dict[GraphQLObjectType, dict[str, LeafField]] = {}
    for named in schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for field_name, field in named.fields.items():
            attribute = getattr(field.resolve, ATTRIBUTE_MARK, None)
            read = None if field.args else getattr(field.resolve, READ_MARK, None)
            non_null = isinstance(field.type, GraphQLNonNull)
            leaf = _nullable(field.type)
            listed = isinstance(leaf, GraphQLList) and attribute is not None
            if listed:
                leaf = _nullable(leaf.of_type)
            if (attribute is None and read is None) or not is_leaf_type(leaf):
                continue
            message = f"Cannot return null for non-nullable field {named.name}.{field_name}."
            enum_class = getattr(leaf, "wrapped_cls", None) if not listed else None
            table.setdefault(named, {})[field_name] = LeafField(
                attribute,
                read,
                field.type,
                leaf,
                message if non_null else None,
                listed,
                enum_class,
                None if enum_class is None else _enum_names(leaf, enum_class),
            )
    return table


def _enum_names(enum_type: Any, enum_class: type) -> dict[Any, str]:
    """What Strawberry's enum coerce_output_value answers for each member, by one lookup
    instead of a walk over the values."""
    names: dict[Any, str] = {}
    for member in enum_class:  # type: ignore[attr-defined]
        for name, value in enum_type.values.items():
            if member.value == value.value:
                names[member] = name
                break
    return names


def _nullable(output: Any) -> Any:
    return output.of_type if isinstance(output, GraphQLNonNull) else output


class PicgraphExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context; the fields in `leaves` take `LeafField.complete`.

    execute_fields is graphql-core's, except that a leaf field is completed in place (its
    Path is built only for an error) and its coerced value is never awaitable."""

    leaves: LeafTable = {}

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        leaves = self.leaves.get(parent_type)
        if leaves is None or self.middleware_manager is not None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        context = self.context_value
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list in grouped_field_set.items():
                leaf = leaves.get(field_details_list[0].node.name.value)
                if leaf is not None and not (leaf.listed and _directed(field_details_list)):
                    try:
                        results[response_name] = leaf.complete(source_value, context)
                    except UnusualListError:
                        pass  # graphql-core's execute_field below
                    except Exception as raw_error:
                        field_path = Path(path, response_name, parent_type.name)
                        self.handle_field_error(
                            raw_error, leaf.return_type, field_details_list, field_path
                        )
                        results[response_name] = None
                        continue
                    else:
                        continue
                result = self.execute_field(
                    parent_type,
                    source_value,
                    field_details_list,
                    Path(path, response_name, parent_type.name),
                    position_context,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[name] for name in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return _awaited(results, awaitable_fields)


def _directed(field_details_list: Any) -> bool:
    """Directives (@stream) on a list field: graphql-core's path handles them."""
    return any(details.node.directives for details in field_details_list)


async def _awaited(results: dict[str, Any], awaitable_fields: list[str]) -> dict[str, Any]:
    """graphql-core's execute_fields ending for fields whose results are awaitable."""
    if len(awaitable_fields) == 1:
        name = awaitable_fields[0]
        results[name] = await results[name]
    else:
        awaited = await gather_with_cancel(*(results[name] for name in awaitable_fields))
        results.update(zip(awaitable_fields, awaited, strict=True))
    return results


def sync_types(schema: GraphQLSchema) -> frozenset[type]:
    """The Python classes of the schema's object types: never awaitable."""
    classes = set()
    for named in schema.type_map.values():
        definition = (named.extensions or {}).get("strawberry-definition")
        origin = getattr(definition, "origin", None)
        if isinstance(origin, type) and not hasattr(origin, "__await__"):
            classes.add(origin)
    return frozenset(classes)


_PRIMITIVES: frozenset[type] = frozenset(
    {type(None), bool, int, float, str, bytes, bytearray, list, tuple, dict, set, frozenset}
)


def awaitable_check(schema: GraphQLSchema) -> Callable[[Any], bool]:
    """graphql-core's is_awaitable, answering at once for the types a result is made of."""
    never = _PRIMITIVES | sync_types(schema)

    def is_awaitable(value: Any) -> bool:
        if type(value) in never:
            return False
        return (
            isinstance(value, CoroutineType)
            or (
                isinstance(value, GeneratorType)
                and bool(value.gi_code.co_flags & CO_ITERABLE_COROUTINE)
            )
            or hasattr(value, "__await__")
        )

    return is_awaitable
