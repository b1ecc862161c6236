"""The Bokeh sunburst: wedge geometry against a hand-worked hierarchy, zoom state, and the click wiring."""
from __future__ import annotations

import math

import pandas as pd
import panel as pn
import pytest
from bokeh.models import ColumnDataSource

from novamart_panel.views.sunburst import CENTRE_RADIUS, Sunburst, lighten, sunburst_wedges, wedge_labels

# x: p 1, q 3 (4 in all); y: p 4. Total 8.
TREE = pd.DataFrame({"a": ["x", "x", "y"], "b": ["p", "q", "p"], "n": [1, 3, 4]})


def clock(turn: float) -> float:
    """A position `turn` of the way round clockwise from 12 o'clock, in Bokeh's counter-clockwise radians."""
    return math.pi / 2 - 2 * math.pi * turn


def by_path(wedges: pd.DataFrame) -> dict:
    return {path: row for path, row in zip(wedges["path"], wedges.to_dict("records"))}


def test_wedges_of_the_whole_tree_by_hand():
    wedges = sunburst_wedges(TREE, ["a", "b"], "n", root_label="Everyone")
    rows = by_path(wedges)
    assert list(wedges["path"]) == [(), ("x",), ("y",), ("x", "q"), ("x", "p"), ("y", "p")]
    centre = rows[()]
    assert (centre["label"], centre["value"], centre["share"]) == ("Everyone", 8, 1.0)
    assert (centre["inner_radius"], centre["outer_radius"]) == (0.0, CENTRE_RADIUS)
    ring = (1 - CENTRE_RADIUS) / 2
    # x and y tie at 4: alphabetical; inside x, q (3) before p (1); each child within its parent's span.
    expected = {("x",): (0.0, 0.5, 1), ("y",): (0.5, 1.0, 1), ("x", "q"): (0.0, 0.375, 2),
                ("x", "p"): (0.375, 0.5, 2), ("y", "p"): (0.5, 1.0, 2)}
    for path, (start, end, depth) in expected.items():
        row = rows[path]
        assert row["start_angle"] == pytest.approx(clock(end))
        assert row["end_angle"] == pytest.approx(clock(start))
        assert row["inner_radius"] == pytest.approx(CENTRE_RADIUS + (depth - 1) * ring)
        assert row["outer_radius"] == pytest.approx(CENTRE_RADIUS + depth * ring)
    assert rows[("x", "q")]["share"] == pytest.approx(3 / 8)
    assert rows[("x", "q")]["share_of_parent"] == pytest.approx(3 / 4)
    assert rows[("x", "q")]["path_text"] == "x › q"
    assert rows[("x", "q")]["share_text"] == "37.5%"
    assert [rows[p]["has_children"] for p in expected] == [True, True, False, False, False]


def test_wedges_around_a_zoomed_node():
    wedges = sunburst_wedges(TREE, ["a", "b"], "n", root=("x",))
    rows = by_path(wedges)
    assert list(wedges["path"]) == [("x",), ("x", "q"), ("x", "p")]
    assert rows[("x",)]["value"] == 4 and rows[("x",)]["share"] == 0.5
    assert rows[("x", "q")]["start_angle"] == pytest.approx(clock(0.75))
    assert rows[("x", "p")]["end_angle"] == pytest.approx(clock(0.75))
    assert rows[("x", "p")]["start_angle"] == pytest.approx(clock(1.0))
    # One ring left: it takes all the room outside the centre.
    assert (rows[("x", "q")]["inner_radius"], rows[("x", "q")]["outer_radius"]) == (CENTRE_RADIUS, 1.0)
    assert wedges["hint"].iloc[0] == "click to go back up"


def test_colours_come_from_the_level_maps_or_the_parent():
    wedges = sunburst_wedges(TREE, ["a", "b"], "n", colors={"a": {"x": "#000000"}, "b": {"p": "#ff0000"}})
    rows = by_path(wedges)
    assert rows[("x",)]["color"] == "#000000"
    assert rows[("x", "p")]["color"] == rows[("y", "p")]["color"] == "#ff0000"
    assert rows[("x", "q")]["color"] == lighten("#000000", 0.15)   # first child: the lightest tint step
    assert lighten("#000000", 0.5) == "#808080" and lighten("#336699", 0.0) == "#336699"
    assert lighten("#336699", 1.0) == "#ffffff"


def test_labels_only_where_the_arc_fits_the_text():
    frame = pd.DataFrame({"a": ["big", "tiny"], "n": [999, 1]})
    labels = wedge_labels(sunburst_wedges(frame, ["a"], "n"))
    assert list(labels["text"]) == ["All\n1,000", "big"]
    assert (labels.loc[0, "x"], labels.loc[0, "y"]) == (0.0, 0.0)


def test_clicks_zoom_in_and_the_centre_goes_back_up():
    sunburst = Sunburst(frame=TREE, levels=["a", "b"], size="n")
    wedges = sunburst.wedges()
    sunburst.click(list(wedges["path"]).index(("x", "q")))   # a leaf: nothing to zoom into
    assert sunburst.root == []
    sunburst.click(list(wedges["path"]).index(("y",)))
    assert sunburst.root == ["y"]
    assert list(sunburst.wedges()["path"]) == [("y",), ("y", "p")]
    sunburst.click(0)
    assert sunburst.root == []
    sunburst.click(0)                                          # already at the top
    assert sunburst.root == []
    sunburst.zoom_in(["x", "p"])                               # a leaf cannot be the centre
    assert sunburst.root == []


def test_new_data_keeps_the_deepest_zoom_that_still_exists():
    sunburst = Sunburst(frame=TREE, levels=["a", "b"], size="n", root=["x"])
    sunburst.frame = TREE[TREE["a"] == "x"]
    assert sunburst.root == ["x"]
    sunburst.frame = TREE[TREE["a"] == "y"]
    assert sunburst.root == []


def wedge_source(plot) -> ColumnDataSource:
    return next(r.data_source for r in plot.renderers if "start_angle" in r.data_source.data)


def test_a_tap_on_the_figure_re_roots_the_chart():
    sunburst = Sunburst(frame=TREE, levels=["a", "b"], size="n")
    source = wedge_source(sunburst.figure())
    assert list(source.data["path_text"]) == ["All", "x", "y", "x › q", "x › p", "y › p"]
    assert source.data["edge_alpha"][0] == 0.0   # no radius line through the centre disc
    source.selected.indices = [1]                  # what Bokeh's tap tool does in the browser
    assert sunburst.root == ["x"]
    assert source.selected.indices == []
    zoomed = wedge_source(sunburst.figure())
    assert list(zoomed.data["path_text"]) == ["x", "x › q", "x › p"]
    zoomed.selected.indices = [0]
    assert sunburst.root == []
    hover = [tool for tool in sunburst.figure().tools if type(tool).__name__ == "HoverTool"][0]
    assert [label for label, _ in hover.tooltips][:4] == ["Path", "Customers", "Share of all", "Share of parent"]


def test_a_snapshot_figure_ignores_taps():
    sunburst = Sunburst(frame=TREE, levels=["a", "b"], size="n")
    wedge_source(sunburst.figure(interactive=False)).selected.indices = [1]
    assert sunburst.root == []


def test_renders_as_a_panel_pane_that_follows_the_zoom():
    sunburst = Sunburst(frame=TREE, levels=["a", "b"], size="n", title="Tree")
    root = pn.panel(sunburst).get_root()

    def drawn():
        sources = [s for s in root.select({"type": ColumnDataSource}) if "start_angle" in s.data]
        assert len(sources) == 1
        return list(sources[0].data["path_text"])

    assert len(drawn()) == 6
    sunburst.root = ["y"]
    assert drawn() == ["y", "y › p"]
