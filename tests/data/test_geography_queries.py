"""The geography query: every state row in file order, and which of them the filters keep."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from novamart_panel.data import geography_queries as gq
from novamart_panel.data.queries import FilterState


@pytest.mark.parametrize("data", ["packaged", "reference"])
@pytest.mark.parametrize("regions", [(), ("West",), ("North", "South"), ("Nowhere",)])
def test_state_rows_in_file_order_with_the_region_filter(request, data, regions):
    folder = request.getfixturevalue(f"{data}_dir")
    store = request.getfixturevalue(f"{data}_store")
    expected = pd.read_csv(folder / "geographic_data.csv")
    # Campaign-only filters never narrow the states.
    rows = gq.state_rows(store, FilterState(regions=regions, channels=("Email",)))
    assert list(rows["state"]) == list(expected["state"])
    assert np.allclose(rows["total_revenue"], expected["total_revenue"])
    keep = expected["region"].isin(regions) if regions else pd.Series(True, index=expected.index)
    assert list(rows[gq.KEPT_COLUMN]) == list(keep)


def test_a_state_without_region_is_outside_a_region_filter(tmp_path, packaged_dir):
    import shutil

    from novamart_panel.data.store import DataStore

    rows = pd.read_csv(packaged_dir / "geographic_data.csv")
    rows.loc[0, "region"] = None
    shutil.copy(packaged_dir / "campaign_performance.csv", tmp_path)
    rows.to_csv(tmp_path / "geographic_data.csv", index=False)
    store = DataStore.open(tmp_path)
    flags = gq.state_rows(store, FilterState(regions=tuple(rows["region"].dropna().unique())))[gq.KEPT_COLUMN]
    assert flags.dtype == bool and not flags.iloc[0] and flags.iloc[1:].all()
    assert gq.state_rows(store, FilterState())[gq.KEPT_COLUMN].all()
