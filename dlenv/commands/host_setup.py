"""`host.setup` and `host.verify` (placeholder: being implemented)."""

from invoke import Context, task


@task
def setup(c: Context) -> None:
    """Install driver, container toolkit and engine, then verify (not implemented yet)."""
    raise SystemExit("host.setup is not implemented yet")


@task
def verify(c: Context) -> None:
    """Check driver, toolkit and GPU container (not implemented yet)."""
    raise SystemExit("host.verify is not implemented yet")
