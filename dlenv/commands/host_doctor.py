"""`host.doctor`: diagnose a GPU container host, read-only, with the fix for each problem."""

from invoke.context import Context
from invoke.tasks import task

from dlenv.commands import user_errors
from dlenv.host.doctor import run_doctor


@task(
    help={
        "engine": "container engine to check: docker or podman (default: docker if installed)",
        "json": 'print {"ok": bool, "checks": [{"name", "status", "detail", "fix"}]} instead',
        "probe": "also start a GPU container (nvidia-smi -L) and report what it saw",
    }
)
@user_errors
def doctor(c: Context, engine: str | None = None, json: bool = False, probe: bool = False) -> None:
    """Diagnose the GPU host read-only; exit 1 if a check fails (no GPU: checks skip, exit 0)."""
    raise SystemExit(run_doctor(engine, json=json, probe=probe))
