"""`host.doctor`: run scripts/host/doctor.sh (the one code path) and read its --json report.

The script is standalone so hosts without Python packages can run it; this module only builds
its command line, runs it, and parses the report for callers such as `host.setup`'s verify.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from dlenv.errors import DlEnvError

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "host" / "doctor.sh"
ENGINES = ("docker", "podman")
STATUSES = ("ok", "warn", "fail", "skip")


@dataclass(frozen=True)
class Check:
    """One doctor check: what it looked at, its status, and the fix for a warn or fail."""

    name: str
    status: str
    detail: str
    fix: str


@dataclass(frozen=True)
class Report:
    """The doctor's verdict: ``ok`` is true when no check failed."""

    ok: bool
    engine: str
    checks: tuple[Check, ...]

    def check(self, name: str) -> Check:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)

    def failures(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if check.status == "fail")


def doctor_argv(engine: str | None = None, *, json: bool = False, probe: bool = False) -> list[str]:
    """The script's command line; an unknown engine is refused before anything runs."""
    if engine is not None and engine not in ENGINES:
        raise DlEnvError(
            f"unknown engine '{engine}'", f"use --engine {' or --engine '.join(ENGINES)}"
        )
    argv = [str(SCRIPT)]
    if engine is not None:
        argv += ["--engine", engine]
    if json:
        argv.append("--json")
    if probe:
        argv.append("--probe")
    return argv


def parse_report(text: str) -> Report:
    """Parse the script's --json output; a malformed report is an error, never a pass."""
    try:
        data = json.loads(text)
        checks = tuple(
            Check(name=c["name"], status=c["status"], detail=c["detail"], fix=c["fix"])
            for c in data["checks"]
        )
        report = Report(ok=bool(data["ok"]), engine=str(data["engine"]), checks=checks)
    except (ValueError, KeyError, TypeError) as error:
        raise DlEnvError(
            f"the doctor printed no valid JSON report ({error})",
            f"run {SCRIPT} --json and read its output",
        ) from error
    unknown = sorted({c.status for c in checks} - set(STATUSES))
    if unknown:
        raise DlEnvError(f"the doctor reported unknown statuses {unknown}", "update dl-env")
    if report.ok != (not report.failures()):
        raise DlEnvError("the doctor's 'ok' disagrees with its checks", "report this bug")
    return report


def run_doctor(engine: str | None = None, *, json: bool = False, probe: bool = False) -> int:
    """Run the doctor with its output going straight to the terminal; return its exit code."""
    return subprocess.run(doctor_argv(engine, json=json, probe=probe), check=False).returncode


def diagnose(engine: str | None = None, *, probe: bool = False) -> Report:
    """Run the doctor and return its parsed report (for `host.setup`'s verify step)."""
    completed = subprocess.run(
        doctor_argv(engine, json=True, probe=probe), capture_output=True, text=True, check=False
    )
    if completed.returncode not in (0, 1):
        raise DlEnvError(
            f"the doctor exited with {completed.returncode}: {completed.stderr.strip()}",
            f"run {SCRIPT} --help",
        )
    return parse_report(completed.stdout)
