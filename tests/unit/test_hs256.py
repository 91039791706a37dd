"""The standard-library HS256 verifier answers every token as PyJWT's decode did.

Each token is judged by both: resolvers/hs256.py and `jwt.decode` with the arguments
resolvers/identity.py used to pass it; the outcomes (claims, expired, which claim is
missing, invalid) must be the same. Tokens come from PyJWT itself, hand-built JOSE
(alg none, HS512, kid/crit/b64 headers, odd claim types), and byte-level mutations.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import warnings
from typing import Any

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resolvers import hs256
from resolvers.identity import AuthenticationError, issue_token, viewer_from_bearer

SECRET = "hs256-equivalence-secret-0123456789-abcdefghijklmnopqrstuvwxyz-0123"
LEEWAY = 30
NOW = int(time.time())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(
    payload: Any,
    *,
    header: Any = None,
    secret: str = SECRET,
    digest: Any = hashlib.sha256,
) -> str:
    """A hand-built JWS: any header, any payload (JSON or raw bytes), HMAC signed."""
    header = {"alg": "HS256", "typ": "JWT"} if header is None else header
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(raw)}"
    signature = hmac.new(secret.encode(), signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(signature)}"


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"sub": "alice", "iat": NOW - 10, "exp": NOW + 3600}
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not ...}


def pyjwt_outcome(raw: str) -> tuple[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            decoded = jwt.decode(
                raw,
                SECRET,
                algorithms=["HS256"],
                options={"require": ["exp", "iat", "sub"]},
                leeway=LEEWAY,
            )
        except jwt.ExpiredSignatureError:
            return ("expired", None)
        except jwt.MissingRequiredClaimError as exc:
            return ("missing", exc.claim)
        except jwt.InvalidTokenError:
            return ("invalid", None)
        except UnicodeEncodeError:  # PyJWT encodes the token first and lets this through
            return ("invalid", None)
    return ("ok", decoded)


def our_outcome(raw: str) -> tuple[str, Any]:
    try:
        decoded = hs256.decode(raw, SECRET, leeway=LEEWAY)
    except hs256.ExpiredTokenError:
        return ("expired", None)
    except hs256.MissingClaimError as exc:
        return ("missing", exc.claim)
    except hs256.InvalidTokenError:
        return ("invalid", None)
    return ("ok", decoded)


VALID = token(claims())
SIGNING_INPUT, SIGNATURE = VALID.rsplit(".", 1)
HEADER_SEGMENT, PAYLOAD_SEGMENT = SIGNING_INPUT.split(".")

CASES: dict[str, str] = {
    "valid": VALID,
    "issued by PyJWT": jwt.encode(claims(), SECRET, algorithm="HS256"),
    "issued by issue_token": issue_token("bob", SECRET),
    "other secret": token(claims(), secret=SECRET[::-1]),
    "alg none": jwt.encode(claims(), None, algorithm="none"),  # type: ignore[arg-type]
    "alg none, our signature": token(claims(), header={"alg": "none"}),
    "HS512": jwt.encode(claims(), SECRET, algorithm="HS512"),
    "HS512 header, HS256 signature": token(claims(), header={"alg": "HS512"}),
    "RS256 header": token(claims(), header={"alg": "RS256"}),
    "no alg": token(claims(), header={"typ": "JWT"}),
    "alg null": token(claims(), header={"alg": None}),
    "alg lower case": token(claims(), header={"alg": "hs256"}),
    "kid string": token(claims(), header={"alg": "HS256", "kid": "k1"}),
    "kid number": token(claims(), header={"alg": "HS256", "kid": 7}),
    "crit b64 true": token(claims(), header={"alg": "HS256", "crit": ["b64"], "b64": True}),
    "crit b64 missing": token(claims(), header={"alg": "HS256", "crit": ["b64"]}),
    "crit unknown": token(claims(), header={"alg": "HS256", "crit": ["exp"], "exp": 1}),
    "crit empty": token(claims(), header={"alg": "HS256", "crit": []}),
    "crit not a list": token(claims(), header={"alg": "HS256", "crit": "b64"}),
    "b64 false": token(claims(), header={"alg": "HS256", "crit": ["b64"], "b64": False}),
    "header a list": token(claims(), header=["HS256"]),
    "payload a list": token([1, 2]),
    "payload not JSON": token(b"not json"),
    "payload deeply nested": token(b"[" * 100_000 + b"]" * 100_000),
    "expired": token(claims(iat=NOW - 7200, exp=NOW - 3600)),
    "expired within leeway": token(claims(exp=NOW - 20)),
    "exp just past the leeway": token(claims(exp=NOW - 40)),
    "iat in the future": token(claims(iat=NOW + 3600)),
    "iat in the future within leeway": token(claims(iat=NOW + 20)),
    "iat a digit string": token(claims(iat=str(NOW - 10))),
    "iat a float": token(claims(iat=NOW - 10.5)),
    "iat a word": token(claims(iat="yesterday")),
    "exp a word": token(claims(exp="tomorrow")),
    "exp true": token(claims(exp=True)),
    "exp infinite": token(f'{{"sub": "a", "iat": {NOW}, "exp": Infinity}}'.encode()),
    "exp not a number": token(f'{{"sub": "a", "iat": {NOW}, "exp": NaN}}'.encode()),
    "nbf in the future": token(claims(nbf=NOW + 3600)),
    "nbf past": token(claims(nbf=NOW - 3600)),
    "nbf a word": token(claims(nbf="soon")),
    "no exp": token(claims(exp=...)),
    "no iat": token(claims(iat=...)),
    "no sub": token(claims(sub=...)),
    "nothing": token({}),
    "exp null": token(claims(exp=None)),
    "sub null": token(claims(sub=None)),
    "sub a number": token(claims(sub=42)),
    "sub empty": token(claims(sub="")),
    "aud": token(claims(aud="picgraph")),
    "aud empty": token(claims(aud="")),
    "jti string": token(claims(jti="j1")),
    "jti number": token(claims(jti=1)),
    "properly padded segments": ".".join(
        part + "=" * (-len(part) % 4) for part in (HEADER_SEGMENT, PAYLOAD_SEGMENT, SIGNATURE)
    ),
    "padded segments": f"{HEADER_SEGMENT}==.{PAYLOAD_SEGMENT}.{SIGNATURE}",
    "too much padding": f"{HEADER_SEGMENT}.{PAYLOAD_SEGMENT}.{SIGNATURE}===",
    "junk in the signature": f"{SIGNING_INPUT}.{SIGNATURE[:-2]}!!",
    "standard base64 alphabet": f"{SIGNING_INPUT}.{SIGNATURE.replace('-', '+').replace('_', '/')}",
    "non-canonical last character": f"{SIGNING_INPUT}.{SIGNATURE[:-1]}"
    + ("B" if SIGNATURE[-1] == "A" else "A"),
    "signature cut": f"{SIGNING_INPUT}.{SIGNATURE[:-4]}",
    "no signature": f"{SIGNING_INPUT}.",
    "two segments": SIGNING_INPUT,
    "four segments": f"{VALID}.{SIGNATURE}",
    "one segment": "abc",
    "empty": "",
    "whitespace inside": f"{HEADER_SEGMENT}. {PAYLOAD_SEGMENT}.{SIGNATURE}",
    "not ASCII": f"{HEADER_SEGMENT}.{PAYLOAD_SEGMENT}é.{SIGNATURE}",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_crafted_token_gets_pyjwts_answer(name: str) -> None:
    """GIVEN a crafted token THEN the stdlib verifier and PyJWT agree on its outcome."""
    assert our_outcome(CASES[name]) == pyjwt_outcome(CASES[name])


def test_the_corpus_covers_every_outcome() -> None:
    """A corpus where everything is refused (or accepted) could not fail: check both."""
    outcomes = {our_outcome(raw)[0] for raw in CASES.values()}
    assert outcomes == {"ok", "expired", "missing", "invalid"}


@settings(max_examples=300, deadline=None)
@given(position=st.integers(min_value=0, max_value=len(VALID) - 1), byte=st.characters())
def test_every_single_character_change_gets_pyjwts_answer(position: int, byte: str) -> None:
    """GIVEN a valid token with any one character replaced THEN both verifiers agree."""
    mutated = VALID[:position] + byte + VALID[position + 1 :]
    assert our_outcome(mutated) == pyjwt_outcome(mutated)


def test_a_token_with_a_lone_surrogate_is_invalid_not_a_crash() -> None:
    """GIVEN a bearer token holding a lone surrogate (an API Gateway event is JSON, where
    "\\ud800" decodes to one) THEN it is an invalid token, like any other garbage."""
    mutated = "\ud800" + VALID[1:]

    with pytest.raises(hs256.InvalidTokenError):
        hs256.decode(mutated, SECRET)
    assert our_outcome(mutated) == ("invalid", None)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("valid", None),
        ("issued by PyJWT", None),
        ("other secret", "The token is invalid."),
        ("alg none", "The token is invalid."),
        ("HS512", "The token is invalid."),
        ("expired", "The token has expired."),
        ("iat in the future", "The token is invalid."),
        ("no iat", "The token is invalid: it has no 'iat' claim."),
        ("no sub", "The token is invalid: it has no 'sub' claim."),
        ("sub empty", "The token's subject is invalid."),
        ("sub a number", "The token is invalid."),
        ("four segments", "The token is invalid."),
    ],
)
def test_viewer_from_bearer_keeps_its_messages(name: str, message: str | None) -> None:
    """GIVEN a token THEN the same viewer, or the same client-facing message, as before."""
    if message is None:
        assert viewer_from_bearer(f"Bearer {CASES[name]}", SECRET) == "alice"
    else:
        with pytest.raises(AuthenticationError) as raised:
            viewer_from_bearer(f"Bearer {CASES[name]}", SECRET)
        assert str(raised.value) == message
