"""The pure planner: step selection, script command lines, reading the scripts' output."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dlenv.errors import DlEnvError
from dlenv.host.plan import SetupOptions, parse_step_output, select_steps, step_argv

REPO = Path(__file__).resolve().parents[2]


def test_only_and_skip_keep_setup_order() -> None:
    assert select_steps() == ("preflight", "driver", "toolkit", "engine", "runtime", "verify")
    assert select_steps(only=("verify", "engine")) == ("engine", "verify")
    assert select_steps(skip=("driver", "toolkit", "runtime")) == ("preflight", "engine", "verify")


def test_selecting_nothing_is_an_error() -> None:
    with pytest.raises(DlEnvError, match="leave no step to run"):
        select_steps(only=("engine",), skip=("engine",))


def test_step_argv_passes_flags_only_to_the_steps_that_use_them() -> None:
    options = SetupOptions(rootless=True, user="ada")
    engine = step_argv("engine", options, "docker", dry_run=True, scripts_dir=Path("/s"))
    assert engine == ["bash", "/s/engine.sh", "--dry-run", "--engine", "docker", "--user", "ada"]
    runtime = step_argv("runtime", options, "docker", dry_run=False, scripts_dir=Path("/s"))
    assert runtime == ["bash", "/s/runtime.sh", "--engine", "docker", "--rootless"]


def test_parse_reads_commands_heredocs_and_refusals() -> None:
    output = "\n".join(
        [
            "ok: installed: curl",
            "+ apt-get update",
            "+ install -m 0644 /dev/stdin /etc/apt/sources.list.d/x.list <<'EOF'",
            "deb [signed-by=/k.gpg] https://example.invalid /",
            "EOF",
            "reboot: reboot now",
            "ERROR: podman 3.4.4 is too old",
        ]
    )
    plan = parse_step_output("engine", output, 1)
    assert plan.commands == (
        "apt-get update",
        "install -m 0644 /dev/stdin /etc/apt/sources.list.d/x.list <<'EOF'\n"
        "deb [signed-by=/k.gpg] https://example.invalid /\nEOF",
    )
    assert plan.satisfied == ("installed: curl",)
    assert plan.reboots == ("reboot now",)
    assert plan.error == "podman 3.4.4 is too old"
    assert plan.state == "refused"


def test_a_silent_failure_is_still_a_refusal() -> None:
    plan = parse_step_output("toolkit", "ok: something\n", 2)
    assert plan.state == "refused"
    assert plan.error == "exited 2 without saying why"


def test_invoke_rejects_an_unknown_step_in_one_line() -> None:
    result = subprocess.run(
        ["invoke", "host.setup", "--dry", "--only", "drivers"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: unknown step 'drivers' "
        "(fix: choose from preflight, driver, toolkit, engine, runtime, verify)"
    ]
    assert result.stdout == ""
