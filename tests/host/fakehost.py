"""A fake host for the step scripts: one multi-call stub for the package managers, systemctl,
nvidia-ctk, lspci, mokutil, curl, gpg, … that other distros (and a GPU) would provide.

Each stub on PATH is a tiny wrapper that runs ``fakehost.py <tool> ARGS``. State lives in the
JSON file $FAKEHOST_STATE (packages, services, Secure Boot, GPUs, failures to inject); files go
under $DLENV_ROOT, as the real tools would write them under /. Every call is appended to
$FAKEHOST_LOG. Installing a package that ships a command (docker-ce-cli → docker) puts that
command's stub into $FAKEHOST_BIN, so `command -v` sees what a real install would give.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

DOCKER_FINGERPRINT = "060A61C51B558A7F742B77AAC52FEB6B621E9F35"
# Package → command it puts on PATH.
COMMANDS = {
    "docker-ce-cli": "docker",
    "docker.io": "docker",
    "podman": "podman",
    "nvidia-container-toolkit-base": "nvidia-ctk",
    "mokutil": "mokutil",
    "dkms": "dkms",
    "akmods": "kmodgenca",
    "shim-signed": "update-secureboot-policy",
}
STDIN = ""  # gpg --dearmor input, read in __main__ before the lock
PIN = re.compile(r"^(?P<name>.+?)[=-](?P<version>\d[\w.~+]*-\d+)$")


def root(path: str) -> Path:
    return Path(os.environ.get("DLENV_ROOT", "") + path)


def load() -> dict[str, Any]:
    return json.loads(Path(os.environ["FAKEHOST_STATE"]).read_text())


def save(state: dict[str, Any]) -> None:
    path = Path(os.environ["FAKEHOST_STATE"])
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(state, indent=1, sort_keys=True))
    partial.replace(path)


def write(path: str, text: str) -> None:
    target = root(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def make_stub(bin_dir: Path, tool: str) -> None:
    stub = bin_dir / tool
    stub.write_text(f'#!/bin/sh\nexec {sys.executable} -S {Path(__file__).resolve()} {tool} "$@"\n')
    stub.chmod(0o755)


def install(state: dict[str, Any], names: list[str]) -> None:
    for arg in names:
        if arg.startswith("-"):
            continue
        if arg.startswith("http"):
            name, version = re.sub(r"(-latest)?-\d+\.noarch\.rpm$", "", arg.rsplit("/", 1)[1]), "1"
        elif match := PIN.match(arg):
            name, version = match["name"], match["version"]
        else:
            name, version = arg, state.get("available", {}).get(arg, "1.0-1")
        state["packages"][name] = version
        if name in COMMANDS:
            make_stub(Path(os.environ["FAKEHOST_BIN"]), COMMANDS[name])


def remove(state: dict[str, Any], names: list[str]) -> None:
    for name in names:
        if state["packages"].pop(name, None) is not None and name in COMMANDS:
            (Path(os.environ["FAKEHOST_BIN"]) / COMMANDS[name]).unlink(missing_ok=True)


def option(args: list[str], flag: str) -> str | None:
    for index, arg in enumerate(args):
        if arg == flag and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


def main(tool: str, args: list[str]) -> int:
    state = load()
    with Path(os.environ["FAKEHOST_LOG"]).open("a") as log:
        log.write(" ".join([tool, *args]) + "\n")
    call = " ".join([tool, *args])
    for failing in state.get("fail", []):
        if call.startswith(failing):
            print(f"{tool}: simulated failure", file=sys.stderr)
            return 100
    packages: dict[str, str] = state["packages"]
    services: dict[str, list[str]] = state["services"]

    if tool == "uname":
        print({"-m": state["arch"], "-r": state["kernel"]}.get(args[0] if args else "", "Linux"))
    elif tool == "id":
        if args[:1] == ["-nG"]:
            print(" ".join([args[1], *state.get("groups", {}).get(args[1], [])]))
        else:
            print(state["uid"])
    elif tool == "lspci":
        for line in state.get("lspci", []):
            print(line)
    elif tool == "mokutil":
        if args[0] == "--sb-state":
            print(f"SecureBoot {state['secure_boot']}")
        elif args[0] == "--test-key":
            key = args[1].rsplit("/", 1)[1]
            if key in state.get("mok_enrolled", []):
                print(f"{args[1]} is already enrolled")
            elif key in state.get("mok_pending", []):
                print(f"{args[1]} is already in the enrollment request")
            else:
                print(f"{args[1]} is not enrolled")
                return 1
        elif args[0] == "--import":
            state.setdefault("mok_pending", []).append(args[1].rsplit("/", 1)[1])
    elif tool == "dpkg-query":
        name = args[-1]
        if name not in packages:
            print(f"dpkg-query: no packages found matching {name}", file=sys.stderr)
            return 1
        print(f"ii |{packages[name]}")
    elif tool == "rpm":
        if args[0] == "--import":
            packages["gpg-pubkey-621e9f35"] = "621e9f35-1"
        else:
            name = args[-1]
            if name not in packages:
                print(f"package {name} is not installed")
                return 1
            print(packages[name])
    elif tool == "apt-get":
        words = [a for a in args if not a.startswith("-")]
        if words[0] == "install":
            install(state, words[1:])
        elif words[0] == "remove":
            remove(state, words[1:])
    elif tool in ("dnf", "dnf5"):
        dnf5 = (Path(os.environ["FAKEHOST_BIN"]) / "dnf5").exists()
        words = [a for a in args if a != "-y"]
        if words[0] == "install":
            install(state, words[1:])
        elif words[0] == "remove":
            remove(state, words[1:])
        elif words[0] == "mark":
            if words[1] != ("user" if dnf5 else "install"):
                print(f"dnf mark: unknown subcommand {words[1]}", file=sys.stderr)
                return 2
        elif words[0] == "config-manager":
            if dnf5 and words[1] == "addrepo":
                url = option(words, "--from-repofile")
            elif not dnf5 and words[1] == "--add-repo":
                url = words[2]
            else:
                print(f"config-manager: unknown argument {words[1]}", file=sys.stderr)
                return 2
            assert url is not None
            write(f"/etc/yum.repos.d/{url.rsplit('/', 1)[1]}", f"[repo]\nbaseurl={url}\n")
    elif tool == "zypper":
        words = [a for a in args if not a.startswith("-")]
        if words[0] == "install":
            install(state, words[1:])
        elif words[0] == "remove":
            remove(state, words[1:])
        elif words[0] == "addrepo":
            write(f"/etc/zypp/repos.d/{words[-1]}.repo", f"[{words[-1]}]\nbaseurl={words[-2]}\n")
    elif tool == "systemctl":
        quiet = [a for a in args if a not in ("--quiet", "--now", "--user")]
        verb, units = quiet[0], quiet[1:]
        if verb in ("is-enabled", "is-active"):
            kind = "enabled" if verb == "is-enabled" else "active"
            return 0 if all(u in services[kind] for u in units) else 1
        for unit in units:
            if verb == "enable":
                services["enabled"].append(unit)
            if verb in ("restart", "start") or "--now" in args:
                services["active"].append(unit)
            if unit == "docker.service" and verb == "restart":
                daemon = root("/etc/docker/daemon.json")
                state["dockerd_nvidia"] = daemon.exists() and "nvidia" in daemon.read_text()
    elif tool == "curl":
        url = args[-1] if "-o" not in args else args[args.index("-o") - 1]
        fingerprint = state.get("docker_key_fingerprint", DOCKER_FINGERPRINT)
        key = f"FAKE KEY {fingerprint if 'download.docker.com' in url else 'OTHER'}\n"
        destination = option(args, "-o")
        if destination:
            write(destination, key)
        else:
            sys.stdout.write(key)
    elif tool == "gpg":
        if "--show-keys" in args:
            text = Path(args[-1]).read_text()
            print(f"fpr:::::::::{text.split()[-1]}:")
        elif "--dearmor" in args:
            write(option(args, "-o") or "/dev/null", STDIN)
    elif tool == "nvidia-ctk":
        if args[0] == "--version":
            print(f"NVIDIA Container Toolkit CLI version {state.get('ctk_version', '1.18.0')}")
        elif args[:2] == ["runtime", "configure"]:
            write(
                "/etc/docker/daemon.json",
                '{"runtimes": {"nvidia": {"path": "nvidia-container-runtime"}}}\n',
            )
        elif args[:2] == ["cdi", "generate"]:
            write(option(args, "--output") or "/dev/null", "cdiVersion: 0.5.0\n")
    elif tool == "docker":
        if args[0] == "--version":
            print(f"Docker version {packages.get('docker-ce', '20.10.24')}, build fake")
        elif args[0] == "info":
            print('{"nvidia":{},"runc":{}}' if state.get("dockerd_nvidia") else '{"runc":{}}')
    elif tool == "podman" and args[0] == "--version":
        print(f"podman version {state.get('podman_version', '4.9.3')}")
    elif tool == "usermod":
        state.setdefault("groups", {}).setdefault(args[-1], []).append(args[-2])
    elif tool == "kmodgenca":
        write("/etc/pki/akmods/certs/public_key.der", "akmods key\n")
    elif tool == "dkms" and args[:1] == ["generate_mok"]:
        write("/var/lib/dkms/mok.pub", "dkms key\n")
    elif tool == "update-secureboot-policy":
        write("/var/lib/shim-signed/mok/MOK.der", "ubuntu key\n")
    elif tool == "getenforce":
        print(state.get("selinux", "Disabled"))
    elif tool == "needs-restarting":
        return 1 if state.get("needs_reboot") else 0
    save(state)
    return 0


if __name__ == "__main__":
    # Stubs in one pipeline (curl | gpg) run at once: one state change at a time. gpg reads its
    # input before taking the lock, or it would hold the lock that curl needs to write it.
    STDIN = sys.stdin.read() if sys.argv[1] == "gpg" and "--dearmor" in sys.argv else ""
    with Path(os.environ["FAKEHOST_STATE"] + ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        sys.exit(main(sys.argv[1], sys.argv[2:]))
