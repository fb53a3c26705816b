"""Test layers as nox sessions. `nox` with no arguments runs exactly what CI runs.

    nox -s lint                      # ruff, mypy, shellcheck, hadolint, workflow schemas
    nox -s unit                      # pure tests, no Docker needed
    nox -s integration               # tests that need a Docker engine (no image builds)
    nox -s images -- --variant full  # build (or reuse) images, run the in-image suites
    nox -s gpu -- --variant full     # same, GPUs required: fails if none is usable
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True

PYPROJECT = nox.project.load_toml("pyproject.toml")


def install(session: nox.Session, *groups: str) -> None:
    session.install("-e", ".")
    for group in groups:
        session.install(*nox.project.dependency_groups(PYPROJECT, group))


@nox.session
def lint(session: nox.Session) -> None:
    """Static checks for Python, shell, Dockerfile and workflows."""
    install(session, "lint")
    session.run("ruff", "format", "--check", ".")
    session.run("ruff", "check", ".")
    session.run("mypy")


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
    session.run("pytest", "tests/containers", *(session.posargs or ["--variant", "base"]))


@nox.session(default=False)
def gpu(session: nox.Session) -> None:
    """The image suites with GPUs required: a GPU test that cannot run is a failure."""
    install(session, "test")
    session.env["DLENV_REQUIRE_GPU"] = "1"
    session.run("pytest", "tests/containers", *(session.posargs or ["--variant", "full"]))
