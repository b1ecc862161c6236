"""Product performance section: every control's data against an independent pandas computation on
product_sales.csv, drill down and up by tap coordinates, the global filters, and insights that follow the data."""
from __future__ import annotations

import datetime as dt
import io
import shutil

import holoviews as hv
import holoviews.plotting.bokeh  # registers the renderer hv.render uses
import numpy as np
import pandas as pd
import panel as pn
import pytest
from bokeh.models import Button as BokehButton
from bokeh.models import ColumnDataSource, GlyphRenderer

from novamart_panel import format as fmt
from novamart_panel.analytics.product_insights import (
    high_volume_low_margin,
    ordinal,
    quarter_key,
)
from novamart_panel.data.store import DataStore
from novamart_panel.views.filters import Filters
from novamart_panel.views.base import readable_text_colours
from novamart_panel.views.products import ALL_CATEGORIES, METRICS, TREEMAP_BOX, ProductSection

PRODUCT_FILE = "product_sales.csv"
IDENTITY = ["category", "subcategory", "product_name"]
SUMMED = ["sales", "profit", "units_sold"]


@pytest.fixture(scope="module")
def products(reference_dir) -> pd.DataFrame:
    return pd.read_csv(reference_dir / PRODUCT_FILE)


@pytest.fixture
def section(reference_store) -> ProductSection:
    return ProductSection(store=reference_store, filters=Filters(reference_store))


def sums_by(rows: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """pandas: summed measures and the margin as a ratio of sums, per group."""
    out = rows.groupby(by, as_index=False)[SUMMED].sum()
    out["margin"] = out["profit"] / out["sales"] * 100
    return out


def quarter_order(labels) -> list[str]:
    """Quarter labels in time order, parsed independently of the app."""
    return sorted(set(labels), key=lambda q: (int(q.split()[1]), int(q[1])))


def centre_of(tiles: pd.DataFrame, name: str) -> tuple[float, float]:
    row = tiles.set_index("name").loc[name]
    return (row["x0"] + row["x1"]) / 2, (row["y0"] + row["y1"]) / 2


def assert_same_sums(actual: pd.DataFrame, expected: pd.DataFrame, keys: list[str]) -> None:
    actual = actual.sort_values(keys).reset_index(drop=True)
    expected = expected.sort_values(keys).reset_index(drop=True)
    assert actual[keys].values.tolist() == expected[keys].values.tolist()
    for column in [*SUMMED, "margin"]:
        np.testing.assert_allclose(actual[column].astype(float), expected[column].astype(float), rtol=1e-9)


# --- products and the treemap ----------------------------------------------------------------------

def test_a_product_is_category_subcategory_and_name(section, products):
    totals = section.product_totals()
    assert products["product_id"].is_unique  # one id per row: ids do not identify products
    assert_same_sums(totals, sums_by(products, IDENTITY), IDENTITY)
    footwear = totals[totals["product_name"] == "Footwear"]
    assert sorted(footwear["label"]) == ["Footwear (Men)", "Footwear (Women)"]
    assert totals.loc[totals["product_name"] == "AirPods", "label"].item() == "AirPods"


def test_top_level_tiles_are_categories_sized_by_sales(section, products):
    tiles = section.treemap_tiles()
    assert_same_sums(tiles.rename(columns={"name": "category"}), sums_by(products, ["category"]), ["category"])
    # Margin is total profit over total sales, not the mean of the file's per-row margins.
    mean_of_rows = products.groupby("category")["profit_margin"].mean()
    assert not np.allclose(tiles.set_index("name")["margin"].sort_index(), mean_of_rows.sort_index())
    _, _, width, height = TREEMAP_BOX
    areas = (tiles["x1"] - tiles["x0"]) * (tiles["y1"] - tiles["y0"])
    np.testing.assert_allclose(areas, tiles["sales"] / tiles["sales"].sum() * width * height)
    assert tiles["sales"].is_monotonic_decreasing


def test_tapping_tiles_drills_down_and_back_up(section, products):
    top = section.treemap_tiles()
    assert section.drill_at(*centre_of(top, "Electronics"))
    assert section.path == ["Electronics"]
    electronics = products[products["category"] == "Electronics"]
    assert_same_sums(section.treemap_tiles().rename(columns={"name": "subcategory"}),
                     sums_by(electronics, ["subcategory"]), ["subcategory"])

    assert section.drill_at(*centre_of(section.treemap_tiles(), "Smartphones"))
    assert section.path == ["Electronics", "Smartphones"]
    phones = electronics[electronics["subcategory"] == "Smartphones"]
    assert_same_sums(section.treemap_tiles().rename(columns={"name": "product_name"}),
                     sums_by(phones, ["product_name"]), ["product_name"])

    # Products are the finest level; a tap there, or outside every tile, changes nothing.
    assert not section.drill_at(*centre_of(section.treemap_tiles(), "iPhone Pro"))
    section.back_up()
    assert section.path == ["Electronics"]
    assert not section.drill_at(-5.0, -5.0)
    assert section.path == ["Electronics"]
    section.back_up()
    section.back_up()  # at the top, backing up stays there
    assert section.path == []


def test_footwear_of_men_is_only_the_mens_footwear(section, products):
    section.path = ["Fashion", "Men"]
    tiles = section.treemap_tiles().set_index("name")
    mens = products[(products["subcategory"] == "Men") & (products["product_name"] == "Footwear")]
    assert tiles.loc["Footwear", "sales"] == pytest.approx(mens["sales"].sum())
    assert tiles.loc["Footwear", "sales"] < products.loc[products["product_name"] == "Footwear", "sales"].sum()


def test_breadcrumb_buttons_go_up_and_the_level_line_names_the_node(section):
    section.path = ["Fashion", "Men"]
    assert 'data-level="2"' in section.level_text() and 'data-path="Fashion/Men"' in section.level_text()
    buttons = [item for item in section.breadcrumb() if isinstance(item, pn.widgets.Button)]
    assert [b.label for b in buttons] == ["All categories", "Fashion", "Men"]
    assert [b.disabled for b in buttons] == [False, False, True]
    buttons[1].clicks += 1
    assert section.path == ["Fashion"]
    assert 'data-level="1"' in section.level_text()
    # The same buttons, relabelled: the third is hidden until the path is that deep again.
    assert [(b.label, b.visible, b.disabled) for b in buttons] == [
        ("All categories", True, False), ("Fashion", True, True), ("", False, False)]
    buttons[0].clicks += 1
    assert section.path == []
    assert [b.visible for b in buttons] == [True, False, False] and buttons[0].disabled


def test_tiles_are_labelled_only_where_the_text_fits_and_readably(section):
    section.path = ["Electronics", "Accessories"]
    tiles = section.treemap_tiles()
    assert all(label.startswith(name) for name, label in zip(tiles["name"], tiles["label"]) if label)
    assert (tiles["label"] != "").any()
    # Labels use black on light colours and white on dark ones (RdYlGn: dark red, pale yellow, dark green).
    assert readable_text_colours([0, 50, 100], "RdYlGn", (0, 100)) == ["#ffffff", "#000000", "#ffffff"]


def test_one_colour_scale_for_every_level(section):
    limits = section.treemap_colour_limits()
    section.path = ["Fashion"]
    assert section.treemap_colour_limits() == limits
    margins = section.product_totals()["margin"]
    assert limits == (margins.min(), margins.max())


# --- category comparison ---------------------------------------------------------------------------

@pytest.mark.parametrize("label", list(METRICS))
def test_category_metric_selector(section, products, label):
    section.category_metric = label
    frame = section.category_metrics()
    expected = sums_by(products, ["category", "year"])
    assert_same_sums(frame, expected, ["category", "year"])
    np.testing.assert_allclose(frame["value"], frame[METRICS[label]])
    bars = section.plot_categories()
    assert bars.vdims[0].label == label


# --- regional performance by quarter ---------------------------------------------------------------

@pytest.mark.parametrize("label, category", [("Sales", ALL_CATEGORIES), ("Profit margin", "Fashion"),
                                             ("Units sold", "Home & Living"), ("Profit", "Electronics")])
def test_region_quarter_metric_and_category(section, products, label, category):
    section.param.update(region_metric=label, region_category=category)
    grid = section.region_quarter()
    rows = products if category == ALL_CATEGORIES else products[products["category"] == category]
    assert_same_sums(grid, sums_by(rows, ["region", "quarter"]), ["region", "quarter"])
    np.testing.assert_allclose(grid["value"], grid[METRICS[label]])
    assert list(dict.fromkeys(grid["quarter"])) == quarter_order(products["quarter"])
    heatmap = section.plot_region_quarter().get(0)
    assert list(dict.fromkeys(heatmap.dimension_values("quarter"))) == quarter_order(products["quarter"])


def test_a_date_selection_moves_the_quarter_player_into_it(section, products):
    # The player stayed on Q1 2023 under a March 2024 selection: an empty chart, "No sales in Q1 2023".
    section.quarter = "Q1 2023"
    section.filters.date_range = (dt.date(2024, 3, 1), dt.date(2024, 3, 31))
    assert section.quarter == "Q1 2024"
    expected = products[products["quarter"] == "Q1 2024"].groupby("region")["sales"].sum()
    assert section.quarter_regions().set_index("region")["sales"].to_dict() == pytest.approx(expected.to_dict())
    section.filters.date_range = (dt.date(2023, 10, 1), dt.date(2024, 6, 30))
    assert section.quarter == "Q1 2024"   # a quarter inside the selection stays
    filters = Filters(section.store)   # a shared link's dates reach the filters before the sections exist
    filters.date_range = (dt.date(2024, 3, 1), dt.date(2024, 3, 31))
    assert ProductSection(store=section.store, filters=filters).quarter == "Q1 2024"


def test_quarter_player_shows_one_quarter_on_a_fixed_scale(section, products):
    assert section.param.quarter.objects == quarter_order(products["quarter"])
    section.region_metric = "Sales"
    scales = set()
    for quarter in ("Q1 2023", "Q4 2024"):
        section.quarter = quarter
        frame = section.quarter_regions()
        expected = products[products["quarter"] == quarter].groupby("region")["sales"].sum()
        assert frame.set_index("region")["sales"].to_dict() == pytest.approx(expected.to_dict())
        plot = hv.render(section.plot_quarter_regions())
        scales.add((plot.y_range.start, plot.y_range.end))
        (source,) = [r.data_source for r in plot.select({"type": GlyphRenderer})]
        assert list(source.data["region"]) == sorted(expected.index)
    assert len(scales) == 1
    assert "Q4 2024" in section.insight_quarter()


# --- global filters --------------------------------------------------------------------------------

def test_region_filter_narrows_every_view(section, products):
    section.filters.regions = ["West"]
    west = products[products["region"] == "West"]
    assert_same_sums(section.product_totals(), sums_by(west, IDENTITY), IDENTITY)
    assert_same_sums(section.treemap_tiles().rename(columns={"name": "category"}), sums_by(west, ["category"]),
                     ["category"])
    assert set(section.region_quarter()["region"]) == {"West"}
    assert_same_sums(section.category_metrics(), sums_by(west, ["category", "year"]), ["category", "year"])
    exported = section.export_frame()
    assert len(exported) == len(west) and set(exported["region"]) == {"West"}
    assert list(exported.columns) == list(products.columns)


def test_date_range_applies_by_quarter_overlap(section, products):
    section.filters.date_range = (dt.date(2023, 2, 15), dt.date(2023, 5, 1))
    kept = products[products["quarter"].isin(["Q1 2023", "Q2 2023"])]
    assert_same_sums(section.product_totals(), sums_by(kept, IDENTITY), IDENTITY)
    assert sorted(section.export_frame()["quarter"].unique()) == ["Q1 2023", "Q2 2023"]
    section.filters.date_range = (dt.date(2024, 10, 1), section.filters.full_range[1])
    assert set(section.region_quarter()["quarter"]) == {"Q4 2024"}
    section.filters.reset()
    assert len(section.export_frame()) == len(products)


def test_channels_and_campaign_types_do_not_apply_and_the_note_says_so(section, products):
    section.filters.param.update(channels=["Email"], campaign_types=[section.filters.param.campaign_types.objects[0]])
    assert len(section.export_frame()) == len(products)
    note = section.filter_note()
    assert "regions" in note and "date range by quarter" in note
    assert note.endswith("Not applicable to this data: channels, campaign types.")


# --- high volume, low margin -----------------------------------------------------------------------

@pytest.mark.parametrize("volume, margin", [(75, 25), (50, 50), (90, 10), (100, 0)])
def test_high_volume_low_margin_percentiles(section, products, volume, margin):
    section.param.update(volume_percentile=volume, margin_percentile=margin)
    per_product = sums_by(products, IDENTITY)
    units_cut = np.percentile(per_product["units_sold"], volume)
    margin_cut = np.percentile(per_product["margin"], margin)
    median = np.median(per_product["margin"])
    expected = per_product[(per_product["units_sold"] > units_cut) & (per_product["margin"] < margin_cut)]
    flagged = section.flagged_products()
    assert sorted(map(tuple, flagged[IDENTITY].values)) == sorted(map(tuple, expected[IDENTITY].values))
    assert flagged["units_sold"].is_monotonic_decreasing
    lost = ((median - expected["margin"]) / 100 * expected["sales"]).clip(lower=0).sum()
    assert flagged["lost_profit"].sum() == pytest.approx(lost)
    table = section.flagged_table()
    assert len(table) == len(expected)
    assert table["Sales (₹ L)"].sum() == pytest.approx(expected["sales"].sum() / 1e5)
    if expected.empty:
        assert section.insight_volume_margin().startswith("No product of 36")
    else:
        assert f"**{len(expected)} of 36 products**" in section.insight_volume_margin()
        assert fmt.rupees(lost) in section.insight_volume_margin()


def test_default_screen_flags_products_and_the_scatter_draws_the_cut_offs(section):
    screen = section.volume_margin_screen()
    assert (screen.volume_percentile, screen.margin_percentile) == (75, 25)
    overlay = section.plot_volume_margin()
    lines = [layer for layer in overlay if isinstance(layer, (hv.VLine, hv.HLine))]
    assert sorted(line.data for line in lines) == sorted([screen.volume_cut, screen.margin_cut])
    scatter = next(layer for layer in overlay if isinstance(layer, hv.Scatter))
    flagged = scatter.dimension_values("status") == "high volume, low margin"
    assert flagged.sum() == len(section.flagged_products())


# --- insights follow the data ----------------------------------------------------------------------

def changed_copy(reference_dir, tmp_path) -> pd.DataFrame:
    """A copy of the product file where Electronics is renamed and Home & Living sells four times as much
    at the same profit (so it leads sales and its margin drops)."""
    frame = pd.read_csv(reference_dir / PRODUCT_FILE)
    frame["category"] = frame["category"].replace({"Electronics": "Gadgets"})
    home = frame["category"] == "Home & Living"
    frame.loc[home, "sales"] *= 4
    frame.loc[home, "profit_margin"] = (frame.loc[home, "profit"] / frame.loc[home, "sales"] * 100).round(2)
    frame.to_csv(tmp_path / PRODUCT_FILE, index=False)
    return frame


def expected_sentences(rows: pd.DataFrame) -> list[str]:
    """Independent statements: the sales leader and its share, the best margin, the strongest region-quarter."""
    categories = sums_by(rows, ["category"]).set_index("category")
    leader = categories["sales"].idxmax()
    share = categories.loc[leader, "sales"] / categories["sales"].sum()
    best = categories["margin"].idxmax()
    cells = rows.groupby(["region", "quarter"])["sales"].sum()
    region, quarter = cells.idxmax()
    return [(f"**{leader}** leads NovaMart sales with {fmt.rupees(categories.loc[leader, 'sales'])} "
             f"({fmt.percent(share)} of"),
            f"Highest profit margin: **{best}** ({fmt.percent(categories.loc[best, 'margin'], 1, scale=100)})",
            f"**{region} in {quarter}** ({fmt.rupees(cells.max())})"]


def insights_of(section: ProductSection) -> str:
    parts = (section.insight_treemap(), section.insight_categories(), section.insight_region_quarter(),
             section.insight_volume_margin())
    return " ".join(parts)


def test_insights_follow_the_data(reference_store, products, reference_dir, tmp_path):
    changed = changed_copy(reference_dir, tmp_path)
    reference_words = insights_of(ProductSection(store=reference_store, filters=Filters(reference_store)))
    store = DataStore.open(tmp_path)
    changed_words = insights_of(ProductSection(store=store, filters=Filters(store)))
    for words, rows in ((reference_words, products), (changed_words, changed)):
        for sentence in expected_sentences(rows):
            assert sentence in words
    assert "**Electronics** leads NovaMart sales" in reference_words
    assert "**Home & Living** leads NovaMart sales" in changed_words and "Gadgets" in changed_words
    assert reference_words != changed_words


def test_screen_sentence_counts_follow_the_data(reference_dir, tmp_path):
    changed = changed_copy(reference_dir, tmp_path)
    store = DataStore.open(tmp_path)
    section = ProductSection(store=store, filters=Filters(store))
    per_product = sums_by(changed, IDENTITY)
    flagged = ((per_product["units_sold"] > np.percentile(per_product["units_sold"], 75))
               & (per_product["margin"] < np.percentile(per_product["margin"], 25)))
    # Four times the sales at the same profit leaves Home & Living the thinnest margins, but none of its
    # products sells in high volume: the screen flags nothing here, and says so.
    assert flagged.sum() == 0
    assert section.insight_volume_margin().startswith("No product of 36 is both above the 75th percentile")
    assert fmt.percent(np.percentile(per_product["margin"], 25), 1, scale=100) in section.insight_volume_margin()


# --- rendering and downloads -----------------------------------------------------------------------

def tile_source(root) -> ColumnDataSource:
    (source,) = [s for s in root.select({"type": ColumnDataSource}) if "share_text" in s.data]
    return source


def test_section_renders_and_the_treemap_source_follows_the_path(section, products):
    root = pn.panel(section).get_root()
    assert sorted(tile_source(root).data["name"]) == sorted(products["category"].unique())
    assert any(isinstance(b, BokehButton) and b.label == "⬑ Back up" and b.disabled
               for b in root.select({"type": BokehButton}))
    section.treemap_tap.event(x=centre_of(section.treemap_tiles(), "Home & Living")[0],
                       y=centre_of(section.treemap_tiles(), "Home & Living")[1])
    assert section.path == ["Home & Living"]
    home = products[products["category"] == "Home & Living"]
    assert sorted(tile_source(root).data["name"]) == sorted(home["subcategory"].unique())
    back = next(b for b in root.select({"type": BokehButton}) if b.label == "⬑ Back up")
    assert not back.disabled


def test_export_and_chart_downloads(section, products):
    section.filters.regions = ["North"]
    exported = section.export_frame()
    north = products[products["region"] == "North"]
    pd.testing.assert_frame_equal(
        exported.sort_values("product_id").reset_index(drop=True),
        north.sort_values("product_id").reset_index(drop=True), check_dtype=False)
    csv_text = section.download_button().callback().read().decode()
    assert pd.read_csv(io.StringIO(csv_text)).shape == north.shape
    charts = section.chart_objects()
    assert len(charts) == 5
    for element in charts:
        hv.render(element)


def test_a_missing_product_file_gives_the_base_notice(reference_dir, tmp_path):
    shutil.copy(reference_dir / "campaign_performance.csv", tmp_path)
    store = DataStore.open(tmp_path)
    section = ProductSection(store=store, filters=Filters(store))
    shown = section.__panel__()
    assert isinstance(shown, pn.pane.Alert) and "product_sales.csv" in shown.object


# --- the pure helpers behind the words -------------------------------------------------------------

def test_screen_on_a_hand_worked_frame():
    frame = pd.DataFrame({"label": list("abcde"), "units_sold": [10, 20, 30, 40, 50],
                          "sales": [100.0, 100.0, 100.0, 200.0, 0.0], "profit": [30.0, 20.0, 10.0, 10.0, 0.0]})
    # e sold nothing: no margin, left out. Margins a-d: 30, 20, 10, 5 %; units 10-40.
    # 50th percentile of units = 25, of margins = 15; median margin = 15.
    screen = high_volume_low_margin(frame, 50, 50)
    assert (screen.volume_cut, screen.margin_cut, screen.median_margin) == (25.0, 15.0, 15.0)
    assert screen.flagged["label"].tolist() == ["d", "c"]
    # Lost profit at the median margin: d (15 − 5) % × 200 = 20, c (15 − 10) % × 100 = 5.
    assert screen.flagged["lost_profit"].tolist() == pytest.approx([20.0, 5.0])
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 75, 100)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "75th", "100th"]
    assert sorted(["Q2 2024", "Q4 2023", "Q1 2024"], key=quarter_key) == ["Q4 2023", "Q1 2024", "Q2 2024"]


def test_the_treemap_toolbar_has_no_pan_or_zoom(section):
    # A tap drills into a tile; panning or zooming a treemap shows nothing new (the labels' layer used to bring
    # HoloViews' default pan and zoom tools into the overlay's toolbar).
    from bokeh.models import Plot

    root = section.treemap_chart().get_root()
    figure, = root.select({"type": Plot})
    tools = {type(tool).__name__ for tool in figure.toolbar.tools}
    assert {"ResetTool", "SaveTool", "HoverTool"} <= tools <= {"ResetTool", "SaveTool", "HoverTool", "TapTool"}


def test_served_a_filter_change_redraws_the_treemap_tiles_and_labels_in_one_step(section, monkeypatch, hold_execute):
    """The treemap, the first screen's top figure, is two maps (tiles and labels): a filter change's first step
    redraws both, so the page never shows new tiles under the old labels."""
    from novamart_panel.views import base

    scheduled = []
    monkeypatch.setattr(base, "served", lambda: True)
    monkeypatch.setattr(base, "next_on_loop", scheduled.append)
    hold_execute(scheduled.append)
    layout = section.__panel__()
    section.views_below(layout.objects[section.first_screen:])
    root = layout.get_root()
    (pane,) = layout.select(lambda obj: "treemap" in getattr(obj, "css_classes", []))
    sources = pane._models[root.ref["id"]][0].select({"type": ColumnDataSource})

    def drawn() -> list:
        return [repr({key: list(map(str, values)) for key, values in source.data.items()}) for source in sources]

    before = drawn()
    section.filters.regions = ["North"]
    first = drawn()
    while scheduled:
        scheduled.pop(0)()
    changed = {i for i, (old, new) in enumerate(zip(before, drawn())) if old != new}
    assert len(changed) >= 2 and changed == {i for i, (old, new) in enumerate(zip(before, first)) if old != new}
