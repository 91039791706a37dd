"""The one-field operation for an AppSync event, built with graphql-core and cached.

The selection (`info.selectionSetGraphQL`, named fragments included) is parsed with
graphql-core, once per distinct (field, argument names, selection) in this container:
AppSync has already parsed and validated the client's operation, so it is not validated
again; the cost and depth limits still apply (measured once, cached with it).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    NameNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    TypeInfo,
    TypeInfoVisitor,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    get_named_type,
    is_abstract_type,
    parse,
    parse_type,
    visit,
)
from strawberry.types import ExecutionResult

from resolvers.bootstrap import App
from resolvers.context import Context
from resolvers.documents import PreparedDocument, measure
from resolvers.errors import INTERNAL_SERVER_ERROR
from resolvers.identity import AuthenticationError, viewer_from_appsync
from resolvers.schema import PicgraphSchema, schema_for

_OPERATIONS = {"Query": OperationType.QUERY, "Mutation": OperationType.MUTATION}
BAD_REQUEST = "BAD_REQUEST"
# The root field's arguments become variables of their own, so that they never clash with
# the client's variables that the selection may use (AppSync passes those in info.variables).
ROOT_VARIABLE_PREFIX = "picgraphArgument_"


def resolve(
    app: App, event: Mapping[str, Any], request_id: str
) -> tuple[Any, tuple[str, str] | None]:
    """Run one AppSync field; returns (data, (errorType, message) or None)."""
    request_id = request_id or str(uuid.uuid4())
    schema = schema_for(app.settings)
    info = event["info"]
    parent, field = str(info["parentTypeName"]), str(info["fieldName"])
    arguments = event.get("arguments") or {}
    if not isinstance(arguments, Mapping):
        return None, (BAD_REQUEST, "arguments must be an object.")
    selection = info.get("selectionSetGraphQL") or ""
    try:
        prepared = operation_for(schema, parent, field, tuple(arguments), str(selection))
    except ValueError as exc:
        return None, (BAD_REQUEST, str(exc))
    context = Context(app=app, request_id=request_id)
    try:
        context.viewer_id = _viewer(event.get("identity"))
    except AuthenticationError as exc:
        context.auth_error = str(exc)
    client_variables = info.get("variables")
    variables = dict(client_variables) if isinstance(client_variables, Mapping) else {}
    variables.update({ROOT_VARIABLE_PREFIX + name: value for name, value in arguments.items()})
    result = schema.engine.run(prepared, variables=variables, context=context)
    if not isinstance(result, ExecutionResult):
        raise TypeError("AppSync resolvers must complete synchronously.")
    if result.errors:
        first = result.errors[0]
        code = str((first.extensions or {}).get("code", INTERNAL_SERVER_ERROR))
        message = first.message
        if code == INTERNAL_SERVER_ERROR:
            message = f"{message} (request id {request_id})"
        return None, (code, message)
    return (result.data or {}).get(field), None


def _viewer(identity: object) -> str:
    if identity is not None and not isinstance(identity, Mapping):
        # Seen in published samples: the string "None" for API-key requests.
        raise AuthenticationError("Authentication required (the request carries no identity).")
    return viewer_from_appsync(identity)


def operation_for(
    schema: PicgraphSchema,
    parent: str,
    field: str,
    argument_names: tuple[str, ...],
    selection: str,
) -> PreparedDocument:
    """The one-field operation for this event shape, built once and cached."""
    key = ("appsync", parent, field, tuple(sorted(argument_names)), selection)
    engine = schema.engine

    def build() -> PreparedDocument:
        document = build_operation(
            engine.schema, parent, field, argument_names, selection, engine.limits.max_tokens
        )
        return measure(engine.schema, document, engine.limits)

    return engine.documents.get(key, build, keep=len(selection) <= 32 * 1024)


def build_operation(
    schema: GraphQLSchema,
    parent: str,
    field: str,
    argument_names: tuple[str, ...],
    selection: str,
    max_tokens: int = 2000,
) -> DocumentNode:
    """`query ($id: ID!) { image(id: $id) { ...selection } } fragment ...` as an AST."""
    operation = _OPERATIONS.get(parent)
    fields = getattr(schema.get_type(parent), "fields", None)
    if operation is None or fields is None or field not in fields:
        raise ValueError(f"Unknown field {parent}.{field}.")
    definition = fields[field]
    unknown = set(argument_names) - set(definition.args)
    if unknown:
        raise ValueError(f"Unknown argument(s) for {parent}.{field}: {', '.join(sorted(unknown))}.")
    selection_set, fragments = _parse_selection(selection, max_tokens)
    if selection_set is None and hasattr(get_named_type(definition.type), "fields"):
        raise ValueError(f"{parent}.{field} needs a selection set.")
    if selection_set is not None and is_abstract_type(get_named_type(definition.type)):
        # AppSync resolves an interface or union from the returned object's __typename.
        typename = FieldNode(name=NameNode(value="__typename"), arguments=(), directives=())
        selection_set = SelectionSetNode(selections=(*selection_set.selections, typename))
    names = [name for name in definition.args if name in argument_names]
    root = FieldNode(
        name=NameNode(value=field),
        arguments=tuple(
            ArgumentNode(name=NameNode(value=name), value=_variable(ROOT_VARIABLE_PREFIX + name))
            for name in names
        ),
        directives=(),
        selection_set=selection_set,
    )
    definitions = [
        VariableDefinitionNode(
            variable=_variable(ROOT_VARIABLE_PREFIX + name),
            type=parse_type(str(definition.args[name].type)),
            directives=(),
        )
        for name in names
    ]

    def document() -> DocumentNode:
        return DocumentNode(
            definitions=(
                OperationDefinitionNode(
                    operation=operation,
                    variable_definitions=tuple(definitions),
                    directives=(),
                    selection_set=SelectionSetNode(selections=(root,)),
                ),
                *fragments,
            )
        )

    for name, usage in _variable_usages(schema, document()).items():
        if not name.startswith(ROOT_VARIABLE_PREFIX):
            definitions.append(
                VariableDefinitionNode(
                    variable=_variable(name), type=parse_type(str(usage)), directives=()
                )
            )
    return document()


def _variable_usages(schema: GraphQLSchema, document: DocumentNode) -> dict[str, Any]:
    """Each variable the document uses, with the input type where it is used."""
    type_info = TypeInfo(schema)
    usages: dict[str, Any] = {}

    class Usages(Visitor):
        def enter_variable(self, node: VariableNode, *_: Any) -> None:
            input_type = type_info.get_input_type()
            if input_type is not None:
                usages.setdefault(node.name.value, input_type)

    visit(document, TypeInfoVisitor(type_info, Usages()))
    return usages


def _parse_selection(
    selection: str, max_tokens: int
) -> tuple[SelectionSetNode | None, tuple[FragmentDefinitionNode, ...]]:
    """`{ a b ...F } fragment F on T { c }` -> the selection set and its fragments."""
    if not selection.strip():
        return None, ()
    try:
        parsed = visit(parse(selection, max_tokens=max_tokens), _WithoutAliases())
    except GraphQLError as exc:
        raise ValueError(f"selectionSetGraphQL does not parse: {exc.message}") from None
    operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = tuple(d for d in parsed.definitions if isinstance(d, FragmentDefinitionNode))
    if len(operations) != 1 or operations[0].name or operations[0].variable_definitions:
        raise ValueError("selectionSetGraphQL must be one selection set and its fragments.")
    return operations[0].selection_set, fragments


class _WithoutAliases(Visitor):
    """AppSync resolves the nested fields of what we return by field name and applies the
    client's aliases itself, so the object must be keyed by field names."""

    def enter_field(self, node: FieldNode, *_: Any) -> FieldNode | None:
        if node.alias is None:
            return None
        return replace(node, alias=None)


def _variable(name: str) -> VariableNode:
    return VariableNode(name=NameNode(value=name))
