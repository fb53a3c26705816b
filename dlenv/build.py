"""Plan image builds: matrix + request → the exact BuildKit commands. Pure: no Docker calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from dlenv import REPO_ROOT
from dlenv.builder import Builder
from dlenv.errors import DlEnvError
from dlenv.locks import LOCK_ROOT, lock_dir, read_pins, require_lock
from dlenv.matrix import Matrix
from dlenv.runner import Command
from dlenv.tagging import BuildFacts, labels, tags

IMAGES_DIR = REPO_ROOT / "images"
CA_SECRET_ID = "ca_bundle"
# Packages whose locked versions go into tags and labels, under a short name.
NOTABLE_PACKAGES = {
    "torch": "torch",
    "cupy": "cupy-cuda12x",
    "cudf": "cudf-cu12",
    "cuml": "cuml-cu12",
    "dali": "nvidia-dali-cuda120",
    "jupyterlab": "jupyterlab",
}


@dataclass(frozen=True)
class BuildRequest:
    variants: tuple[str, ...]
    cuda: str
    python: str  # the Python of the base image; selects the lock
    base_image: str | None = None  # default: the CUDA line's base (or toolkit) image
    toolkit: bool = False
    ca_bundle: Path | None = None
    uid: int = 1000
    gid: int = 1000
    push: bool = False
    cache_from: tuple[str, ...] = ()
    cache_to: tuple[str, ...] = ()
    no_cache: bool = False
    pull: bool = False


@dataclass(frozen=True)
class PlannedBuild:
    facts: BuildFacts
    tags: list[str]
    command: Command
    labels: dict[str, str] = field(default_factory=dict)


def ordered_variants(matrix: Matrix, names: tuple[str, ...]) -> list[str]:
    """Requested variants, parents before children, each once."""
    for name in names:
        matrix.variant(name)
    order = [name for name in matrix.variants if name in names]
    return sorted(order, key=lambda name: len(matrix.chain(name)))


def base_image_for(matrix: Matrix, request: BuildRequest) -> str:
    line = matrix.cuda_line(request.cuda)
    if request.base_image:
        return request.base_image
    if request.toolkit:
        if not line.toolkit_image:
            raise DlEnvError(
                f"CUDA line {line.name} declares no toolkit_image",
                f"add toolkit_image to cuda_lines.{line.name} in {matrix.source}",
            )
        return line.toolkit_image
    return line.base_image


def build_facts(
    matrix: Matrix,
    request: BuildRequest,
    variant: str,
    *,
    created: datetime,
    git_sha: str,
    lock_root: Path = LOCK_ROOT,
) -> BuildFacts:
    lock = require_lock(matrix, variant, request.cuda, request.python, lock_root)
    pins = read_pins(lock)
    versions = {short: pins[pkg] for short, pkg in NOTABLE_PACKAGES.items() if pkg in pins}
    return BuildFacts(
        image_name=matrix.image_name,
        variant=variant,
        description=matrix.variant(variant).description,
        cuda=request.cuda,
        python=request.python,
        base_image=base_image_for(matrix, request),
        created=created,
        git_sha=git_sha,
        versions=versions,
    )


def plan_build(
    matrix: Matrix,
    request: BuildRequest,
    builder: Builder,
    *,
    created: datetime,
    git_sha: str,
    lock_root: Path = LOCK_ROOT,
    context: Path = IMAGES_DIR,
) -> list[PlannedBuild]:
    """One BuildKit command per requested variant; later ones reuse earlier stages' cache."""
    if not request.variants:
        raise DlEnvError(
            "no variant requested", f"pass --variant ({', '.join(matrix.variants)}) or --all"
        )
    if (request.push or request.cache_to or request.cache_from) and not builder.buildx:
        raise DlEnvError(
            "--push, --cache-from and --cache-to need docker buildx",
            "install the buildx plugin (docker-buildx-plugin / docker-buildx)",
        )
    if request.ca_bundle is not None and not request.ca_bundle.is_file():
        raise DlEnvError(f"CA bundle {request.ca_bundle} does not exist", "pass an existing file")
    for declared in matrix.variants.values():
        if declared.parent is not None and declared.own_apt:
            raise DlEnvError(
                f"variant {declared.name} declares apt packages; they are installed once, in the "
                "stage every variant shares",
                f"move them to the root variant in {matrix.source}",
            )
    line = matrix.cuda_line(request.cuda)
    if request.base_image is None and request.python != line.python:
        raise DlEnvError(
            f"the CUDA {line.name} base image has Python {line.python}, not {request.python}",
            "drop --python, or pass --base-image with an image that has that Python",
        )
    root = matrix.chain(request.variants[0])[0]
    plans = []
    for variant in ordered_variants(matrix, request.variants):
        facts = build_facts(
            matrix, request, variant, created=created, git_sha=git_sha, lock_root=lock_root
        )
        image_tags = tags(facts)
        image_labels = labels(facts)
        build_args = {
            "BASE_IMAGE": facts.base_image,
            "PYTHON_VERSION": request.python,
            "USER_NAME": matrix.user,
            "USER_UID": str(request.uid),
            "USER_GID": str(request.gid),
            "APT_PACKAGES_BASE": " ".join(root.own_apt),
            "UV_VERSION": matrix.uv_version,
            "LOCK_DIR": lock_dir(request.cuda, request.python, lock_root).name,
        }
        argv = [*builder.argv]
        if request.push:
            argv = [a if a != "--load" else "--push" for a in argv]
        argv += ["--file", str(context / "Dockerfile"), "--target", variant]
        for name, value in build_args.items():
            argv += ["--build-arg", f"{name}={value}"]
        for name, value in image_labels.items():
            argv += ["--label", f"{name}={value}"]
        for tag in image_tags:
            argv += ["--tag", tag]
        if request.ca_bundle is not None:
            argv += ["--secret", f"id={CA_SECRET_ID},src={request.ca_bundle}"]
        for ref in request.cache_from:
            argv += ["--cache-from", ref]
        for ref in request.cache_to:
            argv += ["--cache-to", ref]
        if request.no_cache:
            argv.append("--no-cache")
        if request.pull:
            argv.append("--pull")
        argv.append(str(context))
        description = (
            f"build {variant} (CUDA {request.cuda}, Python {request.python}) with {builder.name}"
        )
        plans.append(
            PlannedBuild(
                facts, image_tags, Command(tuple(argv), description, builder.env), image_labels
            )
        )
    return plans
