"""Forecasts of daily spend, conversions and revenue with prediction intervals (SPEC §4.8).

The model (statsmodels' ``UnobservedComponents``) on ``log(1 + value)``: a local level (a random walk the
data pull along) plus regression on yearly Fourier terms, weekday dummies and India's festive weeks
(:func:`~novamart_panel.analytics.mmm.festival_controls`), the regression coefficients estimated as states
by the Kalman filter so only two variances are fitted by maximum likelihood. Intervals are the model's
prediction intervals on the log scale, taken back (so they are never negative and widen with the level).

A rolling-origin backtest refits the model at the last ``origins`` cut-offs, forecasts ``horizon`` days from
each, and scores MAPE and interval coverage against a seasonal-naive forecast (the same weekday last week)
whose intervals come from its own past errors. The model is worth showing when it beats that baseline.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .mmm import festival_controls, fourier_terms, single_threaded_blas

DEFAULT_HORIZON = 30
LEVELS = (0.8, 0.95)
MIN_HISTORY = 56
FORECAST_COLUMNS = ("date", "actual", "forecast", "lo80", "hi80", "lo95", "hi95")


@dataclass
class Backtest:
    """Rolling-origin scores of the model and of the seasonal-naive baseline."""

    folds: pd.DataFrame    # per origin: origin, model_mape, naive_mape, model_cover80/95, naive_cover80/95
    summary: dict          # the same pooled over every forecast day

    @property
    def beats_baseline(self) -> bool:
        """Whether the model's pooled MAPE is below the seasonal-naive one."""
        return bool(self.summary["model_mape"] < self.summary["naive_mape"])


def _design(dates: pd.DatetimeIndex, yearly: bool) -> np.ndarray:
    days = pd.Series(dates)
    parts = [pd.get_dummies(days.dt.day_of_week, dtype=float).reindex(columns=range(1, 7), fill_value=0.0)
             .reset_index(drop=True), festival_controls(days).reset_index(drop=True)]
    if yearly:
        parts.insert(0, fourier_terms(days, order=2))
    return pd.concat(parts, axis=1).to_numpy(dtype=float)


def _daily(series: pd.Series) -> pd.Series:
    values = series.astype(float).sort_index()
    values.index = pd.DatetimeIndex(values.index)
    if values.index.has_duplicates:
        raise ValueError("the series has repeated dates")
    full = pd.date_range(values.index.min(), values.index.max(), freq="D")
    return values.reindex(full).fillna(0.0)


def _fit_and_forecast(history: pd.Series, horizon: int, levels=LEVELS) -> pd.DataFrame:
    """The model fitted on `history` (daily, ≥ 0) and its forecast with intervals for `horizon` days."""
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    if (history < 0).any():
        raise ValueError("the series has negative values; the model forecasts amounts ≥ 0")
    future = pd.date_range(history.index[-1] + pd.Timedelta(days=1), periods=horizon, freq="D")
    every = history.index.append(future)
    yearly = (history.index[-1] - history.index[0]).days >= 365
    design = _design(every, yearly)
    # Festival weeks that never occur in the history cannot be estimated; leave them out.
    seen = np.abs(design[: len(history)]).sum(axis=0) > 0
    design = design[:, seen]
    model = UnobservedComponents(np.log1p(history.to_numpy()), level="llevel", exog=design[: len(history)],
                                 mle_regression=False)
    with warnings.catch_warnings():
        # statsmodels warns about optimiser convergence on flat series; the fit is still usable.
        warnings.simplefilter("ignore")
        result = model.fit(disp=False, maxiter=200)
        prediction = result.get_forecast(horizon, exog=design[len(history):])
    out = pd.DataFrame({"date": future, "forecast": np.expm1(prediction.predicted_mean)})
    for level in levels:
        bounds = np.asarray(prediction.conf_int(alpha=1 - level))
        out[f"lo{round(level * 100)}"] = np.maximum(np.expm1(bounds[:, 0]), 0.0)
        out[f"hi{round(level * 100)}"] = np.expm1(bounds[:, 1])
    out["forecast"] = np.maximum(out["forecast"], 0.0)
    return out


@single_threaded_blas
def forecast_series(series: pd.Series, horizon: int = DEFAULT_HORIZON) -> pd.DataFrame:
    """History and the next `horizon` days of a daily series (index = dates, values ≥ 0).

    Columns: date, actual (history; NaN ahead), forecast (NaN in the history), lo80, hi80, lo95, hi95.
    Missing days inside the history count as 0.
    """
    history = _daily(series)
    if len(history) < MIN_HISTORY:
        raise ValueError(f"{len(history)} days of history are too few to forecast; at least {MIN_HISTORY} needed")
    ahead = _fit_and_forecast(history, horizon)
    past = pd.DataFrame({"date": history.index, "actual": history.to_numpy()})
    return pd.concat([past, ahead], ignore_index=True).reindex(columns=list(FORECAST_COLUMNS))


def seasonal_naive(history: pd.Series, horizon: int, levels=LEVELS) -> pd.DataFrame:
    """The same weekday of the last observed week, with intervals from the past errors of that rule at each
    horizon's number of weeks ahead (normal quantiles of their spread × √weeks)."""
    from scipy.stats import norm

    values = history.to_numpy(dtype=float)
    last_week = values[-7:]
    steps = np.arange(horizon)
    forecast = last_week[steps % 7]
    errors = values[7:] - values[:-7]
    spread = float(np.std(errors)) if len(errors) > 1 else 0.0
    weeks = steps // 7 + 1
    out = pd.DataFrame({"date": pd.date_range(history.index[-1] + pd.Timedelta(days=1), periods=horizon),
                        "forecast": forecast})
    for level in levels:
        half = norm.ppf(0.5 + level / 2) * spread * np.sqrt(weeks)
        out[f"lo{round(level * 100)}"] = np.maximum(forecast - half, 0.0)
        out[f"hi{round(level * 100)}"] = forecast + half
    return out


def _scores(actual: np.ndarray, forecast: pd.DataFrame) -> dict[str, float]:
    positive = actual > 0
    mape = float(np.mean(np.abs(actual[positive] - forecast["forecast"].to_numpy()[positive]) / actual[positive])) \
        if positive.any() else np.nan
    scores = {"mape": mape}
    for level in LEVELS:
        tag = round(level * 100)
        inside = (actual >= forecast[f"lo{tag}"].to_numpy()) & (actual <= forecast[f"hi{tag}"].to_numpy())
        scores[f"cover{tag}"] = float(inside.mean())
    return scores


@single_threaded_blas
def backtest(series: pd.Series, horizon: int = DEFAULT_HORIZON, origins: int = 3) -> Backtest:
    """Forecast `horizon` days from each of the last `origins` cut-offs (each trained on its past only)."""
    history = _daily(series)
    if len(history) < MIN_HISTORY + horizon * origins:
        raise ValueError(f"{len(history)} days are too few for {origins} backtests of {horizon} days")
    rows, pooled = [], {"model": [], "naive": [], "actual": []}
    for k in range(origins, 0, -1):
        cut = len(history) - k * horizon
        past, actual = history.iloc[:cut], history.iloc[cut:cut + horizon].to_numpy()
        model, naive = _fit_and_forecast(past, horizon), seasonal_naive(past, horizon)
        pooled["model"].append(model)
        pooled["naive"].append(naive)
        pooled["actual"].append(actual)
        rows.append({"origin": history.index[cut], **{f"model_{k}": v for k, v in _scores(actual, model).items()},
                     **{f"naive_{k}": v for k, v in _scores(actual, naive).items()}})
    actual = np.concatenate(pooled["actual"])
    summary = {**{f"model_{k}": v for k, v in _scores(actual, pd.concat(pooled["model"])).items()},
               **{f"naive_{k}": v for k, v in _scores(actual, pd.concat(pooled["naive"])).items()},
               "horizon": horizon, "origins": origins}
    return Backtest(folds=pd.DataFrame(rows), summary=summary)
