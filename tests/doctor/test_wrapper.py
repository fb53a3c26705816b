"""dlenv.host.doctor: the Python side only builds the script's command line and reads its
--json report; the checks themselves are the script's (one code path)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dlenv.errors import DlEnvError
from dlenv.host.doctor import SCRIPT, diagnose, doctor_argv, parse_report

from .fakehost import docker_info, healthy_gpu_host, set_docker


def test_argv_passes_the_flags_through() -> None:
    assert doctor_argv() == [str(SCRIPT)]
    assert doctor_argv("podman", json=True, probe=True) == [
        str(SCRIPT),
        "--engine",
        "podman",
        "--json",
        "--probe",
    ]


def test_unknown_engine_is_refused_with_the_fix() -> None:
    with pytest.raises(
        DlEnvError, match=r"unknown engine 'lxc'.*use --engine docker or --engine podman"
    ):
        doctor_argv("lxc")


def report_json(ok: bool, *statuses: str) -> str:
    checks = [
        {"name": f"c{i}", "status": s, "detail": "d", "fix": ""} for i, s in enumerate(statuses)
    ]
    return json.dumps({"ok": ok, "engine": "docker", "checks": checks})


def test_parse_report_reads_checks() -> None:
    report = parse_report(report_json(False, "ok", "fail", "skip"))

    assert report.ok is False
    assert [c.name for c in report.failures()] == ["c1"]
    assert report.check("c2").status == "skip"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dl-env host doctor (engine: docker)\n", "no valid JSON report"),
        ('{"ok": true}', "no valid JSON report"),
        (report_json(True, "ok", "fail"), "'ok' disagrees"),
        (report_json(True, "ok", "maybe"), "unknown statuses"),
    ],
)
def test_parse_report_never_passes_a_malformed_report(text: str, message: str) -> None:
    with pytest.raises(DlEnvError, match=message):
        parse_report(text)


def test_diagnose_runs_the_script_and_returns_its_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = healthy_gpu_host(tmp_path)
    set_docker(host, docker_info(nvidia_runtime=False))
    host.write("/etc/docker/daemon.json", "{}")
    for name, value in host.env().items():
        monkeypatch.setenv(name, value)

    report = diagnose("docker")

    assert report.ok is False
    assert [c.name for c in report.failures()] == ["docker-runtime"]
    assert "nvidia-ctk runtime configure" in report.check("docker-runtime").fix
