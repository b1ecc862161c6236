"""Experiments section: the selector, tables, charts and calculator follow their params; the section hides
with a sentence without ab_test_results.csv; names from the file are escaped; the readout CSV is safe."""
from __future__ import annotations

import html
import io
import re

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import pytest
from bokeh.models import ColumnDataSource

from novamart_panel.analytics import experiments as ex
from novamart_panel.data.store import DataStore
from novamart_panel.format import count, escape_markdown
from novamart_panel.views.experiments import ExperimentSection, label_positions
from novamart_panel.views.filters import Filters

AB_FILE = "ab_test_results.csv"
INSIGHTS = ("insight_readout", "insight_forest", "insight_posteriors", "insight_segments", "insight_pairs",
            "insight_power", "srm_text")


@pytest.fixture(scope="module", autouse=True)
def bokeh_backend():
    pn.extension("tabulator")


def section_over(store: DataStore) -> ExperimentSection:
    return ExperimentSection(store=store, filters=Filters(store))


@pytest.fixture
def section(packaged_store) -> ExperimentSection:
    return section_over(packaged_store)


def ab_store(tmp_path, rows) -> DataStore:
    """A data folder holding only an ab_test_results.csv of `rows` (experiment, variant, segment, visitors,
    conversions, revenue)."""
    frame = pd.DataFrame(rows, columns=["experiment", "variant", "segment", "visitors", "conversions", "revenue"])
    frame.to_csv(tmp_path / AB_FILE, index=False)
    return DataStore.open(tmp_path)


def rendered_text(root) -> str:
    texts = [getattr(model, "text", None) for model in root.references()]
    text = " ".join(t for t in texts if isinstance(t, str))
    while (unescaped := html.unescape(text)) != text:
        text = unescaped
    return text


def layer_signature(obj) -> list[tuple]:
    """Element type and value dimensions of each layer: what must not change between updates."""
    layers = obj.values() if isinstance(obj, hv.Overlay) else [obj]
    return [(type(layer).__name__, tuple(d.name for d in layer.vdims)) for layer in layers]


# -- without the file ---------------------------------------------------------------------------------

def test_without_the_file_the_section_says_what_to_add(reference_store):
    section = section_over(reference_store)
    assert section.param.experiment.objects == [] and section.experiment is None
    shown = section.__panel__()
    assert isinstance(shown, pn.pane.Alert) and shown.alert_type == "warning"
    text = shown.object
    assert text.startswith(f"{AB_FILE} is not in ")
    assert "add ab_test_results.csv to the data folder to unlock the Experiments section." in text
    assert "columns experiment, variant, segment, visitors, conversions, revenue" in text
    assert "named “control” (in any case) is the control, otherwise the first variant listed" in text


def test_global_filters_are_said_not_to_apply(section):
    assert section.filter_note() == ("Global filters applied here: none. Not applicable to this data: date range, "
                                     "channels, regions, campaign types.")
    section.filters.channels = [section.filters.param.channels.objects[0]]
    assert section.variant_table()["Visitors"].tolist() == ["24,800", "24,861"]


# -- the packaged data ----------------------------------------------------------------------------------

def test_selector_lists_experiments_in_file_order_and_the_tables_follow(section, packaged_dir):
    rows = pd.read_csv(packaged_dir / AB_FILE)
    assert section.param.experiment.objects == list(dict.fromkeys(rows["experiment"]))
    assert section.experiment == "Checkout Redesign"
    for name in section.param.experiment.objects:
        section.experiment = name
        totals = rows[rows["experiment"] == name].groupby("variant", sort=False)[["visitors", "conversions"]].sum()
        table = section.variant_table()
        assert table["Variant"].tolist() == totals.index.tolist()
        assert table["Visitors"].tolist() == [count(v) for v in totals["visitors"]]
        assert table["Conversions"].tolist() == [count(v) for v in totals["conversions"]]
        segments = section.segment_table()
        assert len(segments) == (rows["experiment"] == name).sum()
        expected = ex.compare_variants(rows[rows["experiment"] == name])
        pd.testing.assert_frame_equal(section.readout().variants, expected)
    assert len(section.pairs_table()) == 1
    section.experiment = "Free Shipping Banner"
    assert len(section.pairs_table()) == 3


def test_readout_table_texts(section):
    row = section.variant_table().set_index("Variant").loc["Variant A"]
    assert row["Rate (95% CI)"] == "4.20% (3.96%–4.46%)"
    assert row["Difference (95% CI)"] == "+1.1 pp (0.8–1.4 pp)"
    assert row["p"] == "< 0.0001" and row["Chance to beat control"] == "> 99.9%"
    assert row["Expected loss"] == "< 0.01 pp"
    control = section.variant_table().set_index("Variant").loc["Control"]
    assert control["Difference (95% CI)"] == "control" and control["Note"] == ""
    assert "**Variant A** lifts conversion by 1.1 pp" in section.insight_readout()
    assert "Revenue per visitor: the file holds revenue totals" in section.insight_readout()


def test_every_view_renders_and_follows_the_experiment(section):
    root = pn.panel(section).get_root()
    text = rendered_text(root)
    assert "Variant A</strong> lifts conversion by 1.1 pp" in text and "Visitor split 49.9% / 50.1%" in text
    section.experiment = "Free Shipping Banner"
    text = rendered_text(root)
    assert "No detectable difference" in text and "33.0% / 33.3% / 33.7%" in text
    sources = list(root.select({"type": ColumnDataSource}))
    tables = [s for s in sources if "Variant" in s.data and "Rate (95% CI)" in s.data and "Segment" not in s.data]
    assert tables and list(tables[0].data["Variant"]) == ["Control", "Variant A", "Variant B"]
    forest = [s for s in sources if "interval_text" in s.data and len(s.data["label"])]
    assert {label for s in forest for label in s.data["label"]} >= {"Variant B · All segments", "Variant B · App"}


def test_charts_keep_their_layers_whatever_the_experiment_or_inputs(section, tmp_path):
    signatures = {name: [] for name in ("plot_forest", "plot_posteriors", "plot_power_curve")}
    for experiment in section.param.experiment.objects:
        section.experiment = experiment
        for name in signatures:
            signatures[name].append(layer_signature(getattr(section, name)()))
    section.mde = 0.0   # no design: the curve and its dot are empty, not missing
    signatures["plot_power_curve"].append(layer_signature(section.plot_power_curve()))
    lone = section_over(ab_store(tmp_path, [("Solo", "Only", "All", 100, 3, 900.0)]))
    for name in ("plot_forest", "plot_posteriors"):
        signatures[name].append(layer_signature(getattr(lone, name)()))
    for name, seen in signatures.items():
        assert all(s == seen[0] for s in seen), name


def test_forest_rows_and_colours_follow_holm(section):
    section.experiment = "Personalised Recommendations"
    forest = section.forest_frame().set_index("label")
    segments = section.readout().segments.set_index(["segment", "variant"])
    assert forest.loc["Variant A · Mobile", "status"] == "better"
    assert segments.loc[("Mobile", "Variant A"), "p_adjusted"] < 0.05
    assert (forest.drop(index="Variant A · Mobile")["status"] == "not significant").all()
    assert forest.loc["Variant A · Mobile", "low"] == pytest.approx(segments.loc[("Mobile", "Variant A"),
                                                                                  "diff_low"] * 100)
    assert list(section.forest_frame()["label"])[-1] == "Variant A · All segments"   # drawn at the top
    assert "**Variant A's effect differs by segment**" in section.insight_segments()


def test_posterior_densities_integrate_to_one_and_labels_do_not_collide(section):
    section.experiment = "Free Shipping Banner"
    density = section.posterior_frame()
    for _, group in density.groupby("variant"):
        assert np.trapezoid(group["density"], group["rate"]) == pytest.approx(1.0, abs=2e-3)
    labels = label_positions(density)
    assert labels["variant"].tolist() == ["Control", "Variant A", "Variant B"]
    assert labels["density"].is_unique   # A and B peak together: B's label is lifted above A's


# -- power calculator ----------------------------------------------------------------------------------

def test_power_calculator_follows_its_inputs(section):
    assert section.baseline == 3.09   # the first experiment's control rate
    plan = section.power_plan()
    assert plan["control"] == ex.sample_size(0.0309, 0.10, relative=True) == plan["variant"]
    assert plan["days"] == ex.days_needed(plan["control"], 5_000)
    assert f"you need {count(plan['control'])} visitors per arm" in section.insight_power()
    section.param.update(mde_kind="Absolute (pp)", mde=0.5, alpha=0.01, power=0.9, treatment_share=25,
                         daily_traffic=2_000)
    plan = section.power_plan()
    assert plan["control"] == ex.sample_size(0.0309, 0.005, 0.01, 0.9, ratio=1 / 3)
    assert plan["variant"] == int(np.ceil(plan["control"] / 3))
    assert plan["days"] == ex.days_needed(plan["control"], 2_000, 1 / 3)
    assert "in the control and" in section.insight_power()
    curve = section.power_curve_frame()
    assert curve["power"].is_monotonic_increasing and curve["power"].iloc[-1] > 90
    assert section.plot_power_curve().get(0).data.equals(curve)
    title = section.plot_power_curve().opts.get().kwargs["title"]
    assert title == f"Power to detect 3.09% → 3.59%: {count(plan['control'])} visitors in the control arm"


def test_power_calculator_explains_an_impossible_design(section):
    section.mde = 0.0
    assert section.insight_power() == "No sample size: the minimum detectable effect must not be zero."
    assert section.power_curve_frame().empty
    section.param.update(mde_kind="Absolute (pp)", mde=98.0)
    assert section.insight_power().startswith("No sample size: baseline + effect is")


def test_use_the_experiments_control_rate(section):
    section.experiment = "Personalised Recommendations"
    section.baseline = 10.0
    section.use_experiment_baseline()
    assert section.baseline == round(810 / 25_286 * 100, 2)


# -- files the section did not write ------------------------------------------------------------------

def test_names_from_the_file_are_escaped_in_markdown(tmp_path):
    hostile = "<img src=x onerror=alert(1)>"
    store = ab_store(tmp_path, [
        ("*Launch* [x](javascript:alert(1))", hostile, "Web", 5_000, 150, 1e5),
        ("*Launch* [x](javascript:alert(1))", "New_flow", "Web", 5_000, 260, 2e5),
    ])
    section = section_over(store)
    texts = " ".join(getattr(section, name)() for name in INSIGHTS)
    assert re.search(r"(?<!\\)<img", texts) is None and escape_markdown(hostile) in texts
    assert re.search(r"(?<!\\)\]\(javascript", texts) is None and "\\[x\\](javascript" in texts   # no link
    assert "New_flow" in texts and "\\*Launch\\*" in texts
    assert "No variant is named “control”, so the first variant in the file" in texts
    root = pn.panel(section).get_root()
    assert hostile in rendered_text(root)   # shown as text in the table, never as an element


def test_readout_download_is_formula_safe(tmp_path):
    store = ab_store(tmp_path, [("=HYPERLINK(\"http://x\")", "Control", "Web", 100, 3, 10.0),
                                ("=HYPERLINK(\"http://x\")", "+cmd", "Web", 100, 5, 20.0)])
    section = section_over(store)
    layout = pn.panel(section)
    (button,) = [w for w in layout.select(pn.widgets.FileDownload) if w.filename == "novamart_experiment_readout.csv"]
    payload = button.callback()
    frame = pd.read_csv(io.BytesIO(payload.getvalue()), dtype=str, keep_default_na=False)
    assert frame["experiment"].iloc[0].startswith("'=")
    assert set(frame["variant"]) == {"Control", "'+cmd"}
    assert frame["segment"].tolist() == ["All segments", "All segments", "Web", "Web"]
    assert {"p_value", "p_holm", "prob_beat_control", "expected_loss", "rpv_diff_low", "srm_p_value"} <= set(frame)


def test_control_in_any_case_and_a_sample_ratio_mismatch(tmp_path):
    store = ab_store(tmp_path, [("Split", "Treatment", "All", 11_000, 390, 1e5),
                                ("Split", "CONTROL", "All", 10_000, 300, 1e5)])
    section = section_over(store)
    (banner,) = [a for a in pn.panel(section).select(pn.pane.Alert) if "srm-banner" in a.css_classes]
    assert banner.alert_type == "danger" and banner.object.startswith("Sample ratio mismatch")
    assert section.readout().control == "CONTROL"
    assert "Control: **CONTROL**." in section.insight_readout()
    assert section.srm_kind() == "danger"
    assert section.srm_text().startswith("Sample ratio mismatch: visitors split 52.4% / 47.6% where 50.0% / 50.0%")
    assert "**No verdict: sample ratio mismatch**" in section.insight_readout()
    section.intended_split = "11/10"
    assert section.srm_kind() == "success" and "No verdict" not in section.insight_readout()
    assert banner.alert_type == "success" and banner.object.startswith("Visitor split 52.4% / 47.6% matches")
    section.intended_split = "half/half"
    assert "(“half/half” is not a list of numbers such as 50/50; an equal split is assumed)" in section.srm_text()


def test_edge_cases_render_without_warnings(tmp_path):
    store = ab_store(tmp_path, [
        ("Nobody converts", "Control", "All", 500, 0, 0.0), ("Nobody converts", "B", "All", 500, 0, 0.0),
        ("Everyone converts", "control", "All", 40, 40, 4e3), ("Everyone converts", "B", "All", 40, 40, 4e3),
        ("One visitor", "Control", "All", 1, 0, 0.0), ("One visitor", "B", "All", 1, 1, 50.0),
        ("Single variant", "Only", "All", 1_000, 30, 3e4),
        ("No visitors", "Control", "All", 0, 0, 0.0), ("No visitors", "B", "All", 10, 1, 10.0),
    ])
    section = section_over(store)
    root = pn.panel(section).get_root()
    verdicts = {}
    for experiment in section.param.experiment.objects:
        section.experiment = experiment
        for name in INSIGHTS:
            assert getattr(section, name)()
        section.variant_table(), section.segment_table(), section.readout_export()
        verdicts[experiment] = section.readout()
    assert ex.verdict(verdicts["Nobody converts"]).startswith("No verdict: p-value n/a: no one converted")
    assert ex.verdict(verdicts["Everyone converts"]).startswith("No verdict: p-value n/a: everyone converted")
    assert ex.verdict(verdicts["Single variant"]) == "Only one variant: there is nothing to compare it with."
    assert ex.verdict(verdicts["No visitors"]) == "No verdict: the control, Control, has no visitors."
    assert "No verdict: the control, Control, has no visitors." in rendered_text(root)   # the last one shown


def test_export_frame_is_every_row_of_the_file(section, packaged_dir):
    rows = pd.read_csv(packaged_dir / AB_FILE)
    exported = section.export_frame()
    assert exported[["experiment", "variant", "segment"]].equals(rows[["experiment", "variant", "segment"]])
    assert exported["visitors"].tolist() == rows["visitors"].astype(float).tolist()
