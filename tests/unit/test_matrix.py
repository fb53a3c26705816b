"""images/matrix.yaml loading: validation with file:line, inheritance, requirements per line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dlenv.errors import DlEnvError
from dlenv.matrix import DEFAULT_MATRIX, load_matrix

VALID = """\
image_name: dl-env
user: dev
cuda_lines:
  "12.8":
    base_image: nvidia/cuda:12.8.1-base-ubuntu24.04
    python: "3.12"
    extra_pythons: ["3.11"]
    requirements:
      base: ["torch==2.9.1"]
variants:
  base:
    description: the base
    apt: [python3, openssh-server]
    python: [numpy>=1.26]
  rapids:
    parent: base
    description: rapids
    python: [cupy-cuda12x>=13]
  full:
    parent: rapids
    description: full
    python: [polars>=1]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "matrix.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(DlEnvError) as caught:
        load_matrix(write(tmp_path, text))
    message = str(caught.value)
    assert "\n" not in message, "errors are one line"
    return message


def test_the_shipped_matrix_has_the_three_variants_and_two_cuda_12_lines() -> None:
    matrix = load_matrix(DEFAULT_MATRIX)
    assert [v.name for v in matrix.chain("full")] == ["base", "rapids", "full"]
    assert {"12.4", "12.8"} <= set(matrix.cuda_lines)
    assert all(line.base_image.startswith("nvidia/cuda:") for line in matrix.cuda_lines.values())


def test_children_inherit_apt_and_python_requirements_in_order(tmp_path: Path) -> None:
    matrix = load_matrix(write(tmp_path, VALID))
    full = matrix.variant("full")
    assert full.apt == ("python3", "openssh-server")
    assert full.python == ("numpy>=1.26", "cupy-cuda12x>=13", "polars>=1")
    assert matrix.requirements("rapids", "12.8") == (
        "numpy>=1.26",
        "torch==2.9.1",
        "cupy-cuda12x>=13",
    )


def test_targets_cover_every_variant_on_every_line_with_its_default_python(tmp_path: Path) -> None:
    matrix = load_matrix(write(tmp_path, VALID))
    assert [(t.variant, t.cuda, t.python) for t in matrix.targets()] == [
        ("base", "12.8", "3.12"),
        ("rapids", "12.8", "3.12"),
        ("full", "12.8", "3.12"),
    ]
    assert matrix.cuda_line("12.8").pythons == ("3.12", "3.11")


def test_unknown_variant_lists_the_valid_ones(tmp_path: Path) -> None:
    matrix = load_matrix(write(tmp_path, VALID))
    with pytest.raises(DlEnvError, match=r"unknown variant 'gpu'.*base, rapids, full"):
        matrix.variant("gpu")


def test_bad_key_names_file_line_and_valid_keys(tmp_path: Path) -> None:
    message = error_of(tmp_path, VALID.replace("    apt: [python3", "    apts: [python3"))
    assert f"{tmp_path / 'matrix.yaml'}:13:" in message
    assert "unknown key 'apts'" in message and "apt, description, parent, python" in message


def test_unknown_parent_is_reported_at_its_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, VALID.replace("parent: rapids", "parent: rapid"))
    assert ":20:" in message and "unknown parent 'rapid'" in message


def test_inheritance_cycle_is_named(tmp_path: Path) -> None:
    text = VALID.replace(
        "    description: the base\n", "    parent: full\n    description: the base\n"
    )
    message = error_of(tmp_path, text)
    assert "inheritance cycle" in message and "full" in message and "base" in message


def test_missing_required_field(tmp_path: Path) -> None:
    message = error_of(tmp_path, VALID.replace('    python: "3.12"\n', ""))
    assert "cuda_lines.12.8.python: is required" in message


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, VALID.replace("  rapids:\n", "  rapids: [\n"))
    assert "invalid YAML" in message and f"{tmp_path / 'matrix.yaml'}:" in message


def test_unquoted_python_version_is_refused(tmp_path: Path) -> None:
    # YAML reads 3.10 as the number 3.1: a silent wrong lock unless refused.
    message = error_of(tmp_path, VALID.replace('python: "3.12"', "python: 3.10"))
    assert "3.1 is a number, not a version" in message and "quote it" in message


def test_line_requirements_for_an_unknown_variant_are_refused(tmp_path: Path) -> None:
    message = error_of(tmp_path, VALID.replace('      base: ["torch', '      bse: ["torch'))
    assert "unknown key 'bse'" in message
