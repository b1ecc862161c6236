"""Insight sentences for customer insights (SPEC §4.3), computed from the small frames the charts draw.

Each `*_summary` function returns Markdown that is true of the frame it is given; the helpers
(`weighted_median`, `bimodality`, `box_stats`) are the statistics behind them. No Panel import.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..format import count, escape_markdown, percent, rupees, strong
from .metrics import safe_ratio

NO_CUSTOMERS = "No customers match the current filters."
INCOME_STEP = 10_000   # slopes read "per ₹10,000 of income"


def names(values) -> str:
    """'A', 'A and B', 'A, B and C'."""
    values = [escape_markdown(v) for v in values]
    if not values:
        return ""
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " and " + values[-1]


def weighted_median(values, weights) -> float:
    """The median of `values` repeated `weights` times (the lower middle value for an even total)."""
    order = np.argsort(np.asarray(values, dtype=float))
    values = np.asarray(values, dtype=float)[order]
    weights = np.asarray(weights, dtype=float)[order]
    total = weights.sum()
    if total <= 0:
        return float("nan")
    cumulative = np.cumsum(weights)
    return float(values[np.searchsorted(cumulative, total / 2)])


def box_stats(values) -> dict[str, float]:
    """Tukey box-plot numbers of a sample: quartiles (linear interpolation), whiskers at the most extreme
    values within 1.5 IQR of the box, and how many values lie beyond them."""
    values = np.asarray(values, dtype=float)
    q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
    iqr = q3 - q1
    inside = values[(values >= q1 - 1.5 * iqr) & (values <= q3 + 1.5 * iqr)]
    lower, upper = inside.min(), inside.max()
    return dict(customers=float(len(values)), q1=q1, median=median, q3=q3, lower=float(lower), upper=float(upper),
                low_outliers=float((values < lower).sum()), high_outliers=float((values > upper).sum()),
                maximum=float(values.max()))


@dataclass(frozen=True)
class Bimodality:
    """Whether a histogram has two modes: the bin indices of both peaks and of the dip between them."""

    bimodal: bool
    major: int | None = None
    minor: int | None = None
    dip: int | None = None
    dip_ratio: float = float("nan")   # dip height ÷ the smaller peak's height (smoothed)


def smooth(counts) -> np.ndarray:
    """A three-bin moving average (two bins at the edges): one noisy bin is not a mode."""
    counts = np.asarray(counts, dtype=float)
    kernel = np.ones(3)
    return np.convolve(counts, kernel, "same") / np.convolve(np.ones_like(counts), kernel, "same")


def bimodality(counts, max_dip_ratio: float = 0.7, min_minor_height: float = 0.05) -> Bimodality:
    """Two modes when, in the smoothed histogram, a second peak at least two bins from the highest one
    stands at least `min_minor_height` of its height and the lowest bin between them is below
    `max_dip_ratio` of the smaller peak. (A dip test would be overkill for a sentence.)"""
    heights = smooth(counts)
    if heights.size < 3 or heights.max() <= 0:
        return Bimodality(False)
    padded = np.concatenate([[-np.inf], heights, [-np.inf]])
    peaks = [i for i in range(heights.size)
             if heights[i] > 0 and padded[i + 1] > padded[i] and padded[i + 1] >= padded[i + 2]]
    major = int(np.argmax(heights))
    best = Bimodality(False, major=major)
    for peak in peaks:
        if abs(peak - major) < 2 or heights[peak] < min_minor_height * heights[major]:
            continue
        lo, hi = sorted((peak, major))
        dip = lo + int(np.argmin(heights[lo:hi + 1]))
        ratio = heights[dip] / min(heights[peak], heights[major])
        if ratio < max_dip_ratio and not ratio >= best.dip_ratio:
            best = Bimodality(True, major=major, minor=peak, dip=dip, dip_ratio=float(ratio))
    return best


# -- 1. age -------------------------------------------------------------------------------------------
def age_summary(age_counts: pd.DataFrame, histogram: pd.DataFrame, band: tuple[int, int] = (25, 40)) -> str:
    """Share of customers in an age band, the median age and the busiest histogram bin.

    `age_counts`: columns age, customers (one row per age); `histogram`: bin_start, bin_end, customers
    (possibly split by segment)."""
    total = float(age_counts["customers"].sum()) if len(age_counts) else 0.0
    if total <= 0:
        return NO_CUSTOMERS
    lo, hi = band
    in_band = float(age_counts.loc[age_counts["age"].between(lo, hi), "customers"].sum())
    bins = histogram.groupby(["bin_start", "bin_end"], as_index=False)["customers"].sum()
    busiest = bins.loc[bins["customers"].idxmax()]
    width = int(busiest.bin_end - busiest.bin_start)
    span = f"{int(busiest.bin_start)}" if width == 1 else f"{int(busiest.bin_start)}–{int(busiest.bin_end) - 1}"
    return (f"{strong(percent(in_band / total))} of the {count(total)} customers shown are aged {lo}–{hi}; "
            f"the median age is {weighted_median(age_counts['age'], age_counts['customers']):.0f}. "
            f"The busiest {width}-year bin is {strong(span)} ({count(busiest.customers)} customers, "
            f"{percent(busiest.customers / total)}).")


def segment_age_note(age_by_segment: pd.DataFrame) -> str:
    """The youngest and oldest segment by median age (`age_by_segment`: segment, age, customers)."""
    medians = {segment: weighted_median(group["age"], group["customers"])
               for segment, group in age_by_segment.groupby("segment", sort=True) if group["customers"].sum() > 0}
    if len(medians) < 2:
        return ""
    ordered = sorted(medians.items(), key=lambda item: (item[1], item[0]))
    (young, young_age), (old, old_age) = ordered[0], ordered[-1]
    if young_age == old_age:
        return f" Every segment has the same median age ({young_age:.0f})."
    return (f" {escape_markdown(young)} is the youngest segment (median {young_age:.0f}) and {escape_markdown(old)} "
            f"the oldest ({old_age:.0f}).")


# -- 2. lifetime value by segment --------------------------------------------------------------------
def ltv_box_summary(stats: pd.DataFrame) -> str:
    """The segment with the highest median LTV and its IQR, the widest box, and where high outliers are.

    `stats`: one row per segment with customers, q1, median, q3, upper, high_outliers."""
    stats = stats[stats["customers"] > 0]
    if stats.empty:
        return NO_CUSTOMERS
    top = stats.loc[stats["median"].idxmax()]
    text = (f"{strong(top.segment)} has the highest median lifetime value ({rupees(top['median'])}); its middle half "
            f"spans {rupees(top.q1)}–{rupees(top.q3)} (IQR {rupees(top.q3 - top.q1)}).")
    if len(stats) > 1:
        iqr = stats["q3"] - stats["q1"]
        widest = stats.loc[iqr.idxmax()]
        text += (f" The widest spread is {strong(widest.segment)}'s." if widest.segment != top.segment
                 else " It is also the widest spread.")
        low = stats.loc[stats["median"].idxmin()]
        text += f" {strong(low.segment)} is lowest (median {rupees(low['median'])})."
    share = stats["high_outliers"] / stats["customers"]
    if share.max() > 0:
        most = stats.loc[share.idxmax()]
        text += (f" {escape_markdown(most.segment)} has the largest share of high-value outliers: {count(most.high_outliers)} "
                 f"customers ({percent(share.max())}) above {rupees(most.upper)}.")
    return text


# -- 3. satisfaction by NPS category ---------------------------------------------------------------
def satisfaction_summary(score_bins: pd.DataFrame, channel_means: pd.DataFrame, bin_width: float) -> str:
    """The NPS category with the lowest mean satisfaction, whether its scores are bimodal, and the channels
    at each end within it.

    `score_bins`: nps_category, bin_start, customers (a histogram of satisfaction scores);
    `channel_means`: nps_category, acquisition_channel, customers, mean_score."""
    if channel_means.empty:
        return NO_CUSTOMERS
    totals = channel_means.assign(weighted=channel_means["mean_score"] * channel_means["customers"]).groupby(
        "nps_category")[["weighted", "customers"]].sum()
    means = totals["weighted"] / totals["customers"]
    lowest = means.idxmin()
    text = f"**{escape_markdown(lowest)}s** are the least satisfied (mean {means[lowest]:.2f} of 5"
    text += (f"; {', '.join(f'{escape_markdown(c)}s {m:.2f}' for c, m in means.drop(lowest).sort_values().items())})."
             if len(means) > 1 else ").")
    bins = score_bins[score_bins["nps_category"] == lowest].sort_values("bin_start")
    if len(bins):
        grid = np.round(np.arange(bins["bin_start"].min(), bins["bin_start"].max() + bin_width / 2, bin_width), 6)
        counts = bins.set_index(np.round(bins["bin_start"], 6))["customers"].reindex(grid, fill_value=0)
        shape = bimodality(counts.to_numpy())
        if shape.bimodal:
            peaks = sorted((grid[shape.major], grid[shape.minor]))
            text += (f" Their scores are **bimodal**: modes near {_score_bin(peaks[0], bin_width)} and "
                     f"{_score_bin(peaks[1], bin_width)}, with a dip around {_score_bin(grid[shape.dip], bin_width)}.")
        else:
            text += f" Their scores have one mode, near {_score_bin(grid[shape.major], bin_width)}."
    within = channel_means[(channel_means["nps_category"] == lowest) & (channel_means["customers"] > 0)]
    if len(within) > 1:
        ordered = within.sort_values("mean_score")
        worst, best = ordered.iloc[0], ordered.iloc[-1]
        text += (f" Among them, {escape_markdown(worst.acquisition_channel)} customers score lowest "
                 f"({worst.mean_score:.2f}) and {escape_markdown(best.acquisition_channel)} highest "
                 f"({best.mean_score:.2f}).")
    return text


def _score_bin(start: float, width: float) -> str:
    return f"{start:.2f}–{start + width:.2f}"


# -- 4. income and lifetime value ------------------------------------------------------------------
def income_ltv_summary(overall: pd.Series, by_segment: pd.DataFrame, show_segments: bool = False) -> str:
    """The income–LTV correlation and OLS slope, and (per segment) the steepest and flattest slopes.

    `overall` and the rows of `by_segment` hold customers, r, slope, intercept (slope in ₹ LTV per ₹ income)."""
    if overall is None or not overall["customers"]:
        return NO_CUSTOMERS
    if not np.isfinite(overall["r"]):
        return f"Income or lifetime value does not vary among the {count(overall['customers'])} customers shown."
    strength = "strongly" if abs(overall["r"]) >= 0.6 else "moderately" if abs(overall["r"]) >= 0.3 else "weakly"
    direction = "positively" if overall["r"] > 0 else "negatively"
    slope = rupees(overall["slope"] * INCOME_STEP)
    text = (f"Income and lifetime value are {strength} {direction} correlated (r = {overall['r']:.2f}, "
            f"{count(overall['customers'])} customers): the fitted line adds **{slope} of LTV per "
            f"{rupees(INCOME_STEP)} of income**.")
    fitted = by_segment.dropna(subset=["slope"])
    if show_segments and len(fitted) > 1:
        steep, flat = fitted.loc[fitted["slope"].idxmax()], fitted.loc[fitted["slope"].idxmin()]
        text += (f" Within segments the slope is steepest for {escape_markdown(steep.segment)} "
                 f"({rupees(steep.slope * INCOME_STEP)}) and flattest for {escape_markdown(flat.segment)} "
                 f"({rupees(flat.slope * INCOME_STEP)}).")
    return text


def high_value_note(segment: str, customers: int, cut: float, top_share: float) -> str:
    """How many customers of a (low-value) segment still reach the top `top_share` by LTV."""
    if customers <= 0:
        return f" No {escape_markdown(segment)} customer reaches the top {percent(top_share, 0)} by LTV ({rupees(cut)} or more)."
    return (f" {count(customers)} {escape_markdown(segment)} customers nonetheless reach the top {percent(top_share, 0)} by LTV "
            f"({rupees(cut)} or more).")


# -- 5. channels ---------------------------------------------------------------------------------------
def channel_bubble_summary(channels: pd.DataFrame) -> str:
    """The channel with the best CTR × CVR (conversions per impression), the biggest spender's efficiency,
    and the channels without spend. `channels`: channel, spend, impressions, conversions, ctr, cvr."""
    if channels.empty:
        return "No campaign rows match the date, region and campaign-type filters."
    if channels["impressions"].sum() <= 0:
        return "No channel recorded impressions under these filters, so CTR × CVR is n/a for every channel."
    frame = channels.assign(yield_=safe_ratio(channels["conversions"], channels["impressions"]))
    ranked = frame.dropna(subset=["yield_"]).sort_values("yield_", ascending=False)
    best = ranked.iloc[0]
    text = (f"{strong(best.channel)} has the best CTR × CVR: {percent(best.ctr)} × {percent(best.cvr)} = "
            f"{best.yield_ * 1000:.1f} conversions per 1,000 impressions")
    text += (f" (portfolio {safe_ratio(frame['conversions'].sum(), frame['impressions'].sum()) * 1000:.1f})."
             if len(frame) > 1 else ".")
    if frame["spend"].sum() > 0:
        big = frame.loc[frame["spend"].idxmax()]
        rank = int((ranked["yield_"] > big.yield_).sum()) + 1
        text += (f" The biggest spender, {strong(big.channel)} ({rupees(big.spend)}), ranks {rank} of {len(ranked)} "
                 f"on that measure.")
    free = frame.loc[frame["spend"] <= 0, "channel"].tolist()
    if free:
        text += f" {names(free)} {'has' if len(free) == 1 else 'have'} no spend (drawn at the minimum size)."
    return text


# -- 6. region → city tier → segment ---------------------------------------------------------------
def hierarchy_summary(frame: pd.DataFrame, levels: list[str], size: str, root=(), focus: str | None = None,
                      root_label: str = "All customers", tier_level: str = "city_tier") -> str:
    """At the zoomed node: its size, how the share of `focus` (a value of the last level) varies across
    `tier_level` (the city tiers, first) and across the children, and its largest child."""
    root = tuple(root)
    inside = frame
    for level, value in zip(levels, root):
        inside = inside[inside[level] == value]
    total, whole = float(inside[size].sum()), float(frame[size].sum())
    if total <= 0:
        return NO_CUSTOMERS
    name = " › ".join(map(str, root)) if root else root_label
    child_level = levels[len(root)]
    children = inside.groupby(child_level)[size].sum().sort_values(ascending=False)
    text = f"{strong(name)}: {count(total)} customers"
    text += f" ({percent(total / whole)} of all shown)." if root else "."
    if tier_level in levels and focus is not None and levels.index(tier_level) >= len(root):
        text += " " + tier_share_sentence(share_by_level(frame, levels, size, root, tier_level, levels[-1]), focus,
                                          tier_level, levels[-1])
    text += (f" The largest {child_level.replace('_', ' ')} is {strong(children.index[0])} "
             f"({percent(children.iloc[0] / total)}).")
    leaf = levels[-1]
    if focus is not None and child_level not in (leaf, tier_level) and len(children) > 1:
        focus_share = (inside[inside[leaf] == focus].groupby(child_level)[size].sum()
                       .reindex(children.index, fill_value=0) / children).sort_values(ascending=False)
        text += (f" {escape_markdown(focus)} customers make up {percent(focus_share.iloc[0])} of "
                 f"{escape_markdown(focus_share.index[0])} against {percent(focus_share.iloc[-1])} of "
                 f"{escape_markdown(focus_share.index[-1])}.")
    return text


def share_by_level(frame: pd.DataFrame, levels: list[str], size: str, root=(), across: str = "city_tier",
                   leaf: str = "customer_segment") -> pd.DataFrame:
    """Under the zoomed node `root`: per value of `across` and of `leaf`, the customers and their share of that
    `across` value (`across`, `leaf`, `customers`, `share`), `across` in sorted order."""
    inside = frame
    for level, value in zip(levels, tuple(root)):
        inside = inside[inside[level] == value]
    counts = inside.groupby([across, leaf], as_index=False)[size].sum().rename(columns={size: "customers"})
    totals = counts.groupby(across)["customers"].transform("sum")
    counts["share"] = counts["customers"] / totals.where(totals > 0)
    return counts.sort_values([across, leaf], ignore_index=True)


def tier_share_sentence(shares: pd.DataFrame, focus: str, across: str = "city_tier",
                        leaf: str = "customer_segment") -> str:
    """Which value of `across` (city tier) has the highest and the lowest share of `focus` customers."""
    label = across.replace("_", " ")
    share = (shares[shares[leaf] == focus].set_index(across)["share"]
             .reindex(sorted(shares[across].unique())).fillna(0.0))
    if len(share) < 2:
        return f"Only one {label} here, so {label}s cannot be compared."
    ordered = share.sort_values(kind="stable")
    low, high = ordered.index[0], ordered.index[-1]
    if np.isclose(ordered.iloc[0], ordered.iloc[-1]):
        return f"{escape_markdown(focus)} customers make up {percent(ordered.iloc[0], 1)} of every {label}."
    others = " and ".join(f"{percent(v, 1)} in {escape_markdown(k)}" for k, v in share.items() if k != low)
    return (f"By {label}: {strong(low)} has the lowest {escape_markdown(focus)} share, {percent(share[low], 1)} "
            f"against {others}; {strong(high)} the highest.")


# -- 7. churn risk ---------------------------------------------------------------------------------------
def churn_summary(totals: pd.Series, at_risk: pd.DataFrame, threshold: float, top_share: float,
                  include_churned: bool) -> str:
    """How many customers sit above the churn threshold, and the at-risk list's size, value and expected loss.

    `totals`: customers, above_threshold, churned_above, ltv_cut, max_probability_high_value;
    `at_risk`: customer_segment, lifetime_value, expected_loss per listed customer."""
    if not totals["customers"]:
        return NO_CUSTOMERS
    above = int(totals["above_threshold"])
    text = (f"{count(above)} of {count(totals['customers'])} customers ({percent(above / totals['customers'])}) "
            f"have a churn probability of {percent(threshold, 0)} or more")
    text += (f", {count(totals['churned_above'])} of whom have already churned." if above else ".")
    who = "customers" if include_churned else "customers not yet churned"
    condition = f"{who} in the top {percent(top_share, 0)} by LTV ({rupees(totals['ltv_cut'])} or more)"
    if at_risk.empty:
        highest = totals["max_probability_high_value"]
        closest = (f" the highest churn probability among them is {percent(highest)}" if pd.notna(highest)
                   else " there are none")
        return text + f" **No one is at risk** by both measures: among {condition},{closest}."
    value, loss = at_risk["lifetime_value"].sum(), at_risk["expected_loss"].sum()
    mix = at_risk["customer_segment"].value_counts()
    return text + (f" **{count(len(at_risk))} {condition} are at risk**, holding {rupees(value)} of lifetime value; "
                   f"expected loss (probability × LTV) is {strong(rupees(loss))}. Most are {escape_markdown(mix.index[0])} "
                   f"({count(mix.iloc[0])}).")


RISK_DECILE = 0.9   # the default churn threshold: where the riskiest tenth of the high-value customers starts


def default_churn_threshold(quantile_value: float, step: float = 0.01, fallback: float = 0.6) -> float:
    """The churn threshold a page opens with: the churn probability at which the riskiest tenth of the high-value
    customers starts (`quantile_value`), rounded *down* to `step` so that the tenth stays in the list;
    `fallback` when there are no such customers."""
    if quantile_value is None or not np.isfinite(quantile_value):
        return fallback
    steps = np.floor(round(float(quantile_value) / step, 9))
    return float(min(max(steps * step, step), 1.0))


def threshold_note(threshold: float, default: float, top_share: float, include_churned: bool) -> str:
    """How the churn threshold was chosen: from the data by default, by the user otherwise."""
    who = "customers" if include_churned else "customers not yet churned"
    basis = (f"the churn probability at which the riskiest tenth of the {who} in the top {percent(top_share, 0)} by "
             f"LTV starts (their 90th percentile), rounded down to a whole percent")
    if round(threshold, 6) == round(default, 6):
        return f"The threshold **{percent(threshold, 0)}** was chosen from the data: {basis}."
    return (f"Threshold set to **{percent(threshold, 0)}**; the data's default is {percent(default, 0)}: {basis}.")
