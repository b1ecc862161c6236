"""RFM scores and business labels (SPEC §4.9).

Scores are quintiles of rank, 1 (worst) to 5 (best): recency is reversed (fewest days since the last purchase
scores 5), frequency and monetary value score 5 for the most. Ties are broken deterministically by customer id
(ascending), so every quintile holds a fifth of the customers and the same data always scores the same way.
Labels come from the recency × frequency grid in `LABEL_RULES`, the first matching rule winning.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

SCORES = (1, 2, 3, 4, 5)

# (label, recency scores, frequency scores, what it means): every one of the 25 R × F cells has exactly one label.
LABEL_RULES: tuple[tuple[str, tuple[int, ...], tuple[int, ...], str], ...] = (
    ("Champions", (5,), (4, 5), "bought very recently and most often"),
    ("Loyal", (3, 4), (4, 5), "buy often, and not long ago"),
    ("Potential loyalists", (3, 4, 5), (2, 3), "recent, with a few repeat purchases"),
    ("New", (4, 5), (1,), "recent first-time or rare buyers"),
    ("At risk", (1, 2), (3, 4), "used to buy regularly, not for a while"),
    ("Can't lose", (1, 2), (5,), "were among the most frequent buyers, not seen for a while"),
    ("Hibernating", (2, 3), (1, 2), "rare buyers, some time ago"),
    ("Lost", (1,), (1, 2), "rare buyers, longest ago"),
)
LABELS = tuple(rule[0] for rule in LABEL_RULES)


def rule_table() -> pd.DataFrame:
    """The documented rule table (label, recency scores, frequency scores, meaning) for display."""
    return pd.DataFrame([{"label": label, "recency_scores": "–".join(map(str, (min(r), max(r)))) if len(r) > 1 else str(r[0]),
                          "frequency_scores": "–".join(map(str, (min(f), max(f)))) if len(f) > 1 else str(f[0]),
                          "meaning": meaning} for label, r, f, meaning in LABEL_RULES])


def _label_grid() -> np.ndarray:
    grid = np.empty((6, 6), dtype=object)
    for label, recency_scores, frequency_scores, _ in reversed(LABEL_RULES):
        for r in recency_scores:
            for f in frequency_scores:
                grid[r, f] = label
    return grid


LABEL_GRID = _label_grid()
# "545" for R5 F4 M5, looked up by r·36 + f·6 + m (no string formatting per customer).
CELL_NAMES = np.array([f"{i // 36}{i // 6 % 6}{i % 6}" for i in range(216)], dtype=object)


def id_ranks(ids) -> np.ndarray:
    """Each id's position in ascending id order: the deterministic tie-break of the scores."""
    index = pd.Index(np.asarray(ids))
    if index.is_monotonic_increasing:        # already in id order (the data layer sorts by id): no sort needed
        return np.arange(len(index))
    order = index.argsort(kind="stable")
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(len(order))
    return ranks


def quintile_scores(values, ids=None, higher_is_better: bool = True, tie_break: np.ndarray | None = None) -> np.ndarray:
    """Scores 1–5 by rank quintile, 5 for the best fifth; ties ordered by `ids` ascending (or by a precomputed
    `tie_break` rank, which `id_ranks(ids)` gives)."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if tie_break is None:
        tie_break = id_ranks(ids) if ids is not None else np.arange(n)
    keyed = values if higher_is_better else -values
    order = np.lexsort((tie_break, keyed))            # worst first; among equals the smaller id first
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    return rank * 5 // n + 1


def rfm_scores(ids, days_since_last, frequency, monetary) -> pd.DataFrame:
    """R, F, M scores, the RFM cell ("545") and the business label per customer, in input order."""
    ids = np.asarray(ids)
    tie_break = id_ranks(ids)
    r = quintile_scores(days_since_last, higher_is_better=False, tie_break=tie_break)
    f = quintile_scores(frequency, tie_break=tie_break)
    m = quintile_scores(monetary, tie_break=tie_break)
    return pd.DataFrame({
        "customer_id": ids, "r_score": r, "f_score": f, "m_score": m,
        "rfm_cell": CELL_NAMES[r * 36 + f * 6 + m],
        "label": LABEL_GRID[r, f] if len(ids) else np.array([], dtype=object),
    })


def label_of(r_score: int, f_score: int) -> str:
    """The label of one recency × frequency cell."""
    return str(LABEL_GRID[int(r_score), int(f_score)])


def grid_summary(scores: pd.DataFrame, value: pd.Series | np.ndarray) -> pd.DataFrame:
    """Customers, mean and total value per recency × frequency cell (all 25 cells, empty ones with 0)."""
    frame = pd.DataFrame({"r_score": scores["r_score"].to_numpy(), "f_score": scores["f_score"].to_numpy(),
                          "value": np.asarray(value, dtype=float)})
    cells = frame.groupby(["r_score", "f_score"]).agg(customers=("value", "size"), total_value=("value", "sum"),
                                                      mean_value=("value", "mean"))
    full = pd.MultiIndex.from_product([SCORES, SCORES], names=["r_score", "f_score"])
    cells = cells.reindex(full).reset_index()
    cells["customers"] = cells["customers"].fillna(0).astype(np.int64)
    cells["total_value"] = cells["total_value"].fillna(0.0)
    cells["label"] = [label_of(r, f) for r, f in zip(cells["r_score"], cells["f_score"])]
    return cells


def label_summary(scores: pd.DataFrame, metrics: pd.DataFrame) -> pd.DataFrame:
    """Per label: customers, share, and the mean of every column of `metrics` (same rows as `scores`);
    `total_value` when metrics has a `value` column. Labels in rule-table order, absent ones left out."""
    frame = metrics.reset_index(drop=True).assign(label=scores["label"].to_numpy())
    grouped = frame.groupby("label", sort=False)
    summary = grouped.mean(numeric_only=True).reindex(columns=metrics.columns)   # every column, even with no rows
    summary.insert(0, "customers", grouped.size())
    summary.insert(1, "share", summary["customers"] / len(frame) if len(frame) else np.nan)
    if "value" in frame:
        summary["total_value"] = grouped["value"].sum()
        total = frame["value"].sum()
        summary["value_share"] = summary["total_value"] / total if total else np.nan
    order = [label for label in LABELS if label in summary.index]
    return summary.loc[order].reset_index()
