"""Budget, forecast & mix (SPEC §4.8): a marketing-mix model, a budget optimizer and scenario planner on its
response curves, 30-day forecasts with backtests, and a mediation analysis of social → search → revenue.

The model fit (a few seconds) runs off the event loop: `fit_mix` is a pure function of the data folder, the
filters and the grain, cached process-wide with `pn.cache`, and in a served session it runs on a small thread
pool while a progress bar moves; the result is handed back on the session's event loop. The optimizer and
the scenarios only evaluate the fitted curves (milliseconds). Without a server session (tests, notebooks,
Pyodide) everything runs in place.
"""
from __future__ import annotations

import functools
import time
from concurrent.futures import ThreadPoolExecutor, wait
from contextvars import ContextVar
from dataclasses import dataclass
from typing import ClassVar

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.models import NumberFormatter

from ..analytics import budget_insights as bi
from ..analytics.forecast import DEFAULT_HORIZON, Backtest, backtest, forecast_series
from ..analytics.mediation import EFFECT_LABELS, MediationResult, mediation_analysis
from ..analytics.mmm import MarketingMixModel, festival_controls, fit_mmm
from ..data.budget_queries import OUTCOMES, channel_periods, channel_spend_totals, mix_frame
from ..data.queries import FilterState, distinct_values
from ..data.store import DataStore
from .. import palette
from ..session import served, warm_up_after_load
from ..format import change, count, escape_html, escape_markdown, percent, ratio, rupees
from .base import (BAD, FILTER_DEPS, NEUTRAL, Section, chart, csv_download, data_table, house_opts,
                   html, kpi_card, markdown, notice, numeral_ticks, rupee_ticks, section_header, text_pane,
                   value_ticks, value_ticks_follow, view_card)
from .filters import Filters

SOCIAL = ("Facebook", "Instagram")
SEARCH = "Google Ads"
ALL_CHANNELS = "All channels"
FORECAST_METRICS = {"Revenue": "revenue", "Conversions": "conversions", "Spend": "spend"}
# The forecast's value axis follows the metric chosen: rupees or counts (base.value_ticks_follow).
FORECAST_TICKS = value_ticks_follow("y", {label: "count" if column == "conversions" else "money"
                                          for label, column in FORECAST_METRICS.items()})
MAX_SCENARIOS = 3
PERCENT_RANGE = (0, 300)
DEFAULT_BOUNDS = (50, 150)
BASELINE = "Baseline"
BASELINE_COLOUR = "#b0b0b0"
HISTORY_SHOWN_DAYS = 120
_PROGRESS: ContextVar = ContextVar("novamart_budget_progress", default=None)
POLL_MS = 250   # how often a served session looks for the result and progress of its fitting thread
# How long a served session waits in place for its fitting thread: a fit already cached answers within it, and its
# result is then shown with the views being built, not by a poll that the section's later steps hold up.
IN_PLACE_S = 0.05


@dataclass(frozen=True)
class MixResult:
    """What one fit produced for one (data, filters, grain): the periods, the model and the mediation."""

    frame: pd.DataFrame
    model: MarketingMixModel | None
    error: str
    mediation: MediationResult | None
    mediation_note: str
    seconds: float


@dataclass(frozen=True)
class ForecastResult:
    frame: pd.DataFrame | None
    backtest: Backtest | None
    error: str
    seconds: float


def _store_key(store: DataStore) -> bytes:
    return store.schema.encode()


def _report(fraction: float, message: str) -> None:
    sink = _PROGRESS.get()
    if sink is not None:
        sink(fraction, message)


@pn.cache(max_items=16, hash_funcs={DataStore: _store_key})
def fit_mix(store: DataStore, state: FilterState, grain: str, effort: tuple = ()) -> MixResult:
    """The marketing-mix model (and the mediation analysis) of the filtered campaign rows at `grain`;
    `effort` (name, value) pairs override `fit_mmm`'s search settings."""
    started = time.perf_counter()
    frame = mix_frame(store, state, grain)
    if frame.empty:
        return MixResult(frame, None, "No campaign rows match the current filters.", None, "", 0.0)
    channels = [c for c in frame.columns if c not in ("date", *OUTCOMES)]
    festivals = festival_controls(frame["date"])
    data = pd.concat([frame, festivals], axis=1)
    try:
        model = fit_mmm(data, "date", "revenue", channels, controls=list(festivals.columns), progress=_report,
                        **dict(effort))
        error = ""
    except ValueError as exc:
        model, error = None, str(exc)
    mediation, note = None, ""
    social = [c for c in SOCIAL if model is not None and c in model.channels]
    if model is None:
        note = "The mediation analysis needs the marketing-mix model."
    elif not social or SEARCH not in model.channels:
        note = (f"The mediation analysis needs spend in {' or '.join(SOCIAL)} and in {SEARCH} "
                "under the current filters.")
    else:
        clicks = mix_frame(store, state, grain, by_channel="clicks")
        data["search_clicks"] = clicks[SEARCH].to_numpy()
        decay = float(model.transforms.loc[social, "decay"].mean())
        others = [c for c in model.channels if c not in social]
        try:
            mediation = mediation_analysis(data, "date", social, "search_clicks", "revenue", other_channels=others,
                                           controls=list(festivals.columns), decay=decay)
        except ValueError as exc:
            note = str(exc)
    return MixResult(frame, model, error, mediation, note, time.perf_counter() - started)


@pn.cache(max_items=32, hash_funcs={DataStore: _store_key})
def fit_forecast(store: DataStore, state: FilterState, channel: str, metric: str, horizon: int) -> ForecastResult:
    """The forecast and backtest of one daily series (a channel's or all channels' `metric`)."""
    started = time.perf_counter()
    long = channel_periods(store, state, "daily")
    if channel != ALL_CHANNELS:
        long = long[long["channel"] == channel]
    if long.empty:
        return ForecastResult(None, None, f"No {channel} rows match the current filters.", 0.0)
    series = long.groupby("period")[metric].sum()
    try:
        frame = forecast_series(series, horizon)
    except ValueError as exc:
        return ForecastResult(None, None, str(exc), time.perf_counter() - started)
    try:
        scores = backtest(series, horizon)
    except ValueError:
        scores = None
    return ForecastResult(frame, scores, "", time.perf_counter() - started)


def _executor() -> ThreadPoolExecutor:
    """The process's fitting threads (shared by sessions; fits queue there, never on an event loop)."""
    return pn.state.as_cached("novamart-budget-fits", lambda: ThreadPoolExecutor(
        max_workers=2, thread_name_prefix="novamart-fit"))


def _text(values, fmt) -> list[str]:
    return [fmt(v) for v in values]


def _day(value) -> str:
    return f"{pd.Timestamp(value):%d %b %Y}"


class BudgetSection(Section):
    """Budget, forecast & mix: what each channel adds, where the next rupee should go, what comes next."""

    title = "Budget, forecast & mix"
    slug = "budget"
    tables = ("campaigns",)
    spec_section = "4.8"
    first_screen = 4   # header, the fit status, the model notes and the model card with its fit chart

    # fit_mmm's search settings, as (name, value) pairs: the defaults; tests that only need a fit lower them.
    FIT_EFFORT: ClassVar[tuple[tuple[str, int], ...]] = ()

    grain = param.Selector(default="daily", objects=["daily", "weekly"], doc="Period the model works in")
    budget = param.Number(default=0.0, bounds=(0, None), doc="Budget per period the optimizer allocates")
    bounds = param.Dict(default={}, doc="Channel → (min, max) spend as % of the current mix's, for the optimizer")
    scenario = param.Dict(default={}, doc="Channel → spend as % of the current mix's, the hand-made allocation")
    scenario_name = param.String(default="Scenario A", doc="Name under which the scenario is saved")
    saved = param.List(default=[], doc="Saved scenarios: {'name', 'allocation': {channel: spend}}")
    forecast_channel = param.Selector(default=ALL_CHANNELS, objects=[ALL_CHANNELS], doc="Series to forecast")
    forecast_metric = param.Selector(default="Revenue", objects=list(FORECAST_METRICS), doc="Metric to forecast")
    horizon = param.Integer(default=DEFAULT_HORIZON, bounds=(7, 90), doc="Days to forecast")

    result = param.ClassSelector(class_=MixResult, default=None, allow_None=True, precedence=-1)
    model_channels = param.List(default=[], precedence=-1, doc="Channels with a response curve")
    fitting = param.Boolean(default=False, precedence=-1)
    progress = param.Integer(default=0, bounds=(0, 100), precedence=-1)
    status = param.String(default="", precedence=-1)
    forecast = param.ClassSelector(class_=ForecastResult, default=None, allow_None=True, precedence=-1)
    forecasting = param.Boolean(default=False, precedence=-1)

    def __init__(self, **params):
        super().__init__(**params)
        self._requests = {"mix": 0, "forecast": 0}
        self._progress_note: tuple[int, str] | None = None   # written by a fitting thread, shown by the poll
        self._optimal_memo: dict = {}
        self._sliders: dict[str, dict] = {}
        if not self.store.has("campaigns"):
            self.paid_channels, self.colors = [], {}
            return
        channels = distinct_values(self.store, "campaigns", "channel")
        # One colour per channel across the app (palette.py), from every channel of the data.
        self.colors = palette.colours("channel", channels)
        self.colors[BASELINE] = BASELINE_COLOUR
        totals = channel_spend_totals(self.store)
        self.paid_channels = sorted(totals.index[totals > 0])   # a fixed set: every chart keeps its layers
        self.param.forecast_channel.objects = [ALL_CHANNELS, *channels]
        if served():   # the model card then opens with its fit (the reference data's fits: 1–5 s)
            warm_up_after_load(self.store, "Budget, forecast & mix", functools.partial(warm_up, self.store))

    # -- fitting -------------------------------------------------------------------------------------
    def _submit(self, kind: str, job, apply) -> None:
        """Run `job()` and hand its result to `apply`: in place, or on a fitting thread that the session polls
        (a periodic callback on the session's own loop, so nothing is scheduled from another thread) unless the
        shown section's result comes within IN_PLACE_S (a cached fit). Only the newest request of a kind is
        applied."""
        self._requests[kind] += 1
        request = self._requests[kind]

        def deliver(value):
            if request == self._requests[kind]:
                apply(value)

        if not served():
            deliver(job())
            return

        def guarded():
            try:
                return job()
            except Exception as exc:  # a failed fit must not leave the spinner turning
                return exc

        future = _executor().submit(guarded)
        if self.active and wait([future], timeout=IN_PLACE_S).done:
            deliver(future.result())
            return

        def poll():
            self._show_progress()
            # A hidden tab takes its result when shown: its tables may not have been drawn in the page yet.
            if future.done() and self.active:
                poller.stop()
                deliver(future.result())

        poller = pn.state.add_periodic_callback(poll, period=POLL_MS)

    def _show_progress(self) -> None:
        """Copy the fitting thread's latest progress note into the progress bar and status line."""
        note, self._progress_note = self._progress_note, None
        if note is not None and self.fitting:
            self.param.update(progress=note[0], status=note[1])

    def mix_args(self) -> tuple:
        """`fit_mix`'s arguments for the current filters and grain."""
        return self.store, self.filter_state(), self.grain, self.FIT_EFFORT

    def forecast_args(self) -> tuple:
        """`fit_forecast`'s arguments for the current filters and the chosen series and horizon."""
        return (self.store, self.filter_state(), self.forecast_channel, FORECAST_METRICS[self.forecast_metric],
                self.horizon)

    def refresh(self) -> None:
        """(Re)fit the model for the current filters and grain."""
        args = self.mix_args()
        in_session = served()

        def progress(fraction, message):
            value = int(round(100 * fraction))
            if in_session:   # the fitting thread only leaves a note; the session's poll shows it
                self._progress_note = (value, message)
            else:
                self.param.update(progress=value, status=message)

        def job():
            token = _PROGRESS.set(progress)
            try:
                return fit_mix(*args)
            finally:
                _PROGRESS.reset(token)

        self.param.update(fitting=True, progress=0, status="Fitting the marketing-mix model…")
        self._submit("mix", job, self._apply_mix)

    def _apply_mix(self, result) -> None:
        if isinstance(result, Exception):
            message = f"The model could not be fitted: {result}"
            result = MixResult(pd.DataFrame(), None, message, None, "", 0.0)
        model = result.model
        update = {"result": result, "fitting": False, "progress": 100,
                  "status": result.error or f"Model fitted in {result.seconds:.1f} s."}
        if model is not None:
            channels = list(model.channels)
            update["budget"] = float(model.current.sum())
            update["bounds"] = {c: self.bounds.get(c, DEFAULT_BOUNDS) for c in channels}
            update["scenario"] = {c: self.scenario.get(c, 100) for c in channels}
            if channels != self.model_channels:
                update["model_channels"] = channels
        self.param.update(**update)

    def refresh_forecast(self) -> None:
        """(Re)fit the forecast of the chosen channel and metric."""
        args = self.forecast_args()
        self.forecasting = True
        self._submit("forecast", lambda: fit_forecast(*args), self._apply_forecast)

    def _apply_forecast(self, result) -> None:
        if isinstance(result, Exception):
            result = ForecastResult(None, None, f"The forecast failed: {result}", 0.0)
        self.param.update(forecast=result, forecasting=False)

    @param.depends(*FILTER_DEPS, "grain", watch=True)
    def _inputs_changed(self) -> None:
        if self._layout is not None:
            self.refresh()
        else:   # a tab not yet shown only forgets its results; it fits when shown (or asked for a report)
            self.result = None

    @param.depends(*FILTER_DEPS, "forecast_channel", "forecast_metric", "horizon", watch=True)
    def _forecast_inputs_changed(self) -> None:
        if self._layout is not None:
            self.refresh_forecast()
        else:
            self.forecast = None

    def _settle(self) -> None:
        """Fit in place when nothing is fitted nor being fitted: the insights report of a tab never shown."""
        if self.result is None and not self.fitting:
            self._apply_mix(fit_mix(*self.mix_args()))
        if self.forecast is None and not self.forecasting:
            self._apply_forecast(fit_forecast(*self.forecast_args()))

    @property
    def model(self) -> MarketingMixModel | None:
        return self.result.model if self.result is not None else None

    @property
    def period(self) -> str:
        return bi.PERIOD_WORDS[self.model.frequency if self.model is not None else self.grain]

    # -- data ------------------------------------------------------------------------------------------
    @param.depends("result")
    def fit_frame(self) -> pd.DataFrame:
        """Per period: date, actual, predicted (in sample), held_out (test folds only)."""
        if self.model is None:
            return pd.DataFrame({c: pd.Series(dtype=float) for c in ("date", "actual", "predicted", "held_out")})
        return self.model.decomposition[["date", "actual", "predicted", "held_out"]].copy()

    @param.depends("result")
    def decomposition_frame(self) -> pd.DataFrame:
        """Per week (summed) or per period: date, the baseline and every paid channel's contribution."""
        layers = [BASELINE, *self.paid_channels]
        if self.model is None:
            return pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"),
                                 **{c: pd.Series(dtype=float) for c in layers}})
        parts = self.model.decomposition.rename(columns={"baseline": BASELINE})
        frame = parts.reindex(columns=["date", *layers], fill_value=0.0)
        frame["date"] = pd.to_datetime(frame["date"])
        if self.model.frequency == "daily":
            frame = frame.groupby(frame["date"].dt.to_period("W-SUN").dt.start_time).sum(numeric_only=True)
            frame = frame.reset_index()
        return frame

    @param.depends("result")
    def contributions_frame(self) -> pd.DataFrame:
        """Per paid channel with a curve: spend, contribution, share (interval), ROI (interval), marginal ROI."""
        columns = ["channel", "spend", "contribution", "share", "share_low", "share_high", "roi", "roi_low",
                   "roi_high", "marginal_roi"]
        if self.model is None:   # a row (of zeros) per paid channel: the bars are categorical from the first draw
            return pd.DataFrame({c: self.paid_channels if c == "channel" else 0.0 for c in columns},
                                index=range(len(self.paid_channels)))
        return self.model.contributions.reset_index()[columns]

    def _bounds_in_money(self) -> dict[str, tuple[float, float]]:
        current = self.model.current
        return {c: (lo / 100 * float(current[c]), hi / 100 * float(current[c]))
                for c, (lo, hi) in self.bounds.items() if c in current}

    @param.depends("result", "budget", "bounds")
    def optimal(self) -> pd.DataFrame:
        """The optimizer's allocation for the budget and bounds (empty, with `attrs['error']`, when impossible)."""
        if self.model is None:
            return pd.DataFrame(columns=["current", "spend", "lower", "upper", "change", "change_pct",
                                         "response_current", "response", "marginal_roi"])
        key = (self.model, float(self.budget), tuple(sorted(self.bounds.items())))
        if key not in self._optimal_memo:
            try:
                result = self.model.optimize(self.budget, self._bounds_in_money())
            except ValueError as exc:
                result = pd.DataFrame(columns=["current", "spend", "lower", "upper", "change", "change_pct",
                                               "response_current", "response", "marginal_roi"])
                result.attrs["error"] = str(exc)
            self._optimal_memo = {key: result}
        return self._optimal_memo[key]

    @param.depends("result", "budget", "bounds")
    def response_frame(self) -> pd.DataFrame:
        """Steady-state response per paid channel over 0–300 % of its current spend (pct), with ₹ and marginal ROI."""
        rows = []
        model = self.model
        for channel in self.paid_channels:
            if model is None or channel not in model.channels:
                continue
            current = float(model.current[channel])
            pct = np.linspace(0, PERCENT_RANGE[1], 61)
            curve = model.response_curve(channel, pct / 100 * current)
            rows.append(pd.DataFrame({"channel": channel, "pct": pct, "spend": curve["spend"],
                                      "response": curve["response"], "marginal_roi": curve["marginal_roi"]}))
        if not rows:
            return pd.DataFrame({"channel": pd.Series(dtype=object), **{c: pd.Series(dtype=float) for c in
                                                                        ("pct", "spend", "response", "marginal_roi")}})
        return pd.concat(rows, ignore_index=True)

    @param.depends("result", "budget", "bounds")
    def marks_frame(self) -> pd.DataFrame:
        """The current and the optimizer's point on each curve: channel, which, pct, spend, response."""
        rows = []
        optimal = self.optimal()
        if self.model is not None:
            for channel in self.model.channels:
                current = float(self.model.current[channel])
                points = [("Current", current)]
                if channel in optimal.index:
                    points.append(("Optimal", float(optimal.loc[channel, "spend"])))
                for which, spend in points:
                    rows.append({"channel": channel, "which": which, "pct": 100 * spend / current if current else 0.0,
                                 "spend": spend, "response": float(self.model.response(channel, spend))})
        columns = ["channel", "which", "pct", "spend", "response"]
        return pd.DataFrame(rows, columns=columns).astype({"pct": float, "spend": float, "response": float})

    def _allocation(self, percents: dict) -> dict[str, float]:
        return {c: percents.get(c, 100) / 100 * float(self.model.current[c]) for c in self.model.channels}

    def _scenario_row(self, name: str, allocation: dict[str, float]) -> dict:
        spend = float(sum(allocation.values()))
        revenue = self.model.predict(allocation)
        media = revenue - self.model.baseline_level
        return {"scenario": name, "spend": spend, "revenue": revenue, "media_revenue": media,
                "roas": revenue / spend if spend > 0 else np.nan,
                "media_roas": media / spend if spend > 0 else np.nan,
                **{f"spend: {c}": allocation[c] for c in self.model.channels}}

    @param.depends("result", "budget", "bounds", "scenario", "saved")
    def scenario_table(self) -> pd.DataFrame:
        """Current, optimal, the working scenario and the saved ones: spend and predicted revenue per period,
        ROAS (revenue / spend) and media ROAS, revenue against current, and each channel's spend."""
        # The same columns before and after a fit (every paid channel; one without a curve spends 0): a table
        # whose columns change while the browser is still building it raises Tabulator errors.
        columns = ["scenario", "spend", "revenue", "media_revenue", "roas", "media_roas", "vs_current",
                   *(f"spend: {c}" for c in self.paid_channels)]
        if self.model is None:
            return pd.DataFrame(columns=columns)
        rows = [self._scenario_row("Current", self._allocation({}))]
        optimal = self.optimal()
        if len(optimal):
            rows.append(self._scenario_row("Optimal", optimal["spend"].to_dict()))
        rows.append(self._scenario_row("Your scenario", self._allocation(self.scenario)))
        for saved in self.saved:
            if set(saved["allocation"]) == set(self.model.channels):
                rows.append(self._scenario_row(saved["name"], saved["allocation"]))
        table = pd.DataFrame(rows)
        table["vs_current"] = table["revenue"] / table.loc[0, "revenue"] - 1
        return table.reindex(columns=columns, fill_value=0.0)

    @param.depends("forecast")
    def forecast_frame(self) -> pd.DataFrame:
        """The last HISTORY_SHOWN_DAYS days of history and the forecast with its 80 % and 95 % intervals."""
        columns = ["date", "actual", "forecast", "lo80", "hi80", "lo95", "hi95"]
        if self.forecast is None or self.forecast.frame is None:
            return pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"), **{c: pd.Series(dtype=float)
                                                                              for c in columns[1:]}})
        frame = self.forecast.frame
        history = frame["forecast"].isna()
        keep = ~history | (frame["date"] > frame.loc[history, "date"].max() - pd.Timedelta(days=HISTORY_SHOWN_DAYS))
        return frame[keep].reset_index(drop=True)

    # -- actions -----------------------------------------------------------------------------------------
    def save_scenario(self, event=None) -> None:
        """Keep the working scenario under its name (at most MAX_SCENARIOS; the oldest goes first)."""
        if self.model is None:
            return
        name = self.scenario_name.strip() or f"Scenario {len(self.saved) + 1}"
        kept = [s for s in self.saved if s["name"] != name]
        kept.append({"name": name, "allocation": self._allocation(self.scenario)})
        self.saved = kept[-MAX_SCENARIOS:]
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        self.scenario_name = f"Scenario {letters[len(self.saved) % len(letters)]}"

    def reset_scenario(self, event=None) -> None:
        self.scenario = {c: 100 for c in self.scenario}

    # -- charts --------------------------------------------------------------------------------------
    @param.depends("result")
    def plot_fit(self) -> hv.Overlay:
        """Actual against the model, in sample and on the held-out folds (shaded)."""
        frame = self.fit_frame()
        frame["date"] = pd.to_datetime(frame["date"])
        shown = frame.assign(**{f"{column}_text": _text(frame[column], rupees)
                                for column in ("actual", "predicted", "held_out")})
        tips = [("Date", "@{date}{%d %b %Y}"), ("Actual", "@{actual_text}"), ("Model", "@{predicted_text}"),
                ("Held-out forecast", "@{held_out_text}")]
        # One tooltip per period (on the actual curve, following the mouse along x) lists all three values; the
        # model's curves carry no text (three copies of it were most of the section's first message).
        actual = hv.Curve(shown, "date", [hv.Dimension("actual", label="Revenue"), "actual_text", "predicted_text",
                                          "held_out_text"], label="Actual").opts(
            color="#333333", line_width=1.5, tools=["hover"], hover_mode="vline", hover_tooltips=tips,
            hover_formatters={"@{date}": "datetime"})
        curves = [actual, *(
            hv.Curve(frame, "date", hv.Dimension(column, label="Revenue"), label=label).opts(
                color=colour, line_width=width, tools=[])
            for column, label, colour, width in (("predicted", "Model (in sample)", "#0072B5", 1.5),
                                                 ("held_out", "Model (held-out folds)", "#E69F00", 2)))]
        folds = self.model.cv_folds if self.model is not None else pd.DataFrame(columns=["test_start", "test_end"])
        spans = hv.VSpans((pd.to_datetime(folds["test_start"]), pd.to_datetime(folds["test_end"]))).opts(
            color="#E69F00", alpha=0.08)
        return hv.Overlay([spans, *curves]).opts(
            responsive=True, height=360, toolbar="above", legend_position="top_left", yformatter=rupee_ticks(),
            title=f"Revenue per {self.period}: actual and model (shaded: held-out folds)", xlabel="Date",
            active_tools=["wheel_zoom"])

    @param.depends("result")
    def plot_contributions(self) -> hv.Overlay:
        """Stacked areas: the baseline and each paid channel's contribution over time."""
        frame = self.decomposition_frame()
        layers, bottom = [], np.zeros(len(frame))
        for name in [BASELINE, *self.paid_channels]:
            values = frame[name].to_numpy(dtype=float)
            top = bottom + values
            layer = pd.DataFrame({"date": frame["date"], "top": top, "bottom": bottom, "layer": name,
                                  "date_text": _text(frame["date"], _day), "value_text": _text(values, rupees)})
            layers.append(hv.Area(layer, "date", [hv.Dimension("top", label="Revenue"), "bottom", "layer", "date_text",
                                                  "value_text"], label=name).opts(
                color=self.colors.get(name, NEUTRAL), alpha=0.85, line_alpha=0, tools=["hover"],
                hover_tooltips=[("Week of", "@{date_text}"), ("Part", "@{layer}"),
                                ("Revenue", "@{value_text}")]))
            bottom = top
        return hv.Overlay(layers).opts(
            responsive=True, height=380, toolbar="above", legend_position="right", yformatter=rupee_ticks(),
            title="Revenue by source, per week: baseline and each paid channel's contribution", xlabel="Week",
            active_tools=["wheel_zoom"])

    def _interval_bars(self, value: str, low: str, high: str, label: str, title: str, breakeven: bool) -> hv.Overlay:
        frame = self.contributions_frame().sort_values(value, ascending=False, ignore_index=True)
        fmt = ratio if value == "roi" else percent
        frame["value_text"] = _text(frame[value], fmt)
        frame["interval_text"] = [f"{fmt(a)} – {fmt(b)}" for a, b in zip(frame[low], frame[high])]
        frame["minus"] = (frame[value] - frame[low]).clip(lower=0)
        frame["plus"] = (frame[high] - frame[value]).clip(lower=0)
        bars = hv.Bars(frame, [hv.Dimension("channel", label="Channel")],
                       [hv.Dimension(value, label=label), "value_text", "interval_text"]).opts(
            color="channel", cmap=self.colors, show_legend=False, tools=["hover"],
            hover_tooltips=[("Channel", "@{channel}"), (label, "@{value_text}"), ("95 % interval", "@{interval_text}")])
        errors = hv.ErrorBars(frame, [hv.Dimension("channel", label="Channel")], [value, "minus", "plus"]).opts(
            line_width=1.5, color="#333333")
        line = hv.HLine(1.0 if breakeven else 0.0).opts(color=BAD if breakeven else NEUTRAL, line_dash="dashed",
                                                       line_width=2 if breakeven else 0)
        top = float(frame[high].max()) if len(frame) and np.isfinite(frame[high].max()) else 1.0
        # The ROI axis always shows the break-even line; shares are fractions drawn as percentages.
        options = {"ylim": (0, max(top * 1.1, 1.2))} if breakeven else {
            "ylim": (0, max(top * 1.15, 0.01)), "yformatter": numeral_ticks("0%")}
        return hv.Overlay([bars, errors, line]).opts(responsive=True, height=340, toolbar="above", title=title,
                                                     **options)

    @param.depends("result")
    def plot_shares(self) -> hv.Overlay:
        """Each channel's share of revenue with its bootstrap interval."""
        return self._interval_bars("share", "share_low", "share_high", "Share of revenue",
                                   "Share of revenue each channel contributes (95 % interval)", breakeven=False)

    @param.depends("result")
    def plot_roi(self) -> hv.Overlay:
        """ROI per channel with its interval and the break-even line at 1."""
        return self._interval_bars("roi", "roi_low", "roi_high", "ROI (revenue per ₹)",
                                   "ROI by channel with 95 % intervals (dashed: break-even, ROI = 1)", breakeven=True)

    @param.depends("result", "budget", "bounds")
    def plot_response(self) -> hv.Overlay:
        """Response curves of every paid channel over 0–300 % of its current spend; the current and the optimal marked."""
        frame = self.response_frame()
        frame["spend_text"] = _text(frame["spend"], rupees)
        frame["response_text"] = _text(frame["response"], rupees)
        frame["margin_text"] = _text(frame["marginal_roi"], ratio)
        tips = [("Channel", "@{channel}"), (f"Spend per {self.period}", "@{spend_text}"),
                ("Revenue it adds", "@{response_text}"), ("Next rupee returns", "@{margin_text}")]
        curves = hv.NdOverlay({channel: hv.Curve(frame[frame["channel"] == channel], "pct",
                                                 [hv.Dimension("response", label=f"Revenue per {self.period}"),
                                                  "channel", "spend_text", "response_text", "margin_text"]).opts(
            color=self.colors.get(channel, NEUTRAL), line_width=2, tools=["hover"], hover_tooltips=tips)
            for channel in self.paid_channels}, kdims=["Channel"])
        marks = self.marks_frame()
        marks["spend_text"] = _text(marks["spend"], rupees)
        marks["response_text"] = _text(marks["response"], rupees)
        points = [
            hv.Scatter(marks[marks["which"] == which], "pct",
                       ["response", "channel", "which", "spend_text", "response_text"], label=label).opts(
                color="channel", cmap=self.colors, marker=marker, size=11, line_color="black", show_legend=False,
                tools=["hover"],
                hover_tooltips=[("Channel", "@{channel}"), ("Point", "@{which}"), ("Spend", "@{spend_text}"),
                                ("Revenue it adds", "@{response_text}")])
            for which, label, marker in (("Current", "current", "circle"), ("Optimal", "optimal", "diamond"))
        ]
        return hv.Overlay([curves, *points]).opts(
            responsive=True, height=380, toolbar="above", legend_position="right", yformatter=rupee_ticks(),
            xlabel="Spend as % of current", title="Response curves at steady state (circle: current, diamond: optimal)",
            active_tools=["wheel_zoom"])

    @param.depends("result", "budget", "bounds")
    def plot_allocation(self) -> hv.Bars:
        """The current and the optimal spend per channel, side by side."""
        optimal = self.optimal()
        # "Current" sorts before "Optimal": HoloViews orders the groups alphabetically.
        # Before a fit, the paid channels with no bars: the axis is categorical from the first draw (an empty
        # frame would give it a numeric range that the fitted bars cannot update).
        channels = list(optimal.index) if len(optimal) else list(self.paid_channels)
        rows = [{"channel": c, "allocation": name,
                 "spend": float(optimal.loc[c, column]) if c in optimal.index else np.nan}
                for c in channels for name, column in (("Current", "current"), ("Optimal", "spend"))]
        frame = pd.DataFrame(rows, columns=["channel", "allocation", "spend"]).astype({"spend": float})
        frame["spend_text"] = _text(frame["spend"], rupees)
        bars = hv.Bars(frame, [hv.Dimension("channel", label="Channel"),
                               hv.Dimension("allocation", label="Allocation")],
                       [hv.Dimension("spend", label=f"Spend per {self.period}"), "spend_text"])
        return house_opts(bars, cmap={"Current": NEUTRAL, "Optimal": "#0072B5"}, yformatter=rupee_ticks(),
                          multi_level=False, legend_position="top_right", height=340,
                          hover_tooltips=[("Channel", "@{channel}"), ("Allocation", "@{allocation}"),
                                          ("Spend", "@{spend_text}")],
                          title=f"Spend per {self.period}: current and optimal")

    def forecast_subject(self) -> str:
        """What the forecast covers, in words: its channel, or with "All channels" and a channel filter, the
        channels the filter keeps (the forecast sums only those)."""
        if self.forecast_channel != ALL_CHANNELS or not self.channels:
            return self.forecast_channel
        kept = sorted(self.channels)
        return (" + ".join(kept) if len(kept) <= 3 else f"{len(kept)} channels") + " (the channel filter)"

    @param.depends("forecast")
    def plot_forecast(self) -> hv.Overlay:
        """History, the forecast and its 80 % and 95 % prediction bands."""
        frame = self.forecast_frame()
        money = FORECAST_METRICS[self.forecast_metric] != "conversions"
        fmt = rupees if money else count
        frame["date_text"] = _text(frame["date"], _day)
        for column in ("actual", "forecast", "lo80", "hi80", "lo95", "hi95"):
            frame[f"{column}_text"] = _text(frame[column], fmt)
        ahead = frame[frame["forecast"].notna()]
        band_tips = [("Date", "@{date_text}"), ("Forecast", "@{forecast_text}"),
                     ("80 %", "@{lo80_text} – @{hi80_text}"), ("95 %", "@{lo95_text} – @{hi95_text}")]
        texts = ["date_text", "forecast_text", "lo80_text", "hi80_text", "lo95_text", "hi95_text"]
        label = self.forecast_metric
        bands = [hv.Area(ahead, "date", [hv.Dimension(f"lo{level}", label=label), f"hi{level}", *texts],
                         label=f"{level} % interval").opts(color="#0072B5", alpha=alpha, line_alpha=0, tools=["hover"],
                                                           hover_tooltips=band_tips)
                 for level, alpha in ((95, 0.15), (80, 0.3))]
        history = hv.Curve(frame[frame["actual"].notna()], "date", [hv.Dimension("actual", label=label), "date_text",
                                                                    "actual_text"], label="Actual").opts(
            color="#333333", line_width=1.5, tools=["hover"], hover_tooltips=[("Date", "@{date_text}"),
                                                                               ("Actual", "@{actual_text}")])
        line = hv.Curve(ahead, "date", [hv.Dimension("forecast", label=label), *texts], label="Forecast").opts(
            color="#0072B5", line_width=2, tools=["hover"], hover_tooltips=band_tips)
        return hv.Overlay([*bands, history, line]).opts(
            responsive=True, height=360, toolbar="above", legend_position="top_left", xlabel="Date",
            title=f"{label}, {self.forecast_subject()}: the last {HISTORY_SHOWN_DAYS} days and the next {self.horizon}",
            active_tools=["wheel_zoom"], yformatter=value_ticks("money" if money else "count"),
            hooks=[FORECAST_TICKS])

    # -- text ------------------------------------------------------------------------------------------
    def _waiting(self) -> str:
        if self.result is not None and self.result.error:
            return escape_markdown(self.result.error)
        return "The model is being fitted…" if self.fitting else "The model is fitted when this tab is shown."

    @param.depends("result", "fitting")
    def insight_fit(self) -> str:
        self._settle()
        if self.model is None:
            return self._waiting()
        return bi.trust_verdict(self.model)[1]

    @param.depends("result")
    def quality_cards(self) -> pn.pane.HTML:
        """Held-out R², MAPE and NRMSE of the model against the baseline-only model."""
        if self.model is None:
            return html("", sizing_mode="stretch_width")
        q = self.model.quality
        grade = bi.trust_verdict(self.model)[0]
        cards = [kpi_card("Held-out R²", f"{q['r2']:.2f}", caption=f"baseline only: {q['baseline_r2']:.2f}"),
                 kpi_card("Held-out MAPE", percent(q["mape"]), caption=f"baseline only: {percent(q['baseline_mape'])}"),
                 kpi_card("Held-out NRMSE", f"{q['nrmse']:.3f}", caption=f"baseline only: {q['baseline_nrmse']:.3f}"),
                 kpi_card("In-sample R²", f"{q['in_sample_r2']:.2f}", caption="all periods")]
        return html(f'<div class="budget-quality" data-grade="{grade}" style="display:flex;gap:10px;'
                    f'flex-wrap:wrap">{"".join(cards)}</div>', sizing_mode="stretch_width")

    @param.depends("result")
    def folds_table(self) -> pd.DataFrame:
        """The rolling-origin folds and their held-out scores."""
        if self.model is None:
            return pd.DataFrame(columns=["Fold", "Trained on", "Tested on", "R²", "MAPE", "NRMSE"])
        folds = self.model.cv_folds
        return pd.DataFrame({
            "Fold": folds["fold"], "Trained on": [f"{_day(a)} – {_day(b)}" for a, b in
                                                  zip(folds["train_start"], folds["train_end"])],
            "Tested on": [f"{_day(a)} – {_day(b)}" for a, b in zip(folds["test_start"], folds["test_end"])],
            "R²": folds["r2"].round(2), "MAPE": folds["mape"], "NRMSE": folds["nrmse"].round(3)})

    @param.depends("result")
    def insight_contributions(self) -> str:
        self._settle()
        if self.model is None:
            return self._waiting()
        return bi.contribution_summary(self.model)

    @param.depends("result")
    def insight_shares(self) -> str:
        self._settle()
        if self.model is None:
            return self._waiting()
        return bi.share_summary(self.model)

    @param.depends("result")
    def insight_roi(self) -> str:
        self._settle()
        if self.model is None:
            return self._waiting()
        return bi.roi_summary(self.model)

    @param.depends("result", "budget", "bounds")
    def insight_response(self) -> str:
        self._settle()
        if self.model is None:
            return self._waiting()
        return bi.response_summary(self.model, self.optimal())

    @param.depends("result", "budget", "bounds")
    def insight_optimizer(self) -> str:
        self._settle()
        if self.model is None:
            return self._waiting()
        optimal = self.optimal()
        if "error" in optimal.attrs:
            return escape_markdown(optimal.attrs["error"])
        return self._caution() + bi.optimizer_summary(optimal, self.period)

    def _caution(self) -> str:
        """A warning before advice drawn from a model the model card says not to trust."""
        if bi.trust_verdict(self.model)[0] == "weak":
            return "**Caution: the model card says not to move budget on this model; read this as an illustration.** "
        return ""

    @param.depends("result", "budget", "bounds")
    def optimizer_figures(self) -> pn.pane.HTML:
        """The predicted revenue of the current and of the optimal mix, as figures (read by the browser tests too)."""
        optimal = self.optimal()
        if self.model is None or not len(optimal):
            return html('<div class="budget-optimizer" data-predicted=""></div>', sizing_mode="stretch_width")
        a = optimal.attrs
        cards = [kpi_card(f"Revenue per {self.period}, current mix", rupees(a["predicted_current"]),
                          caption=f"spend {rupees(optimal['current'].sum())} per {self.period}"),
                 kpi_card("With the optimal mix", rupees(a["predicted"]), change(a["lift"]), a["lift"] > 0,
                          f"budget {rupees(a['total'])} per {self.period}")]
        return html(f'<div class="budget-optimizer" data-predicted="{a["predicted"]:.0f}" style="display:flex;'
                    f'gap:10px;flex-wrap:wrap">{"".join(cards)}</div>', sizing_mode="stretch_width")

    @param.depends("result", "budget", "bounds")
    def optimizer_table(self) -> pd.DataFrame:
        """The current and the optimal spend per channel, the change, and the revenue each adds."""
        optimal = self.optimal()
        return pd.DataFrame({
            # Text even when empty: Tabulator keeps the formatter of the first frame it was given.
            "Channel": optimal.index.astype(str),
            f"Current (₹/{self.period})": optimal["current"].to_numpy(dtype=float),
            f"Optimal (₹/{self.period})": optimal["spend"].to_numpy(dtype=float),
            "Change": optimal["change_pct"].to_numpy(dtype=float),
            f"Revenue it adds, current (₹/{self.period})": optimal["response_current"].to_numpy(dtype=float),
            f"Revenue it adds, optimal (₹/{self.period})": optimal["response"].to_numpy(dtype=float),
            "Next rupee returns (optimal)": optimal["marginal_roi"].to_numpy(dtype=float)})

    @param.depends("result", "budget", "bounds", "scenario", "saved")
    def scenario_figures(self) -> pn.pane.HTML:
        """The working scenario's predicted revenue and ROAS beside the current and the optimal (browser-test hooks)."""
        table = self.scenario_table()
        if table.empty:
            return html('<div class="budget-scenario" data-revenue=""></div>', sizing_mode="stretch_width")
        rows = table.set_index("scenario")
        cards = []
        for name in ("Current", "Optimal", "Your scenario"):
            if name in rows.index:
                row = rows.loc[name]
                cards.append(kpi_card(f"{name}: revenue per {self.period}", rupees(row["revenue"]),
                                      change(row["vs_current"]) if name != "Current" else "",
                                      bool(row["vs_current"] > 0) if name != "Current" else None,
                                      f"spend {rupees(row['spend'])} · ROAS {ratio(row['roas'])}"))
        mine = rows.loc["Your scenario"]
        return html(f'<div class="budget-scenario" data-revenue="{mine["revenue"]:.0f}" style="display:flex;'
                    f'gap:10px;flex-wrap:wrap">{"".join(cards)}</div>', sizing_mode="stretch_width")

    @param.depends("result", "budget", "bounds", "scenario", "saved")
    def scenario_display(self) -> pd.DataFrame:
        """The scenario table as shown: money in ₹ per period, ratios as multiples."""
        table = self.scenario_table()
        return table.rename(columns={"scenario": "Scenario", "spend": f"Spend (₹/{self.period})",
                                     "revenue": f"Predicted revenue (₹/{self.period})",
                                     "media_revenue": f"From media (₹/{self.period})", "roas": "ROAS",
                                     "media_roas": "Media ROAS", "vs_current": "Revenue vs current"})

    @param.depends("result", "budget", "bounds", "scenario", "saved")
    def insight_scenario(self) -> str:
        self._settle()
        if self.model is None:
            return self._waiting()
        return self._caution() + bi.scenario_summary(self.scenario_table(), self.period)

    @param.depends("forecast", "forecasting")
    def insight_forecast(self) -> str:
        self._settle()
        if self.forecast is None:
            return ("The forecast is being fitted…" if self.forecasting
                    else "The forecast is fitted when this tab is shown.")
        if self.forecast.frame is None:
            return escape_markdown(self.forecast.error)
        metric = FORECAST_METRICS[self.forecast_metric]
        return bi.forecast_summary(self.forecast.frame, self.forecast.backtest, self.forecast_metric,
                                   self.forecast_subject(), money=metric != "conversions")

    @param.depends("forecast")
    def backtest_table(self) -> pd.DataFrame:
        """Per backtest origin: MAPE and coverage of the model and of the seasonal-naive forecast."""
        if self.forecast is None or self.forecast.backtest is None:
            return pd.DataFrame(columns=["From", "Model MAPE", "Naive MAPE", "Model 80 % cover", "Model 95 % cover"])
        folds = self.forecast.backtest.folds
        return pd.DataFrame({"From": _text(folds["origin"], _day), "Model MAPE": folds["model_mape"],
                             "Naive MAPE": folds["naive_mape"], "Model 80 % cover": folds["model_cover80"],
                             "Model 95 % cover": folds["model_cover95"]})

    @param.depends("result")
    def mediation_table(self) -> pd.DataFrame:
        """Path estimates of social spend → search clicks → revenue with their intervals."""
        columns = ["Effect", "Estimate", "Low", "High"]
        if self.result is None or self.result.mediation is None:
            return pd.DataFrame(columns=columns)
        # Social spend → clicks is a fraction of a click per rupee: shown per ₹1,000, it is not 0.00.
        effects = self.result.mediation.effects[["estimate", "low", "high"]].copy()
        effects.loc["a"] *= 1000
        labels = {**EFFECT_LABELS, "a": EFFECT_LABELS["a"].replace("(per ₹)", "(per ₹1,000)")}
        return pd.DataFrame({"Effect": [labels[e] for e in effects.index],
                             "Estimate": effects["estimate"].to_numpy(), "Low": effects["low"].to_numpy(),
                             "High": effects["high"].to_numpy()})

    @param.depends("result")
    def insight_mediation(self) -> str:
        self._settle()
        if self.result is None:
            return self._waiting()
        if self.result.mediation is None:
            return escape_markdown(self.result.mediation_note or self.result.error)
        return bi.mediation_summary(self.result.mediation, f"{SEARCH} clicks")

    @param.depends("result")
    def model_notes(self) -> pn.pane.Alert | pn.pane.Markdown:
        """Channels without a curve (zero spend is baseline, not media) and fit errors."""
        if self.result is not None and self.result.error:
            return notice(escape_markdown(self.result.error), kind="warning")
        if self.model is not None and self.model.excluded:
            return notice(bi.excluded_note(self.model), kind="info")
        return markdown("")

    # -- page -------------------------------------------------------------------------------------------
    def export_frame(self) -> pd.DataFrame:
        """The periods the model is fitted on: totals and each channel's spend."""
        return mix_frame(self.store, self.filter_state(), self.grain)

    def chart_objects(self) -> list:
        self._settle()
        return [self.plot_fit(), self.plot_contributions(), self.plot_shares(), self.plot_roi(),
                self.plot_response(), self.plot_allocation(), self.plot_forecast()]

    def _percent_sliders(self, target: str, range_mode: bool) -> pn.Column:
        """One slider per modelled channel writing into the `target` dict param (% of the current mix's spend)."""
        sliders = {}
        for channel in self.model_channels:
            value = getattr(self, target).get(channel, DEFAULT_BOUNDS if range_mode else 100)
            kind = pn.widgets.IntRangeSlider if range_mode else pn.widgets.IntSlider
            slider = kind(label=f"{channel} (% of current)", start=PERCENT_RANGE[0], end=PERCENT_RANGE[1], step=5,
                          value=tuple(value) if range_mode else int(value), sizing_mode="stretch_width",
                          css_classes=[f"{target}-slider"])

            def write(event, channel=channel):
                setattr(self, target, {**getattr(self, target), channel: event.new})

            slider.param.watch(write, "value")
            sliders[channel] = slider
        self._sliders[target] = sliders
        return pn.Column(*sliders.values(), sizing_mode="stretch_width")

    @param.depends("bounds", "scenario", watch=True)
    def _sync_sliders(self) -> None:
        """Sliders follow their dicts when these change from code (reset, a new model)."""
        for target, sliders in self._sliders.items():
            values = getattr(self, target)
            for channel, slider in sliders.items():
                wanted = values.get(channel)
                if wanted is not None and tuple(np.atleast_1d(slider.value)) != tuple(np.atleast_1d(wanted)):
                    slider.value = tuple(wanted) if isinstance(slider.value, tuple) else int(wanted)

    @param.depends("model_channels")
    def bounds_sliders(self) -> pn.Column:
        return self._percent_sliders("bounds", range_mode=True)

    @param.depends("model_channels")
    def scenario_sliders(self) -> pn.Column:
        return self._percent_sliders("scenario", range_mode=False)

    def _table(self, frame_fn, money_columns=(), percent_columns=(), ratio_columns=(), score_columns=(),
               titles: dict[str, str] | None = None) -> pn.widgets.Tabulator:
        """A read-only table; `titles` maps column names holding data text to their (HTML-escaped) headers."""
        money = NumberFormatter(format="0,0", nan_format="n/a", null_format="n/a")
        pct = NumberFormatter(format="0.0%", nan_format="n/a", null_format="n/a")
        multiple = NumberFormatter(format="0.00", nan_format="n/a", null_format="n/a")
        score = NumberFormatter(format="0.000", nan_format="n/a", null_format="n/a")
        formatters = {**{c: money for c in money_columns}, **{c: pct for c in percent_columns},
                      **{c: multiple for c in ratio_columns}, **{c: score for c in score_columns}}
        return data_table(frame_fn, formatters=formatters, show_index=False, disabled=True,
                          layout="fit_data_table", sizing_mode="stretch_width", titles=titles or {})

    def layout(self) -> pn.viewable.Viewable:
        self.refresh()
        self.refresh_forecast()
        # No LoadingSpinner: it draws its (empty) label as HTML; the bar shows the fit is running.
        status = pn.Row(
            pn.indicators.Progress(value=self.param.progress, max=100, width=220, visible=self.param.fitting,
                                   bar_color="primary"),
            text_pane(pn.pane.Str, self.param.status, css_classes=["budget-status"]),
            sizing_mode="stretch_width")
        model_card = view_card(
            "Model card: how far to trust the marketing-mix model",
            [pn.widgets.RadioButtonGroup.from_param(self.param.grain, label="Model grain")],
            pn.Column(self.quality_cards, chart(self.plot_fit),
                      self._table(self.folds_table, percent_columns=["MAPE"], ratio_columns=["R²"],
                                  score_columns=["NRMSE"]), sizing_mode="stretch_width"),
            self.insight_fit, True)
        description = (
            "Where should the next rupee go? A marketing-mix model (adstock, saturation, cross-validated regression) "
            "splits revenue into a baseline and what each paid channel adds; the optimizer and the scenario planner "
            "move budget along its response curves; forecasts look 30 days ahead. The date filter chooses the "
            "training window; channel, region and type filters narrow the data. The current mix is each channel's "
            "average spend per day (or week) over those dates.")
        below = self.cards_later(self._cards_below)
        return pn.Column(section_header(self, description), status, self.model_notes, model_card, below,
                         sizing_mode="stretch_width")

    def _cards_below(self) -> list[pn.Card]:
        """The views below the model card: contributions, shares, ROI, response curves, the optimizer, the
        scenario planner, the forecast and the mediation check."""
        period_money = [f"{word} (₹/{period})" for period in ("day", "week")
                        for word in ("Current", "Optimal", "Revenue it adds, current", "Revenue it adds, optimal")]
        optimizer_table = self._table(self.optimizer_table, money_columns=period_money, percent_columns=["Change"],
                                      ratio_columns=["Next rupee returns (optimal)"])
        scenario_money = [f"{word} (₹/{period})" for period in ("day", "week")
                          for word in ("Spend", "Predicted revenue", "From media")]
        # Tabulator draws column titles as HTML: the per-channel columns carry channel names from the data.
        channel_columns = [f"spend: {c}" for c in self.paid_channels]
        scenario_table = self._table(self.scenario_display, money_columns=scenario_money + channel_columns,
                                     percent_columns=["Revenue vs current"], ratio_columns=["ROAS", "Media ROAS"],
                                     titles={c: escape_html(c) for c in channel_columns})
        save = pn.widgets.Button(label="Save scenario", color="primary", width=140)
        save.on_click(self.save_scenario)
        reset = pn.widgets.Button(label="Back to current", width=140)
        reset.on_click(self.reset_scenario)
        views = [
            ("Contribution over time", [], chart(self.plot_contributions), self.insight_contributions),
            ("Share of revenue by channel", [], chart(self.plot_shares), self.insight_shares),
            ("ROI by channel", [], chart(self.plot_roi), self.insight_roi),
            ("Response curves", [], chart(self.plot_response), self.insight_response),
            ("Budget optimizer",
             [pn.widgets.FloatInput.from_param(self.param.budget, label="Budget per period (₹)", step=1000,
                                               format="0,0", css_classes=["budget-total"],
                                               sizing_mode="stretch_width"),
              markdown("**Bounds per channel** (% of the current mix's spend)"), self.bounds_sliders,
              self.optimizer_figures],
             pn.Column(chart(self.plot_allocation), optimizer_table, sizing_mode="stretch_width"),
             self.insight_optimizer),
            ("Scenario planner",
             [self.scenario_sliders, pn.widgets.TextInput.from_param(self.param.scenario_name, label="Scenario name"),
              pn.Row(save, reset),
              csv_download(self.scenario_table, "novamart_budget_scenarios.csv", "Download scenarios (CSV)")],
             pn.Column(self.scenario_figures, scenario_table, sizing_mode="stretch_width"), self.insight_scenario),
            ("Forecast",
             [pn.widgets.Select.from_param(self.param.forecast_channel, label="Channel"),
              pn.widgets.RadioButtonGroup.from_param(self.param.forecast_metric, label="Metric"),
              pn.widgets.IntSlider.from_param(self.param.horizon, label="Days ahead")],
             pn.Column(chart(self.plot_forecast),
                       self._table(self.backtest_table, percent_columns=["Model MAPE", "Naive MAPE", "Model 80 % cover",
                                                                         "Model 95 % cover"]),
                       sizing_mode="stretch_width"), self.insight_forecast),
            (f"Mediation: does social spend work through {SEARCH}?",
             [], self._table(self.mediation_table, ratio_columns=["Estimate", "Low", "High"]), self.insight_mediation),
        ]
        return [view_card(*view) for view in views]


def warm_up(store: DataStore) -> None:
    """Fit the marketing-mix model and the forecast for the unfiltered data and the section's defaults into the
    process's caches (`fit_mix`, `fit_forecast`). A server runs this in the background once per store, after its
    first session has loaded (`session.warm_up_after_load`), so the first user to open the section does not
    wait for the fits. It fits in place, with the arguments a section with the default settings passes."""
    section = BudgetSection(store=store, filters=Filters(store))
    fit_mix(*section.mix_args())
    fit_forecast(*section.forecast_args())
