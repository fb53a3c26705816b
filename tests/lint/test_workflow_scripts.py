"""The bash in workflow `run:` steps passes shellcheck, as scripts/ does.

actionlint does this upstream but cannot be installed offline (its PyPI package downloads the
binary at build time), so the steps are extracted and checked with the lint gate's shellcheck.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml
from lint_gate import REPO, run_linter

# What GitHub runs for `shell: bash` (the default on Linux): bash --noprofile --norc -eo pipefail
PROLOGUE = "#!/usr/bin/env bash\nset -eo pipefail\n"


def bash_steps(document: str, label: str) -> dict[str, str]:
    """Every bash `run:` script of a workflow or composite action, keyed by where it is."""
    data: dict[Any, Any] = yaml.safe_load(document)
    jobs = data.get("jobs") or {"action": data.get("runs", {})}
    scripts = {}
    for job_name, job in jobs.items():
        shell = job.get("defaults", {}).get("run", {}).get("shell", "bash")
        for number, step in enumerate(job.get("steps", []), start=1):
            if "run" in step and step.get("shell", shell) == "bash":
                scripts[f"{label}-{job_name}-step{number}.sh"] = PROLOGUE + step["run"]
    return scripts


def shellcheck(scripts: dict[str, str], folder: Path) -> subprocess.CompletedProcess[str]:
    for name, script in scripts.items():
        (folder / name).write_text(script)
    return run_linter("shellcheck", sorted(scripts), folder)


def repo_steps() -> dict[str, str]:
    github = REPO / ".github"
    files = [*github.glob("workflows/*.yml"), *github.glob("actions/*/action.yml")]
    scripts: dict[str, str] = {}
    for path in sorted(files):
        label = path.stem if path.parent.name == "workflows" else path.parent.name
        scripts.update(bash_steps(path.read_text(), label))
    return scripts


def test_workflow_steps_pass_shellcheck(tmp_path: Path) -> None:
    scripts = repo_steps()
    assert len(scripts) >= 10, "fewer run steps than the workflows have: extraction broke"

    result = shellcheck(scripts, tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr


def test_a_planted_step_violation_is_caught(tmp_path: Path) -> None:
    workflow = "on: push\njobs:\n  job:\n    steps:\n      - run: echo $1\n"

    result = shellcheck(bash_steps(workflow, "planted"), tmp_path)

    assert result.returncode != 0
    assert "SC2086" in result.stdout
