"""Top-level GraphQL errors with a machine-readable extensions.code, and masking.

Errors are classified by the stage that produced them, never by their text:
parse (GRAPHQL_PARSE_FAILED), validation and static limits (GRAPHQL_VALIDATION_FAILED),
cost (QUERY_TOO_COMPLEX), the request's variables and operation name (BAD_USER_INPUT),
and execution, where only our PublicError subclasses are shown and anything else is
masked as INTERNAL_SERVER_ERROR with the request id, and logged once with its stack.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from graphql import GraphQLError

logger = logging.getLogger("picgraph.errors")

UNAUTHENTICATED = "UNAUTHENTICATED"
BAD_USER_INPUT = "BAD_USER_INPUT"
FORBIDDEN = "FORBIDDEN"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
MASKED_MESSAGE = "Unexpected error."


class PublicError(Exception):
    """An error whose message and code clients may see (never masked)."""

    code = BAD_USER_INPUT

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnauthenticatedError(PublicError):
    code = UNAUTHENTICATED


class BadUserInputError(PublicError):
    code = BAD_USER_INPUT


class ForbiddenQueryError(PublicError):
    code = FORBIDDEN


def coded(error: GraphQLError, code: str) -> GraphQLError:
    """The error with extensions.code set (kept if the error already has one)."""
    extensions: dict[str, Any] = dict(error.extensions or {})
    extensions.setdefault("code", code)
    return _with(error, error.message, extensions)


def public_error(error: PublicError) -> GraphQLError:
    return GraphQLError(error.message, extensions={"code": error.code})


def shape_execution_errors(errors: Iterable[GraphQLError], request_id: str) -> list[GraphQLError]:
    """Errors raised while resolving fields: ours shown with their code, the rest masked."""
    shaped: list[GraphQLError] = []
    for error in errors:
        original = error.original_error
        if isinstance(original, PublicError):
            extensions = {**(error.extensions or {}), "code": original.code}
            shaped.append(_with(error, original.message, extensions))
        else:
            shaped.append(masked(error, request_id, original or error))
    return shaped


def masked(error: GraphQLError | None, request_id: str, cause: BaseException) -> GraphQLError:
    """INTERNAL_SERVER_ERROR with the request id; the cause is logged with its stack."""
    logger.error(
        "unexpected error",
        exc_info=(type(cause), cause, cause.__traceback__),
        extra={"request_id": request_id, "path": None if error is None else error.path},
    )
    extensions = {"code": INTERNAL_SERVER_ERROR, "requestId": request_id}
    if error is None:
        return GraphQLError(MASKED_MESSAGE, extensions=extensions)
    return _with(error, MASKED_MESSAGE, extensions, keep_original=False)


def _with(
    error: GraphQLError, message: str, extensions: dict[str, Any], *, keep_original: bool = True
) -> GraphQLError:
    return GraphQLError(
        message=message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error if keep_original else None,
        extensions=extensions,
    )
