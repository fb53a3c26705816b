"""The exact build commands, tags and labels for each variant (what `image.build --dry` prints)."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from dlenv.build import BuildRequest, plan_build
from dlenv.builder import Builder
from dlenv.errors import DlEnvError
from dlenv.locks import LOCK_ROOT
from dlenv.matrix import DEFAULT_MATRIX, load_matrix

CREATED = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
SHA = "0123456789abcdef0123456789abcdef01234567"
LEGACY = Builder(cli="/usr/bin/docker", buildx=False, env={"DOCKER_BUILDKIT": "1"})
BUILDX = Builder(cli="docker", buildx=True)
CONTEXT = Path("/src/images")


def plan(variants: tuple[str, ...], builder: Builder = LEGACY, **overrides):  # type: ignore[no-untyped-def]
    fields = {"python": "3.11", "base_image": "dl-env/debian-base:bookworm", **overrides}
    request = BuildRequest(variants=variants, cuda="12.8", **fields)
    return plan_build(
        load_matrix(DEFAULT_MATRIX), request, builder, created=CREATED, git_sha=SHA, context=CONTEXT
    )


def options(argv: tuple[str, ...], flag: str) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == flag]


@pytest.mark.parametrize("variant", ["base", "rapids", "full"])
def test_each_variant_is_one_buildkit_build_of_its_stage(variant: str) -> None:
    (build,) = plan((variant,))
    argv = build.command.argv
    assert argv[:2] == ("/usr/bin/docker", "build")
    assert build.command.env == {"DOCKER_BUILDKIT": "1"}
    assert options(argv, "--target") == [variant]
    assert options(argv, "--file") == ["/src/images/Dockerfile"]
    assert argv[-1] == "/src/images"
    args = dict(a.split("=", 1) for a in options(argv, "--build-arg"))
    assert args["BASE_IMAGE"] == "dl-env/debian-base:bookworm"
    assert args["LOCK_DIR"] == "cuda12.8-py3.11"
    assert args["PYTHON_VERSION"] == "3.11"
    assert "openssh-server" in args["APT_PACKAGES_BASE"].split()
    assert (LOCK_ROOT / args["LOCK_DIR"] / f"{variant}.txt").is_file()


def test_default_base_is_the_lines_small_cuda_image_and_toolkit_switches_to_devel() -> None:
    (default,) = plan(("base",), python="3.12", base_image=None)
    (toolkit,) = plan(("base",), python="3.12", base_image=None, toolkit=True)
    assert "BASE_IMAGE=nvidia/cuda:12.8.1-base-ubuntu24.04" in default.command.argv
    assert "BASE_IMAGE=nvidia/cuda:12.8.1-devel-ubuntu24.04" in toolkit.command.argv


def test_tags_say_variant_cuda_python_torch_date_and_commit() -> None:
    (build,) = plan(("rapids",))
    assert build.tags == [
        "dl-env:rapids-cuda12.8-py3.11",
        "dl-env:rapids-cuda12.8-py3.11-torch2.9.1",
        "dl-env:rapids-cuda12.8-py3.11-20261122-0123456",
    ]
    assert options(build.command.argv, "--tag") == build.tags


def test_labels_carry_oci_keys_and_locked_versions() -> None:
    (build,) = plan(("full",))
    labels = dict(a.split("=", 1) for a in options(build.command.argv, "--label"))
    assert labels["org.opencontainers.image.revision"] == SHA
    assert labels["org.opencontainers.image.created"] == "2026-11-22T12:00:00+00:00"
    assert labels["org.opencontainers.image.base.name"] == "dl-env/debian-base:bookworm"
    assert labels["io.dl-env.variant"] == "full"
    assert labels["io.dl-env.cuda"] == "12.8"
    assert labels["io.dl-env.version.torch"] == "2.9.1"
    assert labels["io.dl-env.version.cudf"].startswith("26.")
    assert "io.dl-env.version.dali" in labels
    (base,) = plan(("base",))
    assert "--label" in base.command.argv
    assert not any("version.cudf" in a for a in base.command.argv), "base has no RAPIDS"


def test_ca_bundle_goes_in_as_a_secret_never_a_build_arg(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.crt"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    (build,) = plan(("base",), ca_bundle=bundle)
    assert options(build.command.argv, "--secret") == [f"id=ca_bundle,src={bundle}"]
    assert not any(str(bundle) in a for a in options(build.command.argv, "--build-arg"))


def test_several_variants_build_parents_first() -> None:
    builds = plan(("full", "base", "rapids"))
    assert [b.facts.variant for b in builds] == ["base", "rapids", "full"]


def test_push_and_registry_cache_need_buildx() -> None:
    with pytest.raises(DlEnvError, match=r"need docker buildx"):
        plan(("base",), push=True)
    (build,) = plan(("base",), BUILDX, push=True, cache_to=("type=registry,ref=r/c",))
    assert build.command.argv[:4] == ("docker", "buildx", "build", "--push")
    assert options(build.command.argv, "--cache-to") == ["type=registry,ref=r/c"]


def test_a_python_the_line_base_image_does_not_have_is_refused() -> None:
    with pytest.raises(DlEnvError, match=r"base image has Python 3.12, not 3.11"):
        plan(("base",), base_image=None)


def test_python_without_a_lock_is_a_plan_time_error() -> None:
    request = BuildRequest(variants=("base",), cuda="12.8", python="3.13", base_image="my/base")
    with pytest.raises(DlEnvError) as caught:
        plan_build(load_matrix(DEFAULT_MATRIX), request, LEGACY, created=CREATED, git_sha=SHA)
    message = str(caught.value)
    assert "no lock for base on CUDA 12.8 with Python 3.13" in message
    assert "invoke deps.lock --cuda 12.8 --python 3.13" in message


def test_apt_packages_on_a_child_variant_are_refused(tmp_path: Path) -> None:
    matrix_file = tmp_path / "matrix.yaml"
    text = DEFAULT_MATRIX.read_text().replace(
        "    description: base + CuPy", "    apt: [htop]\n    description: base + CuPy"
    )
    matrix_file.write_text(text)
    shutil.copytree(LOCK_ROOT, tmp_path / "locks")
    request = BuildRequest(variants=("base",), cuda="12.8", python="3.12")
    with pytest.raises(DlEnvError, match=r"rapids declares apt packages.*root variant"):
        plan_build(load_matrix(matrix_file), request, LEGACY, created=CREATED, git_sha=SHA)
