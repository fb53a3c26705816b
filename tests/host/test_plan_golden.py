"""The plan `invoke host.setup` prints, per distro, from the real scripts' dry runs on a fake
host: the exact command sequence is compared with tests/host/golden/<case>.txt.

Regenerate after an intended change: DLENV_UPDATE_GOLDEN=1 pytest tests/host/test_plan_golden.py
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import ADA_GPU, H100_GPU, PASCAL_GPU, FakeHost

from dlenv.host.plan import render_plan

GOLDEN = Path(__file__).resolve().parent / "golden"

# case name → (os-release fixture, make_host options, setup options)
CASES: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "ubuntu-22.04-docker": ("ubuntu-22.04", {"family": "apt"}, {"engine": "docker"}),
    "ubuntu-24.04-podman-secureboot": (
        "ubuntu-24.04",
        {"family": "apt", "secure_boot": "enabled"},
        {"engine": "podman"},
    ),
    "debian-12-docker-nouveau": (
        "debian-12",
        {"family": "apt", "nouveau": True, "gpus": (H100_GPU,)},
        {"engine": "docker", "user": "ada"},
    ),
    "debian-12-pascal-proprietary": (
        "debian-12",
        {"family": "apt", "gpus": (PASCAL_GPU,)},
        {"engine": "podman"},
    ),
    "debian-12-no-gpu-docker-io": (
        "debian-12",
        {
            "family": "apt",
            "gpus": (),
            "packages": {"docker.io": "20.10.24+dfsg1-1", "runc": "1.1.5"},
        },
        {},
    ),
    "fedora-40-dnf4-secureboot": (
        "fedora-40",
        {"family": "dnf4", "secure_boot": "enabled"},
        {"engine": "docker"},
    ),
    "fedora-42-dnf5-secureboot": (
        "fedora-42",
        {"family": "dnf5", "secure_boot": "enabled"},
        {"engine": "docker"},
    ),
    "fedora-42-dnf5-podman": ("fedora-42", {"family": "dnf5"}, {"engine": "podman"}),
    "rocky-9-docker-secureboot": (
        "rocky-9",
        {"family": "dnf4", "secure_boot": "enabled", "state": {"selinux": "Enforcing"}},
        {"engine": "docker"},
    ),
    "almalinux-9-podman": ("almalinux-9", {"family": "dnf4"}, {"engine": "podman"}),
    "opensuse-leap-15.6-podman": ("opensuse-leap-15.6", {"family": "zypper"}, {}),
    "linuxmint-21.3-docker": ("linuxmint-21.3", {"family": "apt"}, {"engine": "docker"}),
    "pop-24.04-podman": ("pop-24.04", {"family": "apt", "secure_boot": None}, {"engine": "podman"}),
    "ubuntu-24.04-wsl-podman": (
        "ubuntu-24.04",
        {"family": "apt", "wsl": True, "gpus": (), "secure_boot": None, "systemd": False},
        {"engine": "podman", "skip": ("driver",)},
    ),
    "ubuntu-24.04-only-engine": ("ubuntu-24.04", {"family": "apt"}, {"only": ("engine",)}),
}


def rendered(host: FakeHost, setup: dict[str, Any]) -> str:
    plan = host.plan(**setup)
    return render_plan(plan.steps, plan.not_planned).replace(str(host.base), "<tmp>")


@pytest.mark.parametrize("case", sorted(CASES))
def test_plan_matches_golden(case: str, fake_host: Callable[..., FakeHost]) -> None:
    os_release, host_options, setup = CASES[case]
    host = fake_host(os_release, **host_options)
    text = rendered(host, setup)
    golden = GOLDEN / f"{case}.txt"
    if os.environ.get("DLENV_UPDATE_GOLDEN") == "1":
        golden.write_text(text)
    assert golden.exists(), f"no golden file {golden.name}: run with DLENV_UPDATE_GOLDEN=1"
    assert text == golden.read_text()
    # A plan never changes the host: only read-only commands ran.
    changing = ("install", "remove", "enable", "restart", "--import", "configure", "addrepo")
    assert not [call for call in host.calls() if any(word in call.split() for word in changing)]


def test_ada_gpu_fixture_is_turing_or_newer() -> None:
    assert "[10de:2684]" in ADA_GPU
