"""Each command of the lint gate passes on clean files and fails on a planted violation.

The commands are read from LINTERS in noxfile.py, so this tests what `nox -s lint` runs. Each
case runs in a temporary project with copies of the repo's linter config, twice: clean (exit 0)
and with one violation planted (exit non-zero, output naming the violated rule).

Run by `nox -s lint` (DLENV_REQUIRE_LINTERS=1): a missing linter is a failure there. Elsewhere a
missing linter skips its case.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from lint_gate import REPO, lint_commands, run_linter


@dataclass(frozen=True)
class Plant:
    path: str  # the file the linter is pointed at, relative to the temporary project
    clean: str
    violation: str
    rule: str  # text the linter's output must contain for the planted violation
    config: tuple[str, ...] = ()  # repo files copied into the project first
    extra: tuple[tuple[str, str], ...] = ()  # other files the project needs
    pass_path: bool = True  # False: the linter finds its files from its config (mypy)


WORKFLOW = """\
name: example
on: push
jobs:
  job:
    {runs_on}: ubuntu-latest
    steps:
      - run: echo hello
"""
ACTION = """\
name: example
description: an example composite action
{runs}:
  using: composite
  steps:
    - run: echo hello
      shell: bash
"""

PLANTS = {
    "ruff-format": Plant(
        "example.py",
        "numbers = [1, 2]\n",
        "numbers = [1,2]\n",
        "1 file would be reformatted",
        ("pyproject.toml",),
    ),
    "ruff": Plant(
        "example.py",
        "import os\n\nprint(os.sep)\n",
        "import os\n",
        "F401",
        ("pyproject.toml",),
    ),
    "mypy": Plant(
        "dlenv/example.py",
        "def answer() -> int:\n    return 42\n",
        'def answer() -> int:\n    return "42"\n',
        "Incompatible return value type",
        ("pyproject.toml",),
        extra=(("dlenv/__init__.py", ""),),
        pass_path=False,
    ),
    "shellcheck": Plant(
        "scripts/example.sh",
        '#!/usr/bin/env bash\nset -euo pipefail\necho "$1"\n',
        "#!/usr/bin/env bash\nset -euo pipefail\necho $1\n",
        "SC2086",
    ),
    "hadolint": Plant(
        "images/Dockerfile",
        'FROM debian:bookworm-slim\nUSER 65534\nCMD ["true"]\n',
        'FROM debian:bookworm-slim\nMAINTAINER someone\nUSER 65534\nCMD ["true"]\n',
        "DL4000",
        (".hadolint.yaml",),
    ),
    "workflows": Plant(
        ".github/workflows/example.yml",
        WORKFLOW.format(runs_on="runs-on"),
        WORKFLOW.format(runs_on="runs-onn"),
        "'runs-on' is a required property",
    ),
    "actions": Plant(
        ".github/actions/example/action.yml",
        ACTION.format(runs="runs"),
        ACTION.format(runs="runz"),
        "'runs' is a required property",
    ),
}


def test_every_linter_has_a_planted_violation() -> None:
    assert set(lint_commands()) == set(PLANTS)


def plant_and_lint(name: str, project: Path, content: str) -> subprocess.CompletedProcess[str]:
    plant = PLANTS[name]
    (project / plant.path).write_text(content)
    return run_linter(name, [plant.path] if plant.pass_path else [], project)


@pytest.fixture(params=sorted(PLANTS))
def project(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path]:
    name: str = request.param
    plant = PLANTS[name]
    for config in plant.config:
        shutil.copy(REPO / config, tmp_path / config)
    for relative, content in ((plant.path, ""), *plant.extra):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(content)
    return name, tmp_path


def test_linter_passes_clean_file(project: tuple[str, Path]) -> None:
    name, root = project

    result = plant_and_lint(name, root, PLANTS[name].clean)

    assert result.returncode == 0, result.stdout + result.stderr


def test_linter_fails_on_planted_violation(project: tuple[str, Path]) -> None:
    name, root = project

    result = plant_and_lint(name, root, PLANTS[name].violation)

    assert result.returncode != 0, f"{name} accepted a planted violation"
    assert PLANTS[name].rule in result.stdout + result.stderr
