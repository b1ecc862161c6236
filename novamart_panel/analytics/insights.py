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


def revenue_change(current: pd.DataFrame, previous: pd.DataFrame | None, days: int,
                   against: str | None = None) -> str | None:
    """Revenue against a comparison period, and the channel that moved it most. `against` names the
    comparison period (default: the previous `days` days)."""
    if previous is None:
        return None
    against = against or f"the previous {count(days)} days"
    now, before = float(current["revenue"].sum()), float(previous["revenue"].sum())
    if before <= 0:
        return (f"Revenue was {rupees(now)} in the last {count(days)} days; {against} "
                "had none to compare with.") if now > 0 else None
    delta = now - before
    moved = (current.set_index("channel")["revenue"]
             .sub(previous.set_index("channel")["revenue"], fill_value=0.0))
    verb = "rose" if delta > 0 else ("fell" if delta < 0 else "held steady")
    text = (f"Revenue over the last {count(days)} days {verb} {change(relative_change(now, before)).lstrip('+−±')} "
            f"to {rupees(now)} against {against} ({rupees(before)}).")
    if delta != 0 and len(moved) > 1:
        same_way = moved[np.sign(moved) == np.sign(delta)]
        driver = same_way.abs().idxmax()
        share = moved[driver] / delta
        sign = "+" if moved[driver] > 0 else "−"
        text += (f" {strong(driver)} moved it most ({sign}{rupees(abs(moved[driver]))}, "
                 f"{percent(share)} of the change).")
    return text


def seasonality(daily_revenue: pd.DataFrame) -> str | None:
    """The strongest full month, and festive-season (Oct–Nov) daily revenue against the other days (those with
    campaign rows, when the frame's `live` column says which)."""
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
    # The season against the rest on days with campaign rows (`live`, when given): the days without any (a
    # channel not yet started, or paused) would pull one side's average to zero and make a season of it.
    live = frame[frame["live"].astype(bool)] if "live" in frame else frame
    festive = live["date"].dt.month.isin(FESTIVE_MONTHS)
    if festive.any() and (~festive).any():
        festive_daily = live.loc[festive, "revenue"].mean()
        other_daily = live.loc[~festive, "revenue"].mean()
        lift = relative_change(festive_daily, other_daily)
        if np.isfinite(lift):
            which = "days with campaigns" if len(live) < len(frame) else "days"
            against = (f"about the same as the other {which}" if abs(lift) < 0.0005 else
                       f"{percent(abs(lift))} {'above' if lift > 0 else 'below'} the other {which}")
            parts.append(f"Festive-season {which} (Oct–Nov) average {rupees(festive_daily)} of revenue, "
                         f"{against} ({rupees(other_daily)}).")
    return " ".join(parts) or None


def _moved(now: float, before: float) -> str:
    """'up 5.4 %', 'down 12.0 %', 'unchanged' (or 'n/a' without a base)."""
    moved = relative_change(now, before)
    if not np.isfinite(moved):
        return "n/a"
    if moved == 0:
        return "unchanged"
    return f"{'up' if moved > 0 else 'down'} {change(moved).lstrip('+−±')}"


def year_ago(value) -> pd.Timestamp:
    """The same calendar day a year earlier (29 Feb → 28 Feb)."""
    return pd.Timestamp(value) - pd.DateOffset(years=1)


LIVE_CHANGE_WORTH_SAYING = 0.25   # campaigns live per day changed by a quarter or more between the two periods


def _live_context(history: pd.DataFrame, recent: tuple, before: tuple) -> str:
    """' Campaigns live per day averaged 1.0 against 4.8; revenue per campaign-day was up 3.2%.' when
    `history` has ``campaigns`` and the two periods (start, end) differ by LIVE_CHANGE_WORTH_SAYING or more."""
    if "campaigns" not in history:
        return ""
    frame = history.assign(date=pd.to_datetime(history["date"])).groupby("date")[["revenue", "campaigns"]].sum()

    def period(bounds) -> tuple[float, float, float]:
        inside = frame[(frame.index >= bounds[0]) & (frame.index <= bounds[1])]
        live = float(inside["campaigns"].sum())
        return (live / len(inside) if len(inside) else np.nan), float(inside["revenue"].sum()), live

    (now, revenue_now, days_now), (then, revenue_then, days_then) = period(recent), period(before)
    if not (np.isfinite(now) and np.isfinite(then) and then > 0) or abs(now / then - 1) < LIVE_CHANGE_WORTH_SAYING:
        return ""
    per_campaign = _moved(revenue_now / days_now, revenue_then / days_then) if days_now > 0 else "n/a"
    return (f" Campaigns live per day averaged {now:.1f} against {then:.1f}; revenue per campaign-day was "
            f"{per_campaign}.")


def trend_comparison(history: pd.DataFrame, start, end, days: int = 90) -> str | None:
    """Revenue compared like with like, never read past the selection's last day.

    `history`: daily revenue (``date``, ``revenue``, optionally ``campaigns`` live) of the selection on the days
    it has campaign rows, at least over the window [`start`, `end`] and, where it exists, the year before it. The sentence compares
    the last `days` days of the window that has data (fewer if the window is shorter) with the same days a
    year earlier, or with the days just before when there is no year of history; and, where the window holds
    two consecutive calendar years with data in every month, the later year with the one before.
    None when the window holds no revenue.
    """
    frame = history.assign(date=pd.to_datetime(history["date"])).groupby("date")["revenue"].sum()
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    inside = frame[(frame.index >= start) & (frame.index <= end)]
    if inside.empty or not inside.sum() > 0:
        return None
    first, last = inside.index.min(), inside.index.max()
    length = min(days, (last - start).days + 1)
    recent_start = last - pd.Timedelta(days=length - 1)
    recent = float(inside[inside.index >= recent_start].sum())
    parts = []
    if last < end:
        parts.append(f"The selection has no campaign rows after {day(last)}, so the comparison ends there.")
    span = f"the {count(length)} days to {day(last)}"
    before_start, before_end = year_ago(recent_start), year_ago(last)
    if frame.index.min() <= before_start:
        before = float(frame[(frame.index >= before_start) & (frame.index <= before_end)].sum())
        parts.append(f"Revenue in {span} was {rupees(recent)}, {_moved(recent, before)} on the same days a year "
                     f"earlier ({rupees(before)}).{_live_context(history, (recent_start, last), (before_start, before_end))}")
    else:
        previous_end = recent_start - pd.Timedelta(days=1)
        previous_start = previous_end - pd.Timedelta(days=length - 1)
        if frame.index.min() <= previous_start:
            before = float(frame[(frame.index >= previous_start) & (frame.index <= previous_end)].sum())
            parts.append(f"Revenue in {span} was {rupees(recent)}, {_moved(recent, before)} on the {count(length)} "
                         f"days before ({rupees(before)}); there is no year of history for a like-for-like "
                         "comparison." + _live_context(history, (recent_start, last), (previous_start, previous_end)))
        else:
            parts.append(f"Revenue in {span} was {rupees(recent)}; the data holds no earlier period of the same "
                         "length to compare with.")
    in_window = inside[(inside.index >= max(start, first))]
    months = in_window.groupby([in_window.index.year, in_window.index.month]).size()
    full_years = [year for year in sorted(set(months.index.get_level_values(0)))
                  if len(months.loc[year]) == 12]
    if len(full_years) >= 2 and full_years[-1] - 1 == full_years[-2]:
        this, previous = full_years[-1], full_years[-2]
        now = float(in_window[in_window.index.year == this].sum())
        before = float(in_window[in_window.index.year == previous].sum())
        parts.append(f"Calendar {this} brought {rupees(now)}, {_moved(now, before)} on {previous} ({rupees(before)}).")
    return " ".join(parts)


def anomaly_summary(anomalies: pd.DataFrame, days: int) -> str:
    """How many unusual readings the window holds, and the one with the most money at stake (`impact`, else
    the largest |z|)."""
    if anomalies.empty:
        return (f"No unusual days in these {count(days)} days: every daily metric stays near its trend and "
                "weekday pattern.")
    dates = anomalies["date"].nunique()
    ranked = (anomalies.sort_values("impact", ascending=False, na_position="last") if "impact" in anomalies
              else anomalies.loc[anomalies["robust_z"].abs().sort_values(ascending=False).index])
    largest = ranked.iloc[0]
    label = OVERVIEW_METRICS.get(largest["metric"], (largest["metric"],))[0]
    by_impact = "impact" in largest and np.isfinite(largest["impact"])
    at_stake = f", about {rupees(largest['impact'])} at stake" if by_impact else ""
    return (f"{count(len(anomalies))} unusual reading(s) on {count(dates)} of {count(days)} days. The largest"
            f"{' by business impact' if by_impact else ''}: {label} on {day(largest['date'])}, "
            f"{format_metric(largest['metric'], largest['value'])} against "
            f"{format_metric(largest['metric'], largest['expected'])} expected "
            f"({'above' if largest['robust_z'] > 0 else 'below'} by z = {abs(largest['robust_z']):.1f}{at_stake}).")


def top_insights(by_channel: pd.DataFrame, days: int, daily_revenue: pd.DataFrame, anomalies: pd.DataFrame,
                 period_change: str | None = None, limit: int = 5) -> list[str]:
    """The overview's headline sentences, the ones the data supports, at most `limit` (none without data).
    `period_change` is the KPI period's revenue change (see `revenue_change`), when there is one."""
    if by_channel.empty:
        return []
    candidates = [
        top_revenue_channel(by_channel),
        roas_extremes(by_channel),
        period_change,
        seasonality(daily_revenue),
        anomaly_summary(anomalies, days) if days else None,
    ]
    return [c for c in candidates if c][:limit]


def window_days(start: dt.date | None, end: dt.date | None) -> int:
    """Days in an inclusive date window (0 when it is open)."""
    return (end - start).days + 1 if start and end else 0
