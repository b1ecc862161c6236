"""Campaign queries of `queries.py` the sections read directly: the overview's revenue trend (from the daily
rollup), the campaign rows of the download, and the calendar years, against pandas on the CSV files."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from novamart_panel.data import rollups
from novamart_panel.data.contract import CAMPAIGNS
from novamart_panel.data.queries import FilterState, campaign_rows, campaign_years, revenue_trend

STATES = [
    FilterState(),
    FilterState(channels=("Email", "Google Ads"), regions=("West",)),
    FilterState(start=dt.date(2023, 3, 17), end=dt.date(2023, 6, 9), campaign_types=("Seasonal Sale",)),
    FilterState(start=dt.date(2024, 12, 20)),
    FilterState(channels=("Carrier pigeon",)),
]


@pytest.fixture(scope="module", params=["packaged", "reference"])
def data(request):
    folder = request.getfixturevalue(f"{request.param}_dir")
    store = request.getfixturevalue(f"{request.param}_store")
    return store, pd.read_csv(folder / "campaign_performance.csv", parse_dates=["date"])


def narrowed(rows: pd.DataFrame, state: FilterState, dates: bool = True) -> pd.DataFrame:
    keep = pd.Series(True, index=rows.index)
    for name, column in (("channels", "channel"), ("regions", "region"), ("campaign_types", "campaign_type")):
        if getattr(state, name):
            keep &= rows[column].isin(getattr(state, name))
    if dates and state.start:
        keep &= rows["date"] >= pd.Timestamp(state.start)
    if dates and state.end:
        keep &= rows["date"] <= pd.Timestamp(state.end)
    return rows[keep]


@pytest.mark.parametrize("state", STATES)
def test_revenue_trend_equals_pandas_rolling_means(data, state):
    store, rows = data
    calendar = pd.date_range(rows["date"].min(), rows["date"].max(), freq="D")
    daily = narrowed(rows, state, dates=False).groupby("date")["revenue"].sum().reindex(calendar, fill_value=0.0)
    expected = pd.DataFrame({"revenue": daily, "ma7": daily.rolling(7).mean(), "ma30": daily.rolling(30).mean()})
    expected = expected.loc[pd.Timestamp(state.start or calendar[0]):pd.Timestamp(state.end or calendar[-1])]
    trend = revenue_trend(store, state)
    assert list(pd.to_datetime(trend["date"])) == list(expected.index)
    for column in ("revenue", "ma7", "ma30"):
        assert np.allclose(trend[column].astype(float), expected[column], equal_nan=True), column


def test_revenue_trend_reads_the_daily_rollup(data, monkeypatch):
    store, _ = data
    seen = []
    query = store.query
    monkeypatch.setattr(store, "query", lambda sql, params=None: seen.append(sql) or query(sql, params))
    revenue_trend(store, FilterState(regions=("North",), start=dt.date(2024, 1, 1), end=dt.date(2024, 1, 31)))
    assert rollups.DAILY in seen[0] and " campaigns " not in seen[0]


def test_campaign_rows_and_years(data):
    store, rows = data
    state = STATES[2]
    frame = campaign_rows(store, state)
    assert list(frame.columns) == list(CAMPAIGNS.column_names)
    expected = narrowed(rows, state).sort_values(["date", "campaign_id"], kind="stable")
    assert list(frame["campaign_id"]) == list(expected["campaign_id"])
    assert np.allclose(frame["revenue"], expected["revenue"])
    assert campaign_years(store) == sorted(rows["date"].dt.year.unique())
