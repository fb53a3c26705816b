"""Polars: lazy queries give pandas' answers and round-trip through Arrow."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa


def test_lazy_group_by_matches_pandas() -> None:
    rng = np.random.default_rng(0)
    data = {"key": rng.integers(0, 20, 5_000), "value": rng.random(5_000)}
    expected = pd.DataFrame(data).groupby("key")["value"].agg(["sum", "max"]).reset_index()
    result = (
        pl.DataFrame(data)
        .lazy()
        .group_by("key")
        .agg(pl.col("value").sum().alias("sum"), pl.col("value").max().alias("max"))
        .sort("key")
        .collect()
        .to_pandas()
    )
    pd.testing.assert_frame_equal(result, expected, check_dtype=False)


def test_arrow_round_trip_keeps_types_and_values() -> None:
    frame = pl.DataFrame({"name": ["a", "b", None], "score": [1.5, None, 3.0]})
    table = frame.to_arrow()
    assert isinstance(table, pa.Table)
    assert pl.from_arrow(table).equals(frame)
