"""Tables as JSON-ready records, the one way every result's ``to_dict()`` writes its DataFrames."""

from __future__ import annotations

import math

import pandas as pd


def records(frame: pd.DataFrame) -> list[dict]:
    """A table's rows as dicts with NaN and ±inf as None (JSON has neither; missing stays missing)."""
    return [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
            for row in frame.to_dict(orient="records")]
