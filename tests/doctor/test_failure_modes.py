"""Each failure mode of the host-setup research (Part 2) on a fake host: the doctor must name it
with the documented fix, and a healthy host must pass every check."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from .fakehost import (
    DRIVER,
    PROC_VERSION,
    FakeHost,
    cdi_spec,
    docker_info,
    healthy_gpu_host,
    nvidia_smi_output,
    set_docker,
    set_podman,
    set_toolkit,
)


@pytest.mark.parametrize("engine", ["docker", "podman"])
def test_a_healthy_gpu_host_passes_every_check(tmp_path: Path, engine: str) -> None:
    result = healthy_gpu_host(tmp_path, engine=engine).run_json()

    assert result.returncode == 0, result.stdout
    assert result.report["ok"] is True
    assert result.stderr == ""
    problems = {n: s for n, s in result.statuses().items() if s not in ("ok", "skip")}
    assert problems == {}
    # Only checks that cannot apply to this host may skip: the GPU checks all ran.
    skipped = {n for n, s in result.statuses().items() if s == "skip"}
    other_engine = (
        {"docker-context", "docker-gpus", "docker-runtime"}
        if engine == "podman"
        else {"podman-cdi", "oci-hook"}
    )
    assert skipped == {"wsl", "selinux"} | other_engine


def test_text_report_shows_each_fix_under_its_failed_check(tmp_path: Path) -> None:
    host = healthy_gpu_host(tmp_path)
    host.write("/proc/modules", "nouveau 2834432 1 - Live 0x0000000000000000\n")

    result = host.run()

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    failed = next(i for i, line in enumerate(lines) if line.startswith("fail  nouveau"))
    assert lines[failed + 1].strip().startswith("fix: printf 'blacklist nouveau")
    assert "NOT READY" in lines[-1]


@dataclass(frozen=True)
class Case:
    failure_mode: str
    breaks: Callable[[FakeHost], None]
    check: str
    status: str
    fix: str
    detail: str
    engine: str = "docker"


def systemd_cgroups_without_dev_char_links_and_hook_injection(host: FakeHost) -> None:
    set_toolkit(host, "1.17.4")
    set_docker(host, docker_info(cgroup_driver="systemd", default_runtime="runc"))
    host.remove("/dev/char")


def no_toolkit(host: FakeHost) -> None:
    for name in ("nvidia-ctk", "nvidia-container-cli", "nvidia-container-runtime-hook"):
        host.unstub(name)
    set_docker(host, docker_info(nvidia_runtime=False))
    host.write("/etc/docker/daemon.json", "{}\n")


def snap_docker(host: FakeHost) -> None:
    real = host.bin / "docker"
    snap = host.root / "snap/docker/2963/bin/docker"
    snap.parent.mkdir(parents=True)
    real.rename(snap)
    real.symlink_to(snap)


def docker_started_before_the_toolkit(host: FakeHost) -> None:
    set_docker(host, docker_info(nvidia_runtime=False))
    host.write("/etc/docker/daemon.json", "{}\n")
    host.stub(
        "systemctl",
        ("show docker --property=ActiveEnterTimestamp --value", "Mon 2020-01-06 09:00:00 UTC\n", 0),
    )


def daemon_json_edited_but_docker_not_restarted(host: FakeHost) -> None:
    set_docker(host, docker_info(nvidia_runtime=False))


def upgraded_without_reboot(host: FakeHost) -> None:
    new = "570.195.03"
    lib = "/usr/lib/x86_64-linux-gnu"
    host.remove(f"{lib}/libnvidia-ml.so.{DRIVER}")
    host.write(f"{lib}/libnvidia-ml.so.{new}", "ELF")
    host.symlink(f"{lib}/libnvidia-ml.so.1", f"libnvidia-ml.so.{new}")
    host.stub("modinfo", ("-F version nvidia", f"{new}\n", 0), ("nvidia", "version: x\n", 0))
    host.stub(
        "nvidia-smi",
        (
            "",
            "Failed to initialize NVML: Driver/library version mismatch\n"
            f"NVML library version: {new}\n",
            18,
        ),
    )


def proc_version_only(host: FakeHost) -> None:
    host.remove("/usr/lib/x86_64-linux-gnu")


def old_driver(cuda: str) -> Callable[[FakeHost], None]:
    def breaks(host: FakeHost) -> None:
        host.stub("nvidia-smi", ("", nvidia_smi_output("535.247.01", cuda), 0))

    return breaks


def spec_v070_with_podman_4_9(host: FakeHost) -> None:
    set_podman(host, "4.9.3")
    host.write("/var/run/cdi/nvidia.yaml", cdi_spec(cdi_version="0.7.0", gids=True))


def no_cdi_spec(host: FakeHost) -> None:
    host.remove("/var/run/cdi")
    host.stub(
        "nvidia-ctk",
        ("--version", "NVIDIA Container Toolkit CLI version 1.18.0\n", 0),
        ("cdi list", "INFO[0000] Found 0 CDI devices\n", 0),
    )


def stale_spec_in_etc(host: FakeHost) -> None:
    host.remove("/var/run/cdi")
    host.write("/etc/cdi/nvidia.yaml", cdi_spec("535.161.07"))


def selinux_enforcing(host: FakeHost) -> None:
    host.write("/sys/fs/selinux/enforce", "1")
    host.write("/sys/fs/selinux/booleans/container_use_xserver_devices", "0 0")
    host.write("/sys/fs/selinux/booleans/container_use_devices", "0 0")


def rootless_docker(host: FakeHost) -> None:
    set_docker(host, docker_info(rootless=True))


def secure_boot_unsigned(host: FakeHost) -> None:
    host.remove("/proc/driver")
    host.stub("mokutil", ("--sb-state", "SecureBoot enabled\n", 0))
    host.stub(
        "modinfo",
        ("-F version nvidia", f"{DRIVER}\n", 0),
        ("-F signer nvidia", "", 0),
        ("nvidia", "version: x\n", 0),
    )


def nouveau_loaded(host: FakeHost) -> None:
    host.write(
        "/proc/modules",
        "nouveau 2834432 1 - Live 0x0000000000000000\nttm 110592 1 nouveau, Live 0x0\n",
    )
    host.remove("/proc/driver")


def no_uvm_nodes(host: FakeHost) -> None:
    for node in ("/dev/nvidia-uvm", "/dev/nvidia-uvm-tools"):
        host.remove(node)
    host.write("/proc/modules", "nvidia 11476992 0 - Live 0x0000000000000000 (POE)\n")


def wsl_with_linux_driver(host: FakeHost) -> None:
    host.write("/proc/sys/kernel/osrelease", "5.15.167.4-microsoft-standard-WSL2\n")
    host.write("/proc/version", "Linux version 5.15.167.4-microsoft-standard-WSL2\n")
    host.remove("/sys/bus/pci")
    host.remove("/proc/driver")
    host.char_device("/dev/dxg", "10:63")
    host.write("/usr/lib/wsl/lib/nvidia-smi", "#!/bin/sh\n", mode=0o755)
    host.write("/usr/lib/wsl/lib/libnvidia-ml.so.1", "ELF")
    host.remove("/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1")
    host.write("/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1", "ELF")


def old_list_files(host: FakeHost) -> None:
    host.write(
        "/etc/apt/sources.list.d/libnvidia-container.list",
        "deb https://nvidia.github.io/libnvidia-container/stable/deb/$(ARCH) /\n",
    )
    host.write(
        "/etc/apt/sources.list.d/nvidia-docker.list",
        "deb https://nvidia.github.io/libnvidia-container/stable/ubuntu18.04/$(ARCH) /\n"
        "deb https://nvidia.github.io/nvidia-docker/ubuntu18.04/$(ARCH) /\n",
    )


def mismatched_toolkit_packages(host: FakeHost) -> None:
    set_toolkit(host, "1.18.0", lib_version="1.17.8")


def podman_with_oci_hook(host: FakeHost) -> None:
    host.write("/usr/share/containers/oci/hooks.d/oci-nvidia-hook.json", '{"version": "1.0.0"}')


CASES = [
    Case(
        "FM-1",
        systemd_cgroups_without_dev_char_links_and_hook_injection,
        "daemon-reload",
        "warn",
        "sudo nvidia-ctk system create-dev-char-symlinks --create-all",
        "Failed to initialize NVML: Unknown Error",
    ),
    Case(
        "FM-2 no toolkit",
        no_toolkit,
        "docker-gpus",
        "fail",
        "sudo systemctl restart docker",
        'could not select device driver "" with capabilities: [[gpu]]',
    ),
    Case(
        "FM-2/21 no toolkit package",
        no_toolkit,
        "toolkit",
        "fail",
        "run 'sudo apt-get update' alone",
        'could not select device driver "" with capabilities: [[gpu]]',
    ),
    Case(
        "FM-2 snap docker",
        snap_docker,
        "docker-context",
        "fail",
        "sudo snap remove docker",
        "snap package (/snap/docker/2963/bin/docker)",
    ),
    Case(
        "FM-2 docker desktop",
        lambda h: set_docker(h, docker_info(), context="desktop-linux"),
        "docker-context",
        "fail",
        "docker context use default",
        "Docker Desktop",
    ),
    Case(
        "FM-2 daemon older than hook",
        docker_started_before_the_toolkit,
        "docker-gpus",
        "fail",
        "sudo systemctl restart docker",
        "dockerd started before",
    ),
    Case(
        "FM-3 no runtime",
        lambda h: (
            set_docker(h, docker_info(nvidia_runtime=False)),
            h.write("/etc/docker/daemon.json", "{}"),
        ),
        "docker-runtime",
        "fail",
        "sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker",
        "unknown or invalid runtime name: nvidia",
    ),
    Case(
        "FM-3 not restarted",
        daemon_json_edited_but_docker_not_restarted,
        "docker-runtime",
        "fail",
        "sudo systemctl restart docker",
        "the running daemon does not",
    ),
    Case(
        "FM-4",
        upgraded_without_reboot,
        "driver-versions",
        "fail",
        "sudo reboot",
        f"loaded module {DRIVER}, module on disk 570.195.03, libnvidia-ml 570.195.03",
    ),
    Case(
        "FM-4 nvidia-smi",
        upgraded_without_reboot,
        "cuda-support",
        "fail",
        "sudo reboot",
        "Failed to initialize NVML: Driver/library version mismatch",
    ),
    Case(
        "FM-5",
        proc_version_only,
        "driver-userspace",
        "fail",
        "invoke host.setup",
        "load library failed: libnvidia-ml.so.1: cannot open shared object file",
    ),
    Case(
        "FM-6 too old",
        old_driver("12.2"),
        "cuda-support",
        "fail",
        "upgrade the driver to branch >= 570",
        "unsatisfied condition: cuda>=12.4",
    ),
    Case(
        "FM-6 12.4 only",
        old_driver("12.6"),
        "cuda-support",
        "warn",
        "use the CUDA 12.4 images",
        "unsatisfied condition: cuda>=12.8, please update your driver to a newer version",
    ),
    Case(
        "FM-7",
        lambda h: set_podman(h, "3.4.4"),
        "podman-cdi",
        "fail",
        "install podman >= 4.1.0",
        "Error: stat nvidia.com/gpu=all: no such file or directory",
        engine="podman",
    ),
    Case(
        "FM-8",
        spec_v070_with_podman_4_9,
        "cdi-schema",
        "fail",
        "NVIDIA_CTK_CDI_GENERATE_FEATURE_FLAGS=no-additional-gids-for-device-nodes",
        'json: unknown field "additionalGids"',
        engine="podman",
    ),
    Case(
        "FM-9",
        no_cdi_spec,
        "cdi-spec",
        "fail",
        "sudo systemctl enable --now nvidia-cdi-refresh.path nvidia-cdi-refresh.service",
        "unresolvable CDI devices nvidia.com/gpu=all",
        engine="podman",
    ),
    Case(
        "FM-9 docker",
        no_cdi_spec,
        "cdi-spec",
        "warn",
        "sudo nvidia-ctk cdi generate --output=/var/run/cdi/nvidia.yaml",
        "--runtime=nvidia builds CDI in memory",
    ),
    Case(
        "FM-10",
        stale_spec_in_etc,
        "cdi-driver",
        "fail",
        "sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml",
        "/etc/cdi/nvidia.yaml (535.161.07)",
        engine="podman",
    ),
    Case(
        "FM-10 static next to refreshed",
        lambda h: h.write("/etc/cdi/nvidia.yaml", cdi_spec()),
        "cdi-driver",
        "warn",
        "sudo rm /etc/cdi/nvidia.yaml",
        "goes stale at the next driver upgrade",
        engine="podman",
    ),
    Case(
        "FM-11",
        selinux_enforcing,
        "selinux",
        "fail",
        "sudo setsebool -P container_use_xserver_devices on",
        "Failed to initialize NVML: Insufficient Permissions",
        engine="podman",
    ),
    Case(
        "FM-12",
        rootless_docker,
        "rootless",
        "fail",
        "sudo nvidia-ctk config --set nvidia-container-cli.no-cgroups --in-place",
        "rootless Docker daemon",
    ),
    Case(
        "FM-13",
        secure_boot_unsigned,
        "secure-boot",
        "fail",
        "sudo mokutil --import /var/lib/dkms/mok.pub",
        "Loading of unsigned module is rejected",
    ),
    Case(
        "FM-13 module not loaded",
        secure_boot_unsigned,
        "driver-module",
        "fail",
        "sudo modprobe nvidia",
        "installed but not loaded",
    ),
    Case(
        "FM-14",
        nouveau_loaded,
        "nouveau",
        "fail",
        "sudo update-initramfs -u && sudo reboot",
        "ERROR: The Nouveau kernel driver is currently in use",
    ),
    Case(
        "FM-15",
        no_uvm_nodes,
        "device-nodes",
        "fail",
        "sudo nvidia-modprobe -u -c=0",
        "missing /dev/nvidia-uvm /dev/nvidia-uvm-tools (nvidia_uvm module NOT loaded)",
    ),
    Case(
        "FM-16",
        wsl_with_linux_driver,
        "wsl",
        "fail",
        "sudo apt-get remove --purge $(dpkg -S /usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1",
        "file creation failed",
    ),
    Case(
        "FM-17",
        old_list_files,
        "apt-sources",
        "fail",
        "sudo rm /etc/apt/sources.list.d/libnvidia-container.list"
        " /etc/apt/sources.list.d/nvidia-docker.list && sudo apt-get update",
        "E: Conflicting values set for option Signed-By",
    ),
    Case(
        "FM-18",
        mismatched_toolkit_packages,
        "toolkit",
        "fail",
        "libnvidia-container1=$v",
        "nvidia-ctk 1.18.0 but libnvidia-container 1.17.8",
    ),
    Case(
        "FM-20",
        podman_with_oci_hook,
        "oci-hook",
        "warn",
        "sudo rm /usr/share/containers/oci/hooks.d/oci-nvidia-hook.json",
        "injected twice",
        engine="podman",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.failure_mode for c in CASES])
def test_failure_mode_is_named_with_its_fix(tmp_path: Path, case: Case) -> None:
    host = healthy_gpu_host(tmp_path, engine=case.engine)
    case.breaks(host)

    result = host.run_json()

    check = result.check(case.check)
    assert check["status"] == case.status, check
    assert case.fix in check["fix"], check
    assert case.detail in check["detail"], check
    assert result.report["ok"] is (case.status != "fail")
    assert result.returncode == (1 if case.status == "fail" else 0)
    assert result.stderr == ""


def test_at_least_fifteen_failure_modes_are_detected() -> None:
    numbers = {c.failure_mode.split()[0].split("/")[0] for c in CASES}
    assert len(numbers) >= 15, sorted(numbers)


def test_daemon_reload_hazard_does_not_apply_with_cgroupfs(tmp_path: Path) -> None:
    host = healthy_gpu_host(tmp_path)
    systemd_cgroups_without_dev_char_links_and_hook_injection(host)
    set_docker(host, docker_info(cgroup_driver="cgroupfs"))

    check = host.run_json().check("daemon-reload")

    assert check["status"] == "ok"
    assert "cgroupfs" in check["detail"]


def test_daemon_reload_hazard_does_not_apply_when_the_default_runtime_uses_cdi(
    tmp_path: Path,
) -> None:
    host = healthy_gpu_host(tmp_path)
    host.remove("/dev/char")
    set_docker(host, docker_info(default_runtime="nvidia"))  # toolkit 1.18.0, mode auto: jit-cdi

    check = host.run_json().check("daemon-reload")

    assert check["status"] == "ok"
    assert "--runtime=runc --gpus" in check["detail"]


def test_daemon_reload_hazard_applies_to_nvidia_runtime_in_legacy_mode(tmp_path: Path) -> None:
    host = healthy_gpu_host(tmp_path)
    host.remove("/dev/char")
    set_docker(host, docker_info(default_runtime="nvidia"))
    host.write(
        "/etc/nvidia-container-runtime/config.toml", '[nvidia-container-runtime]\nmode = "legacy"\n'
    )

    check = host.run_json().check("daemon-reload")

    assert check["status"] == "warn"
    assert "--runtime=nvidia (runtime mode legacy)" in check["detail"]


def test_a_healthy_wsl_host_skips_the_kernel_checks(tmp_path: Path) -> None:
    host = healthy_gpu_host(tmp_path)
    wsl_with_linux_driver(host)
    host.remove("/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1")
    host.stub("modinfo", ("*", "modinfo: ERROR: Module nvidia not found.\n", 1))

    result = host.run_json()

    statuses = result.statuses()
    assert statuses["wsl"] == "ok"
    assert statuses["gpu"] == "ok"
    for name in ("nouveau", "secure-boot", "driver-module", "driver-versions", "device-nodes"):
        assert statuses[name] == "skip", name


def test_a_host_without_a_gpu_skips_gpu_checks_and_exits_zero(tmp_path: Path) -> None:
    host = healthy_gpu_host(tmp_path)
    host.remove("/sys/bus/pci/devices/0000:01:00.0")
    host.remove("/proc/driver")
    for name in (
        "nvidia-smi",
        "nvidia-ctk",
        "nvidia-container-cli",
        "nvidia-container-runtime-hook",
    ):
        host.unstub(name)
    set_docker(host, docker_info(nvidia_runtime=False))

    result = host.run_json()

    assert result.returncode == 0
    assert result.check("gpu")["status"] == "skip"
    assert "cannot run GPU containers" in result.check("gpu")["detail"]
    assert result.check("engine")["status"] == "ok"
    for name in (
        "driver-module",
        "driver-userspace",
        "toolkit",
        "docker-runtime",
        "cdi-spec",
        "daemon-reload",
    ):
        assert result.check(name)["status"] == "skip", name
    assert "no NVIDIA GPU" in host.run().stdout.splitlines()[-1]


def test_unreachable_docker_daemon_fails_with_the_start_command(tmp_path: Path) -> None:
    host = healthy_gpu_host(tmp_path)
    host.stub(
        "docker",
        (
            "info --format *",
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock."
            " Is the docker daemon running?\n",
            1,
        ),
        ("context show", "default\n", 0),
    )

    check = host.run_json().check("engine")

    assert check["status"] == "fail"
    assert "Is the docker daemon running?" in check["detail"]
    assert check["fix"] == "sudo systemctl enable --now docker"


def test_invalid_daemon_json_fails_before_docker_is_restarted_into_it(tmp_path: Path) -> None:
    host = healthy_gpu_host(tmp_path)
    host.write(
        "/etc/docker/daemon.json", '{"runtimes": {"nvidia": {"path": "nvidia-container-runtime",}}}'
    )

    check = host.run_json().check("docker-runtime")

    assert check["status"] == "fail"
    assert "not valid JSON" in check["detail"]


def test_json_output_escapes_quotes_and_backslashes(tmp_path: Path) -> None:
    host = healthy_gpu_host(tmp_path)
    host.write(
        "/etc/os-release", 'PRETTY_NAME="Distro \\\\ with \\"quotes\\" and\ttab"\nID=ubuntu\n'
    )

    result = host.run_json()

    assert json.loads(result.stdout)["checks"][0]["detail"].startswith("Distro")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--engine", "lxc"], "unknown engine 'lxc'"),
        (["--engine"], "--engine needs a value"),
        (["--frobnicate"], "unknown argument '--frobnicate'"),
    ],
)
def test_usage_errors_exit_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = healthy_gpu_host(tmp_path).run(*args)

    assert result.returncode == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1


PROBE_OK = "GPU 0: NVIDIA L4 (UUID: GPU-6f3c0a1e-2b7d-4f1a-9c33-1d2e3f4a5b6c)\n"


def test_probe_reports_what_the_container_saw_and_the_daemon_reload_hazard(tmp_path: Path) -> None:
    host = healthy_gpu_host(tmp_path)
    host.remove("/dev/char")
    set_docker(host, docker_info(), run=(PROBE_OK, 0))

    check = host.run_json("--probe").check("probe")

    assert check["status"] == "ok"
    assert "--gpus all: 1 GPU(s), GPU 0: NVIDIA L4" in check["detail"]
    assert "--runtime=nvidia --gpus all: 1 GPU(s)" in check["detail"]
    assert (
        "APPLIES to containers started with --gpus (the hook; default runtime runc)"
        in check["detail"]
    )


def test_probe_failure_maps_the_engine_error_to_its_fix(tmp_path: Path) -> None:
    host = healthy_gpu_host(tmp_path)
    error = (
        "docker: Error response from daemon:"
        ' could not select device driver "" with capabilities: [[gpu]].\n'
    )
    set_docker(host, docker_info(cgroup_driver="cgroupfs"), run=(error, 125))

    result = host.run_json("--probe")

    check = result.check("probe")
    assert result.returncode == 1
    assert check["status"] == "fail"
    assert "could not select device driver" in check["detail"]
    assert "sudo systemctl restart docker" in check["fix"]
    assert "does not apply: cgroup driver cgroupfs" in check["detail"]


def test_probe_with_podman_uses_cdi(tmp_path: Path) -> None:
    host = healthy_gpu_host(tmp_path, engine="podman")
    set_podman(host, "5.2.2", run=(PROBE_OK, 0))

    check = host.run_json("--probe").check("probe")

    assert check["status"] == "ok"
    assert "--device nvidia.com/gpu=all" in check["detail"]
    assert "does not apply: podman injects GPUs through CDI" in check["detail"]


def test_probe_is_skipped_without_a_gpu(tmp_path: Path) -> None:
    host = healthy_gpu_host(tmp_path)
    host.remove("/sys/bus/pci/devices/0000:01:00.0")
    host.unstub("docker")
    set_docker(host, docker_info())  # no "run" answer: starting a container would exit 99

    check = host.run_json("--probe").check("probe")

    assert check["status"] == "skip"


def test_proc_version_formats_of_both_module_flavours_are_read(tmp_path: Path) -> None:
    host = healthy_gpu_host(tmp_path)
    host.write(
        "/proc/driver/nvidia/version",
        f"NVRM version: NVIDIA UNIX x86_64 Kernel Module  {DRIVER}  Thu Feb 22 01:44:30 UTC 2024\n",
    )

    check = host.run_json().check("driver-module")

    assert check["detail"] == f"nvidia kernel module {DRIVER} loaded (proprietary)"
    assert PROC_VERSION.startswith("NVRM version: NVIDIA UNIX Open")
