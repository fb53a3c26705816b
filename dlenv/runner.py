"""Execute a plan: a list of commands. Planning lives elsewhere and is pure; this stays thin."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from dlenv.errors import DlEnvError


@dataclass(frozen=True)
class Command:
    """One step of a plan: what to run, why, and any extra environment it needs."""

    argv: tuple[str, ...]
    description: str
    env: Mapping[str, str] = field(default_factory=dict)

    def shell(self, *, wrap: bool = False) -> str:
        """The command as a user would type it; `wrap` puts each --option on its own line."""
        prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(self.env.items()))
        words = [shlex.quote(arg) for arg in self.argv]
        if wrap:
            words = [
                f"\\\n    {w}" if w.startswith("--") and i > 0 else w for i, w in enumerate(words)
            ]
        line = " ".join(words)
        return f"{prefix} {line}" if prefix else line


def print_plan(plan: Sequence[Command], out: TextIO | None = None) -> None:
    stream = out if out is not None else sys.stdout
    for number, command in enumerate(plan, start=1):
        print(f"# {number}. {command.description}", file=stream)
        print(command.shell(wrap=True), file=stream)


def run_plan(plan: Sequence[Command], *, dry: bool = False) -> None:
    """Run each command in order, streaming its output; stop at the first failure."""
    if dry:
        print_plan(plan)
        return
    total = len(plan)
    for number, command in enumerate(plan, start=1):
        print(f"==> [{number}/{total}] {command.description}", flush=True)
        started = time.monotonic()
        env = {**os.environ, **command.env}
        try:
            completed = subprocess.run(command.argv, env=env, check=False)
        except FileNotFoundError as error:
            raise DlEnvError(
                f"step {number} ({command.description}) could not start: "
                f"{error.filename} not found",
                f"install {command.argv[0]} or put it on PATH",
            ) from error
        if completed.returncode != 0:
            raise DlEnvError(
                f"step {number} ({command.description}) failed with exit code "
                f"{completed.returncode}: {command.shell()}",
                "read the output above; re-running resumes from cached layers",
            )
        print(f"    done in {time.monotonic() - started:.1f}s", flush=True)
