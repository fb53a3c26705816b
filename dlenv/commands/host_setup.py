"""`host.setup` and `host.verify`: plan and run the step scripts in scripts/host/."""

from __future__ import annotations

from invoke.context import Context
from invoke.tasks import task

from dlenv.commands import user_errors
from dlenv.errors import DlEnvError
from dlenv.host.plan import STEPS, SetupOptions, render_plan
from dlenv.host.setup_run import confirm, execute, plan_setup
from dlenv.host.setup_run import verify as run_verify

_STEP_NAMES = ", ".join(STEPS)


@task(
    iterable=["only", "skip"],
    help={
        "engine": "docker (Docker CE) or podman; default: the one installed, else docker",
        "only": f"run only this step (repeatable): {_STEP_NAMES}",
        "skip": f"leave out this step (repeatable): {_STEP_NAMES}",
        "dry": "print the plan and stop; nothing is changed",
        "yes": "apply the plan without asking",
        "rootless": "configure the calling user's rootless Docker instead of the system daemon",
        "user": "account to add to the docker group (default: $SUDO_USER)",
    },
)
@user_errors
def setup(
    c: Context,
    engine: str | None = None,
    only: list[str] | None = None,
    skip: list[str] | None = None,
    dry: bool = False,
    yes: bool = False,
    rootless: bool = False,
    user: str | None = None,
) -> None:
    """Plan and apply driver, container toolkit, engine and GPU runtime setup, then verify."""
    options = SetupOptions(
        engine=engine,
        only=tuple(only or ()),
        skip=tuple(skip or ()),
        rootless=rootless,
        user=user,
    )
    plan = plan_setup(options)
    print(render_plan(plan.steps, plan.not_planned), end="")
    refusal = plan.refusal
    if refusal is not None:
        raise DlEnvError(f"step {refusal.step} refuses: {refusal.error}", "nothing was changed")
    if not any(step.commands for step in plan.steps):
        print("Nothing to change: every step is already satisfied or cannot apply.")
        if dry:
            return
    if dry:
        print("Dry run: nothing was changed.")
        return
    if any(step.commands for step in plan.steps) and not yes and not confirm("Apply? [y/N] "):
        print("Nothing was changed.")
        return
    execute(plan, options)


@task(
    help={
        "engine": "docker or podman; default: the one installed, else docker",
        "rootless": "check the calling user's rootless Docker",
    },
)
@user_errors
def verify(c: Context, engine: str | None = None, rootless: bool = False) -> None:
    """Check the engine, the driver, nvidia-smi and a GPU container, then run the doctor."""
    run_verify(SetupOptions(engine=engine, rootless=rootless))
