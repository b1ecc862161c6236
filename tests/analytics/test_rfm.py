"""RFM scores and labels by hand: quintiles of rank, recency reversed, ties by customer id, one label per cell."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from novamart_panel.analytics import rfm


def test_quintiles_of_rank_with_the_best_fifth_scoring_five():
    values = np.arange(10, dtype=float)            # 0 … 9
    ids = [f"C{i:02d}" for i in range(10)]
    assert rfm.quintile_scores(values, ids).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # Recency is reversed: the fewest days since the last purchase score 5.
    assert rfm.quintile_scores(values, ids, higher_is_better=False).tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_ties_are_broken_by_customer_id_whatever_the_row_order():
    ids = np.array(["C05", "C01", "C04", "C02", "C03"])
    values = np.zeros(5)                            # all tied: the smaller id ranks lower
    scores = rfm.quintile_scores(values, ids)
    assert dict(zip(ids, scores)) == {"C01": 1, "C02": 2, "C03": 3, "C04": 4, "C05": 5}
    shuffled = np.array([3, 0, 4, 1, 2])
    again = rfm.quintile_scores(values[shuffled], ids[shuffled])
    assert dict(zip(ids[shuffled], again)) == dict(zip(ids, scores))
    # Reversed scores break ties the same deterministic way.
    reversed_scores = rfm.quintile_scores(values, ids, higher_is_better=False)
    assert dict(zip(ids, reversed_scores))["C05"] == 5


def test_every_quintile_holds_a_fifth_of_the_customers():
    rng = np.random.default_rng(0)
    n = 1003
    scores = rfm.quintile_scores(rng.integers(0, 4, n), [f"C{i}" for i in range(n)])   # heavy ties
    counts = np.bincount(scores)[1:]
    assert counts.sum() == n and counts.max() - counts.min() <= 1


def test_the_rule_table_gives_every_cell_exactly_one_label():
    grid = rfm.LABEL_GRID[1:, 1:]
    assert grid.shape == (5, 5)
    assert set(grid.ravel()) == set(rfm.LABELS)
    assert len(rfm.LABELS) == 8
    # The first matching rule wins, and the documented corners hold.
    assert rfm.label_of(5, 5) == "Champions" and rfm.label_of(4, 5) == "Loyal"
    assert rfm.label_of(5, 1) == "New" and rfm.label_of(1, 1) == "Lost"
    assert rfm.label_of(1, 5) == "Can't lose" and rfm.label_of(2, 3) == "At risk"
    assert rfm.label_of(3, 1) == "Hibernating" and rfm.label_of(3, 3) == "Potential loyalists"
    table = rfm.rule_table()
    assert table["label"].tolist() == list(rfm.LABELS)
    assert table.loc[table["label"] == "Champions", ["recency_scores", "frequency_scores"]].iloc[0].tolist() == ["5", "4–5"]


def test_rfm_scores_cells_and_labels():
    ids = [f"C{i}" for i in range(5)]
    days = [1, 50, 100, 200, 300]           # C0 the most recent
    purchases = [10, 8, 6, 4, 2]            # C0 the most frequent
    spend = [100, 300, 200, 500, 400]
    scores = rfm.rfm_scores(ids, days, purchases, spend)
    assert scores["r_score"].tolist() == [5, 4, 3, 2, 1]
    assert scores["f_score"].tolist() == [5, 4, 3, 2, 1]
    assert scores["m_score"].tolist() == [1, 3, 2, 5, 4]
    assert scores["rfm_cell"].tolist() == ["551", "443", "332", "225", "114"]
    assert scores["label"].tolist() == ["Champions", "Loyal", "Potential loyalists", "Hibernating", "Lost"]


def test_grid_and_label_summaries():
    scores = pd.DataFrame({"r_score": [5, 5, 1], "f_score": [5, 5, 1], "label": ["Champions", "Champions", "Lost"]})
    grid = rfm.grid_summary(scores, [100.0, 300.0, 10.0])
    assert len(grid) == 25
    cell = grid[(grid["r_score"] == 5) & (grid["f_score"] == 5)].iloc[0]
    assert (cell["customers"], cell["mean_value"], cell["total_value"], cell["label"]) == (2, 200.0, 400.0, "Champions")
    empty = grid[(grid["r_score"] == 3) & (grid["f_score"] == 3)].iloc[0]
    assert empty["customers"] == 0 and np.isnan(empty["mean_value"])
    summary = rfm.label_summary(scores, pd.DataFrame({"value": [100.0, 300.0, 10.0], "clv": [1.0, 3.0, np.nan]}))
    assert summary["label"].tolist() == ["Champions", "Lost"]
    assert summary["customers"].tolist() == [2, 1]
    assert summary["share"].tolist() == pytest.approx([2 / 3, 1 / 3])
    assert summary["value_share"].tolist() == pytest.approx([400 / 410, 10 / 410])
    assert summary["clv"].iloc[0] == 2.0 and np.isnan(summary["clv"].iloc[1])


def test_id_ranks_fast_path_for_sorted_ids_equals_the_sort():
    ids = np.array(["C01", "C02", "C10", "C11"])
    assert rfm.id_ranks(ids).tolist() == [0, 1, 2, 3]
    assert rfm.id_ranks(ids[[2, 0, 3, 1]]).tolist() == [2, 0, 3, 1]


def test_label_summary_keeps_its_columns_without_customers():
    scores = rfm.rfm_scores(np.array([], dtype=object), [], [], [])
    metrics = pd.DataFrame({"days_since_last": pd.Series(dtype=object), "value": pd.Series(dtype=object)})
    summary = rfm.label_summary(scores, metrics)
    assert summary.empty and {"label", "customers", "share", "days_since_last", "value"} <= set(summary.columns)
