"""Customer insights: every control changes the data, and the data equals pandas on the CSV files;
insight sentences follow the data (the reference files and a modified copy say different true things)."""
from __future__ import annotations

import io
import shutil

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import pytest
from bokeh.models import ColumnDataSource, LogScale, LinearScale
from scipy import stats

from novamart_panel.analytics import customer_insights as cx
from novamart_panel.data.contract import CUSTOMERS
from novamart_panel.data.store import DataStore
from novamart_panel.format import count, percent, rupees
from novamart_panel.views.customers import (ALL_CUSTOMERS, MIN_BUBBLE, OTHER_CHANNELS, POINT_GREY, SEGMENT_COLORS,
                                            WHISKER_GREY, CustomerSection, segment_colour)
from novamart_panel.views.filters import Filters

CUSTOMER_FILE = "customer_data.csv"
CAMPAIGN_FILE = "campaign_performance.csv"
SUMS = ["spend", "impressions", "clicks", "conversions", "revenue"]


@pytest.fixture(scope="module")
def customers(reference_dir) -> pd.DataFrame:
    return pd.read_csv(reference_dir / CUSTOMER_FILE)


@pytest.fixture(scope="module")
def campaigns(reference_dir) -> pd.DataFrame:
    return pd.read_csv(reference_dir / CAMPAIGN_FILE, parse_dates=["date"])


@pytest.fixture(scope="module")
def modified_dir(tmp_path_factory, reference_dir):
    """A copy of the reference data whose customers and channels tell another story (see the edits)."""
    folder = tmp_path_factory.mktemp("modified")
    for path in reference_dir.glob("*.csv"):
        shutil.copy(path, folder / path.name)
    rows = pd.read_csv(reference_dir / CUSTOMER_FILE)
    rows["age"] = rows["age"] + 15                                          # older customers
    regular = rows["customer_segment"] == "Regular"
    rows.loc[regular, "lifetime_value"] = rows.loc[regular, "lifetime_value"] * 10   # Regular now worth most
    detractor = rows["nps_category"] == "Detractor"
    spread = (np.arange(detractor.sum()) % 21 - 10) / 40                    # one mode at 3.0 ± 0.25
    rows.loc[detractor, "satisfaction_score"] = 3.0 + spread
    rich = rows[rows["customer_segment"] == "Premium"].nlargest(30, "lifetime_value").index
    rows.loc[rich, "churn_probability"] = 0.9                               # 30 valuable customers at risk
    rows.to_csv(folder / CUSTOMER_FILE, index=False)
    campaign_rows = pd.read_csv(reference_dir / CAMPAIGN_FILE)
    campaign_rows.loc[campaign_rows["channel"] == "Direct", "conversions"] = 0   # Direct no longer converts
    campaign_rows.to_csv(folder / CAMPAIGN_FILE, index=False)
    return folder


@pytest.fixture(scope="module")
def modified_store(modified_dir):
    return DataStore.open(modified_dir)


@pytest.fixture(scope="module")
def modified_customers(modified_dir) -> pd.DataFrame:
    return pd.read_csv(modified_dir / CUSTOMER_FILE)


def section(store, **filters) -> CustomerSection:
    view = CustomerSection(store=store, filters=Filters(store))
    view.filters.param.update(**filters)
    return view


# -- analytics helpers --------------------------------------------------------------------------------
def test_weighted_median_and_box_stats_by_hand():
    assert cx.weighted_median([1, 2, 3], [1, 1, 5]) == 3
    assert cx.weighted_median([5, 1, 2], [1, 1, 1]) == 2
    assert cx.weighted_median([1, 2], [1, 1]) == 1       # the lower middle of an even count
    assert np.isnan(cx.weighted_median([1], [0]))
    box = cx.box_stats([1, 2, 3, 4, 100])
    assert (box["q1"], box["median"], box["q3"]) == (2, 3, 4)
    assert (box["lower"], box["upper"], box["high_outliers"], box["low_outliers"]) == (1, 4, 1, 0)


def test_bimodality_by_hand_and_on_samples():
    two = cx.bimodality([10, 2, 1, 2, 10])
    assert (two.bimodal, two.major, two.minor, two.dip) == (True, 0, 4, 2)
    assert two.dip_ratio == pytest.approx((1 + 2 + 2) / 3 / 6)
    assert not cx.bimodality([1, 3, 6, 10, 6, 3, 1]).bimodal
    assert not cx.bimodality([0, 0, 0]).bimodal
    rng = np.random.default_rng(7)
    bins = np.linspace(-6, 10, 41)
    mixture = np.concatenate([rng.normal(0, 1, 3000), rng.normal(5, 1, 1500)])
    assert cx.bimodality(np.histogram(mixture, bins)[0]).bimodal
    assert not cx.bimodality(np.histogram(rng.normal(2, 1.5, 4500), bins)[0]).bimodal


def test_names():
    assert cx.names(["A"]) == "A" and cx.names(["A", "B"]) == "A and B" and cx.names("ABC") == "A, B and C"


# -- 1. age ---------------------------------------------------------------------------------------------
def pandas_age_bins(rows: pd.DataFrame, width: int, by_segment: bool) -> pd.Series:
    keys = [(rows["age"] // width) * width] + ([rows["customer_segment"]] if by_segment else [])
    return rows.groupby(keys).size().sort_index()


def histogram_series(frame: pd.DataFrame, by_segment: bool) -> pd.Series:
    keys = ["bin_start", "segment"] if by_segment else ["bin_start"]
    return frame.set_index(keys)["customers"].sort_index()


def test_age_bin_width_overlay_and_segment_filter(reference_store, customers):
    view = section(reference_store)
    default = view.age_histogram()
    expected = pandas_age_bins(customers, 5, True)
    assert histogram_series(default, True).to_dict() == expected.to_dict()
    # Stacks: the top of each bin's last layer is the bin's total.
    assert default.groupby("bin_start")["top"].max().to_dict() == pandas_age_bins(customers, 5, False).to_dict()
    assert (default["bin_end"] - default["bin_start"] == 5).all()

    view.age_bin_width = 3
    narrow = view.age_histogram()
    assert len(narrow) != len(default)
    assert histogram_series(narrow, True).to_dict() == pandas_age_bins(customers, 3, True).to_dict()

    view.age_by_segment = False
    total = view.age_histogram()
    assert set(total["segment"]) == {ALL_CUSTOMERS}
    assert histogram_series(total, False).to_dict() == pandas_age_bins(customers, 3, False).to_dict()

    view.age_segments = ["Premium", "New"]
    chosen = customers[customers["customer_segment"].isin(["Premium", "New"])]
    assert histogram_series(view.age_histogram(), False).to_dict() == pandas_age_bins(chosen, 3, False).to_dict()
    view.age_by_segment = True
    assert set(view.age_histogram()["segment"]) == {"Premium", "New"}


def test_age_chart_source_follows_the_bin_width(reference_store, customers):
    view = section(reference_store, regions=["South"])
    view.age_by_segment = False
    view.age_bin_width = 7
    (shown,) = [r.data_source for r in hv.render(view.plot_age()).renderers if "left" in r.data_source.data]
    south = customers[customers["region"] == "South"]
    drawn = dict(zip(shown.data["left"], shown.data["top"]))
    assert drawn == pandas_age_bins(south, 7, False).to_dict()
    assert set(shown.data["segment"]) == {ALL_CUSTOMERS}


def test_age_chart_stacks_the_segments_in_one_glyph_coloured_and_listed_in_segment_order(reference_store, customers):
    figure = hv.render(section(reference_store).plot_age())
    (renderer,) = [r for r in figure.renderers if "left" in r.data_source.data]
    data, mapper = renderer.data_source.data, renderer.glyph.fill_color.transform
    colour_of = dict(zip(mapper.factors, mapper.palette))
    assert {segment: colour_of[segment] for segment in SEGMENT_COLORS} == SEGMENT_COLORS
    # Bokeh lists a legend field's values in the order it first meets them: the rows come segment by segment.
    firsts = list(dict.fromkeys(data["segment"]))
    assert firsts == [s for s in SEGMENT_COLORS if s in set(customers["customer_segment"])]
    (legend,) = figure.legend
    assert legend.visible is not False and len(legend.items) == 1 and legend.items[0].label.field == "color"
    # Each bin's stack: every segment's bar starts where the previous one ends, and the top is the bin's total.
    bars = pd.DataFrame({k: data[k] for k in ("left", "bottom", "top", "segment")})
    for _, stack_ in bars.groupby("left"):
        tops = stack_.sort_values("bottom")
        assert tops["bottom"].iloc[0] == 0 and (tops["bottom"].iloc[1:].values == tops["top"].iloc[:-1].values).all()
    assert bars.groupby("left")["top"].max().to_dict() == pandas_age_bins(customers, 5, False).to_dict()


def test_age_chart_axes_follow_the_data(reference_store):
    view = section(reference_store)
    plot = hv.renderer("bokeh").get_plot(hv.DynamicMap(view.plot_age))
    tallest = view.age_histogram()["top"].max()
    assert plot.state.y_range.end == pytest.approx(tallest * 1.05, rel=0.1)
    view.age_by_segment = False
    view.age_bin_width = 10                                   # taller bins: the y axis must grow with them
    assert view.age_histogram()["top"].max() > 1.5 * tallest
    assert plot.state.y_range.end > 1.5 * tallest


def test_age_insight_follows_the_data(reference_store, modified_store, customers, modified_customers):
    for store, rows in ((reference_store, customers), (modified_store, modified_customers)):
        text = section(store).insight_age()
        share = rows["age"].between(25, 40).mean()
        assert f"**{percent(share)}** of the {count(len(rows))} customers shown are aged 25–40" in text
        assert f"median age is {np.median(rows['age']):.0f}" in text
        by_segment = rows.groupby("customer_segment")["age"].median().sort_values()
        assert f"{by_segment.index[0]} is the youngest segment" in text
    assert section(reference_store).insight_age() != section(modified_store).insight_age()


# -- 2. lifetime value by segment -----------------------------------------------------------------------
def test_ltv_box_statistics_equal_numpy_per_segment(reference_store, customers):
    table = section(reference_store, regions=["North", "East"]).ltv_stats().set_index("segment")
    rows = customers[customers["region"].isin(["North", "East"])]
    assert list(table.index) == ["Premium", "Regular", "Budget", "New", "Churned"]
    for segment, group in rows.groupby("customer_segment"):
        expected = cx.box_stats(group["lifetime_value"])
        for key in ("customers", "q1", "median", "q3", "lower", "upper", "low_outliers", "high_outliers", "maximum"):
            assert table.loc[segment, key] == pytest.approx(expected[key]), (segment, key)


def test_points_toggle_draws_a_fixed_sample_of_real_customers(reference_store, customers):
    view = section(reference_store)
    assert view.ltv_sample().empty
    assert "every customer" in view.ltv_note()
    view.ltv_points = True
    sizes = customers["customer_segment"].value_counts()
    assert len(view.ltv_sample()) == sum(min(1_000, n) for n in sizes)   # Regular and Budget are capped
    view.POINTS_PER_SEGMENT = 100
    view.ltv_points = False
    view.ltv_points = True
    sample = view.ltv_sample()
    assert sample["segment"].value_counts().to_dict() == {s: min(100, n) for s, n in sizes.items()}
    merged = sample.merge(customers, on="customer_id")
    assert len(merged) == len(sample)
    assert (merged["lifetime_value_x"] == merged["lifetime_value_y"]).all()
    assert (merged["segment"] == merged["customer_segment"]).all()
    assert sample["jitter"].between(-0.5, 0.5).all()
    assert sample.equals(view.ltv_sample())              # the same customers every time
    assert f"a fixed sample of {count(len(sample))} of {count(len(customers))} customers" in view.ltv_note()


def test_points_layer_and_log_scale_in_the_rendered_chart(reference_store):
    view = section(reference_store)
    figure = hv.render(view.plot_ltv_box())
    assert isinstance(figure.y_scale, LogScale)
    # Three glyphs (boxes; whiskers and medians; customers): each one plot to build and update.
    assert [type(r.glyph).__name__ for r in figure.renderers] == ["Quad", "Segment", "Scatter"]
    # The customers' layer is always drawn (the chart updates in place); by default it holds the outliers only,
    # in their segment's colour.
    (points,) = [r for r in figure.renderers if "customer_id" in r.data_source.data]
    outliers = view.ltv_outlier_points()
    assert points.visible and list(points.data_source.data["customer_id"]) == list(outliers["customer_id"]) != []
    assert list(points.data_source.data["color"]) == [segment_colour(s) for s in outliers["segment"]]
    view.param.update(ltv_points=True, ltv_log=False, ltv_outliers=False)
    figure = hv.render(view.plot_ltv_box())
    assert isinstance(figure.y_scale, LinearScale)
    (points,) = [r for r in figure.renderers if "customer_id" in r.data_source.data]
    assert points.visible and list(points.data_source.data["customer_id"]) == list(view.ltv_sample()["customer_id"])
    assert points.glyph.fill_color == POINT_GREY   # one colour: HoloViews sets it on the glyph
    view.param.update(ltv_points=False)
    (points,) = [r for r in hv.render(view.plot_ltv_box()).renderers if "customer_id" in r.data_source.data]
    assert not points.visible and len(points.data_source.data["customer_id"]) == 0


def test_whiskers_and_medians_are_one_layer_coloured_and_sized_per_line(reference_store):
    """Per segment: two whisker lines and two caps in grey, then the median in black and thicker, drawn over them."""
    view = section(reference_store)
    stats = view.ltv_stats()
    (lines,) = [r for r in hv.render(view.plot_ltv_box()).renderers if type(r.glyph).__name__ == "Segment"]
    data = pd.DataFrame({k: list(v) for k, v in lines.data_source.data.items()})
    segments = len(stats)
    assert len(data) == 5 * segments
    medians = data.iloc[-segments:]
    assert set(medians["color"]) == {"black"} and set(medians["line_width"]) == {2.5}
    assert list(medians["ya"]) == pytest.approx(list(stats["median"]))
    assert set(data.iloc[:-segments]["color"]) == {WHISKER_GREY} and set(data.iloc[:-segments]["line_width"]) == {1.5}


@pytest.mark.parametrize("regions", [[], ["North", "East"]])
def test_outliers_are_shown_by_default_and_are_the_customers_beyond_the_whiskers(reference_store, customers,
                                                                                 regions):
    view = section(reference_store, regions=regions)
    assert view.ltv_outliers
    rows = customers[customers["region"].isin(regions)] if regions else customers
    expected = set()
    for _, group in rows.groupby("customer_segment"):
        q1, q3 = group["lifetime_value"].quantile([0.25, 0.75])
        beyond = (group["lifetime_value"] < q1 - 1.5 * (q3 - q1)) | (group["lifetime_value"] > q3 + 1.5 * (q3 - q1))
        expected |= set(group.loc[beyond, "customer_id"])
    got = view.ltv_outlier_points()
    assert expected and set(got["customer_id"]) == expected
    assert f"Dots: all {count(len(expected))} customers beyond the whiskers." in view.ltv_note()
    view.ltv_outliers = False
    assert view.ltv_outlier_points().empty and "Dots" not in view.ltv_note()
    view = section(reference_store, regions=regions)
    view.OUTLIERS_PER_SEGMENT = 3       # capped: the most extreme of each segment
    capped = view.ltv_outlier_points()
    assert capped.groupby("segment").size().max() <= 3 and "most extreme" in view.ltv_note()
    top = rows[rows["customer_id"].isin(expected)].groupby("customer_segment")["lifetime_value"].max()
    assert set(top) <= set(capped["lifetime_value"])   # high outliers here: the largest values are kept


def test_ltv_insight_follows_the_data(reference_store, modified_store, customers, modified_customers):
    for store, rows in ((reference_store, customers), (modified_store, modified_customers)):
        medians = rows.groupby("customer_segment")["lifetime_value"].median()
        top = medians.idxmax()
        group = rows.loc[rows["customer_segment"] == top, "lifetime_value"]
        text = section(store).insight_ltv()
        assert text.startswith(f"**{top}** has the highest median lifetime value ({rupees(medians[top])})")
        assert f"IQR {rupees(group.quantile(0.75) - group.quantile(0.25))}" in text
    assert section(reference_store).insight_ltv().startswith("**Premium**")
    assert section(modified_store).insight_ltv().startswith("**Regular**")


# -- 3. satisfaction ------------------------------------------------------------------------------------
def test_violin_split_by_one_channel_against_the_rest(reference_store, customers):
    view = section(reference_store)
    frame = view.satisfaction_sample()
    assert len(frame) == len(customers)
    assert sorted(frame["group"].unique()) == sorted(customers["acquisition_channel"].unique())
    view.violin_channel = "Referral"
    split = view.satisfaction_sample()
    expected = customers.assign(group=np.where(customers["acquisition_channel"] == "Referral", "Referral",
                                               OTHER_CHANNELS)).groupby(["nps_category", "group"]).size()
    assert split.groupby(["nps_category", "group"], observed=True).size().to_dict() == expected.to_dict()
    assert list(split["group"].cat.categories) == ["Referral", OTHER_CHANNELS]   # chosen channel on the left
    hv.render(view.plot_satisfaction())


def test_violin_sample_and_channel_means(reference_store, customers):
    view = section(reference_store, regions=["West"])
    west = customers[customers["region"] == "West"]
    means = view.satisfaction_by_channel().set_index(["nps_category", "acquisition_channel"])
    expected = west.groupby(["nps_category", "acquisition_channel"])["satisfaction_score"].agg(["size", "mean"])
    assert means["customers"].to_dict() == expected["size"].to_dict()
    assert np.allclose(means["mean_score"].sort_index(), expected["mean"].sort_index())
    assert view.satisfaction_note() == f"Violins estimated from all {count(len(west))} customers."
    view.VIOLIN_SAMPLE = 300
    view.violin_channel = "Organic"
    assert len(view.satisfaction_sample()) == 300
    assert view.satisfaction_sample()["satisfaction_score"].isin(west["satisfaction_score"]).all()
    assert view.satisfaction_note() == f"Violins estimated from a fixed sample of 300 of {count(len(west))} customers."


def test_satisfaction_insight_names_the_bimodal_category(reference_store, modified_store, customers):
    text = section(reference_store).insight_satisfaction()
    means = customers.groupby("nps_category")["satisfaction_score"].mean()
    assert text.startswith(f"**{means.idxmin()}s** are the least satisfied (mean {means.min():.2f} of 5")
    assert "**bimodal**" in text
    within = customers[customers["nps_category"] == means.idxmin()].groupby("acquisition_channel")[
        "satisfaction_score"].mean()
    assert f"{within.idxmin()} customers score lowest ({within.min():.2f})" in text
    other = section(modified_store).insight_satisfaction()
    assert "**bimodal**" not in other and "one mode, near 2.75–3.00" in other


# -- 4. income vs lifetime value ------------------------------------------------------------------------
def test_fits_equal_numpy_polyfit_and_scipy_pearson(reference_store, customers):
    fits = section(reference_store, regions=["Central", "West"]).income_ltv_fit()
    rows = customers[customers["region"].isin(["Central", "West"])]
    overall = fits[fits["segment"].isna()].iloc[0]
    slope, intercept = np.polyfit(rows["income"], rows["lifetime_value"], 1)
    assert (overall["slope"], overall["intercept"]) == (pytest.approx(slope), pytest.approx(intercept))
    assert overall["r"] == pytest.approx(stats.pearsonr(rows["income"], rows["lifetime_value"]).statistic)
    assert overall["customers"] == len(rows)
    for segment, group in rows.groupby("customer_segment"):
        row = fits[fits["segment"] == segment].iloc[0]
        assert row["slope"] == pytest.approx(np.polyfit(group["income"], group["lifetime_value"], 1)[0])


def test_trend_line_toggle(reference_store):
    view = section(reference_store)
    fits = view.income_ltv_fit()
    overall = view.trend_lines()
    assert list(overall["line"]) == [ALL_CUSTOMERS, ALL_CUSTOMERS]
    row = fits[fits["segment"].isna()].iloc[0]
    assert list(overall["income"]) == [row["income_min"], row["income_max"]]
    assert np.allclose(overall["lifetime_value"], row["intercept"] + row["slope"] * overall["income"])
    view.trend_line = "Per segment"
    assert sorted(view.trend_lines()["line"].unique()) == sorted(fits["segment"].dropna())
    assert len(hv.render(view.plot_trend_lines()).renderers) == 5
    view.trend_line = "Off"
    assert view.trend_lines().empty


def scatter_layers(view) -> dict[str, int]:
    """How many customers the raster layer counts and how many the point layer draws."""
    out = {}
    for element in view.scatter_view()[()]:
        if isinstance(element, hv.ImageStack):
            data = element.data
            values = data.to_dataarray().values if hasattr(data, "to_dataarray") else np.asarray(data)
            out["rasterised"] = int(np.nansum(values))
        elif isinstance(element, hv.Points):
            out["points"] = len(element)
    return out


def test_raster_threshold_switches_between_points_and_datashader(reference_store, customers):
    view = section(reference_store)
    assert view.scatter_mode() == "points"
    assert scatter_layers(view) == {"rasterised": 0, "points": len(customers)}
    assert isinstance(view.scatter_snapshot(), hv.Points)
    assert view.raster_legend() == ""
    assert view.scatter_note().startswith(f"All {count(len(customers))} customers drawn as points")
    view.RASTER_THRESHOLD = 1_000
    assert view.scatter_mode() == "rasterised"
    assert scatter_layers(view) == {"rasterised": len(customers), "points": 0}
    assert "**Rasterised** (datashader)" in view.scatter_note()
    assert "Rasterised colours:" in view.raster_legend() and "Premium" in view.raster_legend()
    # Zoomed in on fewer customers than the threshold, the points (with their details, from DuckDB) come back.
    zoomed = view.points_in_view(x_range=(20_000, 30_000), y_range=(0, 2_000))
    expected = customers[customers["income"].between(20_000, 30_000) & customers["lifetime_value"].between(0, 2_000)]
    assert 0 < len(zoomed) == len(expected) <= 1_000
    merged = zoomed.merge(expected, on="customer_id", validate="one_to_one")
    assert len(merged) == len(zoomed) and (merged["age_x"] == merged["age_y"]).all()
    assert (merged["city_tier_x"] == merged["city_tier_y"]).all() and (merged["segment"] == merged["customer_segment"]).all()
    assert len(view.plot_scatter_points(x_range=(20_000, 30_000), y_range=(0, 2_000))) == len(expected)
    values = view.plot_scatter_values()                    # numbers only: what the raster counts
    assert len(values) == len(customers) and list(values.data.columns) == ["income", "lifetime_value", "segment"]
    assert len(view.customers_in_view(values, x_range=(20_000, 30_000), y_range=(0, 2_000), dense=True)) == 0
    # Before the browser reports its axes HoloViews sends (nan, nan): every customer is in view.
    unknown = (float("nan"), float("nan"))
    assert len(view.customers_in_view(values, x_range=unknown, y_range=unknown, dense=True)) == len(customers)
    assert view.points_in_view(x_range=unknown, y_range=unknown).empty   # the raster shows them
    snapshot = view.scatter_snapshot()                      # the HTML download: one image, not the points
    assert isinstance(snapshot, hv.ImageStack) and int(np.nansum(np.asarray(snapshot.data))) == len(customers)


def test_without_datashader_every_customer_is_a_point(reference_store, customers, monkeypatch):
    from novamart_panel.views import customers as module

    monkeypatch.setattr(module, "datashader_tools", lambda: None)   # as in the WebAssembly page
    monkeypatch.setattr(module, "has_datashader", lambda: False)
    view = section(reference_store)
    view.RASTER_THRESHOLD = 1_000
    assert view.scatter_mode() == "points"
    layers = [element for element in view.scatter_view()[()]]
    assert [type(e).__name__ for e in layers] == ["Points", "Curve"] and len(layers[0]) == len(customers)
    assert "datashader is not installed here" in view.scatter_note()
    assert isinstance(view.scatter_snapshot(), hv.Points)


def test_datashader_warms_up_once_and_only_for_a_served_page_above_the_threshold(reference_store, monkeypatch):
    import threading

    from novamart_panel.views import customers as module

    started = []
    monkeypatch.setattr(module.CustomerSection, "RASTER_THRESHOLD", 1_000)   # the reference data is above it
    monkeypatch.setattr(module, "_WARM_UP_DONE", [])
    monkeypatch.setattr(pn.state, "onload", lambda callback: started.append(callback))
    section(reference_store)                                  # not served (no session): nothing is scheduled
    assert started == []
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    served = Document()
    served._session_context = lambda: object()                # what `panel serve` gives a session's document
    with set_curdoc(served):
        section(reference_store)
        section(reference_store)
    assert len(started) == 2                                   # both sessions ask for it once their page has loaded
    monkeypatch.setattr(module, "warm_up_rasteriser", lambda: module._WARM_UP_DONE.append(True))
    started[0]()                                               # the onload callback: a background thread
    for thread in [t for t in threading.enumerate() if t.name.startswith("novamart-rasteriser")]:
        thread.join()
    assert module._WARM_UP_DONE == [True]
    with set_curdoc(served):
        section(reference_store)                               # warmed: not asked again
    assert len(started) == 2
    monkeypatch.undo()
    monkeypatch.setattr(module, "_WARM_UP_DONE", [])
    module.warm_up_rasteriser()
    module.warm_up_rasteriser()                               # once per process
    assert module._WARM_UP_DONE == [True]
    assert not [t for t in threading.enumerate() if t.name.startswith("novamart-rasteriser")]


def test_scatter_insight_follows_the_data(reference_store, modified_store, customers, modified_customers):
    for store, rows in ((reference_store, customers), (modified_store, modified_customers)):
        slope = np.polyfit(rows["income"], rows["lifetime_value"], 1)[0]
        r = np.corrcoef(rows["income"], rows["lifetime_value"])[0, 1]
        text = section(store).insight_scatter()
        assert f"r = {r:.2f}" in text and f"**{rupees(slope * 10_000)} of LTV per ₹10,000 of income**" in text
        cut = rows["lifetime_value"].quantile(0.9)
        budget = ((rows["customer_segment"] == "Budget") & (rows["lifetime_value"] >= cut)).sum()
        assert (f"{count(budget)} Budget customers" if budget else "No Budget customer") in text
    view = section(reference_store)
    view.trend_line = "Per segment"
    assert "Within segments the slope is steepest for Premium" in view.insight_scatter()


# -- 5. channel bubbles ---------------------------------------------------------------------------------
def test_channel_bubbles_equal_pandas_and_ignore_the_channel_filter(reference_store, campaigns):
    view = section(reference_store, channels=["Email"], regions=["West"])
    frame = view.channel_metrics().set_index("channel")
    sums = campaigns[campaigns["region"] == "West"].groupby("channel")[SUMS].sum()
    assert sorted(frame.index) == sorted(sums.index)            # every channel stays on the chart
    assert np.allclose(frame["ctr"], (sums["clicks"] / sums["impressions"]).loc[frame.index])
    assert np.allclose(frame["cvr"], (sums["conversions"] / sums["clicks"]).loc[frame.index])
    assert frame["selected"].to_dict() == {c: c == "Email" for c in frame.index}
    free = frame[frame["spend"] <= 0]
    assert list(free.index) == list(sums.index[sums["spend"] <= 0]) and len(free) > 0   # Direct in the West
    assert (free["size"] == MIN_BUBBLE).all() and free["roas"].isna().all()
    paid = frame[frame["spend"] > 0]
    assert np.allclose(paid["size"] / paid["size"].max(), np.sqrt(paid["spend"] / paid["spend"].max()))


def test_clicking_a_bubble_sets_the_global_channel_filter(reference_store):
    view = section(reference_store)
    channels = list(view.channel_metrics()["channel"])
    view.bubble_selection.event(index=[channels.index("LinkedIn")])
    assert view.filters.channels == ["LinkedIn"]
    assert "Channel filter: **LinkedIn**" in view.insight_channels()
    figure = hv.render(view.plot_channel_bubbles())
    assert [r.data_source.selected.indices for r in figure.renderers] == [[channels.index("LinkedIn")]]
    view.bubble_selection.event(index=[channels.index("Email"), channels.index("Referral")])
    assert sorted(view.filters.channels) == ["Email", "Referral"]
    view.bubble_selection.event(index=[])                     # a click on empty space
    assert view.filters.channels == []
    view.filters.channels = ["Facebook"]
    view.clear_channels()
    assert view.filters.channels == []


def test_date_filter_narrows_the_bubbles(reference_store, campaigns):
    import datetime as dt

    view = section(reference_store, date_range=(dt.date(2024, 1, 1), dt.date(2024, 3, 31)))
    frame = view.channel_metrics().set_index("channel")
    window = campaigns[campaigns["date"].between("2024-01-01", "2024-03-31")].groupby("channel")[SUMS].sum()
    assert np.allclose(frame.loc[window.index, "spend"], window["spend"])


def test_channel_insight_follows_the_data(reference_store, modified_store):
    assert section(reference_store).insight_channels().startswith("**Direct** has the best CTR × CVR")
    assert section(modified_store).insight_channels().startswith("**Referral** has the best CTR × CVR")


# -- 6. sunburst -----------------------------------------------------------------------------------------
def test_sunburst_hierarchy_zoom_and_back(reference_store, customers):
    view = section(reference_store)
    counts = customers.groupby(["region", "city_tier", "customer_segment"]).size()
    drawn = view.hierarchy().set_index(["region", "city_tier", "customer_segment"])["customers"]
    assert drawn.to_dict() == counts.to_dict()
    wedges = view.sunburst.wedges()
    view.sunburst.click(list(wedges["path"]).index(("West",)))
    assert view.sunburst.root == ["West"]
    west = customers[customers["region"] == "West"]
    text = view.insight_sunburst()
    tiers = west["city_tier"].value_counts()
    share = percent(len(west) / len(customers))
    assert text.startswith(f"**West**: {count(len(west))} customers ({share} of all shown).")
    assert f"The largest city tier is **{tiers.index[0]}** ({percent(tiers.iloc[0] / len(west))})." in text
    premium = (west[west["customer_segment"] == "Premium"]["city_tier"].value_counts() / tiers).sort_values()
    others = " and ".join(f"{percent(premium[t], 1)} in {t}" for t in sorted(premium.index) if t != premium.index[0])
    assert (f"By city tier: **{premium.index[0]}** has the lowest Premium share, {percent(premium.iloc[0], 1)} "
            f"against {others}; **{premium.index[-1]}** the highest.") in text
    view.sunburst.click(list(view.sunburst.wedges()["path"]).index(("West", "Tier 1")))
    assert view.sunburst.root == ["West", "Tier 1"]
    view.sunburst.click(0)
    view.sunburst.click(0)
    assert view.sunburst.root == []
    assert view.insight_sunburst().startswith(f"**All customers**: {count(len(customers))} customers.")


def test_sunburst_headline_compares_city_tiers(reference_store, packaged_dir, customers):
    # Reference data: Premium is 8.9 % of Tier 1 against 10.0 % of Tier 2 and 9.8 % of Tier 3.
    text = section(reference_store).insight_sunburst()
    assert ("By city tier: **Tier 1** has the lowest Premium share, 8.9% against 10.0% in Tier 2 and 9.8% in "
            "Tier 3; **Tier 2** the highest.") in text
    rows = pd.read_csv(packaged_dir / CUSTOMER_FILE)
    share = rows.groupby("city_tier")["customer_segment"].apply(lambda s: (s == "Premium").mean()).sort_values()
    other = section(DataStore.open(packaged_dir)).insight_sunburst()
    assert f"**{share.index[0]}** has the lowest Premium share, {percent(share.iloc[0], 1)}" in other
    assert f"**{share.index[-1]}** the highest" in other
    # By hand: A 1 of 4 Premium (25 %), B 1 of 2 (50 %).
    shares = cx.share_by_level(pd.DataFrame({"t": ["A", "A", "B", "B"], "s": ["Premium", "Budget"] * 2,
                                             "n": [1, 3, 1, 1]}), ["t", "s"], "n", across="t", leaf="s")
    assert shares["share"].tolist() == [0.75, 0.25, 0.5, 0.5]
    assert cx.tier_share_sentence(shares, "Premium", "t", "s") == (
        "By t: **A** has the lowest Premium share, 25.0% against 50.0% in B; **B** the highest.")


def test_tier_mix_bars_sit_beside_the_sunburst(reference_store, customers):
    view = section(reference_store)
    bars = view.plot_tier_mix()
    shares = customers.groupby("city_tier")["customer_segment"].value_counts(normalize=True) * 100
    got = bars.dframe().set_index(["city_tier", "customer_segment"])["percent"]
    assert np.allclose(got.sort_index(), shares.sort_index())
    card = [c for c in view.layout().select(pn.Card) if c.title.startswith("6.")][0]
    row = next(r for r in card.select(pn.FlexBox) if isinstance(r[0], pn.pane.Bokeh))
    assert isinstance(row[0], pn.pane.Bokeh) and row[1]._novamart_chart[0].__name__ == "plot_tier_mix"


def test_region_filter_narrows_the_sunburst_and_resets_its_zoom(reference_store):
    view = section(reference_store)
    view.sunburst.zoom_in(["West"])
    view.filters.regions = ["East"]
    assert set(view.sunburst.frame["region"]) == {"East"}
    assert view.sunburst.root == []


# -- 7. churn ---------------------------------------------------------------------------------------------
def pandas_at_risk(rows: pd.DataFrame, threshold: float, top_share: float, include_churned: bool) -> pd.DataFrame:
    cut = rows["lifetime_value"].quantile(1 - top_share)
    mask = (rows["churn_probability"] >= threshold) & (rows["lifetime_value"] >= cut)
    if not include_churned:
        mask &= rows["is_churned"] == 0
    out = rows[mask].assign(expected_loss=lambda f: f["churn_probability"] * f["lifetime_value"])
    return out.sort_values(["expected_loss", "customer_id"], ascending=[False, True], ignore_index=True)


def test_churn_distribution_equals_pandas_bins(reference_store, customers):
    frame = section(reference_store).churn_distribution()
    bins = np.minimum(np.floor(np.round(customers["churn_probability"] * 20, 9)), 19) / 20
    expected = customers.groupby([bins, customers["customer_segment"]]).size()
    got = frame.set_index(["bin_start", "segment"])["customers"]
    assert {(round(a, 6), b): v for (a, b), v in got.items()} == {(round(a, 6), b): v for (a, b), v in expected.items()}
    assert frame["bin_start"].max() == pytest.approx(0.95)   # probability 1.0 joins the last bin


@pytest.mark.parametrize("threshold, top_share, include_churned", [(0.6, 0.25, False), (0.2, 0.25, False),
                                                                   (0.2, 0.5, True), (0.15, 0.1, False)])
def test_at_risk_list_equals_pandas(reference_store, customers, threshold, top_share, include_churned):
    view = section(reference_store)
    view.param.update(churn_threshold=threshold, top_value_share=top_share, include_churned=include_churned)
    got = view.at_risk()
    expected = pandas_at_risk(customers, threshold, top_share, include_churned)
    assert list(got["customer_id"]) == list(expected["customer_id"])
    assert np.allclose(got["expected_loss"], expected["expected_loss"])
    assert len(view.at_risk_table()) == min(len(got), view.AT_RISK_ROWS)
    short = section(reference_store)
    short.AT_RISK_ROWS = 3                                  # a long list: the table shows its head only
    short.param.update(churn_threshold=threshold, top_value_share=top_share, include_churned=include_churned)
    assert list(short.at_risk_table()["Customer"]) == list(got["customer_id"].iloc[:3])
    assert len(short.at_risk()) == len(got)


def test_at_risk_controls_change_the_list(reference_store, customers):
    view = section(reference_store)
    view.churn_threshold = 0.6
    assert view.at_risk().empty                           # no valuable, still-active customer is at 60 %+
    view.churn_threshold = 0.2
    lower = view.at_risk()
    view.top_value_share = 0.5
    wider = view.at_risk()
    view.include_churned = True
    with_churned = view.at_risk()
    assert 0 < len(lower) < len(wider) < len(with_churned)
    view.filters.regions = ["South"]
    south = view.at_risk()
    assert 0 < len(south) < len(with_churned) and set(south["region"]) == {"South"}
    assert list(south["customer_id"]) == list(pandas_at_risk(customers[customers["region"] == "South"], 0.2, 0.5,
                                                             True)["customer_id"])


def test_at_risk_download_is_the_list_as_safe_csv(reference_store):
    view = section(reference_store)
    view.churn_threshold = 0.2
    root_layout = view.layout()
    buttons = [w for w in root_layout.select(pn.widgets.FileDownload) if w.filename == "novamart_at_risk_customers.csv"]
    assert len(buttons) == 1
    downloaded = pd.read_csv(io.BytesIO(buttons[0].callback().getvalue()))
    expected = view.at_risk()
    assert list(downloaded["customer_id"]) == list(expected["customer_id"])
    assert np.allclose(downloaded["expected_loss"], expected["expected_loss"])


def test_churn_insight_follows_the_data(reference_store, modified_store, customers, modified_customers):
    view = section(reference_store)
    view.churn_threshold = 0.6
    text = view.insight_churn()
    above = (customers["churn_probability"] >= 0.6).sum()
    assert text.startswith(f"{count(above)} of {count(len(customers))} customers")
    assert "**No one is at risk**" in text
    cut = customers["lifetime_value"].quantile(0.75)
    valuable = customers[(customers["lifetime_value"] >= cut) & (customers["is_churned"] == 0)]
    highest = valuable["churn_probability"].max()
    assert f"the highest churn probability among them is {percent(highest)}" in text
    other_view = section(modified_store)
    other_view.churn_threshold = 0.6
    other = other_view.insight_churn()
    expected = pandas_at_risk(modified_customers, 0.6, 0.25, False)
    assert f"**{count(len(expected))} customers not yet churned in the top 25% by LTV" in other
    assert f"expected loss (probability × LTV) is **{rupees(expected['expected_loss'].sum())}**" in other


def test_default_threshold_default_comes_from_the_data_and_lists_the_riskiest_tenth():
    assert cx.default_churn_threshold(0.3049) == pytest.approx(0.30)
    assert cx.default_churn_threshold(0.17) == pytest.approx(0.17)      # an exact percent stays
    assert cx.default_churn_threshold(0.004) == pytest.approx(0.01)     # never 0: everyone would be at risk
    assert cx.default_churn_threshold(float("nan")) == 0.6


@pytest.mark.parametrize("folder", ["reference_dir", "packaged_dir"])
def test_at_risk_list_and_csv_are_not_empty_by_default(request, folder):
    folder = request.getfixturevalue(folder)
    store, rows = DataStore.open(folder), pd.read_csv(folder / CUSTOMER_FILE)   # no filter by default
    view = section(store)
    cut = rows["lifetime_value"].quantile(0.75)
    valuable = rows[(rows["lifetime_value"] >= cut) & (rows["is_churned"] == 0)]
    decile = valuable["churn_probability"].quantile(0.9)
    assert view.churn_threshold == pytest.approx(np.floor(round(decile * 100, 9)) / 100)
    expected = pandas_at_risk(rows, view.churn_threshold, 0.25, False)
    assert len(expected) >= 0.1 * len(valuable) > 0
    assert list(view.at_risk()["customer_id"]) == list(expected["customer_id"])
    button = [w for w in view.layout().select(pn.widgets.FileDownload)
              if w.filename == "novamart_at_risk_customers.csv"][0]
    assert len(pd.read_csv(io.BytesIO(button.callback().getvalue()))) == len(expected)
    note = view.threshold_note()
    assert f"**{percent(view.churn_threshold, 0)}** was chosen from the data" in note and "90th percentile" in note
    view.churn_threshold = 0.5
    assert "set to **50%**" in view.threshold_note()
    view.use_suggested_threshold()
    assert view.churn_threshold == pytest.approx(np.floor(round(decile * 100, 9)) / 100)
    assert CustomerSection(store=store, filters=Filters(store), churn_threshold=0.4).churn_threshold == 0.4

    # A region filter: the threshold nobody moved follows the data's suggestion for that region, and says so.
    north = rows[rows["region"] == "North"]
    north_cut = north["lifetime_value"].quantile(0.75)
    north_decile = north[(north["lifetime_value"] >= north_cut) & (north["is_churned"] == 0)]["churn_probability"]
    view.filters.regions = ["North"]
    assert view.churn_threshold == pytest.approx(np.floor(round(north_decile.quantile(0.9) * 100, 9)) / 100)
    assert "was chosen from the data" in view.threshold_note()
    view.churn_threshold = 0.5   # moved by the user: it stays when the filter changes
    view.filters.regions = []
    assert view.churn_threshold == 0.5 and "set to **50%**" in view.threshold_note()


# -- section-wide ------------------------------------------------------------------------------------------
def test_region_filter_narrows_every_customer_view_and_the_export(reference_store, customers):
    view = section(reference_store, regions=["West", "South"], channels=["Email"])
    rows = customers[customers["region"].isin(["West", "South"])]
    assert view.age_histogram()["customers"].sum() == len(rows)
    assert view.ltv_stats()["customers"].sum() == len(rows)
    assert view.scatter_count() == len(rows)
    assert view.hierarchy()["customers"].sum() == len(rows)
    assert view.churn_distribution()["customers"].sum() == len(rows)
    export = view.export_frame()
    assert list(export.columns) == CUSTOMERS.column_names
    assert list(export["customer_id"]) == list(rows["customer_id"])   # the channel filter does not apply
    note = view.filter_note()
    assert "regions" in note and "no date, campaign channel or campaign type" in note


def test_renders_and_downloads_the_charts_as_html(reference_store):
    view = section(reference_store)
    root = pn.panel(view).get_root()
    sources = root.select({"type": ColumnDataSource})
    assert any("start_angle" in s.data for s in sources)     # the sunburst is on the page
    page = view.charts_html().getvalue().decode("utf-8")
    assert page.lstrip().lower().startswith("<!doctype html>") and "cdn.bokeh.org" not in page
    assert page.count("Bokeh.") > 0 and "Customers by region" in page


def test_missing_customer_file_shows_a_notice(tmp_path, reference_dir):
    for path in reference_dir.glob("*.csv"):
        if path.name != CUSTOMER_FILE:
            shutil.copy(path, tmp_path / path.name)
    view = section(DataStore.open(tmp_path))
    layout = pn.panel(view)
    layout.get_root()
    alerts = [a for a in layout.select(pn.pane.Alert) if CUSTOMER_FILE in a.object]
    assert alerts and "customer_data.csv" in alerts[0].object


def test_scatter_axes_are_titled_in_words(reference_store):
    # The raster layer comes first and named the axes by column: "income", "lifetime_value".
    view = section(reference_store)
    figure = hv.render(view.scatter_view())
    assert (figure.xaxis[0].axis_label, figure.yaxis[0].axis_label) == ("Income", "Lifetime value")
