"""Forecasts: interval structure, a well-specified series forecast within its intervals, the seasonal-naive
baseline by hand, and a backtest that never sees the days it forecasts."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from novamart_panel.analytics import forecast as fc

WEEKLY = np.array([1.0, 0.95, 0.95, 1.0, 1.05, 1.2, 1.25])


def series(n: int = 500, seed: int = 0, noise: float = 0.05) -> pd.Series:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-01", periods=n)
    level = 1_000 * (1 + 0.3 * np.arange(n) / n)
    return pd.Series(level * WEEKLY[dates.day_of_week] * rng.lognormal(0, noise, n), index=dates)


@pytest.fixture(scope="module")
def forecast():
    return fc.forecast_series(series(), horizon=28)


def test_forecast_frame_layout_and_nested_intervals(forecast):
    assert list(forecast.columns) == list(fc.FORECAST_COLUMNS)
    history, ahead = forecast[forecast["forecast"].isna()], forecast[forecast["forecast"].notna()]
    assert len(history) == 500 and len(ahead) == 28 and ahead["actual"].isna().all()
    assert (ahead["date"].diff().dropna() == pd.Timedelta(days=1)).all()
    assert ahead["date"].iloc[0] == history["date"].iloc[-1] + pd.Timedelta(days=1)
    assert ((ahead["lo95"] <= ahead["lo80"]) & (ahead["lo80"] <= ahead["forecast"])
            & (ahead["forecast"] <= ahead["hi80"]) & (ahead["hi80"] <= ahead["hi95"])).all()
    assert (ahead["lo95"] >= 0).all()
    width = ahead["hi95"] - ahead["lo95"]
    assert width.iloc[-7:].mean() > width.iloc[:7].mean(), "uncertainty grows with the horizon"


def test_forecast_follows_the_weekly_pattern_and_level(forecast):
    truth = series(528)[500:]
    ahead = forecast[forecast["forecast"].notna()].set_index("date")["forecast"]
    assert np.mean(np.abs(ahead.to_numpy() / truth.to_numpy() - 1)) < 0.08
    assert ahead.groupby(ahead.index.day_of_week).mean().idxmax() in (5, 6)


def test_seasonal_naive_by_hand():
    history = pd.Series(np.tile(np.arange(1.0, 8.0), 4) + np.r_[np.zeros(21), np.full(7, 1.0)],
                        index=pd.date_range("2024-01-01", periods=28))
    naive = fc.seasonal_naive(history, 10)
    assert naive["forecast"].tolist() == [2, 3, 4, 5, 6, 7, 8, 2, 3, 4]
    width = naive["hi95"] - naive["forecast"]
    assert width.iloc[7] == pytest.approx(width.iloc[0] * np.sqrt(2))
    assert (naive["hi95"] >= naive["hi80"]).all()


def test_backtest_scores_and_no_leakage():
    values = series(400, seed=3)
    scores = fc.backtest(values, horizon=30, origins=3)
    assert list(scores.folds["origin"]) == list(values.index[[310, 340, 370]])
    assert 0 < scores.summary["model_mape"] < 0.1
    assert scores.summary["model_cover95"] >= 0.8
    # Changing the last 30 days changes only the last fold: the others never saw them.
    changed = values.copy()
    changed.iloc[-30:] *= 3
    again = fc.backtest(changed, horizon=30, origins=3)
    pd.testing.assert_frame_equal(again.folds.iloc[:2], scores.folds.iloc[:2])
    assert again.folds.iloc[2]["model_mape"] > scores.folds.iloc[2]["model_mape"]


def test_beats_baseline_compares_pooled_mape():
    scores = fc.Backtest(folds=pd.DataFrame(), summary={"model_mape": 0.2, "naive_mape": 0.1})
    assert not scores.beats_baseline
    assert fc.Backtest(folds=pd.DataFrame(), summary={"model_mape": 0.05, "naive_mape": 0.1}).beats_baseline


def test_refusals():
    with pytest.raises(ValueError, match="too few"):
        fc.forecast_series(series(30))
    with pytest.raises(ValueError, match="negative"):
        fc.forecast_series(series(100) - 5_000)
    with pytest.raises(ValueError, match="too few"):
        fc.backtest(series(100), horizon=30, origins=3)
