"""`invoke image.matrix`: what the images and gpu workflows run to get their job list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from invoke.collection import Collection
from invoke.program import Program

from dlenv.commands.image_matrix import matrix


def invoke_cli(*argv: str) -> None:
    program = Program(namespace=Collection(Collection("image", matrix)), binary="invoke")
    program.run(["invoke", "image.matrix", *argv], exit=True)


def test_github_format_prints_one_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    invoke_cli("--format", "github")

    out = capsys.readouterr().out
    assert out.count("\n") == 1
    include = json.loads(out)["include"]
    assert {(e["variant"], e["cuda"]) for e in include} >= {("base", "12.8"), ("full", "12.4")}


def test_matrix_file_flag_reads_another_yaml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "matrix.yaml"
    path.write_text(
        'cuda_lines:\n  "12.6":\n    base_image: example/cuda:12.6\n    python: "3.11"\n'
        "variants:\n  tiny:\n    description: just Python\n"
    )

    invoke_cli("--format", "json", "--matrix-file", str(path))

    include = json.loads(capsys.readouterr().out)["include"]
    assert [e["name"] for e in include] == ["tiny-cuda12.6-py3.11"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--format", "yaml"], "unknown matrix format 'yaml' (fix: use one of: github, json"),
        (["--matrix-file", "/nonexistent/matrix.yaml"], "cannot read matrix /nonexistent"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        invoke_cli(*argv)

    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("error: ")
    assert message in captured.err
