"""Lock files: one per variant x CUDA line x Python, compiled by `uv pip compile`.

Variants are compiled leaf first, each constrained by its children's locks, so every pin a
parent has is exactly the pin its children have: the parent's layers are shared, not rebuilt.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dlenv import REPO_ROOT
from dlenv.errors import DlEnvError
from dlenv.matrix import Matrix
from dlenv.runner import Command

LOCK_ROOT = REPO_ROOT / "images" / "locks"
PLATFORM = "x86_64-manylinux_2_28"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def lock_dir(cuda: str, python: str, root: Path = LOCK_ROOT) -> Path:
    return root / f"cuda{cuda}-py{python}"


def lock_file(variant: str, cuda: str, python: str, root: Path = LOCK_ROOT) -> Path:
    return lock_dir(cuda, python, root) / f"{variant}.txt"


def input_file(variant: str, cuda: str, python: str, root: Path = LOCK_ROOT) -> Path:
    return lock_dir(cuda, python, root) / f"{variant}.in"


def input_text(matrix: Matrix, variant: str, cuda: str) -> str:
    """The requirements a lock is compiled from; generated from the matrix, never hand-edited."""
    header = f"# generated from images/matrix.yaml for {variant} on CUDA {cuda}: do not edit\n"
    return header + "".join(f"{req}\n" for req in matrix.requirements(variant, cuda))


def leaf_first(matrix: Matrix) -> list[str]:
    """Variants ordered so that every child comes before its parent."""
    ordered: list[str] = []

    def visit(name: str) -> None:
        for child in matrix.children(name):
            visit(child.name)
        ordered.append(name)

    for root in (v.name for v in matrix.variants.values() if v.parent is None):
        visit(root)
    return ordered


@dataclass(frozen=True)
class LockTarget:
    cuda: str
    python: str


def lock_targets(
    matrix: Matrix, cuda: str | None = None, python: str | None = None
) -> list[LockTarget]:
    lines = [matrix.cuda_line(cuda)] if cuda else list(matrix.cuda_lines.values())
    targets: list[LockTarget] = []
    for line in lines:
        if python is not None and python not in line.pythons:
            raise DlEnvError(
                f"CUDA line {line.name} declares no Python {python}",
                f"add it to cuda_lines.{line.name}.extra_pythons in {matrix.source}",
            )
        targets.extend(LockTarget(line.name, p) for p in line.pythons if python in (None, p))
    return targets


def plan_lock(
    matrix: Matrix, target: LockTarget, root: Path = LOCK_ROOT, *, upgrade: bool = False
) -> list[Command]:
    """The `uv pip compile` commands for one CUDA line and Python, leaf variant first."""
    commands = []
    for variant in leaf_first(matrix):
        argv = [
            "uv", "pip", "compile", "--quiet",
            str(input_file(variant, target.cuda, target.python, root)),
            "--output-file", str(lock_file(variant, target.cuda, target.python, root)),
            "--python-version", target.python,
            "--python-platform", PLATFORM,
            "--generate-hashes",
            # Only wheels: cuML's sdist is a stub that downloads from an index users cannot reach.
            "--no-build",
            "--custom-compile-command", "invoke deps.lock",
        ]  # fmt: skip
        for child in matrix.children(variant):
            argv += ["--constraint", str(lock_file(child.name, target.cuda, target.python, root))]
        if upgrade:
            argv.append("--upgrade")
        commands.append(
            Command(tuple(argv), f"lock {variant} for CUDA {target.cuda}, Python {target.python}")
        )
    return commands


def read_pins(path: Path) -> dict[str, str]:
    """Package → version from a compiled lock file (names normalized as in PEP 503)."""
    pins = {}
    for line in path.read_text().splitlines():
        match = PIN.match(line)
        if match:
            pins[normalize(match.group(1))] = match.group(2)
    return pins


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def check_locks(matrix: Matrix, targets: list[LockTarget], root: Path = LOCK_ROOT) -> list[str]:
    """Problems with the committed locks: missing, stale inputs, or a child that moved a pin."""
    problems = []
    for target in targets:
        pins: dict[str, Mapping[str, str]] = {}
        for variant in matrix.variants:
            lock = lock_file(variant, target.cuda, target.python, root)
            source = input_file(variant, target.cuda, target.python, root)
            if not lock.exists():
                problems.append(f"{lock.relative_to(root.parent.parent)} is missing")
                continue
            if not source.exists() or source.read_text() != input_text(
                matrix, variant, target.cuda
            ):
                problems.append(
                    f"{source.relative_to(root.parent.parent)} is stale: matrix.yaml changed"
                )
            pins[variant] = read_pins(lock)
        for member in matrix.variants.values():
            if member.parent is None or member.name not in pins or member.parent not in pins:
                continue
            child, parent = pins[member.name], pins[member.parent]
            for package, version in sorted(parent.items()):
                if child.get(package) != version:
                    problems.append(
                        f"cuda{target.cuda}-py{target.python}: {member.name} pins {package}=="
                        f"{child.get(package, '(absent)')} but its parent {member.parent} pins "
                        f"{version}"
                    )
    return problems


def require_lock(
    matrix: Matrix, variant: str, cuda: str, python: str, root: Path = LOCK_ROOT
) -> Path:
    """The lock a build installs from; a plan-time error when it does not exist for this Python."""
    lock = lock_file(variant, cuda, python, root)
    if not lock.exists():
        known = ", ".join(matrix.cuda_line(cuda).pythons)
        raise DlEnvError(
            f"no lock for {variant} on CUDA {cuda} with Python {python} "
            f"(the base image's Python); locks exist for Python {known}",
            f"add {python} to cuda_lines.{cuda}.extra_pythons in images/matrix.yaml and run "
            f"`invoke deps.lock --cuda {cuda} --python {python}`, or use a base image with "
            f"Python {known}",
        )
    return lock


def package_version(lock: Path, package: str) -> str | None:
    return read_pins(lock).get(normalize(package))
