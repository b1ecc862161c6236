"""Mediation: path estimates against statsmodels OLS and a simulated truth; intervals and refusals."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from novamart_panel.analytics import mmm
from novamart_panel.analytics.mediation import EFFECTS, mediation_analysis, ols

A, B, DIRECT = 0.02, 30.0, 4.0       # clicks per ₹ of social spend, ₹ per click, ₹ per ₹ of social spend


def simulated(a: float = A, seed: int = 0, n: int = 500) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-01", periods=n)
    frame = pd.DataFrame({"date": dates, "facebook": rng.gamma(2.0, 5_000, n), "instagram": rng.gamma(2.0, 4_000, n),
                          "email": rng.gamma(2.0, 2_000, n)})
    x = mmm.geometric_adstock(frame["facebook"] + frame["instagram"], 0.5, 14)
    frame["clicks"] = 500 + a * x + 5 * (dates.day_of_week >= 5) + rng.normal(0, 100, n)
    frame["revenue"] = (50_000 + DIRECT * x + B * frame["clicks"] + 3 * mmm.geometric_adstock(frame["email"], 0.5, 14)
                        + rng.normal(0, 2_000, n))
    return frame


@pytest.fixture(scope="module")
def result():
    return mediation_analysis(simulated(), "date", ["facebook", "instagram"], "clicks", "revenue",
                              other_channels=["email"], decay=0.5, n_bootstrap=300)


def test_recovers_the_simulated_paths(result):
    e = result.effects
    assert list(e.index) == list(EFFECTS)
    assert e.loc["a", "estimate"] == pytest.approx(A, rel=0.1)
    assert e.loc["b", "estimate"] == pytest.approx(B, rel=0.1)
    assert e.loc["direct", "estimate"] == pytest.approx(DIRECT, rel=0.15)
    assert e.loc["indirect", "estimate"] == pytest.approx(e.loc["a", "estimate"] * e.loc["b", "estimate"])
    truth = {"a": A, "b": B, "direct": DIRECT, "indirect": A * B, "total": DIRECT + A * B}
    for effect, value in truth.items():
        assert e.loc[effect, "low"] <= value <= e.loc[effect, "high"], effect
    assert result.significant("indirect") and result.significant("direct")
    assert e.loc["proportion_mediated", "estimate"] == pytest.approx(A * B / (DIRECT + A * B), abs=0.05)


def test_paths_equal_statsmodels_ols():
    frame = simulated(seed=4)
    x = mmm.geometric_adstock(frame["facebook"] + frame["instagram"], 0.5, 14)
    w = pd.concat([mmm._baseline_design(frame["date"], "daily", frame[[]]),
                   pd.DataFrame({"email": mmm.geometric_adstock(frame["email"], 0.5, 14)})], axis=1)
    mediator = sm.OLS(frame["clicks"], np.column_stack([x, w])).fit().params.to_numpy()
    outcome = sm.OLS(frame["revenue"], np.column_stack([x, frame["clicks"], w])).fit().params.to_numpy()
    total = sm.OLS(frame["revenue"], np.column_stack([x, w])).fit().params.to_numpy()
    r = mediation_analysis(frame, "date", ["facebook", "instagram"], "clicks", "revenue", other_channels=["email"],
                           decay=0.5, n_bootstrap=10).effects["estimate"]
    assert r["a"] == pytest.approx(mediator[0], rel=1e-8)
    assert r["direct"] == pytest.approx(outcome[0], rel=1e-8) and r["b"] == pytest.approx(outcome[1], rel=1e-8)
    # With the same controls, direct + a·b is the coefficient of the treatment without the mediator.
    assert r["total"] == pytest.approx(total[0], rel=1e-8)


def test_no_mediation_is_reported_as_such():
    r = mediation_analysis(simulated(a=0.0, seed=2), "date", ["facebook", "instagram"], "clicks", "revenue",
                           decay=0.5, n_bootstrap=200)
    assert not r.significant("indirect")
    assert r.effects.loc["indirect", "low"] < 0 < r.effects.loc["indirect", "high"]


def test_ols_handles_a_column_of_zeros():
    rng = np.random.default_rng(0)
    design = np.column_stack([rng.normal(size=50), np.zeros(50), np.ones(50)])
    y = 2 * design[:, 0] + 1
    assert np.allclose(ols(design, y), [2.0, 0.0, 1.0])


def test_refuses_flat_treatment_and_missing_columns():
    frame = simulated(n=120)
    frame["flat"] = 0.0
    with pytest.raises(ValueError, match="does not vary"):
        mediation_analysis(frame, "date", ["flat"], "clicks", "revenue", n_bootstrap=5)
    with pytest.raises(KeyError, match="tiktok"):
        mediation_analysis(frame, "date", ["tiktok"], "clicks", "revenue", n_bootstrap=5)
