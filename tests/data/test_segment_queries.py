"""The segments section's SQL equals the pandas reference computations on the packaged CSV files."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from novamart_panel.analytics import clv, cohorts
from novamart_panel.data import segment_queries as sq
from novamart_panel.data.queries import FilterState


@pytest.fixture(scope="module")
def orders(packaged_dir) -> pd.DataFrame:
    return pd.read_csv(packaged_dir / "orders.csv")


@pytest.fixture(scope="module")
def customers(packaged_dir) -> pd.DataFrame:
    return pd.read_csv(packaged_dir / "customer_data.csv")


def test_order_summary_has_lifetimes_definitions(packaged_store, orders, customers):
    south = set(customers.loc[customers["region"] == "South", "customer_id"])
    ours = sq.order_summary(packaged_store, FilterState(regions=("South",))).set_index("customer_id")
    expected = clv.rfm_summary(orders[orders["customer_id"].isin(south)], "customer_id", "order_date", "amount",
                               observation_end=orders["order_date"].max())
    assert set(ours.index) == south
    pd.testing.assert_frame_equal(ours[["frequency", "recency", "T", "monetary_value"]].sort_index(),
                                  expected.sort_index(), check_names=False, rtol=1e-9)
    totals = orders[orders["customer_id"].isin(south)].groupby("customer_id")["amount"].sum()
    pd.testing.assert_series_equal(ours["total_spend"].sort_index(), totals.sort_index(), check_names=False, rtol=1e-9)
    assert (ours["days_since_last"] == ours["T"] - ours["recency"]).all()


def test_order_summary_stops_at_the_observation_end(packaged_store, orders):
    end = dt.date(2023, 6, 30)
    ours = sq.order_summary(packaged_store, FilterState(), observation_end=end).set_index("customer_id")
    expected = clv.rfm_summary(orders, "customer_id", "order_date", "amount", observation_end=end)
    pd.testing.assert_frame_equal(ours[["frequency", "recency", "T", "monetary_value"]].sort_index(),
                                  expected.sort_index(), check_names=False, rtol=1e-9)


def test_cohort_activity_matches_pandas_and_the_date_range_selects_cohorts(packaged_store, orders):
    ours = sq.cohort_activity(packaged_store, FilterState())
    expected = cohorts.monthly_activity(orders)
    ours["cohort"] = pd.to_datetime(ours["cohort"])
    pd.testing.assert_frame_equal(ours.reset_index(drop=True), expected, check_dtype=False)
    window = sq.cohort_activity(packaged_store, FilterState(start=dt.date(2024, 1, 15), end=dt.date(2024, 3, 31)))
    assert sorted(pd.to_datetime(window["cohort"]).dt.strftime("%Y-%m").unique()) == ["2024-01", "2024-02", "2024-03"]


def test_channel_spend_ignores_channel_and_type_filters(packaged_store, packaged_dir):
    campaigns = pd.read_csv(packaged_dir / "campaign_performance.csv", parse_dates=["date"])
    state = FilterState(start=dt.date(2024, 1, 1), end=dt.date(2024, 6, 30), regions=("West",),
                        channels=("Email",), campaign_types=("Brand Awareness",))
    ours = sq.channel_spend(packaged_store, state)
    rows = campaigns[(campaigns["date"] >= "2024-01-01") & (campaigns["date"] <= "2024-06-30")
                     & (campaigns["region"] == "West")]
    expected = rows.groupby("channel")[["spend", "conversions"]].sum().astype(float)
    pd.testing.assert_frame_equal(ours.sort_index(), expected.sort_index(), check_names=False)


def test_small_lookups(packaged_store, reference_store, customers):
    assert sq.acquisition_channels(packaged_store) == sorted(customers["acquisition_channel"].unique())
    assert sq.crm_economics_defaults(packaged_store) == (3.0, 11.0)
    assert sq.last_order_date(packaged_store) == dt.date(2024, 12, 29)
    assert sq.last_order_date(reference_store) is None
    assert sq.order_summary(reference_store, FilterState()).empty
    assert sq.cohort_activity(reference_store, FilterState()).empty
    base = sq.customer_base(packaged_store, FilterState(regions=("North",)))
    assert list(base.columns) == list(sq.CUSTOMER_COLUMNS)
    assert len(base) == (customers["region"] == "North").sum()
