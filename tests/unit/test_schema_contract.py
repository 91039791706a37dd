"""schema.graphql is generated, committed, and never breaks the public contract."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import build_schema, find_breaking_changes

from resolvers.schema import export_sdl
from tests.conftest import REPO_ROOT

CONTRACT = REPO_ROOT.parent / "shared" / "contract" / "schema.graphql"
COMMITTED = REPO_ROOT / "schema.graphql"


def test_committed_schema_is_the_live_schema() -> None:
    """GIVEN the Strawberry schema THEN schema.graphql is its exact export
    (run `make schema` after changing a type)."""
    assert COMMITTED.read_text() == export_sdl()


def test_no_breaking_change_against_the_public_contract() -> None:
    if not CONTRACT.exists():
        pytest.skip(f"public contract not found at {CONTRACT}")
    changes = find_breaking_changes(
        build_schema(CONTRACT.read_text()), build_schema(COMMITTED.read_text())
    )
    assert [change.description for change in changes] == []


def test_contract_check_tool_agrees(tmp_path: Path) -> None:
    """The same check the before-stop hook runs, on the committed file."""
    tool = CONTRACT.parent.parent / "tools" / "contract_check.py"
    if not tool.exists():
        pytest.skip(f"contract tool not found at {tool}")
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, str(tool), str(COMMITTED), str(CONTRACT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout
