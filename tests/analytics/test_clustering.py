"""K-means model selection against scikit-learn's metrics and on data whose clusters are known."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score, calinski_harabasz_score, davies_bouldin_score, silhouette_score

from novamart_panel.analytics import clustering as cl


@pytest.fixture(scope="module")
def blobs():
    values, truth = make_blobs(n_samples=1200, centers=4, n_features=3, cluster_std=0.6, random_state=7)
    return values, truth


@pytest.fixture(scope="module")
def blob_metrics(blobs):
    return cl.k_selection(blobs[0], ks=range(2, 7))


def test_prepare_features_logs_drops_correlated_and_constant_and_standardises():
    rng = np.random.default_rng(0)
    spend = rng.lognormal(8, 1, 500)
    frame = pd.DataFrame({"spend": spend, "spend_twice": 2 * spend + rng.normal(0, 1, 500),
                          "visits": rng.poisson(5, 500), "constant": np.ones(500)})
    matrix = cl.prepare_features(frame, log_columns=["spend", "spend_twice", "absent"])
    assert matrix.names == ("spend", "visits")
    dropped = {name: partner for name, partner, _ in matrix.dropped}
    assert dropped == {"spend_twice": "spend", "constant": ""}
    assert matrix.logged == ("spend", "spend_twice")
    np.testing.assert_allclose(matrix.values.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(matrix.values.std(axis=0), 1)
    np.testing.assert_allclose(matrix.values[:, 0], (np.log1p(spend) - np.log1p(spend).mean()) / np.log1p(spend).std())


def test_k_selection_metrics_equal_scikit_learns(blobs, blob_metrics):
    values, _ = blobs
    assert blob_metrics["k"].tolist() == [2, 3, 4, 5, 6]
    # Refit the same model (same seed) and score it with scikit-learn directly.
    labels = cl._kmeans(4, 0).fit(values).labels_
    row = blob_metrics.set_index("k").loc[4]
    assert row["calinski_harabasz"] == pytest.approx(calinski_harabasz_score(values, labels))
    assert row["davies_bouldin"] == pytest.approx(davies_bouldin_score(values, labels))
    assert row["silhouette"] == pytest.approx(silhouette_score(values, labels, sample_size=cl.SILHOUETTE_SAMPLE,
                                                               random_state=0))


def test_the_true_k_is_chosen_and_explained(blob_metrics):
    k, reason = cl.choose_k(blob_metrics)
    assert k == 4
    assert reason.startswith("k = 4 has the highest silhouette")
    assert "Calinski-Harabasz" in reason
    row = blob_metrics.set_index("k").loc[4]
    assert row["stability"] > 0.95


def test_choose_k_without_a_stable_k_takes_the_most_stable():
    metrics = pd.DataFrame({"k": [2, 3, 4], "silhouette": [0.2, 0.5, 0.3], "calinski_harabasz": [10, 30, 20],
                            "davies_bouldin": [1.5, 1.0, 1.2], "stability": [0.4, 0.6, 0.7]})
    k, reason = cl.choose_k(metrics)
    assert k == 4
    assert reason.startswith("no k reaches the stability bar")
    assert "Calinski-Harabasz prefers k = 3 and Davies-Bouldin k = 3" in reason
    stable = metrics.assign(stability=[0.9, 0.8, 0.95])
    assert cl.choose_k(stable)[0] == 3


def test_stability_is_high_for_real_clusters_and_low_for_noise(blobs):
    values, _ = blobs
    assert cl.stability(values, 4) > 0.95
    noise = np.random.default_rng(1).normal(size=(1200, 3))
    assert cl.stability(noise, 6) < 0.9


def test_fit_clusters_recovers_the_blobs_and_orders_them_by_spend(blobs):
    values, truth = blobs
    spend = truth * 100.0                     # blob 3 spends most
    clustering = cl.fit_clusters(values, 4, spend)
    assert adjusted_rand_score(truth, clustering.labels) > 0.99
    assert sorted(set(clustering.labels)) == [1, 2, 3, 4]
    means = pd.Series(spend).groupby(clustering.labels).mean()
    assert means.is_monotonic_decreasing            # cluster 1 = highest mean spend
    assert clustering.centres.shape == (4, 3)


def test_large_inputs_are_selected_and_fitted_on_a_sample(monkeypatch, blobs):
    values, truth = blobs
    monkeypatch.setattr(cl, "SELECTION_SAMPLE", 300)
    rows = cl.selection_sample(len(values), size=300)
    assert len(rows) == 300 and np.array_equal(rows, cl.selection_sample(len(values), size=300))
    clustering = cl.fit_clusters(values, 4, truth)
    assert len(clustering.labels) == len(values)        # every row assigned, not only the sample
    assert adjusted_rand_score(truth, clustering.labels) > 0.95


def test_profiles_descriptions_and_projection(blobs):
    values, truth = blobs
    profile = cl.cluster_profiles(truth + 1, pd.DataFrame({"spend": truth * 10.0}))
    assert profile["cluster"].tolist() == [1, 2, 3, 4]
    assert profile["customers"].sum() == len(truth)
    assert profile["share"].sum() == pytest.approx(1.0)
    assert profile["spend"].tolist() == [0.0, 10.0, 20.0, 30.0]
    words = cl.describe_clusters(np.array([[1.2, -0.1, -0.5], [0.0, 0.1, 0.0]]), ["spend", "visits", "recency"])
    assert words == ["high spend, low recency", "close to average"]
    rows = cl.plot_rows(len(values), size=100)
    projected, explained = cl.principal_components(values, rows)
    assert projected.shape == (100, 2)
    assert 0 < explained[1] <= explained[0] < 1
