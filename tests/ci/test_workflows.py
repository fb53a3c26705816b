"""The GitHub workflows: fork code never reaches the GPU runner, and jobs come from the matrix.

Schema validity is checked by `nox -s lint` (check-jsonschema); these tests pin behaviour the
schema cannot see. Guards are evaluated, not string-matched, with a small evaluator for the
subset of the GitHub expression language the workflows use.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from dlenv import REPO_ROOT
from dlenv.ci_matrix import ENTRY_KEYS, ci_entries
from dlenv.matrix import load_matrix

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
PULL_REQUEST_EVENTS = {"pull_request", "pull_request_target"}
GPU_LABELS = ["self-hosted", "linux", "x64", "gpu"]


def load(name: str) -> dict[str, Any]:
    data: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    if True in data:  # YAML 1.1 reads the key `on` as the boolean true
        data["on"] = data.pop(True)
    return data


def triggers(workflow: dict[str, Any]) -> set[str]:
    on = workflow["on"]
    return {on} if isinstance(on, str) else set(on)


def all_workflows() -> dict[str, dict[str, Any]]:
    return {path.name: load(path.name) for path in sorted(WORKFLOWS.glob("*.yml"))}


# --- a small evaluator for GitHub expressions (&&, ||, !, ==, !=, parentheses) --------------

TOKEN = re.compile(r"\s*(\|\||&&|==|!=|!|\(|\)|'[^']*'|[A-Za-z_][A-Za-z0-9_.-]*)")


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    text = expression.strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    tokens, position = [], 0
    while position < len(text.rstrip()):
        match = TOKEN.match(text, position)
        assert match, f"unsupported expression syntax at {text[position:]!r}"
        tokens.append(match.group(1))
        position = match.end()
    value, rest = _or(tokens, context)
    assert not rest, f"unparsed tail {rest!r} in {expression!r}"
    return value


def _or(tokens: list[str], context: dict[str, Any]) -> tuple[Any, list[str]]:
    value, tokens = _and(tokens, context)
    while tokens[:1] == ["||"]:
        right, tokens = _and(tokens[1:], context)
        value = value or right
    return value, tokens


def _and(tokens: list[str], context: dict[str, Any]) -> tuple[Any, list[str]]:
    value, tokens = _compare(tokens, context)
    while tokens[:1] == ["&&"]:
        right, tokens = _compare(tokens[1:], context)
        value = value and right
    return value, tokens


def _compare(tokens: list[str], context: dict[str, Any]) -> tuple[Any, list[str]]:
    left, tokens = _unary(tokens, context)
    if tokens[:1] in (["=="], ["!="]):
        operator = tokens[0]
        right, tokens = _unary(tokens[1:], context)
        return (left == right) == (operator == "=="), tokens
    return left, tokens


def _unary(tokens: list[str], context: dict[str, Any]) -> tuple[Any, list[str]]:
    head, rest = tokens[0], tokens[1:]
    if head == "!":
        value, rest = _unary(rest, context)
        return not value, rest
    if head == "(":
        value, rest = _or(rest, context)
        assert rest[:1] == [")"], "unbalanced parentheses"
        return value, rest[1:]
    if head.startswith("'"):
        return head[1:-1], rest
    if head in ("true", "false"):
        return head == "true", rest
    found: Any = context
    for part in head.split("."):
        found = found.get(part) if isinstance(found, dict) else None
    return found, rest


def event(name: str, *, ref_name: str = "main", gpu_runner: bool = True) -> dict[str, Any]:
    """The contexts a guard sees for an event in the upstream repo (or a fork: no variables)."""
    return {
        "github": {
            "event_name": name,
            "ref_name": ref_name,
            "repository": "owner/dl-env",
            "event": {"repository": {"default_branch": "main"}},
        },
        "vars": {"DLENV_GPU_RUNNER": "true"} if gpu_runner else {},
        "inputs": {},
    }


def test_evaluator_reads_the_guard_language() -> None:
    context = {"a": "x", "b": {"c": "y"}}

    assert evaluate("${{ a == 'x' && b.c != 'z' }}", context) is True
    assert evaluate("a == 'z' || (b.c == 'y' && !(a != 'x'))", context) is True
    assert evaluate("missing == 'x'", context) is False


# --- gpu.yml: fork code can never run on the self-hosted GPU runner --------------------------


def test_gpu_workflow_has_no_pull_request_trigger() -> None:
    assert triggers(load("gpu.yml")) == {"push", "schedule", "workflow_dispatch"}


@pytest.mark.parametrize(
    ("context", "runs"),
    [
        (event("pull_request"), False),
        (event("pull_request_target"), False),
        (event("push", gpu_runner=False), False),  # a fork, or a repo with no GPU runner yet
        (event("push"), True),
        (event("schedule"), True),
        (event("workflow_dispatch"), True),
    ],
    ids=["fork-pr", "pr-target", "fork-push", "push", "schedule", "dispatch"],
)
def test_every_gpu_job_guards_against_pull_requests_and_forks(
    context: dict[str, Any], runs: bool
) -> None:
    for name, job in load("gpu.yml")["jobs"].items():
        assert "if" in job, f"gpu.yml job {name} has no guard"
        assert bool(evaluate(job["if"], context)) is runs, name


def test_gpu_job_runs_on_the_gpu_runner_one_at_a_time() -> None:
    workflow = load("gpu.yml")
    job = workflow["jobs"]["gpu"]

    assert job["runs-on"] == GPU_LABELS
    assert job["strategy"]["max-parallel"] == 1
    assert workflow["concurrency"]["cancel-in-progress"] is False
    assert "${{ github.repository }}" in workflow["concurrency"]["group"]


def test_gpu_workflow_permissions_are_read_only() -> None:
    workflow = load("gpu.yml")

    assert workflow["permissions"] == {"contents": "read"}
    for job in workflow["jobs"].values():
        assert job.get("permissions", {"contents": "read"}) == {"contents": "read"}


def test_gpu_job_preflights_then_always_removes_what_it_created() -> None:
    steps = load("gpu.yml")["jobs"]["gpu"]["steps"]
    runs = [step.get("run", "") for step in steps]

    def index(text: str) -> int:
        return next(i for i, run in enumerate(runs) if text in run)

    snapshot, doctor = index("docker-janitor.sh snapshot"), index("invoke host.doctor")
    disk, suite = index("docker-janitor.sh require-disk"), index("nox --session gpu")
    cleanup = index("docker-janitor.sh cleanup")
    assert snapshot < doctor < suite and disk < suite < cleanup
    assert steps[cleanup]["if"] == "always()"
    assert '--variant "$VARIANT" --cuda "$CUDA"' in runs[suite]


def test_no_workflow_a_pull_request_triggers_reaches_a_self_hosted_runner() -> None:
    workflows = all_workflows()
    for name, workflow in workflows.items():
        if not triggers(workflow) & PULL_REQUEST_EVENTS:
            continue
        for job_name, job in workflow["jobs"].items():
            runs_on = job.get("runs-on", [])
            assert "self-hosted" not in (runs_on if isinstance(runs_on, list) else [runs_on]), (
                f"{name} job {job_name} runs pull-request code on a self-hosted runner"
            )


# --- images.yml and gpu.yml: the job list comes from `invoke image.matrix` -------------------


@pytest.mark.parametrize("name", ["images.yml", "gpu.yml"])
def test_matrix_jobs_expand_the_image_matrix_task_output(name: str) -> None:
    jobs = load(name)["jobs"]
    producer = jobs["matrix"]
    step = next(s for s in producer["steps"] if s.get("id") == "matrix")
    matrix_jobs = {job_name: job for job_name, job in jobs.items() if "strategy" in job}

    assert "invoke image.matrix --format github" in step["run"]
    assert 'echo "matrix=$matrix" >>"$GITHUB_OUTPUT"' in step["run"]
    assert producer["outputs"]["matrix"] == "${{ steps.matrix.outputs.matrix }}"
    assert matrix_jobs, f"{name} has no matrix job"
    for job in matrix_jobs.values():
        assert job["needs"] == "matrix"
        assert job["strategy"]["matrix"] == "${{ fromJSON(needs.matrix.outputs.matrix) }}"


INVOKE_SHIM = """#!{python}
import sys
from invoke.collection import Collection
from invoke.program import Program
from dlenv.commands.image_matrix import matrix
Program(namespace=Collection(Collection("image", matrix))).run(["invoke", *sys.argv[1:]])
"""


@pytest.mark.parametrize("name", ["images.yml", "gpu.yml"])
def test_matrix_step_output_expands_to_one_job_per_target(name: str, tmp_path: Path) -> None:
    shim = tmp_path / "invoke"
    shim.write_text(INVOKE_SHIM.format(python=sys.executable))
    shim.chmod(0o755)
    step = next(s for s in load(name)["jobs"]["matrix"]["steps"] if s.get("id") == "matrix")
    output, summary = tmp_path / "output", tmp_path / "summary"

    subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=REPO_ROOT,
        env={
            "PATH": f"{tmp_path}:{os.environ['PATH']}",
            "PYTHONPATH": str(REPO_ROOT),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
        },
        check=True,
        timeout=60,
    )

    key, _, value = output.read_text().strip().partition("=")
    assert key == "matrix"
    assert json.loads(value) == {"include": ci_entries(load_matrix())}


def test_workflows_use_only_keys_the_matrix_task_prints() -> None:
    for path in sorted(WORKFLOWS.glob("*.yml")):
        used = set(re.findall(r"(?<![\w./])matrix\.(\w+)", path.read_text()))
        assert used <= set(ENTRY_KEYS), f"{path.name} uses matrix keys {used - set(ENTRY_KEYS)}"


def test_workflows_list_no_variant_or_cuda_line() -> None:
    """Adding a variant or CUDA line to images/matrix.yaml must need no workflow edit."""
    for path in sorted(WORKFLOWS.glob("*.yml")):
        text = path.read_text()
        assert not re.search(r"--variant[ =](base|rapids|full)\b", text), path.name
        assert not re.search(r"--cuda[ =]\d", text), path.name


@pytest.mark.parametrize(
    ("context", "publish"),
    [
        (event("pull_request", ref_name="7/merge"), False),
        (event("pull_request", ref_name="main"), False),
        (event("push", ref_name="feature"), False),
        (event("push"), True),
        (event("workflow_dispatch"), True),
        (event("schedule"), True),
    ],
    ids=["pr", "pr-named-main", "branch-push", "default-push", "dispatch", "schedule"],
)
def test_images_publish_only_from_the_default_branch(
    context: dict[str, Any], publish: bool
) -> None:
    workflow = load("images.yml")

    assert bool(evaluate(workflow["env"]["PUBLISH"], context)) is publish
    steps = workflow["jobs"]["build"]["steps"]
    pushing = [
        s
        for s in steps
        if "push-image.sh" in s.get("run", "") or "login-action" in s.get("uses", "")
    ]
    assert len(pushing) == 2
    assert all(s["if"] == "env.PUBLISH == 'true'" for s in pushing)


def run_step(script: str, env: dict[str, str], tmp_path: Path) -> list[str]:
    """Run a step's bash as GitHub does, with a fake `invoke` that records its argv."""
    (tmp_path / "invoke").write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$@" >{tmp_path}/argv\n')
    (tmp_path / "invoke").chmod(0o755)
    subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        env={"PATH": f"{tmp_path}:{os.environ['PATH']}", **env},
        check=True,
        timeout=60,
    )
    return (tmp_path / "argv").read_text().splitlines()


@pytest.mark.parametrize(
    ("publish", "refresh", "extra"),
    [
        ("false", "false", []),
        (
            "true",
            "false",
            ["--cache-to", "type=registry,ref=ghcr.io/owner/dl-env-cache:full-cuda12.8,mode=max"],
        ),
        (
            "true",
            "true",
            [
                "--cache-to",
                "type=registry,ref=ghcr.io/owner/dl-env-cache:full-cuda12.8,mode=max",
                "--pull",
                "--no-cache",
            ],
        ),
    ],
    ids=["pull-request", "publish", "nightly-refresh"],
)
def test_build_step_reads_the_cache_of_the_whole_variant_chain(
    tmp_path: Path, publish: str, refresh: str, extra: list[str]
) -> None:
    steps = load("images.yml")["jobs"]["build"]["steps"]
    script = next(s["run"] for s in steps if "invoke image.build" in s.get("run", ""))
    env = {"VARIANT": "full", "CUDA": "12.8", "CHAIN": "base rapids full"}
    env |= {"PUBLISH": publish, "REFRESH": refresh, "GITHUB_REPOSITORY_OWNER": "Owner"}

    argv = run_step(script, env, tmp_path)

    cache = "type=registry,ref=ghcr.io/owner/dl-env-cache"
    assert argv == [
        "image.build",
        "--variant",
        "full",
        "--cuda",
        "12.8",
        *["--cache-from", f"{cache}:base-cuda12.8"],
        *["--cache-from", f"{cache}:rapids-cuda12.8"],
        *["--cache-from", f"{cache}:full-cuda12.8"],
        *extra,
    ]


def test_nightly_rebuilds_without_cache_and_checks_locks() -> None:
    jobs = load("nightly.yml")["jobs"]

    assert jobs["rebuild"]["uses"] == "./.github/workflows/images.yml"
    assert jobs["rebuild"]["with"] == {"refresh": True}
    assert "invoke deps.lock --check" in [s.get("run") for s in jobs["locks"]["steps"]]
    assert jobs["report"]["if"] == "failure()"
    assert set(jobs["report"]["needs"]) == {"locks", "rebuild"}
    assert "workflow_call" in triggers(load("images.yml"))


# --- hygiene that the schema does not check ---------------------------------------------------


def test_needs_name_existing_jobs() -> None:
    for name, workflow in all_workflows().items():
        for job_name, job in workflow["jobs"].items():
            needs = job.get("needs", [])
            for need in [needs] if isinstance(needs, str) else needs:
                assert need in workflow["jobs"], f"{name} job {job_name} needs unknown {need}"


def test_run_scripts_take_values_from_env_not_expressions() -> None:
    """`${{ }}` inside `run:` is pasted into the script before bash parses it (injection)."""
    for name, workflow in all_workflows().items():
        for job_name, job in workflow["jobs"].items():
            for step in job.get("steps", []):
                assert "${{" not in step.get("run", ""), f"{name} job {job_name}: {step}"


def test_checkouts_do_not_persist_the_token() -> None:
    for name, workflow in all_workflows().items():
        for job in workflow["jobs"].values():
            for step in job.get("steps", []):
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False, name
