"""Lock planning and checks: leaf-first compile with constraints, parent pins kept, staleness."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dlenv.errors import DlEnvError
from dlenv.locks import (
    LOCK_ROOT,
    LockTarget,
    check_locks,
    lock_file,
    lock_targets,
    plan_lock,
    read_pins,
)
from dlenv.matrix import DEFAULT_MATRIX, load_matrix


def test_compile_runs_leaf_first_and_constrains_each_parent_by_its_child() -> None:
    matrix = load_matrix(DEFAULT_MATRIX)
    commands = plan_lock(matrix, LockTarget("12.8", "3.11"), Path("/l"))
    order = [c.argv[c.argv.index("--output-file") + 1] for c in commands]
    assert order == [f"/l/cuda12.8-py3.11/{v}.txt" for v in ("full", "rapids", "base")]
    base = commands[-1].argv
    assert base[:3] == ("uv", "pip", "compile")
    assert base[base.index("--constraint") + 1] == "/l/cuda12.8-py3.11/rapids.txt"
    assert base[base.index("--python-version") + 1] == "3.11"
    assert "--generate-hashes" in base and "--no-build" in base
    assert "--constraint" not in commands[0].argv


def test_every_declared_python_of_a_line_gets_locks() -> None:
    matrix = load_matrix(DEFAULT_MATRIX)
    assert lock_targets(matrix, "12.8") == [LockTarget("12.8", "3.12"), LockTarget("12.8", "3.11")]
    with pytest.raises(DlEnvError, match=r"declares no Python 3.9.*extra_pythons"):
        lock_targets(matrix, "12.8", "3.9")


def test_committed_locks_are_current_and_children_keep_parent_pins() -> None:
    matrix = load_matrix(DEFAULT_MATRIX)
    assert check_locks(matrix, lock_targets(matrix)) == []
    base = read_pins(lock_file("base", "12.8", "3.11"))
    full = read_pins(lock_file("full", "12.8", "3.11"))
    assert base["torch"] == full["torch"] == "2.9.1"
    assert {"cudf-cu12", "cuml-cu12", "cupy-cuda12x", "nvidia-dali-cuda120"} <= set(full)


@pytest.fixture
def lock_copy(tmp_path: Path) -> Path:
    root = tmp_path / "images" / "locks"
    shutil.copytree(LOCK_ROOT, root)
    return root


def test_a_child_that_moves_a_parent_pin_is_reported(lock_copy: Path) -> None:
    matrix = load_matrix(DEFAULT_MATRIX)
    rapids = lock_file("rapids", "12.8", "3.11", lock_copy)
    rapids.write_text(rapids.read_text().replace("\ntorch==2.9.1 ", "\ntorch==2.9.0 "))
    problems = check_locks(matrix, [LockTarget("12.8", "3.11")], lock_copy)
    assert any("rapids pins torch==2.9.0 but its parent base pins 2.9.1" in p for p in problems)


def test_a_matrix_change_makes_the_inputs_stale(lock_copy: Path, tmp_path: Path) -> None:
    edited = tmp_path / "matrix.yaml"
    edited.write_text(DEFAULT_MATRIX.read_text().replace("- tqdm>=4.66", "- tqdm>=4.67"))
    problems = check_locks(load_matrix(edited), [LockTarget("12.8", "3.11")], lock_copy)
    assert any("base.in is stale" in p for p in problems)
