"""The DuckDB store: parameterised queries, availability, caching per folder, isolation, threads."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
from broken_folders import CASES, HOSTILE_TEXT, SHORT, copy_folder, make_folder, set_cell

from novamart_panel.data.contract import CAMPAIGNS, REQUIRED_FILES
from novamart_panel.data.store import DataStore


@pytest.fixture(scope="module")
def campaigns_csv(reference_dir) -> pd.DataFrame:
    return pd.read_csv(reference_dir / "campaign_performance.csv")


def test_tables_are_loaded_with_the_contract_types(reference_store):
    types = reference_store.query(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? "
        "AND table_name = 'campaigns' ORDER BY ordinal_position", [reference_store.schema])
    assert types["column_name"].tolist() == CAMPAIGNS.column_names
    assert types["data_type"].tolist() == [c.type for c in CAMPAIGNS.columns]


def test_query_with_parameters_matches_pandas(reference_store, campaigns_csv):
    got = reference_store.query(
        "SELECT channel, sum(revenue) AS revenue, count(*) AS n FROM campaigns "
        "WHERE list_contains(?, channel) AND date >= ? GROUP BY channel ORDER BY channel",
        [["Email", "Referral"], pd.Timestamp("2024-01-01").date()])
    chosen = campaigns_csv["channel"].isin(["Email", "Referral"]) & (campaigns_csv["date"] >= "2024-01-01")
    subset = campaigns_csv[chosen]
    expected = subset.groupby("channel").agg(revenue=("revenue", "sum"), n=("revenue", "size")).reset_index()
    assert got["channel"].tolist() == expected["channel"].tolist()
    assert got["n"].tolist() == expected["n"].tolist()
    assert got["revenue"].to_numpy() == pytest.approx(expected["revenue"].to_numpy())


def test_a_hostile_value_is_only_ever_a_parameter(reference_store):
    assert reference_store.scalar("SELECT count(*) FROM campaigns WHERE channel = ?", [HOSTILE_TEXT]) == 0
    assert reference_store.scalar("SELECT count(*) FROM campaigns") == 5858


def test_table_keeps_file_order(reference_store, reference_dir):
    funnel = reference_store.table("funnel")
    assert funnel["stage"].tolist() == pd.read_csv(reference_dir / "funnel_data.csv")["stage"].tolist()


def test_has_and_missing_messages(reference_store):
    assert all(reference_store.has(s.table) for s in REQUIRED_FILES)
    assert not reference_store.has("ab_tests")
    with pytest.raises(KeyError, match="ab_test_results.csv is not loaded"):
        reference_store.table("ab_tests")
    assert reference_store.missing_message("ab_tests").endswith("to unlock the Experiments section.")


def test_an_unusable_file_says_why(reference_dir, tmp_path):
    store = DataStore.open(make_folder(reference_dir, tmp_path / "data", CASES["missing column"]))
    assert not store.has("campaigns")
    assert store.missing_message("campaigns") == (
        "campaign_performance.csv could not be loaded: campaign_performance.csv, column spend: column is missing")


def test_open_caches_per_folder_and_reloads_after_a_change(reference_dir, tmp_path):
    folder = copy_folder(reference_dir, tmp_path / "data", SHORT)
    first = DataStore.open(folder)
    assert DataStore.open(str(folder)) is first          # same folder, unchanged files: same store
    set_cell(folder, "funnel_data.csv", 1, "visitors", "123456")
    stamp = (folder / "funnel_data.csv").stat()
    os.utime(folder / "funnel_data.csv", ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1_000_000_000))
    second = DataStore.open(folder)
    assert second is not first
    assert second.table("funnel")["visitors"].iloc[0] == 123456
    assert first.table("funnel")["visitors"].iloc[0] == 100000   # the old store still answers for its data


def test_two_folders_in_one_process_do_not_see_each_others_tables(reference_dir, tmp_path):
    left = copy_folder(reference_dir, tmp_path / "left", SHORT)
    right = copy_folder(reference_dir, tmp_path / "right", SHORT)
    set_cell(right, "funnel_data.csv", 1, "visitors", "7")
    (right / "product_sales.csv").unlink()
    left_store, right_store = DataStore.open(left), DataStore.open(right)
    assert left_store.schema != right_store.schema
    assert left_store.table("funnel")["visitors"].iloc[0] == 100000
    assert right_store.table("funnel")["visitors"].iloc[0] == 7
    assert left_store.has("products") and not right_store.has("products")
    with pytest.raises(Exception, match="products"):
        right_store.query("SELECT count(*) FROM products")


def test_concurrent_queries_from_four_threads(reference_store, campaigns_csv):
    channels = sorted(campaigns_csv["channel"].unique())
    expected = campaigns_csv.groupby("channel")["clicks"].sum()

    def clicks(channel):
        return reference_store.scalar("SELECT sum(clicks) FROM campaigns WHERE channel = ?", [channel])

    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(clicks, channels * 8))
    assert got == [expected[c] for c in channels * 8]


def test_infinite_numbers_are_named_and_treated_as_empty(reference_dir, tmp_path):
    store = DataStore.open(make_folder(reference_dir, tmp_path / "data", CASES["infinite number"]))
    assert pd.isna(store.scalar("SELECT revenue FROM campaigns WHERE rowid = 8"))
    assert store.scalar("SELECT count(*) FROM campaigns WHERE NOT isfinite(revenue)") == 0
