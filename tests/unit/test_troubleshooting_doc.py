"""docs/troubleshooting.md quotes what picgraph really says: its UNAUTHENTICATED table
lists exactly the messages the token checks produce (claim names and numbers as
placeholders)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import jwt

from resolvers.identity import (
    AuthenticationError,
    issue_token,
    viewer_from_appsync,
    viewer_from_bearer,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "troubleshooting.md"
SECRET = "troubleshooting-doc-secret-0123456789-abc"


def message_of(check: Callable[[], object]) -> str:
    try:
        check()
    except AuthenticationError as exc:
        message = str(exc)
        message = re.sub(r"'(sub|exp|iat)' claim", "'<claim>' claim", message)
        return re.sub(r"longer than \d+ seconds", "longer than <N> seconds", message)
    raise AssertionError("accepted")


def bearer(header: str | None, secret: str | None = SECRET) -> Callable[[], object]:
    return lambda: viewer_from_bearer(header, secret)


def signed(**claims: object) -> str:
    return "Bearer " + jwt.encode(claims, SECRET, "HS256")


def documented_messages() -> set[str]:
    text = DOC.read_text()
    section = text[text.index("## `UNAUTHENTICATED`") :]
    section = section[: section.index("\n## ", 1)]
    return set(re.findall(r"^\| `([^`]+)` \|", section, re.M))


def test_every_unauthenticated_message_is_documented_and_real() -> None:
    now = int(time.time())
    produced = {
        message_of(bearer(None)),
        message_of(bearer("Token abc")),
        message_of(bearer("Bearer")),
        message_of(bearer(signed(sub="ann", iat=now - 7200, exp=now - 3600))),
        message_of(bearer(f"Bearer {issue_token('ann', 'another-secret-0123456789-abcdefgh')}")),
        message_of(bearer("Bearer not-a-jwt")),
        message_of(bearer(signed(sub="ann", exp=now + 60))),
        message_of(bearer(signed(sub="ann", iat=now, exp=now + 10 * 86400))),
        message_of(bearer(signed(sub="", iat=now, exp=now + 60))),
        message_of(bearer(signed(sub="ann", iat=now, exp=now + 60), secret=None)),
        message_of(lambda: viewer_from_appsync(None)),
    }
    assert documented_messages() == produced
