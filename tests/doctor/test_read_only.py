"""The doctor never writes to the host: not to the root it inspects, not to $HOME or $TMPDIR,
and it runs unchanged as an unprivileged user against a read-only root. Each harness also has
a control that writes, to show the harness would catch the doctor doing so."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .fakehost import DOCTOR, FakeHost, docker_info, healthy_gpu_host, set_docker, snapshot

NOBODY = 65534
SETPRIV = shutil.which("setpriv") or "setpriv"
PROBE_OK = "GPU 0: NVIDIA L4 (UUID: GPU-6f3c0a1e)\n"


def broken_gpu_host(base: Path) -> FakeHost:
    """A host where many checks fail or warn, so their fix paths run too; --probe answers."""
    host = healthy_gpu_host(base)
    host.remove("/dev/char")
    host.remove("/dev/nvidia-uvm")
    host.write("/proc/modules", "nouveau 2834432 1 - Live 0x0\n")
    host.write("/etc/apt/sources.list.d/nvidia-docker.list", "deb https://nvidia.github.io/x /\n")
    host.write("/sys/fs/selinux/enforce", "1")
    host.write("/sys/fs/selinux/booleans/container_use_xserver_devices", "0 0")
    host.write("/etc/cdi/nvidia.yaml", "kind: nvidia.com/gpu\n- libEGL_nvidia.so.535.161.07\n")
    set_docker(host, docker_info(nvidia_runtime=False, rootless=True), run=(PROBE_OK, 0))
    return host


def changes_made_by(host: FakeHost, action: Callable[[], object]) -> list[str]:
    before = snapshot(host.root, host.bin, host.home, host.tmp)
    time.sleep(0.01)  # a write in the same clock tick would still change content or size
    action()
    after = snapshot(host.root, host.bin, host.home, host.tmp)
    return sorted(
        path for path in before.keys() | after.keys() if before.get(path) != after.get(path)
    )


def test_doctor_changes_nothing_under_root_home_or_tmpdir(tmp_path: Path) -> None:
    host = broken_gpu_host(tmp_path)
    results = []

    def run_every_mode() -> None:
        for args in ([], ["--json"], ["--probe"], ["--engine", "podman", "--json"]):
            results.append(host.run(*args))

    assert changes_made_by(host, run_every_mode) == []
    assert [r.returncode for r in results] == [1, 1, 1, 1]  # the broken host was diagnosed


def test_snapshot_harness_catches_a_write(tmp_path: Path) -> None:
    host = healthy_gpu_host(tmp_path)

    def append_to_a_host_file() -> None:
        with (host.root / "etc/os-release").open("a") as file:
            file.write("\n")

    assert changes_made_by(host, append_to_a_host_file) == [str(host.root / "etc/os-release")]


@pytest.fixture
def world_readable_base() -> Iterator[Path]:
    """A base directory the unprivileged user can traverse (pytest's tmp_path is 0700)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run the doctor as another user")
    base = Path(tempfile.mkdtemp(prefix="dlenv-doctor-ro-"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(base)], check=True)
        shutil.rmtree(base)


def make_read_only(host: FakeHost) -> None:
    for directory in (host.root, host.bin, host.home, host.tmp):
        subprocess.run(["chmod", "-R", "a-w,a+rX", str(directory)], check=True)


def start_marker(base: Path) -> Path:
    """A file dated a little in the past: file times are coarse (one clock tick), and a file
    created in the marker's tick would not count as newer."""
    marker = base / "marker"
    marker.touch()
    past = time.time() - 2
    os.utime(marker, (past, past))
    return marker


def stray_files_since(marker: Path) -> list[str]:
    """Files the unprivileged user created anywhere it could write (world-writable dirs)."""
    found = subprocess.run(
        [
            "find",
            "/tmp",
            "/var/tmp",
            "/dev/shm",
            "-xdev",
            "-user",
            str(NOBODY),
            "-newer",
            str(marker),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.split()


def as_nobody(host: FakeHost, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SETPRIV, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--", *argv],
        env=host.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_doctor_runs_unchanged_as_nobody_on_a_read_only_root(world_readable_base: Path) -> None:
    host = broken_gpu_host(world_readable_base)
    make_read_only(host)
    marker = start_marker(world_readable_base)
    as_root = host.run("--json", "--probe")

    unprivileged = as_nobody(host, str(host.bin / "bash"), str(DOCTOR), "--json", "--probe")

    assert unprivileged.stderr == ""  # a refused write would print "Permission denied" here
    assert unprivileged.returncode == as_root.returncode == 1
    assert unprivileged.stdout == as_root.stdout
    assert stray_files_since(marker) == []


def test_nobody_harness_catches_writes(world_readable_base: Path) -> None:
    host = healthy_gpu_host(world_readable_base)
    make_read_only(host)
    marker = start_marker(world_readable_base)
    writer = (
        'echo x > "$DLENV_ROOT/etc/dlenv-probe"; f=/tmp/dlenv-doctor-stray.$$; : > "$f"; echo "$f"'
    )

    result = as_nobody(host, str(host.bin / "bash"), "-c", writer)

    stray = stray_files_since(marker)
    try:
        assert "Permission denied" in result.stderr
        assert stray == [result.stdout.strip()]
    finally:
        for path in {*stray, result.stdout.strip()}:
            Path(path).unlink(missing_ok=True)
