"""Unusual days in daily marketing metrics (SPEC §4.1 alerts).

Method, per metric:

1. Put the series on a daily calendar (days without a value stay missing, they are not zeros) and,
   when every value is ≥ 0, take ``log(value + c)`` with ``c`` a tenth of the median positive value, so that
   deviations are relative — a day at twice its expected level scores alike in a quiet month and in
   the festive peak — while a day at 0 still scores a finite size.
2. Trend: a centred rolling median over ``window`` days (21 = three whole weeks, so every weekday
   weighs the same; a single spike cannot move a median).
3. Weekday seasonality: the median of the detrended values per day of the week, subtracted.
4. Robust z-score of what is left (Iglewicz & Hoaglin): ``0.6745 · (r − median r) / MAD``; when
   more than half the residuals are equal (MAD = 0) the scale is 1.2533 × the mean absolute
   deviation instead, and when that is 0 too nothing is flagged. Days with ``|z| > threshold``
   (3.5 by default) are anomalies.

``expected`` is the value the trend, the weekday effect and the typical residual predict, on the
metric's own scale. A metric with fewer than ``MIN_DAYS`` observed days is not scored.

Before scoring, `mask_unjudgeable_days` removes the days no one could judge (an artefact of where the data
starts is not an anomaly): the warm-up days at the start of the series, the days before enough campaigns are
live, and — for spend and ROAS — days on which no campaign of a paid channel ran (zero-spend channels such
as Direct cannot have a spend anomaly). `rank_by_impact` then orders the alerts by the rupees at stake.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

ANOMALY_COLUMNS = ("date", "metric", "value", "expected", "robust_z", "direction")
MIN_DAYS = 28
WARM_UP_DAYS = 7               # the first week of a series: its trend has no history to lean on yet
MIN_LIVE_SHARE = 0.5           # a day is judged once live campaigns first reach half their typical number
SPEND_METRICS = ("spend", "roas")
ACTIVITY_COLUMNS = ("campaigns", "paid_campaigns")
MAD_TO_SIGMA = 0.6745          # Φ⁻¹(0.75): makes the MAD of normal data estimate σ
MEAN_AD_TO_SIGMA = 0.7979      # √(2/π): the same for the mean absolute deviation


def robust_z(values: pd.Series) -> pd.Series:
    """Modified z-scores (Iglewicz & Hoaglin); 0 everywhere when the values do not vary."""
    centred = values - values.median()
    mad = centred.abs().median()
    if mad > 0:
        return MAD_TO_SIGMA * centred / mad
    mean_ad = centred.abs().mean()
    if mean_ad > 0:
        return MEAN_AD_TO_SIGMA * centred / mean_ad
    return centred * 0.0


def seasonal_residuals(series: pd.Series, window: int = 21) -> tuple[pd.Series, pd.Series]:
    """(residual, fitted) of a daily series after a rolling-median trend and weekday medians."""
    trend = series.rolling(window, center=True, min_periods=max(3, window // 3)).median()
    detrended = series - trend
    weekday = detrended.groupby(detrended.index.day_of_week).transform("median")
    residual = detrended - weekday
    return residual, trend + weekday


def detect_anomalies(daily: pd.DataFrame, metrics: Sequence[str], threshold: float = 3.5,
                     window: int = 21) -> pd.DataFrame:
    """Days on which a metric is far from its trend and weekday pattern.

    `daily` has a ``date`` column and one column per metric (NaN = not observed). Returns
    DataFrame[date, metric, value, expected, robust_z, direction] sorted by date then metric;
    direction is "high" or "low".
    """
    if "date" not in daily:
        raise ValueError("daily metrics need a 'date' column")
    missing = [m for m in metrics if m not in daily]
    if missing:
        raise ValueError(f"daily metrics have no column(s) {', '.join(missing)}")
    found = []
    if not daily.empty:
        frame = daily.assign(date=pd.to_datetime(daily["date"])).groupby("date")[list(metrics)].sum(min_count=1)
        calendar = pd.date_range(frame.index.min(), frame.index.max(), freq="D", name="date")
        frame = frame.reindex(calendar)
        for metric in metrics:
            found.append(_scored(frame[metric].astype(float), metric, threshold, window))
    found = [f for f in found if not f.empty]
    if not found:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            ANOMALY_COLUMNS, ("datetime64[us]", "str", "float", "float", "float", "str"))})
    return pd.concat(found, ignore_index=True).sort_values(["date", "metric"], ignore_index=True)


def _scored(values: pd.Series, metric: str, threshold: float, window: int) -> pd.DataFrame:
    observed = values.replace([np.inf, -np.inf], np.nan)
    if observed.notna().sum() < MIN_DAYS:
        return pd.DataFrame()
    relative = bool((observed.dropna() >= 0).all())
    offset = _log_offset(observed) if relative else 0.0
    scaled = np.log(observed + offset) if relative else observed
    residual, fitted = seasonal_residuals(scaled, window)
    residual = residual.dropna()
    z = robust_z(residual)
    flagged = z[z.abs() > threshold]
    if flagged.empty:
        return pd.DataFrame()
    expected = fitted[flagged.index] + residual.median()
    if relative:
        expected = np.exp(expected) - offset
    return pd.DataFrame({
        "date": flagged.index, "metric": metric, "value": observed[flagged.index].to_numpy(),
        "expected": expected.to_numpy(), "robust_z": flagged.to_numpy(),
        "direction": np.where(flagged.to_numpy() > 0, "high", "low"),
    })


def _log_offset(values: pd.Series) -> float:
    """A tenth of the typical positive value (1 when nothing is positive)."""
    positive = values[values > 0]
    return 0.1 * float(positive.median()) if len(positive) else 1.0


def mask_unjudgeable_days(daily: pd.DataFrame, warm_up_days: int = WARM_UP_DAYS,
                          min_live_share: float = MIN_LIVE_SHARE, spend_metrics=SPEND_METRICS) -> pd.DataFrame:
    """`daily` with its metric values set to NaN (not observed) on the days that cannot be judged.

    `daily` has ``date``, the metric columns, ``campaigns`` (campaigns live that day) and ``paid_campaigns``
    (those of a channel that spends). Judging starts on the later of the first day + `warm_up_days` and the
    first day on which live campaigns reach `min_live_share` × their median (over days with any); before that
    every metric is masked. `spend_metrics` are also masked on days without a paid campaign.
    """
    frame = daily.assign(date=pd.to_datetime(daily["date"])).sort_values("date", ignore_index=True)
    metrics = [c for c in frame.columns if c != "date" and c not in ACTIVITY_COLUMNS]
    if frame.empty:
        return frame
    live = frame["campaigns"].fillna(0)
    typical = float(live[live > 0].median()) if (live > 0).any() else 0.0
    enough = frame.loc[(live > 0) & (live >= min_live_share * typical), "date"]
    start = frame["date"].min() + pd.Timedelta(days=warm_up_days)
    if len(enough):
        start = max(start, enough.min())
    frame[metrics] = frame[metrics].astype(float)
    frame.loc[frame["date"] < start, metrics] = np.nan
    unpaid = frame["paid_campaigns"].fillna(0) <= 0
    frame.loc[unpaid, [m for m in spend_metrics if m in metrics]] = np.nan
    return frame


def business_impact(anomalies: pd.DataFrame, daily: pd.DataFrame) -> pd.Series:
    """Rupees at stake in each alert: the gap to expected for revenue and spend; for conversions the gap ×
    revenue per conversion over `daily`; for ROAS the gap × that day's spend (the revenue the expected return
    would have made). NaN for other metrics."""
    frame = daily.assign(date=pd.to_datetime(daily["date"]))
    conversions = float(frame["conversions"].sum()) if "conversions" in frame else 0.0
    per_conversion = float(frame["revenue"].sum()) / conversions if conversions > 0 and "revenue" in frame else np.nan
    spend = frame.groupby("date")["spend"].sum() if "spend" in frame else pd.Series(dtype=float)
    gap = (anomalies["value"] - anomalies["expected"]).abs()
    day_spend = anomalies["date"].map(spend).astype(float)
    scale = np.select([anomalies["metric"].isin(["revenue", "spend"]), anomalies["metric"] == "conversions",
                       anomalies["metric"] == "roas"],
                      [1.0, per_conversion, day_spend.to_numpy()], default=np.nan)
    return (gap * scale).rename("impact")


def rank_by_impact(anomalies: pd.DataFrame, daily: pd.DataFrame) -> pd.DataFrame:
    """The alerts with their `impact` (see `business_impact`), largest first; ties by |z|, then date."""
    ranked = anomalies.assign(impact=business_impact(anomalies, daily), size=anomalies["robust_z"].abs())
    ranked = ranked.sort_values(["impact", "size", "date"], ascending=[False, False, True], na_position="last",
                                ignore_index=True)
    return ranked.drop(columns="size")
