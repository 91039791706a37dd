"""Top-level GraphQL errors with a machine-readable extensions.code, and masking."""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError

logger = logging.getLogger("picgraph.errors")

UNAUTHENTICATED = "UNAUTHENTICATED"
BAD_USER_INPUT = "BAD_USER_INPUT"
FORBIDDEN = "FORBIDDEN"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
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


def is_public(error: GraphQLError) -> bool:
    """Parse and validation errors have no original error; ours are PublicError."""
    original = error.original_error
    return original is None or isinstance(original, PublicError)


def shape_errors(errors: list[GraphQLError], request_id: str) -> list[GraphQLError]:
    """Give every error a code; mask the unexpected ones, logging them with the request id."""
    shaped: list[GraphQLError] = []
    for error in errors:
        original = error.original_error
        extensions: dict[str, Any] = dict(error.extensions or {})
        if isinstance(original, PublicError):
            extensions["code"] = original.code
            shaped.append(_with(error, original.message, extensions))
        elif original is None:
            extensions.setdefault("code", "GRAPHQL_VALIDATION_FAILED")
            shaped.append(_with(error, error.message, extensions))
        else:
            logger.error(
                "unexpected error",
                exc_info=(type(original), original, original.__traceback__),
                extra={"request_id": request_id, "path": error.path},
            )
            extensions = {"code": INTERNAL_SERVER_ERROR, "requestId": request_id}
            shaped.append(_with(error, MASKED_MESSAGE, extensions, keep_original=False))
    return shaped


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
