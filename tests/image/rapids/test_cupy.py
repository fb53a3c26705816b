"""CuPy: imports anywhere; on a GPU, array maths, a custom kernel and an FFT match NumPy."""

from __future__ import annotations

import numpy as np
import pytest


def test_cupy_imports_without_a_gpu() -> None:
    import cupy

    assert cupy.__version__.split(".")[0].isdigit()


@pytest.fixture
def cp():  # type: ignore[no-untyped-def]
    import cupy

    return cupy


@pytest.mark.gpu
def test_array_operations_match_numpy(cp) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    host = rng.standard_normal((300, 200))
    device = cp.asarray(host)
    np.testing.assert_allclose(cp.asnumpy(device.sum(axis=0)), host.sum(axis=0), rtol=1e-10)
    np.testing.assert_allclose(cp.asnumpy(device @ device.T), host @ host.T, rtol=1e-9)
    np.testing.assert_allclose(cp.asnumpy(cp.sort(device, axis=1)), np.sort(host, axis=1))
    assert float(cp.linalg.norm(device)) == pytest.approx(float(np.linalg.norm(host)), rel=1e-10)


@pytest.mark.gpu
def test_custom_elementwise_kernel_compiles_and_runs(cp) -> None:  # type: ignore[no-untyped-def]
    squared_distance = cp.ElementwiseKernel(
        "float32 x, float32 y", "float32 z", "z = (x - y) * (x - y)", "squared_distance"
    )
    x = cp.arange(10, dtype=cp.float32)
    y = cp.full(10, 3, dtype=cp.float32)
    expected = (np.arange(10, dtype=np.float32) - 3) ** 2
    np.testing.assert_array_equal(cp.asnumpy(squared_distance(x, y)), expected)


@pytest.mark.gpu
def test_fft_matches_numpy(cp) -> None:  # type: ignore[no-untyped-def]
    signal = np.sin(np.linspace(0, 40 * np.pi, 4096)) + np.random.default_rng(1).normal(
        0, 0.1, 4096
    )
    np.testing.assert_allclose(
        cp.asnumpy(cp.fft.fft(cp.asarray(signal))), np.fft.fft(signal), rtol=1e-9, atol=1e-9
    )
