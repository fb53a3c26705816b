"""Find a builder that honours BuildKit features (secrets, cache mounts), or say what to install.

Never falls back to the legacy builder: it ignores `--secret` and fails on `RUN --mount`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dlenv.errors import DlEnvError

# (exit code, stdout) of a command; injectable so detection is testable without Docker.
Probe = Callable[[Sequence[str]], tuple[int, str]]

INSTALL_BUILDX = (
    "install the buildx plugin (Docker CE repo: apt-get/dnf install docker-buildx-plugin; "
    "Debian/Ubuntu packages: apt-get install docker-buildx), or put a docker CLI older than "
    "23.0 first on PATH (it builds with DOCKER_BUILDKIT=1)"
)


@dataclass(frozen=True)
class Builder:
    """How to invoke a BuildKit build: `docker buildx build` or `DOCKER_BUILDKIT=1 docker build`."""

    cli: str
    buildx: bool
    engine_version: str = ""
    env: dict[str, str] = field(default_factory=dict)

    @property
    def argv(self) -> tuple[str, ...]:
        return (self.cli, "buildx", "build", "--load") if self.buildx else (self.cli, "build")

    @property
    def name(self) -> str:
        return f"{self.cli} buildx" if self.buildx else f"DOCKER_BUILDKIT=1 {self.cli} build"


def run_probe(argv: Sequence[str]) -> tuple[int, str]:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return 127, str(error)
    return done.returncode, done.stdout.strip() or done.stderr.strip()


def docker_clis(path: str | None = None) -> list[str]:
    """Every distinct docker CLI on PATH, in PATH order."""
    found: list[str] = []
    seen: set[Path] = set()
    for directory in (path if path is not None else os.environ.get("PATH", "")).split(os.pathsep):
        candidate = shutil.which("docker", path=directory) if directory else None
        if candidate is None:
            continue
        real = Path(candidate).resolve()
        if real not in seen:
            seen.add(real)
            found.append(candidate)
    return found


def major(version: str) -> int:
    head = version.strip().lstrip("v").split(".", 1)[0]
    return int(head) if head.isdigit() else 0


def detect_builder(clis: Sequence[str] | None = None, probe: Probe = run_probe) -> Builder:
    """The first docker CLI that can do a BuildKit build against a reachable daemon."""
    candidates = list(clis) if clis is not None else docker_clis()
    if not candidates:
        raise DlEnvError(
            "no docker CLI found on PATH", "install Docker: `invoke host.setup --only engine`"
        )
    code, engine = probe([candidates[0], "version", "--format", "{{.Server.Version}}"])
    if code != 0 or not engine:
        raise DlEnvError(
            "the Docker daemon is not reachable",
            "start it (`sudo systemctl start docker`, or `dockerd &`) or set DOCKER_HOST",
        )
    rejected = []
    for cli in candidates:
        if probe([cli, "buildx", "version"])[0] == 0:
            return Builder(cli=cli, buildx=True, engine_version=engine)
        code, client = probe([cli, "version", "--format", "{{.Client.Version}}"])
        if code == 0 and 0 < major(client) < 23:
            # CLIs before 23.0 drive the engine's own BuildKit when asked to.
            return Builder(
                cli=cli, buildx=False, engine_version=engine, env={"DOCKER_BUILDKIT": "1"}
            )
        rejected.append(f"{cli} ({client or 'unknown version'}, no buildx)")
    raise DlEnvError(f"no BuildKit-capable builder: {'; '.join(rejected)}", INSTALL_BUILDX)
