"""Metric formulas from sums: hand-worked values, zero denominators, direction of good news."""
import math

import numpy as np
import pandas as pd
import pytest

from novamart_panel.analytics.metrics import add_ratios, is_improvement, relative_change, safe_ratio, totals


def test_ratios_of_sums_hand_worked():
    frame = pd.DataFrame({"spend": [1000.0], "impressions": [50_000], "clicks": [500], "conversions": [20],
                          "revenue": [4000.0]})
    row = add_ratios(frame).iloc[0]
    assert row["ctr"] == pytest.approx(0.01)
    assert row["cvr"] == pytest.approx(0.04)
    assert row["cpc"] == pytest.approx(2.0)
    assert row["cpm"] == pytest.approx(20.0)
    assert row["cpa"] == pytest.approx(50.0)
    assert row["roas"] == pytest.approx(4.0)


def test_roas_is_ratio_of_sums_not_mean_of_ratios():
    rows = pd.DataFrame({"spend": [100.0, 900.0], "revenue": [1000.0, 900.0]})
    assert totals(rows)["roas"] == pytest.approx(1900 / 1000)
    assert totals(rows)["roas"] != pytest.approx(np.mean([10.0, 1.0]))


def test_zero_spend_gives_undefined_cost_metrics_and_roas():
    frame = pd.DataFrame({"spend": [0.0], "impressions": [10], "clicks": [5], "conversions": [2], "revenue": [99.0]})
    row = add_ratios(frame).iloc[0]
    for name in ("roas", "cpa", "cpc", "cpm"):
        assert math.isnan(row[name]), name
    assert row["cvr"] == pytest.approx(0.4)


def test_safe_ratio_never_returns_inf():
    out = safe_ratio([1.0, 0.0, 3.0], [0.0, 0.0, 2.0])
    assert np.isnan(out[0]) and np.isnan(out[1]) and out[2] == 1.5
    assert not np.isinf(out).any()


def test_relative_change_and_direction():
    assert relative_change(120.0, 100.0) == pytest.approx(0.2)
    assert math.isnan(relative_change(5.0, 0.0))
    assert is_improvement("roas", 0.1) is True
    assert is_improvement("cpa", 0.1) is False
    assert is_improvement("cpa", -0.1) is True
    assert is_improvement("revenue", float("nan")) is None
