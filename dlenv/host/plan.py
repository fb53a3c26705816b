"""Pure planning for `invoke host.setup`: select steps, build script command lines, and read
what each script's ``--dry-run`` says it would do. The scripts are the one code path; this
module never decides what a host needs, it only reads the scripts' answer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dlenv.errors import DlEnvError

STEPS: tuple[str, ...] = ("preflight", "driver", "toolkit", "engine", "runtime", "verify")
ENGINES: tuple[str, ...] = ("docker", "podman")
SCRIPTS_DIR = Path(__file__).resolve().parents[2] / "scripts" / "host"


@dataclass(frozen=True)
class SetupOptions:
    """What the user asked for on the command line."""

    engine: str | None = None
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    rootless: bool = False
    user: str | None = None


@dataclass(frozen=True)
class StepPlan:
    """What one step script's dry run reported."""

    step: str
    commands: tuple[str, ...] = ()
    satisfied: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    infos: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    reboots: tuple[str, ...] = ()
    error: str | None = None
    lines: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    """Every reported line as (kind, text), in the order the script printed them."""

    @property
    def state(self) -> str:
        if self.error is not None:
            return "refused"
        if self.commands:
            return "to do"
        if self.checks:
            return "checks"
        if self.skipped:
            return "cannot apply"
        return "satisfied"

    @property
    def needs_run(self) -> bool:
        """A real run is needed: something to change, or checks to make."""
        return self.state in ("to do", "checks")


def select_steps(only: Iterable[str] = (), skip: Iterable[str] = ()) -> tuple[str, ...]:
    """The steps to run, in setup order: ``only`` (default all) minus ``skip``."""
    only, skip = tuple(only), tuple(skip)
    for name in (*only, *skip):
        if name not in STEPS:
            raise DlEnvError(f"unknown step '{name}'", f"choose from {', '.join(STEPS)}")
    selected = tuple(step for step in STEPS if (not only or step in only) and step not in skip)
    if not selected:
        raise DlEnvError("--only/--skip leave no step to run", "drop a --skip or widen --only")
    return selected


def check_engine(engine: str | None) -> None:
    if engine is not None and engine not in ENGINES:
        raise DlEnvError(f"unknown engine '{engine}'", "use --engine docker or --engine podman")


def step_argv(
    step: str,
    options: SetupOptions,
    engine: str | None,
    *,
    dry_run: bool,
    scripts_dir: Path = SCRIPTS_DIR,
) -> list[str]:
    """The command line that runs one step script."""
    argv = ["bash", str(scripts_dir / f"{step}.sh")]
    if dry_run:
        argv.append("--dry-run")
    if engine is not None:
        argv += ["--engine", engine]
    if options.rootless and step in ("runtime", "verify"):
        argv.append("--rootless")
    if options.user and step == "engine":
        argv += ["--user", options.user]
    return argv


_PREFIXES = {
    "ok: ": "satisfied",
    "skip: ": "skipped",
    "check: ": "checks",
    "info: ": "infos",
    "warn: ": "warnings",
    "reboot: ": "reboots",
}


def parse_step_output(step: str, output: str, returncode: int) -> StepPlan:
    """Read a step script's output (stdout and stderr together) per lib/common.sh's contract."""
    found: dict[str, list[str]] = {key: [] for key in (*_PREFIXES.values(), "commands")}
    ordered: list[tuple[str, str]] = []
    errors: list[str] = []
    lines = output.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if line.startswith("+ "):
            command = line[2:]
            if command.endswith("<<'EOF'"):
                body = []
                while index < len(lines) and lines[index] != "EOF":
                    body.append(lines[index])
                    index += 1
                index += 1
                command = "\n".join([command, *body, "EOF"])
            found["commands"].append(command)
            ordered.append(("commands", command))
        elif line.startswith("ERROR: "):
            errors.append(line[len("ERROR: ") :])
        else:
            for prefix, key in _PREFIXES.items():
                if line.startswith(prefix):
                    found[key].append(line[len(prefix) :])
                    ordered.append((key, line[len(prefix) :]))
                    break
    error = None
    if returncode != 0:
        error = "; ".join(errors) or f"exited {returncode} without saying why"
    return StepPlan(
        step=step,
        commands=tuple(found["commands"]),
        satisfied=tuple(found["satisfied"]),
        skipped=tuple(found["skipped"]),
        checks=tuple(found["checks"]),
        infos=tuple(found["infos"]),
        warnings=tuple(found["warnings"]),
        reboots=tuple(found["reboots"]),
        error=error,
        lines=tuple(ordered),
    )


def engine_from_preflight(plan: StepPlan) -> str | None:
    """The engine preflight chose (``info: engine: docker``), when the user named none."""
    for line in plan.infos:
        if line.startswith("engine: "):
            engine = line.split(":", 1)[1].strip()
            return engine if engine in ENGINES else None
    return None


_LABELS = {
    "infos": "",
    "warnings": "warning: ",
    "skipped": "cannot apply: ",
    "satisfied": "already done: ",
    "checks": "check: ",
    "reboots": "then: ",
}


def render_plan(plans: Sequence[StepPlan], not_planned: Sequence[str] = ()) -> str:
    """The plan as printed before anything runs."""
    out: list[str] = []
    for number, plan in enumerate(plans, start=1):
        out.append(f"[{number}] {plan.step}: {plan.state}")
        if plan.error is not None:
            out.append(f"    refused: {plan.error}")
        for kind, text in plan.lines:
            if kind == "commands":
                first, *rest = text.splitlines()
                out.append(f"    $ {first}")
                out += [f"      {line}" for line in rest]
            else:
                out.append(f"    {_LABELS[kind]}{text}")
    for step in not_planned:
        out.append(f"[-] {step}: not planned (an earlier step refused)")
    return "\n".join(out) + "\n"
