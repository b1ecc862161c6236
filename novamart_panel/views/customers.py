"""Customer insights (SPEC §4.3): who the customers are, what they are worth, how satisfied they are,
which channels convert, where they live and who is about to leave.

Every aggregate is computed in the data layer (`data/customer_queries.py`, DuckDB). Views that draw individual
customers stay responsive at a million rows: the LTV points and the violins draw a fixed pseudo-random sample
(the same customers every time), and the income–LTV scatter is rasterised with datashader whenever more than
`RASTER_THRESHOLD` customers are in view, from their numbers alone; the details of the points in view come
from DuckDB once at most that many are (datashader is optional: the WebAssembly page has none and draws points).

Global filters: customer data has a region column only, so the region filter narrows every customer
view; the channel bubble chart reads campaign data, which the date, region and campaign-type filters
narrow, and a click on a bubble sets the global channel filter for the campaign views.
"""
from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import io
import threading
from typing import ClassVar

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the backend the options below are for)
import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.embed import file_html
from bokeh.layouts import column
from bokeh.models import CustomJSHover
from bokeh.resources import INLINE

from .. import palette
from ..analytics import customer_insights as cx
from ..analytics.metrics import add_ratios
from ..data import customer_queries as cq
from ..data.contract import FILTER_COLUMNS, SEGMENTS
from ..data.queries import FilterState, campaign_sums_by, distinct_values
from ..format import count, percent, ratio, rupees
from .base import (FILTER_DEPS, Section, TextMultiChoice, category_slot, chart, csv_download, data_table, follow_map,
                   holoviews_pane, house_opts, html, markdown, memoized, notice, numeral_ticks, rupee_ticks,
                   section_header, view_card)
from .sunburst import Sunburst

# The app's segment colours (novamart_panel.palette: Paul Tol's colour-blind-safe schemes).
SEGMENT_COLORS = dict(palette.SEGMENTS)
WHISKER_GREY, POINT_GREY = "#888888", "#7f7f7f"   # the box plot's whiskers and sampled customers
ALL_CUSTOMERS = "All customers"
ALL_CHANNELS = "All channels (grouped)"
OTHER_CHANNELS = "Other channels"
TREND_LINES = ("Off", "Overall", "Per segment")
HIERARCHY = ["region", "city_tier", "customer_segment"]
SATISFACTION_BIN = 0.25
CHURN_BINS = 20            # churn probability histogram: 20 bins of 0.05
BAND = (25, 40)            # the age band the age insight reports
TOP_VALUE_CHECK = 0.10     # "x Budget customers reach the top 10 % by LTV"
LOW_VALUE_SEGMENT = "Budget"
MIN_BUBBLE, MAX_BUBBLE = 14, 64   # bubble diameters (px); zero-spend channels get the minimum
CHART_HEIGHT = 380
TIER_MIX_MIN_WIDTH = 340   # narrower than this, the segment-mix bars go below the sunburst
# Customer data has a region column only, so the other global filters never change the customer views.
CUSTOMER_DEPS = tuple(name for name, tables in FILTER_COLUMNS.items() if "customers" in tables)

# Rupees in Indian units in the browser (hover of individual customers), as `format.rupees` writes them.
RUPEE_HOVER_JS = """
const a = Math.abs(value), s = value < 0 ? '-' : '';
function sig(x) { const d = Math.max(0, Math.min(2, 2 - Math.floor(Math.log10(x)))); return x.toFixed(d); }
if (a >= 1e7) return s + '₹' + sig(a / 1e7) + ' Cr';
if (a >= 1e5) return s + '₹' + sig(a / 1e5) + ' L';
return s + '₹' + Math.round(a).toLocaleString('en-IN');
"""


_WARM_UP = threading.Lock()
_WARM_UP_DONE: list[bool] = []


def has_datashader() -> bool:
    """Whether datashader can be imported here (checked without importing it: the import takes a second)."""
    return importlib.util.find_spec("datashader") is not None


def datashader_tools():
    """(datashader, HoloViews' `rasterize`), or None where datashader is not installed: the WebAssembly page,
    where its numba cannot run and whose bundled data is small enough to draw as points. Imported on demand
    so that page loads without it."""
    try:
        datashader = importlib.import_module("datashader")
        operations = importlib.import_module("holoviews.operation.datashader")
    except ImportError:
        return None
    return datashader, operations.rasterize


def warm_up_rasteriser() -> None:
    """Import datashader and compile its count-by-segment aggregation, once per process: the first rasterised
    scatter would otherwise wait a second or two for both (datashader compiles its kernels on first use)."""
    with _WARM_UP:
        if _WARM_UP_DONE:
            return
        tools = datashader_tools()
        if tools is not None:
            datashader, rasterize = tools
            tiny = pd.DataFrame({"income": [0.0, 1.0], "lifetime_value": [0.0, 1.0],
                                 "segment": pd.Categorical(list(SEGMENTS[:2]), categories=list(SEGMENTS))})
            rasterize(hv.Points(tiny, ["income", "lifetime_value"], ["segment"]),
                      aggregator=datashader.count_cat("segment"), dynamic=False, width=4, height=4)
        _WARM_UP_DONE.append(True)


def rupee_hover() -> CustomJSHover:
    """A fresh hover formatter for money (Bokeh models belong to one document)."""
    return CustomJSHover(code=RUPEE_HOVER_JS)


def segment_order(values) -> list[str]:
    """Segments in the contract's order (Premium first), anything else after, alphabetically."""
    present = set(values)
    return [s for s in SEGMENTS if s in present] + sorted(present - set(SEGMENTS))


def segment_colour(segment: str) -> str:
    return SEGMENT_COLORS.get(segment, "#888888")


def stack(frame: pd.DataFrame, group: str, order: list[str]) -> pd.DataFrame:
    """Bars of `frame` (bin_start, bin_end, `group`, customers) stacked in `order`: adds bottom and top."""
    frame = frame.assign(_rank=frame[group].map({g: i for i, g in enumerate(order)}))
    frame = frame.sort_values(["bin_start", "_rank"], ignore_index=True).drop(columns="_rank")
    frame["top"] = frame.groupby("bin_start")["customers"].cumsum()
    frame["bottom"] = frame["top"] - frame["customers"]
    return frame


def stacked_histogram(frame: pd.DataFrame, group: str, order: list[str], colours: dict[str, str], x_label: str,
                      bin_text) -> hv.Rectangles:
    """Stacked bars on a numeric axis, one colour per group with a legend and hover: one `hv.Rectangles` whose
    colour maps the group. One glyph, not a layer per group: HoloViews builds and updates a plot per layer
    (about 0.1 s each when a section is first drawn here)."""
    rank = frame[group].map({name: i for i, name in enumerate(order)}).fillna(len(order))
    # Rows grouped in `order`: the legend lists the groups in the order it first meets them.
    frame = frame.assign(_rank=rank).sort_values(["_rank", "bin_start"], kind="stable", ignore_index=True)
    frame = frame.drop(columns="_rank").assign(
        bin_text=[bin_text(a, b) for a, b in zip(frame["bin_start"], frame["bin_end"])],
        count_text=[count(v) for v in frame["customers"]], share_text=[percent(v) for v in frame["share"]])
    kdims = [hv.Dimension("bin_start", label=x_label), hv.Dimension("bottom", label="Customers"), "bin_end", "top"]
    rects = hv.Rectangles(frame, kdims=kdims, vdims=[group, "bin_text", "count_text", "share_text"])
    return rects.opts(color=hv.dim(group), cmap={name: colours.get(name, "#0072B2") for name in order},
                      line_color="white", line_width=0.5, tools=["hover"], framewise=True,
                      hover_tooltips=[("Group", f"@{{{group}}}"), (x_label, "@{bin_text}"),
                                      ("Customers", "@{count_text}"), ("Share of shown", "@{share_text}")])


class CustomerSection(Section):
    """Customer insights: age, value, satisfaction, income, channels, geography and churn risk."""

    title = "Customer insights"
    slug = "customers"
    tables = ("customers",)
    also_reads = ('campaigns',)
    spec_section = "4.3"

    RASTER_THRESHOLD: ClassVar[int] = 50_000     # more customers in view than this → datashader
    POINTS_PER_SEGMENT: ClassVar[int] = 1_000    # LTV points drawn per segment at most
    VIOLIN_SAMPLE: ClassVar[int] = 20_000        # customers the violins estimate densities from at most
    OUTLIERS_PER_SEGMENT: ClassVar[int] = 2_000  # outliers drawn per segment at most (the most extreme)
    AT_RISK_ROWS: ClassVar[int] = 1_000          # rows of the at-risk table (the download has every one)

    age_bin_width = param.Integer(default=5, bounds=(1, 10), label="Age bin width (years)")
    age_by_segment = param.Boolean(default=True, label="Overlay segments (stacked)")
    age_segments = param.ListSelector(default=[], objects=list(SEGMENTS), label="Segments (empty = all)")
    ltv_points = param.Boolean(default=False, label="Show individual customers")
    ltv_outliers = param.Boolean(default=True, label="Show outliers (beyond the whiskers)")
    ltv_log = param.Boolean(default=True, label="Log scale")
    violin_channel = param.Selector(default=ALL_CHANNELS, objects=[ALL_CHANNELS], label="Split by acquisition channel")
    trend_line = param.Selector(default="Overall", objects=list(TREND_LINES), label="Trend line (OLS)")
    churn_threshold = param.Number(default=0.6, bounds=(0.0, 1.0), step=0.01, label="Churn probability at least",
                                   doc="Opens at the data's threshold (`suggested_threshold`); 0.6 without data")
    top_value_share = param.Number(default=0.25, bounds=(0.05, 1.0), step=0.05,
                                   label="High value = top share by lifetime value")
    include_churned = param.Boolean(default=False, label="Include customers already churned")
    sunburst = param.ClassSelector(class_=Sunburst, doc="Region → city tier → segment, zoom state in `root`")

    def __init__(self, **params):
        super().__init__(**params)
        self._bubbles = follow_map(self.plot_channel_bubbles)
        # A click on a bubble selects its row; the callback turns that into the global channel filter.
        self.bubble_selection = hv.streams.Selection1D(source=self._bubbles)
        self.bubble_selection.add_subscriber(self._select_channels)
        if not self.store.has("customers"):
            return
        channels = distinct_values(self.store, "customers", "acquisition_channel")
        self.param.violin_channel.objects = [ALL_CHANNELS, *channels]
        self.param.age_segments.objects = segment_order(distinct_values(self.store, "customers", "customer_segment"))
        colours = {"customer_segment": SEGMENT_COLORS, "region": palette.colours("region", self.hierarchy()["region"])}
        self.sunburst = Sunburst(levels=HIERARCHY, size="customers", colors=colours,
                                 root_label=ALL_CUSTOMERS, title="Customers by region → city tier → segment",
                                 frame=self.hierarchy())
        # It follows the filter values through a refresh, as the charts do: below the first screen, after it.
        self._sunburst_refresh = self.follow_filters(self.hierarchy)[1]
        self._sunburst_refresh.param.watch(self._refresh_sunburst, "count")
        if "churn_threshold" not in params:
            self.churn_threshold = self._suggested = self.suggested_threshold()
        in_session = pn.state.curdoc is not None and pn.state.curdoc.session_context is not None   # served
        if in_session and not _WARM_UP_DONE and self.scatter_count() > self.RASTER_THRESHOLD and has_datashader():
            # Once the page has loaded (not to slow its first render), in the background while the user looks at
            # other charts, so that the scatter does not wait for it when its tab is opened.
            pn.state.onload(lambda: threading.Thread(target=warm_up_rasteriser, name="novamart-rasteriser-warm-up",
                                                     daemon=True).start())

    # -- 1. age ---------------------------------------------------------------------------------------
    @param.depends(*CUSTOMER_DEPS, "age_bin_width", "age_by_segment", "age_segments")
    @memoized
    def age_histogram(self) -> pd.DataFrame:
        """Customers per age bin [bin_start, bin_end) (and per segment with the overlay), stacked."""
        width = int(self.age_bin_width)
        frame = cq.age_histogram(self.store, self.filter_state(), width, self.age_by_segment,
                                 tuple(self.age_segments), ALL_CUSTOMERS)
        frame["bin_end"] = frame["bin_start"] + width
        frame["share"] = frame["customers"] / frame["customers"].sum() if len(frame) else 0.0
        return stack(frame, "segment", self._age_groups(frame))

    def _age_groups(self, frame: pd.DataFrame) -> list[str]:
        """Every segment and the all-customers total, in stacking and legend order, whatever is shown."""
        return [*segment_order(SEGMENTS), ALL_CUSTOMERS]

    @param.depends(*CUSTOMER_DEPS, "age_segments")
    @memoized
    def age_counts(self) -> pd.DataFrame:
        """Customers per segment and exact age (for the median and the 25–40 share)."""
        return cq.age_counts(self.store, self.filter_state(), tuple(self.age_segments))

    @param.depends(*CUSTOMER_DEPS, "age_bin_width", "age_by_segment", "age_segments")
    def plot_age(self) -> hv.Rectangles:
        frame = self.age_histogram()
        bars = stacked_histogram(frame, "segment", self._age_groups(frame),
                                 {**SEGMENT_COLORS, ALL_CUSTOMERS: "#0072B2"}, "Age",
                                 lambda a, b: f"{a}" if b - a == 1 else f"{a}–{b - 1}")
        # The legend names the bars' groups, the segments or "All customers".
        return bars.opts(responsive=True, height=CHART_HEIGHT, toolbar="above", legend_position="right",
                         show_legend=True, xlabel="Age (years)", ylabel="Customers",
                         title=f"Customers by age ({self.age_bin_width}-year bins)")

    @param.depends(*CUSTOMER_DEPS, "age_bin_width", "age_by_segment", "age_segments")
    def insight_age(self) -> str:
        by_age = self.age_counts()
        totals = by_age.groupby("age", as_index=False)["customers"].sum()
        text = cx.age_summary(totals, self.age_histogram(), BAND)
        if self.age_by_segment and len(by_age):
            text += cx.segment_age_note(by_age)
        return text

    # -- 2. lifetime value by segment ------------------------------------------------------------------
    @param.depends(*CUSTOMER_DEPS)
    @memoized
    def ltv_stats(self) -> pd.DataFrame:
        """Tukey box-plot numbers per segment, computed in DuckDB (quartiles by linear interpolation)."""
        frame = cq.ltv_box_stats(self.store, self.filter_state())
        order = segment_order(frame["segment"])
        frame["position"] = frame["segment"].map({s: i for i, s in enumerate(order)})
        return frame.sort_values("position", ignore_index=True)

    @param.depends(*CUSTOMER_DEPS, "ltv_points")
    def ltv_sample(self) -> pd.DataFrame:
        """Individual customers for the points overlay: at most POINTS_PER_SEGMENT per segment, a fixed
        pseudo-random sample (the same customers every time); empty when points are off."""
        columns = ["customer_id", "segment", "lifetime_value", "age", "city_tier", "region", "jitter"]
        if not self.ltv_points:
            return pd.DataFrame({c: [] for c in columns})
        return cq.ltv_sample(self.store, self.filter_state(), self.POINTS_PER_SEGMENT)

    @param.depends(*CUSTOMER_DEPS, "ltv_outliers")
    @memoized
    def ltv_outlier_points(self) -> pd.DataFrame:
        """Customers beyond their segment's whiskers (the most extreme OUTLIERS_PER_SEGMENT of each); empty
        when outliers are off."""
        if not self.ltv_outliers:
            return pd.DataFrame({c: [] for c in ["customer_id", "segment", "lifetime_value", "age", "city_tier",
                                                 "region", "jitter"]})
        fences = self.ltv_stats()[["segment", "low_fence", "high_fence"]].rename(
            columns={"low_fence": "low", "high_fence": "high"})
        return cq.ltv_outliers(self.store, self.filter_state(), fences, self.OUTLIERS_PER_SEGMENT)

    def _customer_points(self, positions: dict) -> hv.Points:
        """The sampled customers (grey, spread ±0.5 around their segment's box) and those beyond the whiskers
        (their segment's colour, ±0.12) in one layer: the marks' colour, size and alpha are columns."""
        sample = self.ltv_sample().assign(spread=0.5, colour=POINT_GREY, edge=POINT_GREY, alpha=0.45, size=3)
        beyond = self.ltv_outlier_points()
        beyond = beyond.assign(spread=0.12, colour=[segment_colour(s) for s in beyond["segment"]], edge="#333333",
                               alpha=0.8, size=5)
        frame = pd.concat([sample, beyond], ignore_index=True)
        frame["x"] = frame["segment"].map(positions).astype(float) + frame["jitter"].astype(float) * frame["spread"]
        if self.ltv_log:
            frame["lifetime_value"] = frame["lifetime_value"].astype(float).clip(lower=1.0)
        return hv.Points(frame, kdims=["x", hv.Dimension("lifetime_value", label="Lifetime value")],
                         vdims=["customer_id", "segment", "age", "city_tier", "region", "colour", "edge", "alpha",
                                "size"]).opts(
            color=hv.dim("colour"), line_color=hv.dim("edge"), alpha=hv.dim("alpha"), size=hv.dim("size"),
            marker="circle", tools=["hover"], framewise=True, visible=not frame.empty,
            hover_tooltips=[("Customer", "@{customer_id}"), ("Segment", "@{segment}"),
                            ("Lifetime value", "@{lifetime_value}{rupees}"), ("Age", "@{age}"),
                            ("City tier", "@{city_tier}"), ("Region", "@{region}")],
            hover_formatters={"@{lifetime_value}": rupee_hover()})

    @param.depends(*CUSTOMER_DEPS, "ltv_points", "ltv_log", "ltv_outliers")
    def plot_ltv_box(self) -> hv.Overlay:
        """Boxes (quartiles), whiskers (1.5 IQR) and medians drawn from DuckDB's statistics; optional points."""
        stats = self.ltv_stats()
        levels = ("q1", "median", "q3", "lower", "upper")
        # A log axis cannot show 0: values are drawn at ₹1 at least (the hover keeps the true numbers).
        shown = stats.assign(**{c: stats[c].clip(lower=1.0) for c in levels}) if self.ltv_log else stats.copy()
        texts = {f"{c}_text": [rupees(v) for v in stats[c]] for c in (*levels, "maximum")}
        shown = shown.assign(**texts, customers_text=[count(v) for v in stats["customers"]],
                             outliers_text=[count(v) for v in stats["high_outliers"] + stats["low_outliers"]],
                             x0=stats["position"] - 0.3, x1=stats["position"] + 0.3)
        tips = [("Segment", "@{segment}"), ("Customers", "@{customers_text}"), ("Median", "@{median_text}"),
                ("Quartiles", "@{q1_text} – @{q3_text}"), ("Whiskers", "@{lower_text} – @{upper_text}"),
                ("Beyond whiskers", "@{outliers_text}"), ("Maximum", "@{maximum_text}")]
        hover = dict(vdims=["segment", *texts, "customers_text", "outliers_text"])
        style = dict(tools=["hover"], hover_tooltips=tips, framewise=True)
        boxes = hv.Rectangles(shown, kdims=[hv.Dimension("x0", label="Segment"),
                                            hv.Dimension("q1", label="Lifetime value"), "x1", "q3"], **hover)
        boxes = boxes.opts(color=hv.dim("segment").categorize(SEGMENT_COLORS, default="#888888"), alpha=0.75,
                           line_color="white", **style)

        def segment(x0, y0, x1, y1, colour, width):
            return shown.assign(xa=shown["position"] + x0, ya=shown[y0], xb=shown["position"] + x1, yb=shown[y1],
                                colour=colour, width=width)

        # Whiskers, then medians over them, in one layer: each line's colour and width are columns.
        whisker = dict(colour=WHISKER_GREY, width=1.5)
        lines = pd.concat([segment(0, "q3", 0, "upper", **whisker), segment(0, "lower", 0, "q1", **whisker),
                           segment(-0.12, "upper", 0.12, "upper", **whisker),
                           segment(-0.12, "lower", 0.12, "lower", **whisker),
                           segment(-0.3, "median", 0.3, "median", colour="black", width=2.5)], ignore_index=True)
        whiskers_and_medians = hv.Segments(lines, kdims=["xa", "ya", "xb", "yb"],
                                           vdims=[*hover["vdims"], "colour", "width"]).opts(
            color=hv.dim("colour"), line_width=hv.dim("width"), **style)
        # The points layer is always there (empty and hidden when off): updated in place.
        points = self._customer_points(dict(zip(stats["segment"], stats["position"])))
        layers = [boxes, whiskers_and_medians, points]
        title = "Lifetime value by segment (box: quartiles; whiskers: 1.5 IQR; dots: outliers)"
        return hv.Overlay(layers).opts(
            responsive=True, height=CHART_HEIGHT, toolbar="above", logy=self.ltv_log,
            xticks=list(zip(stats["position"], stats["segment"])), xlim=(-0.6, max(len(stats), 1) - 0.4),
            yformatter=rupee_ticks(), xlabel="Segment", title=title,
            ylabel="Lifetime value (log scale)" if self.ltv_log else "Lifetime value")   # the title fills the width

    @param.depends(*CUSTOMER_DEPS, "ltv_points", "ltv_outliers")
    def ltv_note(self) -> str:
        """Says whether the points are every customer or a sample."""
        if not self.ltv_points:
            text = "Boxes and whiskers come from every customer shown (computed in DuckDB)."
            if self.ltv_outliers:
                stats, shown = self.ltv_stats(), len(self.ltv_outlier_points())
                beyond = int((stats["high_outliers"].fillna(0) + stats["low_outliers"].fillna(0)).sum())
                text += (f" Dots: all {count(beyond)} customers beyond the whiskers." if shown == beyond else
                         f" Dots: the {count(shown)} most extreme of {count(beyond)} customers beyond the whiskers.")
            return text
        stats, sample = self.ltv_stats(), self.ltv_sample()
        total = int(stats["customers"].sum())
        if len(sample) < total:
            return (f"Points: a fixed sample of {count(len(sample))} of {count(total)} customers "
                    f"(at most {count(self.POINTS_PER_SEGMENT)} per segment); boxes use every customer.")
        return f"Points: all {count(total)} customers."

    @param.depends(*CUSTOMER_DEPS)
    def insight_ltv(self) -> str:
        return cx.ltv_box_summary(self.ltv_stats())

    # -- 3. satisfaction by NPS category, split by acquisition channel --------------------------------
    @param.depends(*CUSTOMER_DEPS, "violin_channel")
    @memoized
    def satisfaction_sample(self) -> pd.DataFrame:
        """Scores for the violins (a fixed sample of at most VIOLIN_SAMPLE customers) and the
        split `group`: the acquisition channel, or the chosen channel against all others."""
        frame = cq.satisfaction_sample(self.store, self.filter_state(), self.VIOLIN_SAMPLE)
        if self.violin_channel == ALL_CHANNELS:
            frame["group"] = frame["acquisition_channel"]
        else:
            # An ordered category puts the chosen channel on the left half whatever its name.
            frame["group"] = pd.Categorical(
                np.where(frame["acquisition_channel"] == self.violin_channel, self.violin_channel, OTHER_CHANNELS),
                categories=[self.violin_channel, OTHER_CHANNELS])
        return frame.sort_values(["nps_category", "group"], ignore_index=True)

    @param.depends(*CUSTOMER_DEPS)
    @memoized
    def satisfaction_by_channel(self) -> pd.DataFrame:
        """Customers and mean satisfaction per NPS category and acquisition channel (every customer)."""
        return cq.satisfaction_by_channel(self.store, self.filter_state())

    @param.depends(*CUSTOMER_DEPS)
    @memoized
    def satisfaction_bins(self) -> pd.DataFrame:
        """A histogram of satisfaction per NPS category (bins of SATISFACTION_BIN), for the bimodality check."""
        return cq.satisfaction_bins(self.store, self.filter_state(), SATISFACTION_BIN)

    @param.depends(*CUSTOMER_DEPS, "violin_channel")
    def plot_satisfaction(self) -> hv.Element:
        frame = self.satisfaction_sample()
        nps = hv.Dimension("nps_category", label="NPS category")
        # No dimension range: the densities would be evaluated (and drawn) over all of it.
        score = hv.Dimension("satisfaction_score", label="Satisfaction (1–5)")
        if self.violin_channel == ALL_CHANNELS:
            channels = sorted(frame["group"].unique())
            colours = palette.colours("channel", channels)
            violin = hv.Violin(frame, kdims=[nps, hv.Dimension("group", label="Channel")], vdims=score)
            # split=None: the chart is updated in place, and a split chosen before would otherwise stay.
            options = dict(violin_fill_color=hv.dim("group").categorize(colours, default="#888888"), split=None,
                           title="Satisfaction by NPS category and acquisition channel")
        else:
            violin = hv.Violin(frame, kdims=[nps, hv.Dimension("group", label="Channel")], vdims=score)
            # No legend: HoloViews' split-violin legend fails Bokeh's validation (E-1006); the title says it.
            options = dict(split="group", cmap={self.violin_channel: palette.colours("channel", [self.violin_channel])[
                               self.violin_channel], OTHER_CHANNELS: "#999999"}, show_legend=False,
                           title=f"Satisfaction by NPS category: {self.violin_channel} (left, in colour) vs "
                                 f"other channels (right, grey)")
        return house_opts(violin, inner="quartiles", cut=0.0, ylim=(0.9, 5.1), xrotation=30,
                          **options)

    @param.depends(*CUSTOMER_DEPS, "violin_channel")
    def satisfaction_note(self) -> str:
        shown = len(self.satisfaction_sample())
        total = int(self.satisfaction_by_channel()["customers"].sum())
        if shown < total:
            return f"Violins estimated from a fixed sample of {count(shown)} of {count(total)} customers."
        return f"Violins estimated from all {count(total)} customers."

    @param.depends(*CUSTOMER_DEPS)
    def insight_satisfaction(self) -> str:
        return cx.satisfaction_summary(self.satisfaction_bins(), self.satisfaction_by_channel(), SATISFACTION_BIN)

    # -- 4. income vs lifetime value ------------------------------------------------------------------
    @param.depends(*CUSTOMER_DEPS)
    @memoized
    def scatter_count(self) -> int:
        return cq.customer_count(self.store, self.filter_state())

    @param.depends(*CUSTOMER_DEPS)
    def scatter_mode(self) -> str:
        """'points' or 'rasterised' (the whole selection; zooming in below the threshold shows points).
        Without datashader every customer is drawn as a point."""
        dense = self.scatter_count() > self.RASTER_THRESHOLD
        return "rasterised" if dense and has_datashader() else "points"

    def scatter_segments(self) -> list[str]:
        """Every segment of the customer file, in segment order (the raster's layers)."""
        return segment_order(distinct_values(self.store, "customers", "customer_segment"))

    @param.depends(*CUSTOMER_DEPS)
    @memoized
    def scatter_rows(self) -> pd.DataFrame:
        """Every customer shown, numbers only (what the raster counts): income, LTV, segment as a category."""
        return cq.income_ltv_values(self.store, self.filter_state(), tuple(self.scatter_segments()))

    def points_in_view(self, x_range=None, y_range=None) -> pd.DataFrame:
        """The customers inside the axis ranges (bounds included) with their details, when at most
        RASTER_THRESHOLD are and the chart can rasterise; else none: the raster shows them. In segment order."""
        state, x_range, y_range = self.filter_state(), _known_range(x_range), _known_range(y_range)
        shown = (self.scatter_count() if x_range is None and y_range is None else
                 cq.income_ltv_count(self.store, state, x_range, y_range))
        dense = shown > self.RASTER_THRESHOLD and has_datashader()
        frame = cq.income_ltv_in_view(self.store, state, x_range, y_range, limit=0 if dense else None)
        frame["segment"] = pd.Categorical(frame["segment"], categories=segment_order(frame["segment"].unique()))
        # Drawn (and listed in the legend) in segment order.
        return frame.sort_values("segment", kind="stable", ignore_index=True)

    @param.depends(*CUSTOMER_DEPS)
    @memoized
    def income_ltv_fit(self) -> pd.DataFrame:
        """OLS of LTV on income (DuckDB regr_slope / regr_intercept) and Pearson r, per segment and overall
        (segment = None), with the income range each line spans."""
        frame = cq.income_ltv_fit(self.store, self.filter_state())
        overall = frame[frame["segment"].isna()]
        by_segment = frame[frame["segment"].notna()]
        by_segment = by_segment.assign(_o=by_segment["segment"].map(
            {s: i for i, s in enumerate(segment_order(by_segment["segment"]))})).sort_values("_o").drop(columns="_o")
        return pd.concat([overall, by_segment], ignore_index=True)

    @param.depends(*CUSTOMER_DEPS, "trend_line")
    @memoized
    def trend_lines(self) -> pd.DataFrame:
        """End points of the fitted lines drawn: none, the overall one, or one per segment."""
        fits = self.income_ltv_fit()
        if self.trend_line == "Off":
            return pd.DataFrame(columns=["line", "income", "lifetime_value", "slope"])
        rows = fits[fits["segment"].isna()] if self.trend_line == "Overall" else fits[fits["segment"].notna()]
        rows = rows.dropna(subset=["slope"])
        lines = []
        for row in rows.itertuples(index=False):
            name = ALL_CUSTOMERS if pd.isna(row.segment) else row.segment
            for income in (row.income_min, row.income_max):
                lines.append({"line": name, "income": income, "lifetime_value": row.intercept + row.slope * income,
                              "slope": row.slope})
        return pd.DataFrame(lines, columns=["line", "income", "lifetime_value", "slope"])

    @param.depends(*CUSTOMER_DEPS)
    def plot_scatter_points(self, x_range=None, y_range=None) -> hv.Points:
        frame = self.points_in_view(x_range, y_range)
        points = hv.Points(frame, kdims=[hv.Dimension("income", label="Income"),
                                         hv.Dimension("lifetime_value", label="Lifetime value")],
                           vdims=["segment", "customer_id", "age", "city_tier"])
        return house_opts(points, color="segment", cmap=SEGMENT_COLORS, size=4, alpha=0.55, legend_position="right",
                          xformatter=rupee_ticks(), yformatter=rupee_ticks(),
                          hover_tooltips=[("Customer", "@{customer_id}"), ("Segment", "@{segment}"), ("Age", "@{age}"),
                                          ("City tier", "@{city_tier}"), ("Income", "@{income}{rupees}"),
                                          ("Lifetime value", "@{lifetime_value}{rupees}")],
                          hover_formatters={"@{income}": rupee_hover(), "@{lifetime_value}": rupee_hover()})

    @param.depends(*CUSTOMER_DEPS, "trend_line")
    def plot_trend_lines(self) -> hv.Overlay:
        lines = self.trend_lines()
        lines = lines.assign(slope_text=[f"{rupees(s * cx.INCOME_STEP)} per {rupees(cx.INCOME_STEP)}"
                                         for s in lines["slope"]])
        curves = [hv.Curve(group, "income", ["lifetime_value", "line", "slope_text"], label=f"Trend: {name}").opts(
            color=SEGMENT_COLORS.get(name, "#888888") if name != ALL_CUSTOMERS else "#d62728", line_width=3,
            line_dash="dashed", tools=["hover"], hover_tooltips=[("Trend", "@{line}"), ("Slope", "@{slope_text}")])
            for name, group in lines.groupby("line", sort=False)]
        # An empty curve keeps the overlay's shape when the trend line is off.
        return hv.Overlay(curves or [hv.Curve([], "income", "lifetime_value").opts(tools=[])])

    @param.depends(*CUSTOMER_DEPS)
    def plot_scatter_values(self) -> hv.Points:
        """Every customer shown as a point without details: what the raster counts."""
        return hv.Points(self.scatter_rows(), kdims=["income", "lifetime_value"], vdims=["segment"])

    def customers_in_view(self, element: hv.Points, x_range=None, y_range=None, dense: bool = True) -> hv.Points:
        """The customers of `element` inside the axis ranges (bounds included) if their number is on the `dense`
        side of RASTER_THRESHOLD (more than it), else none: the raster is empty when the points show them."""
        frame = element.dframe()
        x_range, y_range = _known_range(x_range), _known_range(y_range)
        if x_range is not None and y_range is not None:
            frame = frame[frame["income"].between(*x_range) & frame["lifetime_value"].between(*y_range)]
        if (len(frame) > self.RASTER_THRESHOLD) != dense:
            frame = frame.iloc[:0]
        return element.clone(frame)

    def scatter_view(self) -> hv.Overlay:
        """Points (with their details, from DuckDB) while at most RASTER_THRESHOLD customers are in view, above
        it a datashader image coloured by segment (re-aggregated on every zoom), with the trend lines on top."""
        trends = follow_map(self.plot_trend_lines)
        tools = datashader_tools() if has_datashader() else None
        if tools is None:
            layers = follow_map(self.plot_scatter_points) * trends
        else:
            datashader, rasterize = tools
            ranges = hv.streams.RangeXY()
            sparse = follow_map(self.plot_scatter_points, streams=(ranges,))
            dense = rasterize(follow_map(self.plot_scatter_values).apply(self.customers_in_view, streams=[ranges]),
                              aggregator=datashader.count_cat("segment"))
            colours = [segment_colour(s) for s in self.scatter_segments()]
            dense = dense.opts({"ImageStack": dict(cmap=colours, tools=["hover"], responsive=True,
                                                   height=CHART_HEIGHT)}, backend="bokeh")
            layers = dense * sparse * trends
        # The axis titles: the first layer (the raster) names its axes by column, "income" and "lifetime_value".
        return layers.opts(
            responsive=True, height=CHART_HEIGHT, toolbar="above", legend_position="right",
            title="Income vs lifetime value by segment", xlabel="Income", ylabel="Lifetime value")

    def scatter_snapshot(self) -> hv.Element:
        """The scatter for a saved page: the points, or above RASTER_THRESHOLD one fixed datashader image
        (a million points would not fit in a file)."""
        if self.scatter_mode() == "points":
            return self.plot_scatter_points()
        datashader, rasterize = datashader_tools()
        image = rasterize(self.plot_scatter_values(), aggregator=datashader.count_cat("segment"), dynamic=False,
                          width=900, height=CHART_HEIGHT)
        return image.opts(cmap=[segment_colour(s) for s in self.scatter_segments()], tools=["hover"])

    @param.depends(*CUSTOMER_DEPS)
    def scatter_note(self) -> str:
        shown = self.scatter_count()
        if self.scatter_mode() == "rasterised":
            return (f"**Rasterised** (datashader): {count(shown)} customers are more than "
                    f"{count(self.RASTER_THRESHOLD)}, so the chart shows how many of each segment fall in each pixel. "
                    f"Zoom in until fewer than {count(self.RASTER_THRESHOLD)} are in view to see each customer.")
        if shown > self.RASTER_THRESHOLD:
            return (f"All {count(shown)} customers drawn as points (datashader is not installed here, so the "
                    f"chart cannot be rasterised); hover one for its details.")
        return f"All {count(shown)} customers drawn as points; hover one for its details."

    @param.depends(*CUSTOMER_DEPS)
    def raster_legend(self) -> str:
        """The segment colours, when the rasterised image (which has no legend of its own) is shown."""
        return segment_legend("Rasterised colours:") if self.scatter_mode() == "rasterised" else ""

    @param.depends(*CUSTOMER_DEPS, "trend_line")
    def insight_scatter(self) -> str:
        fits = self.income_ltv_fit()
        overall = fits[fits["segment"].isna()]
        text = cx.income_ltv_summary(overall.iloc[0] if len(overall) else None, fits[fits["segment"].notna()],
                                     show_segments=self.trend_line == "Per segment")
        if len(overall) and overall["customers"].iloc[0]:
            cut, budget_high = self.high_value_budget()
            text += cx.high_value_note(LOW_VALUE_SEGMENT, budget_high, cut, TOP_VALUE_CHECK)
        return text

    @param.depends(*CUSTOMER_DEPS)
    @memoized
    def high_value_budget(self) -> tuple[float, int]:
        """The LTV at which the top TOP_VALUE_CHECK of customers starts, and how many Budget customers reach it."""
        return cq.high_value_count(self.store, self.filter_state(), TOP_VALUE_CHECK, LOW_VALUE_SEGMENT)

    # -- 5. channel bubbles (campaign data) ----------------------------------------------------------
    def _campaign_state(self) -> FilterState:
        """The global filters without the channel filter: every channel stays on the chart, selected or not."""
        return dataclasses.replace(self.filter_state(), channels=())

    @param.depends(*FILTER_DEPS)
    @memoized
    def channel_metrics(self) -> pd.DataFrame:
        """Sums and ratios per campaign channel, bubble diameter (area ∝ spend) and whether it is selected."""
        columns = ["channel", "spend", "impressions", "clicks", "conversions", "revenue", "ctr", "cvr", "cpa", "roas",
                   "size", "selected"]
        if not self.store.has("campaigns"):
            return pd.DataFrame(columns=columns)
        frame = add_ratios(campaign_sums_by(self.store, self._campaign_state(), "channel"))
        frame.loc[frame["spend"] <= 0, ["cpa", "roas"]] = np.nan
        top = frame["spend"].max() if len(frame) else 0.0
        scaled = MAX_BUBBLE * np.sqrt(frame["spend"].clip(lower=0) / top) if top > 0 else frame["spend"] * 0.0
        frame["size"] = np.maximum(scaled, MIN_BUBBLE)
        frame["selected"] = frame["channel"].isin(self.channels)
        return frame[columns]

    @param.depends(*FILTER_DEPS)
    def plot_channel_bubbles(self) -> hv.Points:
        frame = self.channel_metrics()
        texts = {"spend": rupees, "revenue": rupees, "impressions": count, "clicks": count, "conversions": count,
                 "ctr": percent, "cvr": percent, "cpa": rupees, "roas": ratio}
        frame = frame.assign(**{f"{c}_text": [fn(v) for v in frame[c]] for c, fn in texts.items()})
        frame["spend_text"] = [t if s > 0 else f"{t} (no spend)" for t, s in zip(frame["spend_text"], frame["spend"])]
        colours = palette.colours("channel", frame["channel"])
        points = hv.Points(frame, kdims=[hv.Dimension("ctr", label="Click-through rate"),
                                         hv.Dimension("cvr", label="Conversion rate")],
                           vdims=["channel", "size", *[f"{c}_text" for c in texts]])
        selected = [int(i) for i in np.flatnonzero(frame["selected"].to_numpy())]
        return house_opts(
            points, color=hv.dim("channel").categorize(colours, default="#888888"), size="size", alpha=0.85,
            line_color="white", line_width=1.5, tools=["hover", "tap"], selected=selected, nonselection_alpha=0.2,
            framewise=True,
            xformatter=numeral_ticks("0.0%"), yformatter=numeral_ticks("0.0%"), padding=0.2,
            hover_tooltips=[("Channel", "@{channel}"), ("CTR", "@{ctr_text}"), ("CVR", "@{cvr_text}"),
                            ("Spend", "@{spend_text}"), ("Impressions", "@{impressions_text}"),
                            ("Clicks", "@{clicks_text}"), ("Conversions", "@{conversions_text}"),
                            ("Revenue", "@{revenue_text}"), ("CPA", "@{cpa_text}"), ("ROAS", "@{roas_text}")],
            title="Channels: CTR vs conversion rate (bubble area = spend) — click a bubble to filter")

    @param.depends(*FILTER_DEPS)
    def plot_channel_labels(self) -> hv.Labels:
        frame = self.channel_metrics()
        frame["label"] = [f"{c} (no spend)" if s <= 0 else c for c, s in zip(frame["channel"], frame["spend"])]
        frame["pixel_offset"] = -(frame["size"] / 2 + 2)   # just above the bubble's rim, at any zoom
        return hv.Labels(frame, ["ctr", "cvr"], ["label", "pixel_offset"]).opts(
            text_font_size="8pt", text_baseline="bottom", text_color="#7f7f7f", hooks=[_offset_labels])

    def _select_channels(self, index=None, **_) -> None:
        """A click on bubbles (indices into `channel_metrics`) sets the channel filter; empty space clears it."""
        frame = self.channel_metrics()
        channels = [frame["channel"].iloc[i] for i in (index or []) if 0 <= i < len(frame)]
        if sorted(channels) != sorted(self.filters.channels):
            self.filters.channels = channels

    def clear_channels(self, event=None) -> None:
        self.filters.channels = []

    @param.depends(*FILTER_DEPS)
    def insight_channels(self) -> str:
        text = cx.channel_bubble_summary(self.channel_metrics())
        chosen = list(self.filters.channels)
        if chosen:
            text += (f" Channel filter: **{cx.names(chosen)}** (campaign views follow it; customer data records "
                     f"acquisition channels, not campaign channels, so the customer views do not).")
        return text

    # -- 6. region → city tier → segment sunburst -----------------------------------------------------
    @param.depends(*CUSTOMER_DEPS)
    @memoized
    def hierarchy(self) -> pd.DataFrame:
        """Customers per region, city tier and segment."""
        return cq.hierarchy_counts(self.store, self.filter_state())

    def _refresh_sunburst(self, *_) -> None:
        self.sunburst.frame = self.hierarchy()

    @param.depends(*CUSTOMER_DEPS)
    def plot_tier_mix(self) -> hv.Bars:
        """Segment mix of each city tier (100 % stacked bars), beside the sunburst: the tiers side by side."""
        # HoloViews cannot stack zero bars: one empty slot says there is nothing.
        frame = category_slot(cx.share_by_level(self.hierarchy(), HIERARCHY, "customers"), city_tier="no customers",
                              customer_segment="", customers=0, share=0.0)
        frame["percent"] = frame["share"].fillna(0.0) * 100
        frame["share_text"] = [percent(v, 1) for v in frame["share"]]
        frame["count_text"] = [count(v) for v in frame["customers"]]
        bars = hv.Bars(frame, [hv.Dimension("city_tier", label="City tier"),
                               hv.Dimension("customer_segment", label="Segment")],
                       [hv.Dimension("percent", label="Share of the tier (%)"), "share_text",
                        "count_text"])
        # No legend (the card's swatches name the segments): beside the sunburst the chart is narrow.
        return house_opts(bars, stacked=True, cmap=SEGMENT_COLORS, show_legend=False, ylim=(0, 100),
                          invert_axes=True, height=CHART_HEIGHT, title="Segment mix by city tier (%)",
                          hover_tooltips=[("Tier · segment", "@{city_tier} · @{customer_segment}"),
                                          ("Share of tier", "@{share_text}"), ("Customers", "@{count_text}")])

    @param.depends("sunburst.frame", "sunburst.root")
    def insight_sunburst(self) -> str:
        return cx.hierarchy_summary(self.sunburst.frame, HIERARCHY, "customers", self.sunburst.root,
                                    focus=SEGMENTS[0], root_label=ALL_CUSTOMERS)

    # -- 7. churn risk --------------------------------------------------------------------------------
    @param.depends(*CUSTOMER_DEPS)
    @memoized
    def churn_distribution(self) -> pd.DataFrame:
        """Customers per churn-probability bin (width 1/CHURN_BINS; 1.0 joins the last bin) and segment, stacked."""
        frame = cq.churn_histogram(self.store, self.filter_state(), CHURN_BINS)
        frame["bin_end"] = frame["bin_start"] + 1 / CHURN_BINS
        frame["share"] = frame["customers"] / frame["customers"].sum() if len(frame) else 0.0
        return stack(frame, "segment", segment_order(frame["segment"]))

    @param.depends(*CUSTOMER_DEPS, "top_value_share", "include_churned")
    @memoized
    def suggested_threshold(self) -> float:
        """The churn threshold the data suggests: where the riskiest tenth of the high-value customers starts."""
        return cx.default_churn_threshold(cq.high_value_churn_quantile(
            self.store, self.filter_state(), self.top_value_share, self.include_churned, cx.RISK_DECILE))

    @param.depends(*CUSTOMER_DEPS, "churn_threshold", "top_value_share", "include_churned")
    def threshold_note(self) -> str:
        return cx.threshold_note(self.churn_threshold, self.suggested_threshold(), self.top_value_share,
                                 self.include_churned)

    def use_suggested_threshold(self, event=None) -> None:
        self.churn_threshold = self._suggested = self.suggested_threshold()

    @param.depends(*CUSTOMER_DEPS, watch=True)
    def _filters_moved(self) -> None:
        # The churn views are below the first screen: the threshold moves with them, not in the first step.
        self.with_views_below(self._follow_suggested_threshold)

    @param.depends("top_value_share", "include_churned", watch=True)
    def _follow_suggested_threshold(self) -> None:
        """A threshold the user has not moved follows the data's suggestion for the new selection (else a region
        filter read "threshold set to 17 %; the data's default is 18 %" when nobody had set it)."""
        suggested = getattr(self, "_suggested", None)   # None: set by the user (or before __init__ chose one)
        if suggested is not None and self.churn_threshold == suggested:
            self.churn_threshold = self._suggested = self.suggested_threshold()

    @param.depends(*CUSTOMER_DEPS, "churn_threshold", "top_value_share", "include_churned")
    def churn_totals(self) -> pd.Series:
        """Customers, how many reach the threshold (and had churned), the LTV cut, and the highest churn
        probability among the high-value customers considered."""
        return cq.churn_totals(self.store, self.filter_state(), self.churn_threshold, self.top_value_share,
                               self.include_churned)

    @param.depends(*CUSTOMER_DEPS, "churn_threshold", "top_value_share", "include_churned")
    @memoized
    def at_risk(self) -> pd.DataFrame:
        """Customers at or above the churn threshold AND in the top share by LTV, by expected loss (p × LTV)."""
        return cq.at_risk_customers(self.store, self.filter_state(), self.churn_threshold, self.top_value_share,
                                    self.include_churned)

    @param.depends(*CUSTOMER_DEPS, "churn_threshold", "top_value_share", "include_churned")
    @memoized
    def at_risk_table(self) -> pd.DataFrame:
        """The first AT_RISK_ROWS of the at-risk list as the table shows them (money and rates formatted); the
        download and the insight use the whole list."""
        frame = self.at_risk().iloc[:self.AT_RISK_ROWS]
        return pd.DataFrame({
            "Customer": frame["customer_id"], "Segment": frame["customer_segment"], "Region": frame["region"],
            "City tier": frame["city_tier"], "Lifetime value": [rupees(v) for v in frame["lifetime_value"]],
            "Churn probability": [percent(v, 1) for v in frame["churn_probability"]],
            "Expected loss": [rupees(v) for v in frame["expected_loss"]],
        })

    @param.depends(*CUSTOMER_DEPS, "churn_threshold")
    def plot_churn(self) -> hv.Overlay:
        frame = self.churn_distribution()
        overlay = stacked_histogram(frame, "segment", segment_order(frame["segment"]), SEGMENT_COLORS,
                                    "Churn probability", lambda a, b: f"{a:.0%}–{b:.0%}")
        marker = hv.VLine(self.churn_threshold).opts(color="#d62728", line_dash="dashed", line_width=2)
        return (overlay * marker).opts(
            responsive=True, height=CHART_HEIGHT, toolbar="above", legend_position="right",
            xformatter=numeral_ticks("0%"), xlabel="Churn probability", ylabel="Customers",
            title=f"Churn probability by segment (dashed: threshold {percent(self.churn_threshold, 0)})")

    @param.depends(*CUSTOMER_DEPS, "churn_threshold", "top_value_share", "include_churned")
    def insight_churn(self) -> str:
        return cx.churn_summary(self.churn_totals(), self.at_risk(), self.churn_threshold, self.top_value_share,
                                self.include_churned)

    # -- export and page -------------------------------------------------------------------------------
    def filter_note(self) -> str:
        return ("Global filters applied here: regions (customer data has a region column). Customer data has no "
                "date, campaign channel or campaign type, so those filters do not narrow the customer views. The "
                "channel bubble chart reads campaign data: the date, region and campaign-type filters narrow it, "
                "and the channel filter highlights its bubbles.")

    def export_frame(self) -> pd.DataFrame:
        """The customers under the region filter (contract columns, file order)."""
        return cq.customer_rows(self.store, self.filter_state())

    def chart_objects(self) -> list:
        """Every HoloViews chart as it is now (the sunburst, a Bokeh figure, is added by `charts_html`)."""
        objects = [self.plot_age(), self.plot_ltv_box(), self.plot_satisfaction(),
                   self.scatter_snapshot() * self.plot_trend_lines(), self.plot_churn()]
        if self.store.has("campaigns"):
            objects.insert(4, self.plot_channel_bubbles() * self.plot_channel_labels())
        return objects

    def charts_html(self) -> io.BytesIO:
        """All charts, sunburst included, as one standalone HTML page with inline resources (works offline)."""
        figures = [hv.render(obj, backend="bokeh") for obj in self.chart_objects()]
        for fig in figures:
            fig.sizing_mode, fig.width, fig.height = "fixed", 900, CHART_HEIGHT
        figures.append(self.sunburst.figure(interactive=False))
        page = file_html(column(*figures), INLINE, title="NovaMart customer insights")
        return io.BytesIO(page.encode("utf-8"))

    def layout(self) -> pn.viewable.Viewable:
        description = ("Who the customers are, what they are worth, how satisfied they are, which channels convert, "
                       "where they live and who is about to leave. Hover any chart for the numbers; each chart's "
                       "toolbar saves it as PNG.")
        header = section_header(self, description)
        header.append(pn.widgets.FileDownload(callback=self.charts_html, filename="novamart_customers_charts.html",
                                              label="Download charts (HTML)", color="primary", variant="outline",
                                              embed=False, width=220))
        return pn.Column(header, *self._top_cards(), self.cards_later(self._cards_below),
                         sizing_mode="stretch_width")

    def _top_cards(self) -> list[pn.Card]:
        """The first screen's views: the age distribution and lifetime value by segment."""
        views = [
            ("1. Age distribution", [self.widget("age_bin_width", pn.widgets.IntSlider),
                                     self.widget("age_by_segment", pn.widgets.Checkbox, css_classes=["age-by-segment"]),
                                     self.widget("age_segments", TextMultiChoice, placeholder="All segments")],
             chart(self.plot_age), self.insight_age),
            ("2. Lifetime value by segment", [self.widget("ltv_outliers", pn.widgets.Checkbox, css_classes=["ltv-outliers"]),
                                              self.widget("ltv_points", pn.widgets.Checkbox, css_classes=["ltv-points"]),
                                              self.widget("ltv_log", pn.widgets.Checkbox, css_classes=["ltv-log"]),
                                              markdown(self.ltv_note, css_classes=["ltv-note"])],
             chart(self.plot_ltv_box, rebuild_on=("ltv_log",)), self.insight_ltv),
        ]
        return [view_card(*view) for view in views]

    def _cards_below(self) -> list[pn.Card]:
        """The views below the first screen: satisfaction, income vs value, channels, the sunburst, churn risk
        and the at-risk customers."""
        bubble_pane = holoviews_pane((self._bubbles * follow_map(self.plot_channel_labels)).opts(framewise=True),
                                     min_height=CHART_HEIGHT)
        clear = pn.widgets.Button(label="Clear channel filter", color="light", sizing_mode="stretch_width")
        clear.on_click(self.clear_channels)
        suggest = pn.widgets.Button(label="Use the data's threshold", color="light", sizing_mode="stretch_width",
                                    description="Set the threshold where the riskiest tenth of the high-value "
                                                "customers starts")
        suggest.on_click(self.use_suggested_threshold)
        channel_view = (notice(self.missing_message("campaigns"), kind="warning")
                        if not self.store.has("campaigns") else bubble_pane)
        at_risk_table = data_table(
            self.at_risk_table, pagination="remote", page_size=10, show_index=False, disabled=True,
            layout="fit_data_stretch", sizing_mode="stretch_width",
            theme="midnight" if pn.config.theme == "dark" else "simple",   # Tabulator does not follow the page
            configuration={"columnDefaults": {"headerSort": False},
                           "placeholder": "No customer meets both conditions: see the sentence under the chart."})
        tier_mix = chart(self.plot_tier_mix, height=CHART_HEIGHT, min_width=TIER_MIX_MIN_WIDTH, styles={"flex": "1 1 0"})
        # Side by side where the card is wide enough, the bars below the sunburst where it is not.
        sunburst_box = pn.FlexBox(self.later(self.sunburst), tier_mix, flex_wrap="wrap", align_items="flex-start",
                                  sizing_mode="stretch_width")
        self._sunburst_refresh.view = sunburst_box
        views = [
            ("3. Satisfaction by NPS category and acquisition channel",
             [self.widget("violin_channel", pn.widgets.Select),
              markdown(self.satisfaction_note, css_classes=["violin-note"])],
             chart(self.plot_satisfaction, height=CHART_HEIGHT + 40), self.insight_satisfaction, True),
            ("4. Income vs lifetime value", [self.widget("trend_line", pn.widgets.RadioButtonGroup),
                                             markdown(self.scatter_note, css_classes=["scatter-note"]),
                                             html(self.raster_legend)],
             holoviews_pane(self.scatter_view(), min_height=CHART_HEIGHT), self.insight_scatter),
            ("5. Channels: click-through vs conversion rate (campaign data)",
             [clear, markdown("Click a bubble to set the sidebar's channel filter (shift-click for "
                              "several); click empty space or the button to clear it. Every channel "
                              "stays on this chart.")],
             channel_view, self.insight_channels),
            ("6. Region → city tier → segment", [markdown(
                "Click a wedge to zoom into it; click the centre to go back up. Hover for counts and shares."),
                html(segment_legend("Outer ring:"))],
             sunburst_box,
             self.insight_sunburst),
            ("7. Churn risk", [self.widget("churn_threshold", pn.widgets.FloatSlider, format="0%"),
                               self.widget("top_value_share", pn.widgets.FloatSlider, format="0%"),
                               self.widget("include_churned", pn.widgets.Checkbox, css_classes=["include-churned"]),
                               suggest, markdown(self.threshold_note, css_classes=["threshold-note"])],
             chart(self.plot_churn), self.insight_churn),
        ]
        at_risk = pn.Card(
            at_risk_table,
            csv_download(self.at_risk, "novamart_at_risk_customers.csv", "Download at-risk list (CSV)"),
            title=f"At-risk customers (highest expected loss first; the table lists the first "
                  f"{count(self.AT_RISK_ROWS)}, the download all)", collapsible=False, sizing_mode="stretch_width")
        return [*(view_card(*view) for view in views), at_risk]


def segment_legend(caption: str) -> str:
    """HTML swatches naming the segment colours (for charts whose own legend cannot show them)."""
    swatches = "".join(f'<span style="white-space:nowrap;margin-right:10px"><span style="display:inline-block;'
                       f'width:11px;height:11px;background:{colour};margin-right:4px"></span>{segment}</span> '
                       for segment, colour in SEGMENT_COLORS.items())
    return f'<div style="font-size:0.9em">{caption} {swatches}</div>'



def _known_range(bounds) -> tuple[float, float] | None:
    """An axis range, or None for "everything": before the browser reports its axes HoloViews may send None
    or (nan, nan)."""
    if bounds is None or not np.isfinite(np.asarray(bounds, dtype=float)).all():
        return None
    return float(bounds[0]), float(bounds[1])


def _offset_labels(plot, element) -> None:
    """Plot hook: shift each label by its `pixel_offset` (screen pixels, so it stays put when zooming).
    HoloViews leaves extra label dimensions out of the data source, so the hook adds the column."""
    plot.handles["source"].data["pixel_offset"] = element.dimension_values("pixel_offset")
    plot.handles["glyph"].y_offset = {"field": "pixel_offset"}
