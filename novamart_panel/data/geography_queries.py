"""Parameterised SQL of the geography section (SPEC §4.5): the state rows of geographic_data.csv and which
of them the region filter keeps (the map draws every state, greying out those outside the filter)."""
from __future__ import annotations

import pandas as pd

from .queries import FilterState
from .store import DataStore

KEPT_COLUMN = "_kept_by_filters"


def state_rows(store: DataStore, state: FilterState) -> pd.DataFrame:
    """Every row of the geography table in file order, and KEPT_COLUMN: whether the filters keep it."""
    where, params = state.where("geography")
    kept = where.removeprefix("WHERE ") or "true"
    return store.query(f"SELECT *, coalesce({kept}, false) AS {KEPT_COLUMN} FROM geography ORDER BY rowid", params)
