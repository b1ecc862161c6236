"""Anomaly detection: hand-worked robust z-scores, scipy's MAD, and synthetic seasonal series."""
import numpy as np
import pandas as pd
import pytest
from scipy.stats import median_abs_deviation

from novamart_panel.analytics.anomalies import (
    ANOMALY_COLUMNS,
    MIN_DAYS,
    WARM_UP_DAYS,
    business_impact,
    detect_anomalies,
    mask_unjudgeable_days,
    rank_by_impact,
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


def activity_frame():
    """Ten days from 4 Jan: one zero-spend campaign for three days, then a ramp to eight campaigns."""
    return pd.DataFrame({
        "date": pd.date_range("2023-01-04", periods=10, freq="D"),
        "revenue": [1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10], "spend": [0.0, 0, 0, 5, 5, 5, 5, 5, 0, 5],
        "roas": [np.nan, np.nan, np.nan, 0.8, 1, 1.2, 1.4, 1.6, np.nan, 2],
        "campaigns": [1, 1, 1, 2, 3, 8, 8, 8, 8, 8], "paid_campaigns": [0, 0, 0, 1, 2, 7, 7, 7, 0, 7],
    })


def test_unjudgeable_days_are_masked_hand_worked():
    # live campaigns 1 1 1 2 3 8 8 8 8 8: median 5.5, so judging may start once 2.75 are live (3 on 8 Jan);
    # the warm-up ends on 4 + 7 = 11 Jan: the later of the two wins.
    masked = mask_unjudgeable_days(activity_frame(), warm_up_days=7, min_live_share=0.5)
    judged = masked.dropna(subset=["revenue"])["date"].dt.strftime("%d").tolist()
    assert judged == ["11", "12", "13"]
    # 12 Jan has no paid campaign: its revenue is judged, its spend and ROAS are not
    day12 = masked.set_index(masked["date"].dt.strftime("%d")).loc["12"]
    assert day12["revenue"] == 9 and np.isnan(day12["spend"]) and np.isnan(day12["roas"])
    assert masked["campaigns"].tolist() == activity_frame()["campaigns"].tolist()   # activity itself is kept
    # a short warm-up: the ramp (3 live on 8 Jan) decides
    ramp = mask_unjudgeable_days(activity_frame(), warm_up_days=1, min_live_share=0.5)
    assert ramp.dropna(subset=["revenue"])["date"].dt.strftime("%d").tolist() == ["08", "09", "10", "11", "12", "13"]


def test_a_zero_spend_start_is_not_an_alert():
    """The reference data's shape: three days of one zero-spend campaign before the paid ones start."""
    daily = seasonal_series(days=120, seed=3)
    daily["spend"] = daily["revenue"] / 30
    daily.loc[:2, "spend"] = 0.0
    daily["campaigns"] = np.r_[[1, 1, 1], np.full(117, 8)]
    daily["paid_campaigns"] = np.r_[[0, 0, 0], np.full(117, 7)]
    raw = detect_anomalies(daily, ["revenue", "spend"])
    assert (raw["date"] < daily["date"][WARM_UP_DAYS]).any()          # unmasked, the start is "anomalous"
    found = detect_anomalies(mask_unjudgeable_days(daily), ["revenue", "spend"])
    assert not (found["date"] < daily["date"][WARM_UP_DAYS]).any()


def test_business_impact_in_rupees_hand_worked():
    daily = pd.DataFrame({"date": pd.to_datetime(["2024-01-01", "2024-01-02"]), "revenue": [3e5, 1e5],
                          "conversions": [300.0, 100.0], "spend": [1e4, 2e4]})   # ₹1,000 of revenue per conversion
    found = pd.DataFrame({"date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-02"]),
                          "metric": ["revenue", "conversions", "roas", "spend"],
                          "value": [3e5, 300.0, 5.0, 2e4], "expected": [1e5, 500.0, 3.0, 5e3],
                          "robust_z": [4.0, -5.0, 3.6, 9.0], "direction": ["high", "low", "high", "high"]})
    assert business_impact(found, daily).tolist() == pytest.approx([2e5, 2e5, 4e4, 1.5e4])
    ranked = rank_by_impact(found, daily)
    # equal impact: the larger |z| first; the spend alert with the largest z comes last by money
    assert ranked["metric"].tolist() == ["conversions", "revenue", "roas", "spend"]
    assert ranked["impact"].is_monotonic_decreasing
