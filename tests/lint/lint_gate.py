"""Run the lint gate's own commands (LINTERS in noxfile.py) from the tests in this folder."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def lint_commands() -> dict[str, tuple[str, ...]]:
    """LINTERS from noxfile.py, without importing nox (this runs in the lint virtualenv)."""
    for node in ast.parse((REPO / "noxfile.py").read_text()).body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "LINTERS" for t in targets):
                commands: dict[str, tuple[str, ...]] = ast.literal_eval(node.value)
                return commands
    raise AssertionError("noxfile.py defines no LINTERS table")


def run_linter(name: str, files: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run linter `name` as `nox -s lint` does. A missing tool skips, or fails under the gate."""
    command = lint_commands()[name]
    if shutil.which(command[0]) is None:
        if os.environ.get("DLENV_REQUIRE_LINTERS") == "1":
            pytest.fail(f"{command[0]} is not installed (install the lint dependency group)")
        pytest.skip(f"{command[0]} is not installed; `nox -s lint` installs it")
    return subprocess.run(
        [*command, *files], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
