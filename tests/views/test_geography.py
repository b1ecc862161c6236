"""Geography section: the choropleth's colour follows the chosen metric and the region filter, data rows
without a boundary are named, bubbles follow store counts, and the insights follow the data."""
from __future__ import annotations

import math
import shutil

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the renderer hv.render uses)
import numpy as np
import pandas as pd
import panel as pn
import pytest
from bokeh.models import ColorBar, ColumnDataSource, GlyphRenderer, MultiPolygons, Scatter
from pyproj import Transformer
from scipy import stats

from novamart_panel.analytics import geo_insights
from novamart_panel.analytics.geo import load_state_boundaries
from novamart_panel.analytics.geo_insights import STATE_METRICS
from novamart_panel.data.store import DataStore
from novamart_panel.views import geography
from novamart_panel.views.filters import Filters
from novamart_panel.views.geography import METRICS, NO_DATA, OUTSIDE_FILTER, SHOWN, GeographySection

GEO_FILE = "geographic_data.csv"
SHAPES = list(load_state_boundaries())
TO_MERCATOR = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)


def read_states(folder) -> pd.DataFrame:
    """The geography CSV as pandas reads it."""
    return pd.read_csv(folder / GEO_FILE)


def section_over(store: DataStore) -> GeographySection:
    return GeographySection(store=store, filters=Filters(store))


def write_states(tmp_path, frame: pd.DataFrame) -> DataStore:
    """A data folder holding only a (modified) geography file; the section needs nothing else."""
    frame.to_csv(tmp_path / GEO_FILE, index=False)
    return DataStore.open(tmp_path)


def polygons_of(overlay: hv.Overlay) -> hv.Polygons:
    (polygons,) = [layer for layer in overlay if isinstance(layer, hv.Polygons)]
    return polygons


def values_by_state(polygons: hv.Polygons, column: str) -> dict[str, float]:
    states = polygons.dimension_values("state", expanded=False)
    values = polygons.dimension_values(column, expanded=False)
    return dict(zip(states, values, strict=True))


@pytest.fixture
def section(reference_store) -> GeographySection:
    return section_over(reference_store)


@pytest.fixture(scope="module")
def reference_states(reference_dir) -> pd.DataFrame:
    return read_states(reference_dir)


# --- the choropleth ------------------------------------------------------------------------------

@pytest.mark.parametrize("label", list(METRICS))
def test_metric_switch_colours_the_states_by_that_csv_column(section, reference_states, label):
    section.metric = label
    column = METRICS[label]
    polygons = polygons_of(section.plot_choropleth())
    # One colour column, "value", whatever the metric (the map updates in place); its label names the metric.
    assert polygons.vdims[0].name == "value" and polygons.vdims[0].label == STATE_METRICS[column].label
    assert hv.Store.lookup_options("bokeh", polygons, "style").kwargs["color"] == "value"
    coloured = values_by_state(polygons, "value")
    assert sorted(coloured) == sorted(SHAPES)  # every shipped shape is drawn, so the map reads as India
    expected = reference_states.set_index("state")[column]
    for state, value in coloured.items():
        if state in expected.index:
            assert value == pytest.approx(expected[state])
        else:
            assert math.isnan(value)
    hovers = values_by_state(polygons, "details")   # the hover says which shapes have no data
    assert sum(f"<i>{NO_DATA}</i>" in text for text in hovers.values()) == len(SHAPES) - len(reference_states)


def test_yoy_growth_uses_a_diverging_palette_centred_on_zero(section):
    def colouring(label):
        section.metric = label
        polygons = polygons_of(section.plot_choropleth())
        plot = hv.Store.lookup_options("bokeh", polygons, "plot").kwargs
        style = hv.Store.lookup_options("bokeh", polygons, "style").kwargs
        return plot["symmetric"], style["cmap"]

    assert colouring("YoY growth") == (True, geography.DIVERGING_CMAP)
    assert colouring("Revenue") == (False, geography.SEQUENTIAL_CMAP)


def test_region_filter_greys_out_the_other_states(section, reference_states):
    section.filters.regions = ["South"]
    south = reference_states[reference_states["region"] == "South"]
    rows = section.map_rows().set_index("state")
    assert set(rows.index[rows["status"] == SHOWN]) == set(south["state"])
    assert set(rows.index[rows["status"] == OUTSIDE_FILTER]) == set(reference_states["state"]) - set(south["state"])
    coloured = values_by_state(polygons_of(section.plot_choropleth()), "value")
    assert {state for state, value in coloured.items() if not math.isnan(value)} == set(south["state"])
    # Greyed states still tell their numbers in the hover.
    outside = reference_states[reference_states["region"] != "South"].iloc[0]
    revenue = geo_insights.format_metric("total_revenue", outside["total_revenue"])
    assert f"<i>{OUTSIDE_FILTER}</i><br>Revenue: {revenue}<br>" in rows.loc[outside["state"], "details"]
    exported = section.export_frame()
    pd.testing.assert_frame_equal(exported[reference_states.columns].reset_index(drop=True),
                                  south.reset_index(drop=True), check_dtype=False)


def test_hover_carries_every_state_metric_formatted(section, reference_states):
    details = section.map_rows().set_index("state")["details"]
    maharashtra = reference_states.set_index("state").loc["Maharashtra"]
    lines = details["Maharashtra"].split("<br>")
    assert lines[:2] == ["<b>Maharashtra</b> · West", "<i>shown</i>"]
    assert lines[2:] == [
        "Revenue: ₹17.7 Cr",  # 176,708,450 rupees
        "Customers: 43,205",
        "Market penetration: 27.1%",
        "YoY growth: +15.8%",
        "Revenue per customer: ₹4,090",
        f"Customer satisfaction: {maharashtra['customer_satisfaction']:.2f} / 5",
        "Stores: 17",
        "Delivery time: 2.0 days",
    ]
    assert details["Goa"] == "<b>Goa</b> · –<br><i>no data</i>"
    polygons = polygons_of(section.plot_choropleth())
    assert values_by_state(polygons, "details")["Maharashtra"] == details["Maharashtra"]
    tooltip = hv.Store.lookup_options("bokeh", polygons, "plot").kwargs["hover_tooltips"]
    assert "@{details}{safe}" in tooltip


def test_unmatched_rows_are_named_and_aliases_still_join(tmp_path, reference_states):
    states = reference_states.copy()
    states.loc[states["state"] == "Kerala", "state"] = "Atlantis"
    states.loc[states["state"] == "Odisha", "state"] = "Orissa"
    states.loc[states["state"] == "Bihar", "state"] = "<img src=x onerror=alert(1)>"
    section = section_over(write_states(tmp_path, states))
    assert section.unmatched_states() == ["Atlantis", "<img src=x onerror=alert(1)>"]
    assert section.renamed_states() == {"Orissa": "Odisha"}
    note = section.join_note()
    # Markdown with the name escaped: the Alert shows it as text.
    assert r"No boundary for: Atlantis, \<img src=x onerror=alert(1)\>." in note and "Orissa → Odisha" in note
    assert f"{len(states) - 2} of {len(states)} rows" in note
    details = section.bubble_rows().set_index("state")["details"]
    assert details["<img src=x onerror=alert(1)>"].startswith("<b>&lt;img src=x onerror=alert(1)&gt;</b>")
    polygons = polygons_of(section.plot_choropleth())
    revenue = values_by_state(polygons, "value")
    assert "Atlantis" not in revenue
    assert revenue["Orissa"] == states.set_index("state").loc["Orissa", "total_revenue"]
    assert math.isnan(revenue["Kerala"]) and f"<i>{NO_DATA}</i>" in values_by_state(polygons, "details")["Kerala"]
    # The bubble map still places the row by its own latitude/longitude.
    bubbles = section.bubble_rows().set_index("state")
    atlantis = states.set_index("state").loc["Atlantis"]
    x, y = TO_MERCATOR.transform(atlantis["longitude"], atlantis["latitude"])
    assert bubbles.loc["Atlantis", ["x", "y"]].tolist() == pytest.approx([x, y])


def test_join_note_on_the_reference_data_names_no_missing_state(section, reference_states):
    note = section.join_note()
    assert "No boundary" not in note
    assert f"{len(reference_states)} of {len(reference_states)} rows" in note
    assert f"{len(SHAPES) - len(reference_states)} of the {len(SHAPES)}" in note


# --- rendering -----------------------------------------------------------------------------------

def test_choropleth_renders_to_bokeh_multipolygons_with_a_colour_bar(section, reference_states):
    section.metric = "Customers"
    figure = hv.render(section.plot_choropleth(), backend="bokeh")
    (renderer,) = [r for r in figure.renderers if isinstance(r, GlyphRenderer)]
    assert isinstance(renderer.glyph, MultiPolygons)
    data = renderer.data_source.data
    by_state = dict(zip(data["state"], data["value"], strict=True))
    assert by_state["Karnataka"] == reference_states.set_index("state").loc["Karnataka", "total_customers"]
    (colour_bar,) = figure.select({"type": ColorBar})
    assert colour_bar.title == "Customers"
    assert figure.match_aspect and not any(axis.visible for axis in figure.axis)


def test_section_renders_and_the_page_follows_the_metric(section, reference_states):
    root = pn.panel(section).get_root()

    def choropleth() -> tuple[str, dict[str, float]]:
        """The map's colour-bar title and the colour values per state in its Bokeh data source."""
        (source,) = [s for s in root.select({"type": ColumnDataSource}) if "details" in s.data and "xs" in s.data]
        titles = {bar.title for bar in root.select({"type": ColorBar})} - {"Customer satisfaction (1-5)"}
        (title,) = titles
        return title, dict(zip(source.data["state"], source.data["color"], strict=True))

    title, colours = choropleth()
    assert title == "Revenue"
    assert colours["Delhi"] == reference_states.set_index("state").loc["Delhi", "total_revenue"]
    section.metric = "Market penetration"
    title, colours = choropleth()
    assert title == "Market penetration"
    assert colours["Gujarat"] == reference_states.set_index("state").loc["Gujarat", "market_penetration"]
    assert math.isnan(colours["Goa"])
    (bar,) = [b for b in root.select({"type": ColorBar}) if b.title == "Market penetration"]
    assert bar.formatter.args == {"kind": "percent"}


def test_tiles_are_off_by_default_and_opt_in(section):
    assert not any(isinstance(layer, hv.Tiles) for layer in section.plot_choropleth())
    assert not any(isinstance(layer, hv.Tiles) for layer in section.plot_bubbles())
    section.show_tiles = True
    for overlay in (section.plot_choropleth(), section.plot_bubbles()):
        assert isinstance(overlay.get(0), hv.Tiles)
        assert "openstreetmap" in hv.render(overlay, backend="bokeh").renderers[0].tile_source.url


# --- the bubble map ------------------------------------------------------------------------------

def test_bubble_area_follows_store_count_at_the_files_coordinates(section, reference_states):
    bubbles = section.bubble_rows()
    assert list(bubbles["state"]) == list(reference_states["state"])
    area_share = (bubbles["bubble_size"] / geography.MAX_BUBBLE_PX) ** 2
    expected = reference_states["store_count"] / reference_states["store_count"].max()
    np.testing.assert_allclose(area_share, expected)
    x, y = TO_MERCATOR.transform(reference_states["longitude"].to_numpy(), reference_states["latitude"].to_numpy())
    np.testing.assert_allclose(bubbles["x"], x, rtol=1e-9)
    np.testing.assert_allclose(bubbles["y"], y, rtol=1e-9)
    assert set(bubbles["located_by"]) == {geography.LOCATED_BY_FILE}
    figure = hv.render(section.plot_bubbles(), backend="bokeh")
    (points,) = [r for r in figure.renderers if isinstance(r, GlyphRenderer) and isinstance(r.glyph, Scatter)]
    np.testing.assert_allclose(points.data_source.data["customer_satisfaction"],
                               reference_states["customer_satisfaction"])


def test_bubbles_keep_their_size_under_the_region_filter(section, reference_states):
    section.filters.regions = ["East"]
    bubbles = section.bubble_rows()
    east = reference_states[reference_states["region"] == "East"]
    assert list(bubbles["state"]) == list(east["state"])
    np.testing.assert_allclose((bubbles["bubble_size"] / geography.MAX_BUBBLE_PX) ** 2,
                               east["store_count"] / reference_states["store_count"].max())


def test_a_row_without_coordinates_sits_at_its_states_centroid(tmp_path, reference_states):
    states = reference_states.copy()
    states.loc[states["state"].isin(["Bihar", "Kerala"]), ["latitude", "longitude"]] = np.nan
    states.loc[states["state"] == "Kerala", "state"] = "Atlantis"
    section = section_over(write_states(tmp_path, states))
    bubbles = section.bubble_rows().set_index("state")
    assert "Atlantis" not in bubbles.index and len(bubbles) == len(states) - 1
    assert bubbles.loc["Bihar", "located_by"] == geography.LOCATED_BY_SHAPE
    note = section.bubble_position_note()
    assert "Bihar (no coordinates) at the state's centroid" in note
    assert "Atlantis left out (no coordinates and no boundary)" in note and note in section.insight_bubbles()
    bihar = load_state_boundaries()["Bihar"]
    exterior = max((polygon[0] for polygon in bihar), key=len)
    lon, lat = TO_MERCATOR.transform(bubbles.loc["Bihar", "x"], bubbles.loc["Bihar", "y"], direction="INVERSE")
    assert exterior[:, 0].min() < lon < exterior[:, 0].max() and exterior[:, 1].min() < lat < exterior[:, 1].max()


# --- insights ------------------------------------------------------------------------------------

def _top_two_sentence_facts(states: pd.DataFrame, column: str) -> tuple[list[str], float]:
    top = states.nlargest(2, column)
    return list(top["state"]), top[column].sum() / states[column].sum()


def test_choropleth_insight_names_the_leaders_and_their_share(section, reference_states):
    leaders, share = _top_two_sentence_facts(reference_states, "total_revenue")
    text = section.insight_choropleth()
    assert text.startswith(f"**{leaders[0]}** and **{leaders[1]}** lead revenue")
    assert f"{share * 100:.1f}%" in text


def test_insights_follow_the_data(tmp_path, reference_states):
    states = reference_states.copy()
    # Kerala becomes the biggest market and loses its satisfaction lead; the East shrinks.
    states.loc[states["state"] == "Kerala", ["total_revenue", "customer_satisfaction"]] = [9e8, 3.0]
    states.loc[states["region"] == "East", "yoy_growth"] = -10.0
    section = section_over(write_states(tmp_path, states))
    leaders, share = _top_two_sentence_facts(states, "total_revenue")
    assert leaders[0] == "Kerala"
    choropleth = section.insight_choropleth()
    assert choropleth.startswith(f"**Kerala** and **{leaders[1]}** lead revenue")
    assert f"{share * 100:.1f}%" in choropleth
    previous = states["total_revenue"] / (1 + states["yoy_growth"] / 100)
    growth = (states.groupby("region")["total_revenue"].sum() / previous.groupby(states["region"]).sum() - 1) * 100
    assert f"**{growth.idxmax()}** grows fastest" in choropleth
    assert f"{growth.min():.1f}% for {growth.idxmin()}".replace("-", "−") in choropleth
    best = states.loc[states["customer_satisfaction"].idxmax()]
    assert best["state"] != "Kerala"
    assert section.insight_bubbles().startswith(f"**{best['state']}** has the best satisfaction")
    few = states[states["store_count"] < states["store_count"].median()]
    standout = few.loc[few["customer_satisfaction"].idxmax()]
    assert standout["state"] != "Kerala" and standout["customer_satisfaction"] > states["customer_satisfaction"].median()
    assert f"**{standout['state']}** has only {standout['store_count']} stores yet" in section.insight_bubbles()


def test_reference_data_insights_say_what_is_true_there(section, reference_states):
    text = section.insight_bubbles()
    assert text.startswith("**West Bengal** has the best satisfaction (4.44 / 5) with 49 stores (above the "
                           "median of 23). **Kerala** has only 9 stores yet scores 4.33 / 5")
    r, _ = stats.pearsonr(reference_states["store_count"], reference_states["customer_satisfaction"])
    assert f"Pearson r = {r:+.2f}" in text
    section.metric = "YoY growth"
    shrinking = reference_states[reference_states["yoy_growth"] < 0]
    assert f"{len(shrinking)} of {len(reference_states)} shrank" in section.insight_choropleth()


def test_insight_when_the_filter_leaves_no_state(tmp_path, reference_dir, reference_states):
    # Region options come from the customer file, which still has Central; the geography file does not.
    shutil.copy(reference_dir / "customer_data.csv", tmp_path / "customer_data.csv")
    section = section_over(write_states(tmp_path, reference_states[reference_states["region"] != "Central"]))
    section.filters.regions = ["Central"]
    assert section.shown_states().empty and section.export_frame().empty
    assert section.insight_choropleth() == section.insight_bubbles() == (
        "No state is in the selected regions: widen the region filter.")
    pn.panel(section).get_root()


# --- insight functions on hand-worked cases ------------------------------------------------------

HAND = pd.DataFrame({
    "state": ["A", "B", "C", "D"],
    "region": ["East", "East", "West", "West"],
    "total_revenue": [110.0, 200.0, 300.0, 90.0],
    "yoy_growth": [10.0, 0.0, 50.0, -10.0],
    "store_count": [2, 10, 4, 8],
    "customer_satisfaction": [4.5, 3.0, 4.0, 3.5],
})


# The reference data filtered to West.
WEST = pd.DataFrame({"state": ["Maharashtra", "Gujarat", "Rajasthan"], "store_count": [17, 36, 32],
                     "customer_satisfaction": [3.59, 4.25, 3.98]})


def test_stores_satisfaction_sentence_never_calls_the_median_few_nor_misses_the_best():
    # Median stores 32 (Rajasthan's own), median satisfaction 3.98; Gujarat is the best with 36 stores; the only
    # state with fewer than 32 stores, Maharashtra, scores below the median.
    text = geo_insights.stores_satisfaction_sentence(WEST)
    assert text.startswith("**Gujarat** has the best satisfaction (4.25 / 5) with 36 stores (above the median of "
                           "32). No state with fewer stores than the median beats the median satisfaction 3.98 / 5: "
                           "the best of them, Maharashtra (17 stores), scores 3.59 / 5.")
    assert "Rajasthan" not in text
    # HAND: median stores 6, median satisfaction 3.75; A is the best and has fewer stores than the median.
    assert geo_insights.stores_satisfaction_sentence(HAND).startswith(
        "**A** has the best satisfaction (4.50 / 5) with only 2 stores, fewer than the median of 6.")
    # B made the most satisfied (median satisfaction now (4.0 + 4.5) / 2 = 4.25): A still stands out among the few.
    flipped = HAND.assign(customer_satisfaction=[4.5, 4.8, 4.0, 3.5])
    assert geo_insights.stores_satisfaction_sentence(flipped).startswith(
        "**B** has the best satisfaction (4.80 / 5) with 10 stores (above the median of 6). **A** has only 2 stores "
        "yet scores 4.50 / 5, above the median satisfaction 4.25 / 5.")
    assert geo_insights.stores_satisfaction_sentence(WEST.head(1)) == (
        "**Maharashtra**, the only state shown, scores 3.59 / 5 with 17 stores.")


def test_region_growth_is_revenue_against_implied_last_year():
    regions = geo_insights.region_growth(HAND).set_index("region")
    # East: last year 100 + 200 = 300, now 310 → +3.33%; West: 200 + 100 = 300, now 390 → +30%.
    assert regions.loc["East", "growth"] == pytest.approx(10 / 300 * 100)
    assert regions.loc["West", "growth"] == pytest.approx(30.0)
    assert list(regions.index) == ["West", "East"]
    text = geo_insights.growth_sentence(HAND)
    assert text.startswith("**West** grows fastest: revenue +30.0%")
    assert "+3.3% for East" in text and "+16.7% for all 2 regions" in text  # 700 / 600 − 1


def test_leaders_sentence_on_a_hand_worked_case():
    text = geo_insights.leaders_sentence(HAND, "total_revenue")
    # C 300 + B 200 = 500 of 700 = 71.4%.
    assert text == ("**C** and **B** lead revenue with ₹300 and ₹200: 71.4% of the ₹700 across the 4 states "
                    "shown. **D** is last with ₹90.")
    growth = geo_insights.leaders_sentence(HAND, "yoy_growth")
    assert growth.startswith("**C** has the highest YoY growth (+50.0%) and **D** the lowest (−10.0%)")
    assert "1 of 4 shrank year on year: D (−10.0%)." in growth


def test_few_stores_high_satisfaction_on_a_hand_worked_case():
    # Median store count 6: A (2) and C (4) have fewer; A is the more satisfied.
    assert geo_insights.few_stores_high_satisfaction(HAND)["state"] == "A"
    # Three states: the median store count is the middle state's own, so that state does not have "fewer".
    assert geo_insights.few_stores_high_satisfaction(WEST)["state"] == "Maharashtra"
    assert geo_insights.few_stores_high_satisfaction(WEST.head(1)) is None
    r, _ = stats.pearsonr(HAND["store_count"], HAND["customer_satisfaction"])
    assert geo_insights.stores_satisfaction_correlation(HAND) == pytest.approx(r)
    assert math.isnan(geo_insights.stores_satisfaction_correlation(HAND.head(2)))


@pytest.mark.parametrize(("column", "value", "text"), [
    ("total_revenue", 176708450, "₹17.7 Cr"),
    ("revenue_per_customer", 4090.0, "₹4,090"),
    ("market_penetration", 27.1, "27.1%"),
    ("yoy_growth", -3.7, "−3.7%"),
    ("customer_satisfaction", 4.3, "4.30 / 5"),
    ("avg_delivery_days", 6.26, "6.3 days"),
    ("store_count", float("nan"), "n/a"),
])
def test_format_metric(column, value, text):
    assert geo_insights.format_metric(column, value) == text


def test_maps_scale_with_their_card_without_sizing_warnings(section, caplog):
    from bokeh.core.validation import check_integrity
    from bokeh.document import Document
    from bokeh.models import Plot

    doc = Document()
    with caplog.at_level("WARNING"):
        root = pn.panel(section).get_root(doc)
        doc.add_root(root)
        issues = check_integrity(list(doc.models))
    # Bokeh W-1005 (fixed sizing without a width/height) and HoloViews' "aspect and width/height" warning.
    assert not [w for w in issues.warning if w.code == 1005]
    assert not [r for r in caplog.records if "aspect" in r.getMessage()]
    maps = [p for p in root.select({"type": Plot}) if p.title is not None and "by state" in p.title.text
            or p.title is not None and "Stores" in p.title.text]
    assert len(maps) == 2 and all(p.sizing_mode == "scale_width" and p.match_aspect for p in maps)
    panes = [pane for pane in section.layout().select(pn.pane.HoloViews)]
    assert {pane.sizing_mode for pane in panes} == {"scale_width"}


# --- reading the outlines' columns -----------------------------------------------------------------

def _as_lists(value):
    """Arrays and nested arrays as plain lists, NaN as None (so two sources compare with ==)."""
    if isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.dtype == object):
        return [_as_lists(item) for item in value]
    if isinstance(value, np.ndarray):
        value = value.tolist()
        return [None if isinstance(item, float) and math.isnan(item) else item for item in value]
    return None if isinstance(value, float) and math.isnan(value) else value


@pytest.mark.parametrize("element", [hv.Polygons, hv.Path])
def test_one_value_per_path_columns_read_as_holoviews_reads_them(element):
    """Every column, the outlines (a polygon's rings closed, a path's left open), the holes and the dtypes read as
    HoloViews' own interface reads them: outlines of two parts with a hole, an open ring, per-vertex values."""
    square = {"x": np.array([0.0, 1, 1, 0, 0]), "y": np.array([0.0, 0, 1, 1, 0])}
    hole = np.array([[0.2, 0.2], [0.8, 0.3], [0.5, 0.8]])   # open: closed when read
    two_parts = {"x": np.array([0.0, 1, 1, 0, 0, np.nan, 3, 4, 4, 3]),   # the second part's ring open
                 "y": np.array([0.0, 0, 1, 1, 0, np.nan, 0, 0, 1, 1]), "holes": [[hole], []]}
    paths = [
        {**two_parts, "value": 3.5, "state": "Goa", "tip": "<b>Goa</b>", "per_vertex": np.arange(10.0)},
        {"x": square["x"] + 2, "y": square["y"], "holes": [[]], "value": float("nan"), "state": "Kerala & Mahé",
         "tip": "<b>Kerala</b> · a longer text", "per_vertex": np.arange(5.0) * 2},
    ]
    if element is hv.Path:
        paths = [{key: value for key, value in path.items() if key != "holes"} for path in paths]
    vdims = ["value", "state", "tip", "per_vertex"]
    ours = element(paths, vdims=vdims, datatype=[geography.one_value_per_path()])
    theirs = element(paths, vdims=vdims, datatype=["multitabular"])
    assert ours.interface is geography.OneValuePerPathInterface
    assert theirs.interface is not geography.OneValuePerPathInterface
    for dim in ours.dimensions():
        assert ours.interface.dtype(ours, dim) == theirs.interface.dtype(theirs, dim), dim.name
        for expanded in (True, False):
            got = ours.dimension_values(dim, expanded=expanded)
            expected = theirs.dimension_values(dim, expanded=expanded)
            assert got.dtype == expected.dtype, (dim.name, expanded)
            assert _as_lists(got) == _as_lists(expected), (dim.name, expanded)
    assert ours.dimension_values("state", expanded=False).tolist() == ["Goa", "Kerala & Mahé"]
    if element is hv.Polygons:
        assert _as_lists(ours.holes()) == _as_lists(theirs.holes())
        assert len(ours.holes()[0][0][0]) == 4   # the open hole ring, closed


@pytest.mark.parametrize("plot", ["plot_choropleth", "plot_bubbles"])
def test_maps_send_the_same_data_as_with_holoviews_own_interface(section, monkeypatch, plot):
    def sources(figure):
        return [renderer.data_source.data for renderer in figure.renderers if isinstance(renderer, GlyphRenderer)]

    assert polygons_of(getattr(section, plot)()).interface is geography.OneValuePerPathInterface
    ours = sources(hv.render(getattr(section, plot)(), backend="bokeh"))
    monkeypatch.setattr(geography, "one_value_per_path", lambda: "multitabular")
    theirs = sources(hv.render(getattr(section, plot)(), backend="bokeh"))
    assert [sorted(data) for data in ours] == [sorted(data) for data in theirs]
    assert [{key: _as_lists(column) for key, column in data.items()} for data in ours] == \
           [{key: _as_lists(column) for key, column in data.items()} for data in theirs]
