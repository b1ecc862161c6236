"""What the product sales say (SPEC §4.4): product metrics, their formatting, the high-volume
low-margin screen, and insight sentences computed from whatever rows are loaded. Pure pandas/numpy.

Margins are always ratios of sums (total profit ÷ total sales × 100), never means of the file's
per-row `profit_margin`.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from .. import format as fmt
from ..format import escape_markdown, strong
from .metrics import safe_ratio


@dataclass(frozen=True)
class ProductMetric:
    """One measure of product performance and how to speak about it."""

    column: str
    label: str
    kind: str  # "money", "count" or "percent" (0-100)
    additive: bool  # whether a share of the total means something

    @property
    def words(self) -> str:
        return self.label.lower()


PRODUCT_METRICS: Mapping[str, ProductMetric] = MappingProxyType({metric.column: metric for metric in (
    ProductMetric("sales", "Sales", "money", True),
    ProductMetric("profit", "Profit", "money", True),
    ProductMetric("units_sold", "Units sold", "count", True),
    ProductMetric("margin", "Profit margin", "percent", False),
)})
SUMMED = ("sales", "profit", "units_sold")

_FORMATS = {
    "money": fmt.rupees,
    "count": fmt.count,
    "percent": lambda value: fmt.percent(value, decimals=1, scale=100),
}
_QUARTER = re.compile(r"Q([1-4])\s*(\d{4})")


def format_metric(column: str, value) -> str:
    """A product measure as people read it: '₹3.12 Cr', '1,234', '35.3%'."""
    return _FORMATS[PRODUCT_METRICS[column].kind](value)


def text_column(column: str) -> str:
    """Name of the formatted (hover) twin of a metric column."""
    return f"{column}_text"


def with_margin(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with `margin` = profit ÷ sales × 100 (NaN where there were no sales)."""
    out = frame.copy()
    out["margin"] = safe_ratio(out["profit"], out["sales"]) * 100.0
    return out


def with_metric_text(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with a formatted text twin of every product metric the frame has."""
    out = frame.copy()
    for column in PRODUCT_METRICS:
        if column in out:
            out[text_column(column)] = [format_metric(column, value) for value in out[column]]
    return out


def quarter_key(label: str) -> tuple[int, int]:
    """Chronological sort key of a quarter label such as 'Q1 2023' → (2023, 1); unreadable labels sort last."""
    match = _QUARTER.search(str(label))
    return (int(match.group(2)), int(match.group(1))) if match else (10**6, 0)


def ordinal(number: float) -> str:
    """75 → '75th', 1 → '1st', 22 → '22nd', 13 → '13th'."""
    n = round(float(number))
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _names(names: list[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    names = [escape_markdown(n) for n in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _top(frame: pd.DataFrame, column: str, largest: bool = True) -> pd.Series | None:
    values = frame[column].astype(float)
    if values.notna().sum() == 0:
        return None
    return frame.loc[values.idxmax() if largest else values.idxmin()]


def leader_sentence(children: pd.DataFrame, noun: str, scope: str) -> str:
    """Which child (`name`) leads sales and with what share of `scope`, and which has the best margin.

    `children` has `name`, `sales` and `profit` (one row per category, subcategory or product)."""
    children = with_margin(children)
    total = float(children["sales"].sum())
    leader = _top(children, "sales")
    if leader is None or total <= 0:
        return f"No {noun} sold anything in {escape_markdown(scope)} under the current filters."
    text = (f"{strong(leader['name'])} leads {escape_markdown(scope)} sales with {fmt.rupees(leader['sales'])} "
            f"({fmt.percent(leader['sales'] / total)} of {fmt.rupees(total)}).")
    best, worst = _top(children, "margin"), _top(children, "margin", largest=False)
    if best is not None and len(children) > 1:
        text += (f" Highest profit margin: {strong(best['name'])} ({format_metric('margin', best['margin'])}); "
                 f"lowest: {escape_markdown(worst['name'])} ({format_metric('margin', worst['margin'])}).")
    return text


def category_sentence(by_category_year: pd.DataFrame, column: str) -> str:
    """The leading category by a metric (and its share when additive), the best margin, and which
    category's metric changed most from the first to the last year shown.

    `by_category_year` has category, year, sales, profit, units_sold (one row per category and year)."""
    metric = PRODUCT_METRICS[column]
    totals = with_margin(by_category_year.groupby("category", as_index=False)[list(SUMMED)].sum())
    if totals.empty or totals["sales"].sum() <= 0:
        return "No category sold anything under the current filters."
    totals = totals.rename(columns={"category": "name"})
    leader = _top(totals, column)
    if metric.additive:
        share = leader[column] / totals[column].sum() if totals[column].sum() else np.nan
        text = (f"{strong(leader['name'])} leads {metric.words} with {format_metric(column, leader[column])} "
                f"({fmt.percent(share)} of the total).")
    else:
        text = f"{strong(leader['name'])} has the highest profit margin ({format_metric('margin', leader['margin'])})."
    best = _top(totals, "margin")
    if column != "margin" and best is not None:
        text += f" Highest profit margin: {strong(best['name'])} ({format_metric('margin', best['margin'])})."
    years = sorted(by_category_year["year"].unique())
    if len(years) > 1:
        first, last = years[0], years[-1]
        per_year = with_margin(by_category_year).set_index(["category", "year"])[column]
        changes = {}
        for category in totals["name"]:
            before = per_year.get((category, first), np.nan)
            after = per_year.get((category, last), np.nan)
            changes[category] = after - before if column == "margin" else safe_ratio(after - before, abs(before))
        changes = pd.Series(changes, dtype=float).dropna()
        if not changes.empty:
            mover = changes.idxmax()
            amount = (f"{changes[mover]:+.1f} points" if column == "margin" else fmt.change(changes[mover]))
            text += f" From {first} to {last}, {metric.words} rose most in {strong(mover)} ({amount})."
    return text


def region_quarter_sentence(grid: pd.DataFrame, column: str, category: str | None = None) -> str:
    """The strongest and weakest region-quarter by a metric, and the leading region over all quarters.

    `grid` has region, quarter, sales, profit, units_sold and `column` (one row per region and quarter);
    `category` names the category it is limited to, if any."""
    metric = PRODUCT_METRICS[column]
    scope = f" of {escape_markdown(category)}" if category else ""
    cells = grid.dropna(subset=[column])
    if cells.empty:
        return f"No sales{scope} in the selected regions and quarters."
    best, worst = _top(cells, column), _top(cells, column, largest=False)
    text = (f"The strongest region-quarter for {metric.words}{scope} is {strong(f"{best['region']} in {best['quarter']}")} "
            f"({format_metric(column, best[column])}); the weakest is {escape_markdown(worst['region'])} in "
            f"{escape_markdown(worst['quarter'])} "
            f"({format_metric(column, worst[column])}).")
    regions = with_margin(grid.groupby("region", as_index=False)[list(SUMMED)].sum()).rename(columns={"region": "name"})
    leader = _top(regions, column)
    if leader is not None and len(regions) > 1:
        text += f" Over all quarters shown, {escape_markdown(leader['name'])} leads ({format_metric(column, leader[column])})."
    return text


def quarter_sentence(regions: pd.DataFrame, column: str, quarter: str) -> str:
    """Which region leads a metric in one quarter (`regions`: region, sales, profit, units_sold, column)."""
    metric = PRODUCT_METRICS[column]
    leader = _top(regions, column) if not regions.empty else None
    if leader is None:
        return f"No sales in {escape_markdown(quarter)} under the current filters."
    text = f"In {strong(quarter)}, {escape_markdown(leader['region'])} leads {metric.words} with {format_metric(column, leader[column])}"
    total = float(regions[column].sum())
    if metric.additive and total > 0 and len(regions) > 1:
        text += f" ({fmt.percent(leader[column] / total)} of the quarter)"
    return text + "."


@dataclass(frozen=True)
class VolumeMarginScreen:
    """Products selling more units than most (above `volume_cut`) at thin margins (below `margin_cut`)."""

    products: pd.DataFrame  # every product with `margin`, `flagged` and `lost_profit`
    volume_percentile: float
    margin_percentile: float
    volume_cut: float
    margin_cut: float
    median_margin: float

    @property
    def flagged(self) -> pd.DataFrame:
        """The high-volume low-margin products, most units first."""
        rows = self.products[self.products["flagged"]]
        return rows.sort_values(["units_sold", "sales"], ascending=False, ignore_index=True)


def high_volume_low_margin(products: pd.DataFrame, volume_percentile: float = 75,
                           margin_percentile: float = 25) -> VolumeMarginScreen:
    """Flag products whose units sold exceed the `volume_percentile`-th percentile of all products' units
    and whose margin is below the `margin_percentile`-th percentile of their margins (linear
    interpolation, as numpy.percentile). `lost_profit` is the profit a flagged product would add at the
    median margin: (median − margin) × sales, never negative. Products without sales are left out."""
    rows = with_margin(products)
    rows = rows[rows["margin"].notna()].reset_index(drop=True)
    if rows.empty:
        return VolumeMarginScreen(rows.assign(flagged=pd.Series(dtype=bool), lost_profit=pd.Series(dtype=float)),
                                  volume_percentile, margin_percentile, np.nan, np.nan, np.nan)
    volume_cut = float(np.percentile(rows["units_sold"].astype(float), volume_percentile))
    margin_cut = float(np.percentile(rows["margin"], margin_percentile))
    median_margin = float(np.median(rows["margin"]))
    flagged = (rows["units_sold"] > volume_cut) & (rows["margin"] < margin_cut)
    lost = ((median_margin - rows["margin"]) / 100.0 * rows["sales"]).clip(lower=0.0).where(flagged, 0.0)
    return VolumeMarginScreen(rows.assign(flagged=flagged, lost_profit=lost), volume_percentile,
                              margin_percentile, volume_cut, margin_cut, median_margin)


def screen_sentence(screen: VolumeMarginScreen, name_column: str = "label") -> str:
    """How many products sell a lot at thin margins, which, and the profit they leave versus the median margin."""
    total = len(screen.products)
    if total == 0:
        return "No product sold anything under the current filters."
    cuts = (f"above the {ordinal(screen.volume_percentile)} percentile of units sold "
            f"({fmt.count(screen.volume_cut)} units) and below the {ordinal(screen.margin_percentile)} "
            f"percentile of margin ({format_metric('margin', screen.margin_cut)})")
    flagged = screen.flagged
    if flagged.empty:
        return f"No product of {total} is both {cuts}."
    shown = flagged[name_column].head(5).tolist()
    names = _names(shown + ([f"{len(flagged) - len(shown)} more"] if len(flagged) > len(shown) else []))
    lost = float(flagged["lost_profit"].sum())
    return (f"**{len(flagged)} of {total} products** are {cuts}: {names}. At the median margin "
            f"({format_metric('margin', screen.median_margin)}) they would have earned "
            f"**{fmt.rupees(lost)} more profit** on the same sales.")
