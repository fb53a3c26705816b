"""cuDF: imports anywhere; on a GPU, groupby/merge equal pandas, and cudf.pandas accelerates."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest


def test_cudf_imports_without_a_gpu() -> None:
    import cudf

    assert cudf.__version__.split(".")[0].isdigit()


@pytest.fixture
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    sales = pd.DataFrame(
        {
            "store": rng.integers(0, 50, 10_000),
            "amount": rng.random(10_000),
            "units": rng.integers(1, 9, 10_000),
        }
    )
    stores = pd.DataFrame({"store": np.arange(50), "region": [f"r{i % 7}" for i in range(50)]})
    return sales, stores


@pytest.mark.gpu
def test_groupby_matches_pandas(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    import cudf

    sales, _ = frames
    expected = sales.groupby("store").agg({"amount": "sum", "units": "mean"}).sort_index()
    result = cudf.from_pandas(sales).groupby("store").agg({"amount": "sum", "units": "mean"})
    pd.testing.assert_frame_equal(
        result.sort_index().to_pandas(), expected, check_exact=False, rtol=1e-9
    )


@pytest.mark.gpu
def test_merge_matches_pandas(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    import cudf

    sales, stores = frames
    keys = ["store", "amount"]
    expected = sales.merge(stores, on="store").sort_values(keys).reset_index(drop=True)
    merged = cudf.from_pandas(sales).merge(cudf.from_pandas(stores), on="store")
    result = merged.to_pandas().sort_values(keys).reset_index(drop=True)[expected.columns]
    pd.testing.assert_frame_equal(result, expected, check_dtype=False)


@pytest.mark.gpu
def test_cudf_pandas_accelerates_unchanged_pandas_code() -> None:
    # cudf.pandas must be installed before pandas is imported, so it needs a fresh interpreter.
    script = textwrap.dedent(
        """
        import cudf.pandas
        cudf.pandas.install()
        import json
        import pandas as pd
        from cudf.pandas import is_proxy_object
        df = pd.DataFrame({"k": [1, 2, 1, 2, 3], "v": [1.0, 2.0, 3.0, 4.0, 5.0]})
        sums = df.groupby("k")["v"].sum()
        state = getattr(getattr(df, "_fsproxy_state", None), "name", "unknown")
        print(json.dumps({"proxy": is_proxy_object(df), "state": state, "sums": sums.to_dict()}))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"cudf.pandas script failed: {result.stderr[-2000:]}"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["proxy"], (
        "pandas objects are not cudf.pandas proxies: the accelerator is not active"
    )
    assert report["state"] in {"FAST", "unknown"}, (
        f"cudf.pandas fell back to CPU pandas ({report['state']})"
    )
    assert report["sums"] == {"1": 4.0, "2": 6.0, "3": 5.0}
