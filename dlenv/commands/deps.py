"""`deps` namespace: compile and check the lock files the images install from."""

from __future__ import annotations

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from dlenv.commands import user_errors
from dlenv.errors import DlEnvError
from dlenv.locks import check_locks, input_file, input_text, lock_targets, plan_lock
from dlenv.matrix import load_matrix
from dlenv.runner import run_plan


@task(
    auto_shortflags=False,
    help={
        "cuda": "only this CUDA line (default: every line in images/matrix.yaml)",
        "python": "only this Python version (default: every Python the line declares)",
        "upgrade": "let uv move pins to the newest allowed versions (default: keep pins)",
        "check": "change nothing; exit 1 if a lock is missing, stale or breaks a parent's pins",
        "dry": "print the uv commands instead of running them",
    },
)
@user_errors
def lock(
    c: Context,
    cuda: str | None = None,
    python: str | None = None,
    upgrade: bool = False,
    check: bool = False,
    dry: bool = False,
) -> None:
    """Compile images/locks/cuda<line>-py<python>/<variant>.txt with `uv pip compile`."""
    matrix = load_matrix()
    targets = lock_targets(matrix, cuda, python)
    if check:
        problems = check_locks(matrix, targets)
        for problem in problems:
            print(f"stale lock: {problem}")
        if problems:
            raise DlEnvError(
                f"{len(problems)} lock problem(s)", "run `invoke deps.lock` and commit the result"
            )
        print(f"locks up to date for {len(targets)} CUDA line/Python pair(s)")
        return
    for target in targets:
        if not dry:
            for variant in matrix.variants:
                source = input_file(variant, target.cuda, target.python)
                source.parent.mkdir(parents=True, exist_ok=True)
                source.write_text(input_text(matrix, variant, target.cuda))
        run_plan(plan_lock(matrix, target, upgrade=upgrade), dry=dry)
    if not dry:
        problems = check_locks(matrix, targets)
        if problems:
            raise DlEnvError("; ".join(problems), "adjust the requirements in images/matrix.yaml")


ns = Collection("deps")
ns.add_task(lock)
