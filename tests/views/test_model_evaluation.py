"""Model evaluation section (SPEC §4.7): the threshold view-model against scikit-learn on the real leads."""
from __future__ import annotations

import re
import shutil

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import pytest
from bokeh.document import Document
from bokeh.document.events import ColumnDataChangedEvent
from sklearn.metrics import (
    accuracy_score, average_precision_score, confusion_matrix, f1_score, precision_score, recall_score,
    roc_auc_score,
)

from novamart_panel.analytics.classification import feature_labels
from novamart_panel.data.store import DataStore
from novamart_panel.format import count, percent
from novamart_panel.views.filters import Filters
from novamart_panel.views.base import house_opts
from novamart_panel.views.model_evaluation import PROFIT_OPTIONS, THRESHOLD_GRID, ModelEvaluationSection

LEADS_FILE = "lead_scoring_results.csv"
MODEL_FILES = (LEADS_FILE, "feature_importance.csv", "learning_curve.csv")


def section_for(store: DataStore) -> ModelEvaluationSection:
    return ModelEvaluationSection(store=store, filters=Filters(store))


@pytest.fixture
def section(reference_store):
    return section_for(reference_store)


@pytest.fixture(scope="module")
def leads(reference_dir) -> pd.DataFrame:
    return pd.read_csv(reference_dir / LEADS_FILE)


def sklearn_counts(leads: pd.DataFrame, threshold: float) -> dict:
    predicted = (leads["predicted_probability"] >= threshold).astype(int)
    tn, fp, fn, tp = confusion_matrix(leads["actual_converted"], predicted, labels=[0, 1]).ravel()
    return {"tp": tp, "fp": fp, "tn": tn, "fn": fn}


def copy_model_files(source, target, leads: pd.DataFrame | None = None):
    """The three files the section reads, optionally with a replaced leads table."""
    target.mkdir(exist_ok=True)
    for name in MODEL_FILES:
        shutil.copy(source / name, target / name)
    if leads is not None:
        leads.to_csv(target / LEADS_FILE, index=False)
    return target


# -- threshold → confusion matrix and metrics -------------------------------------------------------
@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.68, 0.99, 1.0])
def test_confusion_counts_equal_sklearn(section, leads, threshold):
    section.threshold = threshold
    table = section.confusion().set_index("outcome")
    expected = sklearn_counts(leads, threshold)
    assert {cell.lower(): table.loc[cell, "count"] for cell in ("TP", "FP", "TN", "FN")} == expected
    assert table["percent"].sum() == pytest.approx(100)
    assert table.loc["TP", "percent"] == pytest.approx(100 * expected["tp"] / len(leads))
    shown = re.fullmatch(r"TP ([\d,]+) \(([\d.]+)%\)", table.loc["TP", "label"])
    assert shown[1] == f"{expected['tp']:,}"
    assert float(shown[2]) == pytest.approx(100 * expected["tp"] / len(leads), abs=0.051)


@pytest.mark.parametrize("threshold", [0.25, 0.5, 0.75])
def test_metrics_equal_sklearn(section, leads, threshold):
    section.threshold = threshold
    metrics = section.metrics()
    y = leads["actual_converted"]
    predicted = (leads["predicted_probability"] >= threshold).astype(int)
    counts = sklearn_counts(leads, threshold)
    assert metrics["precision"] == pytest.approx(precision_score(y, predicted))
    assert metrics["recall"] == pytest.approx(recall_score(y, predicted))
    assert metrics["f1"] == pytest.approx(f1_score(y, predicted))
    assert metrics["accuracy"] == pytest.approx(accuracy_score(y, predicted))
    assert metrics["specificity"] == pytest.approx(counts["tn"] / (counts["tn"] + counts["fp"]))


def test_slider_float_noise_does_not_drop_leads_scored_exactly_at_the_threshold(section, leads):
    # 189 reference leads score exactly 0.99; a slider step can deliver 0.99 plus one ulp.
    assert (leads["predicted_probability"] == 0.99).sum() > 0
    section.threshold = float(np.nextafter(0.99, 1.0))
    assert section.metrics()["tp"] == sklearn_counts(leads, 0.99)["tp"]


def test_metrics_panel_shows_the_numbers_the_browser_test_reads(section, leads):
    html = section.metrics_html()
    expected = sklearn_counts(leads, 0.5)
    for cell, value in expected.items():
        assert f'data-cell="{cell}">{value:,}</span>' in html
    precision = precision_score(leads["actual_converted"], leads["predicted_probability"] >= 0.5)
    assert f'class="metric-precision" style="font-size:1.45em;font-weight:600">{precision:.3f}<' in html
    section.threshold = 0.3
    assert f'data-cell="tp">{sklearn_counts(leads, 0.3)["tp"]:,}<' in section.metrics_html()


def test_threshold_insight_follows_the_threshold(section, leads):
    section.threshold = 0.3
    counts = sklearn_counts(leads, 0.3)
    contacted = counts["tp"] + counts["fp"]
    text = section.insight_threshold()
    assert f"contacting **{contacted:,} leads ({100 * contacted / len(leads):.1f}%)**" in text
    assert f"**{100 * counts['tp'] / (counts['tp'] + counts['fn']):.1f}% of converters**" in text
    section.threshold = 1.0
    assert "no lead scores high enough" in section.insight_threshold()


def test_global_filters_do_not_change_the_leads(section, reference_store):
    before = section.metrics()
    section.filters.channels = section.filters.param.channels.objects[:1]
    assert section.metrics() == before
    assert "Global filters applied here: none" in section.filter_note()


# -- curves ----------------------------------------------------------------------------------------
def test_roc_and_pr_summaries_equal_sklearn(section, leads):
    y, score = leads["actual_converted"], leads["predicted_probability"]
    assert section.auc == pytest.approx(roc_auc_score(y, score))
    assert section.average_precision == pytest.approx(average_precision_score(y, score))
    threshold, j = section.youden
    at_youden = sklearn_counts(leads, threshold)
    tpr = at_youden["tp"] / (at_youden["tp"] + at_youden["fn"])
    fpr = at_youden["fp"] / (at_youden["fp"] + at_youden["tn"])
    assert j == pytest.approx(tpr - fpr)
    # No grid threshold beats the Youden point.
    for t in THRESHOLD_GRID:
        c = sklearn_counts(leads, t)
        assert c["tp"] / (c["tp"] + c["fn"]) - c["fp"] / (c["fp"] + c["tn"]) <= j + 1e-12
    text = section.insight_curves()
    assert f"AUC **{roc_auc_score(y, score):.3f}**" in text and f"at score {threshold:.4f}" in text


def test_youden_button_insight_and_marker_agree(section, leads):
    """One rounding rule: the exact cut goes to the slider's 0.01 grid, and everything quotes that threshold."""
    cut, _ = section.youden
    on_slider = round(cut, 2)
    counts = sklearn_counts(leads, on_slider)
    recall, fpr = counts["tp"] / (counts["tp"] + counts["fn"]), counts["fp"] / (counts["fp"] + counts["tn"])
    text = section.insight_curves()
    assert f"the Youden button sets the threshold to **{on_slider:.2f}**, where recall is {percent(recall)}" in text
    section.threshold = 0.3
    assert section.insight_curves() == text, "the curves' sentence describes the Youden point, not the slider"
    assert f"false-positive rate {percent(fpr)}" in text
    buttons = [b for b in section.layout().select(pn.widgets.Button) if b.label.startswith("Youden")]
    assert [b.label for b in buttons] == [f"Youden ({on_slider:.2f})"]
    section.threshold = 0.5
    buttons[0].clicks += 1
    assert section.threshold == on_slider
    assert section.metrics()["recall"] == pytest.approx(recall) and section.metrics()["fpr"] == pytest.approx(fpr)
    marker = next(el for el in section.plot_roc() if isinstance(el, hv.Points))
    assert marker.dimension_values(0)[0] == pytest.approx(fpr) and marker.dimension_values(1)[0] == pytest.approx(recall)
    assert f"Youden's threshold {on_slider:.2f}" in section.insight_profit()


def test_operating_point_sits_at_the_current_threshold(section, leads):
    section.threshold = 0.4
    counts = sklearn_counts(leads, 0.4)
    point = section.roc_marker().dframe().iloc[0]
    assert point["tpr"] == pytest.approx(counts["tp"] / (counts["tp"] + counts["fn"]))
    assert point["fpr"] == pytest.approx(counts["fp"] / (counts["fp"] + counts["tn"]))
    assert section.pr_marker().dframe().iloc[0]["precision"] == pytest.approx(
        counts["tp"] / (counts["tp"] + counts["fp"]))
    section.threshold = 1.0   # nobody contacted: precision undefined, no PR marker
    assert len(section.pr_marker()) == 0


def test_moving_the_threshold_resends_markers_not_curves(section, leads):
    doc = Document()
    root = pn.panel(section).get_root(doc)
    doc.add_root(root)
    changed = []
    doc.on_change(lambda event: changed.append(event) if isinstance(event, ColumnDataChangedEvent) else None)
    section.threshold = 0.3
    sizes = {len(next(iter(event.model.data.values()))) for event in changed}
    assert changed and max(sizes) <= 4   # one-point markers and the 2×2 heatmap; never a curve
    marker = [e.model.data for e in changed if set(e.model.data) >= {"fpr", "tpr"}]
    counts = sklearn_counts(leads, 0.3)
    assert marker[-1]["tpr"][0] == pytest.approx(counts["tp"] / (counts["tp"] + counts["fn"]))


# -- cost-aware threshold --------------------------------------------------------------------------
def brute_force_profit_optimum(leads, cost, value):
    profits = []
    for t in THRESHOLD_GRID:
        c = sklearn_counts(leads, t)
        profits.append(value * c["tp"] - cost * (c["tp"] + c["fp"]))
    profits = np.array(profits, dtype=float)
    best = np.flatnonzero(profits == profits.max()).max()   # the highest threshold on ties
    return THRESHOLD_GRID[best], profits[best]


def test_profit_optimal_marker_moves_with_the_costs(section, leads):
    optimum = section.plot_profit().get(2).dframe().iloc[0]   # layers: curve, zero line, optimum
    expected_t, expected_profit = brute_force_profit_optimum(leads, 500, 5000)
    assert (optimum["threshold"], optimum["profit"]) == (pytest.approx(expected_t), pytest.approx(expected_profit))
    cheap_insight = section.insight_profit()

    section.param.update(cost_per_contact=3500, value_per_conversion=5000)
    moved = section.plot_profit().get(2).dframe().iloc[0]
    expected_t2, expected_profit2 = brute_force_profit_optimum(leads, 3500, 5000)
    assert moved["threshold"] == pytest.approx(expected_t2) and moved["profit"] == pytest.approx(expected_profit2)
    assert moved["threshold"] > optimum["threshold"]
    text = section.insight_profit()
    assert text != cheap_insight and f"threshold **{expected_t2:.2f}**" in text


def test_profit_sentence_explains_youden_by_the_leads_between(section, leads):
    """Why the profit optimum differs from Youden's threshold: the leads scored between the two and their
    conversion rate against cost ÷ value, counted by hand (the reason once claimed the opposite economics)."""
    youden = section.youden_point["threshold"]
    for cost, value in ((3000, 5000), (4500, 5000)):
        section.param.update(cost_per_contact=cost, value_per_conversion=value)
        best, profit = brute_force_profit_optimum(leads, cost, value)
        low, high = sorted((best, youden))
        at_low, at_high = sklearn_counts(leads, low), sklearn_counts(leads, high)
        between = (at_low["tp"] + at_low["fp"]) - (at_high["tp"] + at_high["fp"])
        rate = (at_low["tp"] - at_high["tp"]) / between
        lower = best < youden
        assert (rate > cost / value) == lower   # contacting them pays exactly when the optimum reaches them
        text = section.insight_profit()
        assert f"The profit optimum is {'lower' if lower else 'higher'} than Youden's threshold {youden:.2f}" in text
        assert (f"the {count(between)} leads scored between them convert at {percent(rate)}, "
                f"{'above' if lower else 'below'} the break-even rate of {percent(cost / value)}") in text
        assert "missed converter costs more" not in text


def test_profit_table_equals_counting(section, leads):
    section.param.update(cost_per_contact=800, value_per_conversion=4000)
    table = section.profit().set_index("threshold")
    counts = sklearn_counts(leads, 0.6)
    assert table.loc[0.6, "profit"] == 4000 * counts["tp"] - 800 * (counts["tp"] + counts["fp"])


# -- learning curve and feature importance ---------------------------------------------------------
def test_std_bands_toggle_changes_the_overlay(section, reference_dir):
    curve = pd.read_csv(reference_dir / "learning_curve.csv")
    with_bands = section.plot_learning()
    spreads = [layer for layer in with_bands if isinstance(layer, hv.Spread)]
    assert len(spreads) == 2
    np.testing.assert_allclose(spreads[1].dimension_values("validation_score_std"), curve["validation_score_std"])
    section.show_std_bands = False
    # The bands stay in the overlay (the chart updates in place) but are hidden.
    without = section.plot_learning()
    assert len(without) == len(with_bands)
    hidden = [layer for layer in without if isinstance(layer, hv.Spread)]
    assert [hv.Store.lookup_options("bokeh", layer, "style").kwargs.get("visible") for layer in hidden] == [False] * 2
    figure = hv.render(without)
    assert sum(r.visible for r in figure.renderers) == sum(r.visible for r in hv.render(with_bands).renderers) - 2


def test_importance_sort_order(section, reference_dir):
    expected = pd.read_csv(reference_dir / "feature_importance.csv")
    descending = section.importance()
    assert descending["feature"].tolist() == expected.sort_values("importance", ascending=False)["feature"].tolist()
    bars = section.plot_importance().get(0)
    # Drawn bottom-up, so the first (largest) feature is the last bar: it appears at the top.
    assert bars.dimension_values("feature").tolist() == descending["feature"].tolist()[::-1]
    assert bars.dimension_values("label").tolist()[-1] == "Webinar attendance"   # readable on the axis
    section.importance_order = "ascending"
    assert section.importance()["feature"].tolist() == descending["feature"].tolist()[::-1]
    errors = section.plot_importance().get(1)
    np.testing.assert_allclose(errors.dimension_values("importance_std"),
                               section.importance()["importance_std"].to_numpy()[::-1])
    assert section.insight_importance().startswith("**Webinar attendance** (0.18) and **Form submissions**")


def test_feature_labels_read_as_words():
    assert feature_labels(["webinar_attendance", "company_size_encoded", "time_on_site_seconds", "pages_viewed",
                           "x"]) == ["Webinar attendance", "Company size", "Time on site (s)", "Pages viewed", "X"]
    assert feature_labels(["size_encoded", "size"]) == ["Size (size_encoded)", "Size (size)"]


def test_error_bars_toggle_hides_them_and_keeps_the_overlay(section):
    shown = section.plot_importance()
    assert len(shown) == 2 and shown.get(1).opts.get().kwargs["visible"] is True
    assert shown.get(0).opts.get().kwargs.get("visible", True) is True
    section.show_error_bars = False
    hidden = section.plot_importance()
    assert [type(e) for e in hidden] == [type(e) for e in shown]
    assert hidden.get(1).opts.get().kwargs["visible"] is False and "std" not in hidden.opts.get().kwargs["title"]
    checkboxes = [w for w in section.layout().select(pn.widgets.Checkbox) if "error bars" in w.name]
    assert len(checkboxes) == 1
    checkboxes[0].value = True
    assert section.show_error_bars is True


# -- retraining -------------------------------------------------------------------------------------
def visible_curves(overlay) -> list:
    return [layer for layer in overlay if isinstance(layer, hv.Curve)
            and hv.Store.lookup_options("bokeh", layer, "style").kwargs.get("visible", True)]


def test_retrain_adds_a_second_roc_with_its_auc(section, leads):
    assert len(visible_curves(section.plot_roc())) == 2  # chance, file (the refit's layer waits, hidden)
    section.retrain_now()
    result = section.retrained("logistic")
    assert section.retrained("logistic") is result   # fitted once, then cached
    oof_auc = roc_auc_score(leads["actual_converted"], result["probability"])
    assert result["oof_auc"] == pytest.approx(oof_auc) and 0.5 < oof_auc < 1
    curves = visible_curves(section.plot_roc())
    assert len(curves) == 3 and f"AUC {oof_auc:.3f}" in curves[-1].label
    roc = section.retrained_roc()
    assert np.trapezoid(roc["tpr"], roc["fpr"]) == pytest.approx(oof_auc)
    text = section.insight_retrain()
    assert f"**{oof_auc:.3f}**" in text and f"**{section.auc:.3f}**" in text


# -- insights follow the data; missing inputs ------------------------------------------------------
def test_insights_follow_a_different_data_set(reference_dir, leads, tmp_path):
    # Scores that rank every converter above every non-converter.
    perfect = leads.assign(predicted_probability=np.where(leads["actual_converted"] == 1, 0.9, 0.1))
    store = DataStore.open(copy_model_files(reference_dir, tmp_path / "perfect", perfect))
    section = section_for(store)
    assert section.auc == 1.0
    assert section.insight_curves().startswith("AUC **1.000** (strong)")
    assert section.insight_curves() != section_for(DataStore.open(reference_dir)).insight_curves()
    section.threshold = 0.5
    assert "finds **100.0% of converters** with precision **1.000**" in section.insight_threshold()


def test_missing_importance_file_shows_a_notice_and_the_rest_renders(reference_dir, tmp_path):
    folder = copy_model_files(reference_dir, tmp_path / "partial")
    (folder / "feature_importance.csv").unlink()
    section = section_for(DataStore.open(folder))
    assert section.importance().empty and section.insight_importance() == ""
    root = pn.panel(section).get_root()
    texts = " ".join(str(model.text) for model in root.references() if hasattr(model, "text"))
    assert "feature_importance.csv" in texts


def test_two_sessions_render_without_sharing_bokeh_models(reference_store, section):
    # Every browser session builds its own section; a Bokeh model shared between them cannot be added to
    # a second document.
    for view in (section, section_for(reference_store)):
        doc = Document()
        doc.add_root(pn.panel(view).get_root(doc))


def test_exports_every_threshold(section, leads):
    export = section.export_frame().set_index("threshold")
    counts = sklearn_counts(leads, 0.42)
    assert export.loc[0.42, ["tp", "fp", "tn", "fn"]].tolist() == list(counts.values())
    assert export.loc[0.42, "profit"] == 5000 * counts["tp"] - 500 * (counts["tp"] + counts["fp"])


def test_legends_of_charts_with_points_sit_outside_the_plot(section):
    from bokeh.models import Legend
    learning = hv.render(section.plot_learning())
    assert any(isinstance(item, Legend) for item in learning.below)
    assert not any(isinstance(item, Legend) for item in learning.center)
    profit = hv.render(house_opts(section.plot_profit() * section.profit_marker(), **PROFIT_OPTIONS))
    assert any(isinstance(item, Legend) for item in profit.right)


@pytest.mark.parametrize("framewise", [False, True])
def test_the_roc_curve_keeps_a_zoom_while_the_threshold_moves(section, framewise):
    """The ROC and PR charts are drawn with `framewise=False` (`framewise_options`): moving the threshold moves
    the marker and leaves a zoom alone. Drawn framewise, as the app's other charts are, the same move resets
    the zoom (which shows this test can fail)."""
    from bokeh.models import Plot

    from novamart_panel.app import extension
    from novamart_panel.views.model_evaluation import ROC_OPTIONS, _marked_chart

    extension()   # as the app does first: HoloViews' options for the Bokeh backend
    pane = _marked_chart(section.plot_roc, section.roc_marker, framewise=framewise, **ROC_OPTIONS)
    root = pane.get_root(Document())
    (figure,) = [model for model in root.references() if isinstance(model, Plot)]
    figure.x_range.update(start=0.2, end=0.4)   # the user zooms in
    section.threshold = 0.3
    zoom = (figure.x_range.start, figure.x_range.end)
    assert (zoom == (0.2, 0.4)) is not framewise
