"""The product section's SQL equals pandas on the packaged and the reference product files."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from novamart_panel.data import product_queries as pq
from novamart_panel.data.contract import PRODUCTS
from novamart_panel.data.queries import FilterState

SUMS = ["sales", "profit", "units_sold"]
FULL_RANGE = (dt.date(2023, 1, 1), dt.date(2024, 12, 31))


@pytest.fixture(scope="module", params=["packaged", "reference"])
def data(request):
    """(store, product rows with each row's quarter span) for each data folder."""
    folder = request.getfixturevalue(f"{request.param}_dir")
    store = request.getfixturevalue(f"{request.param}_store")
    rows = pd.read_csv(folder / "product_sales.csv")
    number = rows["quarter"].str.extract(r"Q([1-4])", expand=False).astype(int)
    rows["first_day"] = pd.to_datetime(dict(year=rows["year"], month=3 * number - 2, day=1))
    rows["last_day"] = pd.to_datetime(dict(year=rows["year"], month=3 * number, day=1)) + pd.offsets.MonthEnd(0)
    return store, rows


def kept(rows: pd.DataFrame, state: FilterState, full_range=None) -> pd.DataFrame:
    """The rows under the filters: region, and quarters overlapping the dates (edges of full_range: no limit)."""
    keep = rows["region"].isin(state.regions) if state.regions else pd.Series(True, index=rows.index)
    first, last = full_range or (None, None)
    if state.start and (first is None or state.start > first):
        keep &= rows["last_day"] >= pd.Timestamp(state.start)
    if state.end and (last is None or state.end < last):
        keep &= rows["first_day"] <= pd.Timestamp(state.end)
    return rows[keep]


STATES = [
    FilterState(),
    FilterState(regions=("West", "South")),
    FilterState(start=dt.date(2023, 5, 15), end=dt.date(2023, 11, 2)),
    FilterState(start=dt.date(2024, 4, 1), end=dt.date(2024, 4, 1), regions=("North",)),
    FilterState(start=FULL_RANGE[0], end=dt.date(2023, 3, 31)),
]


@pytest.mark.parametrize("state", STATES)
def test_product_and_category_sums_equal_pandas(data, state):
    store, rows = data
    expected_rows = kept(rows, state, FULL_RANGE)
    products = pq.product_sums(store, state, FULL_RANGE).set_index(["category", "subcategory", "product_name"])
    expected = expected_rows.groupby(["category", "subcategory", "product_name"])[SUMS].sum()
    assert sorted(products.index) == sorted(expected.index)
    assert np.allclose(products.loc[expected.index, SUMS].to_numpy(dtype=float), expected.to_numpy(dtype=float))
    years = pq.category_year_sums(store, state, FULL_RANGE).set_index(["category", "year"])
    by_year = expected_rows.groupby(["category", "year"])[SUMS].sum()
    assert sorted(years.index) == sorted(by_year.index)
    assert np.allclose(years.loc[by_year.index, SUMS].to_numpy(dtype=float), by_year.to_numpy(dtype=float))


@pytest.mark.parametrize("category", [None, "Electronics"])
def test_region_quarter_sums_in_time_order(data, category):
    store, rows = data
    state = FilterState(regions=("East", "Central"))
    frame = pq.region_quarter_sums(store, state, FULL_RANGE, category)
    chosen = kept(rows, state, FULL_RANGE)
    chosen = chosen if category is None else chosen[chosen["category"] == category]
    expected = chosen.groupby(["region", "quarter"])[SUMS].sum()
    ours = frame.set_index(["region", "quarter"])
    assert sorted(ours.index) == sorted(expected.index)
    assert np.allclose(ours.loc[expected.index, SUMS].to_numpy(dtype=float), expected.to_numpy(dtype=float))
    starts = [chosen.loc[chosen["quarter"] == q, "first_day"].iloc[0] for q in frame["quarter"]]
    assert starts == sorted(starts)                                   # quarters in time order
    assert list(frame.columns) == ["region", "quarter", "year", *SUMS]


def test_full_range_edges_mean_no_limit(data):
    store, rows = data
    # A slider end at the campaign data's edge does not cut product quarters beyond it.
    edge = FilterState(start=dt.date(2023, 6, 1), end=dt.date(2023, 6, 30))
    cut = pq.product_sums(store, edge)["sales"].sum()
    assert cut == pytest.approx(kept(rows, edge)["sales"].sum())
    open_ended = pq.product_sums(store, edge, full_range=(dt.date(2023, 6, 1), dt.date(2023, 6, 30)))
    assert open_ended["sales"].sum() == pytest.approx(rows["sales"].sum())


def test_categories_quarters_and_rows(data):
    store, rows = data
    assert pq.categories(store) == sorted(rows["category"].unique())
    ordered = rows.sort_values(["first_day", "quarter"])["quarter"].drop_duplicates().tolist()
    assert pq.quarters(store) == ordered
    state = FilterState(regions=("West",), start=dt.date(2024, 1, 1), end=dt.date(2024, 6, 30))
    frame = pq.product_rows(store, state, FULL_RANGE)
    assert list(frame.columns) == list(PRODUCTS.column_names)
    assert sorted(frame["product_id"]) == sorted(kept(rows, state, FULL_RANGE)["product_id"])


def test_only_contract_columns_narrow_products():
    with pytest.raises(ValueError, match="not a column"):
        pq.product_where(FilterState(), None, (("category; DROP TABLE products", "x"),))
    where, params = pq.product_where(FilterState(regions=("West",)), None, (("category", "Home'); --"),))
    assert "Home" not in where and params == [["West"], "Home'); --"]
