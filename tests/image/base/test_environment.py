"""Checks every variant inherits: the venv is exactly the lock, CUDA libraries exist once, the
user is not root, and the remote-dev services are installed."""

from __future__ import annotations

import importlib.metadata
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import sysconfig
from collections import defaultdict
from pathlib import Path

import pytest

LOCK_FILE = Path("/opt/dl-env/lock.txt")
VARIANT_FILE = Path("/opt/dl-env/variant")
VENV = Path("/opt/venv")
USER, UID, HOME, WORKSPACE = "dev", 1000, Path("/home/dev"), Path("/workspace")

# Shared libraries that pip wheels (nvidia-*-cu12) and CUDA base images both provide; two copies
# of one of them means two processes (or two imports) can load different builds.
CUDA_LIBRARY = re.compile(
    r"^(?P<name>lib(?:cudart|cublas|cublasLt|cudnn(?:_\w+)?|cufft|cufftw|curand|cusolver|cusolverMg"
    r"|cusparse|cusparseLt|nccl|nvrtc|nvrtc-builtins|nvJitLink|nvjpeg|cupti|nvToolsExt|cufile(?:_rdma)?"
    r"|npp\w*))\.so(?:\.[\d.]+)?$"
)
# Copies that do not count as duplicates:
# - Triton vendors CUPTI for its Proton profiler and loads it by absolute path, never through
#   the loader's search path, so it cannot shadow the shared copy;
# - an nvidia/cuda `-base` image ships the CUDA runtime it was made for under /usr/local/cuda*;
#   it is the base image's own (small) part, and the wheels load theirs by RPATH.
PRIVATE_COPIES = re.compile(
    r"/site-packages/triton/backends/nvidia/lib/cupti/libcupti\.so"
    r"|^/usr/local/cuda[^/]*/.*/libcudart\.so"
)
# Top-level modules that are command-line tools for an optional framework the image does not
# ship: importing them fails by design.
OPTIONAL_TOOL_MODULES = {
    "rec2idx": "nvidia-dali's MXNet RecordIO indexer; needs mxnet",
}
SYSTEM_LIBRARY_DIRS = [
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/usr/local/lib",
    "/usr/local/nvidia/lib64",
]


def normalize(name: str) -> str:
    """PEP 503 normalization: `Jinja2`, `jinja2` and `jinja_2` spellings compare equal."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_lock(text: str) -> dict[str, str]:
    """`name==version` pins of a `uv pip compile` lock, ignoring hashes, comments and options."""
    pins: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line[0] in " \t#-":
            continue
        requirement, _, marker = line.rstrip(" \\").partition(";")
        if marker.strip() and not _marker_applies(marker.strip()):
            continue
        name, separator, version = requirement.partition("==")
        if not separator:
            raise ValueError(f"lock line is not an exact pin: {line!r}")
        pins[normalize(name.split("[")[0].strip())] = version.strip()
    return pins


def _marker_applies(marker: str) -> bool:
    try:
        from packaging.markers import Marker
    except ImportError:  # packaging comes with pytest; without it keep the pin (stricter)
        return True
    return Marker(marker).evaluate()


def venv_distributions() -> dict[str, importlib.metadata.Distribution]:
    """Distributions installed in the venv's site-packages only (not the test runner's own)."""
    paths = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    return {
        normalize(dist.metadata["Name"]): dist
        for dist in importlib.metadata.distributions(path=paths)
    }


def import_names(dist: importlib.metadata.Distribution) -> list[str]:
    """Top-level modules a distribution installs (public ones; namespace packages included)."""
    declared = dist.read_text("top_level.txt")
    if declared:
        candidates = set(declared.split())
    else:
        candidates = set()
        for file in dist.files or []:
            first = file.parts[0]
            if first.endswith((".dist-info", ".data")) or first in {"..", "__pycache__"}:
                continue
            if len(file.parts) > 1:
                candidates.add(first)
            elif first.endswith(".py") or ".cpython-" in first or first.endswith(".abi3.so"):
                candidates.add(first.split(".")[0])
    return sorted(name for name in candidates if name.isidentifier() and not name.startswith("_"))


def find_cuda_library_copies(
    roots: list[Path], recursive_roots: list[Path]
) -> dict[str, set[Path]]:
    """Each CUDA library name → the distinct real files that provide it (symlinks collapsed)."""
    copies: dict[str, set[Path]] = defaultdict(set)

    def consider(directory: str, filename: str) -> None:
        match = CUDA_LIBRARY.match(filename)
        if match and not PRIVATE_COPIES.search(os.path.join(directory, filename)):
            copies[match["name"]].add(Path(os.path.realpath(os.path.join(directory, filename))))

    for root in recursive_roots:
        for directory, _, filenames in os.walk(root):
            for filename in filenames:
                consider(directory, filename)
    for root in roots:
        if root.is_dir():
            for entry in root.iterdir():
                consider(str(root), entry.name)
    return copies


def duplicated_libraries(copies: dict[str, set[Path]]) -> list[str]:
    return [
        f"{name} has {len(paths)} copies: " + ", ".join(str(p) for p in sorted(paths))
        for name, paths in sorted(copies.items())
        if len(paths) > 1
    ]


# --- the checks -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lock() -> dict[str, str]:
    if not LOCK_FILE.exists():
        pytest.fail(f"{LOCK_FILE} is missing: the image must record the lock it was built from")
    return parse_lock(LOCK_FILE.read_text())


@pytest.mark.image
def test_python_runs_from_the_venv() -> None:
    assert Path(sys.prefix) == VENV, f"python is {sys.executable}, not the venv's"
    assert os.environ.get("VIRTUAL_ENV") == str(VENV)
    first_on_path = os.environ["PATH"].split(os.pathsep)[0]
    assert first_on_path == str(VENV / "bin"), f"PATH starts with {first_on_path}, not the venv"


@pytest.mark.image
def test_python_version_is_the_one_the_image_is_tagged_for() -> None:
    expected = os.environ.get("DLENV_EXPECTED_PYTHON")  # the harness passes the tag's -pyX.Y
    if not expected:
        pytest.skip("DLENV_EXPECTED_PYTHON not set: no image tag to compare with")
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert running == expected, f"image runs Python {running}, its tag says py{expected}"


@pytest.mark.image
def test_venv_matches_the_lock_exactly(lock: dict[str, str]) -> None:
    installed = {name: dist.version for name, dist in venv_distributions().items()}
    missing = sorted(f"{n}=={v}" for n, v in lock.items() if n not in installed)
    unexpected = sorted(f"{n}=={v}" for n, v in installed.items() if n not in lock)
    wrong = sorted(
        f"{n}: locked {v}, installed {installed[n]}"
        for n, v in lock.items()
        if n in installed and installed[n] != v
    )
    problems = []
    if missing:
        problems.append(f"locked but not installed: {', '.join(missing)}")
    if unexpected:
        problems.append(f"installed but not locked: {', '.join(unexpected)}")
    if wrong:
        problems.append(f"wrong version: {'; '.join(wrong)}")
    assert not problems, f"venv differs from {LOCK_FILE}: " + " | ".join(problems)


@pytest.mark.image
def test_every_locked_package_imports(lock: dict[str, str]) -> None:
    dists = venv_distributions()
    modules = sorted(
        {name for pkg in lock if pkg in dists for name in import_names(dists[pkg])}
        - OPTIONAL_TOOL_MODULES.keys()
    )
    # One fresh interpreter: a module that breaks on import must not poison the test process.
    probe = (
        "import importlib, json, sys\n"
        "failed = {}\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except BaseException as error:\n"
        "        failed[name] = f'{type(error).__name__}: {error}'.splitlines()[0][:300]\n"
        "print(json.dumps(failed))\n"
    )
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore"}
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [sys.executable, "-c", probe, *modules],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        check=False,
    )
    assert result.returncode == 0, f"import probe crashed: {result.stderr[-2000:]}"
    failed = json.loads(result.stdout.strip().splitlines()[-1])
    # Importing everything in one process can fail on order alone (setuptools refuses to load
    # after the stdlib distutils); a module counts as broken only if it fails on its own too.
    for name in list(failed):
        alone = subprocess.run(
            [sys.executable, "-c", f"import {name}"], capture_output=True, timeout=300, env=env
        )
        if alone.returncode == 0:
            del failed[name]
    assert not failed, f"{len(failed)} of {len(modules)} modules do not import: " + "; ".join(
        f"{name} ({error})" for name, error in sorted(failed.items())
    )


@pytest.mark.image
def test_each_cuda_library_exists_once() -> None:
    site_packages = {Path(sysconfig.get_paths()[key]) for key in ("purelib", "platlib")}
    system = [Path(d) for d in SYSTEM_LIBRARY_DIRS]
    system += [Path(d) for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d]
    cuda_toolkits = [p / "lib64" for p in Path("/usr/local").glob("cuda*")]
    copies = find_cuda_library_copies(system, [*site_packages, *cuda_toolkits])
    duplicates = duplicated_libraries(copies)
    assert not duplicates, "more than one copy of a CUDA library: " + " | ".join(duplicates)


@pytest.mark.image
def test_runs_as_the_non_root_dev_user() -> None:
    assert os.getuid() != 0, "the container runs as root"
    assert (os.getuid(), pwd.getpwuid(os.getuid()).pw_name) == (UID, USER)
    assert Path.home() == HOME
    for writable in (HOME, WORKSPACE, VENV):
        assert os.access(writable, os.W_OK), f"{writable} is not writable by {USER}"


@pytest.mark.image
def test_variant_file_names_the_variant() -> None:
    variant = VARIANT_FILE.read_text().strip()
    expected = os.environ.get("DLENV_EXPECTED_VARIANT")  # set by the host harness
    assert variant, f"{VARIANT_FILE} is empty"
    if expected:
        assert variant == expected, f"{VARIANT_FILE} says {variant!r}, expected {expected!r}"


@pytest.mark.image
def test_nvidia_runtime_variables_are_set() -> None:
    assert os.environ.get("NVIDIA_VISIBLE_DEVICES") == "all"
    capabilities = set(os.environ.get("NVIDIA_DRIVER_CAPABILITIES", "").split(","))
    assert {"compute", "utility"} <= capabilities, f"NVIDIA_DRIVER_CAPABILITIES={capabilities}"


@pytest.mark.image
def test_jupyterlab_is_installed_with_a_python_kernel() -> None:
    version = subprocess.run(
        ["jupyter-lab", "--version"], capture_output=True, text=True, timeout=120, check=False
    )
    assert version.returncode == 0, f"jupyter-lab --version failed: {version.stderr[-500:]}"
    specs = subprocess.run(
        ["jupyter", "kernelspec", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "python3" in json.loads(specs.stdout)["kernelspecs"]


@pytest.mark.image
def test_sshd_and_client_tools_are_installed() -> None:
    sshd = Path("/usr/sbin/sshd")
    assert sshd.is_file() and os.access(sshd, os.X_OK), f"{sshd} missing"
    assert shutil.which("ssh-keygen"), "ssh-keygen missing: the entrypoint needs it for host keys"


@pytest.mark.image
def test_no_build_secret_or_its_configuration_is_left_behind() -> None:
    secrets_dir = Path("/run/secrets")
    leftovers = sorted(str(p) for p in secrets_dir.rglob("*")) if secrets_dir.is_dir() else []
    assert not leftovers, f"build secrets left in the image: {leftovers}"
    apt_ca = Path("/etc/apt/apt.conf.d/99dl-env-ca")
    assert not apt_ca.exists(), f"{apt_ca} (the build's CA configuration) is still in the image"
    for name in ("SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE"):
        assert "/run/secrets" not in os.environ.get(name, ""), f"{name} points at a build secret"
