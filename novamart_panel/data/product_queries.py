"""Parameterised SQL of the product performance section (SPEC §4.4): sums per product, category × year and
region × quarter under the filters.

Product rows carry a quarter label ("Q1 2023") and a year, no date: the date filter keeps the rows whose
quarter overlaps it. SQL text is built from fixed fragments and contract column names; values are `?` parameters.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from .contract import PRODUCTS
from .queries import FilterState
from .store import DataStore

SUMS_SQL = "sum(sales) AS sales, sum(profit) AS profit, sum(units_sold) AS units_sold"
QUARTER_NUMBER_SQL = "TRY_CAST(regexp_extract(quarter, 'Q([1-4])', 1) AS INTEGER)"
QUARTER_START_SQL = f"make_date(year, 3 * {QUARTER_NUMBER_SQL} - 2, 1)"
QUARTER_END_SQL = f"last_day(make_date(year, 3 * {QUARTER_NUMBER_SQL}, 1))"

DataRange = tuple[dt.date, dt.date] | None


def product_where(state: FilterState, full_range: DataRange = None,
                  equal: tuple[tuple[str, object], ...] = ()) -> tuple[str, list]:
    """`WHERE …` and its parameters for product rows: the region filter, the date range by quarter overlap,
    and `equal` (column, value) pairs whose columns must be contract columns.

    A date-range end at the edge of `full_range` (the campaign dates the slider spans) means "no limit":
    product quarters may reach beyond the campaign data.
    """
    where, params = state.where("products")
    clauses = [where.removeprefix("WHERE ")] if where else []
    first, last = full_range or (None, None)
    if state.start and (first is None or state.start > first):
        clauses.append(f"{QUARTER_END_SQL} >= ?")
        params.append(state.start)
    if state.end and (last is None or state.end < last):
        clauses.append(f"{QUARTER_START_SQL} <= ?")
        params.append(state.end)
    for column, value in equal:
        if column not in PRODUCTS.column_names:
            raise ValueError(f"{column!r} is not a column of {PRODUCTS.filename}")
        clauses.append(f"{column} = ?")
        params.append(value)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params


def categories(store: DataStore) -> list[str]:
    """Every product category, sorted."""
    frame = store.query("SELECT DISTINCT category FROM products WHERE category IS NOT NULL ORDER BY 1")
    return [str(v) for v in frame["category"]]


def quarters(store: DataStore) -> list[str]:
    """Every quarter label in time order (by year, then quarter number)."""
    frame = store.query(f"SELECT DISTINCT quarter, year, {QUARTER_NUMBER_SQL} AS q FROM products "
                        "ORDER BY year, q, quarter")
    return list(dict.fromkeys(frame["quarter"]))


def product_sums(store: DataStore, state: FilterState, full_range: DataRange = None) -> pd.DataFrame:
    """Sales, profit and units per product (category, subcategory, product name) under the filters."""
    where, params = product_where(state, full_range)
    return store.query(f"SELECT category, subcategory, product_name, {SUMS_SQL} FROM products {where} "
                       "GROUP BY ALL ORDER BY category, subcategory, product_name", params)


def category_year_sums(store: DataStore, state: FilterState, full_range: DataRange = None) -> pd.DataFrame:
    """Sales, profit and units per category and year under the filters."""
    where, params = product_where(state, full_range)
    return store.query(f"SELECT category, year, {SUMS_SQL} FROM products {where} "
                       "GROUP BY ALL ORDER BY category, year", params)


def region_quarter_sums(store: DataStore, state: FilterState, full_range: DataRange = None,
                        category: str | None = None) -> pd.DataFrame:
    """Sales, profit and units per region and quarter (quarters in time order), of one category or all."""
    where, params = product_where(state, full_range, (("category", category),) if category is not None else ())
    return store.query(f"SELECT region, quarter, year, {QUARTER_NUMBER_SQL} AS q, {SUMS_SQL} FROM products "
                       f"{where} GROUP BY ALL ORDER BY year, q, quarter, region", params).drop(columns="q")


def product_rows(store: DataStore, state: FilterState, full_range: DataRange = None) -> pd.DataFrame:
    """The product rows under the filters (contract columns), by product, region and quarter (the download)."""
    where, params = product_where(state, full_range)
    return store.query(
        f"SELECT {', '.join(PRODUCTS.column_names)} FROM products {where} "
        f"ORDER BY category, subcategory, product_name, region, year, {QUARTER_NUMBER_SQL}, quarter", params)
