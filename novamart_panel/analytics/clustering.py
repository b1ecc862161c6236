"""K-means segmentation with model selection over k (SPEC §4.9).

Pipeline: skewed money and count features are log-transformed, features correlated above
`CORRELATION_LIMIT` with one kept earlier are dropped, the rest are standardised. Model selection runs
MiniBatchKMeans for each k on a fixed random sample (at most `SELECTION_SAMPLE` customers) and scores it by
silhouette (on at most `SILHOUETTE_SAMPLE` of them), Calinski-Harabasz, Davies-Bouldin, and stability: the
adjusted Rand index between the clusterings of two random 80 % subsamples (each fitted with its own seed),
compared on the whole selection sample, averaged over `STABILITY_REPEATS` pairs. The final model for a k is fitted
on the selection sample and assigns every customer to the nearest centre, so a million customers cost one pass.
Cluster numbers are ordered by mean spend (1 = highest), so they do not depend on the seed.
Fits run single-threaded (`threadpool_limits(1)`): on a busy server, OpenMP threads contending for a few cores
made a fit a hundred times slower, and parallelism buys nothing at these sample sizes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import MiniBatchKMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, calinski_harabasz_score, davies_bouldin_score, silhouette_score
from threadpoolctl import threadpool_limits

K_RANGE = tuple(range(2, 9))
CORRELATION_LIMIT = 0.85
SELECTION_SAMPLE = 10_000
SILHOUETTE_SAMPLE = 3_000
STABILITY_REPEATS = 3
SUBSAMPLE_SHARE = 0.8
STABLE_ARI = 0.75      # a k is "stable" when its mean adjusted Rand index reaches this
PLOT_SAMPLE = 4_000    # customers drawn in the cluster scatter at most
METRICS = ("silhouette", "calinski_harabasz", "davies_bouldin", "stability")
METRIC_LABELS = {"silhouette": "Silhouette (higher is better)", "calinski_harabasz": "Calinski-Harabasz (higher is better)",
                 "davies_bouldin": "Davies-Bouldin (lower is better)", "stability": "Stability, mean ARI (higher is better)"}


@dataclass(frozen=True)
class FeatureMatrix:
    """Standardised features (rows = customers) with the names kept and the ones dropped, and why."""

    values: np.ndarray
    names: tuple[str, ...]
    dropped: tuple[tuple[str, str, float], ...]   # (dropped, correlated with, |r|)
    logged: tuple[str, ...]
    means: np.ndarray
    scales: np.ndarray


def prepare_features(frame: pd.DataFrame, log_columns=(), limit: float = CORRELATION_LIMIT) -> FeatureMatrix:
    """Log1p the `log_columns`, drop features correlated above `limit` with one kept before them (the frame's column
    order is the priority), and standardise the rest (constant columns are dropped as uninformative)."""
    data = frame.astype(float).copy()
    logged = tuple(c for c in log_columns if c in data)
    for column in logged:
        data[column] = np.log1p(data[column].clip(lower=0))
    if data.isna().any().any():
        data = data.fillna(data.median())
    constant = [c for c in data if not np.nanstd(data[c].to_numpy()) > 0]
    data = data.drop(columns=constant)
    # Correlations from the selection sample: the same answer for any practical purpose, a fraction of the time.
    sample = data.iloc[selection_sample(len(data))]
    correlation = sample.corr().abs().to_numpy() if data.shape[1] else np.zeros((0, 0))
    kept: list[int] = []
    dropped: list[tuple[str, str, float]] = []
    for i, name in enumerate(data.columns):
        partner = next((j for j in kept if correlation[i, j] > limit), None)
        if partner is None:
            kept.append(i)
        else:
            dropped.append((name, data.columns[partner], float(correlation[i, partner])))
    names = tuple(data.columns[i] for i in kept)
    values = data[list(names)].to_numpy()
    means, scales = values.mean(axis=0), values.std(axis=0)
    dropped += [(name, "", 0.0) for name in constant]
    return FeatureMatrix((values - means) / scales, names, tuple(dropped), logged, means, scales)


def _kmeans(k: int, seed: int, n_init: int = 3) -> MiniBatchKMeans:
    return MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=n_init, batch_size=2048, max_iter=200)


def selection_sample(n: int, size: int = SELECTION_SAMPLE, seed: int = 0) -> np.ndarray:
    """Row positions of the fixed random sample model selection and fitting use (all rows when few)."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


def stability(values: np.ndarray, k: int, repeats: int = STABILITY_REPEATS, share: float = SUBSAMPLE_SHARE,
              seed: int = 0) -> float:
    """Mean adjusted Rand index between the clusterings of two random `share` subsamples (own seeds each),
    both applied to all of `values`."""
    rng = np.random.default_rng(seed)
    with threadpool_limits(1):
        return _stability(values, k, repeats, share, rng)


def _stability(values, k, repeats, share, rng) -> float:
    n = len(values)
    scores = []
    for repeat in range(repeats):
        first = rng.choice(n, int(share * n), replace=False)
        second = rng.choice(n, int(share * n), replace=False)
        a = _kmeans(k, 2 * repeat + 1, n_init=1).fit(values[first]).predict(values)
        b = _kmeans(k, 2 * repeat + 2, n_init=1).fit(values[second]).predict(values)
        scores.append(adjusted_rand_score(a, b))
    return float(np.mean(scores))


def k_selection(values: np.ndarray, ks=K_RANGE, seed: int = 0) -> pd.DataFrame:
    """The four metrics for each k (on the selection sample), plus `inertia`."""
    with threadpool_limits(1):
        return _k_selection(values, ks, seed)


def _k_selection(values: np.ndarray, ks, seed: int) -> pd.DataFrame:
    sample = values[selection_sample(len(values), seed=seed)]
    ks = [k for k in ks if 2 <= k < len(sample)]
    rows = []
    for k in ks:
        model = _kmeans(k, seed).fit(sample)
        labels = model.labels_
        if len(np.unique(labels)) < 2:
            rows.append({"k": k, "silhouette": np.nan, "calinski_harabasz": np.nan, "davies_bouldin": np.nan,
                         "stability": np.nan, "inertia": float(model.inertia_)})
            continue
        rows.append({
            "k": k,
            "silhouette": float(silhouette_score(sample, labels, sample_size=min(SILHOUETTE_SAMPLE, len(sample)),
                                                 random_state=seed)),
            "calinski_harabasz": float(calinski_harabasz_score(sample, labels)),
            "davies_bouldin": float(davies_bouldin_score(sample, labels)),
            "stability": _stability(sample, k, STABILITY_REPEATS, SUBSAMPLE_SHARE, np.random.default_rng(seed)),
            "inertia": float(model.inertia_),
        })
    return pd.DataFrame(rows, columns=["k", *METRICS, "inertia"])


def choose_k(metrics: pd.DataFrame, stable_ari: float = STABLE_ARI) -> tuple[int, str]:
    """The k with the highest silhouette among the stable ones (mean ARI >= `stable_ari`; the smaller k on a tie),
    or the most stable k when none is; and why, in words."""
    usable = metrics.dropna(subset=["silhouette", "stability"])
    if usable.empty:
        raise ValueError("no k could be scored: too few distinct customers to cluster")
    stable = usable[usable["stability"] >= stable_ari]
    if len(stable):
        best = stable.sort_values(["silhouette", "k"], ascending=[False, True]).iloc[0]
        reason = (f"k = {int(best['k'])} has the highest silhouette ({best['silhouette']:.2f}) among the k whose clusters "
                  f"are stable across resamples (adjusted Rand index ≥ {stable_ari:.2f}; here {best['stability']:.2f})")
    else:
        best = usable.sort_values(["stability", "k"], ascending=[False, True]).iloc[0]
        reason = (f"no k reaches the stability bar (adjusted Rand index ≥ {stable_ari:.2f}); k = {int(best['k'])} is "
                  f"the most stable ({best['stability']:.2f}), silhouette {best['silhouette']:.2f}")
    k = int(best["k"])
    agree = []
    if int(usable.loc[usable["calinski_harabasz"].idxmax(), "k"]) == k:
        agree.append("Calinski-Harabasz")
    if int(usable.loc[usable["davies_bouldin"].idxmin(), "k"]) == k:
        agree.append("Davies-Bouldin")
    reason += (f"; {' and '.join(agree)} also prefer{'s' if len(agree) == 1 else ''} it" if agree else
               f"; Calinski-Harabasz prefers k = {int(usable.loc[usable['calinski_harabasz'].idxmax(), 'k'])} and "
               f"Davies-Bouldin k = {int(usable.loc[usable['davies_bouldin'].idxmin(), 'k'])}")
    return k, reason + "."


@dataclass(frozen=True)
class Clustering:
    """Cluster numbers (1…k, 1 = highest mean spend) for every row, and the centres in standardised units."""

    k: int
    labels: np.ndarray
    centres: np.ndarray


def fit_clusters(values: np.ndarray, k: int, spend, seed: int = 0) -> Clustering:
    """MiniBatchKMeans with `k` clusters fitted on the selection sample; every row assigned to its nearest centre.
    Clusters are numbered by descending mean `spend`."""
    sample = values[selection_sample(len(values), seed=seed)]
    with threadpool_limits(1):
        model = _kmeans(k, seed).fit(sample)
        raw = model.predict(values)
    spend = np.asarray(spend, dtype=float)
    means = np.array([np.nanmean(spend[raw == c]) if np.any(raw == c) else -np.inf for c in range(k)])
    order = np.argsort(-means, kind="stable")
    relabel = np.empty(k, dtype=np.int64)
    relabel[order] = np.arange(1, k + 1)
    return Clustering(k, relabel[raw], model.cluster_centers_[order])


def describe_clusters(centres: np.ndarray, names, top: int = 2, threshold: float = 0.3) -> list[str]:
    """A short description per cluster from its most distinctive standardised features ("high spend, low recency")."""
    descriptions = []
    for centre in centres:
        order = np.argsort(-np.abs(centre))[:top]
        words = [f"{'high' if centre[i] > 0 else 'low'} {names[i]}" for i in order if abs(centre[i]) >= threshold]
        descriptions.append(", ".join(words) or "close to average")
    return descriptions


def principal_components(values: np.ndarray, rows: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The first two principal components of `values[rows]` (PCA fitted on the selection sample) and the
    share of variance each explains."""
    components = min(2, values.shape[1])
    pca = PCA(n_components=components, random_state=seed).fit(values[selection_sample(len(values), seed=seed)])
    projected = pca.transform(values[rows])
    if components < 2:
        projected = np.column_stack([projected, np.zeros(len(rows))])
    ratio = np.pad(pca.explained_variance_ratio_, (0, 2 - components))
    return projected, ratio


def plot_rows(n: int, size: int = PLOT_SAMPLE, seed: int = 1) -> np.ndarray:
    """A fixed random subset of row positions to draw."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


def cluster_profiles(labels, metrics: pd.DataFrame) -> pd.DataFrame:
    """Per cluster: customers, share and the mean of each column of `metrics` (rows aligned with `labels`)."""
    frame = metrics.reset_index(drop=True).assign(cluster=np.asarray(labels))
    grouped = frame.groupby("cluster", sort=True)
    profile = grouped.mean(numeric_only=True)
    profile.insert(0, "customers", grouped.size())
    profile.insert(1, "share", profile["customers"] / len(frame))
    return profile.reset_index()
