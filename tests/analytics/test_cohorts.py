"""Cohort retention worked by hand."""
from __future__ import annotations

import pandas as pd
import pytest

from novamart_panel.analytics import cohorts

ORDERS = pd.DataFrame({
    "customer_id": ["a", "a", "a", "b", "b", "c", "d", "d"],
    "order_date": ["2024-01-03", "2024-01-20", "2024-03-02", "2024-01-15", "2024-02-01", "2024-02-10",
                   "2024-02-11", "2024-03-30"],
})


def test_monthly_activity_counts_customers_not_orders():
    activity = cohorts.monthly_activity(ORDERS)
    expected = pd.DataFrame({"cohort": pd.to_datetime(["2024-01-01"] * 3 + ["2024-02-01"] * 2),
                             "period": [0, 1, 2, 0, 1], "customers": [2, 1, 1, 2, 1]})
    pd.testing.assert_frame_equal(activity, expected, check_dtype=False)


def test_retention_table_fills_months_without_orders_and_stops_at_the_last_month():
    table = cohorts.retention_table(cohorts.monthly_activity(ORDERS))
    january = table[table["cohort"] == "2024-01-01"]
    assert january["period"].tolist() == [0, 1, 2]
    assert january["retention"].tolist() == [1.0, 0.5, 0.5]
    february = table[table["cohort"] == "2024-02-01"]
    assert february["period"].tolist() == [0, 1]            # March is the last month: no month 2 yet
    assert february["retention"].tolist() == [1.0, 0.5]
    later = cohorts.retention_table(cohorts.monthly_activity(ORDERS), last_month="2024-05-31")
    assert later[later["cohort"] == "2024-02-01"]["retention"].tolist() == [1.0, 0.5, 0.0, 0.0]


def test_average_retention_is_weighted_by_cohort_size():
    table = cohorts.retention_table(cohorts.monthly_activity(ORDERS))
    average = cohorts.average_retention(table).set_index("period")
    assert average.loc[1, "retention"] == pytest.approx((1 + 1) / (2 + 2))
    assert average.loc[2, "retention"] == pytest.approx(1 / 2)
    assert average.loc[2, "cohorts"] == 1


def test_empty_activity():
    assert cohorts.retention_table(pd.DataFrame()).empty
    assert list(cohorts.average_retention(cohorts.retention_table(pd.DataFrame())).columns) == \
        ["period", "retention", "cohorts"]
