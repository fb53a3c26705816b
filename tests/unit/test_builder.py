"""Builder detection: buildx, a pre-23 CLI with DOCKER_BUILDKIT=1, or a clear refusal."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from dlenv.builder import detect_builder
from dlenv.errors import DlEnvError


def fake_docker(
    *, daemon: bool = True, buildx: set[str] = frozenset(), clients: dict[str, str] | None = None
):  # type: ignore[no-untyped-def]
    calls: list[list[str]] = []
    clients = clients or {}

    def probe(argv: Sequence[str]) -> tuple[int, str]:
        calls.append(list(argv))
        cli, *rest = argv
        if rest[:2] == ["version", "--format"] and "Server" in rest[2]:
            return (0, "20.10.24") if daemon else (1, "Cannot connect to the Docker daemon")
        if rest == ["buildx", "version"]:
            return (0, "github.com/docker/buildx v0.17") if cli in buildx else (1, "not a command")
        if rest[:2] == ["version", "--format"]:
            return 0, clients.get(cli, "28.2.2")
        raise AssertionError(argv)

    return probe, calls


def test_buildx_is_preferred() -> None:
    probe, _ = fake_docker(buildx={"/usr/local/bin/docker"})
    builder = detect_builder(["/usr/local/bin/docker", "/usr/bin/docker"], probe)
    assert builder.buildx and builder.argv == ("/usr/local/bin/docker", "buildx", "build", "--load")
    assert builder.env == {}


def test_cli_28_without_buildx_is_skipped_for_a_pre_23_cli_with_buildkit_env() -> None:
    # The machine this project is developed on: CLI 28 without buildx shadows CLI 20.10.
    probe, _ = fake_docker(
        clients={"/usr/local/bin/docker": "28.2.2", "/usr/bin/docker": "20.10.24+dfsg1"}
    )
    builder = detect_builder(["/usr/local/bin/docker", "/usr/bin/docker"], probe)
    assert not builder.buildx
    assert builder.argv == ("/usr/bin/docker", "build")
    assert builder.env == {"DOCKER_BUILDKIT": "1"}


def test_no_buildkit_builder_names_what_to_install() -> None:
    probe, _ = fake_docker(clients={"/usr/local/bin/docker": "28.2.2"})
    with pytest.raises(DlEnvError) as caught:
        detect_builder(["/usr/local/bin/docker"], probe)
    message = str(caught.value)
    assert "no BuildKit-capable builder" in message and "/usr/local/bin/docker (28.2.2" in message
    assert "docker-buildx-plugin" in message


def test_missing_daemon_is_reported_before_anything_else() -> None:
    probe, calls = fake_docker(daemon=False, buildx={"/usr/bin/docker"})
    with pytest.raises(DlEnvError, match=r"daemon is not reachable.*systemctl start docker"):
        detect_builder(["/usr/bin/docker"], probe)
    assert len(calls) == 1


def test_no_docker_cli_at_all() -> None:
    probe, _ = fake_docker()
    with pytest.raises(DlEnvError, match=r"no docker CLI found"):
        detect_builder([], probe)
