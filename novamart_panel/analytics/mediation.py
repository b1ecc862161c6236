"""Mediation (SPEC §4.8): how much of social media's effect on revenue runs through paid-search demand.

The path model, per period, with the baseline terms of the marketing-mix model (intercept, trend, yearly
Fourier terms, weekday dummies) and the other paid channels' adstocked spend as controls ``W``:

    mediator = a · X + W γ₁ + e₁              (social's adstocked spend X → e.g. Google Ads clicks)
    target   = c′ · X + b · mediator + W γ₂ + e₂

The indirect effect is ``a·b`` (₹ of target per ₹ of social spend that travels through the mediator), the
direct effect ``c′``, the total ``c′ + a·b`` (which equals the coefficient of X when the mediator is left
out). Intervals come from a moving-block bootstrap of whole periods (the pairs), which keeps the serial
dependence of daily data. Ordinary least squares in numpy; no Panel, runs in Pyodide.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .mmm import _baseline_design, _block_indices, geometric_adstock, infer_frequency, single_threaded_blas

EFFECTS = ("a", "b", "direct", "indirect", "total", "proportion_mediated")
EFFECT_LABELS = {
    "a": "social spend → mediator (per ₹)", "b": "mediator → target (per unit)",
    "direct": "direct effect (per ₹)", "indirect": "indirect effect a·b (per ₹)",
    "total": "total effect (per ₹)", "proportion_mediated": "share of the total that is indirect",
}


@dataclass
class MediationResult:
    """Path estimates with bootstrap intervals, and what they were estimated on."""

    effects: pd.DataFrame        # index EFFECTS; columns estimate, low, high
    treatment: tuple[str, ...]
    mediator: str
    target: str
    periods: int
    decay: float
    level: float

    def significant(self, effect: str) -> bool:
        """Whether the interval of `effect` excludes 0."""
        row = self.effects.loc[effect]
        return bool(row["low"] > 0 or row["high"] < 0)


def ols(design: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares coefficients through the (small) normal equations with columns scaled to unit norm;
    the pseudo-inverse gives the minimum-norm answer when a column is constant 0 (e.g. in a bootstrap
    sample without a festival week)."""
    norm = np.linalg.norm(design, axis=0)
    norm[norm == 0] = 1.0
    scaled = design / norm
    return np.linalg.pinv(scaled.T @ scaled, hermitian=True) @ (scaled.T @ y) / norm


def _paths(x: np.ndarray, m: np.ndarray, y: np.ndarray, w: np.ndarray) -> dict[str, float]:
    """a, b, direct, indirect, total and the proportion mediated by least squares."""
    a = ols(np.column_stack([x, w]), m)[0]
    coef = ols(np.column_stack([x, m, w]), y)
    direct, b = coef[0], coef[1]
    total = direct + a * b
    return {"a": a, "b": b, "direct": direct, "indirect": a * b, "total": total,
            "proportion_mediated": a * b / total if total != 0 else np.nan}


@single_threaded_blas
def mediation_analysis(frame: pd.DataFrame, date: str, treatment: Sequence[str], mediator: str, target: str,
                       other_channels: Sequence[str] = (), controls: Sequence[str] = (), *, decay: float = 0.5,
                       max_lag: int | None = None, n_bootstrap: int = 500, level: float = 0.95,
                       seed: int = 0) -> MediationResult:
    """Estimate treatment (summed, adstocked spend) → mediator → target on one row per period.

    `other_channels` (spend columns) enter adstocked as controls, `controls` as they are.
    """
    data = frame.sort_values(date).reset_index(drop=True)
    dates = pd.to_datetime(data[date])
    frequency = infer_frequency(dates)
    lag = (14 if frequency == "daily" else 4) if max_lag is None else max_lag
    treatment = tuple(treatment)
    missing = [c for c in (*treatment, mediator, target, *other_channels, *controls) if c not in data]
    if missing:
        raise KeyError(f"columns not in the frame: {', '.join(missing)}")
    x = geometric_adstock(data[list(treatment)].sum(axis=1), decay, lag)
    if np.ptp(x) == 0:
        raise ValueError("the treatment channels' spend does not vary: there is no effect to estimate")
    others = pd.DataFrame({f"adstock:{c}": geometric_adstock(data[c], decay, lag) for c in other_channels})
    w = pd.concat([_baseline_design(dates, frequency, data[list(controls)]), others], axis=1).to_numpy()
    m = data[mediator].to_numpy(dtype=float)
    y = data[target].to_numpy(dtype=float)
    estimate = _paths(x, m, y, w)

    rng = np.random.default_rng(seed)
    block = 14 if frequency == "daily" else 4
    draws = []
    for _ in range(n_bootstrap):
        rows = _block_indices(rng, len(y), block)
        draws.append(_paths(x[rows], m[rows], y[rows], w[rows]))
    draws = pd.DataFrame(draws)
    tail = (1 - level) / 2
    effects = pd.DataFrame({"estimate": pd.Series(estimate), "low": draws.quantile(tail),
                            "high": draws.quantile(1 - tail)}).reindex(list(EFFECTS))
    return MediationResult(effects=effects, treatment=treatment, mediator=mediator, target=target,
                           periods=len(y), decay=decay, level=level)
