"""Anomaly detection: hand-worked robust z-scores, scipy's MAD, and synthetic seasonal series."""
import numpy as np
import pandas as pd
import pytest
from scipy.stats import median_abs_deviation

from novamart_panel.analytics.anomalies import (
    ANOMALY_COLUMNS,
    MIN_DAYS,
    detect_anomalies,
    robust_z,
    seasonal_residuals,
)

WEEKDAY_FACTORS = np.array([1.0, 0.95, 0.9, 0.95, 1.1, 1.35, 1.3])   # Monday … Sunday


def seasonal_series(days=364, seed=7, noise=0.05, start="2024-01-01"):
    """Daily revenue: an upward trend × a weekday pattern × multiplicative noise."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=days, freq="D")
    trend = 100_000 * (1 + np.arange(days) / days)
    values = trend * WEEKDAY_FACTORS[dates.day_of_week] * np.exp(rng.normal(0, noise, days))
    return pd.DataFrame({"date": dates, "revenue": values, "level": trend * WEEKDAY_FACTORS[dates.day_of_week]})


def test_robust_z_hand_worked():
    z = robust_z(pd.Series([1.0, 2.0, 3.0, 4.0, 100.0]))
    # median 3, absolute deviations 2, 1, 0, 1, 97 → MAD 1
    assert z.tolist() == pytest.approx([0.6745 * d for d in (-2, -1, 0, 1, 97)])


def test_robust_z_matches_scipy_normal_scaled_mad():
    values = pd.Series(np.random.default_rng(3).standard_t(3, size=500))
    reference = (values - values.median()) / median_abs_deviation(values, scale="normal")
    assert robust_z(values).to_numpy() == pytest.approx(reference.to_numpy(), rel=1e-3)


def test_robust_z_falls_back_to_mean_absolute_deviation_when_mad_is_zero():
    z = robust_z(pd.Series([5.0, 5.0, 5.0, 5.0, 9.0]))
    # MAD 0; mean absolute deviation 4/5 = 0.8 → z = 0.7979 · 4 / 0.8
    assert z.tolist() == pytest.approx([0, 0, 0, 0, 0.7979 * 4 / 0.8])
    assert robust_z(pd.Series([2.0] * 6)).tolist() == [0.0] * 6


def test_seasonal_residuals_remove_a_pure_weekday_pattern():
    dates = pd.date_range("2024-01-01", periods=140, freq="D")
    series = pd.Series(WEEKDAY_FACTORS[dates.day_of_week] * 10, index=dates)
    residual, fitted = seasonal_residuals(series)
    interior = slice(14, -14)
    assert np.abs(residual.iloc[interior]).max() < 1e-9
    assert fitted.iloc[interior].to_numpy() == pytest.approx(series.iloc[interior].to_numpy())


def test_injected_spikes_and_drops_are_found():
    daily = seasonal_series()
    spikes = {daily["date"][60]: 3.0, daily["date"][200]: 2.5, daily["date"][301]: 0.3}
    for date, factor in spikes.items():
        daily.loc[daily["date"] == date, "revenue"] *= factor
    found = detect_anomalies(daily, ["revenue"])
    assert list(found.columns) == list(ANOMALY_COLUMNS)
    assert set(spikes) <= set(found["date"])
    assert len(found) <= len(spikes) + 1
    flagged = found.set_index("date")
    for date, factor in spikes.items():
        assert flagged.loc[date, "direction"] == ("high" if factor > 1 else "low")
        level = daily.loc[daily["date"] == date, "level"].item()
        assert flagged.loc[date, "expected"] == pytest.approx(level, rel=0.1)


def test_clean_seasonal_series_gives_few_or_no_alerts():
    for seed in (1, 2, 3):
        found = detect_anomalies(seasonal_series(seed=seed), ["revenue"])
        assert len(found) <= 2


def test_missing_days_are_not_read_as_zero():
    daily = seasonal_series(seed=11)
    observed = daily.drop(index=np.arange(50, 300, 9))
    found = detect_anomalies(observed, ["revenue"])
    assert len(found) <= 2
    assert set(found["date"]) <= set(observed["date"])


def test_a_zero_day_among_positive_days_is_a_finite_low_anomaly():
    daily = seasonal_series(seed=5)
    daily.loc[100, "revenue"] = 0.0
    found = detect_anomalies(daily, ["revenue"]).set_index("date")
    row = found.loc[daily["date"][100]]
    assert row["direction"] == "low" and np.isfinite(row["robust_z"]) and row["value"] == 0


def test_series_with_negative_values_are_scored_on_the_original_scale():
    daily = seasonal_series(seed=4).assign(margin=lambda f: f["revenue"] - 130_000)
    daily.loc[150, "margin"] += 200_000
    found = detect_anomalies(daily, ["margin"])
    assert daily["date"][150] in set(found["date"])
    assert found.set_index("date").loc[daily["date"][150], "direction"] == "high"


def test_several_metrics_sorted_by_date_then_metric():
    daily = seasonal_series(seed=9)
    daily["conversions"] = daily["revenue"] / 1000
    daily.loc[40, ["revenue", "conversions"]] *= 4
    daily.loc[20, "conversions"] *= 4
    found = detect_anomalies(daily, ["revenue", "conversions"])
    hits = found[found["date"].isin(daily["date"][[20, 40]])]
    assert list(zip(hits["date"], hits["metric"])) == [
        (daily["date"][20], "conversions"), (daily["date"][40], "conversions"), (daily["date"][40], "revenue")]
    assert found["date"].is_monotonic_increasing


def test_too_few_days_and_bad_input():
    short = seasonal_series(days=MIN_DAYS - 1)
    short.loc[10, "revenue"] *= 10
    assert detect_anomalies(short, ["revenue"]).empty
    assert detect_anomalies(short.iloc[:0], ["revenue"]).empty
    with pytest.raises(ValueError, match="date"):
        detect_anomalies(short.drop(columns="date"), ["revenue"])
    with pytest.raises(ValueError, match="spend"):
        detect_anomalies(short, ["spend"])


def test_threshold_controls_how_much_is_flagged():
    daily = seasonal_series(seed=2, noise=0.15)
    counts = [len(detect_anomalies(daily, ["revenue"], threshold=t)) for t in (2.0, 3.0, 4.0)]
    assert counts[0] > counts[1] >= counts[2]
