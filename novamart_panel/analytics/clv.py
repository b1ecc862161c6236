"""Customer lifetime value: RFM summaries, BG/NBD and Gamma-Gamma by maximum likelihood, CLV (SPEC §4.9).

The definitions follow the `lifetimes` package (Fader, Hardie & Lee 2005; Fader, Hardie & Lee 2005b), so the
numbers can be checked against its documented CDNOW fits, but the fits are our own: `lifetimes` is unmaintained
(last release 2020, pulls in autograd, warns under pandas 3) and its maintained successor, PyMC-Marketing, brings
PyMC with it, far too large for the WebAssembly page. Both likelihoods are vectorised with
analytic gradients, fitted in log-parameters with scipy, on the distinct customer histories weighted by
how many customers share each, so a million customers fit in seconds.

Conventions (as in `lifetimes`): `frequency` counts *repeat* purchase periods (all but the first),
`recency` is the age of the customer at the last purchase, `T` the age at the end of the observation, both
in periods since the first purchase; `monetary_value` is the mean value of the repeat purchases (0 without).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import digamma, expit, gammaln, hyp2f1
from threadpoolctl import threadpool_limits

# Periods per month for `customer_lifetime_value`, as `lifetimes` counts them.
PERIODS_PER_MONTH = {"D": 30.0, "W": 4.345, "M": 1.0, "H": 30.0 * 24}
MIN_CUSTOMERS = 50            # fewer customers than this cannot support a BG/NBD fit
MIN_REPEAT_BUYERS = 20        # ... nor fewer repeat buyers (both models) ...
MIN_REPEAT_SHARE = 0.02       # ... nor a repeat-buyer share below 2 %
# Above this many customers a fit uses a fixed random sample of this size: the estimates are as good for any
# practical purpose and a fit stays within seconds (predictions still cover every customer).
FIT_SAMPLE = 200_000
LOG_BOUND = 20.0              # parameters are searched in [e^-20, e^20]


class InsufficientDataError(ValueError):
    """The data cannot support the fit (too few customers or repeat buyers, or the optimiser failed)."""


# -- RFM summary -------------------------------------------------------------------------------------------
def rfm_summary(orders: pd.DataFrame, customer_id: str, date: str, amount: str | None = None,
                observation_end=None, freq: str = "D") -> pd.DataFrame:
    """frequency, recency, T (and monetary_value with `amount`) per customer, as `lifetimes`'
    `summary_data_from_transaction_data` defines them: purchases are counted per period of `freq` (values of
    one period summed), orders after `observation_end` (default: the last order) are ignored."""
    columns = [customer_id, date] + ([amount] if amount else [])
    frame = orders[columns].copy()
    frame[date] = pd.to_datetime(frame[date])
    end = pd.Timestamp(observation_end) if observation_end is not None else frame[date].max()
    end = end.to_period(freq).to_timestamp()
    frame["_period"] = frame[date].dt.to_period(freq).dt.to_timestamp()
    frame = frame[frame["_period"] <= end]
    if amount:
        periods = frame.groupby([customer_id, "_period"], sort=True)[amount].sum().reset_index()
    else:
        periods = frame[[customer_id, "_period"]].drop_duplicates().sort_values([customer_id, "_period"])
        periods["_value"] = 0.0
        amount = "_value"
    by_customer = periods.groupby(customer_id, sort=True)
    first = by_customer["_period"].min()
    last = by_customer["_period"].max()
    unit = np.timedelta64(1, freq)
    summary = pd.DataFrame({
        "frequency": by_customer.size() - 1,
        "recency": (last - first) / unit,
        "T": (end - first) / unit,
    }).astype(float)
    if amount != "_value":
        first_value = by_customer[amount].first()   # periods are sorted: the first row is the first purchase
        repeat_total = by_customer[amount].sum() - first_value
        summary["monetary_value"] = (repeat_total / summary["frequency"].where(summary["frequency"] > 0)).fillna(0.0)
    summary.index.name = customer_id
    return summary


def rfm_from_customer_totals(total_purchases, tenure_periods, periods_since_last, avg_order_value) -> pd.DataFrame:
    """An approximate frequency / recency / T / monetary_value from per-customer totals (no order file):
    frequency = purchases − 1, T = tenure (at least the time since the last purchase), recency = T − time since
    the last purchase (0 without repeats), monetary value = the average order value. Customers with no
    purchase get NaN (they are not customers of the model)."""
    purchases = np.asarray(total_purchases, dtype=float)
    since_last = np.asarray(periods_since_last, dtype=float)
    age = np.maximum(np.asarray(tenure_periods, dtype=float), since_last)
    frequency = np.where(purchases >= 1, purchases - 1, np.nan)
    recency = np.where(frequency > 0, age - since_last, 0.0)
    recency = np.where(np.isnan(frequency), np.nan, recency)
    aov = np.asarray(avg_order_value, dtype=float)
    return pd.DataFrame({"frequency": frequency, "recency": recency, "T": np.where(np.isnan(frequency), np.nan, age),
                         "monetary_value": np.where(frequency > 0, aov, 0.0)})


# -- fitting helpers --------------------------------------------------------------------------------------
def _as_arrays(*columns) -> list[np.ndarray]:
    arrays = [np.asarray(c, dtype=float).ravel() for c in columns]
    if len({a.shape for a in arrays}) != 1:
        raise ValueError("the input columns must have the same length")
    return arrays


def _compress(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct rows of `columns` and how many customers share each (the likelihood's weights)."""
    unique, counts, _ = _distinct(*columns)
    return unique, counts


def _distinct(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """The distinct rows of `columns` (sorted), how many rows share each, and each row's position among them."""
    if len(columns[0]) == 0:
        return [c[:0] for c in columns], np.zeros(0), np.zeros(0, dtype=np.int64)
    order = np.lexsort(columns[::-1])
    ordered = [c[order] for c in columns]
    starts = np.zeros(len(order), dtype=bool)
    starts[0] = True
    for column in ordered:
        starts[1:] |= column[1:] != column[:-1]
    group = np.cumsum(starts) - 1
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = group
    return [c[starts] for c in ordered], np.bincount(group).astype(float), inverse


def _fit_sample(size: int, seed: int = 0) -> np.ndarray | slice:
    """The customers a fit uses: all of them, or a fixed random FIT_SAMPLE of them when there are more."""
    if size <= FIT_SAMPLE:
        return slice(None)
    return np.sort(np.random.default_rng(seed).choice(size, FIT_SAMPLE, replace=False))


def _standard_errors(gradient_fn, params: np.ndarray) -> np.ndarray:
    """Standard errors from the observed information: the inverse Hessian of the total negative log-likelihood
    in the natural parameters (central differences of the analytic gradient); NaN if it is not invertible."""
    size = len(params)
    hessian = np.empty((size, size))
    for j in range(size):
        step = 1e-5 * max(abs(params[j]), 1e-3)
        up, down = params.copy(), params.copy()
        up[j] += step
        down[j] -= step
        hessian[:, j] = (gradient_fn(up) - gradient_fn(down)) / (2 * step)
    hessian = (hessian + hessian.T) / 2
    try:
        covariance = np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        return np.full(size, np.nan)
    variances = np.diag(covariance)
    return np.where(variances > 0, np.sqrt(np.abs(variances)), np.nan)


def _maximise(negative_ll, start: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Minimise `negative_ll(log_params) -> (value, gradient)`: the fitted log-parameters, and which of them ran to
    the bound (a ridge of the likelihood, e.g. a dropout rate the same for every customer: predictions are still
    well defined, the parameter itself is not identified)."""
    # Single-threaded: on a busy machine BLAS threads contending for the cores made each step ten times slower.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), threadpool_limits(1):
        result = minimize(negative_ll, start, jac=True, method="L-BFGS-B", bounds=[(-LOG_BOUND, LOG_BOUND)] * len(start),
                          options={"maxiter": 1000, "ftol": 1e-12, "gtol": 1e-8})
    if not np.all(np.isfinite(result.x)) or not np.isfinite(result.fun):
        raise InsufficientDataError(f"the {what} fit did not converge: {result.message}")
    return result.x, np.abs(result.x) > LOG_BOUND - 0.5


# -- BG/NBD ------------------------------------------------------------------------------------------------
# Below this mean dropout chance per purchase (a customer would make over 100 purchases before dropping out on
# average), a BG/NBD fit has found no dropout in the histories (BGNBDModel.identifies_dropout).
MIN_DROPOUT_CHANCE = 0.01


@dataclass(frozen=True)
class BGNBDModel:
    """A fitted BG/NBD model: purchase rate ~ Gamma(r, α), dropout probability ~ Beta(a, b)."""

    params: dict[str, float]
    standard_errors: dict[str, float]
    customers: int
    repeat_buyers: int
    log_likelihood: float
    fitted_on: int = 0            # customers in the fit: all, or FIT_SAMPLE of them
    at_bound: tuple[str, ...] = ()   # parameters that ran to the search bound (not identified)

    def _p(self):
        return self.params["r"], self.params["alpha"], self.params["a"], self.params["b"]

    @property
    def dropout_chance(self) -> float:
        """The mean chance that a customer drops out after a purchase, a / (a + b)."""
        return self.params["a"] / (self.params["a"] + self.params["b"])

    @property
    def identifies_dropout(self) -> bool:
        """Whether the fit finds dropout at all (`MIN_DROPOUT_CHANCE`). Below it, P(alive) is about 1 for every
        customer whatever their silence: the model has reduced to one without dropout, so P(alive) says nothing
        about who has gone."""
        return self.dropout_chance >= MIN_DROPOUT_CHANCE

    def probability_alive(self, frequency, recency, T) -> np.ndarray:
        """P(still active | history); 1 for customers without repeat purchases (as in `lifetimes`)."""
        x, t_x, age = _as_arrays(frequency, recency, T)
        r, alpha, a, b = self._p()
        log_div = (r + x) * np.log((alpha + age) / (alpha + t_x)) + np.log(a / (b + np.maximum(x, 1) - 1))
        return np.where(x == 0, 1.0, expit(-log_div))

    def expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """Expected repeat purchases in the next `t` periods given each customer's history."""
        x, t_x, age = _as_arrays(frequency, recency, T)
        r, alpha, a, b = self._p()
        t = np.asarray(t, dtype=float)
        if np.all(t == 0):
            return np.zeros(np.broadcast_shapes(np.shape(t), x.shape))
        _a, _b, _c = r + x, b + x, a + b + x - 1
        z = t / (alpha + age + t)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            _a, _b, _c, z = np.broadcast_arrays(_a, _b, _c, z)
            log_hyp = np.log(hyp2f1(_a, _b, _c, z))
            # Euler's transformation where the series overflows (long histories, high frequencies).
            bad = ~np.isfinite(log_hyp)
            if bad.any():
                log_hyp[bad] = (np.log(hyp2f1(_c[bad] - _a[bad], _c[bad] - _b[bad], _c[bad], z[bad]))
                                + (_c[bad] - _a[bad] - _b[bad]) * np.log1p(-z[bad]))
            numerator = (a + b + x - 1) / (a - 1) * (1 - np.exp(log_hyp + (r + x) * np.log((alpha + age) / (alpha + t + age))))
            denominator = 1 + (x > 0) * (a / (b + np.maximum(x, 1) - 1)) * ((alpha + age) / (alpha + t_x)) ** (r + x)
        return numerator / denominator

    def expected_purchases_new(self, t) -> np.ndarray:
        """Expected purchases of a new customer in `t` periods after the first (the unconditional E[X(t)])."""
        r, alpha, a, b = self._p()
        t = np.asarray(t, dtype=float)
        return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))


@dataclass(frozen=True)
class _Histories:
    """Distinct customer histories with weights, and the distinct frequencies (the terms that depend on the
    frequency alone are computed once per distinct value, not once per customer)."""

    x: np.ndarray
    columns: tuple[np.ndarray, ...]
    weights: np.ndarray
    levels: np.ndarray
    level_of: np.ndarray
    level_weights: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray, *columns: np.ndarray) -> "_Histories":
        (ux, *rest), weights = _compress(x, *columns)
        levels, level_of = np.unique(ux, return_inverse=True)
        return cls(ux, tuple(rest), weights, levels, level_of.ravel(),
                   np.bincount(level_of.ravel(), weights=weights, minlength=len(levels)))


def _bg_nbd_totals(log_params, h: _Histories) -> tuple[float, np.ndarray]:
    """Weighted sum of the BG/NBD log-likelihood over the histories and its gradient in log-parameters."""
    r, alpha, a, b = np.exp(log_params)
    t_x, age = h.columns
    levels, lw = h.levels, h.level_weights
    log_b_term = np.log(b + np.maximum(levels, 1) - 1)   # log(b + x − 1), x >= 1 where used
    level_part = (gammaln(r + levels) - gammaln(r) + gammaln(a + b) + gammaln(b + levels) - gammaln(b)
                  - gammaln(a + b + levels))
    rx = r + h.x
    log_alpha_age = np.log(alpha + age)
    log_alpha_tx = np.log(alpha + t_x)
    a3 = -rx * log_alpha_age
    # a4 − a3 for repeat buyers; customers without a repeat purchase have only the a3 term.
    gap = np.where(h.x > 0, np.log(a) - log_b_term[h.level_of] - rx * (log_alpha_tx - log_alpha_age), -np.inf)
    w4 = expit(gap)                       # the a4 share of the likelihood
    values = a3 + np.logaddexp(0.0, gap)
    w = h.weights
    total = lw @ level_part + r * np.log(alpha) * w.sum() + w @ values
    d_r = (lw @ (digamma(r + levels) - digamma(r)) + np.log(alpha) * w.sum()
           + w @ (-log_alpha_age + w4 * (log_alpha_age - log_alpha_tx)))
    d_alpha = r / alpha * w.sum() - w @ (rx * ((1 - w4) / (alpha + age) + w4 / (alpha + t_x)))
    weighted_w4 = w * w4
    d_a = lw @ (digamma(a + b) - digamma(a + b + levels)) + weighted_w4.sum() / a
    d_b = (lw @ (digamma(a + b) + digamma(b + levels) - digamma(b) - digamma(a + b + levels))
           - weighted_w4 @ np.exp(-log_b_term)[h.level_of])
    return float(total), np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b])


def fit_bg_nbd(frequency, recency, T) -> BGNBDModel:
    """Fit BG/NBD by maximum likelihood; `InsufficientDataError` when the data cannot support it."""
    x, t_x, age = _as_arrays(frequency, recency, T)
    keep = np.isfinite(x) & np.isfinite(t_x) & np.isfinite(age)
    x, t_x, age = x[keep], t_x[keep], age[keep]
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > age + 1e-9) or np.any(age <= 0):
        raise ValueError("need frequency >= 0, 0 <= recency <= T and T > 0 for every customer")
    repeat = int((x > 0).sum())
    customers = len(x)
    if customers < MIN_CUSTOMERS:
        raise InsufficientDataError(f"{customers:,} customers are too few for a BG/NBD fit (at least {MIN_CUSTOMERS})")
    if repeat < max(MIN_REPEAT_BUYERS, MIN_REPEAT_SHARE * customers):
        raise InsufficientDataError(
            f"only {repeat:,} of {customers:,} customers bought more than once: too few repeat buyers to estimate "
            "purchase and dropout rates")
    sample = _fit_sample(customers)
    x, t_x, age = x[sample], t_x[sample], age[sample]
    scale = 10.0 / age.max()   # time rescaled to at most 10 periods (as `lifetimes` does) for a well-scaled α
    scaled = _Histories.of(x, t_x * scale, age * scale)
    count = scaled.weights.sum()

    def negative_ll(log_params):
        value, gradient = _bg_nbd_totals(log_params, scaled)
        return -value / count, -gradient / count

    log_fitted, bounded = _maximise(negative_ll, np.zeros(4), "BG/NBD")
    fitted = np.exp(log_fitted)
    fitted[1] /= scale
    histories = _Histories.of(x, t_x, age)
    errors = _standard_errors(lambda params: -_bg_nbd_totals(np.log(params), histories)[1] / params, fitted)
    names = ("r", "alpha", "a", "b")
    return BGNBDModel(dict(zip(names, map(float, fitted))), dict(zip(names, map(float, errors))), customers, repeat,
                      _bg_nbd_totals(np.log(fitted), histories)[0], fitted_on=len(x),
                      at_bound=tuple(n for n, b in zip(names, bounded) if b))


# -- Gamma-Gamma -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GammaGammaModel:
    """A fitted Gamma-Gamma model of the value per repeat purchase (shape p; scale ~ Gamma(q, v))."""

    params: dict[str, float]
    standard_errors: dict[str, float]
    customers: int
    log_likelihood: float
    frequency_value_correlation: float = field(default=float("nan"))
    fitted_on: int = 0
    at_bound: tuple[str, ...] = ()

    @property
    def population_mean(self) -> float:
        """Mean purchase value of the population, v·p/(q − 1) (infinite when q <= 1)."""
        p, q, v = self.params["p"], self.params["q"], self.params["v"]
        return v * p / (q - 1) if q > 1 else float("inf")

    def expected_average_order_value(self, frequency, monetary_value) -> np.ndarray:
        """E[value per purchase | history]: the customer's mean shrunk towards the population mean."""
        x, m = _as_arrays(frequency, monetary_value)
        p, q, v = self.params["p"], self.params["q"], self.params["v"]
        weight = p * x / (p * x + q - 1)
        return (1 - weight) * self.population_mean + weight * m


def _gamma_gamma_totals(log_params, h: _Histories) -> tuple[float, np.ndarray]:
    """Weighted sum of the Gamma-Gamma log-likelihood over the histories and its gradient in log-parameters."""
    p, q, v = np.exp(log_params)
    (m,) = h.columns
    levels, lw, w = h.levels, h.level_weights, h.weights
    pl = p * levels
    log_xm_v = np.log(h.x * m + v)
    log_m = np.log(m)
    total = (lw @ (gammaln(pl + q) - gammaln(pl) - gammaln(q) + q * np.log(v) + pl * np.log(levels))
             + w @ ((p * h.x - 1) * log_m - (p * h.x + q) * log_xm_v))
    d_p = lw @ (levels * (digamma(pl + q) - digamma(pl) + np.log(levels))) + w @ (h.x * (log_m - log_xm_v))
    d_q = lw @ (digamma(pl + q) - digamma(q) + np.log(v)) - w @ log_xm_v
    d_v = q / v * w.sum() - w @ ((p * h.x + q) / (h.x * m + v))
    return float(total), np.array([d_p * p, d_q * q, d_v * v])


def fit_gamma_gamma(frequency, monetary_value) -> GammaGammaModel:
    """Fit Gamma-Gamma on the repeat buyers (frequency > 0, positive value); others are ignored."""
    x, m = _as_arrays(frequency, monetary_value)
    keep = np.isfinite(x) & np.isfinite(m) & (x > 0) & (m > 0)
    x, m = x[keep], m[keep]
    if len(x) < MIN_REPEAT_BUYERS:
        raise InsufficientDataError(f"{len(x):,} repeat buyers with a purchase value are too few for a Gamma-Gamma "
                                    f"fit (at least {MIN_REPEAT_BUYERS})")
    customers = len(x)
    sample = _fit_sample(customers)
    x, m = x[sample], m[sample]
    scale = 1.0 / np.mean(m)   # values rescaled to mean 1: v scales with them, p and q do not
    scaled = _Histories.of(x, m * scale)
    count = scaled.weights.sum()

    def negative_ll(log_params):
        value, gradient = _gamma_gamma_totals(log_params, scaled)
        return -value / count, -gradient / count

    log_fitted, bounded = _maximise(negative_ll, np.zeros(3), "Gamma-Gamma")
    fitted = np.exp(log_fitted)
    fitted[2] /= scale
    histories = _Histories.of(x, m)
    errors = _standard_errors(lambda params: -_gamma_gamma_totals(np.log(params), histories)[1] / params, fitted)
    names = ("p", "q", "v")
    correlation = float(np.corrcoef(x, m)[0, 1]) if np.std(x) > 0 and np.std(m) > 0 else float("nan")
    return GammaGammaModel(dict(zip(names, map(float, fitted))), dict(zip(names, map(float, errors))), customers,
                           _gamma_gamma_totals(np.log(fitted), histories)[0], correlation, fitted_on=len(x),
                           at_bound=tuple(n for n, b in zip(names, bounded) if b))


# -- lifetime value ----------------------------------------------------------------------------------------
def customer_lifetime_value(bg: BGNBDModel, gg: GammaGammaModel, frequency, recency, T, monetary_value,
                            months: int = 12, discount_rate: float = 0.01, margin: float = 1.0,
                            freq: str = "D") -> np.ndarray:
    """Discounted value of each customer's expected purchases over the next `months` (monthly `discount_rate`),
    times the gross `margin`: as `lifetimes`' `customer_lifetime_value` (which has margin 1)."""
    if months < 1:
        raise ValueError("the horizon must be at least one month")
    if freq not in PERIODS_PER_MONTH:
        raise ValueError(f"freq must be one of {', '.join(PERIODS_PER_MONTH)}")
    x, t_x, age, m = _as_arrays(frequency, recency, T, monetary_value)
    known = np.isfinite(x) & np.isfinite(t_x) & np.isfinite(age) & np.isfinite(m)
    (ux, ut, uT, um), _, index = _distinct(x[known], t_x[known], age[known], m[known])
    order_value = gg.expected_average_order_value(ux, um)
    factor = PERIODS_PER_MONTH[freq]
    value = np.zeros(len(ux))
    previous = np.zeros(len(ux))
    for month in range(1, months + 1):
        cumulative = bg.expected_purchases(month * factor, ux, ut, uT)
        value += order_value * (cumulative - previous) / (1 + discount_rate) ** month
        previous = cumulative
    result = np.full(len(x), np.nan)
    result[known] = margin * value[index]
    return result


def customer_predictions(bg: BGNBDModel, gg: GammaGammaModel, frequency, recency, T, monetary_value,
                         months: int = 12, discount_rate: float = 0.01, margin: float = 1.0,
                         freq: str = "D") -> pd.DataFrame:
    """Per customer: P(alive), expected purchases over `months`, expected order value and CLV, computed once per
    distinct history (a million customers share far fewer histories) and NaN where the history is unknown."""
    x, t_x, age, m = _as_arrays(frequency, recency, T, monetary_value)
    known = np.isfinite(x) & np.isfinite(t_x) & np.isfinite(age) & np.isfinite(m)
    (ux, ut, uT, um), _, index = _distinct(x[known], t_x[known], age[known], m[known])
    distinct = {
        "p_alive": bg.probability_alive(ux, ut, uT),
        "expected_purchases": bg.expected_purchases(months * PERIODS_PER_MONTH[freq], ux, ut, uT),
        "expected_aov": gg.expected_average_order_value(ux, um),
        "clv": customer_lifetime_value(bg, gg, ux, ut, uT, um, months=months, discount_rate=discount_rate,
                                       margin=margin, freq=freq),
    }
    out = {}
    for name, values in distinct.items():
        column = np.full(len(x), np.nan)
        column[known] = values[index]
        out[name] = column
    return pd.DataFrame(out)

