"""Host side of the image tests: find or build the image, start it, run the in-image suites.

Pure helpers (variant chain, GPU device requests, JUnit parsing) are separate from the parts
that talk to Docker so they can be unit-tested without an engine.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # offline: never pull Ryuk

import docker
from docker.types import DeviceRequest
from testcontainers.core.container import DockerContainer

REPO_ROOT = Path(__file__).resolve().parents[2]
IMAGE_SUITES = REPO_ROOT / "tests" / "image"
WORK_DIR = REPO_ROOT / ".work"
DEFAULT_BASE_IMAGE = "dl-env/debian-base:bookworm"
SUITES_IN_CONTAINER = "/tmp/dlenv-tests"
PYTEST_IN_CONTAINER = "/tmp/dlenv-pytest"
JUNIT_IN_CONTAINER = "/tmp/dlenv-junit.xml"
SSH_PORT, JUPYTER_PORT = 2222, 8888
CONTAINER_UID = 1000
PYTEST_REQUIREMENT = "pytest>=8,<10"


class HarnessError(Exception):
    """The harness could not get as far as running the suites (build, start, copy)."""


# --- pure helpers ----------------------------------------------------------------------------


def suite_dirs(chain: Iterable[str], suites_root: Path = IMAGE_SUITES) -> list[str]:
    """The in-image suite folders a variant runs: its own and every ancestor's that exist."""
    return [name for name in chain if (suites_root / name).is_dir()]


def alias_pattern(image_name: str, variant: str, cuda: str) -> str:
    return f"{image_name}:{variant}-cuda{cuda}-py*"


def gpu_device_requests(engine_info: Mapping[str, Any]) -> list[DeviceRequest]:
    """GPUs for the container, only if the engine can give them (NVIDIA runtime or CDI)."""
    if "nvidia" in (engine_info.get("Runtimes") or {}):
        return [DeviceRequest(count=-1, capabilities=[["gpu"]])]
    discovered = engine_info.get("DiscoveredDevices") or []
    cdi_gpus = [d["ID"] for d in discovered if str(d.get("ID", "")).startswith("nvidia.com/gpu=")]
    if cdi_gpus:
        wanted = "nvidia.com/gpu=all" if "nvidia.com/gpu=all" in cdi_gpus else cdi_gpus[0]
        return [DeviceRequest(driver="cdi", device_ids=[wanted])]
    return []


@dataclass(frozen=True)
class InnerCase:
    """One test case of an in-image run, as its JUnit XML reported it."""

    variant: str
    file: str  # relative to tests/image, e.g. "rapids/test_cupy.py"
    name: str
    line: int
    outcome: str  # passed | failed | skipped
    message: str = ""
    details: str = ""

    @property
    def library(self) -> str:
        """What the case tests, from its file name: test_torch.py → torch."""
        return Path(self.file).stem.removeprefix("test_") or "suite"

    @property
    def test_id(self) -> str:
        return f"{self.file}::{self.name}"


def parse_junit(xml_text: str, variant: str) -> list[InnerCase]:
    """Cases of a pytest ``--junitxml`` report (``junit_family=xunit1``: with file and line)."""
    root = ElementTree.fromstring(xml_text)
    cases = []
    for case in root.iter("testcase"):
        file = case.get("file") or case.get("classname", "").replace(".", "/") + ".py"
        outcome, message, details = "passed", "", ""
        for tag in ("error", "failure", "skipped"):
            element = case.find(tag)
            if element is not None:
                outcome = "skipped" if tag == "skipped" else "failed"
                message = element.get("message", "")
                details = element.text or ""
                break
        line = int(case.get("line") or 0)
        cases.append(
            InnerCase(variant, file, case.get("name", "?"), line, outcome, message, details)
        )
    return cases


def pytest_command(dirs: Iterable[str], extra: Iterable[str] = ()) -> list[str]:
    """The command that runs the suites inside the container with the pytest we copied in.

    Our pytest is appended to sys.path, so the image's own packages (packaging, pygments, ...)
    keep precedence and the venv is tested as shipped.
    """
    bootstrap = (
        f"import sys; sys.path.append({PYTEST_IN_CONTAINER!r}); import pytest; "
        "raise SystemExit(pytest.main(sys.argv[1:]))"
    )
    return [
        "python",
        "-c",
        bootstrap,
        *dirs,
        f"--junitxml={JUNIT_IN_CONTAINER}",
        "-o",
        "junit_family=xunit1",
        "-p",
        "no:cacheprovider",
        "-v",
        *extra,
    ]


# --- Docker-facing parts ---------------------------------------------------------------------


def find_alias(client: docker.DockerClient, image_name: str, variant: str, cuda: str) -> list[str]:
    pattern = re.compile(re.escape(f"{image_name}:{variant}-cuda{cuda}-py") + r"[\d.]+$")
    return sorted(
        tag
        for image in client.images.list(name=image_name)
        for tag in image.tags
        if pattern.match(tag)
    )


def ensure_image(
    client: docker.DockerClient,
    image_name: str,
    variant: str,
    cuda: str,
    python: str | None,
    log: Callable[[str], None],
    *,
    reuse: bool = False,
) -> str:
    """The image to test: built from the current sources (a cache hit when nothing changed),
    or with ``reuse`` an existing alias image as it is (e.g. one pulled onto a GPU runner)."""

    def matching() -> list[str]:
        tags = find_alias(client, image_name, variant, cuda)
        return [t for t in tags if python is None or t.endswith(f"-py{python}")]

    if not reuse:
        base_image = os.environ.get("DLENV_BASE_IMAGE", DEFAULT_BASE_IMAGE)
        steps = []
        if base_image == DEFAULT_BASE_IMAGE and not client.images.list(name=DEFAULT_BASE_IMAGE):
            steps.append(["invoke", "image.bootstrap-base"])
        build = ["invoke", "image.build", "--variant", variant, "--cuda", cuda]
        build += ["--base-image", base_image] + (["--python", python] if python else [])
        steps.append(build)
        for step in steps:
            log(f"building: {' '.join(step)}")
            started = time.monotonic()
            if subprocess.run(step, cwd=REPO_ROOT, check=False).returncode != 0:
                raise HarnessError(f"`{' '.join(step)}` failed; run it by hand to see why")
            log(f"done in {time.monotonic() - started:.0f}s")
    tags = matching()
    if not tags:
        raise HarnessError(
            f"no image {alias_pattern(image_name, variant, cuda)}"
            + ("" if not reuse else "; build it (`invoke image.build`) or drop --reuse-image")
        )
    if len(tags) > 1:
        raise HarnessError(f"several images match: {', '.join(tags)}; pass --python")
    log(f"{'reusing' if reuse else 'testing'} image {tags[0]}")
    return tags[0]


def pytest_for_python(python: str) -> Path:
    """pytest and its dependencies for the image's Python, installed once under .work/."""
    target = WORK_DIR / "image-test-deps" / f"py{python}"
    if (target / ".complete").exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    if shutil.which("uv"):
        command = ["uv", "pip", "install", "--target", str(target), "--python-version", python]
    else:
        command = [sys.executable, "-m", "pip", "install", "--target", str(target)]
        command += ["--python-version", python, "--only-binary=:all:"]
    result = subprocess.run(
        [*command, PYTEST_REQUIREMENT], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise HarnessError(f"could not install pytest for Python {python}: {result.stderr[-1000:]}")
    (target / ".complete").touch()
    return target


def tar_of(folders: Mapping[str, Path]) -> bytes:
    """A tar of host folders (arcname → path), owned by the container user so it can write."""

    def as_container_user(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        if "__pycache__" in info.name or info.name.endswith(".pyc"):
            return None
        info.uid = info.gid = CONTAINER_UID
        info.uname = info.gname = ""
        return info

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for arcname, path in folders.items():
            archive.add(path, arcname=arcname, filter=as_container_user)
    return buffer.getvalue()


class TrackedContainer:
    """A started testcontainers container with exec timeouts and guaranteed removal."""

    def __init__(self, container: DockerContainer) -> None:
        self.container = container
        self.id = container.get_wrapped_container().id

    @classmethod
    def start(
        cls,
        image: str,
        *,
        env: Mapping[str, str] | None = None,
        command: list[str] | None = None,
        publish: Iterable[int] = (),
        device_requests: list[DeviceRequest] | None = None,
    ) -> TrackedContainer:
        container = DockerContainer(image)
        for key, value in (env or {}).items():
            container.with_env(key, value)
        for port in publish:  # loopback only, random host port
            container.ports[f"{port}/tcp"] = ("127.0.0.1", None)  # type: ignore[assignment]
        if command:
            container.with_command(command)
        container.with_kwargs(device_requests=device_requests or None, shm_size="1g")
        try:
            container.start()
        except Exception:
            container.stop()
            raise
        return cls(container)

    @property
    def api(self) -> docker.APIClient:
        return self.container.get_docker_client().client.api

    def host_port(self, port: int) -> int:
        self.container.get_wrapped_container().reload()
        bindings = self.container.get_wrapped_container().attrs["NetworkSettings"]["Ports"]
        return int(bindings[f"{port}/tcp"][0]["HostPort"])

    def is_running(self) -> bool:
        wrapped = self.container.get_wrapped_container()
        wrapped.reload()
        return bool(wrapped.status == "running")

    def logs(self) -> str:
        raw: bytes = self.container.get_wrapped_container().logs()
        return raw.decode(errors="replace")

    def exec(
        self,
        command: list[str],
        *,
        timeout: int = 300,
        workdir: str | None = None,
        env: Mapping[str, str] | None = None,
        on_output: Callable[[str], None] | None = None,
    ) -> tuple[int, str]:
        """Run a command with `timeout` inside (the Docker API has no exec timeout)."""
        exec_id = self.api.exec_create(
            self.id,
            ["timeout", "--", str(timeout), *command],
            workdir=workdir,
            environment=dict(env or {}),
        )["Id"]
        chunks = []
        for chunk in self.api.exec_start(exec_id, stream=True):
            text = chunk.decode(errors="replace")
            chunks.append(text)
            if on_output:
                on_output(text)
        exit_code = self.api.exec_inspect(exec_id)["ExitCode"]
        if exit_code == 124:
            raise TimeoutError(f"`{' '.join(command)}` ran past {timeout}s in the container")
        return exit_code, "".join(chunks)

    def put(self, folders: Mapping[str, Path], destination: str = "/") -> None:
        if not self.api.put_archive(self.id, destination, tar_of(folders)):
            raise HarnessError(f"could not copy {', '.join(folders)} into the container")

    def read_file(self, path: str) -> str:
        stream, _ = self.api.get_archive(self.id, path)
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
            member = archive.extractfile(archive.getmembers()[0])
            assert member is not None
            return member.read().decode()

    def remove(self) -> None:
        self.container.stop(force=True)


def image_python(container: TrackedContainer) -> str:
    code, output = container.exec(
        ["python", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], timeout=60
    )
    if code != 0:
        raise HarnessError(f"python does not run in the image: {output[-500:]}")
    return output.strip().splitlines()[-1]


def run_suites(
    container: TrackedContainer,
    variant: str,
    dirs: list[str],
    *,
    extra_args: Iterable[str] = (),
    env: Mapping[str, str] | None = None,
    timeout: int = 3600,
    on_output: Callable[[str], None] | None = None,
) -> tuple[int, list[InnerCase], str]:
    """Copy the suites and pytest in, run them, return (pytest exit code, cases, output)."""
    deps = pytest_for_python(image_python(container))
    container.put(
        {SUITES_IN_CONTAINER.lstrip("/"): IMAGE_SUITES, PYTEST_IN_CONTAINER.lstrip("/"): deps}
    )
    run_env = {"DLENV_EXPECT_IMAGE": "1", "DLENV_EXPECTED_VARIANT": variant, **(env or {})}
    code, output = container.exec(
        pytest_command(dirs, extra_args),
        timeout=timeout,
        workdir=SUITES_IN_CONTAINER,
        env=run_env,
        on_output=on_output,
    )
    if code not in (0, 1):  # 2+: interrupted, internal error, usage error, nothing collected
        raise HarnessError(f"pytest in the container exited with {code}:\n{output[-4000:]}")
    return code, parse_junit(container.read_file(JUNIT_IN_CONTAINER), variant), output
