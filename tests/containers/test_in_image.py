"""The in-image suites (tests/image/<variant chain>) run inside each requested variant.

The placeholder below is replaced at collection by one item per in-image test case (see
conftest.py), so `-m "not docker"` or `-k` that deselect it also skip the container run.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_in_image_suites(variant: str) -> None:
    pytest.fail(
        f"the in-image run for {variant} did not replace this placeholder (see conftest.py)"
    )
