"""One error type for everything a user can get wrong: a one-line message that names the fix."""

from __future__ import annotations


class DlEnvError(Exception):
    """A problem the user can fix. ``str()`` is one line: what is wrong, then what to do."""

    def __init__(self, problem: str, fix: str | None = None) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(problem if fix is None else f"{problem} (fix: {fix})")
