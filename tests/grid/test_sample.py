"""``wsnb.grid._sample``: synthetic frames have exactly the ``tasks_frame`` schema."""

from __future__ import annotations

import pandas as pd

from tests.grid.conftest import SCHEMA


def test_sample_frame_has_the_tasks_frame_schema(big: pd.DataFrame) -> None:
    assert big.index.name == "task_id"
    assert str(big.index.dtype) == "string"
    assert big.index.is_unique
    assert {c: str(t) for c, t in big.dtypes.items()} == SCHEMA
    assert list(big.columns) == list(SCHEMA)
    assert big["last_status"].isna().any() and big["next_execution_time"].isna().any()
