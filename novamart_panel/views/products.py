"""Product performance (SPEC §4.4): a drill-down treemap of the product hierarchy, category comparison,
regional performance by quarter (with a quarter-by-quarter player), and the high-volume low-margin list.

A product is identified by (category, subcategory, product_name): product_id is unique per row of
product_sales.csv, and one product name (e.g. "Footwear") can sit under several subcategories.
"""
from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.models import NumberFormatter
from bokeh.palettes import Category10_10

from .. import format as fmt
from .. import palette
from ..analytics import product_insights as pi
from ..analytics.product_insights import PRODUCT_METRICS, text_column, with_margin, with_metric_text
from ..analytics.treemap import layout_children, tile_at
from ..data import product_queries as pq
from ..format import LAKH, escape_html, strong
from .base import (BAD, FILTER_DEPS, NEUTRAL, Section, chart, contrast_labels, csv_download, data_table, follow_map,
                   house_opts, html, html_download, insight, memoized, readable_text_colours,
                   section_header, shows, value_ticks, value_ticks_follow)
from .filters import FILTER_LABELS

LEVELS = ("category", "subcategory", "product_name")
LEVEL_NOUNS = ("categories", "subcategories", "products")
LEVEL_NAMES = ("Category", "Subcategory", "Product")
TOP_NAME = "All categories"
# The treemap is laid out in data units whose aspect equals the frame's pixel aspect, so squares stay square.
TREEMAP_FRAME = (640, 400)
# Sized by its frame, as small as it fits ("min" policies): Bokeh's "fixed" mode would also want a width and
# height (W-1005 FIXED_SIZING_MODE). With no policy the browser drew the treemap stretched and without its
# colour bar until some later change laid the page out again.
TREEMAP_SIZING = {"plot.sizing_mode": None, "plot.width_policy": "min", "plot.height_policy": "min"}
TREEMAP_BOX = (0.0, 0.0, 160.0, 100.0)
TREEMAP_CMAP = "RdYlGn"  # red = thin margins, green = rich ones
TREEMAP_TOOLS = ["reset", "save"]   # besides hover and the tap that drills down: panning a treemap shows nothing new
HEATMAP_CMAP = "viridis"
LABEL_CHAR_PX, LABEL_LINE_PX = 7.0, 16.0  # rough size of a 9pt label character and line

# The metrics a user may choose (a closed set: label -> column of PRODUCT_METRICS).
METRICS = {metric.label: column for column, metric in PRODUCT_METRICS.items()}
# The value axes and the heatmap's colour bar follow the metric chosen (base.value_ticks_follow).
METRIC_KINDS = {metric.label: metric.kind for metric in PRODUCT_METRICS.values()}
Y_TICKS, COLOUR_BAR_TICKS = value_ticks_follow("y", METRIC_KINDS), value_ticks_follow("colorbar", METRIC_KINDS)
ALL_CATEGORIES = "All categories"

HOVER = [("Sales", "sales"), ("Profit", "profit"), ("Margin", "margin"), ("Units sold", "units_sold")]
TABLE_COLUMNS = {  # screen column → (title, Tabulator number format)
    "label": ("Product", None), "subcategory": ("Subcategory", None), "category": ("Category", None),
    "units_sold": ("Units sold", "0,0"), "sales_lakh": ("Sales (₹ L)", "0,0.00"),
    "profit_lakh": ("Profit (₹ L)", "0,0.00"), "margin": ("Margin (%)", "0.0"),
    "lost_profit_lakh": ("Profit lost vs median margin (₹ L)", "0,0.00"),
}


def hover_tooltips(first: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Tooltips: the given leading rows, then the formatted product measures."""
    return first + [(label, f"@{text_column(column)}") for label, column in HOVER]


def colour_limits(values) -> tuple[float, float]:
    """The range of the finite values (a unit span around a single value), for a colour map."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if not finite.size:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    return (lo - 0.5, hi + 0.5) if lo == hi else (lo, hi)


def tile_label(name: str, margin_text: str, width_px: float, height_px: float) -> str:
    """The text a tile can hold: name and margin, the name alone, or nothing when it is too small."""
    if height_px >= 2 * LABEL_LINE_PX + 6 and width_px >= LABEL_CHAR_PX * max(len(name), len(margin_text)) + 8:
        return f"{name}\n{margin_text}"
    if height_px >= LABEL_LINE_PX + 4 and width_px >= LABEL_CHAR_PX * len(name) + 8:
        return name
    return ""


def side_card(title: str, body, *side, side_width: int = 320) -> pn.Card:
    """A card of one chart with its controls and insight beside it."""
    return pn.Card(pn.Row(body, pn.Column(*side, width=side_width, margin=(10, 10)), sizing_mode="stretch_width"),
                   title=title, collapsible=False, sizing_mode="stretch_width", margin=(10, 0))


class ProductSection(Section):
    """Product performance: which categories, subcategories and products sell, and at what margin."""

    title = "Product performance"
    slug = "products"
    tables = ("products",)
    spec_section = "4.4"

    path = param.List(default=[], item_type=str,
                      doc="The treemap's node: [] = categories, [category] = its subcategories, "
                          "[category, subcategory] = its products")
    category_metric = param.Selector(default="Sales", objects=list(METRICS), doc="Metric of the category bars")
    region_metric = param.Selector(default="Sales", objects=list(METRICS), doc="Metric of the region × quarter view")
    region_category = param.Selector(default=ALL_CATEGORIES, objects=[ALL_CATEGORIES],
                                     doc="Category of the region × quarter view")
    quarter = param.Selector(default=None, objects=[], doc="Quarter shown by the quarter-by-quarter player")
    volume_percentile = param.Integer(default=75, bounds=(0, 100),
                                      doc="Products selling more units than this percentile count as high volume")
    margin_percentile = param.Integer(default=25, bounds=(0, 100),
                                      doc="Products with a margin below this percentile count as low margin")

    def __init__(self, **params):
        super().__init__(**params)
        self.treemap_tap = None
        self._breadcrumb = None
        if not self.store.has("products"):
            return
        self.param.region_category.objects = [ALL_CATEGORIES, *pq.categories(self.store)]
        quarters = pq.quarters(self.store)
        self.param.quarter.objects = quarters
        if self.quarter is None and quarters:
            self.quarter = quarters[0]
        if self.date_range != self.filters.full_range:   # filters set before this section (a shared link's dates)
            self._quarter_in_selection()

    @param.depends("date_range", watch=True)
    def _quarter_in_selection(self) -> None:
        """The player's quarter moves to the first quarter of a date selection that leaves it out (else its
        chart shows a quarter with no data)."""
        if not self.param.quarter.objects:   # no products file (the section says so instead)
            return
        shown = list(dict.fromkeys(self.region_quarter()["quarter"]))   # the selection's quarters, in time order
        if shown and self.quarter not in shown:
            self.quarter = shown[0]

    # -- filters ---------------------------------------------------------------------------------
    def filter_note(self) -> str:
        """Regions apply; the date range applies by quarter; channels and campaign types do not."""
        ignored = [FILTER_LABELS[name].lower() for name in ("channels", "campaign_types")]
        return ("Global filters applied here: regions, and the date range by quarter (product sales are "
                "quarterly: a quarter is included when it overlaps the selected dates). "
                f"Not applicable to this data: {', '.join(ignored)}.")

    # -- data ------------------------------------------------------------------------------------
    @param.depends(*FILTER_DEPS)
    @memoized
    def product_totals(self) -> pd.DataFrame:
        """Sales, profit, units and margin per product under the filters; `label` tells apart products
        that share a name across subcategories."""
        frame = pq.product_sums(self.store, self.filter_state(), self.filters.full_range)
        shared = frame.groupby("product_name")["subcategory"].transform("size") > 1
        frame["label"] = frame["product_name"].where(~shared, frame["product_name"] + " (" + frame["subcategory"] + ")")
        return with_margin(frame)

    @param.depends(*FILTER_DEPS, "path")
    @memoized
    def treemap_tiles(self) -> pd.DataFrame:
        """The children of the current node laid out as treemap tiles (area = sales), with margin and texts."""
        tiles = layout_children(self.product_totals(), LEVELS, self.path, "sales", TREEMAP_BOX,
                                sums=("profit", "units_sold"))
        tiles = with_metric_text(with_margin(tiles))
        parent_sales = tiles["sales"].sum()
        tiles["share_text"] = [fmt.percent(s / parent_sales) if parent_sales else "n/a" for s in tiles["sales"]]
        tiles["x"] = (tiles["x0"] + tiles["x1"]) / 2
        tiles["y"] = (tiles["y0"] + tiles["y1"]) / 2
        px_per_x = TREEMAP_FRAME[0] / TREEMAP_BOX[2]
        px_per_y = TREEMAP_FRAME[1] / TREEMAP_BOX[3]
        tiles["label"] = [tile_label(str(name), text, (x1 - x0) * px_per_x, (y1 - y0) * px_per_y) for
                          name, text, x0, x1, y0, y1 in zip(tiles["name"], tiles[text_column("margin")], tiles["x0"],
                                                            tiles["x1"], tiles["y0"], tiles["y1"])]
        tiles["text_color"] = readable_text_colours(tiles["margin"], TREEMAP_CMAP, self.treemap_colour_limits())
        return tiles

    @param.depends(*FILTER_DEPS)
    @memoized
    def treemap_colour_limits(self) -> tuple[float, float]:
        """The margin range of single products: one colour scale for every level, so a colour means the
        same margin wherever the user drills (a level's aggregates lie within it)."""
        return colour_limits(self.product_totals()["margin"])

    @param.depends(*FILTER_DEPS, "category_metric")
    @memoized
    def category_metrics(self) -> pd.DataFrame:
        """Sums and margin per category and year; `value` is the chosen metric."""
        frame = with_margin(pq.category_year_sums(self.store, self.filter_state(), self.filters.full_range))
        frame["value"] = frame[METRICS[self.category_metric]]
        frame["year_label"] = frame["year"].astype(str)
        return frame

    @param.depends(*FILTER_DEPS, "region_metric", "region_category")
    @memoized
    def region_quarter(self) -> pd.DataFrame:
        """Sums and margin per region and quarter (quarters in time order) for the chosen category;
        `value` is the chosen metric."""
        category = None if self.region_category == ALL_CATEGORIES else self.region_category
        frame = with_margin(pq.region_quarter_sums(self.store, self.filter_state(), self.filters.full_range, category))
        frame["value"] = frame[METRICS[self.region_metric]]
        return frame

    @param.depends(*FILTER_DEPS, "region_metric", "region_category", "quarter")
    @memoized
    def quarter_regions(self) -> pd.DataFrame:
        """The region × quarter rows of the player's quarter."""
        frame = self.region_quarter()
        return frame[frame["quarter"] == self.quarter].reset_index(drop=True)

    @param.depends(*FILTER_DEPS, "volume_percentile", "margin_percentile")
    def volume_margin_screen(self) -> pi.VolumeMarginScreen:
        """Every product, flagged where units are high and margin is low (percentile cut-offs)."""
        return pi.high_volume_low_margin(self.product_totals(), self.volume_percentile, self.margin_percentile)

    @param.depends(*FILTER_DEPS, "volume_percentile", "margin_percentile")
    @memoized
    def flagged_products(self) -> pd.DataFrame:
        """The high-volume low-margin products, most units first (the list and its CSV)."""
        columns = ["category", "subcategory", "product_name", "label", "units_sold", "sales", "profit", "margin",
                   "lost_profit"]
        return self.volume_margin_screen().flagged[columns]

    @param.depends(*FILTER_DEPS, "volume_percentile", "margin_percentile")
    @memoized
    def flagged_table(self) -> pd.DataFrame:
        """The flagged products as the table shows them (money in lakh)."""
        frame = self.flagged_products()
        for column in ("sales", "profit", "lost_profit"):
            frame[f"{column}_lakh"] = frame[column] / LAKH
        return frame[list(TABLE_COLUMNS)].rename(columns={k: title for k, (title, _) in TABLE_COLUMNS.items()})

    # -- drill down ------------------------------------------------------------------------------
    def drill_at(self, x: float | None, y: float | None) -> bool:
        """Open the tile at data point (x, y): one level deeper. False when there is no tile there or the
        treemap already shows products."""
        if len(self.path) >= len(LEVELS) - 1:
            return False
        tiles = self.treemap_tiles()
        position = tile_at(tiles, x, y)
        if position is None:
            return False
        self.path = [*self.path, str(tiles["name"].iloc[position])]
        return True

    def back_up(self, event=None) -> None:
        """One level up (nothing at the top)."""
        self.path = list(self.path[:-1])

    def go_to(self, level: int) -> None:
        """Up to `level` of the current path (0 = all categories)."""
        self.path = list(self.path[:level])

    def _on_tap(self, x=None, y=None) -> None:
        self.drill_at(x, y)

    @param.depends("path")
    def level_text(self) -> str:
        """What the treemap shows now, as an HTML line whose data attributes name the level and path."""
        level = len(self.path)
        where = f" of {' › '.join(self.path)}" if self.path else ""
        hint = "click a tile to open it" if level < len(LEVELS) - 1 else "the finest level"
        return (f'<div class="treemap-level" data-level="{level}" data-path="{escape_html("/".join(self.path))}">'
                f"Showing <b>{LEVEL_NOUNS[level]}{escape_html(where)}</b> ({hint}).</div>")

    def breadcrumb(self) -> pn.Row:
        """Buttons for every level from the top to the current node (made once per section, relabelled
        as the path changes); those above the current node go back up to it."""
        if self._breadcrumb is None:
            self._crumbs = []
            for level in range(len(LEVELS)):
                button = pn.widgets.Button(color="primary", css_classes=["breadcrumb-item"], margin=(5, 2),
                                           sizing_mode=None)
                button.on_click(lambda event, level=level: self.go_to(level))
                self._crumbs.append(button)
            self._crumb_marks = [html("›", margin=(10, 2), sizing_mode=None, width=12)
                                 for _ in range(len(LEVELS) - 1)]
            items = [self._crumbs[0]]
            for mark, button in zip(self._crumb_marks, self._crumbs[1:]):
                items += [mark, button]
            self._breadcrumb = pn.Row(*items, css_classes=["treemap-breadcrumb"])
            self._relabel_breadcrumb()
        return self._breadcrumb

    @param.depends("path", watch=True)
    def _relabel_breadcrumb(self) -> None:
        if self._breadcrumb is None:
            return
        names = [TOP_NAME, *self.path]
        for level, button in enumerate(self._crumbs):
            name = names[level] if level < len(names) else ""
            current = level == len(names) - 1
            button.param.update(label=name, visible=level < len(names), disabled=current,
                                variant="solid" if current else "outline", width=max(90, 9 * len(name) + 30))
        for level, mark in enumerate(self._crumb_marks, start=1):
            mark.visible = level < len(names)

    # -- charts ----------------------------------------------------------------------------------
    @param.depends(*FILTER_DEPS, "path")
    def plot_tiles(self) -> hv.Rectangles:
        """The treemap's tiles: area = sales, colour = profit margin."""
        tiles = self.treemap_tiles()
        vdims = [hv.Dimension("margin", label="Profit margin (%)"), "name", "share_text",
                 *(text_column(c) for _, c in HOVER)]
        rects = hv.Rectangles(tiles, kdims=["x0", "y0", "x1", "y1"], vdims=vdims)
        x, y, width, height = TREEMAP_BOX
        scope = " › ".join(self.path) if self.path else "NovaMart"
        return house_opts(
            rects, color="margin", cmap=TREEMAP_CMAP, clim=self.treemap_colour_limits(), colorbar=True,
            clabel="Profit margin (%)", line_color="white", line_width=1.5, responsive=False, height=None,
            frame_width=TREEMAP_FRAME[0], frame_height=TREEMAP_FRAME[1], xaxis=None, yaxis=None,
            backend_opts=TREEMAP_SIZING,
            xlim=(x, x + width), ylim=(y, y + height), active_tools=[], default_tools=TREEMAP_TOOLS,
            hover_tooltips=hover_tooltips([(LEVEL_NAMES[len(self.path)], "@name"),
                                           ("Share of sales here", "@share_text")]),
            title=f"{scope} by {LEVEL_NAMES[len(self.path)].lower()}")

    @param.depends(*FILTER_DEPS, "path")
    def plot_tile_labels(self) -> hv.Overlay:
        """Name and margin on every tile large enough to hold them, black or white for contrast."""
        tiles = self.treemap_tiles()
        # The tiles' tools only: HoloViews' default pan and zooms would come with the labels (a tap drills down).
        return contrast_labels(tiles[tiles["label"] != ""], ["x", "y"], "label", "9pt", default_tools=TREEMAP_TOOLS)

    def plot_treemap(self) -> hv.Overlay:
        """The treemap as it is now: tiles and their labels."""
        return self.plot_tiles() * self.plot_tile_labels()

    @param.depends(*FILTER_DEPS, "category_metric")
    def plot_categories(self) -> hv.Element:
        """Bars of the chosen metric per category, one bar per year."""
        frame = with_metric_text(self.category_metrics())
        column = METRICS[self.category_metric]
        bars = hv.Bars(frame, kdims=[hv.Dimension("category", label="Category"),
                                     hv.Dimension("year_label", label="Year")],
                       vdims=[hv.Dimension("value", label=self.category_metric),
                              *(text_column(c) for _, c in HOVER)])
        years = sorted(frame["year_label"].unique())
        return house_opts(bars, cmap=dict(zip(years, Category10_10 * 3)), legend_position="right",
                          multi_level=False, show_legend=True,
                          hover_tooltips=hover_tooltips([("Category · year", "@category · @year_label")]),
                          title=f"{self.category_metric} by category and year",
                          yformatter=value_ticks(PRODUCT_METRICS[column].kind), hooks=[Y_TICKS])

    @param.depends(*FILTER_DEPS, "region_metric", "region_category")
    def plot_region_quarter(self) -> hv.Overlay:
        """Heatmap of the chosen metric: regions (rows) by quarter (columns, in time order), values printed."""
        frame = with_metric_text(self.region_quarter())  # in time order, regions sorted within each quarter
        column = METRICS[self.region_metric]
        frame["value_text"] = frame[text_column(column)]
        clim = colour_limits(frame["value"])
        frame["text_color"] = readable_text_colours(frame["value"], HEATMAP_CMAP, clim)
        heatmap = hv.HeatMap(frame, kdims=[hv.Dimension("quarter", label="Quarter"), hv.Dimension("region", label="Region")],
                             vdims=[hv.Dimension("value", label=self.region_metric),
                                    *(text_column(c) for _, c in HOVER)])
        heatmap = house_opts(heatmap, cmap=HEATMAP_CMAP, clim=clim, colorbar=True, line_color=None, invert_yaxis=True,
                             active_tools=[], hover_tooltips=hover_tooltips([("Region · quarter", "@region · @quarter")]),
                             colorbar_opts={"formatter": value_ticks(PRODUCT_METRICS[column].kind)},
                             hooks=[COLOUR_BAR_TICKS])
        labels = contrast_labels(frame, ["quarter", "region"], "value_text", "8pt")
        return (heatmap * labels).opts(
            title=f"{self.region_metric} by region and quarter — {self.region_category.lower()}")

    @param.depends(*FILTER_DEPS, "region_metric", "region_category", "quarter")
    def plot_quarter_regions(self) -> hv.Element:
        """Animated: the chosen metric per region in one quarter, on a scale fixed across quarters."""
        every_quarter = self.region_quarter()
        frame = with_metric_text(self.quarter_regions())
        column = METRICS[self.region_metric]
        values = every_quarter["value"].dropna()
        top = float(values.max()) if len(values) else 1.0
        bottom = min(float(values.min()), 0.0) if len(values) else 0.0
        regions = sorted(every_quarter["region"].unique())
        bars = hv.Bars(frame, kdims=[hv.Dimension("region", label="Region")],
                       vdims=[hv.Dimension("value", label=self.region_metric), *(text_column(c) for _, c in HOVER)])
        return house_opts(bars, color="region", cmap=palette.colours("region", regions), show_legend=False,
                          ylim=(bottom * 1.1, max(top, 0.0) * 1.1 or 1.0), active_tools=[],
                          hover_tooltips=hover_tooltips([("Region", "@region")]),
                          title=f"{self.region_metric} by region in {self.quarter} — {self.region_category.lower()}",
                          yformatter=value_ticks(PRODUCT_METRICS[column].kind), hooks=[Y_TICKS])

    @param.depends(*FILTER_DEPS, "volume_percentile", "margin_percentile")
    def plot_volume_margin(self) -> hv.Overlay:
        """Units sold against margin per product, the flagged quadrant in red, the cut-offs dashed."""
        screen = self.volume_margin_screen()
        frame = with_metric_text(screen.products)
        frame["status"] = np.where(frame["flagged"], "high volume, low margin", "other")
        frame["lost_profit_text"] = [fmt.rupees(v) for v in frame["lost_profit"]]
        points = hv.Scatter(frame, kdims=[hv.Dimension("units_sold", label="Units sold")],
                            vdims=[hv.Dimension("margin", label="Profit margin (%)"), "status", "label", "subcategory",
                                   "category", "lost_profit_text", *(text_column(c) for _, c in HOVER)])
        points = points.opts(color="status", cmap={"high volume, low margin": BAD, "other": NEUTRAL}, size=9,
                             alpha=0.85, line_color="white", tools=["hover"], legend_position="right",
                             hover_tooltips=hover_tooltips([("Product", "@label"), ("Subcategory", "@subcategory"),
                                                            ("Category", "@category")])
                             + [("Profit lost vs median margin", "@lost_profit_text")])
        guides = [hv.VLine(screen.volume_cut), hv.HLine(screen.margin_cut)] if np.isfinite(screen.volume_cut) else []
        guides = [g.opts(color="#888888", line_dash="dashed", line_width=1.5) for g in guides]
        return hv.Overlay([points, *guides]).opts(
            responsive=True, height=380, toolbar="above", active_tools=["wheel_zoom"],
            title=(f"Units vs margin per product (dashed: {pi.ordinal(self.volume_percentile)} pct. of units, "
                   f"{pi.ordinal(self.margin_percentile)} pct. of margin)"))

    def chart_objects(self) -> list[hv.Element]:
        """Every chart of the section as it is now (for the HTML download)."""
        return [self.plot_treemap(), self.plot_categories(), self.plot_region_quarter(),
                self.plot_quarter_regions(), self.plot_volume_margin()]

    # -- words -----------------------------------------------------------------------------------
    @param.depends(*FILTER_DEPS, "path")
    def insight_treemap(self) -> str:
        tiles = self.treemap_tiles()
        noun = LEVEL_NOUNS[len(self.path)]
        if tiles.empty:
            return f"Nothing sold under {strong(' › '.join(self.path) or TOP_NAME)} with these filters: go back up."
        scope = "NovaMart" if not self.path else " › ".join(self.path)
        return pi.leader_sentence(tiles, noun, scope)

    @param.depends(*FILTER_DEPS, "category_metric")
    def insight_categories(self) -> str:
        return pi.category_sentence(self.category_metrics(), METRICS[self.category_metric])

    @param.depends(*FILTER_DEPS, "region_metric", "region_category")
    def insight_region_quarter(self) -> str:
        scope = None if self.region_category == ALL_CATEGORIES else self.region_category
        return pi.region_quarter_sentence(self.region_quarter(), METRICS[self.region_metric], scope)

    @param.depends(*FILTER_DEPS, "region_metric", "region_category", "quarter")
    def insight_quarter(self) -> str:
        return pi.quarter_sentence(self.quarter_regions(), METRICS[self.region_metric], str(self.quarter))

    @param.depends(*FILTER_DEPS, "volume_percentile", "margin_percentile")
    def insight_volume_margin(self) -> str:
        return pi.screen_sentence(self.volume_margin_screen())

    # -- page ------------------------------------------------------------------------------------
    def export_frame(self) -> pd.DataFrame:
        """The product rows under the filters (contract columns), by product, region and quarter."""
        return pq.product_rows(self.store, self.filter_state(), self.filters.full_range)

    def treemap_chart(self) -> pn.pane.HoloViews:
        """The reactive treemap; a tap on a tile drills into it."""
        # Two DynamicMaps, not one of an overlay: HoloViews attaches a Tap stream to an element's plot only.
        tiles = follow_map(self.plot_tiles).opts(framewise=True)
        labels = follow_map(self.plot_tile_labels).opts(framewise=True)
        self.treemap_tap = hv.streams.Tap(source=tiles, x=None, y=None)
        self.treemap_tap.add_subscriber(self._on_tap)
        # The overlay's own plot would set its sizing with each update: it gets the same as the tiles.
        treemap = (tiles * labels).opts(backend_opts=TREEMAP_SIZING)
        return shows(pn.pane.HoloViews(treemap, linked_axes=False, css_classes=["treemap"]), treemap)

    def layout(self) -> pn.viewable.Viewable:
        back = pn.widgets.Button(label="⬑ Back up", color="primary", variant="outline", width=110,
                                 disabled=self.param.path.rx.pipe(lambda path: not path),
                                 css_classes=["treemap-back"], margin=(5, 10))
        back.on_click(self.back_up)
        treemap = pn.Card(
            pn.Row(back, self.breadcrumb(), sizing_mode="stretch_width"),
            html(self.level_text, sizing_mode="stretch_width", margin=(0, 10)),
            pn.Row(self.treemap_chart(), pn.Column(insight(self.insight_treemap), sizing_mode="stretch_width",
                                                   min_width=200, margin=(10, 10)), sizing_mode="stretch_width"),
            title="Product hierarchy: sales (area) and profit margin (colour) — click a tile to drill down",
            collapsible=False, sizing_mode="stretch_width", margin=(10, 0))
        description = ("Which categories, subcategories and products sell, and at what margin. Click a treemap "
                       "tile to drill down, *Back up* or the breadcrumb to go up. Hover any chart for the numbers; "
                       "each chart's toolbar saves it as PNG.")
        header = section_header(self, description)
        header.append(html_download(self.chart_objects, "novamart_products_charts.html"))
        categories = side_card("Category comparison", chart(self.plot_categories),
                               self.widget("category_metric", pn.widgets.RadioButtonGroup, name="Metric"),
                               insight(self.insight_categories))
        return pn.Column(header, treemap, categories, self.cards_later(self._cards_below), sizing_mode="stretch_width")

    def _cards_below(self) -> list[pn.Card]:
        """The views below the first screen: regions by quarter, quarter by quarter, high volume and low margin."""
        table = data_table(
            self.flagged_table, show_index=False, disabled=True, layout="fit_columns", sizing_mode="stretch_width",
            formatters={title: NumberFormatter(format=number, nan_format="n/a", null_format="n/a")
                        for title, number in TABLE_COLUMNS.values() if number},
            text_align={title: "right" for title, number in TABLE_COLUMNS.values() if number},
            widths={"Product": 170, "Subcategory": 120, "Category": 120},
            configuration={"columnDefaults": {"headerWordWrap": True}})
        return [
            side_card("Regional performance by quarter", chart(self.plot_region_quarter, height=320),
                      self.widget("region_metric", name="Metric"), self.widget("region_category", name="Category"),
                      insight(self.insight_region_quarter)),
            side_card("Quarter by quarter (press play; metric and category as above)", chart(self.plot_quarter_regions),
                      self.widget("quarter", pn.widgets.DiscretePlayer, name="Quarter", interval=1200,
                                  loop_policy="once", show_loop_controls=False),
                      insight(self.insight_quarter)),
            side_card("High volume, low margin", chart(self.plot_volume_margin),
                      self.widget("volume_percentile", pn.widgets.IntSlider, name="Volume above percentile", step=5),
                      self.widget("margin_percentile", pn.widgets.IntSlider, name="Margin below percentile", step=5),
                      insight(self.insight_volume_margin)),
            pn.Card(table, csv_download(self.flagged_products, "novamart_high_volume_low_margin.csv",
                                        "Download list (CSV)"),
                    title="High-volume low-margin products (click a column to sort)", collapsible=False,
                    sizing_mode="stretch_width", margin=(10, 0)),
        ]
