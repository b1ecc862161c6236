"""Queries of the model evaluation section (SPEC §4.7): the scored leads and the learning curve.

The lead files have no date, channel, region or campaign type, so no global filter applies to them.
"""
from __future__ import annotations

import pandas as pd

from .contract import BY_TABLE
from .store import DataStore

OUTCOME_AND_SCORE = ("actual_converted", "predicted_probability")


def scored_leads(store: DataStore, columns: tuple[str, ...] | None = OUTCOME_AND_SCORE) -> pd.DataFrame:
    """The leads with both an outcome and a score, in file order: `columns` (contract columns of the leads
    file), or every column with None."""
    if columns is not None:
        known = set(BY_TABLE["leads"].column_names)
        unknown = [c for c in columns if c not in known]
        if unknown:
            raise ValueError(f"not columns of {BY_TABLE['leads'].filename}: {', '.join(unknown)}")
    selected = "*" if columns is None else ", ".join(columns)
    return store.query(f"SELECT {selected} FROM leads WHERE actual_converted IS NOT NULL "
                       "AND predicted_probability IS NOT NULL ORDER BY rowid")


def learning_curve(store: DataStore) -> pd.DataFrame:
    """learning_curve.csv by training size."""
    return store.query("SELECT * FROM learning_curve ORDER BY training_size")
