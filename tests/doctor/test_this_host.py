"""The doctor on this machine, through `invoke host.doctor`: a truthful report. On a machine
without an NVIDIA GPU (CI, this dev box) the GPU checks say so and Docker's checks pass."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from dlenv.host.doctor import diagnose

from .fakehost import REPO

pytestmark = pytest.mark.docker

GPU_CHECKS = (
    "nouveau",
    "secure-boot",
    "driver-module",
    "driver-userspace",
    "driver-versions",
    "cuda-support",
    "device-nodes",
    "cdi-spec",
    "daemon-reload",
)


def has_nvidia_gpu() -> bool:
    for device in Path("/sys/bus/pci/devices").glob("*"):
        vendor = (device / "vendor").read_text().strip()
        device_class = (device / "class").read_text().strip()
        if vendor == "0x10de" and device_class.startswith("0x03"):
            return True
    return False


@pytest.fixture(scope="module")
def report() -> dict[str, object]:
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        pytest.skip("no Docker engine answers `docker info`")
    completed = subprocess.run(
        ["invoke", "host.doctor", "--engine", "docker", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    data: dict[str, object] = json.loads(completed.stdout)
    assert completed.returncode == (0 if data["ok"] else 1), completed.stderr
    return data


def statuses(report: dict[str, object]) -> dict[str, str]:
    checks = report["checks"]
    assert isinstance(checks, list)
    return {check["name"]: check["status"] for check in checks}


def test_docker_checks_pass(report: dict[str, object]) -> None:
    status = statuses(report)

    assert status["engine"] == "ok"
    assert status["docker-context"] == "ok"
    assert status["platform"] in ("ok", "warn")


def test_without_a_gpu_the_gpu_checks_skip_and_the_doctor_exits_zero(
    report: dict[str, object],
) -> None:
    if has_nvidia_gpu():
        pytest.skip("this machine has an NVIDIA GPU")
    status = statuses(report)
    checks = {c["name"]: c for c in report["checks"]}  # type: ignore[attr-defined]

    assert report["ok"] is True
    assert status["gpu"] == "skip"
    assert "no NVIDIA GPU" in checks["gpu"]["detail"]
    assert {name: status[name] for name in GPU_CHECKS} == dict.fromkeys(GPU_CHECKS, "skip")
    assert "fail" not in status.values()


def test_python_wrapper_reads_the_same_report(report: dict[str, object]) -> None:
    parsed = diagnose("docker")

    assert parsed.ok is report["ok"]
    assert [c.name for c in parsed.checks] == list(statuses(report))
    assert parsed.check("engine").status == "ok"


def test_text_report_is_one_line_per_check_with_a_verdict() -> None:
    completed = subprocess.run(
        ["invoke", "host.doctor"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = completed.stdout.splitlines()

    assert lines[0] == "dl-env host doctor (engine: docker)"
    assert any(line.startswith("ok    engine            Docker ") for line in lines)
    summary = lines[-1]
    if not has_nvidia_gpu():
        assert completed.returncode == 0
        assert summary.endswith(
            "no failures, but no NVIDIA GPU: this host cannot run GPU containers"
        )
