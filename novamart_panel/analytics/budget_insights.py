"""Insight sentences of the budget, forecast and mix section (SPEC §4.8), computed from fitted results.

Each function returns Markdown. Names that come from the data (channels) pass through
`format.escape_markdown` (`format.strong` where a name is bold).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..format import change, escape_markdown, percent, ratio, rupees

PERIOD_WORDS = {"daily": "day", "weekly": "week"}
TRUST_WORDS = {
    "good": "**Fair to use for direction and rough size.**",
    "fair": "**Use for direction only.**",
    "weak": "**Do not use it to move budget.**",
}


def _name(value) -> str:
    return escape_markdown(value)


def _names(values) -> str:
    values = [_name(v) for v in values]
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " and " + values[-1]


def trust_verdict(model) -> tuple[str, str]:
    """("good" | "fair" | "weak", sentence): how far the model's numbers can be trusted, from its held-out
    fit, its gain over a baseline-only model, the plausibility of its baseline and its interval widths."""
    q = model.quality
    problems, notes = [], []
    gain = 1 - q["nrmse"] / q["baseline_nrmse"] if q["baseline_nrmse"] > 0 else np.nan
    if not np.isfinite(gain) or gain < 0.05:
        problems.append("under cross-validation it forecasts revenue no better than a baseline-only model "
                        f"(trend, season, weekdays, festivals): NRMSE {q['nrmse']:.3f} against "
                        f"{q['baseline_nrmse']:.3f}")
    else:
        notes.append(f"on held-out weeks it cuts the baseline-only model's error by {percent(gain)}")
    media_share = float(model.contributions["share"].sum())
    negative = float((model.decomposition["baseline"] < 0).mean())
    if media_share > 0.9 or negative > 0.05:
        problems.append(f"it credits media with {percent(media_share)} of revenue and leaves a baseline that is "
                        f"negative on {percent(negative)} of periods, as if revenue in this file moved one-for-one "
                        "with spend (attributed rather than total sales): the split between baseline and media is "
                        "not identified, so ROIs are upper bounds")
    wide = model.contributions.query("roi > 0 and roi_high > 2 * roi_low")
    if len(wide):
        notes.append(f"ROI intervals are wide for {_names(wide.index)}")
    mape = q["mape"]
    if problems:
        grade = "weak"
    elif q["r2"] >= 0.8 and mape <= 0.1:
        grade = "good"
    else:
        grade = "fair"
    fit = (f"Held-out fit: R² {q['r2']:.2f}, MAPE {percent(mape)}, NRMSE {q['nrmse']:.3f} "
           f"over {len(model.cv_folds)} folds")
    body = "; ".join(problems + notes)
    return grade, f"{TRUST_WORDS[grade]} {fit}; {body}." if body else f"{TRUST_WORDS[grade]} {fit}."


def excluded_note(model) -> str:
    """Which channels have no curve, and why (zero-spend channels are baseline, not media)."""
    if not model.excluded:
        return ""
    parts = [f"{_name(channel)}: {why}" for channel, why in model.excluded.items()]
    return "Not modelled as media — " + "; ".join(parts) + "."


def contribution_summary(model) -> str:
    """The largest contributor, the baseline's share and the media total."""
    c = model.contributions
    total = float(model.decomposition["actual"].sum())
    base_share = float(model.decomposition["baseline"].sum()) / total if total else np.nan
    top = c["share"].idxmax()
    caveat = (" A negative baseline is not possible in reality: the model cannot tell baseline from media "
              "here (see the model card).") if base_share < 0 else ""
    return (f"The baseline (trend, season, weekdays, festivals and the unmodelled channels) accounts for "
            f"{percent(base_share)} of revenue and paid media for {percent(c['share'].sum())}.{caveat} "
            f"{_name(top)} contributes most: {percent(c.loc[top, 'share'])} "
            f"(95 % interval {percent(c.loc[top, 'share_low'])}–{percent(c.loc[top, 'share_high'])}).")


def share_summary(model) -> str:
    """Share of paid spend against share of media's contribution: which channel is over- and under-funded."""
    c = model.contributions
    spend_share = c["spend"] / c["spend"].sum()
    effect_share = c["contribution"] / c["contribution"].sum() if c["contribution"].sum() > 0 else spend_share * np.nan
    gap = (effect_share - spend_share).dropna()
    if gap.empty:
        return "No paid channel adds measurable revenue under these filters."
    if len(gap) == 1:   # nothing to compare it with
        return (f"{_name(gap.index[0])} is the only paid channel modelled under these filters: it takes all of the "
                "paid spend and adds all of what paid media adds. Widen the channel filter to compare channels.")
    under, over = gap.idxmax(), gap.idxmin()
    return (f"{_name(under)} earns {percent(effect_share[under])} of what paid media adds on "
            f"{percent(spend_share[under])} of the paid spend; {_name(over)} takes {percent(spend_share[over])} of the "
            f"spend for {percent(effect_share[over])} of the effect. These are average returns; whether moving "
            "budget pays depends on the next rupee's return, which the response curves and the optimizer use.")


def roi_summary(model) -> str:
    """Best and worst ROI with intervals, and channels whose ROI may be below break-even."""
    c = model.contributions.sort_values("roi", ascending=False)
    best, worst = c.index[0], c.index[-1]
    text = (f"Each rupee in {_name(best)} returned {ratio(c.loc[best, 'roi'])} in revenue "
            f"({ratio(c.loc[best, 'roi_low'])}–{ratio(c.loc[best, 'roi_high'])})")
    text += f"; {_name(worst)} the least, {ratio(c.loc[worst, 'roi'])}." if len(c) > 1 else "."
    below = c.index[c["roi_low"] < 1].tolist()
    if below:
        text += f" The interval of {_names(below)} reaches below break-even (ROI 1): not proven to pay back."
    margin = c["marginal_roi"].idxmax()
    text += (f" At the current spend the next rupee earns most in {_name(margin)} "
             f"({ratio(c.loc[margin, 'marginal_roi'])} marginal ROI)." if len(c) > 1 else
             f" At the current spend its next rupee earns {ratio(c.loc[margin, 'marginal_roi'])} (marginal ROI).")
    return text


def response_summary(model, optimal: pd.DataFrame | None) -> str:
    """Which channel is most saturated (lowest marginal ROI relative to its average) and the optimizer's marks."""
    c = model.contributions
    ratio_margin = (c["marginal_roi"] / c["roi"]).replace([np.inf, -np.inf], np.nan).dropna()
    if ratio_margin.empty:
        return "No channel has a response curve under these filters."
    flat, steep = ratio_margin.idxmin(), ratio_margin.idxmax()
    if len(ratio_margin) == 1:
        state = "it is saturating" if ratio_margin[flat] < 1 else "it is not saturated yet"
        text = (f"{_name(flat)}'s next rupee earns {percent(ratio_margin[flat])} of what its average rupee does: "
                f"{state}.")
        return text + (" Circles mark the current spend, diamonds the optimizer's."
                       if optimal is not None and len(optimal) else "")
    text = (f"{_name(flat)} is the most saturated: its next rupee earns {percent(ratio_margin[flat])} of what "
            f"its average rupee does; {_name(steep)} the least ({percent(ratio_margin[steep])}).")
    if optimal is not None and len(optimal):
        text += " Circles mark the current spend, diamonds the optimizer's."
    return text


def optimizer_summary(result: pd.DataFrame, period: str) -> str:
    """The predicted gain and the main move of the optimal allocation."""
    if result is None or result.empty:
        return "The optimizer has nothing to allocate under these filters."
    attrs = result.attrs
    moves = result["change"].sort_values()
    cut, add = moves.index[0], moves.index[-1]
    now = float(result["current"].sum())
    revenue = (f"predicted to change revenue from {rupees(attrs['predicted_current'])} to {rupees(attrs['predicted'])} "
               f"per {period} ({change(attrs['lift'])})")
    if np.isclose(attrs["total"], now, rtol=1e-3):
        text = f"Moving the same {rupees(attrs['total'])} per {period} to the optimal mix is {revenue}."
    else:   # a budget other than the current spend: the gain is the money's and the mix's together
        text = (f"Spending {rupees(attrs['total'])} per {period} instead of the current {rupees(now)} "
                f"({change(attrs['total'] / now - 1 if now > 0 else np.nan)}), in the optimal mix, is {revenue}: "
                "the change comes from the budget and the mix together.")
    step = 1e-3 * max(attrs["total"], 1.0)
    grows, shrinks = moves[add] > step, moves[cut] < -step
    if grows and shrinks:
        text += (f" The main move: {rupees(-moves[cut])} per {period} out of {_name(cut)} "
                 f"({change(result.loc[cut, 'change_pct'])}) and {rupees(moves[add])} into {_name(add)} "
                 f"({change(result.loc[add, 'change_pct'])}).")
    elif grows:
        text += (f" No channel is cut; the largest increase goes to {_name(add)}: {rupees(moves[add])} per {period} "
                 f"({change(result.loc[add, 'change_pct'])}).")
    elif shrinks:
        text += (f" No channel grows; the largest cut falls on {_name(cut)}: {rupees(-moves[cut])} per {period} "
                 f"({change(result.loc[cut, 'change_pct'])}).")
    else:
        text += " The current mix is already at the optimum within these bounds."
    at_bound = result.index[np.isclose(result["spend"], result["upper"], rtol=1e-4)].tolist() \
        if "upper" in result else []
    if at_bound:
        text += f" {_names(at_bound)} {'sits' if len(at_bound) == 1 else 'sit'} at the upper bound: more may pay."
    return text


def scenario_summary(table: pd.DataFrame, period: str) -> str:
    """How the working scenario compares with the current and the optimal allocation."""
    rows = table.set_index("scenario")
    if "Your scenario" not in rows.index:
        return ""
    mine, now = rows.loc["Your scenario"], rows.loc["Current"]
    best = rows.loc["Optimal"] if "Optimal" in rows.index else None
    gap = (best["revenue"] - mine["revenue"]) / (best["revenue"] - now["revenue"]) \
        if best is not None and best["revenue"] != now["revenue"] else np.nan
    text = (f"Your scenario spends {rupees(mine['spend'])} per {period} and is predicted to earn "
            f"{rupees(mine['revenue'])} ({change(mine['revenue'] / now['revenue'] - 1)} against the current mix, "
            f"ROAS {ratio(mine['roas'])}).")
    if np.isfinite(gap):
        text += f" It captures {percent(1 - gap)} of the optimizer's gain."
    return text


def forecast_summary(frame: pd.DataFrame, backtest, metric: str, channel: str, money: bool) -> str:
    """The forecast total with its interval, and whether the model beats a seasonal-naive forecast."""
    ahead = frame.dropna(subset=["forecast"])
    fmt = rupees if money else (lambda v: f"{v:,.0f}")
    days = len(ahead)
    text = (f"Next {days} days of {metric.lower()}, {_name(channel)}: about {fmt(ahead['forecast'].sum())} in all, "
            f"{fmt(ahead['forecast'].mean())} a day (a typical day between {fmt(ahead['lo80'].median())} and "
            f"{fmt(ahead['hi80'].median())} with 80 % probability).")
    if backtest is not None:
        s = backtest.summary
        text += (f" Backtest over {s['origins']} × {s['horizon']} days: MAPE {percent(s['model_mape'])} against "
                 f"{percent(s['naive_mape'])} for repeating last week; 80 % intervals covered "
                 f"{percent(s['model_cover80'])} of days, 95 % intervals {percent(s['model_cover95'])}.")
        if not backtest.beats_baseline:
            text += " **The model does not beat the seasonal-naive forecast here: plan with last week's pattern.**"
    return text


def mediation_summary(result, mediator_label: str) -> str:
    """How much of social's effect runs through the mediator, in words."""
    e = result.effects
    social = _names(result.treatment)
    total = e.loc["total"]
    text = (f"Each rupee of {social} spend goes with {rupees(total['estimate'])} of revenue in all "
            f"({rupees(total['low'])} to {rupees(total['high'])}, {round(result.level * 100)} % interval).")
    if result.significant("indirect"):
        share = e.loc["proportion_mediated"]
        text += (f" About {percent(share['estimate'])} of it ({percent(share['low'])}–{percent(share['high'])}) runs "
                 f"through {_name(mediator_label)}: social ads create search demand that paid search then captures.")
    else:
        text += (f" No measurable part of it runs through {_name(mediator_label)}: the indirect effect's interval "
                 f"({rupees(e.loc['indirect', 'low'])} to {rupees(e.loc['indirect', 'high'])} per rupee) "
                 "includes zero, so social's effect here is direct.")
    return text
