"""Data-quality checks (data/quality.py) against pandas/scipy recomputations of the CSV files."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from broken_folders import CASES, SHORT, cell, copy_folder, duplicate_row, make_folder, set_cell
from scipy.stats import median_abs_deviation

from novamart_panel.data import quality
from novamart_panel.data.contract import BY_TABLE, REQUIRED_FILES
from novamart_panel.data.store import DataStore


@pytest.fixture(scope="module")
def campaigns_csv(reference_dir) -> pd.DataFrame:
    return pd.read_csv(reference_dir / "campaign_performance.csv")


def _robust_z(frame: pd.DataFrame, metric: str) -> pd.Series:
    """Reference: per campaign, 0.6745 · (x − median) / MAD with scipy's MAD; NaN where MAD is 0."""
    def score(values):
        mad = median_abs_deviation(values, scale=1.0)
        return values * np.nan if mad == 0 else 0.6745 * (values - values.median()) / mad
    return frame.groupby("campaign_id")[metric].transform(score)


def test_null_counts_match_pandas_for_every_file(reference_store, reference_dir):
    nulls = quality.null_counts(reference_store)
    for spec in REQUIRED_FILES:
        csv = pd.read_csv(reference_dir / spec.filename)
        mine = nulls[nulls["file"] == spec.filename]
        assert mine["nulls"].tolist() == csv.isna().sum().tolist(), spec.filename
        assert (mine["rows"] == len(csv)).all()
    journey = nulls[nulls["file"] == "customer_journey.csv"].set_index("column")
    assert journey.loc["touchpoint_4", ["nulls", "allowed", "share"]].tolist() == [4, True, 0.5]
    assert not journey.loc["customer_count", "allowed"]


def test_null_counts_find_an_emptied_cell(reference_dir, tmp_path):
    folder = copy_folder(reference_dir, tmp_path / "data", SHORT)
    set_cell(folder, "customer_data.csv", 17, "income", "")
    nulls = quality.null_counts(DataStore.open(folder)).set_index(["file", "column"])
    assert nulls.loc[("customer_data.csv", "income"), "nulls"] == 1
    assert quality.nulls_sentence(nulls.reset_index()).startswith(
        "1 column has empty values where a value is required: customer_data.csv income (1 of 300 rows).")


def test_duplicate_keys_count_keys_and_extra_rows(reference_store, reference_dir, tmp_path):
    clean = quality.duplicate_keys(reference_store)
    assert clean["duplicated_keys"].sum() == 0
    assert set(clean["file"]) == {s.filename for s in REQUIRED_FILES if s.key}
    folder = copy_folder(reference_dir, tmp_path / "data", SHORT)
    duplicate_row(folder, "customer_data.csv", 3, 30)
    duplicate_row(folder, "customer_data.csv", 3, 31)
    duplicate_row(folder, "product_sales.csv", 9, 12)
    found = quality.duplicate_keys(DataStore.open(folder)).set_index("file")
    csv = pd.read_csv(folder / "customer_data.csv")
    assert found.loc["customer_data.csv", ["duplicated_keys", "extra_rows", "example"]].tolist() == [
        1, int(csv.duplicated("customer_id").sum()), cell(folder, "customer_data.csv", 3, "customer_id")]
    assert found.loc["product_sales.csv", "duplicated_keys"] == 1
    assert found.loc["product_sales.csv", "example"].startswith("Electronics / ")
    sentence = quality.duplicates_sentence(found.reset_index())
    assert "**customer_data.csv** repeats 1 customer_id value (2 extra rows; first: CUST_10002)" in sentence


def test_reconciliation_of_the_reference_file(reference_store, campaigns_csv):
    recon = quality.reconciliation(reference_store).set_index("column")
    assert (recon["mismatched"] == 0).all()
    zero_spend = int((campaigns_csv["spend"] == 0).sum())
    assert recon.loc["roas", ["checked", "undefined", "undefined_stored"]].tolist() == [
        len(campaigns_csv) - zero_spend, zero_spend, zero_spend]
    ctr_gap = (campaigns_csv["ctr"] - campaigns_csv["clicks"] / campaigns_csv["impressions"] * 100).abs()
    assert recon.loc["ctr", "max_difference"] == pytest.approx(ctr_gap.max())
    strict = quality.reconciliation(reference_store, tolerance=0.0).set_index("column")
    assert strict.loc["ctr", "mismatched"] == int((ctr_gap > 1e-9).sum()) > 0
    by_channel = quality.zero_spend_rows(reference_store).set_index("channel")
    expected = campaigns_csv[campaigns_csv["spend"] == 0].groupby("channel").size()
    assert by_channel["rows"].to_dict() == expected.to_dict()
    assert (by_channel["roas_zero"] == by_channel["rows"]).all()
    sentence = quality.reconciliation_sentence(recon.reset_index(), by_channel.reset_index())
    assert "All 5 stored ratios" in sentence
    assert f"ROAS has no value on the {zero_spend:,} rows with zero spend (Direct 724 and Organic Search 460)" \
        in sentence
    assert f"stores 0 on {zero_spend:,} of them" in sentence


def test_reconciliation_finds_injected_errors(reference_dir, tmp_path):
    folder = copy_folder(reference_dir, tmp_path / "data", SHORT)
    set_cell(folder, "campaign_performance.csv", 20, "ctr", "9.99")
    set_cell(folder, "campaign_performance.csv", 25, "day_of_week", "Sunday" if cell(
        folder, "campaign_performance.csv", 25, "day_of_week") != "Sunday" else "Monday")
    store = DataStore.open(folder)
    recon = quality.reconciliation(store).set_index("column")
    assert recon["mismatched"].to_dict() == {
        "ctr": 1, "conversion_rate": 0, "cpc": 0, "cpa": 0, "roas": 0, "day_of_week": 1, "month": 0,
        "quarter": 0, "year": 0}
    (example,) = quality.reconciliation_examples(store).itertuples()
    csv = pd.read_csv(folder / "campaign_performance.csv")
    assert (example.row, example.column, example.stored) == (20, "ctr", 9.99)
    assert example.recomputed == pytest.approx(csv.loc[19, "clicks"] / csv.loc[19, "impressions"] * 100)
    sentence = quality.reconciliation_sentence(recon.reset_index(), quality.zero_spend_rows(store))
    assert sentence.startswith("Stored values disagree with their recomputation by more than rounding: ctr on 1 of "
                               f"{SHORT} rows (clicks ÷ impressions × 100) and day_of_week on 1 of {SHORT} rows")


def test_out_of_range_counts_follow_the_contract(reference_store, reference_dir, tmp_path):
    clean = quality.out_of_range(reference_store)
    assert clean["outside"].sum() == 0
    bounded = sum(1 for s in REQUIRED_FILES for c in s.columns
                  if c.values or c.type == "DATE" or (c.is_numeric and (c.min is not None or c.max is not None)))
    assert len(clean) == bounded
    store = DataStore.open(make_folder(reference_dir, tmp_path / "data", CASES["percentage above 100"]))
    found = quality.out_of_range(store)
    (row,) = found[found["outside"] > 0].itertuples()
    assert (row.file, row.column, row.allowed, row.outside, row.first_row, row.example) == (
        "campaign_performance.csv", "ctr", "0 … 100", 1, 20, "150.0")
    assert quality.range_sentence(found).startswith(
        "1 column breaks the contract's range: campaign_performance.csv ctr: 1 value outside 0 … 100 (first row 20")


def test_anomalies_match_a_pandas_scipy_reference(reference_store, campaigns_csv):
    summary = quality.anomalies(reference_store, threshold=5.0).set_index("metric")
    assert summary.index.tolist() == list(quality.ANOMALY_METRICS)
    for metric in quality.ANOMALY_METRICS:
        z = _robust_z(campaigns_csv, metric)
        assert summary.loc[metric, "scored"] == z.notna().sum(), metric
        assert summary.loc[metric, "anomalies"] == (z.abs() > 5).sum(), metric
        assert summary.loc[metric, "max_abs_z"] == pytest.approx(z.abs().max()), metric
    tighter = quality.anomalies(reference_store, threshold=8.0)
    assert (tighter["anomalies"].to_numpy() <= summary["anomalies"].to_numpy()).all()
    assert tighter["anomalies"].sum() < summary["anomalies"].sum()


def test_an_injected_spike_is_the_top_anomaly(reference_dir, tmp_path):
    folder = copy_folder(reference_dir, tmp_path / "data", SHORT)
    csv = pd.read_csv(folder / "campaign_performance.csv")
    set_cell(folder, "campaign_performance.csv", 50, "revenue", str(csv.loc[49, "revenue"] * 100))
    spiked = pd.read_csv(folder / "campaign_performance.csv")
    store = DataStore.open(folder)
    top = quality.anomaly_examples(store, threshold=5.0, limit=3).iloc[0]
    assert (top["row"], top["metric"], top["campaign_id"]) == (50, "revenue", spiked.loc[49, "campaign_id"])
    assert top["robust_z"] == pytest.approx(_robust_z(spiked, "revenue").iloc[49])
    sentence = quality.anomaly_sentence(quality.anomalies(store, 5.0), quality.anomaly_examples(store, 5.0, 1), 5.0)
    assert f"The furthest: {top['campaign_id']} on " in sentence and "(row 50), revenue" in sentence


def test_verdict_sentences_follow_the_report(reference_store, reference_dir, tmp_path):
    assert quality.verdict(reference_store.report).startswith("All 11 required files meet the contract (14,367 rows).")
    store = DataStore.open(make_folder(reference_dir, tmp_path / "data", CASES["row with too many fields"]))
    text = quality.verdict(store.report)
    assert text.startswith("**1 of 11 required files has problems**")
    assert "- **geographic_data.csv** is unusable: row 4: row(s) with more fields than the header's 12" in text


def test_checks_skip_tables_that_did_not_load(reference_dir, tmp_path):
    store = DataStore.open(make_folder(reference_dir, tmp_path / "data", CASES["missing column"]))
    assert quality.reconciliation(store).empty and quality.anomalies(store).empty
    assert quality.anomaly_examples(store).empty and quality.zero_spend_rows(store).empty
    assert "campaign_performance.csv" not in set(quality.null_counts(store)["file"])
    assert quality.reconciliation_sentence(quality.reconciliation(store), quality.zero_spend_rows(store)) == (
        "campaign_performance.csv is not loaded, so its derived columns cannot be checked.")
    empty = DataStore.open(tmp_path / "nowhere")
    assert quality.null_counts(empty).empty and quality.out_of_range(empty).empty
    assert quality.verdict(empty.report).startswith(f"**{tmp_path / 'nowhere'}**: folder does not exist.")


def test_metric_kinds_cover_every_scored_metric():
    kinds = {m: quality.campaign_metric_kind(m) for m in quality.ANOMALY_METRICS}
    assert kinds == {"impressions": "count", "clicks": "count", "conversions": "count", "spend": "money",
                     "revenue": "money", "ctr": "percent", "conversion_rate": "percent", "cpc": "money",
                     "cpa": "money", "roas": "ratio"}
    assert quality.format_campaign_value("ctr", 3.08) == "3.08%"
    assert set(quality.ANOMALY_METRICS) <= set(BY_TABLE["campaigns"].column_names)


# -- running the checks once, off the request path ---------------------------------------------------
REPO = Path(__file__).resolve().parents[2]
ATTACH_CHECKS = """
import json, sys
from novamart_panel.data import quality
from novamart_panel.data.store import DataStore
store = DataStore(sys.argv[1])
job = quality.start(store)
job.wait()
print(json.dumps({"computed_here": job.computed_here, "built_here": store.built_here,
                  "anomalies": quality.anomalies(store, 4.0)["anomalies"].tolist()}))
"""


def test_the_checks_run_in_the_background_and_later_starts_reuse_them(reference_dir, tmp_path):
    folder = copy_folder(reference_dir, tmp_path / "data", SHORT)
    env = {**os.environ, "NOVAMART_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(REPO)}
    runs = [json.loads(subprocess.run([sys.executable, "-c", ATTACH_CHECKS, str(folder)], env=env, cwd=REPO,
                                      capture_output=True, text=True, check=True, timeout=300).stdout)
            for _ in range(2)]
    assert runs[0]["computed_here"] and runs[0]["built_here"]
    assert not runs[1]["computed_here"] and not runs[1]["built_here"]
    assert runs[0]["anomalies"] == runs[1]["anomalies"] and sum(runs[0]["anomalies"]) > 0
    assert len(list((tmp_path / "cache").glob("*.quality-v*.duckdb"))) == 1


def test_a_store_computes_its_checks_once_in_a_thread(reference_dir, tmp_path):
    store = DataStore.open(copy_folder(reference_dir, tmp_path / "data", SHORT))
    job = quality.start(store)
    assert quality.start(store) is job and quality.checks(store) is job
    assert job.wait() and job.ready and job.progress == 1 and job._thread is not None
    assert quality.null_counts(store)["rows"].max() == SHORT


def test_without_threads_the_checks_run_at_the_first_wait(reference_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(quality, "PYODIDE", True)
    store = DataStore.open(copy_folder(reference_dir, tmp_path / "data", SHORT))
    job = quality.start(store)
    assert job.state == "waiting" and job._thread is None
    assert quality.duplicate_keys(store)["duplicated_keys"].sum() == 0
    assert job.ready and job.computed_here


def test_a_failing_check_says_so_and_does_not_hang(reference_dir, tmp_path, monkeypatch):
    def broken(*args):
        raise duckdb.InvalidInputException("disk on fire")
    monkeypatch.setattr(quality, "_save_ranges", broken)
    store = DataStore.open(copy_folder(reference_dir, tmp_path / "data", SHORT))
    job = quality.start(store)
    with pytest.raises(RuntimeError, match="the data-quality checks failed: InvalidInputException: disk on fire"):
        job.wait(timeout=120)
    assert job.state == "failed" and job.done == 3 and job.step == "value ranges"
