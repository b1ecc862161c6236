"""Queries of the A/B test table (`ab_tests`, from ab_test_results.csv) for the Experiments section.

Names keep the file's order of first appearance: the first variant listed is the control when none is
named "control". Rows without an experiment or variant name cannot be compared and are left out; counts
that failed validation (NULL) count as 0. The global filters do not apply: the file has no dates,
channels, regions or campaign types.
"""
from __future__ import annotations

import pandas as pd

from .store import DataStore

TABLE = "ab_tests"
NO_SEGMENT = "(no segment)"
ROW_COLUMNS = ["experiment", "variant", "segment", "visitors", "conversions", "revenue"]
_NAMED = "experiment IS NOT NULL AND variant IS NOT NULL"


def experiment_names(store: DataStore) -> list[str]:
    """Experiments in the order the file first lists them ([] when the file is not loaded)."""
    if not store.has(TABLE):
        return []
    frame = store.query(f"SELECT experiment FROM {TABLE} WHERE {_NAMED} GROUP BY experiment ORDER BY min(rowid)")
    return [str(name) for name in frame["experiment"]]


def experiment_rows(store: DataStore, experiment: str | None = None) -> pd.DataFrame:
    """One row per variant × segment (summed if the file repeats a key), in file order; all experiments
    when `experiment` is None."""
    if not store.has(TABLE):
        return pd.DataFrame({c: pd.Series(dtype=object if i < 3 else float) for i, c in enumerate(ROW_COLUMNS)})
    where, params = (f"WHERE {_NAMED}", []) if experiment is None else (f"WHERE {_NAMED} AND experiment = ?",
                                                                       [experiment])
    frame = store.query(
        f"SELECT experiment, variant, coalesce(segment, ?) AS segment, "
        f"coalesce(sum(visitors), 0) AS visitors, coalesce(sum(conversions), 0) AS conversions, "
        f"sum(revenue) AS revenue FROM {TABLE} {where} "
        f"GROUP BY ALL ORDER BY min(rowid)", [NO_SEGMENT, *params])
    for column in ("visitors", "conversions", "revenue"):
        frame[column] = frame[column].astype(float)
    return frame[ROW_COLUMNS]
