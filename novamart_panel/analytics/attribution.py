"""Attribution computed from customer journey paths (SPEC §4.6).

Every model takes a DataFrame of journeys — a ``path`` column of touchpoints joined by ``" > "``
(without the terminal Purchase / Exit state) and ``conversions`` / ``non_conversions`` counts per path —
and returns the conversions credited to each channel as a Series indexed by channel (order of first
appearance). The credits of every model sum to the total conversions; with no conversions they are 0.

Counts may be any finite number ≥ 0 (fractional counts act as weights). A channel that occurs twice in
one path is credited for each touch by the rule-based models.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from novamart_panel.data.contract import ATTRIBUTION_MODELS

PATH_SEPARATOR = " > "
JOURNEY_COLUMNS = ("path", "conversions", "non_conversions")
MODEL_NAMES = ATTRIBUTION_MODELS + ("markov", "shapley")


@dataclass(frozen=True)
class _Journeys:
    """Validated journeys: each path as a tuple of channels, with its counts."""

    paths: tuple[tuple[str, ...], ...]
    conversions: np.ndarray
    non_conversions: np.ndarray
    channels: tuple[str, ...]

    @property
    def total_conversions(self) -> float:
        return float(self.conversions.sum())

    def credit_series(self, credit: np.ndarray, model: str) -> pd.Series:
        return pd.Series(credit, index=pd.Index(self.channels, name="channel"), name=model, dtype=float)


# --- validation ---------------------------------------------------------------------------------

def _require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what} is missing column(s) {', '.join(map(repr, missing))}; "
            f"it has {', '.join(map(repr, frame.columns)) or 'no columns'}"
        )
    if frame.empty:
        raise ValueError(f"{what} is empty: there are no journeys to attribute")


def _shown(value: object) -> str:
    """A cell value or row label as a user reads it (numpy scalars as plain numbers)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _counts(frame: pd.DataFrame, column: str, what: str) -> np.ndarray:
    """The column as floats, after checking every value is a finite number ≥ 0."""
    values = frame[column]
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        raise ValueError(f"{what}, column {column}: counts must be numbers, got dtype {values.dtype}")
    counts = values.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(counts) | (counts < 0)
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{what}, column {column}, row {_shown(frame.index[position])}: {_shown(values.iloc[position])} "
            "is not a valid count; counts must be finite numbers ≥ 0"
        )
    return counts


def _split_path(path: object, row: object) -> tuple[str, ...]:
    if not isinstance(path, str):
        raise ValueError(f"journeys, column path, row {_shown(row)}: {path!r} is not a text path")
    channels = tuple(touch.strip() for touch in path.split(PATH_SEPARATOR.strip()))
    if not all(channels):
        raise ValueError(
            f"journeys, column path, row {_shown(row)}: {path!r} has an empty touchpoint; "
            f"write touchpoints joined by {PATH_SEPARATOR!r}, e.g. 'Paid Search > Website > Email'"
        )
    return channels


def _as_journeys(journeys: pd.DataFrame | _Journeys) -> _Journeys:
    if isinstance(journeys, _Journeys):
        return journeys
    _require_columns(journeys, JOURNEY_COLUMNS, "journeys")
    conversions = _counts(journeys, "conversions", "journeys")
    non_conversions = _counts(journeys, "non_conversions", "journeys")
    paths = tuple(_split_path(p, row) for row, p in zip(journeys.index, journeys["path"]))
    channels = tuple(dict.fromkeys(channel for path in paths for channel in path))
    return _Journeys(paths, conversions, non_conversions, channels)


# --- rule-based models --------------------------------------------------------------------------

def _credit_by_position(journeys: _Journeys, touch_weights: Callable[[int], np.ndarray]) -> np.ndarray:
    """Split each path's conversions over its touches by `touch_weights(length)` (which sums to 1)."""
    position = {channel: i for i, channel in enumerate(journeys.channels)}
    credit = np.zeros(len(journeys.channels))
    for path, conversions in zip(journeys.paths, journeys.conversions):
        if conversions:
            np.add.at(credit, [position[c] for c in path], conversions * touch_weights(len(path)))
    return credit


def _rule_based(journeys, model: str, touch_weights: Callable[[int], np.ndarray]) -> pd.Series:
    parsed = _as_journeys(journeys)
    return parsed.credit_series(_credit_by_position(parsed, touch_weights), model)


def _one_hot(length: int, index: int) -> np.ndarray:
    weights = np.zeros(length)
    weights[index] = 1.0
    return weights


def first_touch(journeys: pd.DataFrame) -> pd.Series:
    """All of a path's conversions go to its first touchpoint."""
    return _rule_based(journeys, "first_touch", lambda n: _one_hot(n, 0))


def last_touch(journeys: pd.DataFrame) -> pd.Series:
    """All of a path's conversions go to its last touchpoint."""
    return _rule_based(journeys, "last_touch", lambda n: _one_hot(n, -1))


def linear(journeys: pd.DataFrame) -> pd.Series:
    """A path's conversions are split equally over its touchpoints."""
    return _rule_based(journeys, "linear", lambda n: np.full(n, 1.0 / n))


def time_decay(journeys: pd.DataFrame, half_life: float = 1.0) -> pd.Series:
    """A touch k steps before conversion weighs 2**(-k / half_life) (the last touch has k = 0),
    normalised per path."""
    if not np.isfinite(half_life) or half_life <= 0:
        raise ValueError(f"half_life must be a number > 0 (in touchpoints), got {half_life!r}")

    def touch_weights(n: int) -> np.ndarray:
        weights = 2.0 ** (-np.arange(n - 1, -1, -1) / half_life)
        return weights / weights.sum()

    return _rule_based(journeys, "time_decay", touch_weights)


def position_based(journeys: pd.DataFrame, first: float = 0.4, last: float = 0.4) -> pd.Series:
    """First and last touches get `first` and `last` of a path's conversions, the middle touches share
    the rest equally.

    A one-touch path gives it everything; a two-touch path (no middle) splits in the ratio
    first : last, i.e. 50/50 by default.
    """
    if not (0 <= first <= 1 and 0 <= last <= 1 and first + last <= 1):
        raise ValueError(
            f"first and last must be shares in [0, 1] with first + last ≤ 1, got {first!r}, {last!r}"
        )
    if first + last == 0:
        raise ValueError("first and last cannot both be 0: a two-touch path would get no credit")

    def touch_weights(n: int) -> np.ndarray:
        if n == 1:
            return np.ones(1)
        if n == 2:
            return np.array([first, last]) / (first + last)
        return np.concatenate(([first], np.full(n - 2, (1 - first - last) / (n - 2)), [last]))

    return _rule_based(journeys, "position_based", touch_weights)


# --- Markov chain removal effect ----------------------------------------------------------------

def _absorbing_chain(journeys: _Journeys) -> tuple[np.ndarray, np.ndarray]:
    """Transient-to-transient probabilities Q and transient-to-conversion probabilities r.

    Transient state 0 is the start, state i + 1 is channel i; the other absorbing state is null.
    """
    size = len(journeys.channels) + 1
    state = {channel: i + 1 for i, channel in enumerate(journeys.channels)}
    transitions = np.zeros((size, size))
    to_conversion = np.zeros(size)
    to_null = np.zeros(size)
    counts = zip(journeys.paths, journeys.conversions, journeys.non_conversions)
    for path, conversions, non_conversions in counts:
        states = [0] + [state[c] for c in path]
        np.add.at(transitions, (states[:-1], states[1:]), conversions + non_conversions)
        to_conversion[states[-1]] += conversions
        to_null[states[-1]] += non_conversions
    leaving = transitions.sum(axis=1) + to_conversion + to_null
    # States never left (only on zero-count paths) keep all-zero rows: they convert with probability 0.
    leaving[leaving == 0] = 1.0
    return transitions / leaving[:, None], to_conversion / leaving


def _conversion_probability(transitions: np.ndarray, to_conversion: np.ndarray, removed: int | None) -> float:
    """Probability of absorption in conversion from the start, solving (I - Q) x = r.

    A removed channel is dropped from the system: every transition into it then ends in null.
    Every observed state can reach an absorbing state along an observed path, so I - Q is invertible.
    """
    kept = np.ones(len(to_conversion), dtype=bool)
    if removed is not None:
        kept[removed] = False
    q = transitions[np.ix_(kept, kept)]
    probabilities = np.linalg.solve(np.eye(len(q)) - q, to_conversion[kept])
    return float(probabilities[0])


def markov_removal_effects(journeys: pd.DataFrame) -> pd.Series:
    """For each channel, the fraction of the conversion probability lost when the channel is removed
    from the first-order Markov chain of the journeys (exact, from the absorbing chain)."""
    parsed = _as_journeys(journeys)
    transitions, to_conversion = _absorbing_chain(parsed)
    baseline = _conversion_probability(transitions, to_conversion, None)
    effects = np.zeros(len(parsed.channels))
    if baseline > 0:
        for i in range(len(parsed.channels)):
            effects[i] = 1.0 - _conversion_probability(transitions, to_conversion, i + 1) / baseline
    # Solving leaves round-off of order 1e-16 around exact zeros; a removal cannot raise conversions.
    return parsed.credit_series(np.clip(effects, 0.0, 1.0), "removal_effect")


def markov(journeys: pd.DataFrame) -> pd.Series:
    """Conversions credited in proportion to each channel's Markov removal effect."""
    parsed = _as_journeys(journeys)
    effects = markov_removal_effects(parsed).to_numpy()
    total_effect = effects.sum()
    credit = effects / total_effect * parsed.total_conversions if total_effect > 0 else np.zeros_like(effects)
    return parsed.credit_series(credit, "markov")


# --- Shapley value ------------------------------------------------------------------------------

def shapley(journeys: pd.DataFrame) -> pd.Series:
    """Exact Shapley values of the game v(S) = conversions of the journeys whose channels all lie in S.

    v is a sum, over journeys, of conversions × the unanimity game of the journey's distinct channels,
    and the Shapley value of a unanimity game splits it equally among its members. So each journey's
    conversions are split equally over its *distinct* channels: exact, in time linear in the number of
    touches, for any number of channels (no 2**n subset enumeration is needed). It differs from
    `linear` only when a channel repeats within a path.
    """
    parsed = _as_journeys(journeys)
    distinct_paths = tuple(tuple(dict.fromkeys(path)) for path in parsed.paths)
    distinct = _Journeys(distinct_paths, parsed.conversions, parsed.non_conversions, parsed.channels)
    return parsed.credit_series(_credit_by_position(distinct, lambda n: np.full(n, 1.0 / n)), "shapley")


# --- all models at once -------------------------------------------------------------------------

_MODELS: dict[str, Callable[..., pd.Series]] = {
    "first_touch": first_touch,
    "last_touch": last_touch,
    "linear": linear,
    "time_decay": time_decay,
    "position_based": position_based,
    "markov": markov,
    "shapley": shapley,
}


def attribute(journeys: pd.DataFrame, models: Sequence[str] = MODEL_NAMES, **options) -> pd.DataFrame:
    """Conversions credited per channel (rows) under each model (columns).

    `options` go to the models that take them: ``half_life`` (time_decay), ``first`` and ``last``
    (position_based).
    """
    models = tuple(models)
    unknown = [m for m in models if m not in _MODELS]
    if unknown or not models:
        raise ValueError(
            f"unknown attribution model(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"choose from {', '.join(MODEL_NAMES)}"
        )
    parsed = _as_journeys(journeys)
    used_options: set[str] = set()
    credits = {}
    for model in models:
        accepted = {k: v for k, v in options.items() if k in inspect.signature(_MODELS[model]).parameters}
        used_options.update(accepted)
        credits[model] = _MODELS[model](parsed, **accepted)
    unused = sorted(set(options) - used_options)
    if unused:
        raise ValueError(
            f"option(s) {', '.join(unused)} are not taken by any of the models {', '.join(models)}"
        )
    table = pd.DataFrame(credits)
    table.columns.name = "model"
    return table


def credit_shares(table: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """Credits as percent (0-100) of each model's total conversions; 0 where a model credits nothing."""
    frame = table.to_frame() if isinstance(table, pd.Series) else table
    totals = frame.sum()
    shares = frame.div(totals.where(totals != 0)).mul(100.0).fillna(0.0)
    return shares.iloc[:, 0] if isinstance(table, pd.Series) else shares


# --- customer_journey.csv layout ----------------------------------------------------------------

def _touchpoints(values: Iterable[object]) -> list[str]:
    """The non-empty touchpoints of one row, in order (NaN, None and blank text are empty)."""
    return [str(v).strip() for v in values if not pd.isna(v) and str(v).strip()]


def journeys_from_touchpoints(
    frame: pd.DataFrame,
    touchpoint_columns: Sequence[str] | None = None,
    count_column: str = "customer_count",
    conversion_state: str = "Purchase",
    exit_state: str = "Exit",
) -> pd.DataFrame:
    """Turn one-touchpoint-per-column rows (customer_journey.csv) into path, conversions, non_conversions.

    The last non-empty touchpoint of a row is its outcome: `conversion_state` counts the row's customers
    as conversions, `exit_state` as non-conversions. A row ending in neither keeps all its touchpoints
    and counts as non-converting (the journey did not convert). Identical paths are summed.
    """
    _require_columns(frame, [count_column], "journeys")
    if touchpoint_columns is None:
        touchpoint_columns = [c for c in frame.columns if str(c).startswith("touchpoint_")]
        if not touchpoint_columns:
            raise ValueError(
                "journeys has no touchpoint_1, touchpoint_2, … columns; name its touchpoint columns "
                "with touchpoint_columns=[...]"
            )
    touchpoint_columns = list(touchpoint_columns)
    _require_columns(frame, touchpoint_columns, "journeys")
    counts = _counts(frame, count_column, "journeys")
    terminal_states = {conversion_state, exit_state}
    records = []
    for row, values, count in zip(frame.index, frame[touchpoint_columns].itertuples(index=False), counts):
        touches = _touchpoints(values)
        outcome = touches.pop() if touches and touches[-1] in terminal_states else None
        if not touches or terminal_states.intersection(touches):
            raise ValueError(
                f"journeys, row {_shown(row)}: {PATH_SEPARATOR.join(_touchpoints(values))!r} "
                "is not a journey; "
                f"a journey has at least one touchpoint and ends with {conversion_state!r} or "
                f"{exit_state!r} (or stops without either)"
            )
        converted = outcome == conversion_state
        path = PATH_SEPARATOR.join(touches)
        records.append((path, count, 0.0) if converted else (path, 0.0, count))
    journeys = pd.DataFrame.from_records(records, columns=list(JOURNEY_COLUMNS))
    journeys = journeys.groupby("path", sort=False, as_index=False).sum()
    if pd.api.types.is_integer_dtype(frame[count_column]):
        journeys = journeys.astype({"conversions": "int64", "non_conversions": "int64"})
    return journeys
