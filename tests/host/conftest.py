"""A fake host (fake root + stub commands) on which the real step scripts run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fakehost import COMMANDS  # the stub next to this file (tests/host is on sys.path)

from dlenv.host.plan import SCRIPTS_DIR, SetupOptions
from dlenv.host.setup_run import SetupPlan, plan_setup

HERE = Path(__file__).resolve().parent
FAKEHOST = HERE / "fakehost.py"
OS_RELEASES = HERE / "fixtures" / "os-release"
# Real tools the scripts need; everything distro- or GPU-specific is a stub.
REAL_TOOLS = [
    "bash",
    "sh",
    "sed",
    "grep",
    "awk",
    "cat",
    "tr",
    "cut",
    "sort",
    "head",
    "tail",
    "mkdir",
    "rm",
    "mv",
    "cp",
    "install",
    "chmod",
    "od",
    "dirname",
    "basename",
    "env",
    "tee",
    "wc",
    "readlink",
    "mktemp",
    "ls",
]
BASE_TOOLS = ("uname", "id", "lspci", "systemctl", "curl", "gpg", "usermod")
FAMILY_TOOLS = {
    "apt": ("dpkg-query", "apt-get", "update-initramfs"),
    "dnf4": ("rpm", "dnf", "dracut", "getenforce", "needs-restarting"),
    "dnf5": ("rpm", "dnf", "dnf5", "dracut", "getenforce", "needs-restarting"),
    "zypper": ("rpm", "zypper", "dracut"),
}
# Directories the distro's base system already has.
STANDARD_DIRS = {
    "apt": ("etc/apt/sources.list.d", "usr/share/keyrings", "etc/modprobe.d"),
    "dnf4": ("etc/yum.repos.d", "etc/pki/rpm-gpg", "etc/modprobe.d"),
    "dnf5": ("etc/yum.repos.d", "etc/pki/rpm-gpg", "etc/modprobe.d"),
    "zypper": ("etc/zypp/repos.d", "etc/modprobe.d"),
}
ADA_GPU = (
    "01:00.0 VGA compatible controller [0300]: NVIDIA Corporation AD102 [GeForce RTX 4090] "
    "[10de:2684] (rev a1)"
)
PASCAL_GPU = (
    "01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GP102 [GeForce GTX 1080 Ti] "
    "[10de:1b06] (rev a1)"
)
H100_GPU = "41:00.0 3D controller [0302]: NVIDIA Corporation GH100 [H100 PCIe] [10de:2331] (rev a1)"


@dataclass
class FakeHost:
    """One fake machine: its root directory, its PATH of stubs and its state file."""

    base: Path

    @property
    def root(self) -> Path:
        return self.base / "root"

    @property
    def bin(self) -> Path:
        return self.base / "bin"

    @property
    def state_file(self) -> Path:
        return self.base / "state.json"

    @property
    def log_file(self) -> Path:
        return self.base / "calls.log"

    def env(self) -> dict[str, str]:
        return {
            "PATH": f"{self.bin}:{self.base / 'tools'}",
            "DLENV_ROOT": str(self.root),
            "FAKEHOST_STATE": str(self.state_file),
            "FAKEHOST_LOG": str(self.log_file),
            "FAKEHOST_BIN": str(self.bin),
            "HOME": str(self.base / "home"),
            "LC_ALL": "C",
        }

    @property
    def state(self) -> dict[str, Any]:
        return json.loads(self.state_file.read_text())  # type: ignore[no-any-return]

    def update(self, **changes: Any) -> None:
        self.state_file.write_text(json.dumps({**self.state, **changes}))

    def write(self, path: str, text: str = "") -> None:
        target = self.root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def add_tools(self, *tools: str) -> None:
        for tool in tools:
            stub = self.bin / tool
            stub.write_text(f'#!/bin/sh\nexec {sys.executable} -S {FAKEHOST} {tool} "$@"\n')
            stub.chmod(0o755)

    def calls(self) -> list[str]:
        return self.log_file.read_text().splitlines() if self.log_file.exists() else []

    def script(self, step: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(SCRIPTS_DIR / f"{step}.sh"), *args],
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )

    def plan(self, **options: Any) -> SetupPlan:
        return plan_setup(SetupOptions(**options), env=self.env())


def make_host(
    base: Path,
    os_release: str,
    *,
    family: str,
    gpus: tuple[str, ...] = (ADA_GPU,),
    secure_boot: str | None = "disabled",
    packages: dict[str, str] | None = None,
    systemd: bool = True,
    wsl: bool = False,
    nouveau: bool = False,
    state: dict[str, Any] | None = None,
) -> FakeHost:
    """A host running ``os_release`` (a fixture name) with ``family``'s package tools."""
    host = FakeHost(base)
    tools_dir = base / "tools"
    for directory in (host.root, host.bin, tools_dir, base / "home"):
        directory.mkdir(parents=True, exist_ok=True)
    for tool in REAL_TOOLS:
        real = shutil.which(tool)
        assert real, f"{tool} is needed to run the host scripts"
        (tools_dir / tool).symlink_to(real)
    host.state_file.write_text(
        json.dumps(
            {
                "uid": 0,
                "arch": "x86_64",
                "kernel": "6.8.0-45-generic",
                "lspci": list(gpus),
                "secure_boot": secure_boot or "disabled",
                "packages": {},
                "services": {"enabled": [], "active": []},
                **(state or {}),
            }
        )
    )
    host.write("/etc/os-release", (OS_RELEASES / os_release).read_text())
    kernel = "Linux version 6.8.0-45-generic (buildd@lcy02)"
    host.write("/proc/version", kernel + (" microsoft-standard-WSL2" if wsl else "") + "\n")
    modules = "nvme 61440 3 - Live 0x0\n" + ("nouveau 2850816 1 - Live 0x0\n" if nouveau else "")
    host.write("/proc/modules", modules)
    if systemd:
        (host.root / "run/systemd/system").mkdir(parents=True)
    if wsl:
        host.write("/usr/lib/wsl/lib/nvidia-smi", "")
    for directory in STANDARD_DIRS[family]:
        (host.root / directory).mkdir(parents=True, exist_ok=True)
    host.add_tools(*BASE_TOOLS, *FAMILY_TOOLS[family])
    if secure_boot is not None:
        host.add_tools("mokutil")
    host.update(packages=dict(packages or {}))
    host.add_tools(*(COMMANDS[package] for package in packages or {} if package in COMMANDS))
    return host


@pytest.fixture
def fake_host(tmp_path: Path) -> Callable[..., FakeHost]:
    """Factory: ``fake_host("debian-12", family="apt", ...)`` → a FakeHost under tmp_path."""
    counter = iter(range(1000))

    def factory(os_release: str, **kwargs: Any) -> FakeHost:
        return make_host(tmp_path / f"host{next(counter)}", os_release, **kwargs)

    return factory
