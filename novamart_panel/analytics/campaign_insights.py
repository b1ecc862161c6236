"""Insight sentences for campaign analytics (SPEC §4.2), computed from small frames of summed columns.

Every function takes the frame a chart draws (sums of spend, impressions, clicks, conversions and
revenue, never pre-computed ratios) and returns one or two Markdown sentences. Ratios are ratios of
sums (`metrics.add_ratios`); a channel or campaign without spend has no ROAS and is named as such.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ..format import count, escape_markdown, percent, ratio, rupees, strong
from .metrics import add_ratios, safe_ratio

NO_DATA = "No campaign rows match the current filters."

# column → (words in a sentence, formatter)
METRIC_WORDS = {
    "revenue": ("revenue", rupees),
    "spend": ("spend", rupees),
    "conversions": ("conversions", count),
    "clicks": ("clicks", count),
    "impressions": ("impressions", count),
    "roas": ("ROAS", ratio),
}


GRAIN_LENGTHS = {"daily": pd.DateOffset(days=1), "weekly": pd.DateOffset(weeks=1), "monthly": pd.DateOffset(months=1),
                 "quarterly": pd.DateOffset(months=3)}


def complete_periods(trend: pd.DataFrame, grain: str, start=None, end=None) -> pd.Series:
    """Whether each period (`period` = its first day) lies wholly inside [start, end]."""
    first = pd.to_datetime(trend["period"])
    last = first + GRAIN_LENGTHS[grain] - pd.Timedelta(days=1)
    inside = pd.Series(True, index=trend.index)
    if start is not None:
        inside &= first >= pd.Timestamp(start)
    if end is not None:
        inside &= last <= pd.Timestamp(end)
    return inside


def with_empty_periods(trend: pd.DataFrame, grain: str, by: str | None = None) -> pd.DataFrame:
    """`trend` (rows per period, `period` = its first day, optionally split by the column `by`; the other columns
    sums) with zeros for each period between its first and its last that has no rows, one row per value of `by`:
    a line through the rows would otherwise bridge the gap, as if those periods had values between their
    neighbours', and bars on a category axis would leave the periods out. `period` comes back as timestamps."""
    if trend.empty:
        return trend
    trend = trend.assign(period=pd.to_datetime(trend["period"]))
    every = pd.date_range(trend["period"].min(), trend["period"].max(), freq=GRAIN_LENGTHS[grain], name="period")
    missing = every.difference(pd.DatetimeIndex(trend["period"].unique()))
    if missing.empty:
        return trend
    blank = (pd.DataFrame({"period": missing}) if by is None else
             pd.MultiIndex.from_product([missing, trend[by].unique()], names=["period", by]).to_frame(index=False))
    for column in trend.columns.difference(blank.columns):
        blank[column] = np.zeros(len(blank), dtype=trend[column].dtype)
    filled = pd.concat([trend, blank[trend.columns]], ignore_index=True)
    return filled.sort_values("period", kind="stable", ignore_index=True)


def day_label(day) -> str:
    """'Fri 29 Nov 2024'."""
    day = pd.Timestamp(day)
    return f"{day:%a} {day.day} {day:%b %Y}"


def period_label(period, grain: str) -> str:
    """How a period reads in a sentence: a day, 'the week of 4 Nov 2024', or 'Nov 2024'."""
    period = pd.Timestamp(period)
    if grain == "daily":
        return day_label(period)
    if grain == "weekly":
        return f"the week of {period.day} {period:%b %Y}"
    if grain == "quarterly":
        return f"Q{period.quarter} {period.year}"
    return f"{period:%b %Y}"


def _names(values) -> str:
    """'A', 'A and B', 'A, B and C'."""
    values = [escape_markdown(v) for v in values]
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " and " + values[-1]


def _no_spend_note(frame: pd.DataFrame, label: str, what: str) -> str:
    """A clause naming the rows whose ROAS is undefined because they had no spend."""
    unpriced = frame.loc[frame["spend"] <= 0, label].tolist()
    if not unpriced:
        return ""
    verb = "has" if len(unpriced) == 1 else "have"
    if len(unpriced) > 4:
        return f" {len(unpriced)} {what} have no spend, so their ROAS is n/a and they are not plotted."
    return f" {_names(unpriced)} {verb} no spend, so {'its' if len(unpriced) == 1 else 'their'} ROAS is n/a."


def channel_ranking(channel_sums: pd.DataFrame, metric: str) -> str:
    """Which channel leads and which trails on revenue, conversions or ROAS."""
    if channel_sums.empty:
        return NO_DATA
    frame = add_ratios(channel_sums)
    words, fmt = METRIC_WORDS[metric]
    ranked = frame.dropna(subset=[metric]).sort_values(metric, ascending=False)
    if ranked.empty:
        return f"No channel has spend under the current filters, so {words} is n/a."
    top, low = ranked.iloc[0], ranked.iloc[-1]
    if metric == "roas":
        portfolio = safe_ratio(frame["revenue"].sum(), frame["spend"].sum())
        text = (f"{strong(top.channel)} returns the most per rupee spent ({fmt(top.roas)})"
                + (f" and {strong(low.channel)} the least ({fmt(low.roas)})" if len(ranked) > 1 else "")
                + f"; the portfolio ROAS (total revenue ÷ total spend) is {ratio(portfolio)}.")
        return text + _no_spend_note(frame, "channel", "channels")
    total = frame[metric].sum()
    share = safe_ratio(top[metric], total)
    text = f"{strong(top.channel)} leads {words} with {fmt(top[metric])} ({percent(share)} of {fmt(total)})"
    if len(ranked) > 1:
        text += f"; {strong(low.channel)} is lowest at {fmt(low[metric])}"
    return text + "."


def missing_region_quarters(region_quarter: pd.DataFrame) -> dict[str, list[str]]:
    """Per region, the quarters of the year with data for some region but no rows for this one (its bars are
    absent there, not zero), regions and quarters in sorted order."""
    quarters = sorted(region_quarter["quarter"].dropna().unique())
    present = set(zip(region_quarter["region"], region_quarter["quarter"]))
    missing = {region: [q for q in quarters if (region, q) not in present]
               for region in sorted(region_quarter["region"].dropna().unique())}
    return {region: gaps for region, gaps in missing.items() if gaps}


def missing_quarters_sentence(region_quarter: pd.DataFrame, year: int) -> str:
    """'No data for Central in Q3 and Q4 2024, West in Q4 2024: ...', or '' when every region has every quarter."""
    missing = missing_region_quarters(region_quarter)
    if not missing:
        return ""
    parts = [f"{strong(region)} in {' and '.join(quarters) if len(quarters) < 3 else ', '.join(quarters)} {year}"
             for region, quarters in missing.items()]
    return (f" **No data** for {'; '.join(parts)}: those bars are missing, not zero (no campaign rows there under "
            "the current filters).")


def region_quarter_summary(region_quarter: pd.DataFrame, year: int,
                           quarters: tuple[str, ...] | None = None, whole_year: bool = True) -> str:
    """The leading region of a year, its strongest and weakest quarters, the regions missing a quarter, and the
    `quarters` (those of the year the date selection covers) without any rows; `whole_year` whether the selection
    covers the whole year."""
    if region_quarter.empty or region_quarter["revenue"].sum() <= 0:
        return f"No revenue in {year} under the current filters."
    by_region = region_quarter.groupby("region")["revenue"].sum().sort_values(ascending=False)
    by_quarter = region_quarter.groupby("quarter")["revenue"].sum().sort_values(ascending=False)
    empty = [quarter for quarter in quarters or () if quarter not in by_quarter.index]
    total = by_region.sum()
    whole = f"the year's {rupees(total)}" if whole_year else f"the {rupees(total)} of {year}'s selected dates"
    text = (f"In {year}, {strong(by_region.index[0])} earned the most revenue ({rupees(by_region.iloc[0])}, "
            f"{percent(by_region.iloc[0] / total)} of {whole})")
    if len(by_quarter) > 1:
        weakest = "the weakest quarter with campaign rows" if empty else "the weakest"
        text += (f"; {strong(by_quarter.index[0])} was the strongest quarter ({rupees(by_quarter.iloc[0])}) "
                 f"and {escape_markdown(by_quarter.index[-1])} {weakest} ({rupees(by_quarter.iloc[-1])})")
    text += "." + missing_quarters_sentence(region_quarter, year)
    if empty:
        text += (f" **No campaign rows at all** in {' and '.join(empty)} {year} under the current filters: "
                 f"{'that quarter is' if len(empty) == 1 else 'those quarters are'} left off the chart.")
    return text


def spend_mix_summary(monthly_spend: pd.DataFrame) -> str:
    """The campaign type with the largest budget share, the peak month, and the type whose share swings most."""
    if monthly_spend.empty or monthly_spend["spend"].sum() <= 0:
        return "No spend under the current filters."
    by_type = monthly_spend.groupby("campaign_type")["spend"].sum().sort_values(ascending=False)
    by_month = monthly_spend.groupby("month")["spend"].sum()
    total = by_type.sum()
    peak = by_month.idxmax()
    text = (f"{strong(by_type.index[0])} takes the largest share of spend ({percent(by_type.iloc[0] / total)} of "
            f"{rupees(total)}); monthly spend peaked in {strong(period_label(peak, 'monthly'))} "
            f"({rupees(by_month.max())}).")
    shares = monthly_spend.pivot_table(index="month", columns="campaign_type", values="spend", aggfunc="sum",
                                       fill_value=0.0)
    shares = shares.div(shares.sum(axis=1).replace(0, np.nan), axis=0)
    if shares.shape[0] > 1 and shares.shape[1] > 1:
        swing = (shares.max() - shares.min()).idxmax()
        text += (f" {strong(swing)}'s share varies most, reaching {percent(shares[swing].max())} in "
                 f"{period_label(shares[swing].idxmax(), 'monthly')}.")
    return text


def revenue_trend_summary(trend: pd.DataFrame, grain: str, start=None, end=None) -> str:
    """Peak and trough periods, and how the later half of the range compares with the earlier half.

    Periods cut short by the range `start`–`end` (a week of two days) are left out when any full one exists.
    """
    if trend.empty:
        return NO_DATA
    complete = complete_periods(trend, grain, start, end)
    trend = (trend[complete] if complete.any() else trend).sort_values("period")
    peak, trough = trend.loc[trend["revenue"].idxmax()], trend.loc[trend["revenue"].idxmin()]
    text = (f"{grain.capitalize()} revenue peaked in {strong(period_label(peak.period, grain))} ({rupees(peak.revenue)})"
            f" and was lowest in {period_label(trough.period, grain)} ({rupees(trough.revenue)}).")
    half = len(trend) // 2
    if half:
        early, late = trend["revenue"].iloc[:half].mean(), trend["revenue"].iloc[-half:].mean()
        change = safe_ratio(late - early, early)
        if np.isfinite(change):
            direction = "higher" if change >= 0 else "lower"
            text += (f" The later half of the range averages {percent(abs(change))} {direction} per period "
                     f"than the earlier half.")
    return text


def cumulative_conversions_summary(daily: pd.DataFrame) -> str:
    """Total conversions at the end of the range and each end of the channel ranking."""
    totals = daily.groupby("channel")["conversions"].sum().sort_values(ascending=False)
    total = totals.sum()
    if daily.empty or total <= 0:
        return "No conversions under the current filters."
    end = pd.Timestamp(daily["date"].max())
    text = (f"By {day_label(end)}, the selection had accumulated {count(total)} conversions; "
            f"{strong(totals.index[0])} contributed the most ({percent(totals.iloc[0] / total)})")
    if len(totals) > 1:
        text += f" and {escape_markdown(totals.index[-1])} the least ({percent(totals.iloc[-1] / total)})"
    return text + "."


def weekday_profile(days: pd.DataFrame, metric: str) -> pd.Series:
    """The metric per weekday (Monday first): mean per day for sums (over the days with campaign rows, when
    `days` has a `live` column: days without any would drag a weekday down), ratio of sums for ROAS."""
    if "live" in days and metric != "roas":
        days = days[days["live"].astype(bool)]
    weekday = pd.to_datetime(days["date"]).dt.day_of_week
    if metric == "roas":
        grouped = days.groupby(weekday)[["revenue", "spend"]].sum()
        profile = pd.Series(safe_ratio(grouped["revenue"], grouped["spend"]), index=grouped.index)
    else:
        profile = days.groupby(weekday)[metric].mean()
    return profile.rename(index=dict(enumerate(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                                "Saturday", "Sunday"))))


def calendar_summary(days: pd.DataFrame, metric: str, year: int) -> str:
    """The best day of a year and the best and weakest weekdays, for a daily metric."""
    words, fmt = METRIC_WORDS[metric]
    values = add_ratios(days)[metric] if metric == "roas" else days[metric]
    if days.empty or not np.isfinite(values).any() or np.nansum(values) <= 0:
        return f"No {words} in {year} under the current filters."
    best = days.loc[values.idxmax()]
    text = f"In {year}, the strongest day for {words} was {strong(day_label(best.date))} ({fmt(values.max())})."
    profile = weekday_profile(days, metric).dropna()
    if len(profile) > 1:
        idle = "live" in days and not days["live"].astype(bool).all()
        per_day = "" if metric == "roas" else " per day with campaigns" if idle else " per day"
        text += (f" {strong(profile.idxmax())} is the best weekday ({fmt(profile.max())}{per_day} on average) and "
                 f"{profile.idxmin()} the weakest ({fmt(profile.min())}).")
    return text


def channel_efficiency_summary(channel_sums: pd.DataFrame) -> str:
    """Which channels have the best click-through and conversion rates and the cheapest conversions."""
    frame = add_ratios(channel_sums)
    if frame.empty or frame[["ctr", "cvr"]].isna().all().all():
        return NO_DATA
    # A rate is undefined for every channel when its denominator is 0 everywhere (no impressions, no clicks).
    best_ctr = frame.loc[frame["ctr"].idxmax()] if frame["ctr"].notna().any() else None
    best_cvr = frame.loc[frame["cvr"].idxmax()] if frame["cvr"].notna().any() else None
    if best_ctr is None:
        text = (f"No channel recorded impressions, so click-through rate is n/a; {strong(best_cvr.channel)} has "
                f"the best conversion rate ({percent(best_cvr.cvr)}).")
    elif best_cvr is None:
        text = (f"{strong(best_ctr.channel)} has the best click-through rate ({percent(best_ctr.ctr)}); no "
                "channel recorded clicks, so conversion rate is n/a.")
    elif best_ctr.channel == best_cvr.channel:
        text = (f"{strong(best_ctr.channel)} has the best click-through and conversion rates together "
                f"(CTR {percent(best_ctr.ctr)}, CVR {percent(best_ctr.cvr)}).")
    else:
        text = (f"{strong(best_ctr.channel)} has the best click-through rate ({percent(best_ctr.ctr)}) and "
                f"{strong(best_cvr.channel)} the best conversion rate ({percent(best_cvr.cvr)}).")
    priced = frame.dropna(subset=["cpa"])
    if len(priced) > 1:
        cheap, dear = priced.loc[priced["cpa"].idxmin()], priced.loc[priced["cpa"].idxmax()]
        if np.isclose(cheap.cpa, dear.cpa):
            text += f" A conversion costs the same on every paid channel ({rupees(cheap.cpa)})."
        else:
            text += (f" A conversion costs least on {escape_markdown(cheap.channel)} ({rupees(cheap.cpa)}) and most "
                     f"on {escape_markdown(dear.channel)} ({rupees(dear.cpa)}).")
    return text


def cpa_roas_summary(channel_sums: pd.DataFrame) -> str:
    """Whether one channel is both cheapest per conversion and best per rupee, or who holds each corner."""
    frame = add_ratios(channel_sums)
    priced = frame.dropna(subset=["cpa", "roas"])
    if priced.empty:
        return "No channel has both spend and conversions under the current filters."
    cheap = priced.loc[priced["cpa"].idxmin()]
    best = priced.loc[priced["roas"].idxmax()]
    if cheap.channel == best.channel:
        text = (f"{strong(cheap.channel)} sits in the best corner: the lowest CPA ({rupees(cheap.cpa)}) and the "
                f"highest ROAS ({ratio(best.roas)}).")
    else:
        text = (f"{strong(cheap.channel)} has the lowest CPA ({rupees(cheap.cpa)}) while {strong(best.channel)} has the "
                f"highest ROAS ({ratio(best.roas)}).")
    if len(priced) > 1:
        worst = priced.loc[priced["roas"].idxmin()]
        text += f" {escape_markdown(worst.channel)} is least efficient (ROAS {ratio(worst.roas)}, CPA {rupees(worst.cpa)})."
    return text + _no_spend_note(frame, "channel", "channels")


def roas_trend_summary(monthly: pd.DataFrame) -> str:
    """Months below break-even (ROAS < 1) per channel, and the leader in the latest month."""
    frame = add_ratios(monthly).dropna(subset=["roas"])
    if frame.empty:
        return "No channel has spend under the current filters, so ROAS is n/a."
    below = frame[frame["roas"] < 1]
    months = frame["month"].nunique()
    if below.empty:
        span = "the one month" if months == 1 else f"all {months} months"
        text = (f"Every channel with spend stayed above break-even (ROAS ≥ 1) in {span}; the lowest "
                f"monthly ROAS was {ratio(frame['roas'].min())} ({escape_markdown(frame.loc[frame['roas'].idxmin(), 'channel'])}).")
    else:
        worst = below.groupby("channel").size().sort_values(ascending=False)
        text = (f"{strong(worst.index[0])} fell below break-even (ROAS < 1) in {worst.iloc[0]} of {months} month{'' if months == 1 else 's'}"
                + (f", and {len(worst) - 1} other channel(s) did at least once" if len(worst) > 1 else "") + ".")
    latest = frame[frame["month"] == frame["month"].max()]
    lead = latest.loc[latest["roas"].idxmax()]
    return text + (f" In {period_label(lead.month, 'monthly')}, {strong(lead.channel)} had the highest ROAS "
                   f"({ratio(lead.roas)}).")


def campaign_roas(campaign_sums: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """Campaigns with spend ranked by ROAS (best first), and the median campaign ROAS."""
    frame = add_ratios(campaign_sums)
    ranked = frame.dropna(subset=["roas"]).sort_values("roas", ascending=False)
    return ranked, float(ranked["roas"].median()) if len(ranked) else float("nan")


def leaderboard_rows(campaign_sums: pd.DataFrame, per_end: int) -> tuple[pd.DataFrame, float, int]:
    """What a leaderboard draws: the campaigns with spend ranked by ROAS (best first, `rank` from 1), all of
    them up to 2 × `per_end`, else only the best and the worst `per_end`; with the median ROAS and the number
    of ranked campaigns, both over all of them."""
    ranked, median = campaign_roas(campaign_sums)
    ranked = ranked.assign(rank=np.arange(1, len(ranked) + 1))
    shown = ranked if len(ranked) <= 2 * per_end else pd.concat([ranked.iloc[:per_end], ranked.iloc[-per_end:]])
    return shown, median, len(ranked)


def leaderboard_summary(campaign_sums: pd.DataFrame) -> str:
    """The median campaign ROAS, how many campaigns beat it, and the best and worst campaign."""
    if campaign_sums.empty:
        return NO_DATA
    ranked, median = campaign_roas(campaign_sums)
    if ranked.empty:
        return "No campaign has spend under the current filters, so ROAS is n/a."
    above = int((ranked["roas"] > median).sum())
    best, worst = ranked.iloc[0], ranked.iloc[-1]
    text = (f"The median campaign ROAS is {ratio(median)}; {above} of {len(ranked)} campaigns with spend beat it. "
            f"Best: {strong(best.campaign_name)} ({ratio(best.roas)}); worst: {strong(worst.campaign_name)} "
            f"({ratio(worst.roas)}).")
    return text + _no_spend_note(campaign_sums, "campaign_name", "campaigns")


def month_channels_summary(month_sums: pd.DataFrame, month: dt.date) -> str:
    """The channel that earned most in one month, at what ROAS, and the month's total spend."""
    label = period_label(month, "monthly")
    if month_sums.empty or month_sums["revenue"].sum() <= 0:
        return f"No campaign revenue in {label} under the current filters."
    frame = add_ratios(month_sums)
    top = frame.loc[frame["revenue"].idxmax()]
    return (f"In {strong(label)}, {strong(top.channel)} earned the most ({rupees(top.revenue)}, ROAS {ratio(top.roas)}); "
            f"all channels together spent {rupees(frame['spend'].sum())} and earned {rupees(frame['revenue'].sum())}.")


def label_offsets(x, y, texts, width_px: float = 640.0, height_px: float = 300.0, line_px: float = 14.0,
                  char_px: float = 6.5, gap_px: float = 10.0, shifts=None) -> np.ndarray:
    """Vertical screen offsets (pixels, up positive) that keep point labels from overlapping.

    Each label starts level with its point, `gap_px` (or its own `shifts` pixels) to its right; points are mapped onto a `width_px` ×
    `height_px` plot of their own extent. Going from the top point down, a label whose box would overlap one
    already placed moves just below it. Pure geometry: the chart applies the offsets in screen pixels, so
    they hold at any zoom where the points are at least as far apart as at the full extent."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    offsets = np.zeros(len(x))
    if len(x) < 2:
        return offsets
    span_x = np.ptp(x) or 1.0
    span_y = np.ptp(y) or 1.0
    px = (x - x.min()) / span_x * width_px + (gap_px if shifts is None else np.asarray(shifts, dtype=float))
    py = (y - y.min()) / span_y * height_px
    widths = np.array([len(str(t)) * char_px for t in texts])
    placed: list[tuple[float, float, float]] = []    # left, right, centre height of placed labels
    for i in sorted(range(len(x)), key=lambda k: (-py[k], px[k])):
        centre = py[i]
        moved = True
        while moved:
            moved = False
            for left, right, other in placed:
                if px[i] < right and left < px[i] + widths[i] and abs(centre - other) < line_px:
                    centre = other - line_px
                    moved = True
        placed.append((px[i], px[i] + widths[i], centre))
        offsets[i] = centre - py[i]
    return offsets


def label_shifts(x, y, texts, sizes, width_px: float = 640.0, height_px: float = 300.0, line_px: float = 14.0,
                 char_px: float = 6.5, gap_px: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """Screen offsets (dx right, dy up, pixels) for labels of bubbles of diameter `sizes`: each label starts
    right of every bubble its text row would cross, then labels that would still overlap move apart vertically
    (`label_offsets`), and the first step runs again for the rows they moved to."""
    x, y, sizes = (np.asarray(v, dtype=float) for v in (x, y, sizes))
    if len(x) == 0:
        return np.zeros(0), np.zeros(0)
    px = (x - x.min()) / (np.ptp(x) or 1.0) * width_px
    py = (y - y.min()) / (np.ptp(y) or 1.0) * height_px

    widths = np.array([len(str(t)) * char_px for t in texts])

    def clear_of_bubbles(dy: np.ndarray) -> np.ndarray:
        # Left to right, a bubble under the label's text (as far as it reaches now) pushes the label past it.
        dx = sizes / 2 + gap_px
        for j in range(len(x)):
            row = py[j] + dy[j]
            for i in np.argsort(px, kind="stable"):
                under_text = px[i] - sizes[i] / 2 < px[j] + dx[j] + widths[j] and px[i] + sizes[i] / 2 > px[j] + dx[j]
                if i != j and under_text and abs(py[i] - row) < sizes[i] / 2 + line_px / 2:
                    dx[j] = px[i] - px[j] + sizes[i] / 2 + gap_px
        return dx

    dx = clear_of_bubbles(np.zeros(len(x)))
    dy = label_offsets(x, y, texts, width_px, height_px, line_px, char_px, shifts=dx)
    return clear_of_bubbles(dy), dy
