"""`host.doctor` (placeholder: being implemented)."""

from invoke import Context, task


@task
def doctor(c: Context) -> None:
    """Diagnose a broken GPU container host (not implemented yet)."""
    raise SystemExit("host.doctor is not implemented yet")
