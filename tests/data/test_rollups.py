"""Campaign queries answered from the rollups return what the same SQL over the raw table returns."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from broken_folders import SHORT, copy_folder, set_cell

from novamart_panel.data import queries, rollups
from novamart_panel.data.queries import (SUMS_SQL, FilterState, campaign_sums_by, campaign_sums_over_time,
                                         campaign_table_for, campaign_totals, campaign_years, date_bounds,
                                         distinct_values, last_campaign_day)
from novamart_panel.data.store import DataStore

STATES = {
    "everything": FilterState(),
    "two channels": FilterState(channels=("Email", "Google Ads")),
    "partial months": FilterState(start=dt.date(2023, 3, 17), end=dt.date(2024, 2, 9)),
    "whole months": FilterState(start=dt.date(2023, 4, 1), end=dt.date(2023, 9, 30)),
    "inside one month": FilterState(start=dt.date(2024, 5, 3), end=dt.date(2024, 5, 21)),
    "one day": FilterState(start=dt.date(2024, 7, 14), end=dt.date(2024, 7, 14)),
    "from a day on": FilterState(start=dt.date(2024, 6, 12)),
    "up to a day": FilterState(end=dt.date(2023, 8, 2)),
    "everything narrowed": FilterState(start=dt.date(2023, 11, 5), end=dt.date(2024, 11, 4), channels=("Email",),
                                       regions=("West", "South"), campaign_types=("Seasonal Sale", "Retargeting")),
    "reversed range": FilterState(start=dt.date(2024, 3, 1), end=dt.date(2024, 2, 1)),
    "outside the data": FilterState(start=dt.date(2030, 1, 1), end=dt.date(2030, 12, 31)),
    "unknown channel": FilterState(channels=("Carrier pigeon",)),
}
DIMENSIONS = [("channel",), ("quarter", "region"), ("campaign_type", "channel", "region"), ("date",),
              ("campaign_id", "campaign_name", "channel"), ("campaign_id",), ("region", "campaign_name")]


def raw_sums_by(store, state, *dims):
    """The reference: the SQL the queries ran over the raw table before the rollups."""
    where, params = state.where("campaigns")
    cols = ", ".join(dims)
    frame = store.query(f"SELECT {cols}, {SUMS_SQL} FROM campaigns {where} GROUP BY ALL ORDER BY {cols}", params)
    return queries._name_blanks(frame, dims)   # empty names form the "(not given)" group, as on screen


def assert_same(got: pd.DataFrame, expected: pd.DataFrame):
    assert got.columns.tolist() == expected.columns.tolist()
    assert len(got) == len(expected)
    for column in got.columns:
        if pd.api.types.is_float_dtype(expected[column]):
            assert got[column].to_numpy() == pytest.approx(expected[column].to_numpy(), rel=1e-12, nan_ok=True), column
        else:
            assert got[column].tolist() == expected[column].tolist(), column


@pytest.fixture(scope="module", params=["packaged", "reference"])
def store(request, packaged_store, reference_dir):
    return packaged_store if request.param == "packaged" else DataStore.open(reference_dir)


def test_the_rollups_exist_and_are_smaller(store):
    assert store.has_rollups()
    rows = store.scalar("SELECT count(*) FROM campaigns")
    assert store.scalar(f"SELECT count(*) FROM {rollups.DAILY}") <= rows   # few campaigns a day: about as many
    assert store.scalar(f"SELECT count(*) FROM {rollups.MONTHLY}") < rows
    assert store.scalar(f"SELECT sum(rows) FROM {rollups.DAILY}") == rows
    assert store.scalar(f"SELECT count(*) FROM {rollups.BY_DATE}") == rows
    dates = store.query(f"SELECT date FROM {rollups.BY_DATE}")["date"]
    assert dates.is_monotonic_increasing


@pytest.mark.parametrize("name", list(STATES))
@pytest.mark.parametrize("dims", DIMENSIONS, ids="-".join)
def test_sums_by_match_the_raw_table(store, name, dims):
    assert_same(campaign_sums_by(store, STATES[name], *dims), raw_sums_by(store, STATES[name], *dims))


@pytest.mark.parametrize("campaigns", [True, False], ids=["with the campaign count", "sums only"])
@pytest.mark.parametrize("name", list(STATES))
def test_totals_match_the_raw_table(store, name, campaigns):
    state = STATES[name]
    where, params = state.where("campaigns")
    count = ", count(DISTINCT campaign_id) AS campaigns" if campaigns else ""
    raw = store.query(f"SELECT {SUMS_SQL}{count} FROM campaigns {where}", params)
    got = campaign_totals(store, state, campaigns=campaigns)
    assert list(got) == raw.columns.tolist()
    assert got == pytest.approx({k: float(v) if pd.notna(v) else 0.0 for k, v in raw.iloc[0].items()}, rel=1e-12)


@pytest.mark.parametrize("name", list(STATES))
def test_last_campaign_day_matches_the_raw_table(store, name):
    state = STATES[name]
    where, params = state.where("campaigns")
    raw = store.query(f"SELECT max(date) AS hi FROM campaigns {where}", params).iloc[0]["hi"]
    assert last_campaign_day(store, state) == (None if pd.isna(raw) else pd.Timestamp(raw).date())


@pytest.mark.parametrize("name", ["everything", "partial months", "everything narrowed", "one day"])
@pytest.mark.parametrize("grain", ["daily", "weekly", "monthly", "quarterly"])
@pytest.mark.parametrize("by", [None, "channel", "campaign_type", "campaign_id"])
def test_sums_over_time_match_the_raw_table(store, name, grain, by):
    state = STATES[name]
    where, params = state.where("campaigns")
    split = f", {by}" if by else ""
    raw = store.query(f"SELECT date_trunc('{grain.removesuffix('ly').replace('dai', 'day')}', date)::DATE AS period"
                      f"{split}, {SUMS_SQL} FROM campaigns {where} GROUP BY ALL ORDER BY period{split}", params)
    assert_same(campaign_sums_over_time(store, state, grain, by), raw)


def test_bounds_years_and_options_match_the_raw_table(store):
    lo, hi = store.query("SELECT min(date), max(date) FROM campaigns").iloc[0]
    assert date_bounds(store) == (lo.date(), hi.date())
    assert campaign_years(store) == sorted({lo.year, hi.year} | set(range(lo.year, hi.year + 1)))
    for column in ("channel", "region", "campaign_type", "quarter", "campaign_id", "campaign_name"):
        raw = store.query(f"SELECT DISTINCT {column} AS v FROM campaigns WHERE {column} IS NOT NULL ORDER BY 1")
        assert distinct_values(store, "campaigns", column) == [str(v) for v in raw["v"]], column


def test_the_table_for_a_query_is_the_rollup_only_when_its_columns_allow(store):
    assert campaign_table_for(store, "date", "channel") == rollups.DAILY
    assert campaign_table_for(store) == rollups.DAILY
    assert campaign_table_for(store, "campaign_id") == "campaigns"
    assert campaign_table_for(store, "ctr") == "campaigns"


def test_empty_and_missing_values_keep_their_own_groups(reference_dir, tmp_path):
    folder = copy_folder(reference_dir, tmp_path / "data", SHORT)
    set_cell(folder, "campaign_performance.csv", 3, "channel", "")
    set_cell(folder, "campaign_performance.csv", 4, "date", "")
    set_cell(folder, "campaign_performance.csv", 5, "spend", "")
    set_cell(folder, "campaign_performance.csv", 6, "campaign_id", "")
    store = DataStore.open(folder)
    for state in (STATES["everything"], STATES["partial months"], STATES["from a day on"]):
        for dims in DIMENSIONS:
            assert_same(campaign_sums_by(store, state, *dims), raw_sums_by(store, state, *dims))


def test_campaign_rows_sql_covers_a_range_with_whole_months_and_edge_days():
    sql, params = rollups.campaign_rows_sql("", [], dt.date(2023, 3, 17), dt.date(2023, 6, 9))
    assert sql.count(rollups.MONTHLY) == 1 and sql.count(rollups.BY_DATE) == 2
    assert params == [dt.date(2023, 4, 1), dt.date(2023, 5, 1), dt.date(2023, 3, 17), dt.date(2023, 3, 31),
                      dt.date(2023, 6, 1), dt.date(2023, 6, 9)]
    sql, params = rollups.campaign_rows_sql("WHERE list_contains(?, channel)", [["Email"]], dt.date(2023, 3, 2),
                                            dt.date(2023, 3, 30))
    assert rollups.MONTHLY not in sql and params == [["Email"], dt.date(2023, 3, 2), dt.date(2023, 3, 30)]
    sql, params = rollups.campaign_rows_sql("", [], None, dt.date(2023, 12, 31))
    assert sql.count(rollups.BY_DATE) == 0 and params == [dt.date.min, dt.date(2023, 12, 1)]
    sql, params = rollups.campaign_rows_sql("", [], dt.date(9999, 12, 5), None)
    assert rollups.MONTHLY not in sql and params == [dt.date(9999, 12, 5), dt.date.max]
