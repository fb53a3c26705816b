"""Image tests from the host: one container per variant, in-image results as host test items.

    pytest tests/containers --variant full            # reuse or build dl-env:full-cuda12.8-py*
    pytest tests/containers --variant base --cuda 12.8

`test_in_image.py` holds one placeholder per variant. After selection (-m/-k), each remaining
placeholder is replaced by one item per test case the in-image run reported, so inner passes,
failures and skips (with their reasons) are real pytest outcomes here, counted per library.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # offline: never pull Ryuk

import image_harness as harness

from dlenv.errors import DlEnvError
from dlenv.matrix import Matrix, load_matrix

PLACEHOLDER = "test_in_image_suites"
READY_TIMEOUT_S = 180


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dl-env images")
    group.addoption(
        "--variant",
        action="append",
        default=[],
        help="image variant to test (repeatable; default: base)",
    )
    group.addoption("--cuda", default="12.8", help="CUDA line of the image (default: 12.8)")
    group.addoption(
        "--reuse-image",
        action="store_true",
        help="test the existing dl-env:<variant>-cuda<line>-py* image as it is, without building",
    )
    group.addoption(
        "--python",
        default=None,
        help="Python of the image, when several dl-env:<variant>-cuda<line>-py* images exist",
    )


def requested_variants(config: pytest.Config) -> list[str]:
    # getoption with a default: this conftest is not an initial one when pytest runs over tests/.
    return list(dict.fromkeys(config.getoption("--variant", default=None) or ["base"]))


@dataclass
class Served:
    """A running image in its default mode: sshd and JupyterLab, ports on 127.0.0.1."""

    variant: str
    image: str
    container: harness.TrackedContainer
    jupyter_token: str
    ssh_key: Path | None
    ssh_port: int
    jupyter_port: int

    @property
    def jupyter_url(self) -> str:
        return f"http://127.0.0.1:{self.jupyter_port}"


@dataclass
class Pool:
    """Images and containers of this session; everything started here is removed at the end."""

    config: pytest.Config
    images: dict[str, str] = field(default_factory=dict)
    served: dict[str, Served] = field(default_factory=dict)
    extra: list[harness.TrackedContainer] = field(default_factory=list)
    cases: dict[str, harness.InnerCase] = field(default_factory=dict)
    _client: Any = None
    _key_dir: Path | None = None
    _matrix: Matrix | None = None

    def variants(self) -> list[str]:
        return requested_variants(self.config)

    @property
    def client(self) -> Any:
        if self._client is None:
            import docker

            self._client = docker.from_env()
        return self._client

    @property
    def matrix(self) -> Matrix:
        if self._matrix is None:
            self._matrix = load_matrix()
        return self._matrix

    def log(self, message: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        context = capture.global_and_fixture_disabled() if capture else contextlib.nullcontext()
        with context:
            if reporter:
                reporter.write_line(f"[dl-env] {message}")

    def image(self, variant: str) -> str:
        if variant not in self.images:
            self.matrix.variant(variant)  # unknown variant → one-line error listing valid ones
            self.images[variant] = harness.ensure_image(
                self.client,
                self.matrix.image_name,
                variant,
                self.config.getoption("--cuda", default="12.8"),
                self.config.getoption("--python", default=None),
                self.log,
                reuse=self.config.getoption("--reuse-image", default=False),
            )
        return self.images[variant]

    def device_requests(self) -> list[Any]:
        return harness.gpu_device_requests(self.client.info())

    def ssh_key(self) -> Path | None:
        """A fresh ed25519 key for this session (None when no ssh-keygen on the host)."""
        if self._key_dir is None:
            if not shutil.which("ssh-keygen"):
                return None
            self._key_dir = Path(tempfile.mkdtemp(prefix="dlenv-ssh-"))
            subprocess.run(
                [
                    "ssh-keygen",
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-C",
                    "dl-env-test",
                    "-f",
                    str(self._key_dir / "id"),
                ],
                check=True,
            )
        return self._key_dir / "id"

    def serve(self, variant: str) -> Served:
        if variant in self.served:
            return self.served[variant]
        image = self.image(variant)
        token = secrets.token_hex(16)
        key = self.ssh_key()
        env = {"JUPYTER_TOKEN": token}
        if key is not None:
            env["SSH_AUTHORIZED_KEYS"] = key.with_suffix(".pub").read_text().strip()
        requests_for_gpu = self.device_requests()
        self.log(f"starting {image} ({'with' if requests_for_gpu else 'no'} GPUs)")
        container = harness.TrackedContainer.start(
            image,
            env=env,
            publish=[harness.SSH_PORT, harness.JUPYTER_PORT],
            device_requests=requests_for_gpu,
        )
        served = Served(
            variant,
            image,
            container,
            token,
            key,
            container.host_port(harness.SSH_PORT),
            container.host_port(harness.JUPYTER_PORT),
        )
        self.served[variant] = served
        wait_until_serving(served)
        return served

    def start_plain(self, image: str) -> harness.TrackedContainer:
        """A container that only sleeps, to run commands in an image (the entrypoint execs them)."""
        container = harness.TrackedContainer.start(
            image, command=["sleep", "infinity"], device_requests=self.device_requests()
        )
        self.extra.append(container)
        return container

    def close(self) -> None:
        for container in [*(s.container for s in self.served.values()), *self.extra]:
            with contextlib.suppress(Exception):
                container.remove()
        self.served.clear()
        self.extra.clear()
        if self._key_dir is not None:
            shutil.rmtree(self._key_dir, ignore_errors=True)


def wait_until_serving(served: Served) -> None:
    """Jupyter answers /api/status with the token; sshd (when given keys) sends its banner."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    jupyter_ready = False
    ssh_ready = served.ssh_key is None  # no key given: the image starts no sshd
    while time.monotonic() < deadline:
        if not served.container.is_running():
            raise harness.HarnessError(
                f"{served.image} exited while starting:\n{served.container.logs()[-3000:]}"
            )
        if not jupyter_ready:
            with contextlib.suppress(requests.RequestException):
                response = requests.get(
                    f"{served.jupyter_url}/api/status",
                    headers={"Authorization": f"token {served.jupyter_token}"},
                    timeout=5,
                )
                jupyter_ready = response.status_code == 200
        if not ssh_ready:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", served.ssh_port), 5) as s,
            ):
                ssh_ready = s.recv(64).startswith(b"SSH-2.0")
        if jupyter_ready and ssh_ready:
            return
        time.sleep(1)
    raise harness.HarnessError(
        f"{served.image} not serving after {READY_TIMEOUT_S}s (jupyter ready: {jupyter_ready}, "
        f"ssh ready: {ssh_ready}); container log:\n{served.container.logs()[-3000:]}"
    )


POOL = pytest.StashKey[Pool]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[POOL] = Pool(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    if POOL in config.stash:
        config.stash[POOL].close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "variant" in metafunc.fixturenames:
        metafunc.parametrize("variant", requested_variants(metafunc.config), scope="session")


@pytest.fixture(scope="session")
def pool(request: pytest.FixtureRequest) -> Pool:
    return request.config.stash[POOL]


@pytest.fixture(scope="session")
def served(pool: Pool, variant: str) -> Served:
    try:
        return pool.serve(variant)
    except (harness.HarnessError, DlEnvError) as error:
        pytest.fail(str(error), pytrace=False)


# --- in-image results as host items ------------------------------------------------------------


class InnerCaseFailed(Exception):
    pass


class InnerCaseItem(pytest.Item):
    """One in-image test case; its outcome is the one the container reported."""

    def __init__(self, *, case: harness.InnerCase, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        if self.case.outcome == "skipped":
            raise pytest.skip.Exception(
                f"[{self.case.variant}] {self.case.message}", _use_item_location=True
            )
        if self.case.outcome == "failed":
            raise InnerCaseFailed(self.case.message)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, InnerCaseFailed):
            case = self.case
            header = f"in image {case.variant}: {case.test_id}"
            return f"{header}\n{case.message}\n\n{case.details}".rstrip()
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        suite_file = harness.IMAGE_SUITES / self.case.file
        path = suite_file if suite_file.exists() else self.path
        # No domain: pytest would print its dots as "::"; the node id already names the case.
        return path, self.case.line, ""


def run_in_image(pool: Pool, variant: str) -> list[harness.InnerCase]:
    """The variant's in-image results, or one failed case saying why there are none."""
    try:
        chain = [member.name for member in pool.matrix.chain(variant)]
        dirs = harness.suite_dirs(chain)
        served = pool.serve(variant)
        pool.log(f"running in-image suites {', '.join(dirs)} in {served.image}")
        env = {k: os.environ[k] for k in ("DLENV_REQUIRE_GPU",) if k in os.environ}
        env["DLENV_EXPECTED_PYTHON"] = served.image.rpartition("-py")[2]
        verbose = pool.config.getoption("verbose") > 1
        started = time.monotonic()
        _, cases, _ = harness.run_suites(
            served.container, variant, dirs, env=env, on_output=pool.log if verbose else None
        )
        elapsed = time.monotonic() - started
        pool.log(f"in-image suites for {variant}: {len(cases)} cases in {elapsed:.0f}s")
        return cases
    except (harness.HarnessError, DlEnvError, TimeoutError, OSError) as error:
        return [
            harness.InnerCase(
                variant, "suite", "run", 0, "failed", f"{type(error).__name__}: {error}"
            )
        ]
    except Exception as error:  # the Docker SDK raises many types; report, never crash collection
        return [
            harness.InnerCase(
                variant, "suite", "run", 0, "failed", f"{type(error).__name__}: {error}"
            )
        ]


@pytest.hookimpl(trylast=True)  # after -m/-k deselection: never run suites nobody selected
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    pool = config.stash[POOL]
    for index in reversed(range(len(items))):
        placeholder = items[index]
        if getattr(placeholder, "originalname", None) != PLACEHOLDER:
            continue
        variant = placeholder.callspec.params["variant"]  # type: ignore[attr-defined]
        module = placeholder.parent
        assert module is not None
        replacements = []
        for case in run_in_image(pool, variant):
            item = InnerCaseItem.from_parent(module, name=f"{case.test_id}[{variant}]", case=case)
            for marker in placeholder.iter_markers():
                if marker.name != "parametrize":
                    item.add_marker(marker.name)
            pool.cases[item.nodeid] = case
            replacements.append(item)
        items[index : index + 1] = replacements


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    pool = config.stash.get(POOL, None)
    if not pool or not pool.cases:
        return
    counts: Counter[tuple[str, str, str]] = Counter()
    for outcome in ("passed", "failed", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            case = pool.cases.get(getattr(report, "nodeid", ""))
            if case is not None and (report.when == "call" or outcome != "passed"):
                counts[(case.variant, case.library, outcome)] += 1
    terminalreporter.section("in-image results per library")
    terminalreporter.write_line(
        f"{'variant':<8} {'library':<12} {'passed':>6} {'failed':>6} {'skipped':>7}"
    )
    keys = sorted({(variant, library) for variant, library, _ in counts})
    for variant, library in keys:
        row = [counts[(variant, library, o)] for o in ("passed", "failed", "skipped")]
        terminalreporter.write_line(
            f"{variant:<8} {library:<12} {row[0]:>6} {row[1]:>6} {row[2]:>7}"
        )


@pytest.fixture
def exec_in(served: Served) -> Iterator[Any]:
    """Run a command in the served container as `docker exec` would (image env, user dev)."""

    def run(command: list[str], timeout: int = 120) -> tuple[int, str]:
        return served.container.exec(command, timeout=timeout)

    yield run
