"""The harness's pure parts: variant chains, GPU requests, JUnit results. No Docker needed."""

from __future__ import annotations

from pathlib import Path

import image_harness as harness

from dlenv.matrix import load_matrix


def test_matrix_chain_has_a_suite_folder_for_every_variant() -> None:
    matrix = load_matrix()
    for variant in matrix.variants:
        chain = [member.name for member in matrix.chain(variant)]
        assert harness.suite_dirs(chain) == chain, (
            f"tests/image lacks a folder for {variant}'s chain"
        )


def test_suite_dirs_skip_variants_without_a_folder(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    assert harness.suite_dirs(["base", "rapids"], tmp_path) == ["base"]


def test_no_gpus_requested_from_a_plain_engine() -> None:
    assert harness.gpu_device_requests({"Runtimes": {"runc": {}}}) == []


def test_nvidia_runtime_gets_all_gpus() -> None:
    [request] = harness.gpu_device_requests(
        {"Runtimes": {"runc": {}, "nvidia": {"path": "nvidia-container-runtime"}}}
    )
    assert request["Count"] == -1
    assert request["Capabilities"] == [["gpu"]]


def test_cdi_gpus_are_requested_through_the_cdi_driver() -> None:
    info = {
        "Runtimes": {"runc": {}},
        "DiscoveredDevices": [{"Source": "cdi", "ID": "nvidia.com/gpu=all"}],
    }
    [request] = harness.gpu_device_requests(info)
    assert request["Driver"] == "cdi"
    assert request["DeviceIDs"] == ["nvidia.com/gpu=all"]


JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="4">
<testcase classname="base.test_torch" name="test_cpu" file="base/test_torch.py" line="12"/>
<testcase classname="base.test_torch" name="test_gpu" file="base/test_torch.py" line="40">
  <skipped type="pytest.skip" message="no GPU: libcuda.so.1 not found">at 40</skipped>
</testcase>
<testcase classname="base.test_environment" name="test_lock"
  file="base/test_environment.py" line="7">
  <failure message="AssertionError: locked but not installed: tqdm==4.67.1">trace</failure>
</testcase>
<testcase classname="rapids.test_cupy" name="test_fft" file="rapids/test_cupy.py" line="3">
  <error message="failed on setup with &quot;Failed: GPU required&quot;">trace</error>
</testcase>
</testsuite></testsuites>"""


def test_junit_cases_keep_outcome_reason_and_location() -> None:
    cases = harness.parse_junit(JUNIT, "full")
    assert [(c.library, c.name, c.outcome) for c in cases] == [
        ("torch", "test_cpu", "passed"),
        ("torch", "test_gpu", "skipped"),
        ("environment", "test_lock", "failed"),
        ("cupy", "test_fft", "failed"),
    ]
    assert cases[1].message == "no GPU: libcuda.so.1 not found"
    assert cases[2].message.endswith("tqdm==4.67.1")
    assert (cases[1].file, cases[1].line, cases[1].variant) == ("base/test_torch.py", 40, "full")
    assert cases[3].test_id == "rapids/test_cupy.py::test_fft"


def test_inner_pytest_appends_its_own_path_and_writes_junit() -> None:
    command = harness.pytest_command(["base", "rapids"], ["-k", "lock"])
    assert "sys.path.append('/tmp/dlenv-pytest')" in command[2]
    assert command[3:5] == ["base", "rapids"]
    assert f"--junitxml={harness.JUNIT_IN_CONTAINER}" in command
    assert command[-2:] == ["-k", "lock"]
