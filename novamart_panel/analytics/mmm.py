"""Marketing-mix model (SPEC §4.8): what each paid channel adds to a target such as revenue, and where the
next rupee should go.

The model, per period (day or week, inferred from the dates):

    target = baseline + Σ_channels β_c · Hill(adstock(spend_c)) + noise

* **Adstock** (geometric, normalised): ``a_t = Σ_{l=0..L} w_l · x_{t-l}`` with ``w_l = decay^l / Σ decay^k``,
  so a steady spend ``S`` has adstock ``S`` and the steady-state response curve is in spend per period.
* **Saturation** (Hill): ``a^s / (a^s + K^s)``; ``K`` is the adstocked spend earning half the maximum.
* **Baseline**: intercept, linear trend, yearly Fourier terms, weekday dummies (daily data) and the
  ``controls`` columns (events, prices, promotions; :func:`festival_controls` gives India's festive weeks).
* **Regression**: ridge on the media coefficients, which are kept ≥ 0, with the baseline profiled out
  (Frisch–Waugh: the media coefficients solve a non-negative least-squares problem on the baseline's
  residuals, the baseline then follows by least squares). With no baseline it equals scikit-learn's
  ``Ridge(positive=True, fit_intercept=False)``.
* **Hyperparameters** (decay, ``K`` as a multiple of the channel's mean active spend, slope ``s`` per channel,
  and the ridge strength) minimise the held-out error of rolling-origin cross-validation (scikit-learn's
  ``TimeSeriesSplit``: each fold trains on the past only): a Sobol sample, then Powell's method from the best.
* **Uncertainty**: moving-block bootstrap of the residuals, each replicate refitted with one of the
  hyperparameter sets whose held-out error is within 2 % of the best (so the intervals carry both the noise
  and the doubt about the curves' shapes).

Everything is numpy/scipy/scikit-learn (imported when a model is fitted), single-threaded, no Panel:
it runs the same in a notebook, on the server and in Pyodide.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

FREQUENCIES = {"daily": 1, "weekly": 7}
DEFAULT_MAX_LAG = {"daily": 14, "weekly": 4}
DECAY_RANGE = {"daily": (0.0, 0.85), "weekly": (0.0, 0.6)}
HALF_SATURATION_RANGE = (0.2, 4.0)     # × the channel's mean spend over the periods it spent
SLOPE_RANGE = (0.6, 2.5)
RIDGE_RANGE = (1e-3, 3.0)              # on the media coefficients, target scaled to mean 1
MIN_PERIODS = 56                       # fewer cannot hold four held-out folds and a training window
MIN_ACTIVE_PERIODS = 8                 # a channel that spent on fewer periods gets no curve
MIN_SPEND_VARIATION = 0.05             # nor one whose spend hardly moves (coefficient of variation)
NEAR_BEST = 0.02                       # hyperparameter sets within 2 % of the best objective
# A weak prior on the hyperparameters, the role priors play in Bayesian MMMs (Meridian, PyMC-Marketing): the
# held-out error is multiplied by 1 + PRIOR_WEIGHT × mean z², z being each hyperparameter's distance from a
# typical value in prior standard deviations (K is centred on the channel's mean active spend). Without it,
# ~3 hyperparameters per channel tuned on four held-out folds fit the folds' noise and the baseline's
# misfit: on generated data with a known response it halves the error of the contribution shares.
PRIOR_CENTRE = {"decay": 0.3, "slope": 1.0}
PRIOR_SCALE = {"decay": 0.3, "log_half_saturation": 0.8, "slope": 0.5}
PRIOR_WEIGHT = 0.3
YEAR_DAYS = 365.25

# Diwali (Lakshmi Puja) dates; the weeks around it and around Christmas are India's retail peaks.
DIWALI = tuple(dt.date.fromisoformat(d) for d in (
    "2015-11-11", "2016-10-30", "2017-10-19", "2018-11-07", "2019-10-27", "2020-11-14", "2021-11-04",
    "2022-10-24", "2023-11-12", "2024-11-01", "2025-10-20", "2026-11-08", "2027-10-29", "2028-10-17",
    "2029-11-05", "2030-10-26"))
FESTIVAL_WEEKS = {"diwali": (-3, 2), "christmas": (-2, 1)}   # first and last week relative to the day


def single_threaded_blas(func):
    """Run `func` with BLAS on one thread: the models multiply many small matrices, and a multi-threaded
    BLAS on a busy machine spends more time waking threads than computing (100× slower on 2 loaded cores)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            from threadpoolctl import threadpool_limits
            limit = threadpool_limits(limits=1, user_api="blas")
        except ImportError:  # scikit-learn brings threadpoolctl; without it, run as configured
            limit = contextlib.nullcontext()
        with limit:
            return func(*args, **kwargs)

    return wrapper


# ---------------------------------------------------------------- transformations


def geometric_adstock(spend, decay: float, max_lag: int) -> np.ndarray:
    """Carry-over of spend: weights decay^l (l = 0..max_lag) normalised to sum 1; periods before the first are 0."""
    x = np.asarray(spend, dtype=float)
    if not 0 <= decay < 1:
        raise ValueError(f"decay must be in [0, 1), got {decay}")
    weights = decay ** np.arange(int(max_lag) + 1)
    return np.convolve(x, weights / weights.sum())[: len(x)]


def hill(x, half_saturation, slope) -> np.ndarray:
    """Hill saturation x^s / (x^s + K^s): 0 at no spend, ½ at K, towards 1 as spend grows.

    `half_saturation` (K) and `slope` (s) may be arrays, one per column of `x`.
    """
    half, slope = np.asarray(half_saturation, dtype=float), np.asarray(slope, dtype=float)
    if (half <= 0).any() or (slope <= 0).any():
        raise ValueError("half_saturation and slope must be positive")
    ratio = (np.maximum(np.asarray(x, dtype=float), 0.0) / half) ** slope
    return ratio / (1.0 + ratio)


def hill_derivative(x, half_saturation, slope) -> np.ndarray:
    """d Hill / dx = s·h·(1 − h) / x (at x = 0 taken just above 0)."""
    x = np.maximum(np.asarray(x, dtype=float), 1e-12)
    h = hill(x, half_saturation, slope)
    return slope * h * (1 - h) / x


def infer_frequency(dates) -> str:
    """"daily" or "weekly" from the typical gap between consecutive dates."""
    values = pd.to_datetime(pd.Series(dates)).sort_values()
    if len(values) < 2:
        raise ValueError("need at least two dates to infer the frequency")
    gap = values.diff().dt.days.median()
    if gap == 1:
        return "daily"
    if gap == 7:
        return "weekly"
    raise ValueError(f"dates are neither daily nor weekly (typical gap {gap:g} days)")


def fourier_terms(dates, period_days: float = YEAR_DAYS, order: int = 2) -> pd.DataFrame:
    """sin/cos pairs of the day of the period (yearly by default) up to `order`."""
    days = (pd.to_datetime(pd.Series(dates)) - pd.Timestamp("2000-01-01")).dt.days.to_numpy(dtype=float)
    columns = {}
    for k in range(1, order + 1):
        angle = 2 * np.pi * k * days / period_days
        columns[f"sin{k}"] = np.sin(angle)
        columns[f"cos{k}"] = np.cos(angle)
    return pd.DataFrame(columns)


def festival_controls(dates) -> pd.DataFrame:
    """One indicator column per week around Diwali (3 before to 2 after) and Christmas (2 before to 1 after).

    A week is 7 days counted from the festival day, so weekly data (week starts) and daily data both map;
    only the columns that are ever 1 in `dates` are returned.
    """
    days = pd.to_datetime(pd.Series(dates)).dt.normalize()
    out = {}
    for name, (first, last) in FESTIVAL_WEEKS.items():
        years = sorted(set(days.dt.year) | set(days.dt.year + 1))
        centres = [pd.Timestamp(d) for d in DIWALI if d.year in years] if name == "diwali" else \
            [pd.Timestamp(y, 12, 25) for y in years]
        week = pd.Series(np.nan, index=days.index)
        for centre in centres:
            offset = np.floor((days - centre).dt.days / 7)
            week = week.where(week.notna() | ~offset.between(first, last), offset)
        for k in range(first, last + 1):
            column = (week == k).astype(float)
            if column.any():
                out[f"{name}_week{k:+d}"] = column.to_numpy()
    return pd.DataFrame(out, index=range(len(days)))


# ---------------------------------------------------------------- fitting


@dataclass(frozen=True)
class MediaTransform:
    """One channel's adstock and saturation."""

    decay: float
    half_saturation: float   # spend per period
    slope: float

    def apply(self, spend, max_lag: int) -> np.ndarray:
        return hill(geometric_adstock(spend, self.decay, max_lag), self.half_saturation, self.slope)


@dataclass
class _Problem:
    """The arrays one fit works on: scaled target, spend, baseline design and the folds."""

    y: np.ndarray                 # target / target mean
    spend: np.ndarray             # periods × channels
    lagged: np.ndarray            # (max_lag + 1) × periods × channels
    reference: np.ndarray         # mean spend over the periods with spend, per channel
    baseline: np.ndarray          # periods × baseline columns
    folds: list[tuple[np.ndarray, np.ndarray]]
    decay_range: tuple[float, float]
    prepared: dict = field(default_factory=dict)

    @property
    def n_channels(self) -> int:
        return self.spend.shape[1]

    def transforms(self, theta: np.ndarray) -> tuple[list[MediaTransform], float]:
        """Unit-cube parameters → per-channel transforms and the ridge strength."""
        c = self.n_channels
        lo, hi = self.decay_range
        decay = lo + theta[:c] * (hi - lo)
        half = self.reference * np.exp(np.log(HALF_SATURATION_RANGE[0]) + theta[c:2 * c]
                                       * np.log(HALF_SATURATION_RANGE[1] / HALF_SATURATION_RANGE[0]))
        slope = SLOPE_RANGE[0] + theta[2 * c:3 * c] * (SLOPE_RANGE[1] - SLOPE_RANGE[0])
        ridge = float(np.exp(np.log(RIDGE_RANGE[0]) + theta[3 * c] * np.log(RIDGE_RANGE[1] / RIDGE_RANGE[0])))
        return [MediaTransform(float(d), float(h), float(s)) for d, h, s in zip(decay, half, slope)], ridge

    def media(self, transforms: Sequence[MediaTransform]) -> np.ndarray:
        """Periods × channels of Hill(adstock(spend)), from the precomputed lagged spend."""
        max_lag = self.lagged.shape[0] - 1
        decay = np.array([t.decay for t in transforms])
        weights = decay[None, :] ** np.arange(max_lag + 1)[:, None]
        carried = np.einsum("lnc,lc->nc", self.lagged, weights / weights.sum(axis=0))
        return hill(carried, [t.half_saturation for t in transforms], [t.slope for t in transforms])

    def basis(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Orthonormal basis of the baseline columns on `rows`, and their pseudo-inverse (cached per fold)."""
        key = (rows[0], rows[-1], len(rows))
        if key not in self.prepared:
            design = self.baseline[rows]
            if design.shape[1] == 0:
                self.prepared[key] = (np.zeros((len(rows), 0)), np.zeros((0, len(rows))))
                return self.prepared[key]
            u, s, vt = np.linalg.svd(design, full_matrices=False)
            keep = s > s.max() * 1e-10
            u, s, vt = u[:, keep], s[keep], vt[keep]
            self.prepared[key] = (u, (vt.T / s) @ u.T)
        return self.prepared[key]


def _solve(problem: _Problem, media: np.ndarray, rows: np.ndarray, ridge: float, y=None):
    """Media coefficients (≥ 0, ridge) and baseline coefficients fitted on `rows`."""
    from scipy.optimize import nnls

    y = problem.y[rows] if y is None else y
    m = media[rows]
    u, pinv = problem.basis(rows)
    y_res = y - u @ (u.T @ y)
    m_res = m - u @ (u.T @ m)
    c = m.shape[1]
    beta, _ = nnls(np.vstack([m_res, np.sqrt(ridge) * np.eye(c)]), np.concatenate([y_res, np.zeros(c)]))
    gamma = pinv @ (y - m @ beta)
    return beta, gamma


def _prior_penalty(problem: _Problem, theta: np.ndarray) -> float:
    """Mean squared distance (in prior standard deviations) of the hyperparameters from typical values."""
    transforms, _ = problem.transforms(theta)
    z = np.concatenate([
        [(t.decay - PRIOR_CENTRE["decay"]) / PRIOR_SCALE["decay"] for t in transforms],
        np.log(np.array([t.half_saturation for t in transforms]) / problem.reference)
        / PRIOR_SCALE["log_half_saturation"],
        [(t.slope - PRIOR_CENTRE["slope"]) / PRIOR_SCALE["slope"] for t in transforms],
    ])
    return float(np.mean(z ** 2))


def _objective(problem: _Problem, theta: np.ndarray, prior_weight: float) -> float:
    """Held-out mean squared error, weighed by the prior penalty."""
    return _cv_error(problem, theta) * (1 + prior_weight * _prior_penalty(problem, theta))


def _cv_error(problem: _Problem, theta: np.ndarray) -> float:
    transforms, ridge = problem.transforms(theta)
    media = problem.media(transforms)
    sse, n = 0.0, 0
    for train, test in problem.folds:
        beta, gamma = _solve(problem, media, train, ridge)
        err = problem.y[test] - problem.baseline[test] @ gamma - media[test] @ beta
        sse += float(err @ err)
        n += len(test)
    return sse / n


def _baseline_design(dates: pd.Series, frequency: str, controls: pd.DataFrame) -> pd.DataFrame:
    n = len(dates)
    span_days = (dates.iloc[-1] - dates.iloc[0]).days
    columns = {"intercept": np.ones(n), "trend": np.linspace(0.0, 1.0, n)}
    order = 3 if span_days >= 2 * 365 else 2 if span_days >= 365 else 0
    if order:
        columns.update(fourier_terms(dates, YEAR_DAYS, order).to_dict("series"))
    if frequency == "daily":
        weekday = dates.dt.day_of_week.to_numpy()
        for d in range(1, 7):
            columns[f"weekday{d}"] = (weekday == d).astype(float)
    design = pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in columns.items()})
    for name in controls.columns:
        design[f"control:{name}"] = controls[name].to_numpy(dtype=float)
    return design


def _folds(n: int, n_folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rolling-origin folds (scikit-learn's TimeSeriesSplit): the last `n_folds` blocks of ~10 % each are
    forecast in turn, each from everything before it."""
    from sklearn.model_selection import TimeSeriesSplit

    test_size = max(1, n // 10)
    splitter = TimeSeriesSplit(n_splits=n_folds, test_size=test_size)
    return [(train, test) for train, test in splitter.split(np.zeros(n))]


def fit_quality(actual, predicted) -> dict[str, float]:
    """R², MAPE (over positive actuals) and NRMSE (RMSE over the actual range, as Robyn reports it).

    R² and NRMSE are NaN when the actuals do not vary (a held-out fold where a channel earned nothing): both divide
    by the actuals' spread, and scikit-learn's `r2_score` would report 0 or 1 there."""
    from sklearn.metrics import mean_absolute_percentage_error, r2_score

    actual = np.asarray(actual, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    positive = actual > 0
    spread = actual.max() - actual.min() if len(actual) else 0.0
    rmse = float(np.sqrt(np.mean((actual - predicted) ** 2))) if len(actual) else np.nan
    return {
        "r2": float(r2_score(actual, predicted)) if len(actual) > 1 and spread > 0 else np.nan,
        "mape": float(mean_absolute_percentage_error(actual[positive], predicted[positive])) if positive.any()
        else np.nan,
        "nrmse": rmse / spread if spread > 0 else np.nan,
    }


def screen_channels(frame: pd.DataFrame, channels: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """Channels a response curve can be estimated for, and why the others are left to the baseline."""
    kept, excluded = [], {}
    for channel in channels:
        spend = frame[channel].to_numpy(dtype=float)
        active = spend > 0
        if not active.any():
            excluded[channel] = "no spend: it is part of the baseline, not media"
        elif active.sum() < MIN_ACTIVE_PERIODS:
            excluded[channel] = (f"spent in only {active.sum()} periods: too little variation to estimate a "
                                 "response curve")
        elif spend.std() < MIN_SPEND_VARIATION * spend.mean():
            excluded[channel] = "its spend hardly varies: its effect cannot be told apart from the baseline"
        else:
            kept.append(channel)
    return kept, excluded


@single_threaded_blas
def fit_mmm(frame: pd.DataFrame, date: str, target: str, channels: Sequence[str], controls: Sequence[str] = (),
            *, max_lag: int | None = None, n_folds: int = 4, n_candidates: int = 256, refine_evaluations: int = 600,
            n_bootstrap: int = 200, prior_weight: float = PRIOR_WEIGHT, seed: int = 0,
            progress: Callable[[float, str], None] | None = None) -> "MarketingMixModel":
    """Fit the marketing-mix model on one row per period (daily or weekly) and return it.

    `channels` are spend columns; those with no spend or too little variation are reported in
    `model.excluded` and left to the baseline. `controls` are further baseline columns of `frame`.
    `progress(fraction, message)` is called as the search advances.
    """
    from scipy.optimize import minimize
    from scipy.stats import qmc

    report = progress or (lambda fraction, message: None)
    data = frame.sort_values(date).reset_index(drop=True)
    dates = pd.to_datetime(data[date])
    frequency = infer_frequency(dates)
    if len(data) < MIN_PERIODS:
        raise ValueError(f"{len(data)} periods are too few for a marketing-mix model; it needs at least "
                         f"{MIN_PERIODS} (choose a longer date range or daily data)")
    y_raw = data[target].to_numpy(dtype=float)
    if not np.isfinite(y_raw).all():
        raise ValueError(f"{target} has missing values; fill or drop those periods first")
    scale = float(np.mean(y_raw))
    if scale <= 0:
        raise ValueError(f"{target} must have a positive mean")
    modelled, excluded = screen_channels(data, channels)
    if not modelled:
        raise ValueError("no channel has enough spend variation to model: " +
                         "; ".join(f"{c}: {why}" for c, why in excluded.items()))
    max_lag = DEFAULT_MAX_LAG[frequency] if max_lag is None else int(max_lag)
    spend = data[modelled].to_numpy(dtype=float)
    lagged = np.stack([np.vstack([np.zeros((lag, spend.shape[1])), spend[: len(spend) - lag]])
                       for lag in range(max_lag + 1)])
    reference = np.array([spend[spend[:, i] > 0, i].mean() for i in range(spend.shape[1])])
    baseline = _baseline_design(dates, frequency, data[list(controls)])
    problem = _Problem(y=y_raw / scale, spend=spend, lagged=lagged, reference=reference,
                       baseline=baseline.to_numpy(), folds=_folds(len(data), n_folds),
                       decay_range=DECAY_RANGE[frequency])

    # Hyperparameter search: Sobol points over the unit cube, then Powell from the best one.
    dims = 3 * len(modelled) + 1
    tried: list[tuple[float, np.ndarray]] = []

    def loss(theta):
        theta = np.clip(theta, 0.0, 1.0)
        value = _objective(problem, theta, prior_weight)
        tried.append((value, theta.copy()))
        return value

    sample = qmc.Sobol(dims, scramble=True, seed=seed).random(n_candidates)
    for i, theta in enumerate(sample):
        loss(theta)
        if i % 32 == 31:
            report(0.5 * (i + 1) / n_candidates, f"searching adstock and saturation ({i + 1} of {n_candidates})")
    if refine_evaluations:
        start = min(tried, key=lambda item: item[0])[1]
        evaluations = len(tried)

        def step(_):
            report(0.5 + 0.35 * min(1.0, (len(tried) - evaluations) / refine_evaluations), "refining the best curves")

        minimize(loss, start, method="Powell", bounds=[(0.0, 1.0)] * dims, callback=step,
                 options={"maxfev": refine_evaluations, "xtol": 1e-3, "ftol": 1e-5})
    tried.sort(key=lambda item: item[0])
    best_error = tried[0][0]
    near = _distinct([theta for value, theta in tried if value <= best_error * (1 + NEAR_BEST)], limit=10)

    report(0.85, "estimating uncertainty")
    model = MarketingMixModel._from_fit(problem, data, dates, date, target, modelled, excluded, list(controls),
                                        frequency, max_lag, scale, baseline, near, n_bootstrap, seed)
    report(1.0, "done")
    return model


def _distinct(thetas: list[np.ndarray], limit: int) -> list[np.ndarray]:
    kept: list[np.ndarray] = []
    for theta in thetas:
        if all(np.abs(theta - other).max() > 1e-3 for other in kept):
            kept.append(theta)
        if len(kept) == limit:
            break
    return kept


def _block_indices(rng: np.random.Generator, n: int, block: int) -> np.ndarray:
    """Indices of a moving-block bootstrap sample of length n."""
    starts = rng.integers(0, max(1, n - block + 1), size=-(-n // block))
    return (starts[:, None] + np.arange(block)[None, :]).ravel()[:n]


# ---------------------------------------------------------------- the fitted model


class MarketingMixModel:
    """A fitted marketing-mix model: fit quality, decomposition, contributions, response curves, optimizer.

    Money and the target are per period (day or week, `frequency`); the steady state is a spend held
    constant long enough for the adstock to settle.
    """

    date: str
    target: str
    channels: list[str]                 # modelled paid channels
    excluded: dict[str, str]            # channel → why it has no curve
    controls: list[str]
    frequency: str
    max_lag: int
    transforms: pd.DataFrame            # per channel: decay, half_saturation, slope, coefficient
    cv_folds: pd.DataFrame              # per fold: dates and held-out R², MAPE, NRMSE
    quality: dict[str, float]           # pooled held-out r2, mape, nrmse; in_sample_r2; baseline_* for the
    #                                     baseline-only model under the same folds
    decomposition: pd.DataFrame         # per period: date, actual, predicted, held_out, baseline, each channel
    contributions: pd.DataFrame         # per channel: spend, contribution, share, roi, roi_low, roi_high,
    #                                     marginal_roi, share_low, share_high
    spend: pd.DataFrame                 # per period: date and each modelled channel's spend
    current: pd.Series                  # mean spend per period per channel (the current allocation)
    baseline_level: float               # mean baseline per period
    bootstrap: pd.DataFrame             # per replicate and channel: contribution, roi, coefficient

    @classmethod
    def _from_fit(cls, problem: _Problem, data, dates, date, target, channels, excluded, controls, frequency,
                  max_lag, scale, baseline, near: list[np.ndarray], n_bootstrap: int, seed: int):
        self = cls.__new__(cls)
        self.date, self.target, self.channels, self.excluded = date, target, list(channels), dict(excluded)
        self.controls, self.frequency, self.max_lag = controls, frequency, max_lag
        self._scale = scale
        every = np.arange(len(problem.y))
        transforms, ridge = problem.transforms(near[0])
        media = problem.media(transforms)
        beta, gamma = _solve(problem, media, every, ridge)
        self._transforms = transforms
        self._coefficient = beta * scale            # maximum response per period, target units
        self.transforms = pd.DataFrame({
            "decay": [t.decay for t in transforms], "half_saturation": [t.half_saturation for t in transforms],
            "slope": [t.slope for t in transforms], "coefficient": self._coefficient,
        }, index=pd.Index(channels, name="channel"))
        self.ridge = ridge

        actual = problem.y * scale
        base = baseline.to_numpy() @ gamma * scale
        parts = media * self._coefficient
        held_out = np.full(len(actual), np.nan)
        fold_rows, baseline_pred = [], np.full(len(actual), np.nan)
        for k, (train, test) in enumerate(problem.folds, start=1):
            b, g = _solve(problem, media, train, ridge)
            held_out[test] = (problem.baseline[test] @ g + media[test] @ b) * scale
            u, pinv = problem.basis(train)
            baseline_pred[test] = problem.baseline[test] @ (pinv @ problem.y[train]) * scale
            fold_rows.append({"fold": k, "train_start": dates.iloc[train[0]], "train_end": dates.iloc[train[-1]],
                              "test_start": dates.iloc[test[0]], "test_end": dates.iloc[test[-1]],
                              **fit_quality(actual[test], held_out[test])})
        self.cv_folds = pd.DataFrame(fold_rows)
        tested = np.concatenate([test for _, test in problem.folds])
        self.quality = {**fit_quality(actual[tested], held_out[tested]),
                        "in_sample_r2": fit_quality(actual, base + parts.sum(axis=1))["r2"],
                        **{f"baseline_{k}": v for k, v in fit_quality(actual[tested], baseline_pred[tested]).items()}}
        self.decomposition = pd.DataFrame({"date": dates.to_numpy(), "actual": actual,
                                           "predicted": base + parts.sum(axis=1), "held_out": held_out,
                                           "baseline": base})
        for i, channel in enumerate(channels):
            self.decomposition[channel] = parts[:, i]
        self.spend = pd.DataFrame({"date": dates.to_numpy(),
                                   **{c: problem.spend[:, i] for i, c in enumerate(channels)}})
        self.current = pd.Series(problem.spend.mean(axis=0), index=channels, name="spend")
        self.baseline_level = float(base.mean())
        self.bootstrap = self._bootstrap(problem, near, actual, base + parts.sum(axis=1), n_bootstrap, seed)
        self.contributions = self._contributions(parts, actual)
        return self

    def _bootstrap(self, problem, near, actual, fitted, n_bootstrap, seed) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        residual = (actual - fitted) / self._scale
        block = 14 if self.frequency == "daily" else 4
        every = np.arange(len(actual))
        media_by_theta = []
        for theta in near:
            transforms, ridge = problem.transforms(theta)
            media_by_theta.append((problem.media(transforms), ridge))
        spend_total = problem.spend.sum(axis=0)
        rows = []
        for r in range(n_bootstrap):
            media, ridge = media_by_theta[r % len(media_by_theta)]
            y_star = fitted / self._scale + residual[_block_indices(rng, len(actual), block)]
            beta, _ = _solve(problem, media, every, ridge, y=y_star)
            contribution = (media * beta).sum(axis=0) * self._scale
            for i, channel in enumerate(self.channels):
                rows.append((r, channel, contribution[i], contribution[i] / spend_total[i], beta[i] * self._scale))
        return pd.DataFrame(rows, columns=["replicate", "channel", "contribution", "roi", "coefficient"])

    def _contributions(self, parts: np.ndarray, actual: np.ndarray) -> pd.DataFrame:
        total_target = float(actual.sum())
        spend_total = self.spend[self.channels].sum().to_numpy()
        contribution = parts.sum(axis=0)
        boot = self.bootstrap.groupby("channel", sort=False)
        low = boot[["roi", "contribution"]].quantile(0.025).reindex(self.channels)
        high = boot[["roi", "contribution"]].quantile(0.975).reindex(self.channels)
        return pd.DataFrame({
            "spend": spend_total, "contribution": contribution, "share": contribution / total_target,
            "share_low": low["contribution"].to_numpy() / total_target,
            "share_high": high["contribution"].to_numpy() / total_target,
            "roi": contribution / spend_total, "roi_low": low["roi"].to_numpy(), "roi_high": high["roi"].to_numpy(),
            "marginal_roi": [self.marginal_roi(c, self.current[c]) for c in self.channels],
        }, index=pd.Index(self.channels, name="channel"))

    # -- steady-state response ---------------------------------------------------------------------
    def _channel(self, channel: str) -> int:
        if channel not in self.channels:
            why = self.excluded.get(channel, "it is not one of the model's channels")
            raise KeyError(f"{channel} has no response curve: {why}")
        return self.channels.index(channel)

    def response(self, channel: str, spend) -> np.ndarray:
        """Steady-state contribution per period of `channel` at a constant spend per period."""
        i = self._channel(channel)
        t = self._transforms[i]
        return self._coefficient[i] * hill(spend, t.half_saturation, t.slope)

    def marginal_roi(self, channel: str, spend) -> np.ndarray | float:
        """Extra target per extra unit of spend at a steady spend (the slope of the response curve)."""
        i = self._channel(channel)
        t = self._transforms[i]
        value = self._coefficient[i] * hill_derivative(spend, t.half_saturation, t.slope)
        return float(value) if np.ndim(value) == 0 else value

    def response_curve(self, channel: str, spend_grid=None) -> pd.DataFrame:
        """Steady-state response over `spend_grid` (default: 0 to 3× current, 61 points): spend, response,
        roi (response / spend) and marginal_roi."""
        grid = (np.linspace(0.0, 3.0 * float(self.current[channel]), 61) if spend_grid is None
                else np.asarray(spend_grid, dtype=float))
        response = self.response(channel, grid)
        roi = np.divide(response, grid, out=np.full(len(grid), np.nan), where=grid > 0)
        return pd.DataFrame({"spend": grid, "response": response, "roi": roi,
                             "marginal_roi": self.marginal_roi(channel, grid)})

    def predict(self, allocation: Mapping[str, float]) -> float:
        """Predicted target per period at a steady allocation (channels left out keep their current spend)."""
        return self.baseline_level + sum(float(self.response(c, allocation.get(c, self.current[c])))
                                         for c in self.channels)

    # -- optimizer -----------------------------------------------------------------------------------
    def default_bounds(self, low: float = 0.5, high: float = 1.5) -> dict[str, tuple[float, float]]:
        """±50 % of current spend per channel (or the given multiples)."""
        return {c: (low * float(self.current[c]), high * float(self.current[c])) for c in self.channels}

    def optimize(self, total: float | None = None,
                 bounds: Mapping[str, tuple[float, float]] | None = None) -> pd.DataFrame:
        """The spend per channel per period that maximises the predicted target at steady state.

        `total` defaults to the current spend per period; `bounds` (channel → (min, max) spend per period)
        default to ±50 % of current. Returns per channel: current, spend, change, change_pct,
        response_current, response, marginal_roi, lower, upper; attrs carry total, predicted_current, predicted and lift
        (relative gain of the predicted target over the current mean allocation).
        """
        from scipy.optimize import minimize

        current = self.current.to_numpy(dtype=float)
        total = float(current.sum()) if total is None else float(total)
        chosen = {**self.default_bounds(), **(bounds or {})}
        unknown = set(chosen) - set(self.channels)
        if unknown:
            raise KeyError(f"bounds name channels the model does not have: {', '.join(sorted(unknown))}")
        lo = np.array([max(0.0, float(chosen[c][0])) for c in self.channels])
        hi = np.array([float(chosen[c][1]) for c in self.channels])
        if (lo > hi).any():
            raise ValueError("each channel's minimum must not exceed its maximum")
        if total < lo.sum() - 1e-9 or total > hi.sum() + 1e-9:
            raise ValueError(f"a budget of {total:,.0f} per period is outside what the bounds allow "
                             f"({lo.sum():,.0f} to {hi.sum():,.0f}); widen the bounds or change the budget")
        half = np.array([t.half_saturation for t in self._transforms])
        slope = np.array([t.slope for t in self._transforms])
        coef = self._coefficient
        norm = max(total, 1.0)

        def negative(x):
            return -(coef * hill(x * norm, half, slope)).sum() / self._scale

        def gradient(x):
            return -coef * hill_derivative(x * norm, half, slope) * norm / self._scale

        box = list(zip(lo / norm, hi / norm))
        constraint = {"type": "eq", "fun": lambda x: x.sum() - total / norm, "jac": lambda x: np.ones_like(x)}
        starts = [_fit_into(current * total / max(current.sum(), 1e-12), lo, hi, total)]
        rng = np.random.default_rng(0)
        starts += [_fit_into(rng.dirichlet(np.ones(len(current))) * total, lo, hi, total) for _ in range(4)]
        best = None
        for start in starts:
            result = minimize(negative, start / norm, jac=gradient, bounds=box, constraints=[constraint],
                              method="SLSQP", options={"maxiter": 300, "ftol": 1e-12})
            x = np.clip(result.x * norm, lo, hi)
            if abs(x.sum() - total) <= 1e-6 * norm and (best is None or negative(x / norm) < negative(best / norm)):
                best = x
        if best is None:
            best = starts[0]
        spend = best
        out = pd.DataFrame({
            "current": current, "spend": spend, "lower": lo, "upper": hi, "change": spend - current,
            "change_pct": np.divide(spend - current, current, out=np.full(len(current), np.nan), where=current > 0),
            "response_current": coef * hill(current, half, slope),
            "response": coef * hill(spend, half, slope),
            "marginal_roi": coef * hill_derivative(spend, half, slope),
        }, index=pd.Index(self.channels, name="channel"))
        predicted_current = self.baseline_level + float(out["response_current"].sum())
        predicted = self.baseline_level + float(out["response"].sum())
        out.attrs.update(total=total, predicted_current=predicted_current, predicted=predicted,
                         lift=predicted / predicted_current - 1 if predicted_current > 0 else np.nan,
                         media_lift=(out["response"].sum() / out["response_current"].sum() - 1
                                     if out["response_current"].sum() > 0 else np.nan))
        return out


def _fit_into(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, total: float) -> np.ndarray:
    """`x` moved into the box [lo, hi] with its sum equal to `total` (bisection on a common shift)."""
    a, b = -total - hi.max(), total + hi.max()
    for _ in range(100):
        mid = (a + b) / 2
        if np.clip(x + mid, lo, hi).sum() < total:
            a = mid
        else:
            b = mid
    return np.clip(x + (a + b) / 2, lo, hi)
