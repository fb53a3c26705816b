"""A fake GPU container host for scripts/host/doctor.sh: a root directory (DLENV_ROOT) holding
proc/sys/etc/dev files, and a bin directory that is the whole PATH: a few real tools plus stub
commands that print recorded outputs. Nothing from the real host leaks in (no real docker,
modinfo or nvidia-smi), so a check that reads the wrong thing fails loudly."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DOCTOR = REPO / "scripts" / "host" / "doctor.sh"

# Real tools the doctor and detect.sh may use; everything else must be a stub.
REAL_TOOLS = [
    *("bash", "awk", "basename", "cat", "cut", "date", "dirname", "env", "grep", "head", "id"),
    *("ls", "od", "python3", "readlink", "sed", "sort", "stat", "tail", "timeout", "tr", "uniq"),
    "wc",
]

DRIVER = "570.133.20"
PROC_VERSION = (
    f"NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  {DRIVER}  Release Build"
    "  (dvs-builder@U16-I3-B03-4-3)  Fri Mar 14 19:53:39 UTC 2025\n"
    "GCC version:  gcc version 13.3.0 (Ubuntu 13.3.0-6ubuntu2~24.04)\n"
)
UBUNTU_2404 = """PRETTY_NAME="Ubuntu 24.04.2 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
UBUNTU_CODENAME=noble
"""


def nvidia_smi_output(driver: str = DRIVER, cuda: str = "12.8") -> str:
    return f"""Fri Nov 21 10:00:00 2026
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI {driver}             Driver Version: {driver}     CUDA Version: {cuda}     |
|-----------------------------------------+------------------------+----------------------+
|   0  NVIDIA L4                      On  |   00000000:01:00.0 Off |                    0 |
+-----------------------------------------+------------------------+----------------------+
"""


def cdi_spec(driver: str = DRIVER, *, cdi_version: str = "0.5.0", gids: bool = False) -> str:
    extra = "\n      additionalGids:\n      - 44" if gids else ""
    return f"""---
cdiVersion: {cdi_version}
kind: nvidia.com/gpu
devices:
- name: "0"
  containerEdits:
    deviceNodes:
    - path: /dev/nvidia0{extra}
- name: all
  containerEdits:
    deviceNodes:
    - path: /dev/nvidia0
containerEdits:
  deviceNodes:
  - path: /dev/nvidiactl
  - path: /dev/nvidia-uvm
  - path: /dev/nvidia-uvm-tools
  mounts:
  - hostPath: /usr/lib/x86_64-linux-gnu/libnvidia-ml.so.{driver}
    containerPath: /usr/lib/x86_64-linux-gnu/libnvidia-ml.so.{driver}
  - hostPath: /usr/lib/x86_64-linux-gnu/libEGL_nvidia.so.{driver}
    containerPath: /usr/lib/x86_64-linux-gnu/libEGL_nvidia.so.{driver}
"""


def docker_info(
    *,
    version: str = "27.5.1",
    cgroup_driver: str = "systemd",
    default_runtime: str = "runc",
    nvidia_runtime: bool = True,
    rootless: bool = False,
) -> str:
    """What the doctor's `docker info --format ...` call prints (fields joined by '|')."""
    runtimes: dict[str, Any] = {"io.containerd.runc.v2": {"path": "runc"}, "runc": {"path": "runc"}}
    if nvidia_runtime:
        runtimes["nvidia"] = {"path": "nvidia-container-runtime"}
    security = ["name=apparmor", "name=seccomp,profile=builtin", "name=cgroupns"]
    if rootless:
        security.append("name=rootless")
    return "|".join(
        [
            version,
            cgroup_driver,
            "2",
            default_runtime,
            json.dumps(runtimes, separators=(",", ":")),
            json.dumps(security, separators=(",", ":")),
        ]
    )


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.stdout)
        return data

    def check(self, name: str) -> dict[str, str]:
        for check in self.report["checks"]:
            if check["name"] == name:
                return dict(check)
        raise AssertionError(f"no check named {name} in {self.stdout}")

    def statuses(self) -> dict[str, str]:
        return {c["name"]: c["status"] for c in self.report["checks"]}


class FakeHost:
    def __init__(self, base: Path) -> None:
        self.root = base / "root"
        self.bin = base / "bin"
        self.home = base / "home"
        self.tmp = base / "tmp"
        for directory in (self.root, self.bin, self.home, self.tmp):
            directory.mkdir(parents=True, exist_ok=True)
        for tool in REAL_TOOLS:
            found = shutil.which(tool)
            assert found, f"{tool} is needed on the test machine"
            (self.bin / tool).symlink_to(found)

    # --- files -------------------------------------------------------------------------
    def write(self, path: str, content: str, mode: int = 0o644) -> Path:
        target = self.root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        target.chmod(mode)
        return target

    def remove(self, path: str) -> None:
        target = self.root / path.lstrip("/")
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.is_dir():
            shutil.rmtree(target)

    def char_device(self, path: str, major_minor: str) -> None:
        """A stand-in for a character device node (mknod needs root): see char_device_id."""
        self.write(path, f"char {major_minor}\n")

    def symlink(self, path: str, target: str) -> None:
        link = self.root / path.lstrip("/")
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink():
            link.unlink()
        link.symlink_to(target)

    # --- commands ----------------------------------------------------------------------
    def stub(self, name: str, *cases: tuple[str, str, int]) -> None:
        """A command that answers per argument pattern: (glob over "$*", stdout, exit code).
        Unexpected arguments exit 99 with a message on stderr, so they show in the test."""
        lines = ["#!/bin/bash", 'case "$*" in']
        for pattern, stdout, code in cases:
            glob = "*".join(shlex.quote(part) for part in pattern.split("*"))
            lines.append(f"{glob}) printf '%s' {shlex.quote(stdout)}; exit {code} ;;")
        lines.append(f'*) echo "stub {name}: unexpected arguments: $*" >&2; exit 99 ;;')
        lines.append("esac")
        path = self.bin / name
        if path.is_symlink() or path.exists():
            path.unlink()
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o755)

    def unstub(self, name: str) -> None:
        (self.bin / name).unlink()

    # --- running -----------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        return {
            "PATH": str(self.bin),
            "DLENV_ROOT": str(self.root),
            "HOME": str(self.home),
            "TMPDIR": str(self.tmp),
            "LC_ALL": "C",
        }

    def run(self, *args: str, prefix: tuple[str, ...] = ()) -> Result:
        completed = subprocess.run(
            [*prefix, str(self.bin / "bash"), str(DOCTOR), *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return Result(completed.returncode, completed.stdout, completed.stderr)

    def run_json(self, *args: str) -> Result:
        result = self.run("--json", *args)
        assert result.returncode in (0, 1), result.stderr
        return result


def healthy_gpu_host(base: Path, *, engine: str = "docker") -> FakeHost:
    """An Ubuntu 24.04 host with one L4, driver 570 loaded, toolkit 1.18.0, Docker 27.5 with
    the nvidia runtime (systemd cgroups, /dev/char links present) or Podman 5.2 with CDI."""
    host = FakeHost(base)
    host.write("/etc/os-release", UBUNTU_2404)
    host.write("/proc/sys/kernel/osrelease", "6.8.0-58-generic\n")
    host.write("/proc/version", "Linux version 6.8.0-58-generic (buildd@lcy02-amd64-117)\n")
    gpu = "/sys/bus/pci/devices/0000:01:00.0"
    host.write(f"{gpu}/vendor", "0x10de\n")
    host.write(f"{gpu}/device", "0x27b8\n")
    host.write(f"{gpu}/class", "0x030200\n")
    host.write("/sys/bus/pci/devices/0000:00:1f.0/vendor", "0x8086\n")
    host.write("/sys/bus/pci/devices/0000:00:1f.0/class", "0x060100\n")
    host.write("/proc/driver/nvidia/version", PROC_VERSION)
    host.write(
        "/proc/modules",
        "nvidia_uvm 1794048 0 - Live 0x0000000000000000\n"
        "nvidia_drm 135168 0 - Live 0x0000000000000000\n"
        "nvidia_modeset 1638400 1 nvidia_drm, Live 0x0000000000000000\n"
        "nvidia 11476992 2 nvidia_uvm,nvidia_modeset, Live 0x0000000000000000 (POE)\n",
    )
    lib = "/usr/lib/x86_64-linux-gnu"
    host.write(f"{lib}/libnvidia-ml.so.{DRIVER}", "ELF")
    host.symlink(f"{lib}/libnvidia-ml.so.1", f"libnvidia-ml.so.{DRIVER}")
    for name, ident in {
        "nvidia0": "195:0",
        "nvidiactl": "195:255",
        "nvidia-modeset": "195:254",
        "nvidia-uvm": "508:0",
        "nvidia-uvm-tools": "508:1",
    }.items():
        host.char_device(f"/dev/{name}", ident)
        host.symlink(f"/dev/char/{ident}", f"../{name}")
    host.write(
        "/etc/apt/sources.list.d/ubuntu.sources",
        "Types: deb\nURIs: http://archive.ubuntu.com/ubuntu\n",
    )
    host.write(
        "/etc/apt/sources.list.d/nvidia-container-toolkit.list",
        "deb [signed-by=/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg]"
        " https://nvidia.github.io/libnvidia-container/stable/deb/$(ARCH) /\n"
        "#deb [signed-by=/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg]"
        " https://nvidia.github.io/libnvidia-container/experimental/deb/$(ARCH) /\n",
    )
    host.write(
        "/etc/nvidia-container-runtime/config.toml",
        '[nvidia-container-cli]\nldconfig = "@/sbin/ldconfig.real"\n\n'
        '[nvidia-container-runtime]\nlog-level = "info"\nmode = "auto"\n',
    )
    host.write("/var/run/cdi/nvidia.yaml", cdi_spec())
    host.stub(
        "modinfo",
        ("-F version nvidia", f"{DRIVER}\n", 0),
        ("-F signer nvidia", "", 0),
        (
            "nvidia",
            "filename: /lib/modules/6.8.0-58-generic/updates/dkms/nvidia.ko.zst\n"
            f"version: {DRIVER}\n",
            0,
        ),
    )
    host.stub("mokutil", ("--sb-state", "SecureBoot disabled\n", 0))
    host.stub("nvidia-smi", ("", nvidia_smi_output(), 0))
    set_toolkit(host, "1.18.0")
    if engine == "docker":
        host.write(
            "/etc/docker/daemon.json",
            json.dumps(
                {"runtimes": {"nvidia": {"args": [], "path": "nvidia-container-runtime"}}}, indent=4
            ),
        )
        set_docker(host, docker_info())
    else:
        set_podman(host, "5.2.2")
    return host


def set_toolkit(host: FakeHost, version: str, lib_version: str | None = None) -> None:
    host.stub(
        "nvidia-ctk",
        ("--version", f"NVIDIA Container Toolkit CLI version {version}\ncommit: 1a2b3c4\n", 0),
        (
            "cdi list",
            "INFO[0000] Found 3 CDI devices\n"
            "nvidia.com/gpu=0\nnvidia.com/gpu=GPU-6f3c\nnvidia.com/gpu=all\n",
            0,
        ),
    )
    lib = lib_version or version
    host.stub(
        "nvidia-container-cli",
        ("-V", f"cli-version: {lib}\nlib-version: {lib}\nbuild date: 2025-09-10T15:01+00:00\n", 0),
    )
    host.stub("nvidia-container-runtime-hook", ("*", "", 0))


def set_docker(
    host: FakeHost, info: str, *, context: str = "default", run: tuple[str, int] | None = None
) -> None:
    cases = [
        ("info --format *", info + "\n", 0),
        ("context show", context + "\n", 0),
    ]
    if run is not None:
        cases.append(("run *", *run))
    host.stub("docker", *cases)


def set_podman(
    host: FakeHost, version: str, *, rootless: bool = False, run: tuple[str, int] | None = None
) -> None:
    cases = [
        ("version --format *", version + "\n", 0),
        ("info --format *", ("true" if rootless else "false") + "\n", 0),
    ]
    if run is not None:
        cases.append(("run *", *run))
    host.stub("podman", *cases)


def snapshot(*directories: Path) -> dict[str, tuple[int, int, int, bytes]]:
    """Every path under the directories with its mode, size, mtime and content (or link)."""
    state: dict[str, tuple[int, int, int, bytes]] = {}
    for directory in directories:
        for dirpath, dirnames, filenames in os.walk(directory):
            for name in [*dirnames, *filenames]:
                path = Path(dirpath) / name
                info = path.lstat()
                if path.is_symlink():
                    content = os.readlink(path).encode()
                elif path.is_file():
                    content = path.read_bytes()
                else:
                    content = b""
                state[str(path)] = (info.st_mode, info.st_size, info.st_mtime_ns, content)
    return state
