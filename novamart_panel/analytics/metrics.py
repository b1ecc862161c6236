"""Marketing metric formulas, computed from sums (never means of row ratios).

ROAS = revenue / spend, CPA = spend / conversions, CTR = clicks / impressions, CVR = conversions /
clicks, CPC = spend / clicks, CPM = 1000 · spend / impressions. A zero denominator gives NaN, which the
formatting module prints as "n/a". Cost metrics (CPA, CPC, CPM) are also NaN where nothing was spent:
organic channels (Direct, Organic Search) have no cost per acquisition, not a cost of ₹0 (SPEC §3).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

SUM_COLUMNS = ("spend", "impressions", "clicks", "conversions", "revenue")

# name → (numerator, denominator, multiplier, higher_is_better)
RATIOS = {
    "ctr": ("clicks", "impressions", 1.0, True),
    "cvr": ("conversions", "clicks", 1.0, True),
    "cpc": ("spend", "clicks", 1.0, False),
    "cpm": ("spend", "impressions", 1000.0, False),
    "cpa": ("spend", "conversions", 1.0, False),
    "roas": ("revenue", "spend", 1.0, True),
}


def safe_ratio(numerator, denominator):
    """numerator / denominator, NaN where the denominator is zero or missing (never ±inf)."""
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where((den == 0) | np.isnan(den), np.nan, num / np.where(den == 0, 1, den))
    return out if out.ndim else float(out)


def add_ratios(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of a frame of summed columns with every ratio of `RATIOS` added (rates as fractions)."""
    out = frame.copy()
    for name, (num, den, mult, _) in RATIOS.items():
        if num in out and den in out:
            values = safe_ratio(out[num], out[den]) * mult
            if num == "spend":
                values = np.where(np.asarray(out["spend"], dtype=float) > 0, values, np.nan)
            out[name] = values
    return out


def totals(frame: pd.DataFrame) -> dict[str, float]:
    """Sums and ratios of a whole frame of summed columns, as one dict."""
    sums = {c: float(frame[c].sum()) for c in SUM_COLUMNS if c in frame}
    row = add_ratios(pd.DataFrame([sums])).iloc[0]
    return {k: float(v) for k, v in row.items()}


def relative_change(current, previous):
    """(current − previous) / |previous|; NaN when the previous value is zero or undefined."""
    return safe_ratio(np.asarray(current, dtype=float) - np.asarray(previous, dtype=float),
                      np.abs(np.asarray(previous, dtype=float)))


def is_improvement(metric: str, delta: float) -> bool | None:
    """Whether a change is good news for this metric (lower CPA is good); None when undefined."""
    if delta is None or not np.isfinite(delta) or delta == 0:
        return None
    higher_is_better = RATIOS.get(metric, (None, None, None, True))[3]
    return (delta > 0) == higher_is_better
