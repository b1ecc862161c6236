"""Insight sentences of the executive overview, computed from small frames (SPEC §4.1).

Each function takes the aggregated data a chart shows and returns one Markdown sentence that is true
of it, or None when the data cannot support the statement (no paid channel, no earlier period, no
festive months in the window…). Nothing here is written in advance: names, shares and changes come
from the frames. Frames by channel have columns ``channel, spend, revenue``; daily frames ``date`` and
the metric columns.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ..format import change, count, percent, ratio, rupees, strong
from .metrics import relative_change, safe_ratio

# The daily metrics the overview watches: name → (label, formatter).
OVERVIEW_METRICS = {
    "revenue": ("Revenue", rupees),
    "spend": ("Spend", rupees),
    "conversions": ("Conversions", count),
    "roas": ("ROAS", ratio),
}
FESTIVE_MONTHS = (10, 11)   # Diwali season (October–November)


def day(value) -> str:
    """A date as '06 Jan 2023'."""
    return f"{pd.Timestamp(value):%d %b %Y}"


def format_metric(metric: str, value) -> str:
    return OVERVIEW_METRICS.get(metric, (metric, count))[1](value)


def _listing(names) -> str:
    names = [f"{strong(n)}" for n in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def top_revenue_channel(by_channel: pd.DataFrame) -> str | None:
    """The channel that brings the most revenue and its share of the total."""
    total = float(by_channel["revenue"].sum()) if len(by_channel) else 0.0
    if total <= 0:
        return None
    top = by_channel.loc[by_channel["revenue"].idxmax()]
    if len(by_channel) == 1:
        return f"{strong(top['channel'])} is the only channel selected: {rupees(total)} of revenue."
    return (f"{strong(top['channel'])} brings the most revenue: {rupees(top['revenue'])}, "
            f"{percent(top['revenue'] / total)} of {rupees(total)}.")


def roas_extremes(by_channel: pd.DataFrame) -> str | None:
    """The best and worst return on ad spend among channels that spent money."""
    paid = by_channel[by_channel["spend"] > 0].assign(
        roas=lambda f: safe_ratio(f["revenue"], f["spend"]))
    if paid.empty:
        if by_channel.empty:
            return None
        return (f"No paid channel is selected ({_listing(by_channel['channel'])} spend nothing): "
                "ROAS and CPA are undefined, shown as n/a.")
    if len(paid) == 1:
        only = paid.iloc[0]
        return f"{strong(only['channel'])} is the only paid channel selected: ROAS {ratio(only['roas'])}."
    best = paid.loc[paid["roas"].idxmax()]
    worst = paid.loc[paid["roas"].idxmin()]
    return (f"Among paid channels {strong(best['channel'])} returns the most per rupee spent "
            f"(ROAS {ratio(best['roas'])}) and {strong(worst['channel'])} the least ({ratio(worst['roas'])}).")


def channel_concentration(by_channel: pd.DataFrame) -> str | None:
    """How much of the revenue the top two channels bring, and what the zero-spend channels add."""
    total = float(by_channel["revenue"].sum()) if len(by_channel) else 0.0
    if total <= 0 or len(by_channel) < 3:
        return None
    ranked = by_channel.sort_values("revenue", ascending=False)
    top_two = ranked.head(2)
    text = (f"The top two channels, {_listing(top_two['channel'])}, bring "
            f"{percent(top_two['revenue'].sum() / total)} of revenue.")
    unpaid = ranked[(ranked["spend"] <= 0) & (ranked["revenue"] > 0)]
    if len(unpaid):
        text += (f" Channels without spend ({_listing(unpaid['channel'])}) bring "
                 f"{percent(unpaid['revenue'].sum() / total)}.")
    return text


def revenue_change(current: pd.DataFrame, previous: pd.DataFrame | None, days: int) -> str | None:
    """Revenue against the previous period of equal length, and the channel that moved it most."""
    if previous is None:
        return None
    now, before = float(current["revenue"].sum()), float(previous["revenue"].sum())
    if before <= 0:
        return (f"Revenue was {rupees(now)} in the last {count(days)} days; the previous {count(days)} days "
                "had none to compare with.") if now > 0 else None
    delta = now - before
    moved = (current.set_index("channel")["revenue"]
             .sub(previous.set_index("channel")["revenue"], fill_value=0.0))
    verb = "rose" if delta > 0 else ("fell" if delta < 0 else "held steady")
    text = (f"Revenue {verb} {change(relative_change(now, before)).lstrip('+−±')} to {rupees(now)} "
            f"against the previous {count(days)} days ({rupees(before)}).")
    if delta != 0 and len(moved) > 1:
        same_way = moved[np.sign(moved) == np.sign(delta)]
        driver = same_way.abs().idxmax()
        share = moved[driver] / delta
        sign = "+" if moved[driver] > 0 else "−"
        text += (f" {strong(driver)} moved it most ({sign}{rupees(abs(moved[driver]))}, "
                 f"{percent(share)} of the change).")
    return text


def seasonality(daily_revenue: pd.DataFrame) -> str | None:
    """The strongest full month, and festive-season (Oct–Nov) daily revenue against the other days."""
    frame = daily_revenue.assign(date=pd.to_datetime(daily_revenue["date"]))
    if frame.empty or frame["revenue"].sum() <= 0:
        return None
    months = frame.groupby(frame["date"].dt.to_period("M")).agg(revenue=("revenue", "sum"),
                                                                days=("revenue", "size"))
    full = months[months["days"] == months.index.days_in_month]
    parts = []
    if len(full) >= 2:
        best = full["revenue"].idxmax()
        parts.append(f"The strongest full month was {strong(best.strftime('%B %Y'))} "
                     f"({rupees(full.loc[best, 'revenue'])}).")
    festive = frame["date"].dt.month.isin(FESTIVE_MONTHS)
    if festive.any() and (~festive).any():
        festive_daily = frame.loc[festive, "revenue"].mean()
        other_daily = frame.loc[~festive, "revenue"].mean()
        lift = relative_change(festive_daily, other_daily)
        if np.isfinite(lift):
            word = "above" if lift > 0 else "below"
            parts.append(f"Festive-season days (Oct–Nov) average {rupees(festive_daily)} of revenue, "
                         f"{percent(abs(lift))} {word} the other days ({rupees(other_daily)}).")
    return " ".join(parts) or None


def trend_momentum(trend: pd.DataFrame) -> str | None:
    """Where the 30-day moving average of daily revenue ended against where it started."""
    averaged = trend.dropna(subset=["ma30"])
    if len(averaged) < 2:
        return None
    first, last = averaged.iloc[0], averaged.iloc[-1]
    if first["ma30"] == last["ma30"] == 0:
        return None
    text = (f"The 30-day average of daily revenue went from {rupees(first['ma30'])} on {day(first['date'])} "
            f"to {rupees(last['ma30'])} on {day(last['date'])}")
    moved = relative_change(last["ma30"], first["ma30"])
    if not np.isfinite(moved):
        return text + "."
    direction = "up" if moved > 0 else ("down" if moved < 0 else "unchanged")
    return text + f" ({direction} {change(moved).lstrip('+−±')})."


def anomaly_summary(anomalies: pd.DataFrame, days: int) -> str:
    """How many unusual readings the window holds, and the largest one."""
    if anomalies.empty:
        return (f"No unusual days in these {count(days)} days: every daily metric stays near its trend and "
                "weekday pattern.")
    dates = anomalies["date"].nunique()
    largest = anomalies.loc[anomalies["robust_z"].abs().idxmax()]
    label = OVERVIEW_METRICS.get(largest["metric"], (largest["metric"],))[0]
    return (f"{count(len(anomalies))} unusual reading(s) on {count(dates)} of {count(days)} days. The largest: "
            f"{label} on {day(largest['date'])}, {format_metric(largest['metric'], largest['value'])} "
            f"against {format_metric(largest['metric'], largest['expected'])} expected "
            f"({'above' if largest['robust_z'] > 0 else 'below'} by z = {abs(largest['robust_z']):.1f}).")


def top_insights(by_channel: pd.DataFrame, previous_by_channel: pd.DataFrame | None, days: int,
                 daily_revenue: pd.DataFrame, anomalies: pd.DataFrame, limit: int = 5) -> list[str]:
    """The overview's headline sentences, the ones the data supports, at most `limit` (none without data)."""
    if by_channel.empty:
        return []
    candidates = [
        top_revenue_channel(by_channel),
        roas_extremes(by_channel),
        revenue_change(by_channel, previous_by_channel, days),
        seasonality(daily_revenue),
        anomaly_summary(anomalies, days) if days else None,
    ]
    return [c for c in candidates if c][:limit]


def window_days(start: dt.date | None, end: dt.date | None) -> int:
    """Days in an inclusive date window (0 when it is open)."""
    return (end - start).days + 1 if start and end else 0
