"""Thin runner for `invoke host.setup` / `host.verify`: ask the step scripts for their dry run,
then run the steps that have something to do, stopping at the first failure."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from dlenv.errors import DlEnvError
from dlenv.host.plan import (
    SCRIPTS_DIR,
    SetupOptions,
    StepPlan,
    check_engine,
    engine_from_preflight,
    parse_step_output,
    select_steps,
    step_argv,
)


@dataclass(frozen=True)
class SetupPlan:
    """Every planned step, in order, plus the steps left out after a refusal."""

    steps: tuple[StepPlan, ...]
    engine: str | None
    not_planned: tuple[str, ...] = ()

    @property
    def refusal(self) -> StepPlan | None:
        return next((plan for plan in self.steps if plan.error is not None), None)


def _dry_run(argv: list[str], step: str, env: Mapping[str, str] | None) -> StepPlan:
    completed = subprocess.run(
        argv,
        env=None if env is None else dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    return parse_step_output(step, completed.stdout, completed.returncode)


def plan_setup(
    options: SetupOptions,
    *,
    env: Mapping[str, str] | None = None,
    scripts_dir: Path = SCRIPTS_DIR,
) -> SetupPlan:
    """Run every selected step's ``--dry-run``; stop planning at the first refusal."""
    check_engine(options.engine)
    steps = select_steps(options.only, options.skip)
    engine = options.engine
    plans: list[StepPlan] = []
    if engine is None:
        # Preflight names the engine (docker if installed, else podman, ...): one choice for all.
        preflight = _dry_run(
            step_argv("preflight", options, None, dry_run=True, scripts_dir=scripts_dir),
            "preflight",
            env,
        )
        engine = engine_from_preflight(preflight)
        if preflight.error is not None or "preflight" in steps:
            plans.append(preflight)
        if preflight.error is not None:
            rest = tuple(step for step in steps if step != "preflight")
            return SetupPlan(tuple(plans), engine, rest)
    for index, step in enumerate(steps):
        if plans and plans[-1].step == step:
            continue
        argv = step_argv(step, options, engine, dry_run=True, scripts_dir=scripts_dir)
        plan = _dry_run(argv, step, env)
        plans.append(plan)
        if plan.error is not None:
            return SetupPlan(tuple(plans), engine, steps[index + 1 :])
    return SetupPlan(tuple(plans), engine)


def run_step(
    argv: list[str],
    *,
    env: Mapping[str, str] | None = None,
    out: TextIO | None = None,
) -> tuple[int, StepPlan, list[str]]:
    """Run a step for real, echoing its output; return its exit code, parsed output, lines."""
    stream = out if out is not None else sys.stdout
    process = subprocess.Popen(
        argv,
        env=None if env is None else dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    for line in process.stdout:
        stream.write(f"    {line}")
        stream.flush()
        lines.append(line.rstrip("\n"))
    returncode = process.wait()
    return returncode, parse_step_output("", "\n".join(lines), returncode), lines


def _last_command(lines: list[str]) -> str | None:
    commands = [line[2:] for line in lines if line.startswith("+ ")]
    return commands[-1] if commands else None


def execute(
    plan: SetupPlan,
    options: SetupOptions,
    *,
    env: Mapping[str, str] | None = None,
    scripts_dir: Path = SCRIPTS_DIR,
    out: TextIO | None = None,
) -> list[str]:
    """Run, in order, the planned steps that need it. Return the steps that ran."""
    stream = out if out is not None else sys.stdout
    ran: list[str] = []
    for planned in plan.steps:
        if not planned.needs_run:
            continue
        step = planned.step
        print(f"==> {step}", file=stream, flush=True)
        argv = step_argv(step, options, plan.engine, dry_run=False, scripts_dir=scripts_dir)
        returncode, result, lines = run_step(argv, env=env, out=stream)
        ran.append(step)
        if returncode != 0:
            command = _last_command(lines)
            tail = [line for line in lines if line.strip()][-3:]
            where = f" at `{command}`" if command else ""
            detail = result.error or "; ".join(tail)
            raise DlEnvError(
                f"step {step} failed{where}: {detail}",
                f"fix the cause shown above, then re-run `invoke host.setup`: "
                f"finished steps are skipped and it resumes at {step}",
            )
        if result.reboots:
            print(
                f"==> stopping after {step}: reboot now, then run `invoke host.setup` again "
                "to continue",
                file=stream,
                flush=True,
            )
            break
    return ran


def confirm(question: str, ask: Callable[[str], str] = input) -> bool:
    if not sys.stdin.isatty():
        raise DlEnvError("no terminal to confirm the plan on", "pass --yes to apply it")
    return ask(question).strip().lower() in ("y", "yes")


def verify(
    options: SetupOptions,
    *,
    env: Mapping[str, str] | None = None,
    scripts_dir: Path = SCRIPTS_DIR,
    out: TextIO | None = None,
) -> None:
    """Run only the verify step, for real."""
    check_engine(options.engine)
    argv = step_argv("verify", options, options.engine, dry_run=False, scripts_dir=scripts_dir)
    returncode, result, lines = run_step(argv, env=env, out=out)
    if returncode != 0:
        raise DlEnvError(
            f"host verification failed: {result.error or '; '.join(lines[-3:])}",
            "run `invoke host.doctor` for the cause and fix of each failed check",
        )
