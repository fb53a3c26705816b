"""images/matrix.yaml → a validated, inheritance-resolved model.

Every error names the file and line of the offending entry, and what to change.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dlenv import REPO_ROOT
from dlenv.errors import DlEnvError

DEFAULT_MATRIX = REPO_ROOT / "images" / "matrix.yaml"

TOP_LEVEL_KEYS = {"image_name", "user", "uv_version", "cuda_lines", "variants"}
CUDA_LINE_KEYS = {"base_image", "toolkit_image", "python", "extra_pythons", "requirements"}
VARIANT_KEYS = {"parent", "description", "apt", "python"}
PYTHON_VERSION = re.compile(r"^3\.\d{1,2}$")
CUDA_LINE_NAME = re.compile(r"^\d+\.\d+$")
VARIANT_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class CudaLine:
    name: str
    base_image: str
    toolkit_image: str | None
    python: str
    extra_pythons: tuple[str, ...]
    requirements: Mapping[str, tuple[str, ...]]

    @property
    def pythons(self) -> tuple[str, ...]:
        return (self.python, *self.extra_pythons)


@dataclass(frozen=True)
class Variant:
    name: str
    parent: str | None
    description: str
    own_apt: tuple[str, ...]
    own_python: tuple[str, ...]
    apt: tuple[str, ...] = ()
    python: tuple[str, ...] = ()


@dataclass(frozen=True)
class Target:
    """One buildable image: a variant on a CUDA line with a given Python."""

    variant: str
    cuda: str
    python: str


@dataclass(frozen=True)
class Matrix:
    source: Path
    image_name: str
    user: str
    uv_version: str
    cuda_lines: Mapping[str, CudaLine]
    variants: Mapping[str, Variant]

    def variant(self, name: str) -> Variant:
        if name not in self.variants:
            raise DlEnvError(
                f"unknown variant {name!r}",
                f"use one of: {', '.join(self.variants)} (defined in {self.source})",
            )
        return self.variants[name]

    def cuda_line(self, name: str) -> CudaLine:
        if name not in self.cuda_lines:
            raise DlEnvError(
                f"unknown CUDA line {name!r}",
                f"use one of: {', '.join(self.cuda_lines)} (defined in {self.source})",
            )
        return self.cuda_lines[name]

    @property
    def default_cuda(self) -> str:
        return next(iter(self.cuda_lines))

    def chain(self, name: str) -> list[Variant]:
        """The variant and its ancestors, root first: chain("full") == [base, rapids, full]."""
        self.variant(name)
        return _ancestry(name, self.variants)

    def children(self, name: str) -> list[Variant]:
        return [v for v in self.variants.values() if v.parent == name]

    def requirements(self, variant: str, cuda: str) -> tuple[str, ...]:
        """Top-level Python requirements of a variant on a CUDA line, ancestors' included."""
        line = self.cuda_line(cuda)
        found: list[str] = []
        for member in self.chain(variant):
            found.extend(member.own_python)
            found.extend(line.requirements.get(member.name, ()))
        return tuple(found)

    def targets(self) -> list[Target]:
        """Every variant on every CUDA line, each with the line's default Python."""
        return [
            Target(variant, line.name, line.python)
            for line in self.cuda_lines.values()
            for variant in self.variants
        ]


# --- loading -------------------------------------------------------------------------------


def load_matrix(path: Path | None = None) -> Matrix:
    """Load and validate the matrix: `path`, else $DLENV_MATRIX, else images/matrix.yaml."""
    source = Path(path or os.environ.get("DLENV_MATRIX") or DEFAULT_MATRIX)
    try:
        text = source.read_text()
    except OSError as error:
        raise DlEnvError(
            f"cannot read matrix {source}: {error.strerror}", "check the path"
        ) from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else str(source)
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise DlEnvError(f"{where}: invalid YAML: {problem}", "fix the YAML syntax") from None
    finally:
        loader.dispose()
    if node is None:
        raise DlEnvError(f"{source}:1: matrix is empty", "declare cuda_lines and variants")
    lines: dict[tuple[str, ...], int] = {}
    _record_lines(node, (), lines)
    return _validate(source, data, lines)


def _record_lines(
    node: yaml.Node, path: tuple[str, ...], lines: dict[tuple[str, ...], int]
) -> None:
    """Remember the line of every path (for a mapping entry, the line of its key)."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*path, str(key_node.value))
            _record_lines(value_node, key, lines)
            lines[key] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, (*path, str(index)), lines)


class _Checker:
    def __init__(self, source: Path, lines: Mapping[tuple[str, ...], int]) -> None:
        self.source = source
        self.lines = lines

    def fail(self, path: tuple[str, ...], problem: str, fix: str) -> DlEnvError:
        probe = path
        while probe and probe not in self.lines:
            probe = probe[:-1]
        line = self.lines.get(probe, 1)
        dotted = ".".join(path) if path else "top level"
        return DlEnvError(f"{self.source}:{line}: {dotted}: {problem}", fix)

    def mapping(self, value: Any, path: tuple[str, ...], allowed: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, "must be a mapping", "write it as `key: value` pairs")
        for key in value:
            if key not in allowed:
                raise self.fail(
                    (*path, key),
                    f"unknown key {key!r}",
                    f"use one of: {', '.join(sorted(allowed))}",
                )
        return value

    def string(self, value: Any, path: tuple[str, ...], *, required: bool = True) -> str | None:
        if value is None:
            if required:
                raise self.fail(path, "is required", f"add `{path[-1]}:` with a value")
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self.fail(path, "must be a string", "quote the value")
        return str(value)

    def strings(self, value: Any, path: tuple[str, ...]) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(path, "must be a list of strings", "write one `- item` per line")
        if len(set(value)) != len(value):
            raise self.fail(path, "has duplicate entries", "list each entry once")
        return tuple(value)

    def python_version(self, value: Any, path: tuple[str, ...]) -> str:
        if isinstance(value, float):
            raise self.fail(path, f"{value} is a number, not a version", 'quote it, e.g. "3.10"')
        version = self.string(value, path)
        assert version is not None
        if not PYTHON_VERSION.match(version):
            raise self.fail(path, f"{version!r} is not a Python version", 'quote it, e.g. "3.12"')
        return version


def _validate(source: Path, data: Any, lines: Mapping[tuple[str, ...], int]) -> Matrix:
    check = _Checker(source, lines)
    top = check.mapping(data, (), TOP_LEVEL_KEYS)
    for required in ("cuda_lines", "variants"):
        if required not in top:
            raise check.fail((required,), "is required", f"add a `{required}:` section")

    raw_variants = check.mapping(top["variants"], ("variants",), set(top["variants"] or {}))
    if not raw_variants:
        raise check.fail(("variants",), "declares no variant", "add at least one variant")
    variants: dict[str, Variant] = {}
    for name, raw in raw_variants.items():
        path = ("variants", name)
        if not VARIANT_NAME.match(name):
            raise check.fail(path, f"invalid variant name {name!r}", "use lowercase letters")
        body = check.mapping(raw, path, VARIANT_KEYS)
        parent = check.string(body.get("parent"), (*path, "parent"), required=False)
        if parent is not None and parent not in raw_variants:
            raise check.fail(
                (*path, "parent"),
                f"unknown parent {parent!r}",
                f"use one of: {', '.join(n for n in raw_variants if n != name)}",
            )
        variants[name] = Variant(
            name=name,
            parent=parent,
            description=check.string(body.get("description"), (*path, "description")) or "",
            own_apt=check.strings(body.get("apt"), (*path, "apt")),
            own_python=check.strings(body.get("python"), (*path, "python")),
        )
    for name in variants:
        _check_acyclic(name, variants, check)
    resolved = {name: _resolve(name, variants) for name in variants}

    raw_lines = check.mapping(top["cuda_lines"], ("cuda_lines",), set(top["cuda_lines"] or {}))
    if not raw_lines:
        raise check.fail(("cuda_lines",), "declares no CUDA line", "add at least one line")
    cuda_lines: dict[str, CudaLine] = {}
    for name, raw in raw_lines.items():
        path = ("cuda_lines", name)
        if not CUDA_LINE_NAME.match(name):
            raise check.fail(path, f"invalid CUDA line {name!r}", 'quote it, e.g. "12.8"')
        body = check.mapping(raw, path, CUDA_LINE_KEYS)
        raw_requirements = body.get("requirements") or {}
        requirements_path = (*path, "requirements")
        check.mapping(raw_requirements, requirements_path, set(variants))
        python = check.python_version(body.get("python"), (*path, "python"))
        extra = tuple(
            check.python_version(v, (*path, "extra_pythons", str(i)))
            for i, v in enumerate(body.get("extra_pythons") or [])
        )
        cuda_lines[name] = CudaLine(
            name=name,
            base_image=check.string(body.get("base_image"), (*path, "base_image")) or "",
            toolkit_image=check.string(
                body.get("toolkit_image"), (*path, "toolkit_image"), required=False
            ),
            python=python,
            extra_pythons=extra,
            requirements={
                variant: check.strings(reqs, (*requirements_path, variant))
                for variant, reqs in raw_requirements.items()
            },
        )

    return Matrix(
        source=source,
        image_name=check.string(top.get("image_name", "dl-env"), ("image_name",)) or "dl-env",
        user=check.string(top.get("user", "dev"), ("user",)) or "dev",
        uv_version=check.string(top.get("uv_version", "0.9.5"), ("uv_version",)) or "",
        cuda_lines=cuda_lines,
        variants=resolved,
    )


def _check_acyclic(name: str, variants: Mapping[str, Variant], check: _Checker) -> None:
    seen = [name]
    current = variants[name].parent
    while current is not None:
        if current in seen:
            cycle = " -> ".join([*seen, current])
            raise check.fail(
                ("variants", name, "parent"), f"inheritance cycle {cycle}", "remove one parent"
            )
        seen.append(current)
        current = variants[current].parent


def _ancestry(name: str, variants: Mapping[str, Variant]) -> list[Variant]:
    """The variant and its ancestors, root first (the parents are known to be acyclic)."""
    chain: list[Variant] = []
    current: str | None = name
    while current is not None:
        chain.insert(0, variants[current])
        current = variants[current].parent
    return chain


def _resolve(name: str, variants: Mapping[str, Variant]) -> Variant:
    apt: list[str] = []
    python: list[str] = []
    for member in _ancestry(name, variants):
        apt.extend(p for p in member.own_apt if p not in apt)
        python.extend(p for p in member.own_python if p not in python)
    own = variants[name]
    return Variant(
        name=own.name,
        parent=own.parent,
        description=own.description,
        own_apt=own.own_apt,
        own_python=own.own_python,
        apt=tuple(apt),
        python=tuple(python),
    )
