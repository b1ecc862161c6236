"""Values from the page URL, checked against what the loaded data offers before they reach a view (SPEC §7).

`clean_url_values(obj, values)` takes the parameter values a URL asks for (as Panel's location sync parsed
them) and returns the values to apply and, in words, what was dropped or changed: list filters keep only
known options, a selector (the tab) only its choices, a date range must parse and is clamped to the data's
dates, a number must be finite and is clamped to its bounds. Plain text out, no markup: whoever shows the
sentences escapes them.
"""
from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from typing import Any

import param

MAX_SHOWN = 60   # characters of a rejected value quoted back to the user


class Rejected(ValueError):
    """A URL value that cannot be used at all; the message says why."""


def shown(value: Any) -> str:
    """A URL value as the user typed it (JSON), cut to MAX_SHOWN characters."""
    try:
        text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN - 1] + "…"


def _day(value: dt.date) -> str:
    return f"{value:%d %b %Y}"


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise Rejected("dates must be two days written YYYY-MM-DD")


def _clean_list(parameter: param.ListSelector, value: Any) -> tuple[list, list[str]]:
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    options = list(parameter.objects or [])
    kept, dropped = [], []
    for item in items:
        if isinstance(item, str) and item in options:
            if item not in kept:
                kept.append(item)
        else:
            dropped.append(item)
    notes = []
    if dropped:
        notes.append(f"ignored {', '.join(shown(v) for v in dropped)}: not in the loaded data"
                     + (" (showing all)" if not kept else ""))
    return kept, notes


def _clean_selector(parameter: param.Selector, value: Any) -> tuple[Any, list[str]]:
    options = list(parameter.objects or [])
    if isinstance(value, str) and value in options:
        return value, []
    raise Rejected(f"choose one of {', '.join(map(str, options))}")


def _clean_date_range(parameter: param.DateRange, value: Any) -> tuple[tuple[dt.date, dt.date], list[str]]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise Rejected("dates must be two days written YYYY-MM-DD")
    start, end = sorted(_as_date(v) for v in value)
    notes = []
    bounds = parameter.bounds
    if bounds and None not in bounds:
        low, high = (_as_date(b) for b in bounds)
        if end < low or start > high:
            raise Rejected(f"the data has dates from {_day(low)} to {_day(high)} only")
        if start < low or end > high:
            start, end = max(start, low), min(end, high)
            notes.append(f"limited to the data's dates, {_day(start)} – {_day(end)}")
    return (start, end), notes


def _clean_number(parameter: param.Number, value: Any) -> tuple[float, list[str]]:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise Rejected("not a number")
    try:
        number = float(value)
    except ValueError:
        raise Rejected("not a number") from None
    if not math.isfinite(number):
        raise Rejected("not a finite number")
    low, high = parameter.bounds or (None, None)
    clamped = min(max(number, low if low is not None else number), high if high is not None else number)
    notes = [f"{shown(value)} is outside {low:g}–{high:g}; {clamped:g} used"] if clamped != number else []
    return clamped, notes


def clean_value(parameter: param.Parameter, value: Any) -> tuple[Any, list[str]]:
    """The usable value for `parameter` and notes on what changed; raises Rejected when nothing is usable."""
    if isinstance(parameter, param.ListSelector):
        return _clean_list(parameter, value)
    if isinstance(parameter, param.Selector):
        return _clean_selector(parameter, value)
    if isinstance(parameter, param.DateRange):
        return _clean_date_range(parameter, value)
    if isinstance(parameter, param.Number):
        return _clean_number(parameter, value)
    return value, []


def clean_url_values(obj: param.Parameterized, values: Mapping[str, Any],
                     keys: Mapping[str, str] | None = None) -> tuple[dict[str, Any], list[str]]:
    """Values to set on `obj` (parameter name → value) and sentences naming what the URL asked for but
    did not get. `keys` maps parameter names to the URL's query keys, for the sentences."""
    keys = keys or {}
    cleaned: dict[str, Any] = {}
    problems: list[str] = []
    for name, value in values.items():
        key = keys.get(name, name)
        if name not in obj.param:
            problems.append(f"{key}: not a setting of this page")
            continue
        try:
            usable, notes = clean_value(obj.param[name], value)
        except Rejected as reason:
            problems.append(f"{key}={shown(value)} was ignored: {reason}")
            continue
        cleaned[name] = usable
        problems += [f"{key}: {note}" for note in notes]
    return cleaned, problems
