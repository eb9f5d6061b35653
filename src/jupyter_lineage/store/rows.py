"""Query results as plain Python: the rows of a DataFrame, and JSON columns decoded."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain Python: lists for list columns, None for missing values."""
    rows = df.astype(object).where(df.notna(), None).to_dict("records")
    for row in rows:
        for key, value in row.items():
            if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
                row[key] = value.tolist()
    return rows


def json_column(value: Any) -> Any:
    """A JSON column's value decoded (a backend may hand it over decoded already); None when
    it is missing or unreadable."""
    if value is None or isinstance(value, (dict, list)):
        return value
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return None
