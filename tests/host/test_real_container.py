"""The engine step for real: inside a Debian bookworm container (the bootstrapped base image,
no registry needed) it installs Podman from Debian's archive, and a second run is a no-op.
The GPU steps (driver, toolkit, runtime) are skipped, as `invoke host.setup --skip …` would."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator

import pytest

from dlenv.host.plan import SCRIPTS_DIR, STEPS, parse_step_output

docker_sdk = pytest.importorskip("docker")

pytestmark = [pytest.mark.docker, pytest.mark.slow]

BASE_IMAGE = "dl-env/debian-base:bookworm"
SCRIPTS_IN_CONTAINER = "/opt/dl-env/scripts/host"
GPU_STEPS = ("driver", "toolkit", "runtime")


def _bootstrap_base_image(client: docker_sdk.DockerClient) -> None:
    """Create BASE_IMAGE: the lead's `invoke image.bootstrap-base` if present, else debootstrap."""
    tasks = subprocess.run(["invoke", "--list"], capture_output=True, text=True, check=False)
    if "image.bootstrap-base" in tasks.stdout:
        subprocess.run(["invoke", "image.bootstrap-base"], check=True)
        return
    assert shutil.which("debootstrap"), "debootstrap is needed to build " + BASE_IMAGE
    with tempfile.TemporaryDirectory() as rootfs:
        subprocess.run(["debootstrap", "--variant=minbase", "bookworm", rootfs], check=True)
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(["docker", "import", "-", BASE_IMAGE], stdin=tar.stdout, check=True)
        assert tar.wait() == 0


@pytest.fixture(scope="module")
def container() -> Iterator[docker_sdk.models.containers.Container]:
    client = docker_sdk.from_env()
    try:
        client.images.get(BASE_IMAGE)
    except docker_sdk.errors.ImageNotFound:
        _bootstrap_base_image(client)
    box = client.containers.run(
        BASE_IMAGE,
        ["sleep", "infinity"],
        name=f"dlenv-host-setup-test-{uuid.uuid4().hex[:8]}",
        volumes={str(SCRIPTS_DIR): {"bind": SCRIPTS_IN_CONTAINER, "mode": "ro"}},
        detach=True,
    )
    try:
        yield box
    finally:
        box.remove(force=True)


def run_step(box: docker_sdk.models.containers.Container, step: str, *args: str) -> str:
    """Run one step script in the container (bounded by `timeout`; exec has none) and return
    its output; a non-zero exit fails the test with that output."""
    command = ["timeout", "600", "bash", f"{SCRIPTS_IN_CONTAINER}/{step}.sh", *args]
    result = box.exec_run(command)
    output = result.output.decode()
    assert result.exit_code == 0, f"{step} exited {result.exit_code}:\n{output}"
    return str(output)


def dpkg_status(box: docker_sdk.models.containers.Container) -> str:
    return str(box.exec_run(["md5sum", "/var/lib/dpkg/status"]).output.decode())


def test_engine_step_installs_podman_for_real_then_rerun_is_a_no_op(
    container: docker_sdk.models.containers.Container,
) -> None:
    steps = [step for step in STEPS if step not in (*GPU_STEPS, "verify")]
    assert steps == ["preflight", "engine"]

    planned = parse_step_output(
        "engine", run_step(container, "engine", "--dry-run", "--engine", "podman"), 0
    )
    assert "DEBIAN_FRONTEND=noninteractive apt-get install -y podman" in planned.commands

    for step in steps:
        run_step(container, step, "--engine", "podman")
    version = container.exec_run(["podman", "--version"]).output.decode()
    assert version.startswith("podman version 4.3.1"), version

    status_before = dpkg_status(container)
    for step in steps:
        again = parse_step_output(step, run_step(container, step, "--engine", "podman"), 0)
        assert again.commands == (), f"{step} changed something on the second run"
        assert again.satisfied, f"{step} reported nothing satisfied"
    assert dpkg_status(container) == status_before
    dry = parse_step_output(
        "engine", run_step(container, "engine", "--dry-run", "--engine", "podman"), 0
    )
    assert dry.commands == ()
    assert "podman 4.3.1 supports CDI" in dry.satisfied


def test_gpu_steps_cannot_apply_in_a_container_without_a_gpu(
    container: docker_sdk.models.containers.Container,
) -> None:
    for step in GPU_STEPS:
        plan = parse_step_output(
            step, run_step(container, step, "--dry-run", "--engine", "podman"), 0
        )
        assert plan.state == "cannot apply", plan
        assert "no NVIDIA GPU found" in plan.skipped[0]
