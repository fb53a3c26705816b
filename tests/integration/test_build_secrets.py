"""A CA bundle passed to a build as a secret is used by the build and lands in no layer.

Builds the shared `os` stage (apt + pip, both behind the secret) with no cache, from the
bootstrapped Debian base, with a CA bundle carrying a unique marker; then searches the saved
image (every layer) and `docker history --no-trunc` for the marker.
"""

from __future__ import annotations

import os
import subprocess
import tarfile
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from dlenv.build import BuildRequest, plan_build
from dlenv.builder import detect_builder
from dlenv.matrix import load_matrix

pytestmark = [pytest.mark.docker, pytest.mark.slow]

BASE = "dl-env/debian-base:bookworm"
PROBE_TAG = "dl-env-test/secret-probe:latest"
HOST_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def docker(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["docker", *args], capture_output=True, check=False)


@pytest.fixture(scope="module")
def base_image() -> str:
    if docker("image", "inspect", BASE).returncode != 0:
        subprocess.run(["invoke", "image.bootstrap-base"], check=True)
    return BASE


def test_ca_bundle_secret_never_lands_in_a_layer(base_image: str, tmp_path: Path) -> None:
    marker = f"dl-env-secret-marker-{uuid.uuid4().hex}"
    bundle = tmp_path / "ca-bundle.crt"
    bundle.write_text(HOST_BUNDLE.read_text() + f"\n# {marker}\n")
    request = BuildRequest(
        variants=("base",), cuda="12.8", python="3.11", base_image=base_image, ca_bundle=bundle
    )
    (planned,) = plan_build(
        load_matrix(), request, detect_builder(), created=datetime.now(timezone.utc), git_sha=""
    )
    argv: list[str] = []
    for arg in planned.command.argv:
        if argv and argv[-1] == "--tag":
            argv[-1:] = []  # drop the product tags: this probe image is not a product
            continue
        argv.append("os" if argv and argv[-1] == "--target" else arg)
    argv[-1:-1] = ["--no-cache", "--tag", PROBE_TAG]
    try:
        built = subprocess.run(argv, env={**os.environ, **planned.command.env}, check=False)
        assert built.returncode == 0, "the os stage must build with the secret CA bundle"

        history = docker("history", "--no-trunc", PROBE_TAG).stdout.decode()
        assert marker not in history
        assert "BEGIN CERTIFICATE" not in history

        saved = tmp_path / "image.tar"
        assert docker("save", "--output", str(saved), PROBE_TAG).returncode == 0
        needle = marker.encode()
        with tarfile.open(saved) as outer:
            layers = [m for m in outer.getmembers() if m.name.endswith("layer.tar")]
            assert layers, "docker save produced no layers"
            for member in layers:
                layer = outer.extractfile(member)
                assert layer is not None
                with tarfile.open(fileobj=layer) as inner:
                    for entry in inner:
                        if entry.isfile():
                            data = inner.extractfile(entry)
                            assert data is not None
                            assert needle not in data.read(), f"secret found in {entry.name}"
    finally:
        docker("image", "rm", "--force", PROBE_TAG)
