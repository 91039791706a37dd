"""docs/troubleshooting.md quotes what picgraph really says: its UNAUTHENTICATED table
lists exactly the messages the bearer-token check produces."""

from __future__ import annotations

import re
import time
from pathlib import Path

import jwt

from resolvers.identity import AuthenticationError, issue_token, viewer_from_bearer

DOC = Path(__file__).resolve().parents[2] / "docs" / "troubleshooting.md"
SECRET = "troubleshooting-doc-secret-0123456789-abc"


def message_for(authorization: str | None) -> str:
    try:
        viewer_from_bearer(authorization, SECRET)
    except AuthenticationError as exc:
        return str(exc)
    raise AssertionError(f"{authorization!r} was accepted")


def documented_messages() -> set[str]:
    text = DOC.read_text()
    section = text[text.index("## `UNAUTHENTICATED`") :]
    section = section[: section.index("\n## ", 1)]
    return set(re.findall(r"^\| `([^`]+)` \|", section, re.M))


def test_every_unauthenticated_message_is_documented_and_real() -> None:
    expired = jwt.encode({"sub": "ann", "exp": int(time.time()) - 3600}, SECRET, "HS256")
    produced = {
        message_for(None),
        message_for("Token abc"),
        message_for("Bearer"),
        message_for(f"Bearer {expired}"),
        message_for(f"Bearer {issue_token('ann', 'another-secret-0123456789-abcdefghijk')}"),
        message_for("Bearer not-a-jwt"),
    }
    assert documented_messages() == produced
