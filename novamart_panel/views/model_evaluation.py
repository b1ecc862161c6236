"""Model evaluation (SPEC §4.7): how good the lead-scoring model is, and which threshold to use.

One threshold drives the confusion matrix, the metrics and the operating point marked on the ROC,
precision-recall and profit curves. The curves do not depend on the threshold: each chart overlays a
separate marker DynamicMap, so moving the slider re-sends one point, never the curves.
"""
from __future__ import annotations

import asyncio
import functools

import holoviews as hv
import holoviews.plotting.bokeh  # registers the backend whose options the charts set
import numpy as np
import pandas as pd
import panel as pn
import param

from ..analytics.classification import (
    average_precision, confusion_table, expected_profit, pr_curve_table, profit_optimal_threshold,
    feature_labels, retrain_lead_model, roc_auc, roc_curve_table, threshold_metrics, threshold_sweep, youden_threshold,
)
from ..data import lead_queries
from ..format import count, escape_markdown, percent, rupees, strong
from .base import (GOOD, NEUTRAL, Section, chart, framewise_options, holoviews_pane,
                   house_opts, html, insight, markdown, notice, rupee_ticks, section_header)

# Defaults of the cost-aware threshold, in rupees: a sales call or field visit per contacted lead,
# and the gross margin of a converted B2B lead.
DEFAULT_COST_PER_CONTACT = 500.0
DEFAULT_VALUE_PER_CONVERSION = 5000.0

THRESHOLD_GRID = np.round(np.arange(101) / 100, 2)   # the slider's values
IMPORTANCE_ORDERS = ("descending", "ascending")
RETRAIN_MODELS = {"Logistic regression": "logistic", "Gradient boosting": "gradient_boosting"}
RETRAIN_FOLDS = 5
MODEL_LABELS = {key: label for label, key in RETRAIN_MODELS.items()}
RATIO_METRICS = {"precision": "Precision", "recall": "Recall", "f1": "F1", "accuracy": "Accuracy",
                 "specificity": "Specificity"}

PROVIDED_COLOUR, RETRAINED_COLOUR, MARKER_COLOUR = "#0072B5", "#E8743B", "#F2C14E"
ROC_TIPS = [("Threshold", "@threshold{0.000}"), ("False-positive rate", "@fpr{0.000}"), ("Recall", "@tpr{0.000}")]
PR_TIPS = [("Threshold", "@threshold{0.000}"), ("Recall", "@recall{0.000}"), ("Precision", "@precision{0.000}")]
PROFIT_TIPS = [("Threshold", "@threshold{0.00}"), ("Contacted", "@contacted{0,0}"),
               ("Converted among them", "@converted_contacted{0,0}"), ("Profit", "@profit_text")]

FPR = hv.Dimension("fpr", label="False-positive rate", range=(0, 1))
TPR = hv.Dimension("tpr", label="True-positive rate (recall)", range=(0, 1))
RECALL = hv.Dimension("recall", label="Recall", range=(0, 1))
PRECISION = hv.Dimension("precision", label="Precision", range=(0, 1))
THRESHOLD = hv.Dimension("threshold", label="Threshold")
PROFIT = hv.Dimension("profit", label="Expected profit (₹)")

# Options of the charts that overlay a threshold marker: set on the curves (a chart on its own) and
# again on curves × marker, because an overlay of two DynamicMaps drops the inner overlay's options.
UNIT_AXES = {"xlim": (-0.02, 1.02), "ylim": (-0.02, 1.02)}
ROC_OPTIONS = {"title": "ROC curve", "legend_position": "bottom_right", **UNIT_AXES}
PR_OPTIONS = {"title": "Precision-recall curve", "legend_position": "bottom_left", **UNIT_AXES}
# Legends of charts with points go outside the plot: inside they covered the markers (ROC and PR curves leave
# their corner empty, so their legends stay inside).
PROFIT_OPTIONS = {"title": "Expected profit by threshold", "legend_position": "right"}


class ModelEvaluationSection(Section):
    """Lead-scoring model evaluation: threshold metrics, ROC / PR, profit, learning curve, importance."""

    title = "Model evaluation"
    slug = "model"
    tables = ("leads",)
    also_reads = ('feature_importance', 'learning_curve')
    spec_section = "4.7"

    threshold = param.Number(default=0.5, bounds=(0, 1), step=0.01,
                             doc="Leads scoring at or above this probability are contacted")
    cost_per_contact = param.Number(default=DEFAULT_COST_PER_CONTACT, bounds=(0, None), step=50,
                                    doc="Cost of contacting one lead (₹)")
    value_per_conversion = param.Number(default=DEFAULT_VALUE_PER_CONVERSION, bounds=(0, None), step=500,
                                        doc="Value of one converted lead (₹)")
    show_std_bands = param.Boolean(default=True, doc="Show ±1 standard deviation bands on the learning curve")
    show_error_bars = param.Boolean(default=True, doc="Show ±1 standard deviation error bars on feature importance")
    importance_order = param.Selector(default="descending", objects=list(IMPORTANCE_ORDERS),
                                      doc="Sort order of the feature-importance bars")
    retrain_model = param.Selector(default="logistic", objects=RETRAIN_MODELS,
                                   doc="Model family to refit on the lead features")
    retrained_with = param.Selector(default=None, objects=[None, *RETRAIN_MODELS.values()], allow_None=True,
                                    doc="The refitted model shown beside the file's predictions (None: not yet)")

    # -- data ------------------------------------------------------------------------------------
    @functools.cached_property
    def leads(self) -> pd.DataFrame:
        """Outcome and score of every lead that has both (the leads table ignores the global filters)."""
        return lead_queries.scored_leads(self.store)

    @functools.cached_property
    def outcome_counts(self) -> tuple[int, int]:
        """(non-converted, converted) scored leads: ranking curves need both, a refit RETRAIN_FOLDS of each."""
        converted = int((self.leads["actual_converted"] == 1).sum())
        return len(self.leads) - converted, converted

    @property
    def single_outcome(self) -> bool:
        return min(self.outcome_counts) == 0

    def _labels_scores(self) -> tuple[np.ndarray, np.ndarray]:
        return self.leads["actual_converted"].to_numpy(), self.leads["predicted_probability"].to_numpy()

    @property
    def current_threshold(self) -> float:
        # Slider steps arrive as 0.29000000000000004; scores have 4 decimals, so that noise would
        # wrongly exclude a lead scored exactly 0.29.
        return round(float(self.threshold), 6)

    @param.depends("threshold")
    def metrics(self) -> dict:
        """Confusion counts and ratios of the file's predictions at the current threshold."""
        return threshold_metrics(*self._labels_scores(), self.current_threshold)

    @param.depends("threshold")
    def confusion(self) -> pd.DataFrame:
        """The 2×2 confusion matrix (actual, predicted, outcome, count, percent of all leads)."""
        table = confusion_table(self.metrics())
        table["label"] = [f"{o} {count(c)} ({percent(p, decimals=1, scale=100)})"
                          for o, c, p in zip(table["outcome"], table["count"], table["percent"])]
        return table

    @functools.cached_property
    def roc(self) -> pd.DataFrame:
        return roc_curve_table(*self._labels_scores())

    @functools.cached_property
    def auc(self) -> float:
        return roc_auc(*self._labels_scores())

    @functools.cached_property
    def youden(self) -> tuple[float, float]:
        """(threshold, J) where tpr - fpr is largest."""
        return youden_threshold(*self._labels_scores())

    @functools.cached_property
    def youden_point(self) -> dict:
        """Youden's optimum as the page uses it everywhere (button, chart marker, insights): the exact cut
        (`cut`) and its J (`j`), then the metrics at the cut rounded to the slider's step (`threshold`, ...)."""
        cut, j = self.youden
        if not np.isfinite(cut):
            return {"cut": cut, "j": j, "threshold": float("nan")}
        step = self.param.threshold.step
        on_slider = round(round(cut / step) * step, 6)
        return {**threshold_metrics(*self._labels_scores(), on_slider), "cut": cut, "j": j}

    @functools.cached_property
    def pr(self) -> pd.DataFrame:
        # With one outcome only the curve is a constant (precision 1 or undefined): nothing to rank, not drawn.
        if self.single_outcome:
            return pd.DataFrame(columns=["recall", "precision", "threshold"], dtype=float)
        return pr_curve_table(*self._labels_scores())

    @functools.cached_property
    def average_precision(self) -> float:
        return float("nan") if self.single_outcome else average_precision(*self._labels_scores())

    def _score_label(self, name: str, value: float) -> str:
        return f"{name} {value:.3f}" if np.isfinite(value) else f"{name} undefined: one outcome only"

    @param.depends("threshold")
    def operating_point(self) -> pd.DataFrame:
        """One row: the current threshold's fpr, recall (tpr) and precision."""
        m = self.metrics()
        return pd.DataFrame({"threshold": [m["threshold"]], "fpr": [m["fpr"]], "tpr": [m["recall"]],
                             "recall": [m["recall"]], "precision": [m["precision"]]})

    @param.depends("cost_per_contact", "value_per_conversion")
    def profit(self) -> pd.DataFrame:
        """Expected profit at every slider threshold (threshold, contacted, converted_contacted, profit)."""
        return expected_profit(*self._labels_scores(), self.cost_per_contact, self.value_per_conversion,
                               THRESHOLD_GRID)

    @param.depends("cost_per_contact", "value_per_conversion")
    def profit_optimum(self) -> tuple[float, float]:
        """(threshold, profit) of the most profitable slider threshold."""
        return profit_optimal_threshold(*self._labels_scores(), self.cost_per_contact,
                                        self.value_per_conversion, THRESHOLD_GRID)

    def _profit_at(self, threshold: float) -> pd.DataFrame:
        """One row of `profit()` at any threshold (the slider's grid or not)."""
        return expected_profit(*self._labels_scores(), self.cost_per_contact, self.value_per_conversion,
                               [threshold])

    @param.depends("importance_order")
    def importance(self) -> pd.DataFrame:
        """feature_importance.csv sorted by importance (`importance_order`); empty if the file is unusable."""
        if not self.store.has("feature_importance"):
            return pd.DataFrame(columns=["feature", "importance", "importance_std", "label"])
        table = self.store.table("feature_importance").sort_values(
            "importance", ascending=self.importance_order == "ascending", kind="stable", ignore_index=True)
        return table.assign(label=feature_labels(table["feature"]))

    @functools.cached_property
    def learning(self) -> pd.DataFrame:
        """learning_curve.csv by training size; empty if the file is unusable."""
        if not self.store.has("learning_curve"):
            return pd.DataFrame(columns=["training_size", "train_score", "validation_score",
                                         "train_score_std", "validation_score_std"])
        return lead_queries.learning_curve(self.store)

    def retrained(self, model: str) -> dict:
        """The cross-validated refit of `model` on the lead features, computed once per data folder."""
        def fit(model: str) -> dict:
            return retrain_lead_model(lead_queries.scored_leads(self.store, columns=None), model=model,
                                      folds=RETRAIN_FOLDS)

        return pn.state.as_cached(f"novamart_panel.retrain.{self.store.schema}", fit, model=model)

    @property
    def retrain_blocker(self) -> str:
        """Why no model can be refitted on these leads ('' when one can)."""
        negatives, positives = self.outcome_counts
        if min(negatives, positives) >= RETRAIN_FOLDS:
            return ""
        return (f"No model can be retrained: the leads file has {count(negatives)} non-converted and "
                f"{count(positives)} converted leads, and {RETRAIN_FOLDS}-fold cross-validation needs at least "
                f"{RETRAIN_FOLDS} of each.")

    def retrain_now(self) -> None:
        """Refit `retrain_model` (cached) and show it beside the file's predictions."""
        self.retrained(self.retrain_model)
        self.retrained_with = self.retrain_model

    @param.depends("retrained_with")
    def retrained_roc(self) -> pd.DataFrame:
        """ROC of the refitted model's out-of-fold probabilities; empty before retraining."""
        if self.retrained_with is None:
            return pd.DataFrame(columns=["fpr", "tpr", "threshold"])
        return roc_curve_table(self.leads["actual_converted"], self.retrained(self.retrained_with)["probability"])

    def export_frame(self) -> pd.DataFrame:
        """Every metric and the expected profit at each slider threshold."""
        sweep = threshold_sweep(*self._labels_scores(), THRESHOLD_GRID)
        return sweep.merge(self.profit()[["threshold", "profit"]], on="threshold")

    # -- charts ----------------------------------------------------------------------------------
    @param.depends("threshold")
    def plot_confusion(self) -> hv.Overlay:
        table = self.confusion()
        table["text_colour"] = np.where(table["count"] > table["count"].max() / 2, "white", "black")
        heatmap = hv.HeatMap(table, ["predicted", "actual"], ["count", "percent", "outcome", "label"]).opts(
            cmap="Blues", colorbar=False, xlabel="Predicted (contacted = converted)", ylabel="Actual",
            invert_yaxis=True, tools=["hover"], hover_tooltips=[("Cell", "@outcome"), ("Leads", "@count{0,0}"),
                                               ("Share of all leads", "@percent{0.0}%")])
        labels = hv.Labels(table, ["predicted", "actual"], ["label", "text_colour"]).opts(
            text_color="text_colour", text_font_size="13pt")
        return house_opts(heatmap * labels, height=320, title=f"Confusion matrix at threshold "
                          f"{self.current_threshold:.2f}")

    @param.depends("retrained_with")
    def plot_roc(self) -> hv.Overlay:
        """ROC of the file's predictions (and of the refit, once retrained), chance line, Youden point."""
        chance = hv.Curve([(0, 0), (1, 1)], FPR, TPR, label="Chance").opts(color=NEUTRAL, line_dash="dashed")
        provided = hv.Curve(self.roc, FPR, [TPR, THRESHOLD],
                            label=f"File's predictions ({self._score_label('AUC', self.auc)})").opts(
            color=PROVIDED_COLOUR, line_width=2, **_hover(ROC_TIPS))
        # Every layer is always there (the chart updates in place): the refit's curve stays hidden until
        # a model is retrained, the Youden point when it is undefined.
        if self.retrained_with is not None:
            result = self.retrained(self.retrained_with)
            refit, refit_label = self.retrained_roc(), (f"Retrained {MODEL_LABELS[self.retrained_with].lower()} "
                                                        f"(AUC {result['oof_auc']:.3f})")
        else:
            refit, refit_label = self.roc.iloc[:0], "Retrained model"
        retrained = hv.Curve(refit, FPR, [TPR, THRESHOLD], label=refit_label).opts(
            color=RETRAINED_COLOUR, line_width=2, visible=self.retrained_with is not None, **_hover(ROC_TIPS))
        at_youden = self.youden_point
        youden_t = at_youden["threshold"]
        point = pd.DataFrame({FPR.name: [at_youden.get("fpr")], TPR.name: [at_youden.get("recall")],
                              THRESHOLD.name: [youden_t]}
                             ).iloc[:1 if np.isfinite(youden_t) else 0].astype(float)
        youden = hv.Points(point, [FPR, TPR], [THRESHOLD], label=f"Youden optimum (t = {youden_t:.2f})"
                           if np.isfinite(youden_t) else "Youden optimum").opts(
            color=GOOD, size=11, marker="diamond", visible=bool(np.isfinite(youden_t)), **_hover(ROC_TIPS))
        return house_opts(hv.Overlay([chance, provided, retrained, youden]), **ROC_OPTIONS)

    @param.depends("threshold")
    def roc_marker(self) -> hv.Points:
        point = self.operating_point()
        return _marker(point.iloc[:0] if self.single_outcome else point, [FPR, TPR], ROC_TIPS)

    def plot_pr(self) -> hv.Overlay:
        """Precision-recall curve of the file's predictions and the share of converters (the baseline)."""
        base_rate = float(self.leads["actual_converted"].mean()) if len(self.leads) else float("nan")
        curve = hv.Curve(self.pr, RECALL, [PRECISION, THRESHOLD],
                         label=f"File's predictions ({self._score_label('AP', self.average_precision)})").opts(
            color=PROVIDED_COLOUR, line_width=2, interpolation="steps-pre", **_hover(PR_TIPS))
        baseline = hv.Curve([(0, base_rate), (1, base_rate)], RECALL, PRECISION,
                            label=f"No skill ({percent(base_rate)} convert)").opts(color=NEUTRAL, line_dash="dashed")
        return house_opts(curve * baseline, **PR_OPTIONS)

    @param.depends("threshold")
    def pr_marker(self) -> hv.Points:
        point = self.operating_point().dropna(subset=["precision"])
        return _marker(point.iloc[:0] if self.single_outcome else point, [RECALL, PRECISION], PR_TIPS)

    @param.depends("cost_per_contact", "value_per_conversion")
    def plot_profit(self) -> hv.Overlay:
        table = self.profit()
        table["profit_text"] = table["profit"].map(rupees)
        curve = hv.Curve(table, THRESHOLD, [PROFIT, "contacted", "converted_contacted", "profit_text"],
                         label="Expected profit").opts(
            color=PROVIDED_COLOUR, line_width=2, yformatter=rupee_ticks(),
            **_hover(PROFIT_TIPS))
        best_t, _ = self.profit_optimum()
        best = table.loc[table["threshold"] == best_t]
        optimum = hv.Points(best, [THRESHOLD, PROFIT], ["contacted", "converted_contacted", "profit_text"],
                            label=f"Profit optimum (t = {best_t:.2f})").opts(
            color=GOOD, size=11, marker="diamond", **_hover(PROFIT_TIPS))
        return house_opts(curve * hv.HLine(0).opts(color=NEUTRAL, line_dash="dashed") * optimum, **PROFIT_OPTIONS)

    @param.depends("threshold", "cost_per_contact", "value_per_conversion")
    def profit_marker(self) -> hv.Points:
        point = self._profit_at(self.current_threshold)
        point["profit_text"] = point["profit"].map(rupees)
        return hv.Points(point, [THRESHOLD, PROFIT], ["contacted", "converted_contacted", "profit_text"],
                         label="Current threshold").opts(
            color=MARKER_COLOUR, size=12, line_color="black", **_hover(PROFIT_TIPS))

    @param.depends("show_std_bands")
    def plot_learning(self) -> hv.Overlay:
        table = self.learning
        size = hv.Dimension("training_size", label="Training leads")
        layers = []
        for column, label, colour in (("train_score", "Training", RETRAINED_COLOUR),
                                      ("validation_score", "Validation", PROVIDED_COLOUR)):
            score = hv.Dimension(column, label="Score")
            layers.append(hv.Spread(table, size, [score, f"{column}_std"], label=f"{label} ±1 std")
                          .opts(color=colour, alpha=0.25, line_alpha=0, visible=self.show_std_bands))
            layers.append(hv.Curve(table, size, [score, f"{column}_std"], label=label)
                          .opts(color=colour, line_width=2))
            tips = [("Training leads", "@training_size{0,0}"), (f"{label} score", f"@{column}{{0.000}}"),
                    ("Std", f"@{column}_std{{0.000}}")]
            layers.append(hv.Scatter(table, size, [score, f"{column}_std"]).opts(color=colour, size=6, **_hover(tips)))
        return house_opts(hv.Overlay(layers), title="Learning curve", legend_position="bottom", legend_cols=2)

    @param.depends("importance_order", "show_error_bars")
    def plot_importance(self) -> hv.Overlay:
        # The first row is drawn at the top: a categorical y axis lists its first factor at the bottom.
        table = self.importance().iloc[::-1]
        feature = hv.Dimension("label", label="Feature")
        value = hv.Dimension("importance", label="Importance")
        bars = hv.Bars(table, feature, [value, "importance_std", "feature"]).opts(
            color=PROVIDED_COLOUR, invert_axes=True, tools=["hover"],
            hover_tooltips=[("Feature", "@label"), ("Column", "@feature"), ("Importance", "@importance{0.000}"),
                            ("Std", "@importance_std{0.000}")])
        errors = hv.ErrorBars(table, feature, [value, "importance_std"]).opts(
            invert_axes=True, line_width=1.5, visible=self.show_error_bars)
        title = "Feature importance (±1 std)" if self.show_error_bars else "Feature importance"
        return house_opts(bars * errors, title=title, height=380)

    # -- words -----------------------------------------------------------------------------------
    @param.depends("threshold")
    def metrics_html(self) -> str:
        """The metrics panel; its spans carry stable classes and data-cell names (browser tests read them)."""
        m = self.metrics()
        cards = "".join(
            f'<div class="metric" style="min-width:92px"><div style="font-size:.8em;opacity:.8">{label}</div>'
            f'<span class="metric-{key}" style="font-size:1.45em;font-weight:600">{_ratio(m[key])}</span></div>'
            for key, label in RATIO_METRICS.items())
        cells = " · ".join(f'{name.upper()} <span data-cell="{name}">{count(m[name])}</span>'
                           for name in ("tp", "fp", "tn", "fn"))
        return (f'<div class="model-metrics" data-threshold="{self.current_threshold:.2f}">'
                f'<div style="display:flex;flex-wrap:wrap;gap:14px">{cards}</div>'
                f'<div class="confusion-counts" style="margin-top:8px">{cells} · contacted '
                f'<span class="metric-contacted">{count(m["tp"] + m["fp"])}</span> '
                f'(<span class="metric-contact-rate">{percent(m["contact_rate"])}</span>)</div></div>')

    @param.depends("threshold")
    def insight_threshold(self) -> str:
        m = self.metrics()
        contacted = m["tp"] + m["fp"]
        if contacted == 0:
            return (f"At threshold **{self.current_threshold:.2f}** no lead scores high enough to be contacted, "
                    f"so all {count(m['fn'])} converters are missed.")
        return (f"At threshold **{self.current_threshold:.2f}**, contacting **{count(contacted)} leads "
                f"({percent(m['contact_rate'])})** finds **{percent(m['recall'])} of converters** with "
                f"precision **{_ratio(m['precision'])}**: {count(m['fp'])} contacted leads do not convert "
                f"and {count(m['fn'])} converters are missed.")

    def insight_curves(self) -> str:
        if not np.isfinite(self.auc):
            return "The leads file holds only one outcome, so ROC and precision-recall curves are undefined."
        at_youden = self.youden_point
        base_rate = float(self.leads["actual_converted"].mean())
        strength = ("strong" if self.auc >= 0.8 else "useful" if self.auc >= 0.7
                    else "weak" if self.auc >= 0.6 else "barely better than chance")
        return (f"AUC **{self.auc:.3f}** ({strength}): a random converter outscores a random non-converter "
                f"{percent(self.auc)} of the time. Youden's J peaks at **{at_youden['j']:.2f}** at score "
                f"{at_youden['cut']:.4f}; the Youden button sets the threshold to **{at_youden['threshold']:.2f}**, "
                f"where recall is {percent(at_youden['recall'])} and the false-positive rate "
                f"{percent(at_youden['fpr'])}. Average precision **{self.average_precision:.3f}** against a "
                f"{percent(base_rate)} base rate of converters.")

    @param.depends("threshold", "cost_per_contact", "value_per_conversion")
    def insight_profit(self) -> str:
        best_t, best_profit = self.profit_optimum()
        best = self._profit_at(best_t).iloc[0]
        current = self._profit_at(self.current_threshold).iloc[0]
        text = (f"At {rupees(self.cost_per_contact)} per contacted lead and {rupees(self.value_per_conversion)} "
                f"per converted lead, profit peaks at **{rupees(best_profit)}** at threshold **{best_t:.2f}** "
                f"(contacting {count(best['contacted'])} leads). The current threshold "
                f"{self.current_threshold:.2f} earns {rupees(current['profit'])}")
        gap = best_profit - current["profit"]
        text += f", {rupees(gap)} less." if gap > 0 else ", the best available."
        youden_t = self.youden_point["threshold"]
        if np.isfinite(youden_t):
            at_youden = self._profit_at(youden_t).iloc[0]
            if np.isclose(youden_t, best_t, atol=0.005):
                text += f" Youden's threshold {youden_t:.2f} agrees with the profit optimum."
            else:
                text += " " + self._versus_youden(best, at_youden, youden_t)
        return text

    def _versus_youden(self, best: pd.Series, at_youden: pd.Series, youden_t: float) -> str:
        """Why the profit optimum and Youden's threshold differ: the leads scored between the two, whose
        conversion rate against the break-even rate (cost ÷ value) decides whether contacting them pays."""
        lower = best["threshold"] < youden_t
        low, high = (best, at_youden) if lower else (at_youden, best)
        between = int(low["contacted"] - high["contacted"])
        text = (f"The profit optimum is {'lower' if lower else 'higher'} than Youden's threshold {youden_t:.2f} "
                f"({rupees(at_youden['profit'])}), which weighs recall against false positives and ignores costs")
        if between <= 0:
            return text + "; both contact the same leads."
        rate = (low["converted_contacted"] - high["converted_contacted"]) / between
        even = self.cost_per_contact / self.value_per_conversion if self.value_per_conversion > 0 else np.inf
        return text + (f": the {count(between)} leads scored between them convert at {percent(rate)}, "
                       f"{'above' if lower else 'below'} the break-even rate of {percent(even)} (cost ÷ value), so "
                       f"contacting them {'adds' if lower else 'would lose'} "
                       f"{rupees(abs(best['profit'] - at_youden['profit']))}.")

    def insight_learning(self) -> str:
        table = self.learning
        if table.empty:
            return ""
        last = table.iloc[-1]
        gap = last["train_score"] - last["validation_score"]
        recent = table.iloc[-3:] if len(table) >= 3 else table
        gain = recent["validation_score"].iloc[-1] - recent["validation_score"].iloc[0]
        added = recent["training_size"].iloc[-1] - recent["training_size"].iloc[0]
        verdict = ("still rising, so more leads should help" if gain > last["validation_score_std"]
                   else "flat within its spread, so more leads alone will help little")
        return (f"With {count(last['training_size'])} training leads the validation score is "
                f"**{last['validation_score']:.2f}** (± {last['validation_score_std']:.2f}) against "
                f"{last['train_score']:.2f} on training: a gap of {gap:.2f}. Over the last "
                f"{count(added)} leads added, validation moved {gain:+.2f}: {verdict}.")

    @param.depends("importance_order")
    def insight_importance(self) -> str:
        table = self.importance().sort_values("importance", ascending=False)
        if table.empty:
            return ""
        top = table.head(2)
        share = top["importance"].sum() / table["importance"].sum()
        weak = table.loc[table["importance"] - table["importance_std"] <= 0, "label"].tolist()
        text = (f"{strong(top['label'].iloc[0])} ({top['importance'].iloc[0]:.2f}) and "
                f"{strong(top['label'].iloc[-1])} ({top['importance'].iloc[-1]:.2f}) carry "
                f"{percent(share)} of the total importance; {strong(table['label'].iloc[-1])} "
                f"({table['importance'].iloc[-1]:.2f}) the least.")
        if weak:
            text += f" Within one std of zero: {', '.join(map(escape_markdown, weak))}."
        return text

    @param.depends("retrained_with")
    def insight_retrain(self) -> str:
        if self.retrain_blocker:
            return self.retrain_blocker
        if self.retrained_with is None:
            return ("Retrain to refit a model on the lead features with 5-fold cross-validation and compare "
                    "its out-of-fold ROC with the file's predictions.")
        result = self.retrained(self.retrained_with)
        diff = result["oof_auc"] - self.auc
        if abs(diff) <= result["auc_std"]:
            verdict = (f"a difference of {diff:+.3f}, within the fold-to-fold spread (± {result['auc_std']:.3f}): "
                       "neither model is clearly better")
        elif diff > 0:
            verdict = f"it **beats** the file's predictions by {diff:.3f}, more than the fold spread"
        else:
            verdict = f"the file's predictions **beat** it by {-diff:.3f}, more than the fold spread"
        top = feature_labels(result["importance"].head(2)["feature"])
        return (f"Retrained {MODEL_LABELS[self.retrained_with].lower()}: out-of-fold AUC "
                f"**{result['oof_auc']:.3f}** (fold mean {result['auc_mean']:.3f} ± {result['auc_std']:.3f}) "
                f"vs **{self.auc:.3f}** for the file's predictions; {verdict}. Its strongest features "
                f"(permutation importance): {', '.join(map(escape_markdown, top))}.")

    # -- layout ----------------------------------------------------------------------------------
    def layout(self) -> pn.viewable.Viewable:
        threshold = pn.widgets.FloatSlider.from_param(self.param.threshold, label="Probability threshold",
                                                      format="0.00", sizing_mode="stretch_width")
        youden_t = self.youden_point["threshold"]
        to_youden = pn.widgets.Button(label=f"Youden ({youden_t:.2f})", color="light",
                                      disabled=not np.isfinite(youden_t))
        to_youden.on_click(lambda event: setattr(self, "threshold", youden_t))
        to_profit = pn.widgets.Button(label="Profit optimum", color="light")
        to_profit.on_click(lambda event: setattr(self, "threshold", self.profit_optimum()[0]))

        retrain = pn.widgets.Button(label="Retrain and compare", color="primary", width=200,
                                    disabled=bool(self.retrain_blocker))

        async def run_retrain(event) -> None:
            # Fitting can take seconds: off the event loop, so the busy button renders meanwhile.
            retrain.loading = True
            try:
                await asyncio.to_thread(self.retrained, self.retrain_model)
                self.retrained_with = self.retrain_model
            finally:
                retrain.loading = False

        retrain.on_click(run_retrain)
        model_choice = pn.widgets.Select.from_param(self.param.retrain_model, label="Model", width=200)

        description = ("How well the lead-scoring model ranks leads, and which probability threshold to "
                       "contact them at. The threshold moves the confusion matrix, the metrics and the "
                       "points marked on the ROC, precision-recall and profit curves.")
        return pn.Column(
            section_header(self, description),
            _card("Threshold", pn.Row(
                pn.Column(threshold, pn.Row(markdown("Set to:", align="center"), to_youden, to_profit),
                          html(self.metrics_html),
                          insight(self.insight_threshold), sizing_mode="stretch_width"),
                chart(self.plot_confusion, height=330),
            )),
            _card("Ranking quality", pn.Column(
                pn.Row(_marked_chart(self.plot_roc, self.roc_marker, framewise=False, **ROC_OPTIONS),
                       _marked_chart(self.plot_pr, self.pr_marker, framewise=False, **PR_OPTIONS)),
                insight(self.insight_curves()),
                pn.Row(model_choice, retrain, align="end"),
                insight(self.insight_retrain),
            )),
            self.cards_later(self._cards_below),
            sizing_mode="stretch_width",
        )

    def _cards_below(self) -> list[pn.viewable.Viewable]:
        """The views below the first screen: the cost-aware threshold, the learning curve, feature importance."""
        costs = pn.Row(
            pn.widgets.FloatInput.from_param(self.param.cost_per_contact, label="Cost per contacted lead (₹)",
                                             start=0, width=220),
            pn.widgets.FloatInput.from_param(self.param.value_per_conversion, label="Value per converted lead (₹)",
                                             start=0, width=220),
        )
        return [
            _card("Cost-aware threshold", pn.Column(
                costs, _marked_chart(self.plot_profit, self.profit_marker, **PROFIT_OPTIONS),
                insight(self.insight_profit))),
            pn.Row(
                _card("Learning curve", pn.Column(
                    pn.widgets.Checkbox.from_param(self.param.show_std_bands, label="Show ±1 std bands"),
                    self._table_or_notice("learning_curve", self.plot_learning), insight(self.insight_learning()))),
                _card("Feature importance", pn.Column(
                    pn.Row(pn.widgets.RadioButtonGroup.from_param(self.param.importance_order, color="light"),
                           pn.widgets.Checkbox.from_param(self.param.show_error_bars, label="Show ±1 std error bars",
                                                          align="center")),
                    self._table_or_notice("feature_importance", self.plot_importance),
                    insight(self.insight_importance))),
            ),
        ]

    def _table_or_notice(self, table: str, plot_fn) -> pn.viewable.Viewable:
        return chart(plot_fn) if self.store.has(table) else notice(self.missing_message(table), "warning")


def _marker(point: pd.DataFrame, kdims: list, tooltips: list) -> hv.Points:
    """The current operating point on a curve."""
    return hv.Points(point, kdims, [THRESHOLD], label="Current threshold").opts(
        color=MARKER_COLOUR, size=12, line_color="black", **_hover(tooltips))


def _hover(tooltips: list) -> dict:
    # house_opts on an Overlay adds no hover to its layers: each layer asks for its own.
    return {"tools": ["hover"], "hover_tooltips": tooltips}


def _ratio(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:.3f}"


def _marked_chart(plot_fn, marker_fn, framewise: bool = True, height: int = 380, **options) -> pn.pane.HoloViews:
    """`chart` of curves overlaid with a threshold marker from its own DynamicMap (updated alone)."""
    marked = house_opts(hv.DynamicMap(plot_fn) * hv.DynamicMap(marker_fn), **options)
    if not framewise:   # keeps a zoom while the threshold moves
        marked = marked.opts(*framewise_options(False))
    return holoviews_pane(marked, min_height=height)


def _card(title: str, body) -> pn.Card:
    return pn.Card(body, title=title, collapsible=False, sizing_mode="stretch_width", margin=(8, 4))
