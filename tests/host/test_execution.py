"""`host.setup` for real on a fake host whose package managers, systemctl and nvidia-ctk are
stubs that keep state: a second run changes nothing, a failure stops at its step, a re-run
resumes there."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from conftest import FakeHost

from dlenv.errors import DlEnvError
from dlenv.host.plan import SetupOptions
from dlenv.host.setup_run import SetupPlan, execute

DRIVER_VERSION = (
    "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  570.86.15  Release Build  "
    "(dvs-builder@U16-I3-B03-4-3)  Thu Jan 23 2025\n"
)
MUTATING = ("install", "remove", "enable", "restart", "--import", "configure", "addrepo", "mark")


def apply(host: FakeHost, **options: Any) -> tuple[SetupPlan, list[str], str]:
    """Plan, then run the plan like `invoke host.setup --yes` does."""
    plan = host.plan(**options)
    assert plan.refusal is None, plan.refusal
    out = io.StringIO()
    ran = execute(plan, SetupOptions(**options), env=host.env(), out=out)
    return plan, ran, out.getvalue()


def reboot(host: FakeHost) -> None:
    """What a reboot does to the fake host: the driver loads, a queued MOK key is enrolled."""
    host.write("/proc/driver/nvidia/version", DRIVER_VERSION)
    state = host.state
    host.update(mok_enrolled=state.get("mok_pending", []), mok_pending=[])
    host.add_tools("nvidia-smi")


def changes(calls: list[str]) -> list[str]:
    return [call for call in calls if any(word in call.split() for word in MUTATING)]


@pytest.fixture
def doctor(tmp_path: Any) -> Any:
    """A stand-in for scripts/host/doctor.sh (owned elsewhere) that records its runs."""
    script = tmp_path / "doctor.sh"
    script.write_text('#!/bin/sh\necho "doctor $*" >> "$FAKEHOST_LOG"\nexit "${DOCTOR_EXIT:-0}"\n')
    script.chmod(0o755)
    return script


def with_doctor(host: FakeHost, doctor: Any, exit_code: int = 0) -> FakeHost:
    env = host.env

    def patched() -> dict[str, str]:
        return {**env(), "DLENV_DOCTOR": str(doctor), "DOCTOR_EXIT": str(exit_code)}

    host.env = patched  # type: ignore[method-assign]
    return host


def test_debian_docker_setup_stops_for_reboot_then_finishes_then_is_a_no_op(
    fake_host: Callable[..., FakeHost], doctor: Any
) -> None:
    host = with_doctor(fake_host("debian-12", family="apt", secure_boot="enabled"), doctor)

    _, ran, out = apply(host, engine="docker")
    assert ran == ["driver"], out
    assert "reboot now, then run `invoke host.setup` again" in out
    assert host.state["packages"]["nvidia-open"]
    assert host.state["mok_pending"] == ["mok.pub"]
    assert (host.root / "etc/apt/sources.list.d/cuda-debian12.list").exists()

    reboot(host)
    plan, ran, out = apply(host, engine="docker")
    assert [step.state for step in plan.steps] == [
        "satisfied",
        "satisfied",
        "to do",
        "to do",
        "to do",
        "checks",
    ]
    assert ran == ["toolkit", "engine", "runtime", "verify"], out
    packages = host.state["packages"]
    assert {packages[p] for p in ("nvidia-container-toolkit", "libnvidia-container1")} == {
        "1.18.0-1"
    }
    assert {"docker-ce", "docker-buildx-plugin", "docker-compose-plugin"} <= set(packages)
    assert "docker.service" in host.state["services"]["enabled"]
    assert host.state["dockerd_nvidia"] is True
    assert "doctor --engine docker" in host.calls()
    assert "ok: host verified" in out

    before = len(host.calls())
    plan, ran, out = apply(host, engine="docker")
    assert not [step for step in plan.steps if step.commands], out
    assert ran == ["verify"]
    assert changes(host.calls()[before:]) == []


def test_failure_in_a_step_keeps_earlier_steps_and_rerun_resumes_there(
    fake_host: Callable[..., FakeHost], doctor: Any
) -> None:
    host = with_doctor(fake_host("fedora-42", family="dnf5"), doctor)
    reboot(host)
    host.update(fail=["dnf install -y docker-ce"])

    with pytest.raises(DlEnvError) as failure:
        apply(host, engine="docker")
    message = str(failure.value)
    assert message.startswith("step engine failed at `dnf install -y docker-ce docker-ce-cli")
    assert "resumes at engine" in message
    assert host.state["packages"]["nvidia-container-toolkit"] == "1.18.0-1"
    assert "docker-ce" not in host.state["packages"]
    # The repository was set up the dnf5 way before the failure.
    assert (host.root / "etc/yum.repos.d/docker-ce.repo").exists()

    host.update(fail=[])
    plan, ran, _ = apply(host, engine="docker")
    assert [(s.step, s.state) for s in plan.steps][:4] == [
        ("preflight", "satisfied"),
        ("driver", "satisfied"),
        ("toolkit", "satisfied"),
        ("engine", "to do"),
    ]
    assert ran == ["engine", "runtime", "verify"]
    assert "docker-ce" in host.state["packages"]


def test_podman_cdi_setup_on_ubuntu_then_second_run_changes_nothing(
    fake_host: Callable[..., FakeHost], doctor: Any
) -> None:
    host = with_doctor(fake_host("ubuntu-24.04", family="apt"), doctor)
    reboot(host)
    host.write("/usr/lib/systemd/system/nvidia-cdi-refresh.path", "[Path]\n")
    host.write("/usr/share/containers/oci/hooks.d/oci-nvidia-hook.json", "{}")
    _, ran, out = apply(host, engine="podman")
    assert ran == ["toolkit", "engine", "runtime", "verify"], out
    assert "nvidia-cdi-refresh.path" in host.state["services"]["enabled"]
    # The legacy OCI hook would inject the GPU a second time next to CDI.
    assert not (host.root / "usr/share/containers/oci/hooks.d/oci-nvidia-hook.json").exists()
    host.write("/var/run/cdi/nvidia.yaml", "cdiVersion: 0.5.0\n")

    before = len(host.calls())
    plan, _, _ = apply(host, engine="podman")
    assert all(not step.commands for step in plan.steps)
    assert changes(host.calls()[before:]) == []


def test_dnf4_host_uses_dnf4_syntax_and_runs_clean(
    fake_host: Callable[..., FakeHost], doctor: Any
) -> None:
    # The stub dnf rejects dnf5-only syntax on a dnf4 host (and the reverse), so a wrong
    # `mark`/`config-manager` form fails this run.
    host = with_doctor(fake_host("fedora-40", family="dnf4", secure_boot="enabled"), doctor)
    _, ran, out = apply(host, engine="docker")
    assert ran == ["driver"], out
    assert "dnf mark install akmod-nvidia" in host.calls()
    reboot(host)
    _, ran, out = apply(host, engine="docker")
    assert ran == ["toolkit", "engine", "runtime", "verify"], out
    assert any(c.startswith("dnf config-manager --add-repo") for c in host.calls())


def test_failing_doctor_fails_verify(fake_host: Callable[..., FakeHost], doctor: Any) -> None:
    host = with_doctor(fake_host("debian-12", family="apt", gpus=()), doctor, exit_code=1)
    host.add_tools("docker")
    with pytest.raises(DlEnvError, match=r"step verify failed.*1 check\(s\) failed: doctor"):
        apply(host, engine="docker", only=("verify",))
