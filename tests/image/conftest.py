"""GPU and image detection for the in-image suites.

A test marked `gpu` runs only when the CUDA driver sees a GPU. Without one it is skipped with
the reason; when GPUs were requested (`--require-gpu` or DLENV_REQUIRE_GPU=1) it fails instead,
so a GPU run can never pass by skipping everything.

A test marked `image` checks the dl-env image itself; outside one (a GPU host running these
suites directly) it is skipped, unless DLENV_EXPECT_IMAGE=1 says we must be inside one.
"""

from __future__ import annotations

import ctypes
import functools
import os
from pathlib import Path

import pytest

IMAGE_MARKER_FILE = Path("/opt/dl-env/variant")
HOW_TO_EXPOSE_GPUS = (
    "start the container with --gpus all (Docker) or --device nvidia.com/gpu=all (CDI)"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--require-gpu",
        action="store_true",
        default=False,
        help="fail (instead of skip) GPU tests when no GPU is usable; also DLENV_REQUIRE_GPU=1",
    )


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes"}


@functools.cache
def gpu_unavailable_reason() -> str | None:
    """Why no GPU can be used here, or None when the CUDA driver reports at least one."""
    try:
        libcuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return (
            f"no NVIDIA driver in this environment (libcuda.so.1 not found); {HOW_TO_EXPOSE_GPUS}"
        )
    status = libcuda.cuInit(0)
    if status != 0:
        name = ctypes.c_char_p()
        libcuda.cuGetErrorName(status, ctypes.byref(name))
        label = name.value.decode() if name.value else f"error {status}"
        return f"the CUDA driver failed to initialise ({label}); check `nvidia-smi` on the host"
    count = ctypes.c_int(0)
    libcuda.cuDeviceGetCount(ctypes.byref(count))
    if count.value == 0:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES", "unset")
        return f"the CUDA driver sees no GPU (CUDA_VISIBLE_DEVICES={visible})"
    return None


def gpu_required(config: pytest.Config) -> bool:
    return bool(config.getoption("--require-gpu")) or _env_flag("DLENV_REQUIRE_GPU")


def inside_image() -> bool:
    return IMAGE_MARKER_FILE.exists() or _env_flag("DLENV_EXPECT_IMAGE")


def pytest_report_header(config: pytest.Config) -> list[str]:
    reason = gpu_unavailable_reason()
    gpu = "GPU: usable" if reason is None else f"GPU: none ({reason})"
    variant = IMAGE_MARKER_FILE.read_text().strip() if IMAGE_MARKER_FILE.exists() else "none"
    return [gpu, f"GPU required: {gpu_required(config)}", f"dl-env image variant: {variant}"]


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("image") and not inside_image():
        pytest.skip(f"not inside a dl-env image ({IMAGE_MARKER_FILE} missing)")
    if item.get_closest_marker("gpu"):
        reason = gpu_unavailable_reason()
        if reason is None:
            return
        if gpu_required(item.config):
            pytest.fail(
                f"GPU required (DLENV_REQUIRE_GPU=1 / --require-gpu) but none is usable: {reason}"
            )
        pytest.skip(f"no GPU: {reason}")
