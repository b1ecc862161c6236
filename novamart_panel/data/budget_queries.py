"""Queries of the budget, forecast and mix section (SPEC §4.8): spend and outcomes per channel and period.

DuckDB sums the campaign rows per period and channel under the global filters; pandas only reshapes the
small result (one row per period, one column per channel) and fills periods without rows with 0.
"""
from __future__ import annotations

import pandas as pd

from .queries import FilterState
from .store import DataStore

OUTCOMES = ("spend", "clicks", "conversions", "revenue")
BUDGET_GRAINS = {"daily": "day", "weekly": "week"}


def channel_spend_totals(store: DataStore) -> pd.Series:
    """Total spend per channel over the whole campaign file (no filters), largest first."""
    frame = store.query("SELECT channel, sum(spend) AS spend FROM campaigns WHERE channel IS NOT NULL "
                        "GROUP BY channel ORDER BY spend DESC, channel")
    return frame.set_index("channel")["spend"].astype(float)


def channel_periods(store: DataStore, state: FilterState, grain: str = "daily") -> pd.DataFrame:
    """Sums of spend, clicks, conversions and revenue per period and channel under the filters.

    Every period of the date filter's range (the whole file's without one) and every channel in the filtered
    rows appears (0 without rows); weekly periods start on Monday and only whole weeks inside the range are kept.
    """
    if grain not in BUDGET_GRAINS:
        raise ValueError(f"grain must be one of {', '.join(BUDGET_GRAINS)}")
    where, params = state.where("campaigns")
    sums = ", ".join(f"sum({c})::DOUBLE AS {c}" for c in OUTCOMES)
    frame = store.query(
        f"SELECT date_trunc('{BUDGET_GRAINS[grain]}', date)::DATE AS period, channel, {sums} "
        f"FROM campaigns {where} GROUP BY ALL ORDER BY period, channel", params)
    # Without a date filter the window is the whole file's (a channel idle at the end spent 0 there).
    bounds = store.query("SELECT min(date) AS lo, max(date) AS hi FROM campaigns").iloc[0]
    if frame.empty or pd.isna(bounds["lo"]):
        return pd.DataFrame({"period": pd.Series(dtype="datetime64[ns]"), "channel": pd.Series(dtype=object),
                             **{c: pd.Series(dtype=float) for c in OUTCOMES}})
    start = pd.Timestamp(state.start) if state.start else pd.Timestamp(bounds["lo"])
    end = pd.Timestamp(state.end) if state.end else pd.Timestamp(bounds["hi"])
    if grain == "daily":
        periods = pd.date_range(start, end, freq="D")
    else:
        first = start + pd.Timedelta(days=(7 - start.day_of_week) % 7)
        periods = pd.date_range(first, end - pd.Timedelta(days=6), freq="7D")
    frame["period"] = pd.to_datetime(frame["period"])
    channels = sorted(frame["channel"].dropna().unique())
    grid = pd.MultiIndex.from_product([periods, channels], names=["period", "channel"])
    return (frame.set_index(["period", "channel"]).reindex(grid, fill_value=0.0).reset_index()
            .astype({c: float for c in OUTCOMES}))


def mix_frame(store: DataStore, state: FilterState, grain: str = "daily", by_channel: str = "spend") -> pd.DataFrame:
    """One row per period: `date`, the totals of each outcome, and each channel's `by_channel` outcome as a
    column (a channel named like another column gets " (channel)" appended)."""
    if by_channel not in OUTCOMES:
        raise ValueError(f"by_channel must be one of {', '.join(OUTCOMES)}")
    long = channel_periods(store, state, grain)
    reserved = {"date", *OUTCOMES}
    long["channel"] = [f"{c} (channel)" if c in reserved else c for c in long["channel"]]
    totals = long.groupby("period", sort=True)[list(OUTCOMES)].sum()
    per_channel = long.pivot(index="period", columns="channel", values=by_channel).reindex(totals.index)
    wide = pd.concat([totals, per_channel.fillna(0.0)], axis=1).reset_index().rename(columns={"period": "date"})
    wide.columns.name = None
    return wide
