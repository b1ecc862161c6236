"""A/B test readouts (SPEC §4.10): did a variant work, how sure are we, for whom, and how long must the next
test run. Pure functions on small frames (one row per variant, or per variant × segment); no Panel import.

Methods, each tested against its reference in tests/analytics/test_experiments.py:
- conversion rate interval: Wilson score (statsmodels `proportion_confint(method="wilson")`);
- variant − control: two-sided z-test with pooled variance (`proportions_ztest`) and the Newcombe hybrid
  score interval of the difference (`confint_proportions_2indep(method="newcomb")`, which stays defined
  at 0 % and 100 % conversion, where the Wald interval collapses to a point);
- relative lift: the log-adjusted interval of the ratio (`confint_proportions_2indep(compare="ratio")`);
- multiple comparisons: Holm (`multipletests(method="holm")`) across every comparison of one experiment;
- Bayesian: Beta(1, 1) prior, P(variant > control) in closed form (Evan Miller's sum) and the expected
  loss of shipping the variant, E[max(p_control − p_variant, 0)] (GrowthBook's "risk");
- revenue per visitor: a Welch t interval; the file holds revenue totals only, so each visitor's revenue
  is modelled as converted × order value, order values with coefficient of variation ORDER_VALUE_CV;
- sample ratio mismatch: chi-square of visitors against the intended split;
- heterogeneity across segments: Cochran's Q of the per-segment differences (inverse-variance weights);
- power: `NormalIndPower` on Cohen's h (`proportion_effectsize`), the arcsine effect size.

Undefined results are NaN with a sentence in the `note` column saying why; nothing here warns. The sentences
are Markdown; names from the file pass through `format.escape_markdown` / `format.strong`.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import betaln, logsumexp
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (confint_proportions_2indep, proportion_confint, proportion_effectsize,
                                          proportions_ztest)

from ..format import NA, count, escape_markdown, percent, strong

ALPHA = 0.05
POWER = 0.8
SRM_ALPHA = 0.001          # a sample-ratio p-value below this blocks the verdict (Optimizely/Statsig practice)
PRIOR = (1, 1)             # Beta prior of every conversion rate (integers: the closed form needs them)
ORDER_VALUE_CV = 1.0       # assumed spread of order values (sd / mean) for the revenue-per-visitor interval
DIFF_METHOD = "newcomb"    # confint_proportions_2indep method of the difference interval
RATIO_METHOD = "log-adjusted"
CHUNK = 1_000_000          # terms of the closed-form sum evaluated at once
EXACT_TERMS = 5_000_000    # beyond this many terms the Beta posteriors are Gaussian to many digits: use that

READOUT_COLUMNS = [
    "variant", "is_control", "visitors", "conversions", "rate", "rate_low", "rate_high",
    "diff", "diff_low", "diff_high", "lift", "lift_low", "lift_high", "p_value", "p_adjusted",
    "prob_beat_control", "expected_loss", "revenue", "rpv", "rpv_diff", "rpv_diff_low", "rpv_diff_high",
    "rpv_p_value", "note",
]
PAIR_COLUMNS = ["better", "worse", "diff", "p_value", "p_adjusted", "significant"]
HETEROGENEITY_COLUMNS = ["variant", "segments", "q", "df", "p_value", "i2", "note"]


# -- control ----------------------------------------------------------------------------------------

def _is_control_name(name) -> bool:
    return isinstance(name, str) and name.strip().casefold() == "control"


def choose_control(variants: Sequence[str]) -> tuple[str | None, bool]:
    """The control and whether it was named: the first variant called "control" in any case, else the first."""
    names = list(variants)
    for name in names:
        if _is_control_name(name):
            return name, True
    return (names[0], False) if names else (None, False)


# -- single rates and pairs -------------------------------------------------------------------------

def _valid_counts(conversions: float, visitors: float) -> str:
    """'' when the counts describe a rate, else why not."""
    if not (np.isfinite(visitors) and np.isfinite(conversions)) or visitors < 0 or conversions < 0:
        return "missing or negative counts"
    if visitors == 0:
        return "no visitors"
    if conversions > visitors:
        return "more conversions than visitors"
    return ""


def wilson_interval(conversions: float, visitors: float, alpha: float = ALPHA) -> tuple[float, float]:
    """Wilson score interval of a conversion rate; NaNs without visitors."""
    if _valid_counts(conversions, visitors):
        return math.nan, math.nan
    low, high = proportion_confint(conversions, visitors, alpha=alpha, method="wilson")
    return float(low), float(high)


def z_test(conversions: float, visitors: float, control_conversions: float, control_visitors: float
           ) -> tuple[float, str]:
    """Two-sided p-value of the pooled two-proportion z-test, and why it is n/a when it is."""
    pooled = (conversions + control_conversions) / (visitors + control_visitors)
    if pooled in (0.0, 1.0):
        return math.nan, ("no one converted in either arm" if pooled == 0 else "everyone converted in both arms")
    _, p_value = proportions_ztest([conversions, control_conversions], [visitors, control_visitors])
    return float(p_value), ""


def diff_interval(conversions, visitors, control_conversions, control_visitors, alpha: float = ALPHA
                  ) -> tuple[float, float]:
    """Newcombe interval of rate − control rate."""
    low, high = confint_proportions_2indep(conversions, visitors, control_conversions, control_visitors,
                                           method=DIFF_METHOD, compare="diff", alpha=alpha)
    return float(low), float(high)


def lift_interval(conversions, visitors, control_conversions, control_visitors, alpha: float = ALPHA
                  ) -> tuple[float, float, str]:
    """Relative lift (rate / control rate − 1) and its log-adjusted interval, or NaNs and the reason."""
    if control_conversions == 0:
        return math.nan, math.nan, "the control has no conversions, so a relative lift is undefined"
    if conversions == visitors and control_conversions == control_visitors:
        return math.nan, math.nan, "everyone converted in both arms"
    low, high = confint_proportions_2indep(conversions, visitors, control_conversions, control_visitors,
                                           method=RATIO_METHOD, compare="ratio", alpha=alpha)
    return float(low) - 1, float(high) - 1, ""


def holm(p_values) -> np.ndarray:
    """Holm-adjusted p-values, as statsmodels' `multipletests(method="holm")` gives them (which spends
    0.1 s per call in `gc.collect()`); NaN stays NaN and does not count as a comparison."""
    values = np.asarray(p_values, dtype=float)
    adjusted = np.full(values.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(values))
    order = finite[np.argsort(values[finite], kind="stable")]
    stepped = values[order] * np.arange(len(order), 0, -1)
    adjusted[order] = np.minimum(np.maximum.accumulate(stepped), 1.0)
    return adjusted


# -- Bayesian Beta-Binomial -------------------------------------------------------------------------

def posterior(conversions: float, visitors: float) -> tuple[float, float]:
    """Beta posterior parameters of a conversion rate under the PRIOR."""
    return PRIOR[0] + conversions, PRIOR[1] + visitors - conversions


def _log_sum_greater(a_x: int, b_x: float, a_y: float, b_y: float) -> float:
    """log P(X > Y) for X ~ Beta(a_x, b_x), Y ~ Beta(a_y, b_y) with integer a_x (Evan Miller's sum):
    Σ_{i<a_x} B(a_y + i, b_x + b_y) / ((b_x + i) B(1 + i, b_x) B(a_y, b_y))."""
    logs = []
    for start in range(0, int(a_x), CHUNK):
        i = np.arange(start, min(int(a_x), start + CHUNK), dtype=float)
        terms = betaln(a_y + i, b_x + b_y) - np.log(b_x + i) - betaln(1 + i, b_x) - betaln(a_y, b_y)
        logs.append(logsumexp(terms))
    return float(logsumexp(logs))


def _moments(a: float, b: float) -> tuple[float, float]:
    return a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1))


def prob_greater(a_x: float, b_x: float, a_y: float, b_y: float) -> float:
    """P(X > Y) for independent X ~ Beta(a_x, b_x), Y ~ Beta(a_y, b_y), integer parameters, exactly.

    Sums over a_x terms, or over b_y terms of the mirrored question P(1 − Y > 1 − X), whichever is shorter;
    past EXACT_TERMS terms (millions of conversions and non-conversions alike) the normal approximation.
    """
    if min(a_x, b_y) > EXACT_TERMS:
        (mean_x, var_x), (mean_y, var_y) = _moments(a_x, b_x), _moments(a_y, b_y)
        return float(stats.norm.cdf((mean_x - mean_y) / math.sqrt(var_x + var_y)))
    if a_x <= b_y:
        log_p = _log_sum_greater(int(a_x), b_x, a_y, b_y)
    else:
        log_p = _log_sum_greater(int(b_y), a_y, b_x, a_x)
    return float(min(1.0, max(0.0, math.exp(log_p))))


def expected_loss(a_variant: float, b_variant: float, a_control: float, b_control: float) -> float:
    """E[max(p_control − p_variant, 0)]: the conversion rate given up, on average, by shipping the variant.

    E[A·1(A > B)] = mean(A)·P(A⁺ > B) with A⁺ ~ Beta(a + 1, b), and likewise for B, so the loss is exact.
    """
    mean_control = a_control / (a_control + b_control)
    mean_variant = a_variant / (a_variant + b_variant)
    if min(a_control + 1, b_variant) > EXACT_TERMS:   # Gaussian: E[max(D, 0)] = m Φ(m/s) + s φ(m/s)
        shift = mean_control - mean_variant
        spread = math.sqrt(_moments(a_control, b_control)[1] + _moments(a_variant, b_variant)[1])
        return float(shift * stats.norm.cdf(shift / spread) + spread * stats.norm.pdf(shift / spread))
    loss = (mean_control * prob_greater(a_control + 1, b_control, a_variant, b_variant)
            - mean_variant * prob_greater(a_control, b_control, a_variant + 1, b_variant))
    return max(loss, 0.0)


def posterior_density(conversions: float, visitors: float, grid: np.ndarray) -> np.ndarray:
    """Density of the Beta posterior of a rate on `grid`."""
    a, b = posterior(conversions, visitors)
    return stats.beta.pdf(grid, a, b)


# -- revenue per visitor ----------------------------------------------------------------------------

def revenue_moments(revenue: float, conversions: float, visitors: float, cv: float = ORDER_VALUE_CV
                    ) -> tuple[float, float]:
    """Mean and variance of one visitor's revenue when it is converted × order value.

    Conversion ~ Bernoulli(p), order value has mean revenue / conversions and sd cv × mean, so
    Var = p·m²·(1 + cv²) − (p·m)². Only totals are in the file: the variance rests on the assumed cv.
    """
    mean = revenue / visitors
    if conversions == 0:
        return mean, 0.0
    rate, order_value = conversions / visitors, revenue / conversions
    return mean, max(rate * order_value ** 2 * (1 + cv ** 2) - mean ** 2, 0.0)


def welch_interval(mean: float, var: float, n: float, control_mean: float, control_var: float,
                   control_n: float, alpha: float = ALPHA) -> tuple[float, float, float, float]:
    """Difference of means with Welch's t interval and two-sided p-value (sample variances, ddof = 1)."""
    diff = mean - control_mean
    if n < 2 or control_n < 2 or var + control_var == 0:
        return diff, math.nan, math.nan, math.nan
    se_parts = var / n, control_var / control_n
    se = math.sqrt(sum(se_parts))
    df = sum(se_parts) ** 2 / (se_parts[0] ** 2 / (n - 1) + se_parts[1] ** 2 / (control_n - 1))
    half = stats.t.isf(alpha / 2, df) * se
    p_value = 2 * stats.t.sf(abs(diff) / se, df)
    return diff, diff - half, diff + half, float(p_value)


# -- the readout ------------------------------------------------------------------------------------

def variant_totals(frame: pd.DataFrame) -> pd.DataFrame:
    """Visitors, conversions (and revenue, if present) summed per variant, variants in first-seen order."""
    columns = ["visitors", "conversions"] + (["revenue"] if "revenue" in frame else [])
    totals = frame.groupby("variant", sort=False)[columns].sum(min_count=1).reset_index()
    for column in columns:
        totals[column] = totals[column].astype(float)
    return totals


def compare_variants(frame: pd.DataFrame, control: str | None = None, alpha: float = ALPHA,
                     cv: float = ORDER_VALUE_CV) -> pd.DataFrame:
    """One row per variant (READOUT_COLUMNS): its rate, and versus the control its difference, lift,
    p-value, Holm-adjusted p-value, chance to beat the control, expected loss and revenue per visitor.

    `frame` has `variant`, `visitors`, `conversions` and optionally `revenue`; several rows of one variant
    (e.g. segments) are summed. The control is `control`, else found by `choose_control`.
    """
    totals = variant_totals(frame)
    if control is None:
        control = choose_control(totals["variant"])[0]
    if control is not None and control not in set(totals["variant"]):
        raise ValueError(f"{control!r} is not one of the variants")
    has_revenue = "revenue" in totals and totals["revenue"].notna().any()
    reference = totals[totals["variant"] == control].iloc[0] if control is not None else None
    rows = [_compare_row(row, reference, row["variant"] == control, has_revenue, alpha, cv)
            for _, row in totals.iterrows()]
    out = pd.DataFrame(rows, columns=READOUT_COLUMNS)
    out["p_adjusted"] = holm(out["p_value"])
    return out


def _compare_row(row, control, is_control: bool, has_revenue: bool, alpha: float, cv: float) -> dict:
    c, n = float(row["conversions"]), float(row["visitors"])
    out = dict.fromkeys(READOUT_COLUMNS, math.nan)
    out.update(variant=row["variant"], is_control=is_control, visitors=n, conversions=c, note="")
    revenue = float(row["revenue"]) if has_revenue and pd.notna(row.get("revenue")) else math.nan
    out["revenue"] = revenue
    problem = _valid_counts(c, n)
    if problem:
        out["note"] = problem
        return out
    out["rate"] = c / n
    out["rate_low"], out["rate_high"] = wilson_interval(c, n, alpha)
    if np.isfinite(revenue):
        out["rpv"] = revenue / n
    if is_control:
        out["note"] = "control"
        return out
    c0, n0 = float(control["conversions"]), float(control["visitors"])
    control_problem = _valid_counts(c0, n0)
    if control_problem:
        out["note"] = f"no comparison: the control has {control_problem}"
        return out
    notes = []
    out["diff"] = c / n - c0 / n0
    out["diff_low"], out["diff_high"] = diff_interval(c, n, c0, n0, alpha)
    out["p_value"], reason = z_test(c, n, c0, n0)
    notes.append(f"p-value n/a: {reason}" if reason else "")
    low, high, reason = lift_interval(c, n, c0, n0, alpha)
    if not reason:
        out["lift"], out["lift_low"], out["lift_high"] = (c / n) / (c0 / n0) - 1, low, high
    else:
        notes.append(f"lift n/a: {reason}")
    a, b = posterior(c, n)
    a0, b0 = posterior(c0, n0)
    out["prob_beat_control"] = prob_greater(a, b, a0, b0)
    out["expected_loss"] = expected_loss(a, b, a0, b0)
    revenue0 = float(control["revenue"]) if has_revenue and pd.notna(control.get("revenue")) else math.nan
    if np.isfinite(revenue) and np.isfinite(revenue0):
        mean, var = revenue_moments(revenue, c, n, cv)
        mean0, var0 = revenue_moments(revenue0, c0, n0, cv)
        out["rpv_diff"], out["rpv_diff_low"], out["rpv_diff_high"], out["rpv_p_value"] = welch_interval(
            mean, var, n, mean0, var0, n0, alpha)
        if not np.isfinite(out["rpv_p_value"]):
            notes.append("revenue interval n/a: needs 2 visitors per arm and some revenue")
    out["note"] = "; ".join(n for n in notes if n)
    return out


# -- several variants: the tournament ---------------------------------------------------------------

@dataclass(frozen=True)
class Tournament:
    """Every pair of variants compared, Holm-corrected across pairs; the winner beats all others."""

    pairs: pd.DataFrame
    winner: str | None


def tournament(frame: pd.DataFrame, alpha: float = ALPHA) -> Tournament:
    """Pairwise z-tests of all variants (Holm across the pairs). The winner is the variant that is
    significantly better than every other one after correction; None when no variant is."""
    totals = variant_totals(frame)
    valid = totals[[not _valid_counts(c, n) for c, n in zip(totals["conversions"], totals["visitors"], strict=True)]]
    rows = []
    for (_, one), (_, two) in combinations(valid.iterrows(), 2):
        better, worse = (one, two) if one["conversions"] / one["visitors"] >= two["conversions"] / two["visitors"] \
            else (two, one)
        p_value, _ = z_test(better["conversions"], better["visitors"], worse["conversions"], worse["visitors"])
        rows.append({"better": better["variant"], "worse": worse["variant"],
                     "diff": better["conversions"] / better["visitors"] - worse["conversions"] / worse["visitors"],
                     "p_value": p_value})
    pairs = pd.DataFrame(rows, columns=PAIR_COLUMNS[:4])
    pairs["p_adjusted"] = holm(pairs["p_value"])
    pairs["significant"] = (pairs["p_adjusted"] < alpha) & (pairs["diff"] > 0)
    winner = None
    if len(valid) >= 2:
        wins = pairs[pairs["significant"]].groupby("better").size()
        best = wins[wins == len(valid) - 1]
        winner = str(best.index[0]) if len(best) else None
    return Tournament(pairs[PAIR_COLUMNS], winner)


# -- sample ratio mismatch --------------------------------------------------------------------------

@dataclass(frozen=True)
class SampleRatioCheck:
    """Chi-square test of the visitor split against the intended shares."""

    chi2: float
    p_value: float
    shares: tuple[float, ...]
    note: str = ""

    @property
    def mismatch(self) -> bool:
        return bool(np.isfinite(self.p_value) and self.p_value < SRM_ALPHA)


def sample_ratio_check(visitors, shares: Sequence[float] | None = None) -> SampleRatioCheck:
    """Do the visitors per variant match the intended split (equal by default)?"""
    observed = np.asarray(visitors, dtype=float)
    k = len(observed)
    if shares is None:
        shares = [1.0] * k
    weights = np.asarray(shares, dtype=float)
    if k < 2:
        return SampleRatioCheck(math.nan, math.nan, tuple(weights), "one variant: no split to check")
    if len(weights) != k or not np.all(np.isfinite(weights)) or np.any(weights <= 0):
        raise ValueError(f"the split needs {k} positive shares, one per variant")
    if not np.all(np.isfinite(observed)) or observed.sum() <= 0:
        return SampleRatioCheck(math.nan, math.nan, tuple(weights / weights.sum()), "no visitors")
    weights = weights / weights.sum()
    chi2, p_value = stats.chisquare(observed, f_exp=weights * observed.sum())
    return SampleRatioCheck(float(chi2), float(p_value), tuple(weights))


def parse_split(text: str, variants: int) -> tuple[tuple[float, ...] | None, str]:
    """Shares from text such as "50/50" or "2:1:1" (None and '' when empty = equal), or None and why not."""
    parts = [p for p in re.split(r"[\s/,:;]+", (text or "").strip()) if p]
    if not parts:
        return None, ""
    try:
        shares = tuple(float(p.rstrip("%")) for p in parts)
    except ValueError:
        return None, f"“{text}” is not a list of numbers such as 50/50"
    if len(shares) != variants:
        return None, f"{len(shares)} shares given for {variants} variants"
    if not all(math.isfinite(s) and s > 0 for s in shares):
        return None, "every share must be a positive number"
    return shares, ""


# -- segments ---------------------------------------------------------------------------------------

def compare_segments(frame: pd.DataFrame, control: str | None = None, alpha: float = ALPHA,
                     cv: float = ORDER_VALUE_CV) -> pd.DataFrame:
    """The readout per segment (`segment` first), p-values Holm-corrected across every segment × variant
    comparison, and `srm_p_value`: each segment's visitor split against an equal one."""
    if control is None:
        control = choose_control(variant_totals(frame)["variant"])[0]
    parts = []
    for segment, rows in frame.groupby("segment", sort=False):
        readout = compare_variants(rows, control, alpha, cv) if control in set(rows["variant"]) else None
        if readout is None:
            continue
        readout.insert(0, "segment", segment)
        counts = readout["visitors"].to_numpy(dtype=float)
        readout["srm_p_value"] = sample_ratio_check(counts).p_value if counts.sum() > 0 else math.nan
        parts.append(readout)
    if not parts:
        return pd.DataFrame(columns=["segment", *READOUT_COLUMNS, "srm_p_value"])
    out = pd.concat(parts, ignore_index=True)
    out["p_adjusted"] = holm(out["p_value"])
    return out


def heterogeneity(segments: pd.DataFrame) -> pd.DataFrame:
    """Per variant: Cochran's Q of its per-segment differences from the control (inverse-variance
    weights, unpooled variance), degrees of freedom, p-value and I²; segments without variance left out."""
    rows = []
    for variant, group in segments[~segments["is_control"]].groupby("variant", sort=False):
        control = segments[segments["is_control"]].set_index("segment")
        effects, variances = [], []
        for _, row in group.iterrows():
            if not np.isfinite(row["diff"]) or row["segment"] not in control.index:
                continue
            base = control.loc[row["segment"]]
            var = (row["rate"] * (1 - row["rate"]) / row["visitors"]
                   + base["rate"] * (1 - base["rate"]) / base["visitors"])
            if var > 0:
                effects.append(row["diff"])
                variances.append(var)
        if len(effects) < 2:
            rows.append({"variant": variant, "segments": len(effects), "q": math.nan, "df": len(effects) - 1,
                         "p_value": math.nan, "i2": math.nan,
                         "note": "fewer than two segments with variation: nothing to compare"})
            continue
        weights = 1 / np.asarray(variances)
        effect = np.asarray(effects)
        pooled = float(weights @ effect / weights.sum())
        q = float(weights @ (effect - pooled) ** 2)
        df = len(effects) - 1
        rows.append({"variant": variant, "segments": len(effects), "q": q, "df": df,
                     "p_value": float(stats.chi2.sf(q, df)), "i2": max(0.0, (q - df) / q) if q > 0 else 0.0,
                     "note": ""})
    return pd.DataFrame(rows, columns=HETEROGENEITY_COLUMNS)


# -- power ------------------------------------------------------------------------------------------

def treatment_rate(baseline: float, mde: float, relative: bool = False) -> float:
    """The rate a variant must reach: baseline + mde, or baseline × (1 + mde) when relative."""
    return baseline * (1 + mde) if relative else baseline + mde


def _check_design(baseline: float, treatment: float, alpha: float, power: float | None, ratio: float) -> None:
    if not 0 <= baseline <= 1:
        raise ValueError("the baseline conversion rate must be between 0 % and 100 %")
    if not 0 <= treatment <= 1:
        raise ValueError(f"baseline + effect is {treatment:.2%}: it must stay between 0 % and 100 %")
    if treatment == baseline:
        raise ValueError("the minimum detectable effect must not be zero")
    if not 0 < alpha < 1:
        raise ValueError("α must be between 0 and 1")
    if power is not None and not alpha < power < 1:
        raise ValueError("power must be above α and below 1")
    if not (math.isfinite(ratio) and ratio > 0):
        raise ValueError("the allocation ratio must be positive")


def _solve_nobs1(effect: float, alpha: float, power: float, ratio: float) -> float:
    """statsmodels' per-control-arm sample size; its normal closed form where its root finder cannot go."""
    with np.errstate(invalid="ignore", divide="ignore"):
        nobs1 = NormalIndPower().solve_power(effect_size=effect, alpha=alpha, power=power, ratio=ratio,
                                             alternative="two-sided")
    nobs1 = float(np.squeeze(nobs1))
    if not math.isfinite(nobs1) or nobs1 <= 0:
        nobs1 = (stats.norm.isf(alpha / 2) + stats.norm.ppf(power)) ** 2 / effect ** 2 * (1 + 1 / ratio)
    return nobs1


def sample_size(baseline: float, mde: float, alpha: float = ALPHA, power: float = POWER,
                relative: bool = False, ratio: float = 1.0) -> int:
    """Visitors in the control arm (the treatment arm gets `ratio` times as many) for a two-sided test to
    detect `mde` (absolute, or relative when `relative`) with `power` at `alpha`: statsmodels'
    NormalIndPower on Cohen's h, rounded up. Raises ValueError for impossible designs."""
    treatment = treatment_rate(baseline, mde, relative)
    _check_design(baseline, treatment, alpha, power, ratio)
    return math.ceil(_solve_nobs1(float(proportion_effectsize(treatment, baseline)), alpha, power, ratio))


def arm_sizes(control_visitors: int, ratio: float = 1.0) -> tuple[int, int]:
    """Visitors in the control and the treatment arm."""
    return int(control_visitors), math.ceil(control_visitors * ratio)


def days_needed(control_visitors: int, daily_traffic: float, ratio: float = 1.0) -> int:
    """Whole days until both arms are full at `daily_traffic` visitors a day entering the test."""
    if not daily_traffic > 0:
        raise ValueError("daily traffic must be positive")
    return math.ceil(sum(arm_sizes(control_visitors, ratio)) / daily_traffic)


def achieved_power(baseline: float, treatment: float, control_visitors: float, treatment_visitors: float,
                   alpha: float = ALPHA) -> float:
    """Power a finished test of these sizes had to detect `treatment` against `baseline` (two-sided)."""
    _check_design(baseline, treatment, alpha, None, treatment_visitors / control_visitors
                  if control_visitors > 0 else math.nan)
    effect = float(proportion_effectsize(treatment, baseline))
    return float(NormalIndPower().power(effect_size=effect, nobs1=control_visitors, alpha=alpha,
                                        ratio=treatment_visitors / control_visitors, alternative="two-sided"))


def power_curve(baseline: float, treatment: float, control_visitors, alpha: float = ALPHA,
                ratio: float = 1.0) -> np.ndarray:
    """Power at each control-arm size in `control_visitors` (the treatment arm is `ratio` times larger)."""
    _check_design(baseline, treatment, alpha, None, ratio)
    effect = float(proportion_effectsize(treatment, baseline))
    sizes = np.asarray(control_visitors, dtype=float)
    return NormalIndPower().power(effect_size=effect, nobs1=sizes, alpha=alpha, ratio=ratio,
                                  alternative="two-sided")


def detectable_lift(baseline: float, control_visitors: float, treatment_visitors: float, alpha: float = ALPHA,
                    power: float = POWER) -> float:
    """The smallest absolute rise above `baseline` these arm sizes detect with `power` (NaN if none can)."""
    if not (control_visitors >= 2 and treatment_visitors >= 2 and 0 <= baseline < 1):
        return math.nan
    effect = _solve_effect(control_visitors, treatment_visitors / control_visitors, alpha, power)
    angle = math.asin(math.sqrt(baseline)) + effect / 2
    return math.sin(angle) ** 2 - baseline if angle <= math.pi / 2 else math.nan


def _solve_effect(nobs1: float, ratio: float, alpha: float, power: float) -> float:
    """Cohen's h that NormalIndPower detects with `power` at these sizes."""
    with np.errstate(invalid="ignore", divide="ignore"):
        effect = NormalIndPower().solve_power(effect_size=None, nobs1=nobs1, alpha=alpha, power=power,
                                              ratio=ratio, alternative="two-sided")
    effect = float(np.squeeze(effect))
    if not math.isfinite(effect) or effect <= 0:
        effect = (stats.norm.isf(alpha / 2) + stats.norm.ppf(power)) * math.sqrt((1 + 1 / ratio) / nobs1)
    return effect


# -- one experiment ---------------------------------------------------------------------------------

@dataclass
class ExperimentReadout:
    """Everything the Experiments section says about one experiment."""

    experiment: str
    control: str | None
    control_named: bool
    variants: pd.DataFrame
    segments: pd.DataFrame
    heterogeneity: pd.DataFrame
    tournament: Tournament
    srm: SampleRatioCheck
    alpha: float = ALPHA
    split_note: str = ""
    detectable: float = math.nan   # absolute lift the smallest variant arm could detect at POWER
    notes: list[str] = field(default_factory=list)


def analyse_experiment(rows: pd.DataFrame, experiment: str = "", control: str | None = None,
                       alpha: float = ALPHA, split: str = "", cv: float = ORDER_VALUE_CV) -> ExperimentReadout:
    """The readout of one experiment from its variant × segment rows (columns as ab_test_results.csv);
    `split` is the intended split as text ("50/50"; empty = equal)."""
    totals = variant_totals(rows)
    names = list(totals["variant"])
    named = False
    if control is None:
        control, named = choose_control(names)
    variants = compare_variants(rows, control, alpha, cv)
    segments = compare_segments(rows, control, alpha, cv) if "segment" in rows else pd.DataFrame()
    shares, split_note = parse_split(split, len(names))
    srm = sample_ratio_check(totals["visitors"], shares) if len(names) else SampleRatioCheck(
        math.nan, math.nan, (), "no variants")
    detectable = math.nan
    challengers = variants[~variants["is_control"] & variants["rate"].notna()]
    base = variants[variants["is_control"]]
    if len(challengers) and len(base) and np.isfinite(base["rate"].iloc[0]):
        smallest = challengers["visitors"].min()
        detectable = detectable_lift(float(base["rate"].iloc[0]), float(base["visitors"].iloc[0]), float(smallest),
                                     alpha)
    return ExperimentReadout(experiment, control, named, variants, segments,
                             heterogeneity(segments) if len(segments) else pd.DataFrame(
                                 columns=HETEROGENEITY_COLUMNS),
                             tournament(rows, alpha), srm, alpha, split_note, detectable)


# -- sentences --------------------------------------------------------------------------------------

def p_value_text(p_value: float) -> str:
    """'< 0.0001', '0.0003', '0.041', '0.62' (n/a when undefined)."""
    if not np.isfinite(p_value):
        return NA
    if p_value < 0.0001:
        return "< 0.0001"
    digits = 4 if p_value < 0.001 else 3 if p_value < 0.01 else 2
    return f"{p_value:.{digits}f}"


def p_text(p_value: float) -> str:
    """'p < 0.0001', 'p = 0.0003', 'p = 0.62', 'p n/a'."""
    text = p_value_text(p_value)
    return f"p {text}" if text.startswith("<") or text == NA else f"p = {text}"


def chance_text(probability: float) -> str:
    """A probability as a percentage that never rounds to a certain 0 % or 100 %."""
    if not np.isfinite(probability):
        return NA
    if probability > 0.999:
        return "> 99.9%"
    if probability < 0.001:
        return "< 0.1%"
    return percent(probability, 1)


def pp_text(*values: float) -> list[str]:
    """Percentage-point texts of rate differences, one precision for all (2 decimals below 1 pp)."""
    finite = [abs(v) for v in values if np.isfinite(v)]
    decimals = 2 if finite and max(finite) < 0.01 else 1
    return [NA if not np.isfinite(v) else f"{v * 100:.{decimals}f}".replace("-", "−") for v in values]


def interval_text(low: float, high: float, *context: float) -> str:
    """'0.6–1.8 pp', or '−0.3 to 0.5 pp' when a bound is negative; the precision also suits `context`
    (the estimate printed beside it)."""
    low_text, high_text = pp_text(low, high, *context)[:2]
    joiner = " to " if low < 0 or high < 0 else "–"
    return f"{low_text}{joiner}{high_text} pp"


def control_sentence(readout: ExperimentReadout) -> str:
    """Which variant is the control, and why."""
    if readout.control is None:
        return "The experiment has no variants."
    if readout.control_named:
        return f"Control: {strong(readout.control)}."
    return (f"No variant is named “control”, so the first variant in the file, {strong(readout.control)}, "
            f"is treated as the control.")


def _effect_clause(row, readout: ExperimentReadout, several: bool) -> str:
    diff_text = pp_text(abs(row["diff"]), row["diff_low"], row["diff_high"])[0]
    p_label = "Holm-adjusted " if several else ""
    return (f"{diff_text} pp (95% CI {interval_text(row['diff_low'], row['diff_high'], row['diff'])}, "
            f"{p_label}{p_text(row['p_adjusted'])}, {chance_text(row['prob_beat_control'])} chance to beat "
            f"control)")


def verdict(readout: ExperimentReadout) -> str:
    """One computed sentence: ship a variant, keep the control, or no detectable difference (and how big
    a difference the test could have found). A sample ratio mismatch blocks it."""
    variants = readout.variants
    alpha = readout.alpha
    if readout.srm.mismatch:
        return (f"**No verdict: sample ratio mismatch** (χ² {p_text(readout.srm.p_value)}). The visitor counts do "
                f"not match the intended split, so assignment or tracking is broken and every number below is "
                f"suspect; find the cause before reading the results.")
    challengers = variants[~variants["is_control"]]
    if readout.control is None or challengers.empty:
        return "Only one variant: there is nothing to compare it with."
    control_row = variants[variants["is_control"]].iloc[0]
    if control_row["note"] != "control":
        return f"No verdict: the control, {escape_markdown(readout.control)}, has {control_row['note']}."
    comparable = challengers[challengers["p_adjusted"].notna()]
    if comparable.empty:
        reasons = "; ".join(sorted({n for n in challengers["note"] if n})) or "nothing to compare"
        return f"No verdict: {reasons}."
    several = len(challengers) > 1
    winners = comparable[(comparable["p_adjusted"] < alpha) & (comparable["diff"] > 0)]
    losers = comparable[(comparable["p_adjusted"] < alpha) & (comparable["diff"] < 0)]
    champion = readout.tournament.winner
    if len(winners):
        best = winners.loc[winners["diff"].idxmax()]
        sentence = f"{strong(best['variant'])} lifts conversion by {_effect_clause(best, readout, several)}"
        if not several or champion == best["variant"]:
            extra = "; it also beats every other variant after correction" if several else ""
            return sentence + extra + "; **ship it**."
        others = [escape_markdown(v) for v in winners["variant"] if v != best["variant"]]
        if others:
            return (sentence + f". {', '.join(others)} also beat{'s' if len(others) == 1 else ''} the control and "
                    f"no variant beats all others after correction: ship either, or test them head to head.")
        return sentence + "; **ship it** (it is not clearly better than every other variant, only the control)."
    if len(losers):
        worst = losers.loc[losers["diff"].idxmin()]
        return (f"No variant beats the control; {strong(worst['variant'])} lowers conversion by "
                f"{_effect_clause(worst, readout, several)}: **keep the control**.")
    best = comparable.loc[comparable["diff"].idxmax()]
    sign = "+" if best["diff"] >= 0 else ""
    detectable = (f" With these visitor numbers the test could only have detected a lift of "
                  f"{pp_text(readout.detectable)[0]} pp (at {percent(POWER, 0)} power, α = {percent(alpha, 0)})."
                  if np.isfinite(readout.detectable) else "")
    diff_text = pp_text(best["diff"], best["diff_low"], best["diff_high"])[0]
    return (f"**No detectable difference**: the best variant, {escape_markdown(best['variant'])}, differs from the "
            f"control by {sign}{diff_text} pp (95% CI {interval_text(best['diff_low'], best['diff_high'], best['diff'])}, "
            f"{'Holm-adjusted ' if several else ''}{p_text(best['p_adjusted'])}, "
            f"{chance_text(best['prob_beat_control'])} chance to beat control).{detectable}")


def srm_sentence(readout: ExperimentReadout) -> str:
    """The sample-ratio check in words: observed split, intended split, p-value."""
    srm = readout.srm
    if not np.isfinite(srm.p_value):
        return f"Sample ratio check n/a: {srm.note}."
    visitors = readout.variants["visitors"].to_numpy(dtype=float)
    observed = " / ".join(percent(v / visitors.sum(), 1) for v in visitors)
    intended = " / ".join(percent(s, 1) for s in srm.shares)
    split = f" ({escape_markdown(readout.split_note)}; an equal split is assumed)" if readout.split_note else ""
    if srm.mismatch:
        return (f"Sample ratio mismatch: visitors split {observed} where {intended} was intended{split} "
                f"(χ² = {srm.chi2:.1f}, {p_text(srm.p_value)} < {SRM_ALPHA}). The verdict is withheld.")
    return (f"Visitor split {observed} matches the intended {intended}{split} "
            f"(χ² {p_text(srm.p_value)}; a mismatch is flagged below p = {SRM_ALPHA}).")


def tournament_sentence(readout: ExperimentReadout) -> str:
    """With three or more variants: the all-pairs comparison's result."""
    pairs = readout.tournament.pairs
    if len(pairs) < 3:
        return ""
    if readout.tournament.winner is not None:
        return (f"All {len(pairs)} pairs compared (Holm-corrected): {strong(readout.tournament.winner)} beats "
                f"every other variant.")
    significant = int(pairs["significant"].sum())
    return (f"All {len(pairs)} pairs compared (Holm-corrected): {significant} significant "
            f"difference{'s' if significant != 1 else ''}, and no variant beats every other one, so no winner "
            f"is declared.")


def segment_note(readout: ExperimentReadout) -> str:
    """Does the effect differ by segment? Every segment is reported; the answer comes from Cochran's Q
    across all of them and Holm-corrected per-segment p-values, never from the best-looking segment."""
    segments = readout.segments
    if segments.empty or segments["segment"].nunique() < 2:
        return "The file has one segment for this experiment, so there is no split by segment to examine."
    comparisons = int(segments["p_value"].notna().sum())
    sentences = []
    for _, het in readout.heterogeneity.iterrows():
        rows = segments[(segments["variant"] == het["variant"])]
        effects = ", ".join(f"{escape_markdown(r['segment'])} {signed_pp(r['diff'])} pp"
                            for _, r in rows.iterrows())
        name = escape_markdown(het["variant"])
        if not np.isfinite(het["p_value"]):
            sentences.append(f"{name}: {het['note']} ({effects}).")
            continue
        test = f"Cochran's Q = {het['q']:.1f}, {int(het['df'])} df, {p_text(het['p_value'])}"
        if het["p_value"] < readout.alpha:
            sentences.append(f"**{name}'s effect differs by segment** ({test}): {effects}. Segments were not "
                             f"pre-registered here, so confirm this in a test aimed at those segments.")
        else:
            sentences.append(f"No evidence that {name}'s effect differs by segment ({test}): {effects} are "
                             f"consistent with one common effect, so read the overall result.")
        alone = rows[(rows["p_value"] < readout.alpha) & ~(rows["p_adjusted"] < readout.alpha)]
        for _, row in alone.iterrows():
            sentences.append(f"{escape_markdown(row['segment'])} alone shows {p_text(row['p_value'])}, but after "
                             f"Holm correction across {comparisons} segment comparisons it is "
                             f"{p_value_text(row['p_adjusted'])}: not a finding on its own.")
    return " ".join(sentences)


def signed_pp(value: float, *context: float) -> str:
    """'+0.69', '−0.27' (percentage points, precision as `pp_text` with `context`)."""
    text = pp_text(value, *context)[0]
    return text if text.startswith("−") or text == NA else f"+{text}"


def sample_size_sentence(control_visitors: int, ratio: float, daily_traffic: float) -> str:
    """'53,182 visitors per arm (106,364 in all): 22 days at 5,000 visitors a day.'"""
    control, treatment = arm_sizes(control_visitors, ratio)
    arms = (f"{count(control)} visitors per arm" if control == treatment
            else f"{count(control)} visitors in the control and {count(treatment)} in the variant")
    days = days_needed(control_visitors, daily_traffic, ratio)
    return (f"{arms} ({count(control + treatment)} in all): **{count(days)} day{'s' if days != 1 else ''}** at "
            f"{count(daily_traffic)} visitors a day.")
