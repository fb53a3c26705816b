"""PyTorch: CPU tensor maths always; CUDA, cuDNN and bf16 autocast on a GPU."""

from __future__ import annotations

import importlib.metadata

import pytest
import torch

# float32 on GPU vs CPU: different summation order, no TF32 (disabled below), so ~1e-4 relative.
MATMUL_RTOL, MATMUL_ATOL = 1e-4, 1e-3


def _installed(distribution: str) -> bool:
    try:
        importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


@pytest.fixture(autouse=True)
def deterministic_seed() -> None:
    torch.manual_seed(0)


def test_cpu_tensor_arithmetic_and_autograd() -> None:
    a = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    b = torch.ones(3, 2)
    assert torch.equal(a @ b, torch.tensor([[3.0, 3.0], [12.0, 12.0]]))
    x = torch.tensor([2.0, 3.0], requires_grad=True)
    (x**3).sum().backward()
    assert torch.equal(x.grad, torch.tensor([12.0, 27.0]))


def test_cpu_conv_and_linear_layers_train() -> None:
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(64, 2),
    )
    inputs, targets = torch.randn(32, 1, 4, 4), torch.randint(0, 2, (32,))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(20):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(inputs), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0], f"loss did not decrease: {losses[0]:.3f} -> {losses[-1]:.3f}"


def test_torch_is_built_for_the_installed_cuda_runtime() -> None:
    if torch.version.cuda is None:
        pytest.fail(f"torch {torch.__version__} is a CPU-only build; the image needs a CUDA build")
    runtimes = [
        importlib.metadata.version(name)
        for name in ("nvidia-cuda-runtime-cu12", "nvidia-cuda-runtime-cu13", "nvidia-cuda-runtime")
        if _installed(name)
    ]
    if not runtimes:
        pytest.skip("the CUDA runtime does not come from an nvidia-cuda-runtime wheel")
    runtime = runtimes[0]
    built_for = ".".join(torch.version.cuda.split(".")[:2])
    installed = ".".join(runtime.split(".")[:2])
    assert built_for == installed, f"torch built for CUDA {built_for}, runtime wheel is {installed}"


@pytest.mark.gpu
def test_cuda_is_available_and_names_the_device() -> None:
    assert torch.cuda.is_available(), "torch sees no CUDA device although the driver does"
    assert torch.cuda.device_count() >= 1
    name = torch.cuda.get_device_name(0)
    capability = torch.cuda.get_device_capability(0)
    print(f"GPU 0: {name}, compute capability {capability}, torch CUDA {torch.version.cuda}")
    assert name.strip()
    # A kernel image for this major architecture (or PTX to JIT from) must be in the build.
    archs = torch.cuda.get_arch_list()
    assert any(a.startswith((f"sm_{capability[0]}", "compute_")) for a in archs), (
        f"torch has no kernels for sm_{capability[0]}{capability[1]}: {archs}"
    )


@pytest.mark.gpu
def test_gpu_matmul_matches_cpu() -> None:
    torch.backends.cuda.matmul.allow_tf32 = False
    a, b = torch.randn(512, 256), torch.randn(256, 128)
    on_gpu = (a.cuda() @ b.cuda()).cpu()
    torch.testing.assert_close(on_gpu, a @ b, rtol=MATMUL_RTOL, atol=MATMUL_ATOL)


@pytest.mark.gpu
def test_cudnn_convolution_matches_cpu() -> None:
    assert torch.backends.cudnn.is_available(), "cuDNN is not available to torch"
    print(f"cuDNN {torch.backends.cudnn.version()}")
    torch.backends.cudnn.allow_tf32 = False
    conv = torch.nn.Conv2d(3, 8, kernel_size=3, padding=1)
    images = torch.randn(4, 3, 32, 32)
    expected = conv(images)
    with torch.backends.cudnn.flags(enabled=True, deterministic=True):
        on_gpu = conv.cuda()(images.cuda()).cpu()
    torch.testing.assert_close(on_gpu, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.gpu
def test_bf16_autocast_matmul_is_close_to_fp32() -> None:
    a, b = torch.randn(256, 256, device="cuda"), torch.randn(256, 256, device="cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        product = a @ b
    assert product.dtype == torch.bfloat16
    # bf16 keeps 8 mantissa bits: ~0.4% per element, sums of 256 terms stay within ~2% of the scale.
    reference = a @ b
    error = (product.float() - reference).abs().max() / reference.abs().max()
    assert error < 0.02, f"bf16 autocast result off by {error:.3%} of the fp32 scale"
