"""The CI matrix comes from images/matrix.yaml: its shape is pinned and it follows the YAML."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from dlenv import REPO_ROOT
from dlenv.ci_matrix import ENTRY_KEYS, ci_entries, render
from dlenv.errors import DlEnvError
from dlenv.matrix import load_matrix

MATRIX_YAML = REPO_ROOT / "images" / "matrix.yaml"


def edited_matrix(tmp_path: Path, edit: dict[str, dict[str, object]]) -> Path:
    """A copy of images/matrix.yaml with entries added to its top-level sections."""
    data = yaml.safe_load(MATRIX_YAML.read_text())
    for section, additions in edit.items():
        data[section].update(additions)
    path = tmp_path / "matrix.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def names(entries: list[dict[str, str]]) -> list[str]:
    return [entry["name"] for entry in entries]


def test_every_variant_on_every_cuda_line_with_the_lines_python() -> None:
    matrix = load_matrix(MATRIX_YAML)
    entries = ci_entries(matrix)

    expected = {
        (variant, line.name, line.python)
        for variant in matrix.variants
        for line in matrix.cuda_lines.values()
    }
    assert {(e["variant"], e["cuda"], e["python"]) for e in entries} == expected
    assert len(entries) == len(expected)


def test_entry_shape_is_pinned() -> None:
    entries = {e["name"]: e for e in ci_entries(load_matrix(MATRIX_YAML))}

    assert entries["full-cuda12.8-py3.12"] == {
        "name": "full-cuda12.8-py3.12",
        "variant": "full",
        "parent": "rapids",
        "chain": "base rapids full",
        "cuda": "12.8",
        "python": "3.12",
        "base_image": "nvidia/cuda:12.8.1-base-ubuntu24.04",
    }
    assert entries["base-cuda12.4-py3.10"]["parent"] == ""
    assert entries["base-cuda12.4-py3.10"]["chain"] == "base"
    for entry in entries.values():
        assert tuple(entry) == ENTRY_KEYS
        assert all(isinstance(value, str) for value in entry.values())


def test_github_format_is_one_line_include_json() -> None:
    entries = ci_entries(load_matrix(MATRIX_YAML))

    output = render(entries, "github")

    assert "\n" not in output
    assert json.loads(output) == {"include": entries}
    assert json.loads(render(entries, "json")) == {"include": entries}


def test_table_lists_one_row_per_entry() -> None:
    entries = ci_entries(load_matrix(MATRIX_YAML))

    lines = render(entries, "table").splitlines()

    assert lines[0].split() == ["NAME", "VARIANT", "PARENT", "CUDA", "PYTHON", "BASE_IMAGE"]
    assert [line.split()[0] for line in lines[1:]] == names(entries)
    assert lines[1].split()[2] == "-"  # base has no parent


def test_unknown_format_names_the_choices() -> None:
    with pytest.raises(DlEnvError, match="use one of: github, json, table"):
        render([], "yaml")


def test_adding_a_variant_adds_its_jobs_on_every_cuda_line(tmp_path: Path) -> None:
    before = ci_entries(load_matrix(MATRIX_YAML))
    path = edited_matrix(
        tmp_path,
        {"variants": {"vision": {"parent": "base", "description": "base + vision", "python": []}}},
    )

    after = ci_entries(load_matrix(path))

    added = [e for e in after if e["variant"] == "vision"]
    assert {e["name"] for e in added} == {"vision-cuda12.8-py3.12", "vision-cuda12.4-py3.10"}
    assert all(e["parent"] == "base" and e["chain"] == "base vision" for e in added)
    assert [e for e in after if e["variant"] != "vision"] == before


def test_adding_a_cuda_line_adds_every_variant_on_it(tmp_path: Path) -> None:
    before = ci_entries(load_matrix(MATRIX_YAML))
    path = edited_matrix(
        tmp_path,
        {
            "cuda_lines": {
                "13.0": {
                    "base_image": "nvidia/cuda:13.0.1-base-ubuntu24.04",
                    "python": "3.13",
                }
            }
        },
    )

    after = ci_entries(load_matrix(path))

    added = [e for e in after if e["cuda"] == "13.0"]
    assert names(added) == [
        "base-cuda13.0-py3.13",
        "rapids-cuda13.0-py3.13",
        "full-cuda13.0-py3.13",
    ]
    assert {e["base_image"] for e in added} == {"nvidia/cuda:13.0.1-base-ubuntu24.04"}
    assert [e for e in after if e["cuda"] != "13.0"] == before
