"""Who the viewer is: JWT verification and upstream authorizer claims."""

from __future__ import annotations

import time

import jwt
import pytest

from resolvers.identity import (
    AuthenticationError,
    issue_token,
    viewer_from_api_gateway,
    viewer_from_appsync,
    viewer_from_bearer,
)

SECRET = "identity-test-secret-0123456789-abcdef-long-enough-for-hs512-too"


def bearer(token: str) -> str:
    return f"Bearer {token}"


def test_a_valid_token_gives_its_subject() -> None:
    assert viewer_from_bearer(bearer(issue_token("alice", SECRET)), SECRET) == "alice"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "Authentication required"),
        ("", "Authentication required"),
        ("Basic dXNlcjpwYXNz", "must be 'Bearer <token>'"),
        ("Bearer", "must be 'Bearer <token>'"),
        ("Bearer not.a.jwt", "invalid"),
        (
            bearer(
                jwt.encode(
                    {"sub": "a", "exp": int(time.time()) + 3600},
                    "other-secret-0123456789-abcdefghijklmn",
                    algorithm="HS256",
                )
            ),
            "invalid",
        ),
        (
            bearer(
                jwt.encode(
                    {"sub": "a", "iat": int(time.time()) - 600, "exp": int(time.time()) - 120},
                    SECRET,
                    algorithm="HS256",
                )
            ),
            "expired",
        ),
        (bearer(jwt.encode({"sub": "a"}, SECRET, algorithm="HS256")), "invalid"),
        (
            bearer(
                jwt.encode({"sub": "a", "exp": int(time.time()) + 3600}, SECRET, algorithm="HS256")
            ),
            "no 'iat' claim",
        ),
        (
            bearer(
                jwt.encode(
                    {"sub": "a", "iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200},
                    SECRET,
                    algorithm="HS256",
                )
            ),
            "invalid",
        ),
        (
            bearer(jwt.encode({"exp": int(time.time()) + 3600}, SECRET, algorithm="HS256")),
            "invalid",
        ),
        (
            bearer(
                jwt.encode({"sub": "a", "exp": int(time.time()) + 3600}, SECRET, algorithm="HS512")
            ),
            "invalid",
        ),
        (
            bearer(
                jwt.encode(
                    {"sub": "", "iat": int(time.time()), "exp": int(time.time()) + 3600},
                    SECRET,
                    algorithm="HS256",
                )
            ),
            "subject",
        ),
        (
            bearer(
                jwt.encode({"sub": 42, "exp": int(time.time()) + 3600}, SECRET, algorithm="HS256")
            ),
            "invalid",
        ),
    ],
)
def test_every_bad_token_is_refused(header: str | None, reason: str) -> None:
    with pytest.raises(AuthenticationError, match=reason):
        viewer_from_bearer(header, SECRET)


def test_alg_none_is_refused() -> None:
    """GIVEN an unsigned token (alg: none) claiming to be alice THEN refused."""
    unsigned = jwt.encode(
        {"sub": "alice", "exp": int(time.time()) + 3600},
        key=None,  # type: ignore[arg-type]  # deliberately unsigned
        algorithm="none",
    )
    with pytest.raises(AuthenticationError):
        viewer_from_bearer(bearer(unsigned), SECRET)


def test_api_gateway_authorizer_claims() -> None:
    http_jwt = {"requestContext": {"authorizer": {"jwt": {"claims": {"sub": "u1"}}}}}
    http_lambda = {"requestContext": {"authorizer": {"lambda": {"sub": "u2"}}}}
    rest_cognito = {"requestContext": {"authorizer": {"claims": {"sub": "u3"}}}}
    none = {"requestContext": {}, "headers": {"x-user-id": "spoofed"}}
    assert [
        viewer_from_api_gateway(event) for event in (http_jwt, http_lambda, rest_cognito, none)
    ] == [
        "u1",
        "u2",
        "u3",
        None,
    ]


def test_appsync_identities() -> None:
    assert viewer_from_appsync({"sub": "cognito-sub", "username": "x"}) == "cognito-sub"
    assert viewer_from_appsync({"resolverContext": {"sub": "lambda-sub"}}) == "lambda-sub"
    for no_viewer in (None, {}, {"accountId": "123", "userArn": "arn:aws:iam::123:user/x"}):
        with pytest.raises(AuthenticationError):
            viewer_from_appsync(no_viewer)


@pytest.mark.parametrize(
    ("lifetime", "limit", "accepted"),
    [
        (86400, 86400, True),
        (86401, 86400, False),
        (300 * 365 * 86400, 86400, False),
        (3600, 600, False),
        (600, 600, True),
    ],
)
def test_tokens_may_not_live_longer_than_the_limit_past_iat(
    lifetime: int, limit: int, accepted: bool
) -> None:
    """GIVEN a validly signed token with exp = iat + lifetime THEN accepted only up to the limit."""
    issued = int(time.time()) - 5
    token = jwt.encode(
        {"sub": "alice", "iat": issued, "exp": issued + lifetime}, SECRET, algorithm="HS256"
    )
    if accepted:
        assert viewer_from_bearer(bearer(token), SECRET, max_lifetime_seconds=limit) == "alice"
    else:
        with pytest.raises(AuthenticationError, match=f"longer than {limit} seconds"):
            viewer_from_bearer(bearer(token), SECRET, max_lifetime_seconds=limit)
