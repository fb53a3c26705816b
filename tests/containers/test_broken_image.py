"""The in-image suite must catch a broken image, and say what is broken.

The broken image is the image under test with one locked package deleted and a second copy of
libcublas put where the dynamic loader would find it.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterator
from typing import Any

import image_harness as harness
import pytest

pytestmark = [pytest.mark.docker, pytest.mark.slow]

REMOVED_PACKAGE = "tqdm"
BREAK_IT = f"""
USER root
RUN set -e; \\
    site="$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"; \\
    cp "$site"/nvidia/cublas/lib/libcublas.so.* /usr/local/lib/; \\
    rm -rf "$site"/{REMOVED_PACKAGE} "$site"/{REMOVED_PACKAGE}-*.dist-info
USER dev
"""


@pytest.fixture(scope="module")
def broken_image(pool: Any) -> Iterator[str]:
    base = pool.image(pool_variant(pool))
    tag = f"dl-env-test/broken:{secrets.token_hex(4)}"
    dockerfile = f"FROM {base}\n{BREAK_IT}".encode()
    pool.client.images.build(
        fileobj=io.BytesIO(dockerfile), tag=tag, pull=False, rm=True, forcerm=True
    )
    try:
        yield tag
    finally:
        pool.client.images.remove(tag, force=True)


def pool_variant(pool: Any) -> str:
    return str(pool.variants()[0])


@pytest.fixture(scope="module")
def broken_results(pool: Any, broken_image: str) -> dict[str, harness.InnerCase]:
    container = pool.start_plain(broken_image)
    try:
        code, cases, output = harness.run_suites(
            container,
            pool_variant(pool),
            ["base/test_environment.py"],
            extra_args=["-k", "lock_exactly or cuda_library"],
        )
    finally:
        container.remove()
    assert code == 1, f"the in-image suite passed on a broken image:\n{output[-3000:]}"
    return {case.name: case for case in cases}


def test_missing_package_fails_naming_it(broken_results: dict[str, harness.InnerCase]) -> None:
    case = broken_results["test_venv_matches_the_lock_exactly"]
    assert case.outcome == "failed"
    assert f"locked but not installed: {REMOVED_PACKAGE}==" in case.message


def test_second_libcublas_fails_naming_both_copies(
    broken_results: dict[str, harness.InnerCase],
) -> None:
    case = broken_results["test_each_cuda_library_exists_once"]
    assert case.outcome == "failed"
    assert "libcublas has 2 copies" in case.message
    assert "/usr/local/lib/libcublas.so" in case.message
    assert "/site-packages/nvidia/cublas/lib/libcublas.so" in case.message
