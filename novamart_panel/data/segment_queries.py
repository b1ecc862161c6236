"""Parameterised SQL for the customer value & segments section (SPEC §4.9).

Per-customer RFM summaries and cohort activity are aggregated here in DuckDB, so the section never moves raw
orders into pandas. The summary uses exactly the definitions of `analytics.clv.rfm_summary` (the `lifetimes`
ones) at daily grain; the tests hold the two equal.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from .queries import FilterState, campaign_sums_by
from .store import DataStore

# Customer columns the section reads (contract names only).
CUSTOMER_COLUMNS = ("customer_id", "region", "acquisition_channel", "customer_segment", "income", "tenure_months",
                    "lifetime_value", "total_purchases", "avg_order_value", "last_purchase_days", "email_open_rate",
                    "website_visits_monthly", "app_sessions_monthly", "support_tickets", "satisfaction_score",
                    "churn_probability")


def _customer_where(state: FilterState, alias: str = "") -> tuple[str, list]:
    """The global filters that narrow customers (the region) as `WHERE …` and its parameters."""
    return state.where("customers", alias)


def customer_base(store: DataStore, state: FilterState) -> pd.DataFrame:
    """The customers under the filters (the columns in CUSTOMER_COLUMNS), by customer id."""
    where, params = _customer_where(state)
    columns = ", ".join(CUSTOMER_COLUMNS)
    return store.query(f"SELECT {columns} FROM customers {where} ORDER BY customer_id", params)


def last_order_date(store: DataStore) -> dt.date | None:
    """The day of the last order (the end of the observation), or None without orders."""
    if not store.has("orders"):
        return None
    value = store.scalar("SELECT max(order_date) FROM orders")
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def order_summary(store: DataStore, state: FilterState, observation_end: dt.date | None = None) -> pd.DataFrame:
    """Per customer of customer_data.csv with orders (under the filters): frequency, recency and T in days and
    monetary_value as `lifetimes` defines them (orders of one day summed; repeat days only), plus total_spend,
    first_order and days_since_last. Orders after `observation_end` (default: the last order) are ignored."""
    end = observation_end or last_order_date(store)
    if end is None:
        return pd.DataFrame(columns=["customer_id", "frequency", "recency", "T", "monetary_value", "total_spend",
                                     "first_order", "days_since_last"])
    where, params = _customer_where(state, "c")
    condition = f"{where} AND o.order_date <= ?" if where else "WHERE o.order_date <= ?"
    return store.query(f"""
        WITH days AS (
            SELECT o.customer_id, o.order_date AS day, sum(o.amount) AS amount
            FROM orders o JOIN customers c ON c.customer_id = o.customer_id
            {condition} AND o.order_date IS NOT NULL
            GROUP BY ALL)
        SELECT customer_id,
               (count(*) - 1)::DOUBLE AS frequency,
               date_diff('day', min(day), max(day))::DOUBLE AS recency,
               date_diff('day', min(day), ?::DATE)::DOUBLE AS "T",
               coalesce((sum(amount) - arg_min(amount, day)) / nullif(count(*) - 1, 0), 0)::DOUBLE AS monetary_value,
               sum(amount)::DOUBLE AS total_spend,
               min(day) AS first_order,
               date_diff('day', max(day), ?::DATE)::DOUBLE AS days_since_last
        FROM days GROUP BY customer_id ORDER BY customer_id""", [*params, end, end, end])


def cohort_activity(store: DataStore, state: FilterState) -> pd.DataFrame:
    """Customers ordering per (cohort = first-order month, period = months since it), for the customers under the
    region filter whose first order falls in the date range (all cohorts without one)."""
    if not store.has("orders"):
        return pd.DataFrame(columns=["cohort", "period", "customers"])
    where, params = _customer_where(state, "c")
    window, window_params = "", []
    if state.start or state.end:
        window = "WHERE cohort BETWEEN date_trunc('month', ?::DATE) AND ?::DATE"
        window_params = [state.start or dt.date.min, state.end or dt.date.max]
    return store.query(f"""
        WITH months AS (
            SELECT DISTINCT o.customer_id, date_trunc('month', o.order_date) AS month
            FROM orders o JOIN customers c ON c.customer_id = o.customer_id {where}),
        firsts AS (SELECT customer_id, min(month) AS cohort FROM months GROUP BY customer_id)
        SELECT cohort, date_diff('month', cohort, month) AS period, count(*) AS customers
        FROM months JOIN firsts USING (customer_id) {window}
        GROUP BY ALL ORDER BY cohort, period""", [*params, *window_params])


def channel_spend(store: DataStore, state: FilterState) -> pd.DataFrame:
    """Spend and conversions per campaign channel (the index) in the date range and regions (channel and
    campaign-type filters do not apply: CAC needs every channel's spend)."""
    if not store.has("campaigns"):
        return pd.DataFrame({"spend": pd.Series(dtype=float), "conversions": pd.Series(dtype=float)})
    window = FilterState(start=state.start, end=state.end, regions=state.regions)
    frame = campaign_sums_by(store, window, "channel")
    return frame.set_index("channel")[["spend", "conversions"]].astype(float)


def campaign_channels(store: DataStore) -> list[str]:
    """Every campaign channel in the data (for the acquisition-channel map)."""
    if not store.has("campaigns"):
        return []
    return [str(v) for v in store.query("SELECT DISTINCT channel FROM campaigns WHERE channel IS NOT NULL "
                                        "ORDER BY 1")["channel"]]


def acquisition_channels(store: DataStore) -> list[str]:
    """Every acquisition channel of customer_data.csv."""
    if not store.has("customers"):
        return []
    return [str(v) for v in store.query("SELECT DISTINCT acquisition_channel AS v FROM customers "
                                        "WHERE acquisition_channel IS NOT NULL ORDER BY 1")["v"]]


def crm_economics_defaults(store: DataStore) -> tuple[float, float]:
    """The CRM export's cost per contact and revenue per response (medians of Z_CostContact and Z_Revenue)."""
    row = store.query('SELECT median("Z_CostContact") AS cost, median("Z_Revenue") AS revenue FROM marketing_campaign')
    cost, revenue = row.iloc[0]
    return (float(cost) if pd.notna(cost) else 0.0, float(revenue) if pd.notna(revenue) else 0.0)


def crm_export(store: DataStore) -> pd.DataFrame:
    """The whole CRM export (marketing_campaign.csv), in file order."""
    return store.table("marketing_campaign")
