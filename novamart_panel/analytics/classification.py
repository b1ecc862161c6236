"""Lead-scoring model evaluation (SPEC §4.7): threshold metrics, ROC / PR curves, profit, retraining.

Conventions shared by every function:
- a lead is predicted positive (contacted) when its score is >= the threshold, as in the data's
  ``predicted_class = predicted_probability >= 0.5``;
- a ratio whose denominator is zero (e.g. precision when nobody is contacted) is NaN, never an error or inf;
- curve thresholds are finite: the "nobody contacted" point, for which scikit-learn reports ``inf``, gets
  ``max(1.0, the next float above the top score)``, so every row holds at that threshold.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

LEAD_NUMERIC_FEATURES: tuple[str, ...] = (
    "website_visits", "pages_viewed", "time_on_site_seconds", "email_opens", "email_clicks",
    "form_submissions", "content_downloads", "webinar_attendance", "days_since_first_touch",
)
LEAD_CATEGORICAL_FEATURES: tuple[str, ...] = ("company_size", "industry", "lead_source")
METRIC_COLUMNS: tuple[str, ...] = (
    "threshold", "tp", "fp", "tn", "fn", "precision", "recall", "specificity", "fpr", "f1", "accuracy",
    "contact_rate",
)
COUNT_COLUMNS = ("tp", "fp", "tn", "fn")
MODELS = ("logistic", "gradient_boosting")


def _labels_and_scores(y_true, y_score) -> tuple[np.ndarray, np.ndarray]:
    """Validate and return (boolean labels, float scores)."""
    labels = np.asarray(y_true).ravel()
    scores = np.asarray(y_score, dtype=float).ravel()
    if labels.shape != scores.shape:
        raise ValueError(f"y_true has {labels.size} values but y_score has {scores.size}; they must match")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("y_true must hold only 0/1 (or False/True) labels")
    if not np.isfinite(scores).all():
        raise ValueError("y_score holds NaN or infinite values; every lead needs a finite score")
    return labels.astype(bool), scores


def _default_thresholds() -> np.ndarray:
    return np.round(np.arange(101) / 100, 2)


def _threshold_above(scores: np.ndarray) -> float:
    """A finite threshold at which nobody is contacted."""
    top = scores.max() if scores.size else 0.0
    return float(max(1.0, np.nextafter(top, np.inf)))


def _has_both_classes(labels: np.ndarray) -> bool:
    return bool(labels.any() and not labels.all())


def _safe_ratio(numerator, denominator):
    """numerator / denominator, NaN where the denominator is zero (element-wise)."""
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    out = np.full(np.broadcast(numerator, denominator).shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def _metrics_from_counts(thresholds, tp, fp, tn, fn) -> dict[str, np.ndarray]:
    """Every metric of `METRIC_COLUMNS` from confusion counts (scalars or arrays)."""
    total = tp + fp + tn + fn
    specificity = _safe_ratio(tn, tn + fp)
    return {
        "threshold": np.asarray(thresholds, dtype=float),
        "tp": tp, "fp": fp, "tn": tn, "fn": fn,
        "precision": _safe_ratio(tp, tp + fp),
        "recall": _safe_ratio(tp, tp + fn),
        "specificity": specificity,
        "fpr": 1.0 - specificity,
        "f1": _safe_ratio(2 * tp, 2 * tp + fp + fn),
        "accuracy": _safe_ratio(tp + tn, total),
        "contact_rate": _safe_ratio(tp + fp, total),
    }


def threshold_metrics(y_true, y_score, threshold: float) -> dict:
    """Confusion counts and ratios at one threshold (score >= threshold is predicted positive).

    Keys: `METRIC_COLUMNS`; `fpr` is 1 - specificity and `contact_rate` the share of leads predicted positive.
    """
    labels, scores = _labels_and_scores(y_true, y_score)
    predicted = scores >= threshold
    tp = int(np.count_nonzero(predicted & labels))
    contacted = int(np.count_nonzero(predicted))
    positives = int(np.count_nonzero(labels))
    fp, fn = contacted - tp, positives - tp
    tn = labels.size - contacted - fn
    metrics = _metrics_from_counts(threshold, tp, fp, tn, fn)
    return {key: value if key in COUNT_COLUMNS else float(value) for key, value in metrics.items()}


def confusion_table(metrics: dict) -> pd.DataFrame:
    """Long-form 2×2 confusion matrix (actual, predicted, outcome, count, percent of all leads)."""
    total = sum(metrics[key] for key in COUNT_COLUMNS)
    cells = (
        ("Converted", "Converted", "TP", metrics["tp"]),
        ("Converted", "Not converted", "FN", metrics["fn"]),
        ("Not converted", "Converted", "FP", metrics["fp"]),
        ("Not converted", "Not converted", "TN", metrics["tn"]),
    )
    table = pd.DataFrame(cells, columns=["actual", "predicted", "outcome", "count"])
    table["count"] = table["count"].astype("int64")
    table["percent"] = 100 * _safe_ratio(table["count"].to_numpy(), total)
    return table


def _counts_at(labels: np.ndarray, scores: np.ndarray, thresholds: np.ndarray):
    """(tp, fp, tn, fn) arrays at every threshold from one sort and one cumulative sum."""
    order = np.argsort(scores, kind="stable")
    sorted_scores = scores[order]
    positives_below = np.concatenate(([0], np.cumsum(labels[order])))
    below = np.searchsorted(sorted_scores, thresholds, side="left")  # leads with score < threshold
    positives = positives_below[-1]
    contacted = labels.size - below
    tp = positives - positives_below[below]
    fp = contacted - tp
    fn = positives - tp
    tn = below - fn
    return tp, fp, tn, fn


def _threshold_grid(thresholds) -> np.ndarray:
    return _default_thresholds() if thresholds is None else np.asarray(thresholds, dtype=float).ravel()


def threshold_sweep(y_true, y_score, thresholds=None) -> pd.DataFrame:
    """`threshold_metrics` at every threshold (default 0.00..1.00 step 0.01) in one vectorised pass."""
    labels, scores = _labels_and_scores(y_true, y_score)
    grid = _threshold_grid(thresholds)
    return pd.DataFrame(_metrics_from_counts(grid, *_counts_at(labels, scores, grid)), columns=list(METRIC_COLUMNS))


def _empty_curve(*columns: str) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=float) for name in columns})


def roc_curve_table(y_true, y_score) -> pd.DataFrame:
    """ROC points (fpr, tpr, threshold) from the highest threshold down; empty if y_true holds one class."""
    labels, scores = _labels_and_scores(y_true, y_score)
    if not _has_both_classes(labels):
        return _empty_curve("fpr", "tpr", "threshold")
    fpr, tpr, thresholds = roc_curve(labels, scores)
    thresholds = np.where(np.isinf(thresholds), _threshold_above(scores), thresholds)
    return pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": thresholds})


def roc_auc(y_true, y_score) -> float:
    """Area under the ROC curve; NaN if y_true holds one class."""
    labels, scores = _labels_and_scores(y_true, y_score)
    return float(roc_auc_score(labels, scores)) if _has_both_classes(labels) else float("nan")


def youden_threshold(y_true, y_score) -> tuple[float, float]:
    """(threshold, J) maximising Youden's J = tpr - fpr; the highest such threshold on ties, NaNs if undefined."""
    curve = roc_curve_table(y_true, y_score)
    if curve.empty:
        return float("nan"), float("nan")
    j = (curve["tpr"] - curve["fpr"]).to_numpy()
    # Rounding can split exact ties (2/3 - 0 vs 1 - 1/3), so ties are judged with a tolerance.
    best = int(np.flatnonzero(np.isclose(j, j.max(), rtol=0, atol=1e-12))[0])
    return float(curve["threshold"].iloc[best]), float(j[best])


def pr_curve_table(y_true, y_score) -> pd.DataFrame:
    """Precision-recall points (recall, precision, threshold) from the highest threshold down.

    The first row is scikit-learn's end point (recall 0, precision 1 by convention) at the "nobody
    contacted" threshold. Empty if y_true holds no positive.
    """
    labels, scores = _labels_and_scores(y_true, y_score)
    if not labels.any():
        return _empty_curve("recall", "precision", "threshold")
    precision, recall, thresholds = precision_recall_curve(labels, scores, drop_intermediate=True)
    thresholds = np.append(thresholds, _threshold_above(scores))
    return pd.DataFrame({"recall": recall[::-1], "precision": precision[::-1], "threshold": thresholds[::-1]})


def average_precision(y_true, y_score) -> float:
    """Average precision (area under the step PR curve); NaN if y_true holds no positive."""
    labels, scores = _labels_and_scores(y_true, y_score)
    return float(average_precision_score(labels, scores)) if labels.any() else float("nan")


def expected_profit(
    y_true, y_score, cost_per_contact: float, value_per_conversion: float, thresholds=None,
) -> pd.DataFrame:
    """Profit per threshold: value × converted contacted leads - cost × contacted leads.

    Columns: threshold, contacted, converted_contacted, profit. Default thresholds 0.00..1.00 step 0.01.
    """
    labels, scores = _labels_and_scores(y_true, y_score)
    grid = _threshold_grid(thresholds)
    tp, fp, _, _ = _counts_at(labels, scores, grid)
    return pd.DataFrame({
        "threshold": grid,
        "contacted": tp + fp,
        "converted_contacted": tp,
        "profit": value_per_conversion * tp - cost_per_contact * (tp + fp),
    })


def profit_optimal_threshold(
    y_true, y_score, cost_per_contact: float, value_per_conversion: float, thresholds=None,
) -> tuple[float, float]:
    """(threshold, profit) of the most profitable threshold, the highest one on ties (fewest contacts).

    Without `thresholds`, every distinct score and the "nobody contacted" threshold are searched, which
    gives the exact optimum; pass the slider's grid to stay on it.
    """
    if thresholds is None:
        _, scores = _labels_and_scores(y_true, y_score)
        thresholds = np.append(np.unique(scores), _threshold_above(scores))
    table = expected_profit(y_true, y_score, cost_per_contact, value_per_conversion, thresholds)
    table = table.sort_values("threshold", ascending=False, kind="stable")
    best = table.iloc[int(np.argmax(table["profit"].to_numpy()))]
    return float(best["threshold"]), float(best["profit"])


def _lead_pipeline(numeric: list[str], categorical: list[str], model: str, seed: int) -> Pipeline:
    encoder = ColumnTransformer([
        ("numeric", StandardScaler(), numeric),
        ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
    ])
    if model == "logistic":
        classifier = LogisticRegression(max_iter=1000)
    elif model == "gradient_boosting":
        # Shallow, slow-learning trees: deeper ones overfit a 2,000-lead file (lower out-of-fold AUC).
        classifier = HistGradientBoostingClassifier(
            max_iter=100, learning_rate=0.05, max_depth=3, min_samples_leaf=40, random_state=seed,
        )
    else:
        raise ValueError(f"model must be one of {MODELS}, not {model!r}")
    return Pipeline([("encode", encoder), ("classify", classifier)])


def retrain_lead_model(
    frame: pd.DataFrame,
    feature_columns=None,
    target: str = "actual_converted",
    folds: int = 5,
    seed: int = 0,
    model: str = "logistic",
) -> dict:
    """Cross-validated refit of a lead-conversion model on the lead features.

    `model` is "logistic" (scaled numeric + one-hot categoricals, logistic regression) or
    "gradient_boosting" (histogram gradient boosting on the same encoding). Returns a dict:
    probability (out-of-fold, aligned with `frame` rows), fold_auc (per fold), auc_mean, auc_std,
    oof_auc (AUC of all out-of-fold probabilities), importance (DataFrame feature, importance,
    importance_std: mean drop in ROC AUC when the column is shuffled, on the model refit on all rows,
    sorted descending), feature_columns and pipeline (that refit model).
    """
    features = list(LEAD_NUMERIC_FEATURES + LEAD_CATEGORICAL_FEATURES if feature_columns is None else feature_columns)
    forbidden = {target, "predicted_probability", "predicted_class"} & set(features)
    if forbidden:
        raise ValueError(f"feature_columns must not include the target or predictions: {sorted(forbidden)}")
    missing = [name for name in [*features, target] if name not in frame.columns]
    if missing:
        raise ValueError(f"the lead table has no column(s) {missing}; expected the lead_scoring_results.csv columns")
    labels = frame[target].to_numpy()
    class_sizes = np.bincount(np.asarray(labels, dtype=int), minlength=2)
    if class_sizes.min() < folds:
        raise ValueError(
            f"{target} has {class_sizes[0]} non-converted and {class_sizes[1]} converted leads; "
            f"each class needs at least {folds} for {folds}-fold cross-validation"
        )
    inputs = frame[features]
    numeric = [name for name in features if pd.api.types.is_numeric_dtype(inputs[name])]
    categorical = [name for name in features if name not in numeric]
    pipeline = _lead_pipeline(numeric, categorical, model, seed)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)

    probability = cross_val_predict(pipeline, inputs, labels, cv=splitter, method="predict_proba")[:, 1]
    fold_auc = np.array([
        roc_auc_score(labels[test], probability[test]) for _, test in splitter.split(inputs, labels)
    ])

    pipeline.fit(inputs, labels)
    shuffled = permutation_importance(
        pipeline, inputs, labels, scoring="roc_auc", n_repeats=5, random_state=seed,
    )
    importance = pd.DataFrame({
        "feature": features,
        "importance": shuffled.importances_mean,
        "importance_std": shuffled.importances_std,
    }).sort_values("importance", ascending=False, ignore_index=True)
    return {
        "probability": probability,
        "fold_auc": fold_auc,
        "auc_mean": float(fold_auc.mean()),
        "auc_std": float(fold_auc.std()),
        "oof_auc": float(roc_auc_score(labels, probability)),
        "importance": importance,
        "feature_columns": features,
        "pipeline": pipeline,
    }


_UNIT_SUFFIXES = {"seconds": "s", "minutes": "min", "days": "days", "pct": "%", "percent": "%"}


def feature_label(name: str) -> str:
    """A model feature as people read it: 'webinar_attendance' → 'Webinar attendance',
    'company_size_encoded' → 'Company size', 'time_on_site_seconds' → 'Time on site (s)'."""
    words = [w for w in str(name).replace("-", "_").split("_") if w]
    if len(words) > 1 and words[-1].lower() == "encoded":
        words = words[:-1]
    unit = ""
    if len(words) > 1 and words[-1].lower() in _UNIT_SUFFIXES:
        unit = f" ({_UNIT_SUFFIXES[words.pop().lower()]})"
    text = " ".join(words)
    return (text[:1].upper() + text[1:] + unit) if text else str(name)


def feature_labels(names) -> list[str]:
    """`feature_label` of each name, the raw name added where two would read the same."""
    labels = [feature_label(n) for n in names]
    return [f"{label} ({name})" if labels.count(label) > 1 else label for label, name in zip(labels, names)]
