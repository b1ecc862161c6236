"""What the attribution and funnel data say (SPEC §4.6): the small tables the charts draw (journey flows,
correlation cells) and insight sentences computed from whatever data is loaded. Pure pandas: no Panel.

Credit shares are percent (0-100) as in channel_attribution.csv and `attribution.credit_shares`; other
rates are fractions (0-1).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..format import count, escape_markdown, number, percent, strong
from .attribution import PATH_SEPARATOR
from .funnel import largest_drop, rate_basis, rate_mismatches
from .metrics import safe_ratio

MODEL_LABELS = {
    "first_touch": "First touch",
    "last_touch": "Last touch",
    "linear": "Linear",
    "time_decay": "Time decay",
    "position_based": "Position based",
    "markov": "Markov chain",
    "shapley": "Shapley value",
}
CONVERSION_NODE, EXIT_NODE = "Purchase", "Exit"
SHOWN_SEPARATOR = " › "


def _names(names) -> str:
    """'**A**', '**A** and **B**', '**A**, **B** and **C**'."""
    bold = [strong(name) for name in names]
    return bold[0] if len(bold) == 1 else ", ".join(bold[:-1]) + " and " + bold[-1]


def _share(value) -> str:
    """A credit share held in percent (0-100)."""
    return percent(value, decimals=1, scale=100)


def model_label(model: str) -> str:
    return MODEL_LABELS.get(model, model.replace("_", " ").capitalize())


# --- funnel ------------------------------------------------------------------------------------

def funnel_drop_sentence(steps: pd.DataFrame) -> str:
    """Where the funnel loses the largest share of its visitors, and how many reach the last stage."""
    if len(steps) < 2:
        return "The funnel has fewer than two stages: there is no stage-to-stage conversion to show."
    first, last = steps.iloc[0], steps.iloc[-1]
    overall = (f"Overall, {percent(last['from_top'], decimals=2)} of the {count(first['visitors'])} visitors "
               f"at {escape_markdown(first['stage'])} reach {escape_markdown(last['stage'])} ({count(last['visitors'])}).")
    drop = largest_drop(steps)
    if drop is None:
        return f"No stage follows a stage with visitors, so no stage-to-stage rate is defined. {overall}"
    if drop["drop_off_rate"] <= 0:
        return f"No stage loses visitors: every stage has at least as many as the one before. {overall}"
    return (f"The largest drop is from {strong(drop['from_stage'])} to {strong(drop['stage'])}: "
            f"{percent(drop['drop_off_rate'])} of visitors ({count(drop['drop_off'])} of "
            f"{count(drop['visitors'] + drop['drop_off'])}) do not continue. {overall}")


def funnel_rate_sentence(steps: pd.DataFrame) -> str | None:
    """Whether the file's conversion_rate column agrees with its visitor counts, and on what basis."""
    if "file_rate" not in steps or steps.empty:
        return None
    basis = rate_basis(steps)
    if basis == "previous":
        return ("The file's conversion_rate column is each stage's visitors as a percent of the previous "
                "stage's, and it agrees with the visitor counts to its one decimal.")
    if basis == "top":
        return (f"The file's conversion_rate column is a percent of the first stage "
                f"({escape_markdown(steps['stage'].iloc[0])}), "
                "not of the previous stage; the chart shows stage-to-stage rates computed from the visitors.")
    mismatches = rate_mismatches(steps).head(3)
    shown = "; ".join(f"{escape_markdown(row.stage)}: file {number(row.file_rate, 1)}%, visitors give {number(row.computed_rate, 1)}%"
                      for row in mismatches.itertuples())
    return (f"The file's conversion_rate column does not match its visitor counts ({shown}); "
            "the chart uses rates computed from the visitors.")


# --- channel credit ----------------------------------------------------------------------------

def top_credit_sentence(shares: pd.Series, model: str, conversions: pd.Series | None = None,
                        source: str = "channel_attribution.csv") -> str:
    """The channel a model credits most and the one it credits least. `shares` are percent by channel;
    `conversions` (computed models) the conversions credited."""
    ranked = shares.dropna().sort_values(ascending=False, kind="stable")
    if ranked.empty or ranked.iloc[0] <= 0:
        return f"{strong(model_label(model))} ({source}) credits no channel with any conversion."
    top, bottom = ranked.index[0], ranked.index[-1]
    # Every channel tied at the bottom is named: one of five channels at zero is not "the least".
    tied = ranked.index[1:][ranked.iloc[1:] == ranked.iloc[-1]]
    names = _names(tied)
    each = " each" if len(tied) > 1 else ""
    if conversions is None:
        sentence = (f"Under {strong(model_label(model))} attribution ({source}), {strong(top)} gets the most credit: "
                    f"{_share(ranked.iloc[0])} of conversions")
        tail = f"; {names} the least, {_share(ranked.iloc[-1])}{each}."
    else:
        total = float(conversions.sum())
        sentence = (f"Under {strong(model_label(model))} attribution ({source}), {strong(top)} is credited with "
                    f"{count(conversions[top])} of the {count(total)} conversions ({_share(ranked.iloc[0])})")
        tail = (f"; {names} {'get' if len(tied) > 1 else 'gets'} none." if ranked.iloc[-1] == 0 else
                f"; {names} the least, {count(conversions[bottom])} ({_share(ranked.iloc[-1])}){each}.")
    return sentence + ("." if len(ranked) == 1 else tail)


def first_last_shift_sentence(shares: pd.DataFrame) -> str | None:
    """Which channel gains most credit from first touch to last touch, and which loses most (shares in
    percent; columns first_touch and last_touch)."""
    if not {"first_touch", "last_touch"} <= set(shares.columns) or shares.empty:
        return None
    shift = (shares["last_touch"] - shares["first_touch"]).dropna()
    if shift.empty or np.allclose(shift, 0):
        return "First touch and last touch give every channel the same credit."

    def moved(channel) -> str:
        return f"{_share(shares.loc[channel, 'first_touch'])} → {_share(shares.loc[channel, 'last_touch'])}"

    parts = []
    gainer, loser = shift.idxmax(), shift.idxmin()
    if shift[gainer] > 0:
        parts.append(f"{strong(gainer)} gains the most credit ({moved(gainer)})")
    if shift[loser] < 0:
        parts.append(f"{strong(loser)} loses the most ({moved(loser)})")
    return "From first touch to last touch, " + " and ".join(parts) + "."


def model_leaders_sentence(shares: pd.DataFrame) -> str:
    """The channel each model (column; shares in percent) credits most."""
    leaders = [f"{model_label(model)} {strong(column.idxmax())} ({_share(column.max())})"
               for model, column in shares.items() if column.notna().any() and column.max() > 0]
    if not leaders:
        return "No model credits any channel with a conversion."
    return "Most credited per model: " + ", ".join(leaders) + "."


def removal_effect_sentence(effects: pd.Series) -> str:
    """The channel whose removal from the journeys would lose the most conversions (Markov removal
    effect, a fraction), and the one that matters least."""
    ranked = effects.dropna().sort_values(ascending=False, kind="stable")
    if ranked.empty or ranked.iloc[0] <= 0:
        return "No journey converts, so removing a channel loses nothing."
    top, bottom = ranked.index[0], ranked.index[-1]
    sentence = (f"Removing {strong(top)} from the journeys would lose {percent(ranked.iloc[0])} of conversions "
                "(Markov removal effect)")
    if len(ranked) > 1:
        sentence += f"; removing {strong(bottom)} would lose {percent(ranked.iloc[-1])}"
    return sentence + "."


def shared_names_sentence(channels, touchpoints) -> str:
    """Why computed and provided credit sit side by side: the journeys name touchpoints, not channels."""
    channels, touchpoints = list(dict.fromkeys(channels)), list(dict.fromkeys(touchpoints))
    common = [name for name in touchpoints if name in set(channels)]
    only_journeys = [name for name in touchpoints if name not in set(channels)]
    text = (f"The journeys' touchpoints ({', '.join(map(escape_markdown, touchpoints))}) are not the campaign "
            f"channels of channel_attribution.csv ({', '.join(map(escape_markdown, channels))})")
    if common:
        text += f"; only {_names(common)} carry the same name in both"
    if only_journeys:
        text += f", and {_names(only_journeys)} exist only in the journeys"
    return text + ". So the two are shown side by side, not merged."


# --- correlations ------------------------------------------------------------------------------

def correlation_cells(matrix: pd.DataFrame, label_column: str = "metric") -> pd.DataFrame:
    """The wide matrix (a label column, then one column per metric) as one row per cell, in file order:
    ``row_metric, column_metric, r``."""
    values = matrix.drop(columns=label_column)
    return pd.DataFrame({
        "row_metric": np.repeat(matrix[label_column].astype(str).to_numpy(), values.shape[1]),
        "column_metric": np.tile(values.columns.astype(str).to_numpy(), len(matrix)),
        "r": values.to_numpy(dtype=float).ravel(),
    })


def correlation_pairs(cells: pd.DataFrame) -> pd.DataFrame:
    """Each unordered pair of different metrics once (its first cell in file order), strongest |r| first."""
    pairs = cells[cells["row_metric"] != cells["column_metric"]].dropna(subset=["r"])
    key = [frozenset(pair) for pair in zip(pairs["row_metric"], pairs["column_metric"])]
    pairs = pairs[~pd.Series(key, index=pairs.index).duplicated()]
    order = pairs["r"].abs().sort_values(ascending=False, kind="stable").index
    return pairs.loc[order].reset_index(drop=True)


def correlation_sentence(cells: pd.DataFrame) -> str:
    """The strongest positive and the strongest negative correlation between two different metrics."""
    pairs = correlation_pairs(cells)
    if pairs.empty:
        return "The matrix has no correlation between two different metrics."
    parts = []
    positive = pairs[pairs["r"] > 0]
    negative = pairs[pairs["r"] < 0]
    if not positive.empty:
        best = positive.loc[positive["r"].idxmax()]
        parts.append(f"{strong(best['row_metric'])} and {strong(best['column_metric'])} rise together most "
                     f"(r = {number(best['r'])})")
    if not negative.empty:
        worst = negative.loc[negative["r"].idxmin()]
        parts.append(f"{strong(worst['row_metric'])} and {strong(worst['column_metric'])} move most in opposite "
                     f"directions (r = {number(worst['r']).replace('-', '−')})")
    if not parts:
        return "No two different metrics are correlated (every r is 0)."
    return "; ".join(parts) + ". Correlation is not causation: test before moving budget on it."


# --- journeys ----------------------------------------------------------------------------------

def step_node(step: int, touchpoint: str) -> str:
    """A Sankey node: a touchpoint at a step, so a journey that returns to a touchpoint makes no cycle."""
    return f"{step} · {touchpoint}"


def journey_flows(journeys: pd.DataFrame) -> pd.DataFrame:
    """Sankey edges of journeys (``path, conversions, non_conversions`` as `journeys_from_touchpoints`
    gives them): ``source, target, customers``, from step node to step node, then into Purchase or Exit.
    Identical edges of different paths are summed; edges with no customers are left out."""
    records = []
    for path, conversions, non_conversions in journeys[["path", "conversions", "non_conversions"]].itertuples(index=False):
        touches = path.split(PATH_SEPARATOR)
        nodes = [step_node(step, touch) for step, touch in enumerate(touches, start=1)]
        customers = conversions + non_conversions
        records += [(source, target, customers) for source, target in zip(nodes, nodes[1:])]
        records += [(nodes[-1], CONVERSION_NODE, conversions), (nodes[-1], EXIT_NODE, non_conversions)]
    flows = pd.DataFrame.from_records(records, columns=["source", "target", "customers"])
    flows = flows.groupby(["source", "target"], sort=False, as_index=False)["customers"].sum()
    return flows[flows["customers"] > 0].reset_index(drop=True)


def first_touch_conversion(journeys: pd.DataFrame) -> pd.DataFrame:
    """Per first touchpoint: customers, conversions and the conversion rate of the journeys it opens,
    best rate first."""
    first = journeys["path"].str.split(PATH_SEPARATOR).str[0]
    table = journeys.assign(first_touch=first, customers=journeys["conversions"] + journeys["non_conversions"])
    table = table.groupby("first_touch", sort=False, as_index=False)[["customers", "conversions"]].sum()
    table["rate"] = safe_ratio(table["conversions"], table["customers"])
    return table.sort_values(["rate", "customers"], ascending=[False, False], kind="stable").reset_index(drop=True)


def shown_path(path: str, outcome: str = CONVERSION_NODE) -> str:
    return SHOWN_SEPARATOR.join(path.split(PATH_SEPARATOR) + [outcome])


def journey_sentence(journeys: pd.DataFrame) -> str:
    """The most common converting path, and the conversion rate of the journeys opened by each first touch."""
    total = float(journeys["conversions"].sum())
    customers = float((journeys["conversions"] + journeys["non_conversions"]).sum())
    if customers <= 0:
        return "No customer is on any journey."
    if total <= 0:
        return f"None of the {count(customers)} customers' journeys ends in a purchase."
    rates = first_touch_conversion(journeys)
    by_first = ", ".join(f"{escape_markdown(row.first_touch)} {percent(row.rate)}" for row in rates.itertuples())
    top = journeys.loc[journeys["conversions"].idxmax()]
    return (f"The most common converting path is {strong(shown_path(top['path']))}: {count(top['conversions'])} "
            f"customers, {percent(top['conversions'] / total)} of the {count(total)} conversions "
            f"({percent(total / customers)} of {count(customers)} customers convert). "
            f"Conversion rate by first touch: {by_first}.")
