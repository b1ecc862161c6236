"""A sunburst chart (HoloViews has none) drawn with Bokeh annular wedges, with click-to-zoom.

`sunburst_wedges` lays out a hierarchy (one row per leaf: the level columns and a size) as rings of
wedges around the node at the centre. `Sunburst` holds the hierarchy and the zoom state (`root`, the
path at the centre) as params, so zooming is testable without a browser; its Bokeh figure re-roots on
a clicked wedge and goes back up when the centre is clicked.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.models import ColumnDataSource, HoverTool, SaveTool, TapTool
from bokeh.palettes import Set2_8
from bokeh.plotting import figure

from ..format import count, percent

PATH_SEPARATOR = " › "
CENTRE_RADIUS = 0.3
CENTRE_COLOUR = "#9e9e9e"
EDGE_COLOUR = "#ffffff"
CHAR_WIDTH = 0.024   # width of one label character in data units (radius 1 ≈ 210 px at 8 pt)
WEDGE_COLUMNS = ("depth", "path", "label", "value", "share", "share_of_parent", "start_angle", "end_angle",
                 "inner_radius", "outer_radius", "color", "has_children", "path_text", "value_text",
                 "share_text", "parent_share_text", "hint")


def lighten(colour: str, amount: float) -> str:
    """`colour` ('#rrggbb') mixed with white by `amount` (0 = unchanged, 1 = white)."""
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    mixed = [round(c + (255 - c) * amount) for c in rgb]
    return "#" + "".join(f"{c:02x}" for c in mixed)


def sunburst_wedges(frame: pd.DataFrame, levels: list[str], size: str, root: tuple | list = (),
                    colors: dict[str, dict[str, str]] | None = None, root_label: str = "All") -> pd.DataFrame:
    """One row per wedge around the node `root` (a path of level values; () = everything).

    Row 0 is the centre (the root node, a full disc). Angles are radians for Bokeh (counter-clockwise
    from 3 o'clock) laid out clockwise from 12 o'clock; each ring is one level below the root, children
    inside their parent's span, largest first. `share` is of the whole frame, `share_of_parent` of the
    parent node. `colors` maps a level to {value: colour}; other levels take the top level's palette,
    lightened with depth.
    """
    root = tuple(root)
    colors = colors or {}
    grand_total = float(frame[size].sum()) if len(frame) else 0.0
    inside = frame
    for level, value in zip(levels, root):
        inside = inside[inside[level] == value]
    root_total = float(inside[size].sum())
    rings = len(levels) - len(root)
    ring_width = (1.0 - CENTRE_RADIUS) / rings if rings else 0.0
    top_values = sorted(frame[levels[0]].dropna().unique()) if len(frame) else []
    top_colours = {value: Set2_8[i % len(Set2_8)] for i, value in enumerate(top_values)}
    top_colours.update(colors.get(levels[0], {}))
    centre_colour = CENTRE_COLOUR if not root else top_colours.get(root[0], CENTRE_COLOUR)
    rows = [dict(depth=len(root), path=root, label=root[-1] if root else root_label, value=root_total,
                 share=_share(root_total, grand_total), share_of_parent=1.0, turn_start=0.0, turn_end=1.0,
                 inner_radius=0.0, outer_radius=CENTRE_RADIUS, color=centre_colour, has_children=rings > 0)]
    spans = {root: (0.0, 1.0, centre_colour, root_total)}
    for ring, depth in enumerate(range(len(root), len(levels))):
        keys = levels[:depth + 1]
        sums = inside.groupby(keys, sort=False, dropna=True)[size].sum().reset_index()
        sums["parent"] = [tuple(r) for r in sums[levels[:depth]].itertuples(index=False)] if depth else [()] * len(sums)
        sums = sums[sums[size] > 0]
        next_spans = {}
        for parent, children in sums.groupby("parent", sort=False):
            start, end, parent_colour, parent_total = spans[parent]
            children = children.sort_values([size, levels[depth]], ascending=[False, True])
            cursor = start
            for rank, child in enumerate(children.itertuples(index=False)):
                label = child[depth]
                value = float(child[len(keys)])
                width = (end - start) * value / parent_total
                path = parent + (label,)
                colour = colors.get(levels[depth], {}).get(label)
                if colour is None:
                    colour = (top_colours.get(label, "#888888") if depth == 0
                              else lighten(parent_colour, 0.15 + 0.35 * rank / max(1, len(children) - 1)))
                rows.append(dict(depth=depth + 1, path=path, label=label, value=value,
                                 share=_share(value, grand_total), share_of_parent=_share(value, parent_total),
                                 turn_start=cursor, turn_end=cursor + width,
                                 inner_radius=CENTRE_RADIUS + ring * ring_width,
                                 outer_radius=CENTRE_RADIUS + (ring + 1) * ring_width, color=colour,
                                 has_children=depth + 1 < len(levels)))
                next_spans[path] = (cursor, cursor + width, colour, value)
                cursor += width
        spans = next_spans
    wedges = pd.DataFrame(rows)
    # Clockwise from 12 o'clock in turns → Bokeh's counter-clockwise radians.
    wedges["start_angle"] = math.pi / 2 - 2 * math.pi * wedges["turn_end"]
    wedges["end_angle"] = math.pi / 2 - 2 * math.pi * wedges["turn_start"]
    wedges["path_text"] = [PATH_SEPARATOR.join(map(str, p)) if p else root_label for p in wedges["path"]]
    wedges["value_text"] = [count(v) for v in wedges["value"]]
    wedges["share_text"] = [percent(v) for v in wedges["share"]]
    wedges["parent_share_text"] = [percent(v) for v in wedges["share_of_parent"]]
    wedges["hint"] = ["click to go back up" if (i == 0 and root) else ("" if i == 0 else
                      "click to zoom in" if has else "") for i, has in enumerate(wedges["has_children"])]
    return wedges[list(WEDGE_COLUMNS)]


def wedge_labels(wedges: pd.DataFrame) -> pd.DataFrame:
    """Where to write each wedge's label: at its middle, along the arc, only where the arc fits the text."""
    mid_angle = (wedges["start_angle"] + wedges["end_angle"]) / 2
    mid_radius = (wedges["inner_radius"] + wedges["outer_radius"]) / 2
    arc = (wedges["end_angle"] - wedges["start_angle"]) * mid_radius
    text = wedges["label"].astype(str)
    centre = wedges.index == 0
    fits = centre | (arc >= text.str.len() * CHAR_WIDTH + 0.02)
    # Text runs along the arc, turned so it never reads upside down.
    rotation = np.where(centre, 0.0, mid_angle - np.pi / 2)
    upside_down = np.cos(rotation) < 0
    rotation = np.where(upside_down, rotation + np.pi, rotation)
    labels = pd.DataFrame({
        "x": np.where(centre, 0.0, mid_radius * np.cos(mid_angle)),
        "y": np.where(centre, 0.0, mid_radius * np.sin(mid_angle)),
        "text": np.where(centre, text + "\n" + wedges["value_text"], text),
        "angle": rotation,
    })
    return labels[fits].reset_index(drop=True)


def _share(part: float, whole: float) -> float:
    return part / whole if whole else float("nan")


class Sunburst(pn.viewable.Viewer):
    """A zoomable sunburst of a hierarchy: click a wedge to put it at the centre, the centre to go up."""

    frame = param.DataFrame(default=None, doc="One row per leaf: the level columns and the size column")
    levels = param.List(default=[], item_type=str, doc="Level columns, outermost ring last")
    size = param.String(default="value", doc="The column that sizes the wedges")
    root = param.List(default=[], doc="Path of the node at the centre ([] = everything)")
    colors = param.Dict(default={}, doc="level → {value: colour}; other levels follow the top level's colour")
    root_label = param.String(default="All", doc="What the centre is called when nothing is zoomed")
    title = param.String(default="", doc="Chart title")
    height = param.Integer(default=460, doc="Height of the chart in pixels")

    @param.depends("frame", watch=True)
    def _keep_root_valid(self) -> None:
        """After new data, stay on the deepest part of the zoom path that still exists."""
        kept = []
        for level, value in zip(self.levels, self.root):
            if self.frame is None or not ((self.frame[level] == value) & self._under(kept)).any():
                break
            kept.append(value)
        if kept != list(self.root):
            self.root = kept

    def _under(self, path) -> pd.Series:
        mask = pd.Series(True, index=self.frame.index)
        for level, value in zip(self.levels, path):
            mask &= self.frame[level] == value
        return mask

    @param.depends("frame", "levels", "size", "root", "colors", "root_label")
    def wedges(self) -> pd.DataFrame:
        """The wedges drawn now (see `sunburst_wedges`)."""
        frame = self.frame if self.frame is not None else pd.DataFrame(columns=[*self.levels, self.size])
        return sunburst_wedges(frame, self.levels, self.size, self.root, self.colors, self.root_label)

    def zoom_in(self, path) -> None:
        """Put the node at `path` at the centre (a leaf cannot be the centre: nothing would be left to show)."""
        path = list(path)
        if len(path) < len(self.levels) and path != list(self.root):
            self.root = path

    def zoom_out(self) -> None:
        """One level back up."""
        if self.root:
            self.root = list(self.root[:-1])

    def click(self, index: int) -> None:
        """What a click on wedge row `index` does: the centre goes up, a wedge with children zooms in."""
        wedges = self.wedges()
        if not 0 <= index < len(wedges):
            return
        if index == 0:
            self.zoom_out()
        elif wedges["has_children"].iloc[index]:
            self.zoom_in(wedges["path"].iloc[index])

    def figure(self, interactive: bool = True):
        """A Bokeh figure of the wedges as they are now; on an `interactive` one a click zooms (see `click`).
        A snapshot (`interactive=False`) carries no Python callback, for a standalone HTML file."""
        wedges = self.wedges()
        source = ColumnDataSource(_source_data(wedges))
        # Equal scales on both axes (match_aspect): radii are in x units, so unequal ones would misplace the
        # labels and clip the rings.
        plot = figure(match_aspect=True, width=self.height, height=self.height, sizing_mode="fixed",
                      title=self.title, toolbar_location="above", tools=[], min_border=4)
        renderer = plot.annular_wedge(
            x=0, y=0, inner_radius="inner_radius", outer_radius="outer_radius", start_angle="start_angle",
            end_angle="end_angle", fill_color="color", line_color=EDGE_COLOUR, line_width=1.2, source=source,
            line_alpha="edge_alpha", hover_fill_alpha=0.75, hover_fill_color="color", nonselection_fill_alpha=1.0,
            nonselection_line_alpha=1.0, selection_fill_alpha=1.0)
        plot.text(x="x", y="y", text="text", angle="angle", source=ColumnDataSource(wedge_labels(wedges)),
                  text_align="center", text_baseline="middle", text_font_size="8pt", text_color="#1a1a1a")
        plot.add_tools(
            TapTool(renderers=[renderer]),
            HoverTool(renderers=[renderer], tooltips=[
                ("Path", "@path_text"), ("Customers", "@value_text"), ("Share of all", "@share_text"),
                ("Share of parent", "@parent_share_text"), ("", "@hint")]),
            SaveTool())
        plot.axis.visible = False
        plot.grid.visible = False
        plot.outline_line_color = None
        plot.background_fill_alpha = 0.0
        plot.border_fill_alpha = 0.0
        if interactive:
            def on_tap(attr, old, new):
                if new:
                    source.selected.indices = []   # so the same wedge can be clicked again
                    self.click(new[0])

            source.selected.on_change("indices", on_tap)
        return plot

    def __panel__(self):
        pane = pn.pane.Bokeh(self.figure(), sizing_mode="fixed", width=self.height, height=self.height)

        def redraw(*events):
            # A new figure through the pane: Panel swaps it in under the document lock (a Bokeh model edited
            # from a stream or widget callback outside that lock breaks the session).
            pane.object = self.figure()

        self.param.watch(redraw, ["frame", "levels", "size", "root", "colors", "root_label", "title", "height"])
        return pane


def _source_data(wedges: pd.DataFrame) -> dict:
    # The centre is a full disc: an edge would draw a radius at 12 o'clock.
    data = wedges.drop(columns="path").assign(edge_alpha=np.where(wedges.index == 0, 0.0, 1.0))
    return dict(ColumnDataSource.from_df(data))
