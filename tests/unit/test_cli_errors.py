"""Bad input through the real CLI: one line on stderr that names the fix, exit 1, nothing built.

A fake `docker` on PATH records every call, so "nothing built" is checked, not assumed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dlenv import REPO_ROOT

FAKE_DOCKER = """#!/bin/sh
echo "$*" >> "{log}"
case "$*" in
  "version --format {{{{.Server.Version}}}}") [ -n "$FAKE_NO_DAEMON" ] && exit 1; echo 20.10.24 ;;
  "version --format {{{{.Client.Version}}}}") echo 28.2.2 ;;
  "buildx version") echo "docker: 'buildx' is not a docker command." >&2; exit 1 ;;
  *) exit 0 ;;
esac
"""


@pytest.fixture
def fake_docker(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "docker-calls.log"
    log.touch()
    docker = bin_dir / "docker"
    docker.write_text(FAKE_DOCKER.format(log=log))
    docker.chmod(0o755)
    return log


def invoke(args: list[str], fake_docker: Path, **env: str) -> subprocess.CompletedProcess[str]:
    path = f"{fake_docker.parent / 'bin'}{os.pathsep}{Path(sys.executable).parent}"
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "PATH": path, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "(fix: " in lines[0]
    for fragment in fragments:
        assert fragment in lines[0]


def assert_nothing_built(log: Path) -> None:
    calls = log.read_text().splitlines()
    assert not [c for c in calls if c.startswith(("build ", "buildx build ", "image build "))], (
        calls
    )


def test_unknown_variant(fake_docker: Path) -> None:
    result = invoke(["image.build", "--variant", "gpu"], fake_docker)
    assert_one_line_error(result, "unknown variant 'gpu'", "base, rapids, full")
    assert_nothing_built(fake_docker)


def test_malformed_matrix_names_file_and_line(fake_docker: Path, tmp_path: Path) -> None:
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text("cuda_lines:\n  '12.8': {base_image: x, python: '3.12'}\nvariants: [base\n")
    result = invoke(["image.build", "--variant", "base"], fake_docker, DLENV_MATRIX=str(matrix))
    assert_one_line_error(result, f"{matrix}:", "invalid YAML")
    assert_nothing_built(fake_docker)


def test_missing_daemon(fake_docker: Path) -> None:
    result = invoke(["image.build", "--variant", "base"], fake_docker, FAKE_NO_DAEMON="1")
    assert_one_line_error(result, "Docker daemon is not reachable", "systemctl start docker")
    assert_nothing_built(fake_docker)


def test_no_buildkit_builder(fake_docker: Path) -> None:
    result = invoke(["image.build", "--variant", "base"], fake_docker)
    assert_one_line_error(result, "no BuildKit-capable builder", "docker-buildx-plugin")
    assert_nothing_built(fake_docker)


def test_dry_run_prints_the_plan_and_builds_nothing(fake_docker: Path) -> None:
    result = invoke(
        ["image.build", "--variant", "rapids", "--base-image", "b", "--python", "3.11", "--dry"],
        fake_docker,
    )
    assert result.returncode == 0, result.stderr
    assert "--target rapids" in result.stdout and "LOCK_DIR=cuda12.8-py3.11" in result.stdout
    assert_nothing_built(fake_docker)
