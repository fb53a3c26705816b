"""`image` namespace: build the variant images, list the matrix, bootstrap an offline base."""

from __future__ import annotations

import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from dlenv import REPO_ROOT
from dlenv.build import BuildRequest, PlannedBuild, plan_build
from dlenv.builder import Builder, detect_builder, run_probe
from dlenv.commands import user_errors
from dlenv.commands.image_matrix import matrix
from dlenv.errors import DlEnvError
from dlenv.locks import package_version, require_lock
from dlenv.matrix import Matrix, load_matrix
from dlenv.runner import print_plan, run_plan
from dlenv.text import format_table

HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
BOOTSTRAP_SCRIPT = REPO_ROOT / "scripts" / "image" / "bootstrap-base.sh"


def git_sha() -> str:
    code, out = run_probe(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"])
    return out if code == 0 else ""


def python_of_base(matrix: Matrix, cuda: str, base_image: str | None, python: str | None) -> str:
    """The base image's Python, which picks the lock: flag, else image label, else the line's."""
    if python:
        return python
    if not base_image:
        return matrix.cuda_line(cuda).python
    code, label = run_probe(
        [
            "docker",
            "image",
            "inspect",
            "--format",
            '{{index .Config.Labels "io.dl-env.python"}}',
            base_image,
        ]
    )
    if code == 0 and label and label != "<no value>":
        return label
    raise DlEnvError(
        f"cannot tell which Python base image {base_image} has",
        "pass --python X.Y (it selects the lock file), or label the image io.dl-env.python=X.Y",
    )


def resolve_ca_bundle(value: str) -> Path | None:
    if value == "none":
        return None
    if value == "auto":
        return HOST_CA_BUNDLE if HOST_CA_BUNDLE.is_file() else None
    return Path(value)


def report(planned: PlannedBuild, seconds: float) -> None:
    code, size = run_probe(["docker", "image", "inspect", "--format", "{{.Size}}", planned.tags[0]])
    shown = f"{int(size) / 1e9:.2f} GB" if code == 0 and size.isdigit() else "size unknown"
    print(f"built {planned.facts.variant} in {seconds:.0f}s, {shown}:")
    for tag in planned.tags:
        print(f"  {tag}")


@task(
    auto_shortflags=False,
    iterable=["variant", "cache_from", "cache_to"],
    help={
        "variant": "variant to build (repeatable): base, rapids, full — see `invoke image.list`",
        "all": "build every variant",
        "cuda": "CUDA line (default: the first in images/matrix.yaml)",
        "base_image": "base image instead of the line's nvidia/cuda image, e.g. the one from "
        "`invoke image.bootstrap-base`",
        "python": "Python of the base image (default: its io.dl-env.python label, or the line's)",
        "toolkit": "use the line's CUDA devel image (nvcc, headers) as base",
        "ca_bundle": "CA bundle passed to the build as a secret: auto (the host's, if any), "
        "none, or a path; never stored in the image",
        "uid": "UID of the image's non-root user (match your host user for bind mounts)",
        "gid": "GID of the image's non-root user",
        "push": "push instead of loading into the local engine (needs buildx)",
        "cache_from": "buildx --cache-from reference (repeatable)",
        "cache_to": "buildx --cache-to reference (repeatable)",
        "no_cache": "rebuild every layer",
        "pull": "pull a newer base image before building",
        "dry": "print the build commands instead of running them",
    },
)
@user_errors
def build(
    c: Context,
    variant: list[str] | None = None,
    all: bool = False,
    cuda: str | None = None,
    base_image: str | None = None,
    python: str | None = None,
    toolkit: bool = False,
    ca_bundle: str = "auto",
    uid: int = 1000,
    gid: int = 1000,
    push: bool = False,
    cache_from: list[str] | None = None,
    cache_to: list[str] | None = None,
    no_cache: bool = False,
    pull: bool = False,
    dry: bool = False,
) -> None:
    """Build variant images with BuildKit; print tags, size and time of each."""
    matrix = load_matrix()
    names = tuple(matrix.variants) if all else tuple(variant or ())
    line = cuda or matrix.default_cuda
    matrix.cuda_line(line)
    for name in names:
        matrix.variant(name)
    request = BuildRequest(
        variants=names,
        cuda=line,
        python=python_of_base(matrix, line, base_image, python),
        base_image=base_image,
        toolkit=toolkit,
        ca_bundle=resolve_ca_bundle(ca_bundle),
        uid=uid,
        gid=gid,
        push=push,
        cache_from=tuple(cache_from or ()),
        cache_to=tuple(cache_to or ()),
        no_cache=no_cache,
        pull=pull,
    )
    try:
        builder = detect_builder()
    except DlEnvError:
        if not dry:
            raise
        builder = Builder(cli="docker", buildx=True)
        print("# note: no usable builder here; showing the buildx form")
    plans = plan_build(
        matrix, request, builder, created=datetime.now(timezone.utc), git_sha=git_sha()
    )
    if dry:
        print_plan([planned.command for planned in plans])
        return
    print(f"builder: {builder.name} (engine {builder.engine_version})")
    for planned in plans:
        started = time.monotonic()
        run_plan([planned.command])
        report(planned, time.monotonic() - started)


@task(auto_shortflags=False, help={"cuda": "only this CUDA line"})
@user_errors
def list_(c: Context, cuda: str | None = None) -> None:
    """Show the matrix: variants, parents, CUDA lines, Pythons and locked key versions."""
    matrix = load_matrix()
    lines = [matrix.cuda_line(cuda)] if cuda else list(matrix.cuda_lines.values())
    rows = [("VARIANT", "PARENT", "CUDA", "PYTHON", "TORCH", "RAPIDS", "BASE IMAGE")]
    for line in lines:
        for name, variant in matrix.variants.items():
            try:
                lock = require_lock(matrix, name, line.name, line.python)
                torch = package_version(lock, "torch") or "-"
                rapids = package_version(lock, "cudf-cu12") or "-"
            except DlEnvError:
                torch = rapids = "(no lock)"
            pythons = "/".join(line.pythons)
            rows.append(
                (name, variant.parent or "-", line.name, pythons, torch, rapids, line.base_image)
            )
    print(format_table(rows))
    print()
    for name, variant in matrix.variants.items():
        print(f"{name}: {variant.description}")


@task(
    auto_shortflags=False,
    help={
        "tag": "name of the imported image",
        "force": "rebuild even if the image exists",
        "dry": "print the commands instead of running them",
    },
)
@user_errors
def bootstrap_base(
    c: Context, tag: str = "dl-env/debian-base:bookworm", force: bool = False, dry: bool = False
) -> None:
    """Make a Debian 12 base image with debootstrap + docker import: no registry needed."""
    argv = [str(BOOTSTRAP_SCRIPT), "--tag", tag]
    argv += ["--force"] if force else []
    argv += ["--dry-run"] if dry else []
    code = subprocess.run(argv, check=False).returncode
    if code != 0:
        raise SystemExit(code)  # the script has already said what is wrong, in one line


ns = Collection("image")
ns.add_task(build)
ns.add_task(list_, name="list")
ns.add_task(bootstrap_base)
ns.add_task(matrix)
