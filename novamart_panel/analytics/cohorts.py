"""Cohort retention by first-order month (SPEC §4.9).

A customer's cohort is the month of the first order; month k is the k-th calendar month after it (month 0 is the
cohort month, where retention is 100 % by definition). Retention in month k is the share of the cohort that
ordered at least once in that month. Months that have not happened yet (after the last order in the data) are
not zero: they are absent (NaN).
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def monthly_activity(orders: pd.DataFrame, customer_id: str = "customer_id", date: str = "order_date") -> pd.DataFrame:
    """Customers active per (cohort, month number): the aggregate the data layer computes in SQL, from raw orders."""
    frame = pd.DataFrame({"customer": orders[customer_id].to_numpy(),
                          "month": pd.to_datetime(orders[date]).dt.to_period("M")}).drop_duplicates()
    frame["cohort"] = frame.groupby("customer")["month"].transform("min")
    frame["period"] = (frame["month"] - frame["cohort"]).map(lambda offset: offset.n)
    counts = frame.groupby(["cohort", "period"]).size().rename("customers").reset_index()
    counts["cohort"] = counts["cohort"].dt.to_timestamp()
    return counts.sort_values(["cohort", "period"], ignore_index=True)


def retention_table(activity: pd.DataFrame, last_month=None) -> pd.DataFrame:
    """Long table cohort, period, customers, cohort_size, retention from (cohort, period, customers) counts;
    every period up to the last observed month, with 0 retention where nobody ordered."""
    columns = ["cohort", "period", "customers", "cohort_size", "retention"]
    if activity.empty:
        return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c == "cohort" else float) for c in columns})
    frame = activity.copy()
    frame["cohort"] = pd.to_datetime(frame["cohort"])
    sizes = frame[frame["period"] == 0].set_index("cohort")["customers"]
    month_number = frame["cohort"].dt.year * 12 + frame["cohort"].dt.month - 1 + frame["period"]
    if last_month is not None:
        last = pd.Timestamp(last_month)
        last_number = last.year * 12 + last.month - 1
    else:
        last_number = int(month_number.max())
    rows = []
    for cohort, size in sizes.items():
        span = last_number - (cohort.year * 12 + cohort.month - 1)
        rows.append(pd.DataFrame({"cohort": cohort, "period": np.arange(max(span, 0) + 1), "cohort_size": size}))
    grid = pd.concat(rows, ignore_index=True)
    grid = grid.merge(frame[["cohort", "period", "customers"]], on=["cohort", "period"], how="left")
    grid["customers"] = grid["customers"].fillna(0).astype(np.int64)
    grid["retention"] = grid["customers"] / grid["cohort_size"]
    return grid[columns].sort_values(["cohort", "period"], ignore_index=True)


def average_retention(table: pd.DataFrame) -> pd.DataFrame:
    """Customer-weighted retention per month number over the cohorts that have reached it."""
    if table.empty:
        return pd.DataFrame({"period": pd.Series(dtype=np.int64), "retention": pd.Series(dtype=float),
                             "cohorts": pd.Series(dtype=np.int64)})
    grouped = table.groupby("period")
    return pd.DataFrame({"retention": grouped["customers"].sum() / grouped["cohort_size"].sum(),
                         "cohorts": grouped.size()}).reset_index()
