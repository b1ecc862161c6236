"""The conversion funnel (SPEC §4.6): stage-to-stage conversion and drop-off from visitor counts.

Rates are fractions (0-1). funnel_data.csv also carries a ``conversion_rate`` column in percent;
`rate_basis` checks what it is a percent of (the previous stage on the reference data), so the app can
say whether the file agrees with its own visitor counts.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.contract import FUNNEL_STAGES
from .metrics import safe_ratio

STEP_COLUMNS = ("stage", "visitors", "from_previous", "from_top", "drop_off", "drop_off_rate")
# funnel_data.csv rounds conversion_rate to one decimal: half a unit of that decimal is agreement.
FILE_RATE_TOLERANCE = 0.05


def ordered_stages(stages: pd.DataFrame) -> pd.DataFrame:
    """The rows in funnel order: the contract's stage order when every stage is one of its names
    (Awareness … Purchase), else the file's order."""
    names = list(stages["stage"])
    if names and set(names) <= set(FUNNEL_STAGES):
        position = stages["stage"].map({stage: i for i, stage in enumerate(FUNNEL_STAGES)})
        stages = stages.iloc[np.argsort(position.to_numpy(), kind="stable")]
    return stages.reset_index(drop=True)


def funnel_steps(stages: pd.DataFrame) -> pd.DataFrame:
    """One row per stage (columns ``stage, visitors`` and optionally the file's ``conversion_rate``) in
    funnel order, with the share of the previous stage's visitors kept (`from_previous`), the share of the
    top stage's (`from_top`), and the visitors lost since the previous stage (`drop_off`, `drop_off_rate`).

    The first stage has no previous stage: its from_previous, drop_off and drop_off_rate are NaN.
    A stage after one with 0 visitors has NaN rates, never inf. The file's rate is kept as `file_rate`.
    """
    ordered = ordered_stages(stages)
    visitors = ordered["visitors"].to_numpy(dtype=float)
    previous = np.concatenate(([np.nan], visitors[:-1]))
    top = visitors[0] if len(visitors) else np.nan
    steps = pd.DataFrame({
        "stage": ordered["stage"].astype(str).to_numpy(),
        "visitors": visitors,
        "from_previous": safe_ratio(visitors, previous),
        "from_top": safe_ratio(visitors, np.full(len(visitors), top)),
        "drop_off": previous - visitors,
    })
    steps["drop_off_rate"] = 1.0 - steps["from_previous"]
    if "conversion_rate" in ordered:
        steps["file_rate"] = ordered["conversion_rate"].to_numpy(dtype=float)
    return steps


def largest_drop(steps: pd.DataFrame) -> pd.Series | None:
    """The stage whose visitors fell most, as a share of the previous stage (`funnel_steps` row plus
    `from_stage`, the stage before it); None when no stage-to-stage rate is defined. Ties: the earlier."""
    rates = steps["drop_off_rate"]
    if rates.notna().sum() == 0:
        return None
    position = int(np.nanargmax(rates.to_numpy(dtype=float)))
    row = steps.iloc[position].copy()
    row["from_stage"] = steps["stage"].iloc[position - 1]
    return row


def rate_basis(steps: pd.DataFrame, tolerance: float = FILE_RATE_TOLERANCE) -> str | None:
    """What the file's ``conversion_rate`` (percent) is a share of: "previous" (each stage's visitors ÷
    the previous stage's, the first stage 100), "top" (÷ the first stage's), or None when it matches
    neither within `tolerance` percentage points (or the file has no such column)."""
    if "file_rate" not in steps or steps.empty:
        return None
    file_rate = steps["file_rate"].to_numpy(dtype=float)
    from_previous = steps["from_previous"].to_numpy(dtype=float).copy()
    from_previous[0] = 1.0  # the funnel's entrance: all of its own visitors
    for basis, computed in (("previous", from_previous), ("top", steps["from_top"].to_numpy(dtype=float))):
        if np.all(np.abs(file_rate - 100.0 * computed) <= tolerance + 1e-9):
            return basis
    return None


def rate_mismatches(steps: pd.DataFrame, tolerance: float = FILE_RATE_TOLERANCE) -> pd.DataFrame:
    """Stages whose file rate differs from visitors ÷ previous stage by more than `tolerance` points (or
    cannot be checked: the previous stage had no visitors), with the computed rate (`computed_rate`,
    percent) beside the file's."""
    if "file_rate" not in steps:
        return steps.iloc[0:0].assign(computed_rate=pd.Series(dtype=float))
    computed = 100.0 * steps["from_previous"].where(steps.index > 0, 1.0)
    differs = ~(np.abs(steps["file_rate"] - computed) <= tolerance + 1e-9)
    return steps.assign(computed_rate=computed)[differs].reset_index(drop=True)
