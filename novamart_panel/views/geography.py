"""Geography (SPEC §4.5): an India choropleth coloured by a chosen state metric, and a bubble map of
store count against customer satisfaction.

Maps are HoloViews elements in Web Mercator drawn from the boundaries shipped with the package
(no GeoViews: the WebAssembly page cannot load it), so they draw offline. Online OpenStreetMap tiles
are an opt-in layer beneath.
"""
from __future__ import annotations

import functools

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
from holoviews.core import util as hv_util
from holoviews.core.data import Interface
from holoviews.core.data.multipath import MultiInterface, ensure_ring

from ..analytics.geo import (join_states, load_state_boundaries, normalise_state_name, outline_extent, state_centroids,
                             to_web_mercator)
from ..analytics.geo_insights import (
    STATE_METRICS,
    format_metric,
    growth_sentence,
    leaders_sentence,
    stores_satisfaction_sentence,
)
from ..data import geography_queries
from ..format import escape_html, escape_markdown
from .base import (FILTER_DEPS, Section, chart, house_opts, insight, memoized, notice, section_header,
                   value_ticks, value_ticks_follow)

# The metrics a user may colour the states by (a closed set: label -> contract column).
METRICS = {STATE_METRICS[column].label: column for column in (
    "total_revenue", "total_customers", "market_penetration", "yoy_growth", "revenue_per_customer",
    "customer_satisfaction",
)}

SHOWN, OUTSIDE_FILTER, NO_DATA = "shown", "outside the region filter", "no data"
NO_DATA_COLOUR = "#d0d0d0"
OUTLINE_COLOUR = "#ffffff"
SEQUENTIAL_CMAP, DIVERGING_CMAP = "viridis", "RdYlBu"
MAP_MIN_WIDTH, MAP_MAX_WIDTH = 420, 760   # the maps scale with their card (as wide as it allows, up to the max)
MAP_ASPECT = 0.84   # width / height of a map with its colour bar (India: 0.86 as wide as tall in Web Mercator)
MAX_BUBBLE_PX = 44  # diameter of the bubble of the state with the most stores in the file
LOCATED_BY_FILE, LOCATED_BY_SHAPE = "latitude/longitude in the file", "state centroid (no latitude/longitude)"

# One pre-built HTML column carries the whole tooltip: a column per metric makes HoloViews' polygon
# rendering several times slower. Every data-derived text in it is escaped.
HOVER_TOOLTIPS = '<div style="max-width:260px">@{details}{safe}</div>'

def state_details(rows: pd.DataFrame) -> list[str]:
    """Tooltip HTML per row: state, region, status and every metric formatted (data text escaped)."""
    details = []
    for row in rows.to_dict("records"):
        region = row.get("region") if isinstance(row.get("region"), str) else "–"
        lines = [f"<b>{escape_html(row['state'])}</b> · {escape_html(region)}",
                 f"<i>{escape_html(row['status'])}</i>"]
        if row["status"] != NO_DATA:
            lines += [f"{metric.label}: {escape_html(format_metric(column, row.get(column)))}"
                      for column, metric in STATE_METRICS.items()]
        details.append("<br>".join(lines))
    return details


# The choropleth's colour bar follows the metric chosen (its ticks and title).
COLOUR_BAR_FOLLOWS = value_ticks_follow("colorbar", {metric.label: metric.kind for metric in STATE_METRICS.values()})


def map_chart(plot_fn) -> pn.viewable.Viewable:
    """A reactive map as wide as its card and as tall as India's shape needs at that width (Bokeh's
    scale_width: one unit of longitude and of latitude stay equally long). Turning the online tiles on or off
    changes what the chart is, so only that rebuilds it."""
    return chart(plot_fn, rebuild_on=("show_tiles",), sizing_mode="scale_width", aspect_ratio=MAP_ASPECT,
                 min_height=None, min_width=MAP_MIN_WIDTH, max_width=MAP_MAX_WIDTH)


def shape_names(states) -> list[str | None]:
    """The shipped shape each state name joins to (normalised name with aliases), None where none does."""
    shape_by_key = {normalise_state_name(name): name for name in load_state_boundaries()}
    return [shape_by_key.get(normalise_state_name(state)) if isinstance(state, str) else None for state in states]


MAP_PADDING = 0.1   # HoloViews' default `padding`: the share of a range added on each side


def map_dimensions(polygons: list[dict]) -> list[hv.Dimension]:
    """The x and y dimensions of state outlines, their extent declared: HoloViews otherwise computes it path by
    path for every draw and update (about a fifth of the choropleth's build). The extent is padded as HoloViews
    pads a data range (`MAP_PADDING`), which it does not do to a declared one."""
    return [hv.Dimension(name, range=(lo - MAP_PADDING * (hi - lo), hi + MAP_PADDING * (hi - lo)))
            for name, (lo, hi) in zip("xy", outline_extent(polygons))]


class OneValuePerPathInterface(MultiInterface):
    """HoloViews' interface for lists of paths, reading each path's dict directly.

    `MultiInterface` wraps every path in a `Dataset` (a param object) to read it: for a column's unique values, each
    outline's coordinates, its holes and a column's dtype. Drawing a map asks that about twenty times. It also reads
    a column that holds one value per path by spreading it over the path's vertices and looking for its unique
    values, only to keep one: a state's tooltip text, repeated over its outline's vertices, made that about 40 % of
    the choropleth's build. Here those reads take the dicts' arrays and values as they are (the rings closed, as
    HoloViews closes them); the results are the same, and anything else is MultiInterface's own.
    """

    datatype = "multitabular_one_value_per_path"

    @classmethod
    def _dicts(cls, dataset, *names: str) -> list[dict] | None:
        """The paths, when each is a dict holding every column of `names` (else None: MultiInterface reads them)."""
        paths = dataset.data
        if paths and all(isinstance(path, dict) and all(name in path for name in names) for path in paths):
            return paths
        return None

    @classmethod
    def values(cls, dataset, dimension, expanded=True, flat=True, compute=True, keep_index=False):
        dim = dataset.get_dimension(dimension, strict=True)
        x, y = (kdim.name for kdim in dataset.kdims[:2])
        paths = None if expanded else cls._dicts(dataset, x, y, dim.name)
        if paths is not None and all(len(path[x]) and "geom_type" not in path for path in paths):
            if dim.name in (x, y):   # each outline, a polygon's rings closed (as MultiInterface closes them)
                close = cls.geom_type(dataset) in ("Polygon", "Ring")
                outlines = np.empty(len(paths), dtype=object)
                outlines[:] = [ensure_ring(np.column_stack([path[x], path[y]]), np.asarray(path[dim.name]))
                               if close else np.asarray(path[dim.name]) for path in paths]
                return outlines
            if all(hv_util.isscalar(path[dim.name]) for path in paths):
                return np.concatenate([np.array([path[dim.name]]) for path in paths])
        return super().values(dataset, dimension, expanded, flat, compute, keep_index)

    @classmethod
    def holes(cls, dataset):
        paths = cls._dicts(dataset, hv.Polygons._hole_key)
        if paths is None:
            return super().holes(dataset)
        # DictInterface.holes for each path: a hole ring closed where its ends differ in both coordinates
        return [[[hole if (hole[0] == hole[-1]).any() else np.concatenate([hole, hole[:1]])
                  for hole in map(np.asarray, part)] for part in path[hv.Polygons._hole_key]] for path in paths]

    @classmethod
    def dtype(cls, dataset, dimension):
        name = dataset.get_dimension(dimension, strict=True).name
        paths = cls._dicts(dataset, name)
        if paths is None:
            return super().dtype(dataset, dimension)
        first = paths[0][name]   # as the first path's Dataset (Interface.dtype) reads it
        return np.array([first]).dtype if hv_util.isscalar(first) else np.asarray(first).dtype


@functools.cache
def one_value_per_path() -> str:
    """The datatype name of `OneValuePerPathInterface`, registered with HoloViews on first use."""
    Interface.register(OneValuePerPathInterface)
    return OneValuePerPathInterface.datatype


def state_polygons(polygons: list[dict], vdims: list, label: str) -> hv.Polygons:
    """State outlines (from `join_states`) with their declared extent, read by `OneValuePerPathInterface`."""
    return hv.Polygons(polygons, kdims=map_dimensions(polygons), vdims=vdims, label=label,
                       datatype=[one_value_per_path()])


class GeographySection(Section):
    """Where NovaMart sells: state metrics on a map of India."""

    title = "Geography"
    slug = "geography"
    tables = ("geography",)
    spec_section = "4.5"
    first_screen = 4   # header, the join note, the online map tiles switch and the map

    metric = param.Selector(default="Revenue", objects=list(METRICS), doc="The metric that colours the states")
    show_tiles = param.Boolean(default=False, label="Online map tiles (OpenStreetMap)",
                               doc="Draw OpenStreetMap tiles beneath the maps; fetches them from the internet")

    # -- data -----------------------------------------------------------------------------------
    @param.depends(*FILTER_DEPS)
    @memoized
    def state_rows(self) -> pd.DataFrame:
        """Every row of geographic_data.csv in file order, `status` saying whether the region filter keeps it."""
        rows = geography_queries.state_rows(self.store, self.filter_state())
        status = np.where(rows[geography_queries.KEPT_COLUMN], SHOWN, OUTSIDE_FILTER)
        return rows.assign(status=status).drop(columns=geography_queries.KEPT_COLUMN)

    @param.depends(*FILTER_DEPS)
    @memoized
    def shown_states(self) -> pd.DataFrame:
        """The rows the region filter keeps, as in the file."""
        rows = self.state_rows()
        return rows[rows["status"] == SHOWN].drop(columns="status").reset_index(drop=True)

    @param.depends(*FILTER_DEPS)
    @memoized
    def map_rows(self) -> pd.DataFrame:
        """One row per data row plus one per shipped shape without data (`status` NO_DATA), with `details`
        (the tooltip)."""
        rows = self.state_rows()
        covered = set(shape_names(rows["state"]))
        empty_shapes = [name for name in load_state_boundaries() if name not in covered]
        blanks = pd.DataFrame({"state": empty_shapes, "region": "–", "status": NO_DATA})
        rows = pd.concat([rows, blanks], ignore_index=True)
        return rows.assign(details=state_details(rows))

    def unmatched_states(self) -> list[str]:
        """Data state names that found no shipped boundary (the whole file; filters do not change it)."""
        rows = self.store.table("geography")
        return [state for state, shape in zip(rows["state"], shape_names(rows["state"]), strict=True)
                if shape is None]

    def renamed_states(self) -> dict[str, str]:
        """Data state names that joined a shape under another name (an alias or another spelling)."""
        rows = self.store.table("geography")
        return {state: shape for state, shape in zip(rows["state"], shape_names(rows["state"]), strict=True)
                if shape is not None and shape != state}

    @param.depends(*FILTER_DEPS)
    @memoized
    def bubble_rows(self) -> pd.DataFrame:
        """Shown states with a Web Mercator point (the file's latitude/longitude, else the state's centroid)
        and `bubble_size`, a diameter whose area is proportional to the store count."""
        rows = self.state_rows()
        largest = rows["store_count"].max()
        shown = rows[rows["status"] == SHOWN].reset_index(drop=True)
        shown = shown.assign(details=state_details(shown))
        x, y = to_web_mercator(shown["longitude"], shown["latitude"])
        shown = shown.assign(x=x, y=y, located_by=LOCATED_BY_FILE)
        unplaced = shown["x"].isna() | shown["y"].isna()
        if unplaced.any():
            centroids, _ = state_centroids(shown.loc[unplaced, ["state"]])
            shown.loc[centroids.index, ["x", "y"]] = centroids[["x", "y"]].to_numpy()
            shown.loc[centroids.index, "located_by"] = LOCATED_BY_SHAPE
        shown = shown.dropna(subset=["x", "y"]).reset_index(drop=True)
        ratio = shown["store_count"] / largest if largest and largest > 0 else shown["store_count"] * 0.0
        return shown.assign(bubble_size=MAX_BUBBLE_PX * np.sqrt(ratio.astype(float).clip(lower=0)))

    # -- charts ---------------------------------------------------------------------------------
    def _map_opts(self, element: hv.Element, **options) -> hv.Element:
        """House options for a map of India: undistorted, no axes, every state metric in the hover."""
        options.setdefault("hover_tooltips", HOVER_TOOLTIPS)
        return house_opts(element, responsive="width", height=None, data_aspect=1, xaxis=None, yaxis=None,
                          **options)

    def _with_tiles(self, overlay: hv.Overlay) -> hv.Overlay:
        # Tiles only when asked: offline by default, nothing leaves the machine.
        layers = hv.element.tiles.OSM() * overlay if self.show_tiles else overlay
        return layers.opts(responsive="width", data_aspect=1, show_legend=False)

    @param.depends(*FILTER_DEPS, "metric", "show_tiles")
    def plot_choropleth(self) -> hv.Overlay:
        """Every shipped state; those shown coloured by the metric, the rest light grey."""
        column = METRICS[self.metric]
        metric = STATE_METRICS[column]
        rows = self.map_rows()
        # One colour column whatever the metric (the chart updates in place); its label names the metric.
        rows["value"] = rows[column].where(rows["status"] == SHOWN)  # grey = NaN colour
        # Only the columns drawn (the colour, the state each shape is, its hover text, which tells the status):
        # HoloViews reads every column of every state's outline while it draws. The other metrics' columns made
        # each draw about 1.6× as long; the status column alone added about 15 %.
        drawn = ["value", "state", "details"]
        polygons, _ = join_states(rows[drawn])
        colour_dim = hv.Dimension("value", label=metric.label)
        diverging = metric.kind == "growth"
        element = state_polygons(polygons, [colour_dim, *drawn[1:]], "choropleth")
        element = self._map_opts(
            element, color="value", cmap=DIVERGING_CMAP if diverging else SEQUENTIAL_CMAP, symmetric=diverging,
            colorbar=True, clabel=metric.label, cformatter=value_ticks(metric.kind),
            clipping_colors={"NaN": NO_DATA_COLOUR}, hooks=[COLOUR_BAR_FOLLOWS],
            line_color=OUTLINE_COLOUR, line_width=0.6,
            title=f"{metric.label} by state")
        return self._with_tiles(hv.Overlay([element]))

    @param.depends(*FILTER_DEPS, "show_tiles")
    def plot_bubbles(self) -> hv.Overlay:
        """Bubbles sized by store count and coloured by satisfaction, over grey state outlines."""
        outlines, _ = join_states(pd.DataFrame({"state": list(load_state_boundaries())}))
        outlines = state_polygons(outlines, ["state"], "outlines")
        base = self._map_opts(outlines, tools=[], hover_tooltips=None, color=NO_DATA_COLOUR, line_color=OUTLINE_COLOUR,
                              line_width=0.6, alpha=0.6)
        bubbles = hv.Points(self.bubble_rows(), kdims=["x", "y"],
                            vdims=["customer_satisfaction", "bubble_size", "state", "details"], label="bubbles")
        bubbles = self._map_opts(
            bubbles, color="customer_satisfaction", cmap=SEQUENTIAL_CMAP, size=hv.dim("bubble_size"),
            colorbar=True, clabel="Customer satisfaction (1-5)",
            cformatter=value_ticks("score"), line_color=OUTLINE_COLOUR, alpha=0.9,
            title="Stores (area) and satisfaction (colour)")
        return self._with_tiles(base * bubbles)

    # -- words ----------------------------------------------------------------------------------
    @param.depends(*FILTER_DEPS, "metric")
    def insight_choropleth(self) -> str:
        states = self.shown_states()
        if states.empty:
            return "No state is in the selected regions: widen the region filter."
        return leaders_sentence(states, METRICS[self.metric]) + "\n\n" + growth_sentence(states)

    @param.depends(*FILTER_DEPS)
    def insight_bubbles(self) -> str:
        states = self.shown_states()
        if states.empty:
            return "No state is in the selected regions: widen the region filter."
        return stores_satisfaction_sentence(states) + "\n\n" + self.bubble_position_note()

    @param.depends(*FILTER_DEPS)
    def bubble_position_note(self) -> str:
        """Where the bubbles sit: the file's coordinates, naming the rows placed at a centroid or left out."""
        bubbles = self.bubble_rows()
        note = "*Bubbles sit at the latitude/longitude given in geographic_data.csv"
        at_centroid = bubbles.loc[bubbles["located_by"] == LOCATED_BY_SHAPE, "state"].tolist()
        if at_centroid:
            note += f"; {', '.join(map(escape_markdown, at_centroid))} (no coordinates) at the state's centroid"
        missing = sorted(set(self.shown_states()["state"].dropna()) - set(bubbles["state"]))
        if missing:
            note += f"; {', '.join(map(escape_markdown, missing))} left out (no coordinates and no boundary)"
        return note + ".*"

    def join_note(self) -> str:
        """How the data's state names met the shipped boundaries, naming rows that found no shape."""
        rows = self.store.table("geography")
        unmatched = self.unmatched_states()
        matched = len(rows) - len(unmatched)
        covered = {shape for shape in shape_names(rows["state"]) if shape}
        note = (f"{matched} of {len(rows)} rows of geographic_data.csv joined a state boundary (names matched "
                f"ignoring case and punctuation, with known aliases such as Orissa → Odisha). "
                f"{len(load_state_boundaries()) - len(covered)} of the {len(load_state_boundaries())} states and "
                "union territories have no data and are drawn grey.")
        renamed = self.renamed_states()
        if renamed:
            note += " Joined under another name: " + ", ".join(
                f"{escape_markdown(name)} → {escape_markdown(shape)}" for name, shape in renamed.items()) + "."
        if unmatched:
            names = ", ".join(escape_markdown(name) for name in unmatched)
            note = (f"**No boundary for: {names}.** These rows are not on the choropleth "
                    "(check the spelling in geographic_data.csv); the bubble map still places those that "
                    "have a latitude/longitude. " + note)
        return note

    def export_frame(self) -> pd.DataFrame:
        return self.shown_states()

    # -- layout ---------------------------------------------------------------------------------
    def layout(self) -> pn.viewable.Viewable:
        description = ("Where NovaMart sells and how well: state metrics on a map of India drawn from "
                       "boundaries shipped with the app (works offline). Hover a state for all its numbers.")
        join = notice(self.join_note(), kind="warning" if self.unmatched_states() else "light")
        tiles = pn.widgets.Checkbox.from_param(self.param.show_tiles)
        choropleth = pn.Card(
            pn.Row(
                map_chart(self.plot_choropleth),
                pn.Column(pn.widgets.Select.from_param(self.param.metric, name="Colour states by", width=240),
                          insight(self.insight_choropleth), width=340),
            ),
            title="States by metric", collapsible=False, sizing_mode="stretch_width",
        )
        bubbles = pn.Card(
            pn.Row(map_chart(self.plot_bubbles),
                   pn.Column(insight(self.insight_bubbles), width=340)),
            title="Stores and customer satisfaction", collapsible=False, sizing_mode="stretch_width",
        )
        return pn.Column(section_header(self, description), join, tiles, choropleth, bubbles,
                         sizing_mode="stretch_width")
