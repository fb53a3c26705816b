"""`image.matrix`: the build/test matrix for CI, generated from images/matrix.yaml."""

from __future__ import annotations

from pathlib import Path

from invoke.context import Context
from invoke.tasks import task

from dlenv.ci_matrix import ci_entries, render
from dlenv.commands import user_errors
from dlenv.matrix import load_matrix


@task(
    help={
        "format": "github (one line, for $GITHUB_OUTPUT), json (indented) or table (default)",
        "matrix_file": "read this matrix YAML instead of images/matrix.yaml",
    }
)
@user_errors
def matrix(c: Context, format: str = "table", matrix_file: str | None = None) -> None:
    """Print every variant x CUDA line as a CI matrix (GitHub Actions `include` JSON)."""
    model = load_matrix(Path(matrix_file) if matrix_file else None)
    print(render(ci_entries(model), format))
