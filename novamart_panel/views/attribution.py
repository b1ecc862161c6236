"""Attribution & funnel (SPEC §4.6): the conversion funnel, a donut of channel credit under a chosen
attribution model, credit computed from the customer journeys beside the provided table, the metric
correlation heatmap and a Sankey of the journeys.

The four files behind it (funnel_data.csv, channel_attribution.csv, customer_journey.csv,
correlation_matrix.csv) have no date, channel, region or campaign-type columns, so no global filter
applies. Each view needs only its own file: a missing or unusable file replaces that view with a notice
and leaves the others working.
"""
from __future__ import annotations

import math

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.models import ColumnDataSource, HoverTool, NumberFormatter, SaveTool
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

from ..analytics import attribution_insights as ai
from ..analytics.attribution import MODEL_NAMES, attribute, credit_shares, journeys_from_touchpoints, \
    markov_removal_effects
from ..analytics.attribution_insights import CONVERSION_NODE, EXIT_NODE, MODEL_LABELS, model_label
from ..analytics.funnel import funnel_steps
from ..data.contract import ATTRIBUTION_MODELS
from ..data.queries import FilterState, campaign_totals
from ..palette import colours as palette_colours
from ..format import count, number, percent
from .base import (BAD, GOOD, Section, card, chart, data_table, house_opts, insight, markdown, memoized, notice,
                   readable_text_colours, section_header, table_label)

PROVIDED, COMPUTED = "Provided (channel_attribution.csv)", "Computed from journeys"
SOURCE_TABLES = {PROVIDED: "attribution", COMPUTED: "journeys"}
MODELS_BY_SOURCE = {
    PROVIDED: {MODEL_LABELS[m]: m for m in ATTRIBUTION_MODELS},
    COMPUTED: {MODEL_LABELS[m]: m for m in MODEL_NAMES},
}
CREDIT_PARAMS = ("half_life", "first_weight", "last_weight")
DONUT_PARAMS = ("credit_source", "model", *CREDIT_PARAMS)

FUNNEL_COLOUR = "#0072B5"
BAR_HALF_HEIGHT = 0.3   # of the 1 unit between funnel stages: the rest is room for the drop-off labels
CORRELATION_CMAP = "RdBu_r"   # diverging: blue negative, white 0, red positive
DONUT_INNER, DONUT_OUTER = 0.58, 1.0
DONUT_SIZE = 400
LABEL_RADIUS = (DONUT_INNER + DONUT_OUTER) / 2
MIN_LABEL_TURN = 0.03   # wedges under 3 % of the ring are too narrow for a label (the hover has it)
MODEL_COLOURS = dict(zip(MODEL_LABELS.values(), Category10_10, strict=False))
OUTCOME_COLOURS = {CONVERSION_NODE: GOOD, EXIT_NODE: BAD}


def text_colour() -> str:
    """Chart text that reads on the page's background (light or dark theme)."""
    return "#e6e6e6" if pn.config.theme == "dark" else "#222222"


def channel_colours(channels, touchpoints) -> dict[str, str]:
    """One colour per name across both files and the whole app (`palette`): Email is Email's colour everywhere."""
    return palette_colours("channel", [*channels, *touchpoints])


def donut_wedges(shares: pd.Series, conversions: pd.Series | None, colours: dict[str, str]) -> pd.DataFrame:
    """One wedge per channel, largest first, clockwise from 12 o'clock (Bokeh angles in radians).

    `shares` are percent; wedge angles are of their sum, so a table that does not add up to 100 still
    fills the ring. `conversions` (computed models) are the conversions credited, else n/a in the hover.
    """
    ordered = shares.fillna(0.0).sort_values(ascending=False, kind="stable")
    total = float(ordered.sum())
    turns = (ordered / total).to_numpy() if total > 0 else np.zeros(len(ordered))
    ends = np.cumsum(turns)
    starts = ends - turns
    credited = conversions.reindex(ordered.index) if conversions is not None else None
    return pd.DataFrame({
        "channel": ordered.index.astype(str),
        "share": ordered.to_numpy(dtype=float),
        "conversions": credited.to_numpy(dtype=float) if credited is not None else np.nan,
        "share_text": [percent(v, decimals=1, scale=100) for v in ordered],
        "conversions_text": [count(v) for v in credited] if credited is not None
        else "not in the file (it gives shares only)",
        "color": [colours.get(name, "#888888") for name in ordered.index],
        "start_angle": math.pi / 2 - 2 * math.pi * ends,
        "end_angle": math.pi / 2 - 2 * math.pi * starts,
        # Percentage label in the middle of the ring, on wedges wide enough for it.
        "label_x": LABEL_RADIUS * np.cos(math.pi / 2 - math.pi * (starts + ends)),
        "label_y": LABEL_RADIUS * np.sin(math.pi / 2 - math.pi * (starts + ends)),
        "label_text": [percent(v, decimals=0, scale=100) if turn >= MIN_LABEL_TURN else ""
                       for v, turn in zip(ordered, turns)],
        "label_color": [ink_on(colours.get(name, "#888888")) for name in ordered.index],
    })


def ink_on(fill: str) -> str:
    """Black or white text, whichever reads better on `fill` ('#rrggbb'; WCAG relative luminance)."""
    channels = [int(fill[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return "#000000" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.179 else "#ffffff"


def _sankey_text_colour(plot, element) -> None:
    """Plot hook: Sankey node labels in the theme's text colour (HoloViews has no option for it)."""
    for name, handle in plot.handles.items():
        if name.startswith("text") and name.endswith("glyph"):
            handle.text_color = text_colour()


class AttributionSection(Section):
    """Funnel, channel credit (provided and computed from journeys), correlations and journeys."""

    title = "Attribution & funnel"
    slug = "attribution"
    # Empty: each view needs only its own file and shows a notice in its place when it is missing.
    tables = ()
    also_reads = ('attribution', 'funnel', 'journeys', 'correlations', 'campaigns')
    spec_section = "4.6"

    credit_source = param.Selector(default=PROVIDED, objects=[PROVIDED, COMPUTED], label="Credit from",
                                   doc="The provided table, or credit computed from the journey paths")
    model = param.Selector(default="last_touch", objects=MODELS_BY_SOURCE[PROVIDED], label="Attribution model",
                           doc="How a conversion's credit is shared among the touchpoints of its journey")
    half_life = param.Number(default=1.0, bounds=(0.25, 4.0), step=0.25, label="Time decay: half-life (touchpoints)",
                             doc="A touch this many steps before the conversion counts half as much as the last")
    first_weight = param.Number(default=0.4, bounds=(0.05, 0.95), step=0.05, label="Position based: first-touch share",
                                doc="Share of a path's conversion given to its first touch")
    last_weight = param.Number(default=0.4, bounds=(0.05, 0.95), step=0.05, label="Position based: last-touch share",
                               doc="Share of a path's conversion given to its last touch")

    def __init__(self, **params):
        super().__init__(**params)
        self._journeys: pd.DataFrame | None = None
        self._journey_problem: str | None = None
        if self.store.has("journeys"):
            try:
                self._journeys = journeys_from_touchpoints(self.store.table("journeys"))
            except ValueError as exc:
                self._journey_problem = f"{table_label('journeys')} cannot be read as journeys: {exc}"
        sources = [source for source in (PROVIDED, COMPUTED) if self.has_view(SOURCE_TABLES[source])]
        self.param.credit_source.objects = sources or [PROVIDED]
        if self.credit_source not in self.param.credit_source.objects:
            self.credit_source = self.param.credit_source.objects[0]
        self._offer_models()
        touchpoints = self.computed_credit().index if self.has_view("journeys") else []
        channels = self.provided_shares().index if self.has_view("attribution") else []
        self.colours = channel_colours(channels, touchpoints)

    # -- which views can be drawn -----------------------------------------------------------------
    def has_view(self, table: str) -> bool:
        """Whether the file behind a view loaded (and, for the journeys, reads as journeys)."""
        if table == "journeys":
            return self._journeys is not None
        return self.store.has(table)

    def view_problem(self, table: str) -> str:
        """Why a view is not drawn, and what to do about it."""
        if table == "journeys" and self._journey_problem:
            return self._journey_problem
        return self.missing_message(table)

    # -- controls that follow each other ----------------------------------------------------------
    @param.depends("credit_source", watch=True)
    def _offer_models(self) -> None:
        """The models of the chosen source (5 provided, 7 computed); keep the model if it has it."""
        models = MODELS_BY_SOURCE[self.credit_source]
        self.param.model.objects = models
        if self.model not in models.values():
            self.model = "last_touch"

    @param.depends("first_weight", watch=True)
    def _fit_last_weight(self) -> None:
        if self.first_weight + self.last_weight > 1 + 1e-9:
            self.last_weight = round(1 - self.first_weight, 2)

    @param.depends("last_weight", watch=True)
    def _fit_first_weight(self) -> None:
        if self.first_weight + self.last_weight > 1 + 1e-9:
            self.first_weight = round(1 - self.last_weight, 2)

    # -- data -------------------------------------------------------------------------------------
    @param.depends()
    @memoized
    def funnel(self) -> pd.DataFrame:
        """funnel_data.csv as stage-to-stage conversion and drop-off (see `analytics.funnel.funnel_steps`)."""
        return funnel_steps(self.store.table("funnel"))

    @param.depends()
    @memoized
    def provided_shares(self) -> pd.DataFrame:
        """channel_attribution.csv: percent of conversions per channel (rows) and model (columns)."""
        table = self.store.table("attribution").set_index("channel")[list(ATTRIBUTION_MODELS)]
        table.columns.name = "model"
        return table

    @param.depends()
    @memoized
    def journeys(self) -> pd.DataFrame:
        """customer_journey.csv as paths with conversions and non-conversions."""
        return self._journeys

    def position_weights(self) -> tuple[float, float]:
        """First and last shares for the position-based model, rounded off slider steps, summing ≤ 1."""
        first = round(self.first_weight, 4)
        return first, min(round(self.last_weight, 4), round(1 - first, 4))

    @param.depends(*CREDIT_PARAMS)
    @memoized
    def computed_credit(self) -> pd.DataFrame:
        """Conversions credited per touchpoint (rows) under each of the 7 computed models (columns)."""
        first, last = self.position_weights()
        return attribute(self.journeys(), half_life=self.half_life, first=first, last=last)

    @param.depends(*CREDIT_PARAMS)
    @memoized
    def computed_shares(self) -> pd.DataFrame:
        """The computed credit as percent of conversions."""
        return credit_shares(self.computed_credit())

    @param.depends()
    def removal_effects(self) -> pd.Series:
        """Markov removal effect per touchpoint (fraction of conversions lost without it)."""
        return markov_removal_effects(self.journeys())

    @param.depends(*DONUT_PARAMS)
    @memoized
    def donut_credit(self) -> pd.DataFrame:
        """The donut's wedges: each channel's share under the chosen model of the chosen source."""
        if self.credit_source == COMPUTED:
            credit = self.computed_credit()[self.model]
            return donut_wedges(credit_shares(credit), credit, self.colours)
        return donut_wedges(self.provided_shares()[self.model], None, self.colours)

    @param.depends(*DONUT_PARAMS)
    @memoized
    def donut_centre(self) -> dict[str, list]:
        """The text in the donut's hole: the conversions shared out: those of the journeys (computed), or the
        campaign data's (all campaigns, whole period) for the provided shares, which carry no count."""
        wedges = self.donut_credit()
        if self.credit_source == COMPUTED:
            value, caption = count(wedges["conversions"].sum()), "conversions"
        elif self.store.has("campaigns"):
            value, caption = count(campaign_totals(self.store, FilterState())["conversions"]), "campaign conversions"
        else:
            value, caption = count(len(wedges)), "channels (shares only)"
        return {"text": [value, caption], "y": [0.1, -0.14], "size": ["26px", "13px"]}

    @param.depends()
    @memoized
    def correlation_cells(self) -> pd.DataFrame:
        """correlation_matrix.csv, one row per cell (``row_metric, column_metric, r``) in file order."""
        return ai.correlation_cells(self.store.table("correlations"))

    @param.depends()
    @memoized
    def journey_flows(self) -> pd.DataFrame:
        """Sankey edges of the journeys: step nodes, then Purchase or Exit, weighted by customers."""
        return ai.journey_flows(self.journeys())

    def credit_long(self) -> pd.DataFrame:
        """Provided and computed credit in long form: source, channel, model, share (%), conversions."""
        frames = []
        if self.has_view("attribution"):
            provided = self.provided_shares().stack().rename("credit_share_pct").reset_index()
            frames.append(provided.assign(source="provided", conversions_credited=np.nan))
        if self.has_view("journeys"):
            credit = self.computed_credit()
            computed = credit_shares(credit).stack().rename("credit_share_pct").reset_index()
            computed["conversions_credited"] = credit.stack().to_numpy()
            frames.append(computed.assign(source="computed from customer_journey.csv"))
        columns = ["source", "channel", "model", "credit_share_pct", "conversions_credited"]
        if not frames:
            return pd.DataFrame(columns=columns)
        return pd.concat(frames, ignore_index=True)[columns]

    def export_frame(self) -> pd.DataFrame:
        """The credit tables (provided and computed with the current settings), long form."""
        return self.credit_long()

    # -- charts -----------------------------------------------------------------------------------
    @param.depends()
    def plot_funnel(self) -> hv.Overlay:
        """Stage bars centred like a funnel, visitors and stage-to-stage conversion to the right, the
        share lost between stages to the left."""
        steps = self.funnel()
        widest = float(steps["visitors"].max()) if len(steps) else 1.0
        widest = widest if widest > 0 else 1.0
        # A stage without a visitor count is drawn as an empty bar (its hover and label say n/a).
        half = np.nan_to_num(steps["visitors"].to_numpy(dtype=float), nan=0.0) / 2
        y = -np.arange(len(steps), dtype=float)
        pad = 0.02 * widest
        bars = steps.assign(
            x0=-half, x1=half, y0=y - BAR_HALF_HEIGHT, y1=y + BAR_HALF_HEIGHT,
            visitors_text=[count(v) for v in steps["visitors"]],
            from_previous_text=[percent(v) for v in steps["from_previous"]],
            from_top_text=[percent(v, decimals=2) for v in steps["from_top"]],
            drop_off_text=[count(v) if np.isfinite(v) else "n/a" for v in steps["drop_off"]],
        )
        rects = hv.Rectangles(bars, kdims=["x0", "y0", "x1", "y1"],
                              vdims=["stage", "visitors_text", "from_previous_text", "from_top_text", "drop_off_text"])
        rects = rects.opts(color=FUNNEL_COLOUR, line_color=None, tools=["hover"], hover_tooltips=[
            ("Stage", "@stage"), ("Visitors", "@visitors_text"), ("From previous stage", "@from_previous_text"),
            ("From the top", "@from_top_text"), ("Lost since previous stage", "@drop_off_text")])
        # Light trapezoids between consecutive bars show the flow that continues.
        connectors = hv.Polygons([
            {"x": [-half[i], half[i], half[i + 1], -half[i + 1]],
             "y": [y[i] - BAR_HALF_HEIGHT, y[i] - BAR_HALF_HEIGHT, y[i + 1] + BAR_HALF_HEIGHT, y[i + 1] + BAR_HALF_HEIGHT]}
            for i in range(len(steps) - 1)]).opts(color=FUNNEL_COLOUR, alpha=0.18, line_color=None, tools=[])
        value_text = [f"{count(v)}" + ("" if i == 0 else f" · {percent(r)}")
                      for i, (v, r) in enumerate(zip(steps["visitors"], steps["from_previous"]))]
        values = hv.Labels({"x": half + pad, "y": y, "text": value_text}, ["x", "y"], "text").opts(
            text_align="left", text_font_size="9pt", text_color=text_colour())
        later = steps.iloc[1:]
        drops = hv.Labels({"x": -half[1:] - pad, "y": y[1:] + 0.5,
                           "text": [f"▼ {percent(r)} lost ({count(d)})" for r, d in
                                    zip(later["drop_off_rate"], later["drop_off"])]},
                          ["x", "y"], "text").opts(text_align="right", text_font_size="8pt", text_color=BAD)
        return (connectors * rects * values * drops).opts(
            responsive=True, height=380, toolbar="above", xaxis=None, show_grid=False,
            yticks=list(zip(y, steps["stage"])), ylabel="", xlim=(-0.95 * widest, 0.95 * widest),
            ylim=(y[-1] - 0.6, 0.6) if len(y) else (-1, 1), active_tools=[],
            title="Visitors per stage · % of the previous stage")

    def donut_figure(self, interactive: bool = True):
        """A Bokeh donut of the credit under the chosen model; when `interactive`, its data source follows
        the controls (a static copy otherwise, e.g. for the report)."""
        wedges = ColumnDataSource(dict(ColumnDataSource.from_df(self.donut_credit())), name="attribution-donut")
        centre = ColumnDataSource(self.donut_centre(), name="attribution-donut-centre")
        colour = text_colour()
        # match_aspect keeps the ring round whatever room the legend and title take.
        plot = figure(width=DONUT_SIZE + 170, height=DONUT_SIZE, match_aspect=True, tools=[],
                      toolbar_location="above", min_border=4, title=self._donut_title(), sizing_mode="fixed")
        renderer = plot.annular_wedge(
            x=0, y=0, inner_radius=DONUT_INNER, outer_radius=DONUT_OUTER, start_angle="start_angle",
            end_angle="end_angle", fill_color="color", line_color="white" if colour != "#e6e6e6" else None,
            line_width=1.5, hover_fill_alpha=0.75, hover_fill_color="color", source=wedges, legend_field="channel")
        plot.text(x=0, y="y", text="text", text_font_size="size", source=centre, text_align="center",
                  text_baseline="middle", text_color=colour, text_font_style="bold")
        plot.text(x="label_x", y="label_y", text="label_text", text_color="label_color", source=wedges,
                  text_align="center", text_baseline="middle", text_font_size="10pt", text_font_style="bold")
        plot.add_tools(HoverTool(renderers=[renderer], tooltips=[
            ("Channel", "@channel"), ("Share of conversions", "@share_text"),
            ("Conversions credited", "@conversions_text")]), SaveTool())
        legend = plot.legend[0]
        plot.add_layout(legend, "right")
        legend.update(label_text_color=colour, background_fill_alpha=0.0, border_line_alpha=0.0,
                      label_text_font_size="10pt")
        plot.axis.visible = False
        plot.grid.visible = False
        plot.outline_line_color = None
        plot.background_fill_alpha = 0.0
        plot.border_fill_alpha = 0.0
        plot.title.text_color = colour

        def redraw(*events):
            wedges.data = dict(ColumnDataSource.from_df(self.donut_credit()))
            centre.data = self.donut_centre()
            plot.title.text = self._donut_title()

        if interactive:
            self.param.watch(redraw, list(DONUT_PARAMS))
        return plot

    def _donut_title(self) -> str:
        return f"{model_label(self.model)} ({'provided' if self.credit_source == PROVIDED else 'computed'})"

    def _credit_bars(self, shares: pd.DataFrame, conversions: pd.DataFrame | None, title: str) -> hv.Bars:
        long = shares.stack().rename("share").reset_index()
        long["model_label"] = [model_label(m) for m in long["model"]]
        long["share_text"] = [percent(v, decimals=1, scale=100) for v in long["share"]]
        long["conversions_text"] = ([count(v) for v in conversions.stack()] if conversions is not None
                                    else "not in the file")
        models = hv.Dimension("model_label", label="Model", values=[model_label(m) for m in shares.columns])
        bars = hv.Bars(long, kdims=[hv.Dimension("channel", label="Channel"), models],
                       vdims=[hv.Dimension("share", label="Share of conversions (%)"), "share_text", "conversions_text"])
        return house_opts(bars, cmap=MODEL_COLOURS, multi_level=False, show_legend=True,
                          legend_position="top", legend_opts={"orientation": "horizontal"}, height=340,
                          active_tools=[],
                          hover_tooltips=[("Channel · model", "@channel · @model_label"), ("Share", "@share_text"),
                                          ("Conversions credited", "@conversions_text")],
                          title=title)

    @param.depends()
    def plot_provided(self) -> hv.Bars:
        """Grouped bars: the provided share of each campaign channel under the 5 models."""
        return self._credit_bars(self.provided_shares(), None,
                                 "Provided: campaign channels (channel_attribution.csv)")

    @param.depends(*CREDIT_PARAMS)
    def plot_computed(self) -> hv.Bars:
        """Grouped bars: the computed share of each journey touchpoint under the 7 models."""
        return self._credit_bars(self.computed_shares(), self.computed_credit(),
                                 "Computed: journey touchpoints (customer_journey.csv)")

    @param.depends()
    def plot_removal_effects(self) -> hv.Bars:
        """Markov removal effect per touchpoint, largest on top."""
        effects = self.removal_effects().sort_values(kind="stable")
        frame = pd.DataFrame({"channel": effects.index, "effect": 100 * effects.to_numpy(),
                              "effect_text": [percent(v) for v in effects]})
        bars = hv.Bars(frame, kdims=[hv.Dimension("channel", label="Touchpoint")],
                       vdims=[hv.Dimension("effect", label="Conversions lost without it (%)"), "effect_text"])
        return house_opts(bars, invert_axes=True, color=FUNNEL_COLOUR, height=300, active_tools=[],
                          hover_tooltips=[("Touchpoint", "@channel"), ("Removal effect", "@effect_text")],
                          title="Markov removal effect")

    @param.depends()
    def plot_correlations(self) -> hv.Overlay:
        """Heatmap of the correlation matrix, r printed in each cell, colour centred on 0."""
        cells = self.correlation_cells()
        cells["r_text"] = [number(v) if np.isfinite(v) else "n/a" for v in cells["r"]]
        cells["text_colour"] = readable_text_colours(cells["r"], CORRELATION_CMAP, (-1.0, 1.0))
        kdims = [hv.Dimension("column_metric", label="Column metric"), hv.Dimension("row_metric", label="Row metric")]
        heatmap = hv.HeatMap(cells, kdims=kdims, vdims=[hv.Dimension("r", label="Correlation (r)"), "r_text"])
        heatmap = house_opts(heatmap, cmap=CORRELATION_CMAP, clim=(-1.0, 1.0), colorbar=True,
                             invert_yaxis=True, xrotation=40, line_color=None, height=460, active_tools=[],
                             default_tools=["save"], xlabel="", ylabel="",
                             hover_tooltips=[("Row metric", "@row_metric"), ("Column metric", "@column_metric"),
                                             ("r", "@r_text")])
        labels = hv.Labels(cells, kdims=kdims, vdims=["r_text", "text_colour"]).opts(
            text_color="text_colour", text_font_size="8pt")
        return (heatmap * labels).opts(title="Correlation between marketing metrics")

    @param.depends()
    def plot_journeys(self) -> hv.Element:
        """Sankey of the journeys: touchpoints by step, ending in Purchase or Exit, widths by customers."""
        flows = self.journey_flows()
        if flows.empty:  # HoloViews cannot lay out a Sankey without edges
            return hv.Curve([]).opts(title="No customer is on any journey", responsive=True, height=200,
                                     xaxis=None, yaxis=None)
        customers = float(self.journeys()[["conversions", "non_conversions"]].to_numpy().sum())
        flows["customers_text"] = [count(v) for v in flows["customers"]]
        flows["share_text"] = [percent(v / customers) if customers else "n/a" for v in flows["customers"]]
        through = pd.concat([flows.groupby("source")["customers"].sum(), flows.groupby("target")["customers"].sum()],
                            axis=1).max(axis=1)
        nodes = pd.DataFrame({"index": through.index, "label": [f"{node}: {count(v)}" for node, v in through.items()]})
        node_colours = {node: OUTCOME_COLOURS.get(node, self.colours.get(node.split(" · ", 1)[-1], "#888888"))
                        for node in nodes["index"]}
        sankey = hv.Sankey((flows, hv.Dataset(nodes, "index", "label")), kdims=["source", "target"],
                           vdims=[hv.Dimension("customers", label="Customers"), "customers_text", "share_text"])
        # A fixed size: HoloViews lays the Sankey out in a fixed box, it cannot follow the page width.
        return house_opts(sankey, responsive=False, width=720, height=440, labels="label", show_values=False,
                          node_color="index", cmap=node_colours, edge_color="target", edge_cmap=node_colours,
                          edge_alpha=0.45, node_width=18, label_position="right", label_text_font_size="9pt",
                          hooks=[_sankey_text_colour], active_tools=[], default_tools=["save"],
                          hover_tooltips=[("From", "@source"), ("To", "@target"), ("Customers", "@customers_text"),
                                          ("Share of all customers", "@share_text")],
                          title="Customer journeys: step · touchpoint → Purchase or Exit (width = customers)")

    # -- words ------------------------------------------------------------------------------------
    @param.depends()
    def insight_funnel(self) -> str:
        if not self.has_view("funnel"):
            return ""
        steps = self.funnel()
        rates = ai.funnel_rate_sentence(steps)
        return ai.funnel_drop_sentence(steps) + (f"\n\n{rates}" if rates else "")

    @param.depends(*DONUT_PARAMS)
    def insight_donut(self) -> str:
        if not self.has_view(SOURCE_TABLES[self.credit_source]):
            return ""
        if self.credit_source == COMPUTED:
            credit = self.computed_credit()
            shares = credit_shares(credit)
            top = ai.top_credit_sentence(shares[self.model], self.model, credit[self.model],
                                         source="computed from the journeys")
        else:
            shares = self.provided_shares()
            top = ai.top_credit_sentence(shares[self.model], self.model)
        shift = ai.first_last_shift_sentence(shares)
        return top + (f"\n\n{shift}" if shift else "")

    @param.depends(*CREDIT_PARAMS)
    def insight_comparison(self) -> str:
        sentences = []
        if self.has_view("attribution") and self.has_view("journeys"):
            sentences.append(ai.shared_names_sentence(self.provided_shares().index, self.computed_credit().index))
        if self.has_view("journeys"):
            sentences.append(ai.removal_effect_sentence(self.removal_effects()))
            sentences.append(ai.model_leaders_sentence(self.computed_shares()))
        return "\n\n".join(sentences)

    @param.depends()
    def insight_correlations(self) -> str:
        return ai.correlation_sentence(self.correlation_cells()) if self.has_view("correlations") else ""

    @param.depends()
    def insight_journeys(self) -> str:
        return ai.journey_sentence(self.journeys()) if self.has_view("journeys") else ""

    def chart_objects(self) -> list:
        """The charts whose files loaded, as they stand now (for the report)."""
        charts = []
        if self.has_view("funnel"):
            charts.append(self.plot_funnel())
        if self.has_view(SOURCE_TABLES[self.credit_source]):
            charts.append(self.donut_figure(interactive=False))
        if self.has_view("attribution"):
            charts.append(self.plot_provided())
        if self.has_view("journeys"):
            charts += [self.plot_computed(), self.plot_removal_effects()]
        if self.has_view("correlations"):
            charts.append(self.plot_correlations())
        if self.has_view("journeys"):
            charts.append(self.plot_journeys())
        return charts

    # -- layout -----------------------------------------------------------------------------------
    def _credit_table(self, frame_fn) -> pn.widgets.Tabulator:
        return data_table(
            frame_fn, show_index=False, disabled=True, layout="fit_columns", sizing_mode="stretch_width",
            formatters={c: NumberFormatter(format="0.0", nan_format="n/a") for c in
                        [*MODEL_LABELS.values(), "Markov removal effect (%)"]},
            text_align={c: "right" for c in [*MODEL_LABELS.values(), "Markov removal effect (%)"]},
            configuration={"columnDefaults": {"headerWordWrap": True}})

    @param.depends()
    @memoized
    def provided_table(self) -> pd.DataFrame:
        """The provided shares as shown in the table: a Channel column, one column per model (%)."""
        shares = self.provided_shares().rename(columns=model_label)
        return shares.rename_axis("Channel").reset_index()

    @param.depends(*CREDIT_PARAMS)
    @memoized
    def computed_table(self) -> pd.DataFrame:
        """The computed shares as shown in the table, with the Markov removal effect (%)."""
        shares = self.computed_shares().rename(columns=model_label)
        shares["Markov removal effect (%)"] = 100 * self.removal_effects()
        return shares.rename_axis("Touchpoint").reset_index()

    def _card(self, title: str, tables: tuple[str, ...], build) -> pn.Card:
        """A card of the view `build()` makes, or a notice when none of `tables` can feed it."""
        ready = [t for t in tables if self.has_view(t)]
        body = build() if ready else [notice(" ".join(self.view_problem(t) for t in tables), kind="warning")]
        return card(title, *body, margin=(10, 0))

    def _side(self, *items, width: int = 340) -> pn.Column:
        return pn.Column(*items, width=width, margin=(10, 10))

    def _funnel_view(self):
        return [pn.Row(chart(self.plot_funnel), self._side(insight(self.insight_funnel())),
                       sizing_mode="stretch_width")]

    def _donut_view(self):
        # One above the other: side by side, the two long source names overflowed the 380-px column.
        controls = [pn.widgets.RadioButtonGroup.from_param(self.param.credit_source, color="primary", variant="outline",
                                                           orientation="vertical", sizing_mode="stretch_width"),
                    pn.widgets.Select.from_param(self.param.model, sizing_mode="stretch_width")]
        missing = [notice(self.view_problem(SOURCE_TABLES[source]) + " Only the other credit is shown.", kind="light")
                   for source in (PROVIDED, COMPUTED) if not self.has_view(SOURCE_TABLES[source])]
        donut_insight = insight(self.insight_donut)
        donut_insight.css_classes = [*donut_insight.css_classes, "donut-insight"]
        return [pn.Row(pn.pane.Bokeh(self.donut_figure(), sizing_mode="fixed", css_classes=["attribution-donut"]),
                       self._side(*controls, donut_insight, *missing, width=380), sizing_mode="stretch_width")]

    def _comparison_view(self):
        sliders = [pn.widgets.FloatSlider.from_param(getattr(self.param, name), sizing_mode="stretch_width")
                   for name in CREDIT_PARAMS]
        provided = ([chart(self.plot_provided, height=340), self._credit_table(self.provided_table())]
                    if self.has_view("attribution") else [notice(self.view_problem("attribution"), kind="warning")])
        return [
            markdown("Credit **computed from customer_journey.csv** with the rule-based models, the "
                             "Markov-chain removal effect and the Shapley value, beside the **provided** table. "
                             "The sliders set the computed time-decay and position-based models (and the donut "
                             "when it shows computed credit).", sizing_mode="stretch_width"),
            pn.Row(pn.Column(*sliders, sizing_mode="stretch_width"), self._side(insight(self.insight_comparison),
                                                                              width=520),
                   sizing_mode="stretch_width"),
            *provided,
            chart(self.plot_computed, height=340),
            self._credit_table(self.computed_table),
            chart(self.plot_removal_effects, height=300),
        ]

    def _correlation_view(self):
        return [pn.Row(chart(self.plot_correlations, height=460), self._side(insight(self.insight_correlations())),
                       sizing_mode="stretch_width")]

    def _journey_view(self):
        return [pn.Row(chart(self.plot_journeys, height=420), self._side(insight(self.insight_journeys())),
                       sizing_mode="stretch_width")]

    def layout(self) -> pn.viewable.Viewable:
        description = ("Where visitors drop out of the funnel, which channels get the credit for conversions "
                       "under each attribution model (as provided, and computed from the customer journeys), "
                       "how the marketing metrics move together, and the paths customers take. "
                       "Hover any chart for the numbers.")
        return pn.Column(
            section_header(self, description),
            self._card("Conversion funnel", ("funnel",), self._funnel_view),
            self._card("Channel credit by attribution model", ("attribution", "journeys"), self._donut_view),
            self.cards_later(self._cards_below),
            sizing_mode="stretch_width",
        )

    def _cards_below(self) -> list[pn.Card]:
        """The views below the first screen: computed vs provided credit, the correlations, the journeys."""
        return [self._card("Computed from journeys vs provided", ("journeys",), self._comparison_view),
                self._card("How the metrics move together", ("correlations",), self._correlation_view),
                self._card("Customer journeys", ("journeys",), self._journey_view)]
