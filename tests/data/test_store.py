"""The DuckDB store: parameterised queries, availability, caching per folder and on disk, isolation, threads."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from broken_folders import CASES, HOSTILE_TEXT, SHORT, copy_folder, make_folder, set_cell

from novamart_panel.data import store as store_module
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


# -- the cache: load once, reuse in later processes, never write into the data folder ---------------
REPO = Path(__file__).resolve().parents[2]
OPEN_AND_DESCRIBE = """
import json, sys
from novamart_panel.data.store import DataStore
store = DataStore(sys.argv[1])
print(json.dumps({"built_here": store.built_here, "cache_file": str(store.cache_file),
                  "report": store.report.format_text(), "tables": sorted(store.tables),
                  "revenue": store.scalar("SELECT sum(revenue) FROM campaign_daily")}))
"""


def open_in_process(folder: Path, cache: str) -> subprocess.Popen:
    env = {**os.environ, "NOVAMART_CACHE_DIR": cache, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", OPEN_AND_DESCRIBE, str(folder)], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def described(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return json.loads(out)


def snapshot(folder: Path) -> dict:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()}


@pytest.fixture()
def broken_copy(reference_dir, tmp_path) -> Path:
    folder = make_folder(reference_dir, tmp_path / "data", CASES["row with too many fields"])
    set_cell(folder, "campaign_performance.csv", 7, "spend", "abc")
    set_cell(folder, "campaign_performance.csv", 9, "campaign_name", HOSTILE_TEXT)
    return folder


def test_a_later_process_reuses_the_cache_and_gets_the_same_report(broken_copy, tmp_path):
    cache = tmp_path / "cache"
    before = snapshot(broken_copy)
    first = described(open_in_process(broken_copy, str(cache)))
    second = described(open_in_process(broken_copy, str(cache)))
    in_memory = described(open_in_process(broken_copy, "off"))
    assert first["built_here"] and not second["built_here"] and in_memory["built_here"]
    assert Path(first["cache_file"]).parent == cache and second["cache_file"] == first["cache_file"]
    assert in_memory["cache_file"] == "None"
    assert first["report"] == second["report"] == in_memory["report"]
    assert "campaign_performance.csv, column spend, row 7" in first["report"]
    assert first["tables"] == second["tables"] == in_memory["tables"] and "geography" not in first["tables"]
    assert first["revenue"] == pytest.approx(second["revenue"]) and first["revenue"] == pytest.approx(in_memory["revenue"])
    assert snapshot(broken_copy) == before   # nothing written into the data folder
    assert [p.suffix for p in cache.glob("*.duckdb")] == [".duckdb"]


def test_concurrent_starts_build_the_cache_once(broken_copy, tmp_path):
    cache = str(tmp_path / "cache")
    results = [described(p) for p in [open_in_process(broken_copy, cache) for _ in range(3)]]
    assert sum(r["built_here"] for r in results) == 1
    assert len({r["report"] for r in results}) == 1 and len({r["cache_file"] for r in results}) == 1
    assert not list(Path(cache).glob("*.tmp*"))


def test_a_damaged_cache_file_is_rebuilt(broken_copy, tmp_path):
    cache = tmp_path / "cache"
    first = described(open_in_process(broken_copy, str(cache)))
    Path(first["cache_file"]).write_bytes(b"not a database")
    again = described(open_in_process(broken_copy, str(cache)))
    assert again["built_here"] and again["report"] == first["report"]


def test_a_changed_file_gets_a_new_cache_and_the_old_one_goes(broken_copy, tmp_path):
    cache = tmp_path / "cache"
    first = described(open_in_process(broken_copy, str(cache)))
    set_cell(broken_copy, "funnel_data.csv", 1, "visitors", "123456")
    second = described(open_in_process(broken_copy, str(cache)))
    assert second["built_here"] and second["cache_file"] != first["cache_file"]
    assert [p.name for p in cache.glob("*.duckdb")] == [Path(second["cache_file"]).name]


def test_an_unusable_cache_folder_falls_back_to_memory(reference_dir, tmp_path, monkeypatch):
    (tmp_path / "cache").write_text("a file where the cache folder should be")
    monkeypatch.setenv("NOVAMART_CACHE_DIR", str(tmp_path / "cache"))
    store = DataStore(copy_folder(reference_dir, tmp_path / "data", SHORT))
    assert store.cache_file is None and store.built_here and store.report.ok
    assert store.scalar("SELECT count(*) FROM campaigns") == SHORT


def test_the_cache_folder_default_and_pyodide(monkeypatch, tmp_path):
    monkeypatch.delenv("NOVAMART_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert store_module.cache_dir() == tmp_path / "novamart-panel"
    monkeypatch.setenv("NOVAMART_CACHE_DIR", "off")
    assert store_module.cache_dir() is None
    monkeypatch.setenv("NOVAMART_CACHE_DIR", str(tmp_path / "mine"))
    monkeypatch.setattr(store_module, "PYODIDE", True)
    assert store_module.cache_dir() is None


def test_query_results_are_remembered_and_handed_out_as_copies(reference_store):
    sql = "SELECT channel, count(*) AS n FROM campaigns WHERE list_contains(?, channel) GROUP BY 1 ORDER BY 1"
    first = reference_store.query(sql, [["Email", "Direct"]])
    first.loc[0, "n"] = -1
    second = reference_store.query(sql, [["Email", "Direct"]])
    assert second["n"].min() > 0
    key = store_module._memo_key(sql, [["Email", "Direct"]])
    assert key in reference_store._memo and len(reference_store._memo) <= store_module.MEMO_ENTRIES
    assert reference_store.query(sql, [["Email"]])["channel"].tolist() == ["Email"]


def test_the_memo_stays_bounded(reference_dir, tmp_path):
    store = DataStore.open(copy_folder(reference_dir, tmp_path / "data", SHORT))
    for i in range(store_module.MEMO_ENTRIES + 20):
        assert store.query("SELECT ? AS i", [i])["i"].iloc[0] == i
    assert len(store._memo) == store_module.MEMO_ENTRIES
    assert store_module._memo_key("SELECT ?", [1]) != store_module._memo_key("SELECT ?", [1.0])


def test_running_out_of_memory_is_said_and_not_cached(reference_dir, tmp_path, monkeypatch):
    folder = copy_folder(reference_dir, tmp_path / "data", SHORT)
    monkeypatch.setenv("NOVAMART_CACHE_DIR", str(tmp_path / "cache"))
    real_load = DataStore._load

    def starved(self, cur, spec):
        if spec.table == "customers":
            raise duckdb.OutOfMemoryException("Out of Memory Error: failed to allocate data of size 16.0 MiB")
        return real_load(self, cur, spec)
    monkeypatch.setattr(DataStore, "_load", starved)
    store = DataStore(folder)
    (issue,) = store.report.errors
    assert issue.file == "customer_data.csv" and "DuckDB ran out of memory" in issue.message
    assert "NOVAMART_DUCKDB_MEMORY" in issue.message
    assert store.cache_file is None and not list((tmp_path / "cache").glob("*.duckdb"))
    assert not store.has("customers") and store.has("campaigns") and store.has_rollups()


def test_cache_files_unused_for_a_month_are_pruned(reference_dir, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("NOVAMART_CACHE_DIR", str(cache))
    old, recent = cache / "aaaaaaaaaaaa-old.duckdb", cache / "bbbbbbbbbbbb-recent.duckdb"
    for path in (old, recent):
        path.write_bytes(b"x")
    month_ago = time.time() - (store_module.CACHE_MAX_AGE_DAYS + 1) * 86400
    os.utime(old, (month_ago, month_ago))
    store = DataStore(copy_folder(reference_dir, tmp_path / "data", SHORT))
    assert store.built_here and not old.exists() and recent.exists() and store.cache_file.exists()
