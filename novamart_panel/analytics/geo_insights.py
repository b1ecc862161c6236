"""What the per-state data says (SPEC §4.5): the metrics of geographic_data.csv, their formatting,
and insight sentences computed from whatever rows are loaded. Pure pandas: no Panel import.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from .. import format as fmt
from ..format import escape_markdown, strong
from .metrics import safe_ratio


@dataclass(frozen=True)
class StateMetric:
    """One numeric column of geographic_data.csv and how to speak about it."""

    column: str
    label: str
    kind: str  # a key of VALUE_FORMATS
    additive: bool  # whether a sum over states means something (revenue, customers, stores)
    phrase: str = ""  # the label inside a sentence, when lower case would spoil it

    @property
    def words(self) -> str:
        return self.phrase or self.label.lower()


def _with_unit(decimals: int, unit: str):
    def show(value) -> str:
        text = fmt.number(value, decimals)
        return text if text == fmt.NA else f"{text}{unit}"
    return show


VALUE_FORMATS = {
    "money": fmt.rupees,
    "count": fmt.count,
    "percent": lambda value: fmt.percent(value, decimals=1, scale=100),  # the file holds 0-100
    "growth": lambda value: fmt.change(None if value is None else value / 100),  # the file holds 0-100
    "score": _with_unit(2, " / 5"),
    "days": _with_unit(1, " days"),
}

STATE_METRICS: Mapping[str, StateMetric] = MappingProxyType({metric.column: metric for metric in (
    StateMetric("total_revenue", "Revenue", "money", True),
    StateMetric("total_customers", "Customers", "count", True),
    StateMetric("market_penetration", "Market penetration", "percent", False),
    StateMetric("yoy_growth", "YoY growth", "growth", False, phrase="YoY growth"),
    StateMetric("revenue_per_customer", "Revenue per customer", "money", False),
    StateMetric("customer_satisfaction", "Customer satisfaction", "score", False),
    StateMetric("store_count", "Stores", "count", True),
    StateMetric("avg_delivery_days", "Delivery time", "days", False),
)})


def format_metric(column: str, value) -> str:
    """A state metric as people read it: '₹17.7 Cr', '27.1%', '+15.8%', '4.33 / 5'."""
    return VALUE_FORMATS[STATE_METRICS[column].kind](value)


def _names(states: list[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    bold = [strong(state) for state in states]
    return bold[0] if len(bold) == 1 else ", ".join(bold[:-1]) + " and " + bold[-1]


def leaders_sentence(states: pd.DataFrame, column: str, top: int = 2) -> str:
    """The states leading `column` (with their share of the total when the metric adds up), and the last."""
    metric = STATE_METRICS[column]
    ranked = states.dropna(subset=[column]).sort_values(column, ascending=False, kind="stable")
    if ranked.empty:
        return f"No state in the selection has a {metric.label.lower()} value."
    label = metric.words
    count = len(ranked)
    if metric.additive:
        leaders = ranked.head(min(top, count))
        total = ranked[column].sum()
        share = fmt.percent(safe_ratio(leaders[column].sum(), total))
        values = " and ".join(format_metric(column, value) for value in leaders[column])
        verb = "leads" if len(leaders) == 1 else "lead"
        sentence = (f"{_names(list(leaders['state']))} {verb} {label} with {values}: {share} of the "
                    f"{format_metric(column, total)} across the {count} state{'s' if count != 1 else ''} shown.")
        if count > len(leaders):
            last = ranked.iloc[-1]
            sentence += f" {_names([last['state']])} is last with {format_metric(column, last[column])}."
        return sentence
    best, worst = ranked.iloc[0], ranked.iloc[-1]
    sentence = f"{_names([best['state']])} has the highest {label} ({format_metric(column, best[column])})"
    if count > 1:
        sentence += (f" and {_names([worst['state']])} the lowest ({format_metric(column, worst[column])}); "
                     f"the median of the {count} states shown is {format_metric(column, ranked[column].median())}.")
    else:
        sentence += "."
    if metric.kind == "growth":
        shrinking = ranked[ranked[column] < 0]
        if len(shrinking):
            sentence += (f" {len(shrinking)} of {count} shrank year on year: "
                         + ", ".join(f"{escape_markdown(state)} ({format_metric(column, value)})"
                                     for state, value in zip(shrinking["state"], shrinking[column], strict=True))
                         + ".")
        else:
            sentence += " No state shown shrank year on year."
    return sentence


def region_growth(states: pd.DataFrame) -> pd.DataFrame:
    """Revenue growth per region: this year's revenue against last year's implied by each state's YoY growth.

    Last year's revenue of a state is revenue / (1 + yoy_growth/100); a region's growth is the ratio of
    its sums minus one (in percent), so big states weigh more than in a mean of state rates.
    """
    usable = states.dropna(subset=["region", "total_revenue", "yoy_growth"])
    previous = safe_ratio(usable["total_revenue"], 1 + usable["yoy_growth"] / 100)
    usable = usable.assign(previous_revenue=previous).dropna(subset=["previous_revenue"])
    grouped = usable.groupby("region", sort=True).agg(
        revenue=("total_revenue", "sum"), previous_revenue=("previous_revenue", "sum"), states=("state", "count"))
    grouped["growth"] = (safe_ratio(grouped["revenue"], grouped["previous_revenue"]) - 1) * 100
    return grouped.reset_index().sort_values("growth", ascending=False, kind="stable").reset_index(drop=True)


def growth_sentence(states: pd.DataFrame) -> str:
    """Which region grows fastest (revenue-weighted), against the slowest and all states together."""
    regions = region_growth(states).dropna(subset=["growth"])
    if regions.empty:
        return "No region in the selection has revenue and YoY growth to compare."
    fastest = regions.iloc[0]
    sentence = (f"{strong(fastest['region'])} grows fastest: revenue {format_metric('yoy_growth', fastest['growth'])} "
                f"year on year across its {int(fastest['states'])} state{'s' if fastest['states'] != 1 else ''}")
    if len(regions) == 1:
        return sentence + " (the only region in the selection)."
    slowest = regions.iloc[-1]
    overall = (safe_ratio(regions["revenue"].sum(), regions["previous_revenue"].sum()) - 1) * 100
    return (sentence + f", against {format_metric('yoy_growth', slowest['growth'])} for {escape_markdown(slowest['region'])} and "
            f"{format_metric('yoy_growth', overall)} for all {len(regions)} regions shown "
            "(last year's revenue implied by each state's growth).")


def few_stores_high_satisfaction(states: pd.DataFrame) -> pd.Series | None:
    """The most satisfied state among those with *fewer* stores than the median (None if there is none)."""
    usable = states.dropna(subset=["store_count", "customer_satisfaction"])
    if usable.empty:
        return None
    few_stores = usable[usable["store_count"] < usable["store_count"].median()]
    if few_stores.empty:
        return None
    return few_stores.sort_values(["customer_satisfaction", "store_count"], ascending=[False, True],
                                  kind="stable").iloc[0]


def _stores(value) -> str:
    return f"{fmt.count(value)} store{'' if value == 1 else 's'}"


def stores_satisfaction_sentence(states: pd.DataFrame) -> str:
    """The most satisfied state and its store count against the median, whether a state with fewer stores than
    the median still beats the median satisfaction, and whether store count and satisfaction go together."""
    usable = states.dropna(subset=["store_count", "customer_satisfaction"])
    if usable.empty:
        return "No state in the selection has both a store count and a satisfaction score."
    best = usable.sort_values(["customer_satisfaction", "store_count"], ascending=[False, True],
                              kind="stable").iloc[0]
    median_stores = usable["store_count"].median()
    median_score = usable["customer_satisfaction"].median()
    score = format_metric("customer_satisfaction", best["customer_satisfaction"])
    if len(usable) == 1:
        return (f"{_names([best['state']])}, the only state shown, scores {score} with "
                f"{_stores(best['store_count'])}.")
    standout = few_stores_high_satisfaction(usable)
    if best["store_count"] < median_stores:
        sentence = (f"{_names([best['state']])} has the best satisfaction ({score}) with only "
                    f"{_stores(best['store_count'])}, fewer than the median of {fmt.count(median_stores)}.")
    else:
        sentence = (f"{_names([best['state']])} has the best satisfaction ({score}) with "
                    f"{_stores(best['store_count'])} ({'the median' if best['store_count'] == median_stores else 'above the median'} "
                    f"of {fmt.count(median_stores)}).")
        if standout is None:
            sentence += " No state has fewer stores than the median."
        else:
            other = format_metric("customer_satisfaction", standout["customer_satisfaction"])
            if standout["customer_satisfaction"] > median_score:
                sentence += (f" {_names([standout['state']])} has only {_stores(standout['store_count'])} yet "
                             f"scores {other}, above the median satisfaction "
                             f"{format_metric('customer_satisfaction', median_score)}.")
            else:
                sentence += (f" No state with fewer stores than the median beats the median satisfaction "
                             f"{format_metric('customer_satisfaction', median_score)}: the best of them, "
                             f"{escape_markdown(standout['state'])} ({_stores(standout['store_count'])}), scores {other}.")
    correlation = stores_satisfaction_correlation(usable)
    if np.isfinite(correlation):
        if abs(correlation) < 0.2:
            trend = "barely moves with"
        else:
            trend = (f"{'rises' if correlation > 0 else 'falls'} "
                     f"{'weakly' if abs(correlation) < 0.5 else 'clearly'} with")
        sentence += (f" Across the {len(usable)} states, satisfaction {trend} store count "
                     f"(Pearson r = {correlation:+.2f}).")
    return sentence


def stores_satisfaction_correlation(states: pd.DataFrame) -> float:
    """Pearson correlation of store count and satisfaction over states (NaN below 3 states or if constant)."""
    usable = states.dropna(subset=["store_count", "customer_satisfaction"])
    stores = usable["store_count"].to_numpy(dtype=float)
    scores = usable["customer_satisfaction"].to_numpy(dtype=float)
    if len(usable) < 3 or np.ptp(stores) == 0 or np.ptp(scores) == 0:
        return float("nan")
    return float(np.corrcoef(stores, scores)[0, 1])
