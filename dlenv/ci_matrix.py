"""The image matrix as CI job entries: what `invoke image.matrix` prints for the workflows.

The workflows never list variants or CUDA lines themselves; they expand this output with
`fromJSON`, so adding a variant or a CUDA line to images/matrix.yaml needs no workflow edit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from dlenv.errors import DlEnvError
from dlenv.matrix import Matrix
from dlenv.text import format_table

FORMATS = ("github", "json", "table")

# Every entry carries exactly these keys; the workflows may use `matrix.<key>` for each.
ENTRY_KEYS = ("name", "variant", "parent", "chain", "cuda", "python", "base_image")


def ci_entries(matrix: Matrix) -> list[dict[str, str]]:
    """One entry per build target (variant x CUDA line, the line's default Python)."""
    entries = []
    for target in matrix.targets():
        variant = matrix.variant(target.variant)
        entries.append(
            {
                "name": f"{target.variant}-cuda{target.cuda}-py{target.python}",
                "variant": target.variant,
                "parent": variant.parent or "",
                # Space-separated, root first: the cache refs a build of this variant can reuse.
                "chain": " ".join(member.name for member in matrix.chain(target.variant)),
                "cuda": target.cuda,
                "python": target.python,
                "base_image": matrix.cuda_line(target.cuda).base_image,
            }
        )
    if not entries:
        raise DlEnvError(
            f"{matrix.source} yields no build target", "declare at least one variant and CUDA line"
        )
    return entries


def render(entries: Sequence[dict[str, str]], output_format: str) -> str:
    """`github`: one line for $GITHUB_OUTPUT; `json`: indented; `table`: for people."""
    if output_format == "github":
        return json.dumps({"include": list(entries)}, separators=(",", ":"))
    if output_format == "json":
        return json.dumps({"include": list(entries)}, indent=2)
    if output_format == "table":
        return _table(entries)
    raise DlEnvError(
        f"unknown matrix format {output_format!r}", f"use one of: {', '.join(FORMATS)}"
    )


def _table(entries: Sequence[dict[str, str]]) -> str:
    columns = ("name", "variant", "parent", "cuda", "python", "base_image")
    rows = [[column.upper() for column in columns]]
    rows += [[entry[column] or "-" for column in columns] for entry in entries]
    return format_table(rows)
