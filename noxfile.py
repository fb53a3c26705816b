"""Test layers as nox sessions. `nox` with no arguments runs exactly what CI runs.

nox -s lint                      # ruff, mypy, shellcheck, hadolint, workflow schemas
nox -s unit                      # pure tests, no Docker needed
nox -s integration               # tests that need a Docker engine (no image builds)
nox -s images -- --variant full  # build (or reuse) images, run the in-image suites
nox -s gpu -- --variant full     # same, GPUs required: fails if none is usable
"""

from __future__ import annotations

import re
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True

PYPROJECT = nox.project.load_toml("pyproject.toml")


def install(session: nox.Session, *groups: str) -> None:
    session.install("-e", ".")
    for group in groups:
        session.install(*nox.project.dependency_groups(PYPROJECT, group))


# The lint gate, one command per linter (files are appended). A plain literal on purpose:
# tests/lint/ reads it with `ast` and proves each command fails on a planted violation.
LINTERS = {
    "ruff-format": ("ruff", "format", "--check"),
    "ruff": ("ruff", "check"),
    "mypy": ("mypy",),
    "shellcheck": ("shellcheck", "--external-sources", "--source-path=SCRIPTDIR"),
    "hadolint": ("hadolint", "--config", ".hadolint.yaml"),
    "workflows": ("check-jsonschema", "--builtin-schema", "vendor.github-workflows"),
    "actions": ("check-jsonschema", "--builtin-schema", "vendor.github-actions"),
}
SHELL_DIRS = ("scripts", "images/rootfs", ".ci")
SHELL_SHEBANG = re.compile(rb"^#!\s*(?:/usr)?/bin/(?:env\s+)?(?:ba|da)?sh\b")


def is_shell_script(path: Path) -> bool:
    with path.open("rb") as handle:
        return path.suffix == ".sh" or bool(SHELL_SHEBANG.match(handle.readline(200)))


def lint_targets() -> dict[str, list[str]]:
    """The files each linter checks; mypy reads its packages from pyproject.toml."""
    shell = [
        str(path)
        for folder in SHELL_DIRS
        for path in sorted(Path(folder).rglob("*"))
        if path.is_file() and is_shell_script(path)
    ]
    return {
        "ruff-format": ["."],
        "ruff": ["."],
        "mypy": [],
        "shellcheck": shell,
        "hadolint": sorted(str(p) for p in Path("images").rglob("Dockerfile*")),
        "workflows": sorted(str(p) for p in Path(".github/workflows").glob("*.y*ml")),
        "actions": sorted(str(p) for p in Path(".github/actions").glob("*/action.y*ml")),
    }


@nox.session
def lint(session: nox.Session) -> None:
    """Static checks for Python, shell, Dockerfile and workflows."""
    install(session, "lint", "test")
    for name, files in lint_targets().items():
        if not files and name != "mypy":
            session.error(f"lint: no files found for {name}; fix lint_targets() in noxfile.py")
        session.run(*LINTERS[name], *files)
    # Each linter must fail on a planted violation, with the commands above (tests/lint/).
    session.run("pytest", "tests/lint", env={"DLENV_REQUIRE_LINTERS": "1"})


@nox.session
def unit(session: nox.Session) -> None:
    """Pure unit tests: matrix, plans, tags, host-setup plans, doctor checks. No Docker."""
    install(session, "test")
    session.run("pytest", "-m", "not docker", *session.posargs)


@nox.session
def integration(session: nox.Session) -> None:
    """Tests that need a Docker engine but build no product image."""
    install(session, "test")
    session.run("pytest", "-m", "docker", "--ignore=tests/containers", *session.posargs)


@nox.session
def images(session: nox.Session) -> None:
    """Build (or reuse) images and run the in-image suites on them. Posargs go to pytest."""
    install(session, "test")
    session.env["TESTCONTAINERS_RYUK_DISABLED"] = "true"  # offline: never pull the Ryuk image
    variant = [] if "--variant" in session.posargs else ["--variant", "base"]
    session.run("pytest", "tests/containers", "-v", *variant, *session.posargs)


@nox.session(default=False)
def gpu(session: nox.Session) -> None:
    """The image suites with GPUs required: a GPU test that cannot run is a failure."""
    install(session, "test")
    session.env["TESTCONTAINERS_RYUK_DISABLED"] = "true"
    session.env["DLENV_REQUIRE_GPU"] = "1"  # passed into the containers: GPU tests fail, not skip
    variant = [] if "--variant" in session.posargs else ["--variant", "full"]
    session.run("pytest", "tests/containers", "-v", *variant, *session.posargs)
