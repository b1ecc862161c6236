"""Lead-scoring evaluation against hand-worked cases and scikit-learn."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    accuracy_score, average_precision_score, confusion_matrix, f1_score, precision_recall_curve,
    precision_score, recall_score, roc_auc_score, roc_curve,
)
from sklearn.model_selection import StratifiedKFold, cross_val_score

from novamart_panel.analytics import classification as clf

from conftest import REFERENCE_DIR

REFERENCE_LEADS = REFERENCE_DIR / "lead_scoring_results.csv"

# Six leads, worked by hand: sorted by score, labels 1 1 0 1 0 0.
SIX_LABELS = np.array([1, 1, 0, 1, 0, 0])
SIX_SCORES = np.array([0.9, 0.8, 0.7, 0.4, 0.3, 0.1])


def _reference_leads() -> pd.DataFrame | None:
    return pd.read_csv(REFERENCE_LEADS) if REFERENCE_LEADS.exists() else None


def _synthetic_leads(rows: int = 400, seed: int = 1) -> pd.DataFrame:
    """A lead table with the contract's columns whose conversion depends on a few features."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: rng.integers(0, 10, rows) for name in clf.LEAD_NUMERIC_FEATURES})
    frame["company_size"] = rng.choice(["Small", "Medium", "Large", "Enterprise"], rows)
    frame["industry"] = rng.choice(["Retail", "Finance", "Healthcare"], rows)
    frame["lead_source"] = rng.choice(["Website", "Referral", "Event"], rows)
    signal = 0.5 * (frame["webinar_attendance"] - 4.5) + 0.3 * (frame["form_submissions"] - 4.5)
    signal += np.where(frame["company_size"] == "Enterprise", 1.0, 0.0)
    frame["actual_converted"] = (rng.random(rows) < 1 / (1 + np.exp(-signal))).astype(int)
    frame["predicted_probability"] = rng.random(rows)
    frame["predicted_class"] = (frame["predicted_probability"] >= 0.5).astype(int)
    return frame


def _scored_datasets() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 2, 500)
    # Scores on a 0.01 grid so thresholds hit scores exactly and the >= convention matters.
    tied_scores = np.round(np.clip(0.3 * labels + rng.random(500) * 0.7, 0, 1), 2)
    datasets = [
        ("random", labels, rng.random(500)),
        ("random-tied", labels, tied_scores),
        ("unbalanced", (rng.random(300) < 0.1).astype(int), rng.random(300)),
    ]
    leads = _reference_leads()
    if leads is not None:
        datasets.append(("reference", leads["actual_converted"].to_numpy(), leads["predicted_probability"].to_numpy()))
    return datasets


SCORED = _scored_datasets()
SCORED_IDS = [name for name, _, _ in SCORED]


@pytest.mark.parametrize(("name", "labels", "scores"), SCORED, ids=SCORED_IDS)
@pytest.mark.parametrize("threshold", [0.0, 0.1, 0.37, 0.5, 0.73, 0.9, 1.0])
def test_threshold_metrics_match_sklearn(name, labels, scores, threshold):
    predicted = (scores >= threshold).astype(int)
    metrics = clf.threshold_metrics(labels, scores, threshold)
    tn, fp, fn, tp = confusion_matrix(labels, predicted, labels=[0, 1]).ravel()
    assert (metrics["tp"], metrics["fp"], metrics["tn"], metrics["fn"]) == (tp, fp, tn, fn)
    np.testing.assert_allclose(metrics["precision"], precision_score(labels, predicted, zero_division=np.nan))
    np.testing.assert_allclose(metrics["recall"], recall_score(labels, predicted, zero_division=np.nan))
    np.testing.assert_allclose(metrics["specificity"], recall_score(1 - labels, 1 - predicted, zero_division=np.nan))
    np.testing.assert_allclose(metrics["f1"], f1_score(labels, predicted, zero_division=np.nan))
    np.testing.assert_allclose(metrics["accuracy"], accuracy_score(labels, predicted))
    np.testing.assert_allclose(metrics["contact_rate"], predicted.mean())
    np.testing.assert_allclose(metrics["fpr"], 1 - metrics["specificity"])


def test_six_leads_by_hand():
    metrics = clf.threshold_metrics(SIX_LABELS, SIX_SCORES, 0.5)
    assert (metrics["tp"], metrics["fp"], metrics["tn"], metrics["fn"]) == (2, 1, 2, 1)
    for key in ("precision", "recall", "specificity", "f1", "accuracy"):
        assert metrics[key] == pytest.approx(2 / 3)
    assert metrics["contact_rate"] == pytest.approx(0.5)
    # A threshold equal to a score contacts that lead (score >= threshold).
    at_score = clf.threshold_metrics(SIX_LABELS, SIX_SCORES, 0.4)
    assert (at_score["tp"], at_score["fp"], at_score["tn"], at_score["fn"]) == (3, 1, 2, 0)
    assert at_score["recall"] == 1.0 and at_score["precision"] == pytest.approx(0.75)


def test_reference_predicted_class_reproduced_at_one_half():
    leads = _reference_leads()
    if leads is None:
        leads = _synthetic_leads()
    actual, predicted = leads["actual_converted"], leads["predicted_class"]
    metrics = clf.threshold_metrics(actual, leads["predicted_probability"], 0.5)
    assert metrics["tp"] == int(((actual == 1) & (predicted == 1)).sum())
    assert metrics["fp"] == int(((actual == 0) & (predicted == 1)).sum())
    assert metrics["tn"] == int(((actual == 0) & (predicted == 0)).sum())
    assert metrics["fn"] == int(((actual == 1) & (predicted == 0)).sum())
    assert metrics["contact_rate"] == pytest.approx(predicted.mean())


def test_threshold_above_every_score_leaves_precision_undefined():
    metrics = clf.threshold_metrics(SIX_LABELS, SIX_SCORES, 0.95)
    assert np.isnan(metrics["precision"])
    assert metrics["recall"] == 0.0 and metrics["f1"] == 0.0 and metrics["contact_rate"] == 0.0
    assert metrics["specificity"] == 1.0 and metrics["accuracy"] == pytest.approx(0.5)


def test_single_class_and_empty_inputs_give_nan_not_errors():
    all_converted = clf.threshold_metrics([1, 1, 1], [0.2, 0.6, 0.9], 0.5)
    assert np.isnan(all_converted["specificity"]) and np.isnan(all_converted["fpr"])
    assert all_converted["recall"] == pytest.approx(2 / 3) and all_converted["precision"] == 1.0
    none_converted = clf.threshold_metrics([0, 0, 0], [0.2, 0.6, 0.9], 0.5)
    assert np.isnan(none_converted["recall"]) and none_converted["precision"] == 0.0
    assert np.isnan(clf.threshold_metrics([0, 0], [0.1, 0.2], 0.5)["f1"])
    empty = clf.threshold_metrics([], [], 0.5)
    assert (empty["tp"], empty["fp"], empty["tn"], empty["fn"]) == (0, 0, 0, 0)
    assert np.isnan(empty["accuracy"]) and np.isnan(empty["contact_rate"])

    assert np.isnan(clf.roc_auc([1, 1], [0.2, 0.7])) and clf.roc_curve_table([1, 1], [0.2, 0.7]).empty
    assert clf.youden_threshold([0, 0], [0.2, 0.7]) == pytest.approx((np.nan, np.nan), nan_ok=True)
    assert np.isnan(clf.average_precision([0, 0], [0.2, 0.7])) and clf.pr_curve_table([0, 0], [0.2, 0.7]).empty
    assert clf.average_precision([1, 1], [0.2, 0.7]) == 1.0


@pytest.mark.parametrize(
    ("labels", "scores", "message"),
    [([1, 0], [0.5], "must match"), ([1, 2], [0.1, 0.2], "0/1"), ([1, 0], [0.1, np.nan], "finite")],
)
def test_invalid_inputs_are_rejected_with_a_reason(labels, scores, message):
    with pytest.raises(ValueError, match=message):
        clf.threshold_metrics(labels, scores, 0.5)


def test_confusion_table_counts_and_percent():
    table = clf.confusion_table(clf.threshold_metrics(SIX_LABELS, SIX_SCORES, 0.5))
    cells = table.set_index(["actual", "predicted"])
    assert cells.loc[("Converted", "Converted"), "count"] == 2
    assert cells.loc[("Converted", "Not converted"), "outcome"] == "FN"
    assert cells.loc[("Not converted", "Converted"), "count"] == 1
    assert cells.loc[("Not converted", "Not converted"), "percent"] == pytest.approx(100 * 2 / 6)
    assert table["percent"].sum() == pytest.approx(100)
    matrix = table.pivot(index="actual", columns="predicted", values="count")
    np.testing.assert_array_equal(matrix.to_numpy()[::-1, ::-1], confusion_matrix(SIX_LABELS, SIX_SCORES >= 0.5))


@pytest.mark.parametrize(("name", "labels", "scores"), SCORED, ids=SCORED_IDS)
def test_threshold_sweep_equals_threshold_metrics(name, labels, scores):
    sweep = clf.threshold_sweep(labels, scores)
    grid = np.round(np.arange(101) / 100, 2)
    np.testing.assert_array_equal(sweep["threshold"], grid)
    expected = pd.DataFrame([clf.threshold_metrics(labels, scores, t) for t in grid])
    pd.testing.assert_frame_equal(sweep, expected, check_dtype=False)
    assert not np.isinf(sweep.select_dtypes("number").to_numpy()).any()
    custom = clf.threshold_sweep(labels, scores, thresholds=[0.95, 0.05, 2.0, -1.0])
    assert custom.iloc[2]["tp"] + custom.iloc[2]["fp"] == 0 and custom.iloc[3]["contact_rate"] == 1.0


@pytest.mark.parametrize(("name", "labels", "scores"), SCORED, ids=SCORED_IDS)
def test_roc_matches_sklearn_and_each_point_holds_at_its_threshold(name, labels, scores):
    table = clf.roc_curve_table(labels, scores)
    fpr, tpr, thresholds = roc_curve(labels, scores)
    np.testing.assert_allclose(table["fpr"], fpr)
    np.testing.assert_allclose(table["tpr"], tpr)
    np.testing.assert_allclose(table["threshold"].iloc[1:], thresholds[1:])
    assert np.isfinite(table["threshold"]).all() and table["threshold"].iloc[0] > scores.max()
    for row in table.itertuples():
        metrics = clf.threshold_metrics(labels, scores, row.threshold)
        assert (metrics["fpr"], metrics["recall"]) == pytest.approx((row.fpr, row.tpr))
    auc = clf.roc_auc(labels, scores)
    assert auc == pytest.approx(roc_auc_score(labels, scores))
    assert auc == pytest.approx(np.trapezoid(table["tpr"], table["fpr"]))


@pytest.mark.parametrize(("name", "labels", "scores"), SCORED, ids=SCORED_IDS)
def test_pr_curve_and_average_precision_match_sklearn(name, labels, scores):
    table = clf.pr_curve_table(labels, scores)
    precision, recall, thresholds = precision_recall_curve(labels, scores, drop_intermediate=True)
    np.testing.assert_allclose(table["precision"], precision[::-1])
    np.testing.assert_allclose(table["recall"], recall[::-1])
    np.testing.assert_allclose(table["threshold"].iloc[1:], thresholds[::-1])
    first = table.iloc[0]
    assert (first["recall"], first["precision"]) == (0.0, 1.0) and first["threshold"] > scores.max()
    for row in table.iloc[1:].itertuples():
        metrics = clf.threshold_metrics(labels, scores, row.threshold)
        assert (metrics["precision"], metrics["recall"]) == pytest.approx((row.precision, row.recall))
    assert clf.average_precision(labels, scores) == pytest.approx(average_precision_score(labels, scores))


def test_nobody_contacted_threshold_stays_above_a_top_score_of_one():
    table = clf.roc_curve_table([0, 1, 1], [0.2, 0.5, 1.0])
    assert table["threshold"].iloc[0] > 1.0 and np.isfinite(table["threshold"].iloc[0])
    assert clf.roc_curve_table([0, 1], [0.2, 0.5])["threshold"].iloc[0] == 1.0


def test_youden_by_hand_prefers_the_higher_threshold_on_ties():
    # J = tpr - fpr: 0.8 → 1/3, 0.6 → 2/3, 0.4 → 1/3, 0.3 → 2/3, 0.2 → 1/3, 0.1 → 0.
    labels = [0, 0, 1, 0, 1, 1]
    scores = [0.1, 0.2, 0.3, 0.4, 0.6, 0.8]
    threshold, j = clf.youden_threshold(labels, scores)
    assert threshold == 0.6 and j == pytest.approx(2 / 3)


@pytest.mark.parametrize(("name", "labels", "scores"), SCORED, ids=SCORED_IDS)
def test_youden_is_the_best_threshold_by_brute_force(name, labels, scores):
    candidates = clf.threshold_sweep(labels, scores, thresholds=np.unique(scores))
    _, j = clf.youden_threshold(labels, scores)
    assert j == pytest.approx((candidates["recall"] - candidates["fpr"]).max())


def test_profit_by_hand():
    # Contacting the top k of labels 1 0 1 0 0 at cost 10, value 30: profit 0, 20, 10, 30, 20, 10.
    labels = [1, 0, 1, 0, 0]
    scores = [0.9, 0.8, 0.6, 0.3, 0.1]
    table = clf.expected_profit(labels, scores, 10, 30, thresholds=[0.95, 0.9, 0.7, 0.5, 0.2, 0.0])
    assert table["contacted"].tolist() == [0, 1, 2, 3, 4, 5]
    assert table["converted_contacted"].tolist() == [0, 1, 1, 2, 2, 2]
    assert table["profit"].tolist() == [0, 20, 10, 30, 20, 10]
    assert clf.profit_optimal_threshold(labels, scores, 10, 30) == (0.6, 30.0)
    # On the slider grid every threshold in (0.3, 0.6] earns 30; the highest contacts fewest.
    assert clf.profit_optimal_threshold(labels, scores, 10, 30, thresholds=np.arange(101) / 100) == (0.6, 30.0)
    assert len(clf.expected_profit(labels, scores, 10, 30)) == 101
    # When each contact costs more than a conversion is worth, contact nobody.
    threshold, profit = clf.profit_optimal_threshold(labels, scores, 40, 30)
    assert threshold > 0.9 and profit == 0.0


@pytest.mark.parametrize(("name", "labels", "scores"), SCORED, ids=SCORED_IDS)
def test_profit_optimum_by_brute_force(name, labels, scores):
    candidates = clf.threshold_sweep(labels, scores, thresholds=np.unique(scores))
    brute_force = (50 * candidates["tp"] - 12 * (candidates["tp"] + candidates["fp"])).max()
    threshold, profit = clf.profit_optimal_threshold(labels, scores, 12, 50)
    assert profit == pytest.approx(max(brute_force, 0.0))
    metrics = clf.threshold_metrics(labels, scores, threshold)
    assert 50 * metrics["tp"] - 12 * (metrics["tp"] + metrics["fp"]) == pytest.approx(profit)


def _lead_frames() -> list[tuple[str, pd.DataFrame]]:
    frames = [("synthetic", _synthetic_leads())]
    leads = _reference_leads()
    if leads is not None:
        frames.append(("reference", leads))
    return frames


LEAD_FRAMES = _lead_frames()


@pytest.mark.parametrize(("name", "frame"), LEAD_FRAMES, ids=[name for name, _ in LEAD_FRAMES])
def test_retrained_logistic_model_is_cross_validated_and_deterministic(name, frame):
    result = clf.retrain_lead_model(frame, folds=5, seed=3)
    probability = result["probability"]
    assert probability.shape == (len(frame),) and np.isfinite(probability).all()
    assert ((probability >= 0) & (probability <= 1)).all()
    assert result["auc_mean"] > 0.6 and result["oof_auc"] > 0.6
    assert result["oof_auc"] == pytest.approx(roc_auc_score(frame["actual_converted"], probability))

    features = list(clf.LEAD_NUMERIC_FEATURES + clf.LEAD_CATEGORICAL_FEATURES)
    reference_auc = cross_val_score(
        result["pipeline"], frame[features], frame["actual_converted"],
        cv=StratifiedKFold(n_splits=5, shuffle=True, random_state=3), scoring="roc_auc",
    )
    np.testing.assert_allclose(result["fold_auc"], reference_auc)
    assert result["auc_std"] == pytest.approx(reference_auc.std())

    importance = result["importance"]
    assert sorted(importance["feature"]) == sorted(features) == sorted(result["feature_columns"])
    assert importance["importance"].is_monotonic_decreasing and (importance["importance_std"] >= 0).all()

    again = clf.retrain_lead_model(frame, folds=5, seed=3)
    np.testing.assert_array_equal(again["probability"], probability)
    pd.testing.assert_frame_equal(again["importance"], importance)
    other_seed = clf.retrain_lead_model(frame, folds=5, seed=4)
    assert not np.array_equal(other_seed["probability"], probability)


@pytest.mark.parametrize(("name", "frame"), LEAD_FRAMES, ids=[name for name, _ in LEAD_FRAMES])
def test_retrained_gradient_boosting_model(name, frame):
    result = clf.retrain_lead_model(frame, folds=3, seed=0, model="gradient_boosting")
    assert result["probability"].shape == (len(frame),) and np.isfinite(result["probability"]).all()
    assert len(result["fold_auc"]) == 3 and result["auc_mean"] > 0.6
    # The synthetic signal lives in webinar_attendance, form_submissions and company_size.
    if name == "synthetic":
        assert set(result["importance"]["feature"].head(3)) == {"webinar_attendance", "form_submissions", "company_size"}


def test_retrain_rejects_leaky_or_missing_columns():
    frame = _synthetic_leads(rows=60)
    with pytest.raises(ValueError, match="must not include"):
        clf.retrain_lead_model(frame, feature_columns=["website_visits", "predicted_probability"])
    with pytest.raises(ValueError, match="no column"):
        clf.retrain_lead_model(frame.drop(columns="industry"))
    with pytest.raises(ValueError, match="model must be"):
        clf.retrain_lead_model(frame, model="forest")
    with pytest.raises(ValueError, match="at least 5"):
        clf.retrain_lead_model(frame.assign(actual_converted=[1] * 58 + [0, 0]))
