"""Campaign analytics (SPEC §4.2): channels, regions, budget mix, trends, calendar, efficiency, leaderboard.

Every view's own controls narrow the global filters further: a row is shown only if both allow it.
"""
from __future__ import annotations

import datetime as dt
from typing import ClassVar

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.models import NumberFormatter

from .. import palette
from ..analytics import campaign_insights as ci
from ..analytics.metrics import SUM_COLUMNS, add_ratios
from ..data.queries import FilterState, campaign_rows, campaign_sums_by, campaign_sums_over_time, campaign_years, \
    date_bounds, distinct_values
from ..format import CRORE, LAKH, count, percent, ratio, rupees
from .base import (BAD, FILTER_DEPS, GOOD, Section, TextMultiChoice, category_slot, chart, csv_download, data_table,
                   house_opts, html_download, markdown, memoized, numeral_ticks, rupee_ticks, section_header,
                   value_ticks, value_ticks_follow, view_card)

CHANNEL_METRICS = {"Revenue": "revenue", "Conversions": "conversions", "ROAS": "roas"}
CALENDAR_METRICS = {"Revenue": "revenue", "Spend": "spend", "Conversions": "conversions", "Clicks": "clicks",
                    "Impressions": "impressions", "ROAS": "roas"}
METRIC_KINDS = {"revenue": "money", "spend": "money", "conversions": "count", "clicks": "count",
                "impressions": "count", "roas": "ratio"}   # how each metric's ticks read (base.value_ticks)
# The channel bars' value axis and the calendar's colour bar follow the metric chosen (base.value_ticks_follow).
CHANNEL_TICKS = value_ticks_follow("x", {label: METRIC_KINDS[column] for label, column in CHANNEL_METRICS.items()})
CALENDAR_TICKS = value_ticks_follow("colorbar", {label: METRIC_KINDS[column]
                                                 for label, column in CALENDAR_METRICS.items()})
TREND_GRAINS = ("daily", "weekly", "monthly")
NO_DATES = ("campaign_performance.csv has no date that can be read (dates must be written YYYY-MM-DD; see the "
            "Data quality tab), so {views}, which are all over time, cannot be drawn.")
SPEND_MODES = ("Absolute", "100 % stacked")
# The monthly spend's value axis: rupees, or the share of the month in percent (base.value_ticks_follow).
SPEND_LABELS = {SPEND_MODES[0]: "Spend", SPEND_MODES[1]: "Share of the month's spend (%)"}
SPEND_TICKS = value_ticks_follow("y", {SPEND_LABELS[SPEND_MODES[0]]: "money", SPEND_LABELS[SPEND_MODES[1]]: "percent"})
WEEKDAY_ABBR = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# column → (tooltip label, formatter): hover text is made by the one formatting module.
HOVER_FORMATS = {
    "spend": ("Spend", rupees), "revenue": ("Revenue", rupees), "impressions": ("Impressions", count),
    "clicks": ("Clicks", count), "conversions": ("Conversions", count), "ctr": ("CTR", percent),
    "cvr": ("CVR", percent), "cpc": ("CPC", rupees), "cpm": ("CPM", rupees), "cpa": ("CPA", rupees),
    "roas": ("ROAS", ratio), "share": ("Share", percent), "cumulative": ("Cumulative conversions", count),
}
TABLE_COLUMNS = {  # channel-table column → (title, kind)
    "channel": ("Channel", "text"), "spend": ("Spend", "money"), "impressions": ("Impressions", "count"),
    "clicks": ("Clicks", "count"), "ctr": ("CTR", "percent"), "cpc": ("CPC (₹)", "unit_money"),
    "cpm": ("CPM (₹)", "unit_money"), "conversions": ("Conversions", "count"), "cvr": ("CVR", "percent"),
    "cpa": ("CPA (₹)", "unit_money"), "revenue": ("Revenue", "money"), "roas": ("ROAS (×)", "ratio"),
}
CHANNEL_TIP = ("Channel", "@{channel}")
INTERSECTION_NOTE = "*These controls narrow the global filters further: only rows both allow are shown.*"


def with_hover_text(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with a `<column>_text` column, formatted for tooltips, for each known measure present."""
    out = frame.copy()
    for column, (_, fmt) in HOVER_FORMATS.items():
        if column in out:
            out[f"{column}_text"] = [fmt(v) for v in out[column]]
    return out


def tooltips(*columns: str, first: tuple[str, str] | None = None) -> list[tuple[str, str]]:
    """Bokeh tooltips showing the formatted text of `columns`, after an optional leading (label, field).

    Field names go in braces: HoloViews would otherwise read `@revenue_text` as the dimension `revenue`.
    """
    tips = [first] if first else []
    return tips + [(HOVER_FORMATS[c][0], f"@{{{c}_text}}") for c in columns]


def narrowed(state: FilterState | None, *, start: dt.date | None = None, end: dt.date | None = None,
             channels=(), regions=()) -> FilterState | None:
    """The global filters intersected with a view's own selection; None when nothing is left."""
    if state is None:
        return None
    both = {}
    for name, local in (("channels", channels), ("regions", regions)):
        current = getattr(state, name)
        if local:
            kept = tuple(v for v in local if not current or v in current)
            if not kept:
                return None
            both[name] = kept
    lo = max(d for d in (state.start, start) if d is not None) if (state.start or start) else None
    hi = min(d for d in (state.end, end) if d is not None) if (state.end or end) else None
    if lo and hi and lo > hi:
        return None
    return FilterState(start=lo, end=hi, channels=both.get("channels", state.channels),
                       regions=both.get("regions", state.regions), campaign_types=state.campaign_types)


def money_unit(values) -> tuple[float, str]:
    """The largest unit (crore, lakh, rupee) in which the smallest positive amount is still at least 1."""
    amounts = np.asarray(values, dtype=float)
    positive = amounts[np.isfinite(amounts) & (amounts > 0)]
    smallest = float(positive.min()) if positive.size else 0.0
    if smallest >= CRORE:
        return CRORE, "₹ Cr"
    if smallest >= LAKH:
        return LAKH, "₹ L"
    return 1.0, "₹"


def _empty_sums(*dims: str) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float if c in SUM_COLUMNS else object) for c in (*dims, *SUM_COLUMNS)})


def _sums_by(store, state: FilterState | None, *dims: str) -> pd.DataFrame:
    return _empty_sums(*dims) if state is None else campaign_sums_by(store, state, *dims)


def _sums_over_time(store, state: FilterState | None, grain: str, by: str | None = None) -> pd.DataFrame:
    if state is None:
        return _empty_sums("period", *([by] if by else []))
    return campaign_sums_over_time(store, state, grain, by)


def calendar_week(dates: pd.Series, year: int) -> pd.Series:
    """Column of each date in a year's calendar: weeks start on Monday, week 0 holds 1 January."""
    jan1 = pd.Timestamp(year, 1, 1)
    first_monday = jan1 - pd.Timedelta(days=jan1.day_of_week)
    return (pd.to_datetime(dates) - first_monday).dt.days // 7


def _month_start(day) -> dt.date:
    return pd.Timestamp(day).date().replace(day=1)


class CampaignSection(Section):
    """Campaign analytics: where money goes and what it earns, by channel, region, type, day and campaign."""

    title = "Campaign analytics"
    slug = "campaigns"
    tables = ("campaigns",)
    spec_section = "4.2"

    channel_metric = param.Selector(default="Revenue", objects=list(CHANNEL_METRICS), doc="Metric of the channel bars")
    year = param.Selector(default=None, objects=[], doc="Year of the region × quarter bars")
    spend_mode = param.Selector(default=SPEND_MODES[0], objects=list(SPEND_MODES), doc="Absolute spend or shares")
    trend_grain = param.Selector(default="weekly", objects=list(TREND_GRAINS), doc="Revenue trend aggregation")
    trend_range = param.DateRange(default=None, doc="Dates of the revenue trend (within the global range)")
    trend_channels = param.ListSelector(default=[], objects=[], doc="Channels of the revenue trend (empty = all)")
    cumulative_regions = param.ListSelector(default=[], objects=[], doc="Regions of the cumulative chart")
    calendar_year = param.Selector(default=None, objects=[], doc="Year shown by the calendar heatmap")
    calendar_metric = param.Selector(default="Revenue", objects=list(CALENDAR_METRICS), doc="Daily metric")
    roas_scale = param.Selector(default="log", objects=["log", "linear"], doc="Y scale of the ROAS trend")
    month = param.Selector(default=None, objects=[], doc="Month of the animated channel bubbles")

    LEADERBOARD_END: ClassVar[int] = 25   # above 2 × this many campaigns the leaderboard draws the best and worst

    def __init__(self, **params):
        super().__init__(**params)
        self.date_bounds = date_bounds(self.store)
        if self.date_bounds is None:   # no file, or not one date parsed: unavailable() says so
            return
        years = campaign_years(self.store)
        channels = distinct_values(self.store, "campaigns", "channel")
        regions = distinct_values(self.store, "campaigns", "region")
        types = distinct_values(self.store, "campaigns", "campaign_type")
        lo, hi = self.date_bounds
        months = pd.date_range(_month_start(lo), _month_start(hi), freq="MS")
        self.param.year.objects = years
        self.param.calendar_year.objects = years
        self.param.trend_channels.objects = channels
        self.param.cumulative_regions.objects = regions
        self.param.trend_range.bounds = (lo, hi)
        self.param.month.objects = {f"{m:%b %Y}": m.date() for m in months}
        # One colour per name across the app (novamart_panel.palette, colour-blind safe).
        self.colors = {"channel": palette.colours("channel", channels), "region": palette.colours("region", regions),
                       "campaign_type": palette.colours("campaign_type", types)}
        # Charts with a layer per channel draw every channel of the data (empty when filtered out): a chart
        # updated in place keeps the layers it was built with.
        self.all_channels = channels
        everything = campaign_sums_by(self.store, FilterState(), "channel")
        self.paid_channels = sorted(everything.loc[everything["spend"] > 0, "channel"])
        self.param.update(year=years[-1], calendar_year=years[-1], trend_range=(lo, hi), month=months[0].date())
        self._controls_in_selection()   # filters set before this section (a shared link's dates)

    @param.depends("date_range", watch=True)
    def _controls_in_selection(self) -> None:
        """Controls that pick a period move into a date selection that leaves theirs out (else their charts show a
        period with no data): the animated month to the selection's first month, the region × quarter and the
        calendar years to its last year."""
        if self.date_range is None or self.month is None:
            return
        lo, hi = (_month_start(day) for day in self.date_range)
        if not lo <= self.month <= hi:
            self.month = lo
        years = [year for year in self.param.year.objects if lo.year <= year <= hi.year]
        for name in ("year", "calendar_year"):
            if years and getattr(self, name) not in years:
                setattr(self, name, years[-1])

    # -- data (DuckDB aggregates; pandas only reshapes the small results) -------------------------
    def _state(self) -> FilterState:
        return self.filter_state()

    @param.depends(*FILTER_DEPS)
    @memoized
    def channel_metrics(self) -> pd.DataFrame:
        """Sums and ratios per channel under the global filters, highest revenue first."""
        frame = ci.add_ratios(_sums_by(self.store, self._state(), "channel"))
        return frame.sort_values("revenue", ascending=False, ignore_index=True)[list(TABLE_COLUMNS)]

    @param.depends(*FILTER_DEPS, "channel_metric")
    @memoized
    def channel_values(self) -> pd.DataFrame:
        """The chosen metric per channel (`value`), smallest first so the largest bar is on top; n/a dropped."""
        frame = self.channel_metrics()
        frame["value"] = frame[CHANNEL_METRICS[self.channel_metric]]
        return frame.dropna(subset=["value"]).sort_values("value", ignore_index=True)

    @param.depends(*FILTER_DEPS, "year")
    @memoized
    def region_quarter_revenue(self) -> pd.DataFrame:
        """Sums by quarter and region for the selected year."""
        state = narrowed(self._state(), start=dt.date(self.year, 1, 1), end=dt.date(self.year, 12, 31))
        return _sums_by(self.store, state, "quarter", "region")

    @param.depends(*FILTER_DEPS, "spend_mode")
    @memoized
    def monthly_spend(self) -> pd.DataFrame:
        """Spend per month and campaign type, its share of the month, and `value` as the mode draws it; a month
        without campaign rows between the first and the last has zero spend (an empty slot, not left out)."""
        frame = ci.with_empty_periods(_sums_over_time(self.store, self._state(), "monthly", "campaign_type"),
                                      "monthly", by="campaign_type")
        frame = frame.rename(columns={"period": "month"})[["month", "campaign_type", "spend"]]
        month_total = frame.groupby("month")["spend"].transform("sum")
        frame["share"] = frame["spend"] / month_total.where(month_total > 0)
        frame["value"] = frame["spend"] if self.spend_mode == SPEND_MODES[0] else frame["share"].fillna(0.0) * 100
        frame["month_label"] = [f"{pd.Timestamp(m):%b %Y}" for m in frame["month"]]
        return frame

    def _trend_state(self) -> FilterState | None:
        start, end = self.trend_range or (None, None)
        return narrowed(self._state(), start=_as_date(start), end=_as_date(end), channels=self.trend_channels)

    @param.depends(*FILTER_DEPS, "trend_grain", "trend_range", "trend_channels")
    @memoized
    def revenue_trend(self) -> pd.DataFrame:
        """Sums per period for the trend's own dates and channels within the global filters; a period without
        campaign rows between the first and the last is a row of zeros (the line drops to 0, not across)."""
        return ci.with_empty_periods(_sums_over_time(self.store, self._trend_state(), self.trend_grain),
                                     self.trend_grain)

    @param.depends(*FILTER_DEPS, "cumulative_regions")
    @memoized
    def cumulative_conversions(self) -> pd.DataFrame:
        """Daily conversions per channel and their running total, every channel on every day of the range."""
        state = narrowed(self._state(), regions=self.cumulative_regions)
        daily = _sums_over_time(self.store, state, "daily", "channel")
        if daily.empty:
            return pd.DataFrame(columns=["date", "channel", "conversions", "cumulative"])
        grid = daily.pivot_table(index="period", columns="channel", values="conversions", aggfunc="sum")
        grid = grid.reindex(pd.date_range(grid.index.min(), grid.index.max(), freq="D"), fill_value=0).fillna(0)
        order = grid.sum().sort_values(ascending=False).index  # the largest channel at the bottom of the stack
        grid = grid[order]
        long = grid.stack().rename("conversions").reset_index()
        long.columns = ["date", "channel", "conversions"]
        long["cumulative"] = long.groupby("channel")["conversions"].cumsum()
        return long

    @param.depends(*FILTER_DEPS, "calendar_year", "calendar_metric")
    @memoized
    def calendar_days(self) -> pd.DataFrame:
        """Every day of the selected year within the global dates: sums (0 without activity), `live` (the day
        has campaign rows), `value`, week column and weekday row."""
        year = self.calendar_year
        state = narrowed(self._state(), start=dt.date(year, 1, 1), end=dt.date(year, 12, 31))
        daily = _sums_over_time(self.store, state, "daily").rename(columns={"period": "date"})
        days = pd.DataFrame({"date": pd.date_range(state.start, state.end, freq="D") if state else
                             pd.DatetimeIndex([])})
        daily["date"] = pd.to_datetime(daily["date"])
        days = days.merge(daily, on="date", how="left").fillna({c: 0.0 for c in SUM_COLUMNS})
        days["live"] = days["date"].isin(daily["date"])
        days = add_ratios(days)
        days["value"] = days[CALENDAR_METRICS[self.calendar_metric]]
        days["week"] = calendar_week(days["date"], year)
        days["weekday"] = days["date"].dt.day_of_week
        return days

    @param.depends(*FILTER_DEPS)
    @memoized
    def monthly_channel_sums(self) -> pd.DataFrame:
        """Sums and ratios per month and channel (ROAS n/a where a channel spent nothing)."""
        frame = _sums_over_time(self.store, self._state(), "monthly", "channel").rename(columns={"period": "month"})
        frame["month"] = pd.to_datetime(frame["month"])
        return ci.add_ratios(frame)

    @param.depends(*FILTER_DEPS)
    @memoized
    def campaign_metrics(self) -> pd.DataFrame:
        """Sums and ratios per campaign; ROAS n/a for campaigns without spend."""
        frame = ci.add_ratios(_sums_by(self.store, self._state(), "campaign_id", "campaign_name", "channel"))
        duplicated = frame["campaign_name"].duplicated(keep=False)
        frame["label"] = frame["campaign_name"].where(
            ~duplicated, frame["campaign_name"] + " (" + frame["campaign_id"] + ")")
        return frame

    @param.depends(*FILTER_DEPS, "month")
    @memoized
    def month_channels(self) -> pd.DataFrame:
        """Sums per channel in the animated month."""
        frame = self.monthly_channel_sums()
        return frame[frame["month"] == pd.Timestamp(self.month)].reset_index(drop=True)

    # -- charts ----------------------------------------------------------------------------------
    def _dark(self) -> bool:
        return pn.config.theme == "dark"

    @param.depends(*FILTER_DEPS, "channel_metric")
    def plot_channels(self) -> hv.Element:
        """1. Horizontal bars of the chosen metric by channel."""
        frame = category_slot(with_hover_text(self.channel_values()), channel="no data", value=0.0)
        metric = self.channel_metric
        bars = hv.Bars(frame, kdims=[hv.Dimension("channel", label="Channel")],
                       vdims=[hv.Dimension("value", label=metric), "revenue_text", "conversions_text",
                              "spend_text", "roas_text"])
        return house_opts(bars, invert_axes=True, color="channel", cmap=self.colors["channel"], show_legend=False,
                          hover_tooltips=tooltips("revenue", "conversions", "spend", "roas", first=CHANNEL_TIP),
                          title=f"{metric} by channel", height=340,
                          xformatter=value_ticks(METRIC_KINDS[CHANNEL_METRICS[metric]]), hooks=[CHANNEL_TICKS])

    @param.depends(*FILTER_DEPS, "year")
    def plot_region_quarter(self) -> hv.Element:
        """2. Grouped bars: revenue by region within each quarter of the selected year."""
        frame = category_slot(with_hover_text(add_ratios(self.region_quarter_revenue())), quarter="no data",
                              region="no data", revenue=0.0)
        bars = hv.Bars(frame, kdims=[hv.Dimension("quarter", label="Quarter"), hv.Dimension("region", label="Region")],
                       vdims=[hv.Dimension("revenue", label="Revenue"), "revenue_text", "spend_text", "roas_text"])
        return house_opts(bars, cmap=self.colors["region"], yformatter=rupee_ticks(), legend_position="right",
                          multi_level=False, show_legend=True,
                          hover_tooltips=tooltips("revenue", "spend", "roas",
                                                  first=("Quarter · region", "@{quarter} · @{region}")),
                          title=f"Revenue by region and quarter, {self.year}")

    @param.depends(*FILTER_DEPS, "spend_mode")
    def plot_monthly_spend(self) -> hv.Element:
        """3. Stacked bars of monthly spend by campaign type (absolute or 100 %)."""
        # HoloViews cannot stack zero bars; one empty slot says there is nothing.
        frame = category_slot(with_hover_text(self.monthly_spend()), month_label="no spend", campaign_type="",
                              value=0.0)
        absolute = self.spend_mode == SPEND_MODES[0]
        label = SPEND_LABELS[self.spend_mode]
        bars = hv.Bars(frame, kdims=[hv.Dimension("month_label", label="Month"),
                                     hv.Dimension("campaign_type", label="Campaign type")],
                       vdims=[hv.Dimension("value", label=label), "spend_text", "share_text"])
        tallest = float(frame.groupby("month_label")["value"].sum().max()) if absolute else 100.0
        options = {"yformatter": value_ticks("money" if absolute else "percent"), "hooks": [SPEND_TICKS],
                   "ylim": (0, 1.05 * tallest if tallest > 0 else 1.0)}  # stacked tops are not in the auto range
        return house_opts(bars, stacked=True, cmap=self.colors["campaign_type"], xrotation=45, legend_position="right",
                          hover_tooltips=tooltips("spend", "share",
                                                  first=("Month · type", "@{month_label} · @{campaign_type}")),
                          title="Monthly spend by campaign type" + ("" if absolute else " (100 % stacked)"), **options)

    @param.depends(*FILTER_DEPS, "trend_grain", "trend_range", "trend_channels")
    def plot_revenue_trend(self) -> hv.Element:
        """4. Revenue line at the chosen grain for the chosen dates and channels."""
        frame = with_hover_text(add_ratios(self.revenue_trend()))
        frame["period_text"] = [ci.period_label(p, self.trend_grain) for p in frame["period"]]
        frame["period"] = pd.to_datetime(frame["period"])
        curve = hv.Curve(frame, kdims=[hv.Dimension("period", label="Date")],
                         vdims=[hv.Dimension("revenue", label="Revenue"), "period_text", "revenue_text",
                                "spend_text", "conversions_text", "roas_text"])
        return house_opts(curve, color="#0072B5", line_width=2, yformatter=rupee_ticks(),
                          hover_tooltips=tooltips("revenue", "spend", "conversions", "roas",
                                                  first=("Period", "@{period_text}")),
                          title=f"{self.trend_grain.capitalize()} revenue")

    @param.depends(*FILTER_DEPS, "cumulative_regions")
    def plot_cumulative(self) -> hv.Overlay:
        """5. Stacked areas of cumulative conversions by channel; an invisible total line carries a tooltip
        listing every channel on the hovered day. Every channel of the data has its layer (flat when
        filtered out), so the chart keeps its layers when updated in place."""
        frame = self.cumulative_conversions()
        wide = frame.pivot(index="date", columns="channel", values="cumulative")
        shown = list(dict.fromkeys(frame["channel"]))  # stack order, largest at the bottom
        channels = shown + [c for c in self.all_channels if c not in shown]
        wide = wide.reindex(columns=channels, fill_value=0.0)
        layers, bottom = [], np.zeros(len(wide))
        for channel in channels:
            top = bottom + wide[channel].to_numpy(dtype=float)
            layer = pd.DataFrame({"date": wide.index, "top": top, "bottom": bottom})
            layers.append(hv.Area(layer, "date", ["top", "bottom"], label=channel).opts(
                color=self.colors["channel"].get(channel, "#888888"), alpha=0.8, line_alpha=0,
                visible=channel in shown))
            bottom = top
        total = pd.DataFrame({"date": wide.index, "total": bottom,
                              "date_text": [ci.day_label(d) for d in wide.index],
                              "total_text": [count(v) for v in bottom]})
        fields = {channel: f"c{i}_text" for i, channel in enumerate(self.all_channels)}  # fixed columns
        for channel, field in fields.items():
            total[field] = [count(v) for v in wide[channel]]
        carrier = hv.Curve(total, "date", ["total", "date_text", "total_text", *fields.values()]).opts(
            alpha=0, hover_mode="vline",
            hover_tooltips=[("Date", "@{date_text}"), ("All channels", "@{total_text}")]
            + [(channel, f"@{{{field}}}") for channel, field in reversed(fields.items())])
        return hv.Overlay([*layers, carrier]).opts(
            responsive=True, height=360, legend_position="top_left", toolbar="above",
            yformatter=numeral_ticks("0,0"), title="Cumulative conversions by channel",
            ylabel="Conversions (cumulative)", xlabel="Date", active_tools=["wheel_zoom"])

    @param.depends(*FILTER_DEPS, "calendar_year", "calendar_metric")
    def plot_calendar(self) -> hv.Element:
        """6. GitHub-style calendar: weeks as columns, weekdays as rows (Monday on top)."""
        days = self.calendar_days()
        metric = self.calendar_metric
        fmt = ci.METRIC_WORDS[CALENDAR_METRICS[metric]][1]
        days["date_text"] = [ci.day_label(d) for d in days["date"]]
        days["value_text"] = [fmt(v) for v in days["value"]]
        year = self.calendar_year
        firsts = pd.Series(pd.date_range(f"{year}-01-01", periods=12, freq="MS"))
        month_ticks = list(zip(calendar_week(firsts, year).tolist(), [f"{m:%b}" for m in firsts], strict=True))
        heatmap = hv.HeatMap(days, kdims=[hv.Dimension("week", label="Week"), hv.Dimension("weekday", label="Weekday")],
                             vdims=[hv.Dimension("value", label=metric), "date_text", "value_text"])
        return house_opts(heatmap, cmap="Greens_r" if self._dark() else "Greens", colorbar=True, height=250,
                          colorbar_opts={"formatter": value_ticks(METRIC_KINDS[CALENDAR_METRICS[metric]])},
                          hooks=[CALENDAR_TICKS],
                          invert_yaxis=True, yticks=list(enumerate(WEEKDAY_ABBR)), xticks=month_ticks,
                          clipping_colors={"NaN": "transparent"}, line_color=None, xlabel="", ylabel="",
                          hover_tooltips=[("Date", "@{date_text}"), (metric, "@{value_text}")],
                          title=f"Daily {metric.lower()}, {year}")

    @param.depends(*FILTER_DEPS)
    def plot_cpa_roas(self) -> hv.Overlay:
        """7b. CPA against ROAS per channel (channels with spend and conversions), at the portfolio averages."""
        frame = with_hover_text(self.channel_metrics()).dropna(subset=["cpa", "roas"])
        spend = frame["spend"].to_numpy(dtype=float)
        frame["size"] = 10 + 30 * np.sqrt(spend / spend.max()) if len(frame) and spend.max() > 0 else 10
        totals = self.channel_metrics()[list(SUM_COLUMNS)].sum()
        portfolio = add_ratios(pd.DataFrame([totals])).iloc[0]
        points = hv.Scatter(frame, kdims=[hv.Dimension("cpa", label="CPA (₹ per conversion)")],
                            vdims=[hv.Dimension("roas", label="ROAS (×)"), "channel", "size", "cpa_text",
                                   "roas_text", "spend_text", "conversions_text"])
        points = points.opts(color="channel", cmap=self.colors["channel"], size="size", alpha=0.85,
                             line_color="white", show_legend=False, tools=["hover"],
                             hover_tooltips=tooltips("cpa", "roas", "spend", "conversions", first=CHANNEL_TIP))
        # Screen-pixel offsets: right of the bubble's rim, and moved down where labels would overlap.
        dx, dy = ci.label_shifts(frame["cpa"], frame["roas"], frame["channel"], frame["size"], width_px=560,
                                 height_px=260)
        frame["dx"], frame["dy"] = dx, -dy
        labels = hv.Labels(frame, ["cpa", "roas"], ["channel", "dx", "dy"]).opts(
            text_color="#888888", text_font_size="9pt", text_align="left", text_baseline="middle",
            hooks=[_pixel_offset_labels])
        # Always both guides (a chart updated in place keeps its layers); invisible when undefined.
        defined = bool(np.isfinite(portfolio["roas"]) and np.isfinite(portfolio["cpa"]))
        guides = [line.opts(color="#888888", line_dash="dotted", line_width=1, alpha=1.0 if defined else 0.0)
                  for line in (hv.VLine(portfolio["cpa"] if defined else 0.0),
                               hv.HLine(portfolio["roas"] if defined else 0.0))]
        return hv.Overlay([points, labels, *guides]).opts(
            responsive=True, height=360, toolbar="above", xformatter=rupee_ticks(),
            padding=((0.05, 0.22), 0.08),   # room on the right for the labels of the costliest channels
            title="CPA vs ROAS by channel (dotted: portfolio CPA and ROAS)")

    @param.depends(*FILTER_DEPS, "roas_scale")
    @memoized
    def roas_trend(self) -> pd.DataFrame:
        """Monthly ROAS of each channel that spent, every month from the first to the last (n/a gaps break the
        line, also where no channel had rows); on the log scale ROAS of 0 cannot be drawn and is left out."""
        frame = self.monthly_channel_sums()
        months = (pd.DatetimeIndex([], name="month") if frame.empty else
                  pd.date_range(frame["month"].min(), frame["month"].max(), freq="MS", name="month"))
        paid = frame.groupby("channel")["spend"].sum().loc[lambda s: s > 0].index
        grid = (frame[frame["channel"].isin(paid)].set_index(["month", "channel"])
                .reindex(pd.MultiIndex.from_product([months, paid], names=["month", "channel"])).reset_index())
        if self.roas_scale == "log":
            grid.loc[grid["roas"] <= 0, "roas"] = np.nan
        return grid.sort_values(["channel", "month"], ignore_index=True)

    @param.depends(*FILTER_DEPS, "roas_scale")
    def plot_roas_trend(self) -> hv.Overlay:
        """7c. Monthly ROAS by channel with the break-even line at ROAS = 1."""
        frame = with_hover_text(self.roas_trend())
        frame["month_text"] = [f"{m:%b %Y}" for m in frame["month"]]
        # One curve per channel that ever spent, hidden when the filters leave it out (the layers stay).
        log = self.roas_scale == "log"
        values = frame["roas"].dropna()
        top = max(float(values.max()) if len(values) else 1.0, 1.0)
        # The break-even line must stay in view whatever the data's range. (A dimension range, not ylim: an
        # in-place update keeps the plot options of the first frame.)
        roas = hv.Dimension("roas", label="ROAS (×)", range=(
            min(0.8, float(values.min()) * 0.8) if len(values) else 0.8, top * 1.3) if log else (0, top * 1.05))
        curves = [
            hv.Curve(group, "month", [roas, "channel", "month_text", "roas_text", "revenue_text", "spend_text"],
                     label=channel).opts(
                color=self.colors["channel"].get(channel, "#888888"), line_width=2, tools=["hover"],
                visible=not group.empty, hover_tooltips=tooltips("roas", "revenue", "spend", first=CHANNEL_TIP)
                + [("Month", "@{month_text}")])
            for channel in self.paid_channels
            for group in [frame[frame["channel"] == channel]]
        ]
        breakeven = hv.HLine(1.0).opts(color=BAD, line_dash="dashed", line_width=2)
        return hv.Overlay([*curves, breakeven]).opts(
            responsive=True, height=360, toolbar="above", legend_position="right", xlabel="Month",
            logy=log, title="Monthly ROAS by channel (dashed: break-even, ROAS = 1)")

    @param.depends(*FILTER_DEPS)
    def plot_leaderboard(self) -> hv.Overlay:
        """8. Campaigns ranked by ROAS with the median of all; campaigns without spend are not plotted. With more
        than 2 × LEADERBOARD_END campaigns only the best and the worst LEADERBOARD_END are drawn."""
        shown, median, ranked = ci.leaderboard_rows(self.campaign_metrics(), self.LEADERBOARD_END)
        frame = category_slot(with_hover_text(shown.iloc[::-1].reset_index(drop=True)), label="no campaign with spend",
                              roas=0.0, rank=0)
        frame["standing"] = np.where(frame["roas"] > median, "above median", "at or below median")
        frame["rank_text"] = [f"{count(r)} of {count(ranked)}" for r in frame["rank"]]
        bars = hv.Bars(frame, kdims=[hv.Dimension("label", label="Campaign")],
                       vdims=[hv.Dimension("roas", label="ROAS (×)"), "standing", "campaign_id", "channel",
                              "rank_text", "roas_text", "revenue_text", "spend_text"])
        bars = bars.opts(invert_axes=True, color="standing", cmap={"above median": GOOD, "at or below median": BAD},
                         show_legend=False, tools=["hover"], yaxis="left", fontsize={"yticks": "7pt"},
                         hover_tooltips=[("Campaign", "@{label}"), ("ID", "@{campaign_id}"), ("Channel", "@{channel}"),
                                         ("Rank by ROAS", "@{rank_text}")] + tooltips("roas", "revenue", "spend"))
        # Drawn in the bars' inverted frame, so the horizontal line becomes a vertical marker at the median.
        marker = [hv.HLine(median if np.isfinite(median) else 0.0).opts(
            color="#888888", line_dash="dashed", line_width=2, alpha=1.0 if np.isfinite(median) else 0.0)]
        return hv.Overlay([bars, *marker]).opts(
            responsive=True, height=max(320, 16 * len(frame) + 90), toolbar="above",
            title=f"Campaign ROAS against the median ({ratio(median)})" if len(shown) == ranked else
            f"Best {self.LEADERBOARD_END} and worst {self.LEADERBOARD_END} of {count(ranked)} campaigns by ROAS "
            f"(dashed: median of all, {ratio(median)})")

    @param.depends(*FILTER_DEPS, "month")
    def plot_month_bubbles(self) -> hv.Element:
        """Animated: spend against revenue per channel in one month, bubble size = conversions."""
        frame = with_hover_text(self.month_channels())
        every_month = self.monthly_channel_sums()
        peak_conv = max(float(every_month["conversions"].max()), 1.0) if len(every_month) else 1.0
        frame["size"] = 8 + 40 * np.sqrt(frame["conversions"].to_numpy(dtype=float) / peak_conv)
        xmax = float(every_month["spend"].max()) if len(every_month) else 1.0
        ymax = float(every_month["revenue"].max()) if len(every_month) else 1.0
        # The axes span every month of the selection, so the bubbles move between months and the axes do not.
        # (Dimension ranges, not xlim/ylim: an in-place update keeps the plot options of the first frame.)
        spend = hv.Dimension("spend", label="Spend", range=(-0.03 * xmax, 1.1 * max(xmax, 1.0)))
        revenue = hv.Dimension("revenue", label="Revenue", range=(-0.03 * ymax, 1.1 * max(ymax, 1.0)))
        points = hv.Scatter(frame, kdims=[spend], vdims=[revenue, "channel", "size", "spend_text", "revenue_text",
                                                         "conversions_text", "roas_text"])
        return house_opts(points, color="channel", cmap=self.colors["channel"], size="size", alpha=0.8,
                          line_color="white", legend_position="right",
                          xformatter=rupee_ticks(), yformatter=rupee_ticks(),
                          hover_tooltips=tooltips("spend", "revenue", "conversions", "roas", first=CHANNEL_TIP),
                          title=f"Channels in {pd.Timestamp(self.month):%b %Y}: spend, revenue, conversions (size)")

    def unavailable(self) -> str:
        return super().unavailable() or ("" if self.date_bounds else NO_DATES.format(views="the campaign views"))

    def chart_objects(self) -> list[hv.Element]:
        """Every chart of the section as it is now (for the HTML download)."""
        return [self.plot_channels(), self.plot_region_quarter(), self.plot_monthly_spend(),
                self.plot_revenue_trend(), self.plot_cumulative(), self.plot_calendar(), self.plot_cpa_roas(),
                self.plot_roas_trend(), self.plot_leaderboard(), self.plot_month_bubbles()]

    # -- insights --------------------------------------------------------------------------------
    @param.depends(*FILTER_DEPS, "channel_metric")
    def insight_channels(self) -> str:
        return ci.channel_ranking(self.channel_metrics(), CHANNEL_METRICS[self.channel_metric])

    @param.depends(*FILTER_DEPS, "year")
    def insight_region_quarter(self) -> str:
        quarters, whole_year = self.selected_quarters()
        return ci.region_quarter_summary(self.region_quarter_revenue(), self.year, quarters, whole_year)

    def selected_quarters(self) -> tuple[tuple[str, ...], bool]:
        """The quarters of the region × quarter year that the date selection (within the data's dates) covers,
        and whether it covers all of that year the data has."""
        first, last = self.date_bounds
        lo, hi = self.date_range or self.date_bounds
        lo, hi = max(lo, first), min(hi, last)
        starts = [dt.date(self.year, month, 1) for month in (1, 4, 7, 10)] + [dt.date(self.year + 1, 1, 1)]
        quarters = tuple(f"Q{q + 1}" for q in range(4) if starts[q] <= hi and lo < starts[q + 1])
        whole = lo <= max(starts[0], first) and hi >= min(starts[4] - dt.timedelta(days=1), last)
        return quarters, whole

    @param.depends(*FILTER_DEPS)
    def insight_monthly_spend(self) -> str:
        return ci.spend_mix_summary(self.monthly_spend())

    @param.depends(*FILTER_DEPS, "trend_grain", "trend_range", "trend_channels")
    def insight_revenue_trend(self) -> str:
        state = self._trend_state()
        return ci.revenue_trend_summary(self.revenue_trend(), self.trend_grain, *(
            (state.start, state.end) if state else (None, None)))

    @param.depends(*FILTER_DEPS, "cumulative_regions")
    def insight_cumulative(self) -> str:
        return ci.cumulative_conversions_summary(self.cumulative_conversions())

    @param.depends(*FILTER_DEPS, "calendar_year", "calendar_metric")
    def insight_calendar(self) -> str:
        return ci.calendar_summary(self.calendar_days(), CALENDAR_METRICS[self.calendar_metric], self.calendar_year)

    @param.depends(*FILTER_DEPS)
    def insight_channel_table(self) -> str:
        return ci.channel_efficiency_summary(self.channel_metrics())

    @param.depends(*FILTER_DEPS)
    def insight_cpa_roas(self) -> str:
        return ci.cpa_roas_summary(self.channel_metrics())

    @param.depends(*FILTER_DEPS)
    def insight_roas_trend(self) -> str:
        return ci.roas_trend_summary(self.monthly_channel_sums())

    @param.depends(*FILTER_DEPS)
    def insight_leaderboard(self) -> str:
        return ci.leaderboard_summary(self.campaign_metrics())

    @param.depends(*FILTER_DEPS, "month")
    def insight_month(self) -> str:
        return ci.month_channels_summary(self.month_channels(), self.month)

    # -- table -----------------------------------------------------------------------------------
    @param.depends(*FILTER_DEPS)
    @memoized
    def channel_table(self) -> pd.DataFrame:
        """The channel metrics as the table shows them: money in one unit per column, rates as fractions."""
        frame = self.channel_metrics()
        shown = pd.DataFrame(index=frame.index)
        for column, (title, kind) in TABLE_COLUMNS.items():
            if kind == "money":
                divisor, unit = money_unit(frame[column])
                shown[f"{title} ({unit})"] = frame[column] / divisor
            else:
                shown[title] = frame[column]
        return shown

    def _table_formatters(self) -> dict:
        two = dict(format="0,0.00", nan_format="n/a", null_format="n/a")
        formatters = {}
        for title, kind in TABLE_COLUMNS.values():
            if kind == "money":
                for unit in ("₹ Cr", "₹ L"):
                    formatters[f"{title} ({unit})"] = NumberFormatter(**two)
                formatters[f"{title} (₹)"] = NumberFormatter(format="0,0", nan_format="n/a", null_format="n/a")
            elif kind == "count":
                formatters[title] = NumberFormatter(format="0,0", nan_format="n/a", null_format="n/a")
            elif kind == "percent":
                formatters[title] = NumberFormatter(format="0.00%", nan_format="n/a", null_format="n/a")
            elif kind in ("unit_money", "ratio"):
                formatters[title] = NumberFormatter(**two)
        return formatters

    # -- page ------------------------------------------------------------------------------------
    def export_frame(self) -> pd.DataFrame:
        """The campaign rows under the global filters (contract columns, file order)."""
        return campaign_rows(self.store, self._state())

    def layout(self) -> pn.viewable.Viewable:
        description = ("Where the marketing money goes and what it earns: by channel, region, campaign type, "
                       "day and campaign. Hover any chart for the numbers; each chart's toolbar saves it as PNG.")
        header = section_header(self, description)
        header.append(html_download(self.chart_objects, "novamart_campaigns_charts.html"))
        return pn.Column(header, *self._top_cards(), self.cards_later(self._cards_below), sizing_mode="stretch_width")

    def _top_cards(self) -> list[pn.Card]:
        """The first screen's views: the channel comparison and revenue by region and quarter."""
        views = [
            ("1. Revenue, conversions or ROAS by channel", [self.widget("channel_metric", pn.widgets.RadioButtonGroup,
                                                                  name="Metric")],
             chart(self.plot_channels, height=340), self.insight_channels),
            ("2. Revenue by region and quarter", [self.widget("year", pn.widgets.RadioButtonGroup, name="Year")],
             chart(self.plot_region_quarter), self.insight_region_quarter),
        ]
        return [view_card(*view) for view in views]

    def _cards_below(self) -> list[pn.Card]:
        """The views below the first screen: spend, trends, the calendar, the channel table, the leaderboard."""
        channel_table = data_table(
            self.channel_table, formatters=self._table_formatters(), show_index=False, disabled=True,
            layout="fit_columns", sizing_mode="stretch_width", header_align="center",
            configuration={"columnDefaults": {"headerWordWrap": True}},
            widths={"Channel": 135, "Impressions": 125, "Clicks": 105, "Conversions": 115},
            stylesheets=[":host .tabulator { font-size: 0.9em; }"],
            text_align={"Channel": "left", **{name: "right" for name in self._table_formatters()}})
        views = [
            ("3. Monthly spend by campaign type", [self.widget("spend_mode", pn.widgets.RadioButtonGroup, name="Stacking")],
             chart(self.plot_monthly_spend), self.insight_monthly_spend),
            ("4. Revenue trend", [self.widget("trend_grain", pn.widgets.RadioButtonGroup, name="Aggregation"),
                                  self.widget("trend_range", pn.widgets.DateRangeSlider, name="Dates", format="%d %b %Y"),
                                  self.widget("trend_channels", TextMultiChoice, name="Channels",
                                         placeholder="All channels"),
                                  markdown(INTERSECTION_NOTE)],
             chart(self.plot_revenue_trend), self.insight_revenue_trend),
            ("5. Cumulative conversions by channel", [self.widget("cumulative_regions", TextMultiChoice,
                                                            name="Regions", placeholder="All regions"),
                                                     markdown(INTERSECTION_NOTE)],
             chart(self.plot_cumulative), self.insight_cumulative),
            ("6. Calendar heatmap", [self.widget("calendar_year", pn.widgets.RadioButtonGroup, name="Year"),
                                     self.widget("calendar_metric", name="Metric")],
             chart(self.plot_calendar, height=260), self.insight_calendar),
            ("7. Channel metrics (click a column to sort)",
             [csv_download(self.channel_metrics, "novamart_channel_metrics.csv", "Download table (CSV)")],
             channel_table, self.insight_channel_table, True),
            ("7b. CPA vs ROAS", [], chart(self.plot_cpa_roas), self.insight_cpa_roas),
            ("7c. ROAS trend by channel", [self.widget("roas_scale", pn.widgets.RadioButtonGroup, name="Scale")],
             chart(self.plot_roas_trend, rebuild_on=("roas_scale",)), self.insight_roas_trend),
            ("8. Campaign leaderboard", [], chart(self.plot_leaderboard, height=700), self.insight_leaderboard),
            ("Month by month: channel spend and revenue (press play)",
             [pn.widgets.DiscretePlayer.from_param(self.param.month, name="Month", interval=900, loop_policy="once",
                                                   show_loop_controls=False, sizing_mode="stretch_width")],
             chart(self.plot_month_bubbles), self.insight_month),
        ]
        return [view_card(*view) for view in views]


def _as_date(value) -> dt.date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, dt.datetime) else value


def _pixel_offset_labels(plot, element) -> None:
    """Plot hook: shift each label by its `dx`/`dy` screen pixels (HoloViews leaves extra label dimensions out
    of the data source, so the hook adds them)."""
    source = plot.handles["source"]
    source.data["dx"] = element.dimension_values("dx")
    source.data["dy"] = element.dimension_values("dy")
    plot.handles["glyph"].x_offset = {"field": "dx"}
    plot.handles["glyph"].y_offset = {"field": "dy"}
