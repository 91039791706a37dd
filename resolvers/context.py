"""The typed context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from resolvers.errors import UnauthenticatedError

if TYPE_CHECKING:
    from resolvers.bootstrap import App


@dataclass
class Context:
    app: App
    request_id: str
    viewer_id: str | None = None
    auth_error: str | None = None

    def require_viewer(self) -> str:
        """The verified viewer id, or a top-level UNAUTHENTICATED error."""
        if self.viewer_id is None:
            raise UnauthenticatedError(self.auth_error or "Authentication required.")
        return self.viewer_id
