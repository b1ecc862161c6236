"""Executive overview (SPEC §4.1): KPI cards against an earlier period, revenue trend, channel
comparison, automatic alerts on unusual days, and the headline insights.

The KPI cards show the last 90 days of the selected dates by default, against the 90 days before (or the
same days a year earlier), so a leader sees a change on first opening; one click ("All selected dates")
shows the whole range of the date filter, which stays the sidebar's (and the URL's) to set.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param

from ..analytics import insights
from ..analytics.anomalies import detect_anomalies, mask_unjudgeable_days, rank_by_impact
from ..analytics.metrics import add_ratios, is_improvement, relative_change
from ..data.customer_queries import customer_count
from ..data.queries import (FilterState, campaign_sums_by, campaign_sums_over_time, campaign_totals,
                            daily_campaign_activity, last_campaign_day, revenue_trend)
from ..format import change, count, percent, ratio, rupees
from .base import (FILTER_DEPS, Section, card, category_slot, chart, data_table, house_opts, html, html_download,
                   insight, kpi_card, markdown, memoized, rupee_ticks, section_header)
from .campaigns import NO_DATES

# KPI cards from campaign sums: name → (label, formatter).
CAMPAIGN_KPIS = {
    "revenue": ("Revenue", rupees),
    "spend": ("Spend", rupees),
    "conversions": ("Conversions", count),
    "roas": ("ROAS", ratio),
    "cpa": ("CPA", rupees),
}
# Spending more is neither good nor bad news by itself.
NEUTRAL_KPIS = ("spend",)
ANOMALY_TABLE_COLUMNS = ("date", "metric", "value", "expected", "impact", "size", "direction")
ANOMALY_TITLES = {"date": "Date", "metric": "Metric", "value": "Value", "expected": "Expected",
                  "impact": "At stake (₹)", "size": "Size (|z|)", "direction": "Direction"}
KPI_DAYS = 90
# The KPI cards' window, and what it is compared with (label → value; the values go in the URL).
KPI_PERIODS = {f"Last {KPI_DAYS} days": "last", "All selected dates": "all"}
COMPARISONS = {"Previous period": "previous", "Same period last year": "year", "No comparison": "none"}
KPI_COLUMNS = ("kpi", "label", "value", "previous", "change", "good", "value_text", "change_text", "caption")

NO_DATA = "No campaign data under these filters: widen the date range or clear a filter."
COLOURS = {"revenue": "#4c9be8", "ma7": "#f28e2b", "ma30": "#59a14f", "alert": "#d73027"}


class OverviewSection(Section):
    """Executive overview: how the business is doing under the filters, and what changed."""

    title = "Executive overview"
    slug = "overview"
    tables = ("campaigns",)
    also_reads = ('customers',)
    spec_section = "4.1"
    first_screen = 4   # header, KPI controls, KPI cards, and the row of top insights and the channel chart
    # The KPI cards (HTML, drawn at once) and the channel chart in one message: waiting for the cards' message to
    # be written before computing the chart made the chart's update 90 ms later than the cards'.
    first_step_figures = 2

    threshold = param.Number(default=3.5, bounds=(2.0, 8.0), step=0.5,
                             doc="Robust z-score above which a day counts as unusual")
    kpi_period = param.Selector(default="last", objects=KPI_PERIODS, label="KPI period",
                                doc="The last 90 days of the selected dates, or all of them")
    comparison = param.Selector(default="previous", objects=COMPARISONS, label="Compare with",
                                doc="The period the KPI changes are measured against")

    def unavailable(self) -> str:
        if super().unavailable() or self.data_bounds():
            return super().unavailable()
        return NO_DATES.format(views="the overview's KPIs, trend and alerts")

    # -- periods --------------------------------------------------------------------------------
    def data_bounds(self):
        return self.filters.full_range

    @param.depends(*FILTER_DEPS)
    @memoized
    def selected_dates(self) -> tuple[dt.date, dt.date] | None:
        """The selected dates within the data (None without data dates)."""
        state, bounds = self.filter_state(), self.data_bounds()
        if not bounds:
            return None
        return max(state.start or bounds[0], bounds[0]), min(state.end or bounds[1], bounds[1])

    @param.depends(*FILTER_DEPS)
    @memoized
    def selection_last_day(self) -> dt.date | None:
        """The last selected day on which the selection has campaign rows (None when it has none)."""
        dates = self.selected_dates()
        if dates is None:
            return None
        return last_campaign_day(self.store, replace(self.filter_state(), start=dates[0], end=dates[1]))

    @param.depends(*FILTER_DEPS, "kpi_period")
    @memoized
    def kpi_state(self) -> FilterState:
        """The KPI cards' window: the selected dates within the data, ending on the selection's last day with
        campaign rows (a series that stops early is not read past its end), cut to their last KPI_DAYS days
        unless `kpi_period` asks for all of them."""
        state = self.filter_state()
        dates = self.selected_dates()
        if dates is None:
            return state
        start, end = dates
        end = min(end, self.selection_last_day() or end)
        if self.kpi_period == "last" and start <= end:
            start = max(start, end - dt.timedelta(days=KPI_DAYS - 1))
        return replace(state, start=start, end=end)

    @param.depends(*FILTER_DEPS, "kpi_period", "comparison")
    @memoized
    def previous_state(self) -> tuple[FilterState | None, str]:
        """The period the KPI window is compared with (the one before it of equal length, or the same days a
        year earlier), or None with the reason it cannot be compared."""
        state = self.kpi_state()
        bounds = self.data_bounds()
        if self.comparison == "none":
            return None, "no comparison chosen"
        if not (bounds and state.start and state.end) or state.start > state.end:
            return None, "no earlier data"
        if self.comparison == "year":
            previous = replace(state, start=insights.year_ago(state.start).date(),
                               end=insights.year_ago(state.end).date())
        else:
            previous = state.previous_period()
        if previous.end < bounds[0]:
            return None, "no earlier data"
        if previous.start < bounds[0]:
            return None, "earlier data incomplete"
        return previous, f"vs {insights.day(previous.start)} – {insights.day(previous.end)}"

    @param.depends(*FILTER_DEPS, "kpi_period", "comparison")
    def kpi_note(self) -> str:
        """What the cards show: their window and what it is compared with."""
        state = self.kpi_state()
        if not (state.start and state.end) or state.start > state.end:
            return "No campaign dates under the date filter."
        days = insights.window_days(state.start, state.end)
        text = f"**{insights.day(state.start)} – {insights.day(state.end)}** ({count(days)} days)"
        previous, reason = self.previous_state()
        if previous is None:
            text += f": no change shown ({reason})."
        else:
            against = ("the same days a year earlier" if self.comparison == "year" else
                       f"the {count(days)} days before")
            text += f" against {against}, {insights.day(previous.start)} – {insights.day(previous.end)}."
        if state.end < self.selected_dates()[1]:
            text += (f" The selection has no campaign rows after {insights.day(state.end)}: the cards end on its "
                     "last day.")
        return text

    def window_days(self) -> int:
        """Days in the date window (the whole data range when the filter is open)."""
        state = self.filter_state()
        bounds = self.data_bounds() or (None, None)
        return insights.window_days(state.start or bounds[0], state.end or bounds[1])

    # -- data -----------------------------------------------------------------------------------
    @param.depends(*FILTER_DEPS, "kpi_period", "comparison")
    @memoized
    def kpis(self) -> pd.DataFrame:
        """One row per KPI card: value, previous value, relative change and whether it is good news."""
        current = _campaign_kpis(self.store, self.kpi_state())
        previous_state, caption = self.previous_state()
        previous = _campaign_kpis(self.store, previous_state) if previous_state else {}
        rows = []
        for name, (label, fmt) in CAMPAIGN_KPIS.items():
            before = previous.get(name, np.nan)
            delta = float(relative_change(current[name], before)) if previous_state else np.nan
            good = None if name in NEUTRAL_KPIS else is_improvement(name, delta)
            rows.append((name, label, current[name], before, delta, good, fmt(current[name]),
                         change(delta), caption))
        customers, customer_caption = self.customer_count()
        rows.append(("customers", "Customers", customers, np.nan, np.nan, None, count(customers), "",
                     customer_caption))
        return pd.DataFrame(rows, columns=list(KPI_COLUMNS))

    @param.depends("regions")
    @memoized
    def customer_count(self) -> tuple[float, str]:
        """Customers in customer_data.csv under the region filter (the file has no dates or channels)."""
        if not self.store.has("customers"):
            return np.nan, "customer_data.csv is not loaded"
        state = self.filter_state()
        value = float(customer_count(self.store, state))
        scope = ", ".join(state.regions) if state.regions else "all regions"
        return value, f"customer file, {scope}; it has no dates or channels: no period change"

    @param.depends(*FILTER_DEPS)
    @memoized
    def daily_metrics(self) -> pd.DataFrame:
        """Daily sums and ratios under all the filters (days with campaign rows only)."""
        return _daily(self.store, self.filter_state())

    @param.depends(*FILTER_DEPS)
    @memoized
    def revenue_trend(self) -> pd.DataFrame:
        """Daily revenue (0 on days without campaign rows) with 7- and 30-day moving averages."""
        frame = revenue_trend(self.store, self.filter_state())
        return frame.assign(date=pd.to_datetime(frame["date"]))

    @param.depends(*FILTER_DEPS)
    @memoized
    def channel_revenue(self) -> pd.DataFrame:
        """Sums and ratios by channel with each channel's revenue share, largest revenue first."""
        frame = add_ratios(campaign_sums_by(self.store, self.filter_state(), "channel"))
        total = frame["revenue"].sum()
        frame["share"] = frame["revenue"] / total if total > 0 else np.nan
        return frame.sort_values("revenue", ascending=False, ignore_index=True)

    @param.depends(*FILTER_DEPS)
    @memoized
    def daily_history(self) -> pd.DataFrame:
        """Daily sums and ratios under the filters other than dates (days with campaign rows only): the
        history that alerts are scored against and the trend sentence compares with."""
        return _daily(self.store, replace(self.filter_state(), start=None, end=None))

    @param.depends(*FILTER_DEPS)
    @memoized
    def campaign_activity(self) -> pd.DataFrame:
        """Campaigns (and paid-channel campaigns) live each day under the filters other than dates."""
        return daily_campaign_activity(self.store, replace(self.filter_state(), start=None, end=None))

    @param.depends(*FILTER_DEPS)
    @memoized
    def history_with_activity(self) -> pd.DataFrame:
        """`daily_history` with the campaigns (and paid campaigns) live each day."""
        return self.daily_history().merge(self.campaign_activity(), on="date", how="left")

    @param.depends(*FILTER_DEPS, "threshold")
    @memoized
    def anomalies(self) -> pd.DataFrame:
        """Unusual days inside the date window, scored against the whole history under the other filters,
        leaving out days no one can judge (see `mask_unjudgeable_days`); the most money at stake first."""
        state = self.filter_state()
        history = self.daily_history()
        judged = mask_unjudgeable_days(self.history_with_activity())
        found = detect_anomalies(judged, list(insights.OVERVIEW_METRICS), threshold=self.threshold)
        inside = found["date"].between(pd.Timestamp(state.start or found["date"].min()),
                                       pd.Timestamp(state.end or found["date"].max()))
        return rank_by_impact(found[inside].reset_index(drop=True), history)

    @param.depends(*FILTER_DEPS, "threshold")
    @memoized
    def anomaly_table(self) -> pd.DataFrame:
        """The alerts as the table shows them: the most money at stake first, values in their units."""
        found = self.anomalies()
        labels = {m: label for m, (label, _) in insights.OVERVIEW_METRICS.items()}
        return pd.DataFrame({
            "date": found["date"].dt.date,
            "metric": found["metric"].map(labels),
            "value": [insights.format_metric(m, v) for m, v in zip(found["metric"], found["value"])],
            "expected": [insights.format_metric(m, v) for m, v in zip(found["metric"], found["expected"])],
            "impact": found["impact"].map(rupees),
            "size": found["robust_z"].abs().round(1),
            "direction": np.where(found["robust_z"] > 0, "▲ above", "▼ below"),
        }, columns=list(ANOMALY_TABLE_COLUMNS))

    @param.depends(*FILTER_DEPS, "threshold", "kpi_period", "comparison")
    def insight_list(self) -> list[str]:
        """The headline sentences for this selection."""
        previous_state, _ = self.previous_state()
        period_change = None
        if previous_state is not None:
            state = self.kpi_state()
            days = insights.window_days(state.start, state.end)
            against = ("the same days a year earlier" if self.comparison == "year"
                       else f"the previous {count(days)} days")
            period_change = insights.revenue_change(campaign_sums_by(self.store, state, "channel"),
                                                    campaign_sums_by(self.store, previous_state, "channel"),
                                                    days, against)
        return insights.top_insights(self.channel_revenue(), self.window_days(), self.revenue_trend(),
                                     self.anomalies(), period_change)

    def chart_objects(self) -> list[hv.Element]:
        """The section's charts as they are now (for the HTML download)."""
        return [self.plot_trend(), self.plot_channels()]

    def export_frame(self) -> pd.DataFrame:
        """Daily metrics by channel under the filters."""
        frame = campaign_sums_over_time(self.store, self.filter_state(), "daily", by="channel")
        return add_ratios(frame.rename(columns={"period": "date"}))

    # -- views ----------------------------------------------------------------------------------
    @param.depends(*FILTER_DEPS, "kpi_period", "comparison")
    def kpi_html(self) -> str:
        cards = "".join(kpi_card(row.label, row.value_text, row.change_text, row.good, row.caption)
                        for row in self.kpis().itertuples())
        return f'<div style="display:flex;flex-wrap:wrap;gap:12px">{cards}</div>'

    @param.depends(*FILTER_DEPS, "threshold")
    def plot_trend(self) -> hv.Overlay:
        trend = self.revenue_trend()
        shown = trend.assign(**{f"{c}_text": trend[c].map(rupees) for c in ("revenue", "ma7", "ma30")})
        vdims = ["revenue_text", "ma7_text", "ma30_text"]
        tooltips = [("Date", "@{date}{%d %b %Y}"), ("Revenue", "@{revenue_text}"), ("7-day avg", "@{ma7_text}"),
                    ("30-day avg", "@{ma30_text}")]
        # One tooltip per day (on the daily curve, following the mouse along x) lists all three values.
        daily = house_opts(hv.Curve(shown, "date", ["revenue", *vdims], label="Daily revenue"),
                           color=COLOURS["revenue"], line_width=1, alpha=0.55, hover_mode="vline",
                           hover_tooltips=tooltips, hover_formatters={"@{date}": "datetime"})
        week = house_opts(hv.Curve(shown, "date", "ma7", label="7-day average"), tools=[],
                          color=COLOURS["ma7"], line_width=2)
        month = house_opts(hv.Curve(shown, "date", "ma30", label="30-day average"), tools=[],
                           color=COLOURS["ma30"], line_width=3)
        alerts = house_opts(hv.Scatter(self._alert_points(trend), "date", ["revenue", "revenue_text", "unusual"],
                                       label="Unusual day"),
                            color=COLOURS["alert"], marker="triangle", size=10, hover_tooltips=[
                                ("Date", "@{date}{%d %b %Y}"), ("Revenue", "@{revenue_text}"),
                                ("Unusual", "@{unusual}")], hover_formatters={"@{date}": "datetime"})
        overlay = hv.Overlay([daily, week, month, alerts])
        return overlay.opts(responsive=True, height=380, legend_position="top_left", xlabel="",
                            ylabel="Revenue", yformatter=rupee_ticks(), title="Daily revenue")

    def _alert_points(self, trend: pd.DataFrame) -> pd.DataFrame:
        """One marker per unusual day at that day's revenue, naming the metrics that were unusual."""
        found = self.anomalies()
        labels = {m: label for m, (label, _) in insights.OVERVIEW_METRICS.items()}
        marks = (found.assign(mark=found["metric"].map(labels) + np.where(found["robust_z"] > 0, " ▲", " ▼"))
                 .groupby("date")["mark"].agg(", ".join).rename("unusual").reset_index())
        points = marks.merge(trend[["date", "revenue"]], on="date", how="inner")
        return points.assign(revenue_text=points["revenue"].map(rupees))[["date", "revenue", "revenue_text",
                                                                         "unusual"]]

    @param.depends(*FILTER_DEPS)
    def plot_channels(self) -> hv.Bars:
        by_channel = self.channel_revenue().iloc[::-1]   # Bokeh lists categories bottom-up: largest on top
        shown = by_channel.assign(revenue_text=by_channel["revenue"].map(rupees),
                                  spend_text=by_channel["spend"].map(rupees),
                                  roas_text=by_channel["roas"].map(ratio),
                                  share_text=by_channel["share"].map(percent))
        shown = category_slot(shown, channel="no data", revenue=0.0)
        bars = hv.Bars(shown, "channel", ["revenue", "revenue_text", "spend_text", "roas_text", "share_text"])
        # With inverted axes the formatter names the screen axis: revenue runs along x.
        return house_opts(bars, invert_axes=True, color="channel", cmap=self.colours("channel"), show_legend=False,
                          xlabel="", ylabel="Revenue",
                          xformatter=rupee_ticks(), title="Revenue by channel", height=360, hover_tooltips=[
                              ("Channel", "@{channel}"), ("Revenue", "@{revenue_text}"), ("Share", "@{share_text}"),
                              ("Spend", "@{spend_text}"), ("ROAS", "@{roas_text}")])

    @param.depends(*FILTER_DEPS, "threshold", "kpi_period", "comparison")
    def insight_top(self) -> str:
        sentences = self.insight_list()
        return "\n".join(f"- {s}" for s in sentences) or NO_DATA

    @param.depends(*FILTER_DEPS)
    def insight_trend(self) -> str:
        trend = self.revenue_trend()
        if not trend["revenue"].sum() > 0:
            return NO_DATA
        state = self.filter_state()
        bounds = self.data_bounds() or (trend["date"].min(), trend["date"].max())
        return insights.trend_comparison(self.history_with_activity(), state.start or bounds[0], state.end or bounds[1],
                                         KPI_DAYS) or NO_DATA

    @param.depends(*FILTER_DEPS)
    def insight_channels(self) -> str:
        by_channel = self.channel_revenue()
        return " ".join(s for s in (insights.channel_concentration(by_channel) or
                                    insights.top_revenue_channel(by_channel),
                                    insights.roas_extremes(by_channel)) if s) or NO_DATA

    @param.depends(*FILTER_DEPS, "threshold")
    def insight_alerts(self) -> str:
        if self.daily_metrics().empty:
            return NO_DATA
        return (insights.anomaly_summary(self.anomalies(), self.window_days()) +
                f" A day is unusual when its robust z-score exceeds {self.threshold:g} after removing the "
                "rolling-median trend and the weekday pattern (relative, on a log scale).")

    def layout(self) -> pn.viewable.Viewable:
        kpi_controls = pn.Row(
            pn.widgets.RadioButtonGroup.from_param(self.param.kpi_period, name="KPI period", width=300,
                                                   css_classes=["kpi-period"]),
            pn.widgets.RadioButtonGroup.from_param(self.param.comparison, name="Compare with", width=420,
                                                   css_classes=["kpi-comparison"]),
            markdown(self.kpi_note, css_classes=["kpi-note"], align="center"), sizing_mode="stretch_width")

        header = section_header(self, "How revenue, spend and returns are moving under the filters: the last 90 "
                                      "days against the 90 days before (or a year earlier, or all the selected "
                                      "dates); unusual days; the channels behind it.")
        header.append(html_download(self.chart_objects, "novamart_overview_charts.html"))
        # The landing page: its first screen is on every new session's path to the first chart.
        below = self.cards_later(self._cards_below)
        return pn.Column(
            header,
            kpi_controls,
            html(self.kpi_html, sizing_mode="stretch_width"),
            pn.Row(
                card("Top insights", markdown(self.insight_top)),
                card("Channel comparison", chart(self.plot_channels), insight(self.insight_channels)),
                sizing_mode="stretch_width",
            ),
            below,
            sizing_mode="stretch_width",
        )

    def _cards_below(self) -> list[pn.Card]:
        """The views below the first screen: the revenue trend and the unusual days."""
        threshold = pn.widgets.FloatSlider.from_param(self.param.threshold, name="Alert threshold (|z|)",
                                                      width=260)
        alerts = data_table(self.anomaly_table, show_index=False, pagination="local", page_size=8,
                            disabled=True, sizing_mode="stretch_width", layout="fit_columns",
                            titles=ANOMALY_TITLES)
        return [card("Revenue trend", chart(self.plot_trend), insight(self.insight_trend)),
                card("Alerts: unusual days", threshold, alerts, insight(self.insight_alerts))]


def _campaign_kpis(store, state: FilterState) -> dict[str, float]:
    sums = campaign_totals(store, state, campaigns=False)
    return {k: float(v) for k, v in add_ratios(pd.DataFrame([sums])).iloc[0].items()}


def _daily(store, state: FilterState) -> pd.DataFrame:
    frame = campaign_sums_over_time(store, state, "daily").rename(columns={"period": "date"})
    return add_ratios(frame.assign(date=pd.to_datetime(frame["date"])))
