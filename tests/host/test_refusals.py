"""Hosts the scripts must refuse: one clear line, exit 1, nothing changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import FakeHost

# case → (os-release, make_host options, step, script args, expected error text)
REFUSALS: dict[str, tuple[str, dict[str, Any], str, tuple[str, ...], str]] = {
    "unsupported-distro": (
        "arch",
        {"family": "apt"},
        "preflight",
        (),
        "unsupported distribution 'arch'",
    ),
    "unsupported-version": (
        "ubuntu-20.04",
        {"family": "apt"},
        "preflight",
        (),
        "unsupported ubuntu version '20.04'",
    ),
    "unsupported-arch": (
        "ubuntu-24.04",
        {"family": "apt", "state": {"arch": "aarch64"}},
        "engine",
        (),
        "unsupported architecture 'aarch64'",
    ),
    "not-root-no-sudo": (
        "debian-12",
        {"family": "apt", "state": {"uid": 1000}},
        "engine",
        ("--engine", "podman"),
        "this step needs root and sudo is not installed",
    ),
    "docker-ce-on-opensuse": (
        "opensuse-leap-15.6",
        {"family": "zypper"},
        "engine",
        ("--engine", "docker"),
        "Docker CE publishes no packages for openSUSE/SLES on x86_64: use --engine podman",
    ),
    "podman-too-old-ubuntu-22.04": (
        "ubuntu-22.04",
        {"family": "apt"},
        "preflight",
        ("--engine", "podman"),
        "podman 3.4.4 (Ubuntu 22.04's package) is too old for CDI GPU access (needs >= 4.1.0)",
    ),
    "podman-installed-too-old": (
        "rocky-9",
        {"family": "dnf4", "packages": {"podman": "3.4.2-1"}, "state": {"podman_version": "3.4.2"}},
        "runtime",
        ("--engine", "podman"),
        "podman 3.4.2 is too old for CDI GPU access",
    ),
    "driver-inside-wsl": (
        "ubuntu-24.04",
        {"family": "apt", "wsl": True, "gpus": ()},
        "driver",
        (),
        "refusing to install a Linux NVIDIA driver inside WSL",
    ),
    "driver-with-pending-reboot": (
        "debian-12",
        {"family": "apt"},
        "driver",
        (),
        "a reboot is pending (/var/run/reboot-required exists (linux-image-6.1.0-27-amd64))",
    ),
    "toolkit-newer-than-pin": (
        "ubuntu-24.04",
        {"family": "apt", "packages": {"nvidia-container-toolkit": "1.19.0-1"}},
        "toolkit",
        (),
        "nvidia-container-toolkit 1.19.0-1 is newer than the pinned 1.18.0-1",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_script_refuses_with_one_line(case: str, fake_host: Callable[..., FakeHost]) -> None:
    os_release, options, step, args, expected = REFUSALS[case]
    host = fake_host(os_release, **options)
    if case == "driver-with-pending-reboot":
        host.write("/var/run/reboot-required")
        host.write("/var/run/reboot-required.pkgs", "linux-image-6.1.0-27-amd64\n")
    before = host.state
    for dry in (True, False):
        result = host.script(step, *args, *(["--dry-run"] if dry else []))
        assert result.returncode == 1, result.stdout
        errors = [line for line in result.stdout.splitlines() if line.startswith("ERROR: ")]
        assert len(errors) == 1, result.stdout
        assert expected in errors[0]
        assert not [line for line in result.stdout.splitlines() if line.startswith("+ ")]
    assert host.state == before


def test_setup_plan_stops_at_a_refusal_and_names_it(fake_host: Callable[..., FakeHost]) -> None:
    host = fake_host("opensuse-leap-15.6", family="zypper")
    plan = host.plan(engine="docker")
    refusal = plan.refusal
    assert refusal is not None and refusal.step == "preflight"
    assert "use --engine podman" in (refusal.error or "")
    assert plan.not_planned == ("driver", "toolkit", "engine", "runtime", "verify")


def test_wrong_docker_key_fingerprint_is_never_trusted(fake_host: Callable[..., FakeHost]) -> None:
    host = fake_host(
        "debian-12",
        family="apt",
        state={"docker_key_fingerprint": "0123456789ABCDEF" * 2 + "01234567"},
    )
    result = host.script("engine", "--engine", "docker")
    assert result.returncode == 1
    assert "does not carry fingerprint 060A61C51B558A7F742B77AAC52FEB6B621E9F35" in result.stdout
    assert not (host.root / "etc/apt/keyrings/docker.asc").exists()
    assert not (host.root / "etc/apt/keyrings/docker.asc.download").exists()
    assert not (host.root / "etc/apt/sources.list.d/docker.list").exists()
    assert "docker-ce" not in host.state["packages"]


def test_unknown_step_and_engine_are_refused_before_running_anything(
    fake_host: Callable[..., FakeHost],
) -> None:
    from dlenv.errors import DlEnvError

    host = fake_host("debian-12", family="apt")
    with pytest.raises(DlEnvError, match=r"unknown step 'drivers'.*choose from preflight"):
        host.plan(only=("drivers",))
    with pytest.raises(DlEnvError, match="unknown engine 'lxc'"):
        host.plan(engine="lxc")
    assert host.calls() == []
