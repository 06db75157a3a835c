"""Helpers for tests that read one row of a tidy table."""

from __future__ import annotations

import pandas as pd


def one_row(frame: pd.DataFrame, **where) -> pd.Series:
    """The single row of ``frame`` whose columns equal ``where`` (fails the test if there is not exactly one)."""
    mask = pd.Series(True, index=frame.index)
    for column, value in where.items():
        mask &= frame[column] == value
    rows = frame[mask]
    assert len(rows) == 1, f"expected one row for {where}, got {len(rows)}"
    return rows.iloc[0]
