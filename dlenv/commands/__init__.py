"""invoke Collections, one module per namespace. Each task is a thin call into the package."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from dlenv.errors import DlEnvError

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(function: F) -> F:
    """Turn a DlEnvError into one line on stderr and exit code 1, instead of a traceback."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except DlEnvError as error:
            print(f"error: {error}", file=sys.stderr)
            raise SystemExit(1) from None

    return wrapper  # type: ignore[return-value]
