"""Budget, forecast & mix section: the view-model fits in place without a server, and its optimizer, scenarios,
filters, forecasts and rendered sources follow the controls."""
from __future__ import annotations

import datetime as dt
import io
import shutil

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import pytest
from bokeh.models import ColumnDataSource

from novamart_panel.analytics import mmm
from novamart_panel.analytics.budget_insights import trust_verdict
from novamart_panel.data.budget_queries import channel_periods, mix_frame
from novamart_panel.data.queries import FilterState
from novamart_panel.data.store import DataStore
from novamart_panel.format import escape_markdown, rupees
from novamart_panel.views.budget import ALL_CHANNELS, MAX_SCENARIOS, BudgetSection, fit_mix
from novamart_panel.views.filters import Filters

PAID = ["Email", "Facebook", "Google Ads", "Instagram", "LinkedIn", "Referral"]


@pytest.fixture(scope="module", autouse=True)
def bokeh_backend():
    pn.extension("tabulator")


def shown(store: DataStore, **filters) -> BudgetSection:
    """A section whose tab has been shown (its layout built, so it fits and follows its inputs)."""
    section = BudgetSection(store=store, filters=Filters(store, **filters))
    section.__panel__()
    return section


@pytest.fixture
def section(packaged_store) -> BudgetSection:
    return shown(packaged_store)


def sources_with(root, *columns):
    return [s for s in root.select({"type": ColumnDataSource}) if set(columns) <= set(s.data)]


# -- the daily data --------------------------------------------------------------------------------

def test_mix_frame_sums_match_pandas(packaged_dir, packaged_store):
    rows = pd.read_csv(packaged_dir / "campaign_performance.csv", parse_dates=["date"])
    state = FilterState(start=dt.date(2024, 3, 1), end=dt.date(2024, 5, 31), regions=("West", "South"))
    frame = mix_frame(packaged_store, state)
    chosen = rows[rows["date"].between("2024-03-01", "2024-05-31") & rows["region"].isin(["West", "South"])]
    assert len(frame) == 92 and frame["date"].is_monotonic_increasing
    daily = chosen.groupby("date")[["revenue", "spend"]].sum().reindex(pd.to_datetime(frame["date"]), fill_value=0)
    assert np.allclose(frame["revenue"], daily["revenue"]) and np.allclose(frame["spend"], daily["spend"])
    spend = chosen.pivot_table(index="date", columns="channel", values="spend", aggfunc="sum")
    spend = spend.reindex(pd.to_datetime(frame["date"])).fillna(0)
    assert np.allclose(frame[list(spend.columns)], spend)
    weekly = mix_frame(packaged_store, state, "weekly")
    assert (pd.to_datetime(weekly["date"]).dt.day_of_week == 0).all()
    # Whole weeks inside the range only: Monday 4 March to Sunday 26 May.
    assert weekly["date"].min() == pd.Timestamp("2024-03-04") and len(weekly) == 12
    assert weekly["revenue"].iloc[0] == pytest.approx(chosen[chosen["date"].between("2024-03-04", "2024-03-10")]
                                                      ["revenue"].sum())


def test_channel_periods_fill_idle_days_with_zero(packaged_store):
    long = channel_periods(packaged_store, FilterState(channels=("Referral",)))
    assert set(long["channel"]) == {"Referral"} and len(long) == 731
    assert (long["spend"] == 0).sum() > 0


# -- fitting ---------------------------------------------------------------------------------------

def test_nothing_is_fitted_before_the_tab_is_shown_but_a_report_gets_insights(packaged_store):
    section = BudgetSection(store=packaged_store, filters=Filters(packaged_store))
    section.filters.regions = ["West"]
    assert section.result is None and section.forecast is None
    # The insights report reads a tab that was never shown: it fits in place, for the current filters.
    assert "Held-out fit" in section.insight_fit()
    assert section.model is not None and section.forecast is not None
    west = FilterState(regions=("West",), start=dt.date(2023, 1, 1), end=dt.date(2024, 12, 31))
    assert section.result is fit_mix(packaged_store, west, "daily", BudgetSection.FIT_EFFORT)
    section.filters.regions = ["South"]
    assert section.result is None, "results of other filters are forgotten, not shown"


def test_a_server_fits_the_unfiltered_model_and_forecast_in_the_background(packaged_store, monkeypatch):
    # Served, a new section asks for a warm-up once its page has loaded, once per store in the process; the
    # warm-up fits the model and the forecast of the unfiltered data into the process's caches, so the first
    # session to show the tab gets both without fitting.
    from novamart_panel import session
    from novamart_panel.views import budget

    loaded = []
    monkeypatch.setattr(budget, "served", lambda: True)
    monkeypatch.setattr(session.pn.state, "onload", loaded.append)
    session.forget_warm_up(packaged_store, "Budget, forecast & mix")
    fit_mix.clear()
    budget.fit_forecast.clear()
    BudgetSection(store=packaged_store, filters=Filters(packaged_store))
    assert len(loaded) == 1
    loaded[0]().result(600)   # the warm-up thread's future
    BudgetSection(store=packaged_store, filters=Filters(packaged_store))
    assert len(loaded) == 1   # warmed up already: no second warm-up
    monkeypatch.setattr(budget, "served", lambda: False)
    fits = []
    monkeypatch.setattr(budget, "fit_mmm", lambda *a, **k: fits.append("mix"))
    monkeypatch.setattr(budget, "forecast_series", lambda *a, **k: fits.append("forecast"))
    section = shown(packaged_store)
    assert fits == [] and section.model is not None and section.forecast.frame is not None


def test_a_served_section_shows_a_cached_fit_with_its_views_and_polls_for_a_new_one(packaged_store, monkeypatch):
    # Served, a fit runs on a fitting thread that the session polls. A first switch's later steps hold the
    # session's lock for a second or more, and a poll waited behind them: a cached fit reached the page 2-4 s
    # after the click. A fit already cached now answers in place, with the views being built; a new fit is
    # still polled for.
    from novamart_panel import session
    from novamart_panel.views import budget

    shown(packaged_store)   # fits the unfiltered model and forecast into the process's caches
    polls = []

    class Poll:
        def stop(self):
            pass

    monkeypatch.setattr(budget, "served", lambda: True)
    monkeypatch.setattr(session.pn.state, "onload", lambda callback: None)   # no warm-up
    monkeypatch.setattr(budget.pn.state, "add_periodic_callback",
                        lambda callback, period: polls.append(callback) or Poll())
    cached = shown(packaged_store)
    assert polls == [] and cached.model is not None and cached.forecast is not None and not cached.fitting
    fit_mix.clear()
    budget.fit_forecast.clear()
    fresh = shown(packaged_store)   # not cached now: the thread fits, the session polls
    assert len(polls) == 2 and fresh.result is None and fresh.fitting


def test_tables_have_the_same_columns_before_and_after_the_fit(packaged_store):
    # A result cached by an earlier session arrives right after the tab is drawn: a table whose columns
    # changed then was updated before the browser had built it (Tabulator "Table Not Initialized").
    section = BudgetSection(store=packaged_store, filters=Filters(packaged_store))
    tables = (section.scenario_display, section.optimizer_table, section.folds_table, section.backtest_table,
              section.mediation_table)
    before = [list(table().columns) for table in tables]
    section.insight_fit()   # fits in place
    assert section.model is not None and section.forecast is not None
    assert [list(table().columns) for table in tables] == before
    assert {f"spend: {c}" for c in PAID} <= set(before[0])


def test_charts_drawn_before_the_fit_take_its_axes_when_it_arrives(packaged_store):
    # Served, the tab is drawn before the fit arrives: overlays drawn empty kept a 0–1 axis (shown as
    # 1970) and bars drawn without rows kept a numeric axis, so the fitted data never showed.
    from bokeh.models import FactorRange, Plot
    section = BudgetSection(store=packaged_store, filters=Filters(packaged_store))
    section.refresh = section._settle = lambda: None   # drawn as a served tab is: before any fit
    panes = pn.panel(section).select(lambda obj: hasattr(obj, "_novamart_chart"))
    figures = {pane._novamart_chart[0].__name__: pane.get_root().select_one({"type": Plot}) for pane in panes}
    assert section.result is None
    section.result = fit_mix(packaged_store, section.filter_state(), section.grain, BudgetSection.FIT_EFFORT)
    assert set(figures) >= {"plot_fit", "plot_contributions", "plot_shares", "plot_roi", "plot_response",
                            "plot_allocation"}
    for name, figure in figures.items():
        if isinstance(figure.x_range, FactorRange):
            assert len(figure.x_range.factors) >= len(PAID), name
        elif name != "plot_forecast":   # the forecast has its own result
            assert (figure.x_range.start, figure.x_range.end) != (0, 1), name
        assert figure.y_range.end not in (1, 1.2, 1.15), name


def test_shown_section_fits_in_place_and_names_baseline_channels(section):
    model = section.model
    assert model is not None and not section.fitting and section.progress == 100
    assert sorted(model.channels) == PAID and section.model_channels == list(model.channels)
    assert "Model fitted" in section.status
    note = section.model_notes().object
    assert "Direct" in note and "Organic Search" in note and "baseline, not media" in note
    assert section.budget == pytest.approx(model.current.sum())
    assert section.bounds == {c: (50, 150) for c in model.channels}
    verdict = section.insight_fit()
    assert "Held-out fit: R²" in verdict and "baseline-only" in verdict


def test_fits_are_cached_per_filter_state(packaged_store, section):
    assert fit_mix(packaged_store, section.filter_state(), "daily", BudgetSection.FIT_EFFORT) is section.result
    other = fit_mix(packaged_store, FilterState(start=dt.date(2023, 6, 1), end=dt.date(2024, 12, 31)), "daily")
    assert other is not section.result


def test_date_filter_chooses_the_training_window(section):
    section.filters.date_range = (dt.date(2023, 7, 1), dt.date(2024, 12, 31))
    dates = pd.to_datetime(section.model.decomposition["date"])
    assert dates.min() == pd.Timestamp("2023-07-01") and dates.max() == pd.Timestamp("2024-12-31")


def test_channel_filter_narrows_the_model_and_charts_keep_their_layers(section):
    before = section.plot_response()
    section.filters.channels = ["Google Ads", "Email", "Direct"]
    assert sorted(section.model.channels) == ["Email", "Google Ads"]
    after = section.plot_response()
    assert type(after) is type(before) and len(after) == len(before)
    assert list(after.get(0).keys()) == list(before.get(0).keys()) == section.paid_channels
    contributions = section.plot_contributions()
    assert [layer.label for layer in contributions] == ["Baseline", *section.paid_channels]
    assert set(section.decomposition_frame().columns) == {"date", "Baseline", *section.paid_channels}


def test_one_channel_kept_reads_as_one_channel(section):
    """With one paid channel the comparisons have nothing to compare ("Email the least", "Email takes 100 %…"),
    and the forecast of "All channels" sums that channel alone."""
    section.filters.channels = ["Email"]
    assert section.model.channels == ["Email"]
    shares, roi, response = section.insight_shares(), section.insight_roi(), section.insight_response()
    assert shares.startswith("Email is the only paid channel modelled under these filters")
    assert "the least" not in roi and roi.startswith("Each rupee in Email returned")
    assert "At the current spend its next rupee earns" in roi
    assert "most saturated" not in response and response.startswith("Email's next rupee earns")
    assert section.forecast_channel == ALL_CHANNELS
    assert section.forecast_subject() == "Email (the channel filter)"
    assert "Email (the channel filter)" in section.plot_forecast().opts.get().kwargs["title"]
    assert "revenue, Email (the channel filter):" in section.insight_forecast()
    section.filters.channels = ["Email", "Google Ads"]
    assert "the least" in section.insight_roi() and "most saturated" in section.insight_response()
    assert section.forecast_subject() == "Email + Google Ads (the channel filter)"
    section.filters.channels = []
    assert section.forecast_subject() == ALL_CHANNELS


def test_too_little_data_says_so(section):
    section.filters.date_range = (dt.date(2024, 12, 1), dt.date(2024, 12, 31))
    assert section.model is None
    assert "too few" in section.insight_fit() and "too few" in section.model_notes().object
    assert section.optimal().empty and section.scenario_table().empty
    for plot in section.chart_objects():   # every chart still draws, empty
        hv.render(plot)


def test_weekly_grain(section):
    section.grain = "weekly"
    assert section.model.frequency == "weekly"
    assert "per week" in section.insight_optimizer()


# -- optimizer -------------------------------------------------------------------------------------

def test_budget_input_moves_the_optimal_allocation(section):
    first = section.optimal()
    assert first["spend"].sum() == pytest.approx(section.budget)
    figures = section.optimizer_figures().object
    section.budget = section.budget * 1.2
    second = section.optimal()
    assert second["spend"].sum() == pytest.approx(section.budget)
    assert second.attrs["predicted"] > first.attrs["predicted"]
    assert section.optimizer_figures().object != figures
    # 20 % more money: the sentence must not call it "the same" budget, and says the gain is partly the money's
    text = section.insight_optimizer()
    assert "per day" in text and "the same" not in text
    assert f"instead of the current {rupees(first['current'].sum())} (+20.0%)" in text
    assert "the budget and the mix together" in text
    section.budget = float(first["current"].sum())
    assert section.insight_optimizer().startswith("Moving the same ")


def test_bounds_limit_the_allocation(section):
    current = section.model.current
    section.bounds = {**section.bounds, "Google Ads": (90, 110)}
    result = section.optimal()
    assert 0.9 * current["Google Ads"] - 1e-6 <= result.loc["Google Ads", "spend"] <= 1.1 * current["Google Ads"] + 1e-6
    section.bounds = {c: (100, 100) for c in section.bounds}
    assert np.allclose(section.optimal()["spend"], current)


def test_an_impossible_budget_is_explained(section):
    section.budget = 10 * section.budget
    assert section.optimal().empty
    assert "outside what the bounds allow" in section.insight_optimizer()


def test_optimizer_sentence_names_the_main_move(section):
    result = section.optimal()
    text = section.insight_optimizer()
    cut = result["change"].idxmin()
    assert cut in text and "out of" in text
    assert "Google Ads" == cut, "on the generated data the optimizer moves budget out of Google Ads"


# -- scenarios -------------------------------------------------------------------------------------

def test_scenario_slider_values_predict_revenue(section):
    model = section.model
    section.scenario = {**section.scenario, "Google Ads": 60, "Email": 150}
    table = section.scenario_table().set_index("scenario")
    allocation = {c: model.current[c] * {"Google Ads": 0.6, "Email": 1.5}.get(c, 1.0) for c in model.channels}
    assert table.loc["Your scenario", "revenue"] == pytest.approx(model.predict(allocation))
    assert table.loc["Your scenario", "spend"] == pytest.approx(sum(allocation.values()))
    assert table.loc["Current", "vs_current"] == 0
    assert table.loc["Optimal", "revenue"] >= table.loc["Current", "revenue"]
    assert f'data-revenue="{table.loc["Your scenario", "revenue"]:.0f}"' in section.scenario_figures().object


def test_scenario_sliders_write_and_follow_the_dict(section):
    root = pn.panel(section).get_root()
    assert root is not None
    sliders = section._sliders["scenario"]
    assert sorted(sliders) == PAID
    sliders["Facebook"].value = 40
    assert section.scenario["Facebook"] == 40
    section.reset_scenario()
    assert sliders["Facebook"].value == 100


def test_up_to_three_named_scenarios_and_their_csv(section):
    names = []
    for k in range(MAX_SCENARIOS + 1):
        section.scenario = {**section.scenario, "LinkedIn": 50 + 10 * k}
        section.scenario_name = f"Plan {k}"
        names.append(section.scenario_name)
        section.save_scenario()
    assert [s["name"] for s in section.saved] == names[1:]
    table = section.scenario_table()
    assert table["scenario"].tolist() == ["Current", "Optimal", "Your scenario", *names[1:]]
    csv = pd.read_csv(io.StringIO(section.scenario_table().to_csv(index=False)))
    assert len(csv) == 6 and "spend: LinkedIn" in csv.columns


# -- forecast --------------------------------------------------------------------------------------

def test_forecast_follows_channel_and_metric(section, packaged_dir):
    frame = section.forecast_frame()
    assert frame["forecast"].notna().sum() == 30
    assert "Backtest over 3 × 30 days" in section.insight_forecast()
    section.forecast_channel = "Email"
    section.forecast_metric = "Conversions"
    rows = pd.read_csv(packaged_dir / "campaign_performance.csv", parse_dates=["date"])
    email = rows[rows["channel"] == "Email"].groupby("date")["conversions"].sum()
    history = section.forecast.frame.dropna(subset=["actual"]).set_index("date")["actual"]
    assert np.allclose(history.reindex(email.index), email)
    assert "conversions, Email:" in section.insight_forecast()
    section.horizon = 14
    assert section.forecast_frame()["forecast"].notna().sum() == 14
    assert section.param.forecast_channel.objects[0] == ALL_CHANNELS


# -- rendering and text ----------------------------------------------------------------------------

def test_rendered_sources_carry_the_model_numbers(section):
    root = pn.panel(section).get_root()
    (fit,) = [s for s in sources_with(root, "actual", "held_out_text") if len(s.data["actual"]) == 731][:1]
    assert np.allclose(fit.data["actual"], section.model.decomposition["actual"])
    roi = [s for s in sources_with(root, "roi", "interval_text")]
    assert roi and sorted(roi[0].data["roi"]) == pytest.approx(sorted(section.model.contributions["roi"]))


def test_share_insight_names_the_most_over_funded_channel(section):
    c = section.model.contributions
    gap = c["contribution"] / c["contribution"].sum() - c["spend"] / c["spend"].sum()
    text = section.insight_shares()
    assert text.startswith(gap.idxmax()) and f"; {gap.idxmin()} takes" in text


def test_mediation_is_reported_in_words(section):
    text = section.insight_mediation()
    assert "Facebook and Instagram" in text and "Google Ads clicks" in text
    table = section.mediation_table().set_index("Effect")
    assert len(table) == 6
    # Clicks per rupee are tiny: the table shows them per ₹1,000, the other rows as estimated.
    effects = section.result.mediation.effects
    assert table.loc["social spend → mediator (per ₹1,000)", "Estimate"] == pytest.approx(
        1000 * effects.loc["a", "estimate"])
    assert table.loc["total effect (per ₹)", "High"] == pytest.approx(effects.loc["total", "high"])


def test_every_insight_reads_as_text(section):
    for name in ("insight_fit", "insight_contributions", "insight_shares", "insight_roi", "insight_response",
                 "insight_optimizer",
                 "insight_scenario", "insight_forecast", "insight_mediation"):
        text = getattr(section, name)()
        assert isinstance(text, str) and len(text) > 40 and "nan" not in text.lower(), name


def test_reference_data_verdict_is_honest(reference_store):
    section = shown(reference_store)
    assert section.model is not None
    grade, _ = trust_verdict(section.model)
    text = section.insight_fit()
    # The reference file's revenue moves one-for-one with spend: the model cannot identify a baseline.
    assert grade == "weak" and "Do not use it to move budget" in text and "not identified" in text
    assert section.insight_optimizer().startswith("**Caution")
    assert section.insight_scenario().startswith("**Caution")


def test_channel_names_from_the_data_are_escaped(packaged_dir, tmp_path):
    for path in packaged_dir.glob("*.csv"):
        shutil.copy(path, tmp_path / path.name)
    rows = pd.read_csv(tmp_path / "campaign_performance.csv", dtype=str, keep_default_na=False)
    rows["channel"] = rows["channel"].replace("Referral", "<b>Refer</b>")
    rows.to_csv(tmp_path / "campaign_performance.csv", index=False)
    section = shown(DataStore.open(tmp_path))
    assert "<b>Refer</b>" in section.model.channels
    text = " ".join(getattr(section, n)() for n in ("insight_fit", "insight_roi", "insight_response"))
    assert escape_markdown("<b>Refer</b>") in text and "<b>Refer</b>" not in text


def test_export_is_the_modelled_periods(section):
    frame = section.export_frame()
    assert len(frame) == 731 and {"date", "revenue", *PAID} <= set(frame.columns)


def test_festival_controls_are_part_of_the_fit(section):
    assert any(c.startswith("diwali") for c in mmm.festival_controls(section.export_frame()["date"]).columns)


def test_the_folds_table_shows_an_undefined_fold_score_as_n_a(packaged_store):
    """A held-out fold where the filtered channel earned nothing has no R² or NRMSE (NaN): the table says n/a,
    not 'NaN'."""
    section = shown(packaged_store)
    (folds,) = [table for table in pn.panel(section).select(pn.widgets.Tabulator)
                if {"Fold", "R²", "NRMSE"} <= set(table.value.columns)]
    assert {column: (folds.formatters[column].nan_format, folds.formatters[column].format)
            for column in ("R²", "MAPE", "NRMSE")} == {"R²": ("n/a", "0.00"), "MAPE": ("n/a", "0.0%"),
                                                      "NRMSE": ("n/a", "0.000")}
