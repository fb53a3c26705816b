"""scripts/ci/: the shell the workflows call for disk space, Docker hygiene and failure reports."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from dlenv import REPO_ROOT

SCRIPTS = REPO_ROOT / "scripts" / "ci"


def run(
    script: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPTS / script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": os.environ["PATH"], **(env or {})},
    )


def fake_command(folder: Path, name: str, body: str) -> Path:
    """An executable `name` on a PATH folder that logs its argv to `name`.log, then runs body."""
    log = folder / f"{name}.log"
    path = folder / name
    path.write_text(f'#!/usr/bin/env bash\necho "$*" >>{log}\n{body}\n')
    path.chmod(0o755)
    return log


def test_free_disk_refuses_outside_github_hosted_runners(tmp_path: Path) -> None:
    sudo_log = fake_command(tmp_path, "sudo", "exit 0")

    result = run("free-disk.sh", env={"PATH": f"{tmp_path}:{os.environ['PATH']}"})

    assert result.returncode == 1
    assert "refusing to delete system directories" in result.stderr
    assert not sudo_log.exists()


def test_free_disk_deletes_toolchains_on_a_hosted_runner(tmp_path: Path) -> None:
    sudo_log = fake_command(tmp_path, "sudo", "exit 0")

    result = run(
        "free-disk.sh",
        env={"PATH": f"{tmp_path}:{os.environ['PATH']}", "RUNNER_ENVIRONMENT": "github-hosted"},
    )

    assert result.returncode == 0, result.stderr
    calls = sudo_log.read_text().splitlines()
    assert calls[0].startswith("rm -rf /usr/share/dotnet /usr/local/lib/android")
    assert calls[1] == "docker image prune --all --force"


@pytest.mark.parametrize(
    ("wanted", "code", "message"),
    [
        ("0", 0, "GB free on /tmp (need 0 GB)"),
        ("99999999", 1, "need 99999999 GB (fix: docker system prune"),
        ("lots", 1, "wants a whole number of GB, got 'lots'"),
    ],
)
def test_require_disk_compares_free_space(wanted: str, code: int, message: str) -> None:
    result = run("docker-janitor.sh", "require-disk", wanted, "/tmp")

    assert result.returncode == code
    assert message in result.stdout + result.stderr


def test_janitor_cleanup_without_snapshot_names_the_fix(tmp_path: Path) -> None:
    result = run("docker-janitor.sh", "cleanup", str(tmp_path / "missing.txt"))

    assert result.returncode == 1
    assert "run 'docker-janitor.sh snapshot" in result.stderr


@pytest.mark.parametrize(
    ("open_issue", "expected"),
    [
        ("42", "issue comment 42 --body Failed again: https://example.test/run/1"),
        ("", "issue create --title Nightly image rebuild failed --body"),
    ],
    ids=["comments-on-open-issue", "opens-an-issue"],
)
def test_nightly_failure_report_opens_one_issue(
    tmp_path: Path, open_issue: str, expected: str
) -> None:
    gh_log = fake_command(
        tmp_path, "gh", f'[[ "$1 $2" == "issue list" ]] && echo "{open_issue}"; exit 0'
    )

    result = run(
        "report-nightly-failure.sh",
        env={
            "PATH": f"{tmp_path}:{os.environ['PATH']}",
            "GH_REPO": "owner/dl-env",
            "RUN_URL": "https://example.test/run/1",
        },
    )

    assert result.returncode == 0, result.stderr
    calls = gh_log.read_text().splitlines()
    assert calls[0].startswith("issue list --state open")
    assert calls[1].startswith(expected)
    assert len([c for c in calls if c.startswith("issue")]) == 2


FAKE_DOCKER = """
state={state}
case "$1 $2" in
  "ps --all") cat "$state/containers" ;;
  "images --all") cat "$state/images" ;;
  "rm --force") grep -vx "$4" "$state/containers" >"$state/c.new"
    mv "$state/c.new" "$state/containers" ;;
  "rmi --force") [[ $3 != sha256:stuck ]] || exit 1
    grep -vx "$3" "$state/images" >"$state/i.new"; mv "$state/i.new" "$state/images" ;;
  "image inspect") grep -qx "$3" "$state/images" ;;
  *) exit 2 ;;
esac
"""


def fake_docker(folder: Path, containers: list[str], images: list[str]) -> dict[str, str]:
    """A docker CLI over two files: the engine here is shared, and cleanup is engine-wide."""
    (folder / "containers").write_text("".join(f"{c}\n" for c in containers))
    (folder / "images").write_text("".join(f"{i}\n" for i in images))
    fake_command(folder, "docker", FAKE_DOCKER.format(state=folder))
    return {"PATH": f"{folder}:{os.environ['PATH']}"}


def test_janitor_removes_only_what_was_created_after_the_snapshot(tmp_path: Path) -> None:
    env = fake_docker(tmp_path, ["c-old"], ["sha256:old"])
    snapshot = tmp_path / "before.txt"
    assert run("docker-janitor.sh", "snapshot", str(snapshot), env=env).returncode == 0
    (tmp_path / "containers").write_text("c-old\nc-new\n")
    (tmp_path / "images").write_text("sha256:old\nsha256:new\n")

    result = run("docker-janitor.sh", "cleanup", str(snapshot), env=env)

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "containers").read_text() == "c-old\n"
    assert (tmp_path / "images").read_text() == "sha256:old\n"
    removals = [c for c in (tmp_path / "docker.log").read_text().splitlines() if "--force" in c]
    assert removals == ["rm --force --volumes c-new", "rmi --force sha256:new"]


def test_janitor_fails_when_an_image_stays(tmp_path: Path) -> None:
    env = fake_docker(tmp_path, [], [])
    snapshot = tmp_path / "before.txt"
    run("docker-janitor.sh", "snapshot", str(snapshot), env=env)
    (tmp_path / "images").write_text("sha256:stuck\n")

    result = run("docker-janitor.sh", "cleanup", str(snapshot), env=env)

    assert result.returncode == 1
    assert "could not remove image sha256:stuck" in result.stderr


def test_push_image_pushes_every_tag_of_the_tested_image(tmp_path: Path) -> None:
    docker_log = fake_command(
        tmp_path,
        "docker",
        '[[ $1 == images ]] && printf "dl-env:full-cuda12.8-py3.12\\n<none>:<none>\\n"; exit 0',
    )

    result = run(
        "push-image.sh",
        "ghcr.io/owner/",
        "full",
        "12.8",
        "3.12",
        env={"PATH": f"{tmp_path}:{os.environ['PATH']}"},
    )

    assert result.returncode == 0, result.stderr
    calls = docker_log.read_text().splitlines()
    assert "--filter label=io.dl-env.variant=full --filter label=io.dl-env.cuda=12.8" in calls[0]
    assert calls[1:] == [
        "tag dl-env:full-cuda12.8-py3.12 ghcr.io/owner/dl-env:full-cuda12.8-py3.12",
        "push --quiet ghcr.io/owner/dl-env:full-cuda12.8-py3.12",
    ]


def test_push_image_refuses_when_nothing_was_built(tmp_path: Path) -> None:
    docker_log = fake_command(tmp_path, "docker", "exit 0")

    result = run(
        "push-image.sh",
        "ghcr.io/owner",
        "full",
        "12.8",
        "3.12",
        env={"PATH": f"{tmp_path}:{os.environ['PATH']}"},
    )

    assert result.returncode == 1
    assert "no image labelled full / CUDA 12.8 / Python 3.12; build it first" in result.stderr
    assert len(docker_log.read_text().splitlines()) == 1  # the lookup, no tag or push
