"""Who is calling: a verified viewer id, from a JWT or from an upstream authorizer.

A user id is never taken from a plain header, an argument or a cursor.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from resolvers import hs256

# PyJWT is imported where a token is issued only: verification (resolvers/hs256.py) needs
# the standard library alone, and importing PyJWT imports `cryptography` as well.

_ALGORITHM = hs256.ALGORITHM
_LEEWAY_SECONDS = 30
_MAX_SUBJECT_LENGTH = 128
DEFAULT_MAX_LIFETIME_SECONDS = 86400


class AuthenticationError(Exception):
    """The caller could not be identified; the message is safe to show."""


def issue_token(subject: str, secret: str, *, ttl_seconds: int = 3600) -> str:
    import jwt

    now = int(time.time())
    claims = {"sub": subject, "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def viewer_from_bearer(
    authorization: str | None,
    secret: str | None,
    *,
    max_lifetime_seconds: int = DEFAULT_MAX_LIFETIME_SECONDS,
) -> str:
    """Verify `Authorization: Bearer <JWT>` and return its sub.

    HS256 only; sub, exp and iat are required, iat may not be in the future, and
    exp - iat may not exceed max_lifetime_seconds (PICGRAPH_MAX_TOKEN_LIFETIME_SECONDS):
    a token minted to last for centuries is refused, however valid its signature.
    """
    if not authorization:
        raise AuthenticationError("Authentication required: send Authorization: Bearer <token>.")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("The Authorization header must be 'Bearer <token>'.")
    if secret is None:
        raise AuthenticationError("Bearer tokens are not accepted here.")
    try:
        # HS256 only: 'none' and every other algorithm are refused.
        claims = hs256.decode(token.strip(), secret, leeway=_LEEWAY_SECONDS)
    except hs256.ExpiredTokenError:
        raise AuthenticationError("The token has expired.") from None
    except hs256.MissingClaimError as exc:
        raise AuthenticationError(f"The token is invalid: it has no {exc.claim!r} claim.") from None
    except hs256.InvalidTokenError:
        raise AuthenticationError("The token is invalid.") from None
    if int(claims["exp"]) - int(claims["iat"]) > max_lifetime_seconds:
        raise AuthenticationError(
            f"The token is invalid: it lives longer than {max_lifetime_seconds} seconds."
        )
    return _subject(claims.get("sub"))


def viewer_from_api_gateway(event: Mapping[str, Any]) -> str | None:
    """The sub verified by an API Gateway authorizer, if the event carries one."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    candidates = (
        (authorizer.get("jwt") or {}).get("claims") or {},  # HTTP API JWT authorizer
        authorizer.get("lambda") or {},  # HTTP API Lambda authorizer context
        authorizer.get("claims") or {},  # REST API Cognito authorizer
        authorizer,  # REST API Lambda authorizer context
    )
    for claims in candidates:
        subject = claims.get("sub") if isinstance(claims, Mapping) else None
        if subject:
            return _subject(subject)
    return None


def viewer_from_appsync(identity: Mapping[str, Any] | None) -> str:
    """AppSync: Cognito/OIDC `sub`, or a Lambda authorizer's resolverContext.sub."""
    if not identity:
        raise AuthenticationError("Authentication required (API keys carry no viewer).")
    subject = identity.get("sub") or (identity.get("resolverContext") or {}).get("sub")
    if not subject:
        raise AuthenticationError("Authentication required (API keys carry no viewer).")
    return _subject(subject)


def _subject(value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= _MAX_SUBJECT_LENGTH:
        raise AuthenticationError("The token's subject is invalid.")
    if not value.isprintable():
        raise AuthenticationError("The token's subject is invalid.")
    return value
