"""Campaign analytics section: every control changes its chart's data to what pandas computes from the CSV."""
from __future__ import annotations

import datetime as dt
import re
import shutil

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import pytest
from bokeh.models import ColumnDataSource, GlyphRenderer, HoverTool

from novamart_panel.analytics import campaign_insights as ci
from novamart_panel.data.queries import FilterState
from novamart_panel.data.store import DataStore
from novamart_panel.format import percent, ratio, rupees
from novamart_panel.views.campaigns import CampaignSection, calendar_week, money_unit, narrowed
from novamart_panel.views.filters import Filters

CAMPAIGN_FILE = "campaign_performance.csv"
SUMS = ["spend", "impressions", "clicks", "conversions", "revenue"]


@pytest.fixture(scope="module", autouse=True)
def bokeh_backend():
    pn.extension("tabulator")


@pytest.fixture(scope="module")
def rows(reference_dir) -> pd.DataFrame:
    return pd.read_csv(reference_dir / CAMPAIGN_FILE, parse_dates=["date"])


@pytest.fixture
def section(reference_store) -> CampaignSection:
    return CampaignSection(store=reference_store, filters=Filters(reference_store))


@pytest.fixture(scope="module")
def shifted_dir(reference_dir, tmp_path_factory):
    """The reference files with Facebook's revenue ×10 and LinkedIn's ÷50 (below break-even)."""
    folder = tmp_path_factory.mktemp("shifted")
    for path in reference_dir.glob("*.csv"):
        if path.name != CAMPAIGN_FILE:
            shutil.copy(path, folder / path.name)
    frame = pd.read_csv(reference_dir / CAMPAIGN_FILE, dtype=str, keep_default_na=False)
    revenue = frame["revenue"].astype(float)
    revenue = revenue.where(frame["channel"] != "Facebook", revenue * 10)
    revenue = revenue.where(frame["channel"] != "LinkedIn", revenue / 50)
    frame["revenue"] = revenue.round(2).map(lambda v: f"{v:.2f}")
    frame.to_csv(folder / CAMPAIGN_FILE, index=False)
    return folder


def by_channel(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.groupby("channel")[SUMS].sum()


def week_start(dates: pd.Series) -> pd.Series:
    return dates - pd.to_timedelta(dates.dt.day_of_week, unit="D")


# -- helpers ---------------------------------------------------------------------------------------

def test_narrowed_intersects_and_reports_nothing_left():
    state = FilterState(start=dt.date(2024, 1, 1), end=dt.date(2024, 6, 30), channels=("Email", "Facebook"))
    both = narrowed(state, start=dt.date(2024, 3, 1), end=dt.date(2024, 12, 31), channels=["Facebook", "Referral"])
    assert (both.start, both.end, both.channels) == (dt.date(2024, 3, 1), dt.date(2024, 6, 30), ("Facebook",))
    assert narrowed(state, channels=["Referral"]) is None
    assert narrowed(state, start=dt.date(2024, 7, 1)) is None
    assert narrowed(FilterState(), regions=["West"]).regions == ("West",)
    assert narrowed(state) == state


def test_money_unit_keeps_the_smallest_amount_at_least_one():
    assert money_unit([8.1e6, 4.0e7, 0.0]) == (1e5, "₹ L")
    assert money_unit([8.9e7, 1.2e9]) == (1e7, "₹ Cr")
    assert money_unit([350.0, np.nan]) == (1.0, "₹")


def test_calendar_week_puts_january_first_in_column_zero():
    dates = pd.Series(pd.to_datetime(["2023-01-01", "2023-01-02", "2024-01-01", "2024-12-31"]))
    # 1 Jan 2023 is a Sunday (its week began on Mon 26 Dec); 2 Jan starts column 1.
    assert calendar_week(dates[:2], 2023).tolist() == [0, 1]
    assert calendar_week(dates[2:], 2024).tolist() == [0, 52]


# -- 1. metric switch on the channel bars ---------------------------------------------------------

def test_channel_metric_switches_values(section, rows):
    totals = by_channel(rows)
    revenue = section.channel_values().set_index("channel")["value"]
    pd.testing.assert_series_equal(revenue.sort_index(), totals["revenue"].sort_index(), check_names=False)
    section.channel_metric = "ROAS"
    roas = section.channel_values().set_index("channel")["value"]
    paid = totals[totals["spend"] > 0]
    expected = (paid["revenue"] / paid["spend"]).sort_index()
    pd.testing.assert_series_equal(roas.sort_index(), expected, check_names=False)
    assert {"Direct", "Organic Search"} <= set(totals.index) - set(roas.index)  # n/a, not plotted
    assert list(roas) == sorted(roas)  # largest bar drawn on top
    section.channel_metric = "Conversions"
    conversions = section.channel_values().set_index("channel")["value"]
    assert conversions.to_dict() == totals["conversions"].to_dict()


def test_channel_bars_bokeh_source_follows_the_metric(section, rows):
    root = pn.panel(section).get_root()

    def bar_source():
        (source,) = [s for s in root.select({"type": ColumnDataSource})
                     if {"value", "conversions_text", "roas_text"} <= set(s.data)]
        return source

    assert bar_source().data["value"].max() == pytest.approx(by_channel(rows)["revenue"].max())
    section.channel_metric = "ROAS"
    paid = by_channel(rows).query("spend > 0")
    assert sorted(bar_source().data["value"]) == pytest.approx(sorted(paid["revenue"] / paid["spend"]))


def test_served_a_filter_change_reaches_the_top_of_the_page_first(section, monkeypatch, hold_execute):
    """Served, a filter change updates the first screen's top chart at once; then, each in a callback of its own
    and in that order, the first screen's other chart, their insights and the views below: the page draws the
    top chart while the server computes the next part. One callback waits at a time (each schedules the next)."""
    from novamart_panel.views import base

    scheduled = []
    monkeypatch.setattr(base, "served", lambda: True)
    monkeypatch.setattr(base, "next_on_loop", lambda callback: scheduled.append(("loop", callback)))
    hold_execute(lambda callback: scheduled.append(("thread", callback)))
    layout = section.__panel__()
    section.views_below(layout.objects[section.first_screen:])
    root = layout.get_root()
    charts = [pane for obj in layout.objects[:section.first_screen] for pane in obj.select(pn.pane.HoloViews)]
    assert [pane._novamart_chart[0].__name__ for pane in charts] == ["plot_channels", "plot_region_quarter"]
    below = root.children[section.first_screen:]

    def seen() -> dict[str, list]:
        """What each part of the page shows: each first-screen chart's data, the first screen's insight
        sentences, and the charts' data and sentences below it."""
        def data(models) -> list:
            return sorted(repr({k: list(map(str, v)) for k, v in source.data.items()})
                          for model in models for source in model.select({"type": ColumnDataSource}))
        return {"top": data(charts[0]._models[root.ref["id"]][:1]),
                "second": data(charts[1]._models[root.ref["id"]][:1]),
                "prose": [text for model in root.children[:section.first_screen] for text in _insight_texts(model)],
                "below": [data(below), [text for model in below for text in _insight_texts(model)]]}

    def changed(before: dict, after: dict) -> set[str]:
        return {part for part in before if before[part] != after[part]}

    def run_next(where: str) -> None:
        """Run the one callback waiting, after checking it runs `where` (its step's place: the loop or a thread)."""
        ((place, callback),) = scheduled
        assert place == where
        scheduled.clear()
        callback()

    start = seen()
    section.filters.channels = ["Email"]
    step = seen()
    assert changed(start, step) == {"top"}
    for part in ("second", "prose"):   # the first screen's steps: on the event loop, written as they are done
        run_next("loop")
        assert changed(step, step := seen()) == {part}
    run_next("thread")   # the views below: on a worker thread, not holding up other sessions' messages
    assert changed(step, step := seen()) == {"below"} and scheduled == []
    email = step

    section.filters.channels = ["Email", "Facebook"]
    section.filters.regions = ["North"]
    assert changed(email, seen()) == {"top"} and len(scheduled) == 1   # one callback, however many changes
    run_next("loop")
    assert changed(email, seen()) == {"top", "second"}
    section.filters.param.update(channels=["Email"], regions=[])   # between two steps: the top, then the rest again
    assert seen()["top"] == email["top"]
    run_next("loop")
    assert seen()["second"] == email["second"]
    run_next("loop")
    run_next("thread")
    assert seen() == email and scheduled == []


def _insight_texts(model) -> list[str]:
    from panel.models.markup import HTML

    return [div.text for div in model.select({"type": HTML}) if "insight" in div.css_classes]


# -- 2. region × quarter, year selector -----------------------------------------------------------

def test_year_selector_options_come_from_the_data(section, rows):
    assert section.param.year.objects == sorted(rows["date"].dt.year.unique().tolist())
    assert section.year == rows["date"].dt.year.max()


@pytest.mark.parametrize("year", [2023, 2024])
def test_region_quarter_revenue_for_each_year(section, rows, year):
    section.year = year
    got = section.region_quarter_revenue().set_index(["quarter", "region"])["revenue"].sort_index()
    subset = rows[rows["date"].dt.year == year]
    expected = subset.groupby(["quarter", "region"])["revenue"].sum().sort_index()
    pd.testing.assert_series_equal(got, expected, check_names=False)


def test_region_quarter_insight_names_the_missing_bars(section, rows):
    section.year = 2024
    subset = rows[rows["date"].dt.year == 2024]
    present = set(zip(subset["region"], subset["quarter"]))
    gaps = {r: [q for q in sorted(subset["quarter"].unique()) if (r, q) not in present] for r in subset["region"].unique()}
    assert {r: g for r, g in gaps.items() if g} == {"Central": ["Q3", "Q4"], "West": ["Q4"]}
    assert "**No data** for **Central** in Q3 and Q4 2024; **West** in Q4 2024" in section.insight_region_quarter()
    section.year = 2023
    assert "No data" not in section.insight_region_quarter()


# -- 3. monthly spend, absolute ↔ 100 % -----------------------------------------------------------

def test_spend_mode_switches_absolute_and_share(section, rows):
    month = rows["date"].dt.to_period("M").dt.to_timestamp()
    expected = rows.groupby([month, "campaign_type"])["spend"].sum()
    absolute = section.monthly_spend().set_index(["month", "campaign_type"])["value"]
    assert np.allclose(absolute.sort_index().to_numpy(), expected.sort_index().to_numpy())
    section.spend_mode = "100 % stacked"
    share = section.monthly_spend()
    assert np.allclose(share.groupby("month")["value"].sum(), 100.0)
    expected_share = (expected / expected.groupby(level=0).transform("sum") * 100).sort_index()
    assert np.allclose(share.set_index(["month", "campaign_type"])["value"].sort_index(), expected_share)


def test_spend_months_without_rows_are_empty_slots_not_left_out(section):
    # Email has no campaign rows from January to June 2024: those months stay on the axis with no spend.
    section.filters.channels = ["Email"]
    spend = section.monthly_spend()
    months = pd.date_range(spend["month"].min(), spend["month"].max(), freq="MS")
    assert sorted(spend["month"].unique()) == list(months)
    by_month = spend.groupby("month")["spend"].sum()
    assert (by_month == 0).sum() >= 5 and by_month.loc["2024-03-01"] == 0
    section.spend_mode = "100 % stacked"
    shares = section.monthly_spend().groupby("month")["value"].sum()
    assert shares.loc["2024-03-01"] == 0 and np.allclose(shares[by_month > 0], 100.0)
    hv.render(section.plot_monthly_spend())
    assert "peaked in" in section.insight_monthly_spend()


# -- 4. revenue trend: grain, own dates, own channels ----------------------------------------------

@pytest.mark.parametrize("grain", ["daily", "weekly", "monthly"])
def test_trend_grain(section, rows, grain):
    section.trend_grain = grain
    got = section.revenue_trend().set_index("period")["revenue"]
    period = {"daily": rows["date"], "weekly": week_start(rows["date"]),
              "monthly": rows["date"].dt.to_period("M").dt.to_timestamp()}[grain]
    expected = rows.groupby(period)["revenue"].sum()
    assert np.allclose(got.to_numpy(), expected.to_numpy())
    assert pd.to_datetime(got.index).tolist() == expected.index.tolist()


def test_trend_weeks_without_rows_are_zero_not_bridged(section, rows):
    # Email has no campaign rows for months in the reference data: the line must drop to 0 there.
    section.trend_grain = "weekly"
    section.filters.channels = ["Email"]
    email = rows[rows["channel"] == "Email"]
    weekly = email.groupby(week_start(email["date"]))["revenue"].sum()
    expected = weekly.reindex(pd.date_range(weekly.index.min(), weekly.index.max(), freq="7D"), fill_value=0.0)
    assert (expected == 0).sum() > 4   # the gap this test is about
    got = section.revenue_trend().set_index("period")["revenue"]
    assert got.index.tolist() == expected.index.tolist()
    assert np.allclose(got.to_numpy(), expected.to_numpy())
    assert "(₹0)" in section.insight_revenue_trend()   # the lowest week is one without Email campaigns


def test_trend_dates_and_channels_intersect_the_global_filters(section, rows):
    section.trend_grain = "monthly"
    section.param.update(trend_range=(dt.date(2024, 1, 1), dt.date(2024, 6, 30)),
                         trend_channels=["Email", "Facebook"])
    got = section.revenue_trend()["revenue"].to_numpy()
    chosen = rows[rows["date"].between("2024-01-01", "2024-06-30") & rows["channel"].isin(["Email", "Facebook"])]
    assert np.allclose(got, chosen.groupby(chosen["date"].dt.to_period("M"))["revenue"].sum().to_numpy())

    section.filters.channels = ["Email"]  # global: Email only → the intersection is Email
    email = chosen[chosen["channel"] == "Email"]
    assert section.revenue_trend()["revenue"].sum() == pytest.approx(email["revenue"].sum())

    section.filters.channels = ["Referral"]  # nothing both allow
    assert section.revenue_trend().empty
    assert section.insight_revenue_trend() == ci.NO_DATA
    hv.render(section.plot_revenue_trend())


# -- 5. cumulative conversions, region filter ------------------------------------------------------

def test_cumulative_conversions_region_filter(section, rows):
    everywhere = section.cumulative_conversions()
    section.cumulative_regions = ["West"]
    west = section.cumulative_conversions()
    final = west.groupby("channel")["cumulative"].last().sort_index()
    expected = rows[rows["region"] == "West"].groupby("channel")["conversions"].sum().sort_index()
    pd.testing.assert_series_equal(final, expected.astype(float), check_names=False, check_dtype=False)
    assert west["date"].nunique() * west["channel"].nunique() == len(west)  # aligned for stacking
    assert west["cumulative"].sum() < everywhere["cumulative"].sum()
    assert (west.groupby("channel")["cumulative"].diff().dropna() >= 0).all()


# -- 6. calendar heatmap ---------------------------------------------------------------------------

def test_calendar_year_and_metric(section, rows):
    section.param.update(calendar_year=2024, calendar_metric="Revenue")
    days = section.calendar_days().set_index("date")
    assert len(days) == 366
    daily = rows.groupby("date")[["revenue", "spend"]].sum()
    expected = daily["revenue"].reindex(days.index, fill_value=0.0)
    assert np.allclose(days["value"], expected)
    assert days.loc["2024-01-01", ["week", "weekday"]].tolist() == [0, 0]
    assert days.loc["2024-12-31", ["week", "weekday"]].tolist() == [52, 1]

    section.calendar_metric = "ROAS"
    roas = section.calendar_days().set_index("date")["value"]
    ratio = (daily["revenue"] / daily["spend"].where(daily["spend"] > 0)).reindex(roas.index)
    assert np.allclose(roas, ratio, equal_nan=True)

    section.calendar_year = 2023
    first = section.calendar_days()["date"].min()
    assert first == rows["date"].min()  # the global date range starts the 2023 calendar


def test_calendar_heatmap_hover_and_rows(section):
    plot = hv.render(section.plot_calendar())
    (source,) = [r.data_source for r in plot.renderers if "date_text" in r.data_source.data]
    assert set(source.data["weekday"]) == set(range(7))
    assert plot.y_range.start > plot.y_range.end  # inverted: Monday (0) on top


# -- 7. channel metrics, CPA vs ROAS, ROAS trend -----------------------------------------------------

def test_channel_metrics_are_ratios_of_sums(section, rows):
    table = section.channel_metrics().set_index("channel")
    totals = by_channel(rows)
    for channel, row in totals.iterrows():
        assert table.loc[channel, "ctr"] == pytest.approx(row.clicks / row.impressions)
        assert table.loc[channel, "cvr"] == pytest.approx(row.conversions / row.clicks)
        if row.spend > 0:
            assert table.loc[channel, "roas"] == pytest.approx(row.revenue / row.spend)
            assert table.loc[channel, "cpm"] == pytest.approx(1000 * row.spend / row.impressions)
        else:
            assert table.loc[channel, ["roas", "cpa", "cpc", "cpm"]].isna().all()
    shown = section.channel_table()
    assert "Spend (₹ L)" in shown and "Revenue (₹ Cr)" in shown
    assert shown["Revenue (₹ Cr)"].sum() == pytest.approx(totals["revenue"].sum() / 1e7)


def test_roas_trend_months_without_rows_break_the_line(section):
    # Email alone has months without any campaign row: they are n/a (a break), not bridged by the line.
    section.filters.channels = ["Email"]
    trend = section.roas_trend()
    months = pd.date_range(trend["month"].min(), trend["month"].max(), freq="MS")
    assert trend["month"].tolist() == list(months)
    assert trend["roas"].isna().sum() >= 3 and trend["roas"].notna().sum() > 0
    hv.render(section.plot_roas_trend())
    section.filters.date_range = (dt.date(2024, 2, 1), dt.date(2024, 3, 31))   # inside Email's gap: no rows at all
    assert section.roas_trend().empty
    hv.render(section.plot_roas_trend())


def test_roas_trend_scale_and_break_even(section, rows):
    log = section.roas_trend()
    month = rows["date"].dt.to_period("M").dt.to_timestamp()
    monthly = rows.groupby([month, "channel"])[["revenue", "spend"]].sum()
    email = log[(log["channel"] == "Email") & log["roas"].notna()].set_index("month")["roas"]
    expected = monthly.xs("Email", level="channel").query("spend > 0")
    assert np.allclose(email, expected["revenue"] / expected["spend"])
    assert "Direct" not in set(log["channel"])  # never spent: no ROAS line
    overlay = section.plot_roas_trend()
    assert hv.render(overlay).y_scale.__class__.__name__ == "LogScale"
    section.roas_scale = "linear"
    assert hv.render(section.plot_roas_trend()).y_scale.__class__.__name__ == "LinearScale"
    (line,) = [e for e in section.plot_roas_trend() if isinstance(e, hv.HLine)]
    assert line.data == 1.0 and hv.Store.lookup_options("bokeh", line, "style").kwargs["line_dash"] == "dashed"


def test_cpa_roas_scatter_plots_paid_channels(section, rows):
    scatter = section.plot_cpa_roas().get(0)
    paid = by_channel(rows).query("spend > 0 and conversions > 0")
    assert sorted(scatter.data["channel"]) == sorted(paid.index)
    assert sorted(scatter.data["cpa"]) == pytest.approx(sorted(paid["spend"] / paid["conversions"]))


def test_cpa_roas_labels_do_not_overlap_in_the_rendered_chart(section):
    labels = section.plot_cpa_roas().get(1)
    figure = hv.render(section.plot_cpa_roas())
    (glyph,) = [r.glyph for r in figure.renderers if "dy" in getattr(getattr(r, "data_source", None), "data", {})]
    assert glyph.y_offset.field == "dy" and glyph.x_offset.field == "dx"
    frame = labels.dframe().set_index("channel")
    # Google Ads, Facebook and Instagram sit close together on the reference data: their labels are moved apart
    # (screen y grows downward, so dy > 0 is below the point).
    assert frame.loc[["Facebook", "Instagram"], "dy"].gt(0).all()
    y_px = -(frame["roas"] - frame["roas"].min()) / np.ptp(frame["roas"]) * 260 + frame["dy"]
    crowd = y_px[["Google Ads", "Facebook", "Instagram"]].sort_values()
    assert (crowd.diff().dropna() >= 14 - 1e-9).all()


# -- 8. leaderboard -------------------------------------------------------------------------------

def test_leaderboard_against_the_median(section, rows):
    per_campaign = rows.groupby("campaign_id")[["spend", "revenue"]].sum().query("spend > 0")
    roas = per_campaign["revenue"] / per_campaign["spend"]
    bars = section.plot_leaderboard().get(0)
    assert len(bars.data) == len(roas)  # zero-spend campaigns are not plotted
    assert sorted(bars.data["roas"]) == pytest.approx(sorted(roas))
    assert set(bars.data["standing"][bars.data["roas"] > roas.median()]) == {"above median"}
    (marker,) = [e for e in section.plot_leaderboard() if isinstance(e, hv.HLine)]
    assert marker.data == pytest.approx(roas.median())
    above = int((roas > roas.median()).sum())
    assert section.insight_leaderboard().startswith(
        f"The median campaign ROAS is {ratio(roas.median())}; {above} of {len(roas)} campaigns with spend beat it.")


def test_a_long_leaderboard_draws_the_best_and_worst_against_the_median_of_all(section, rows):
    per_campaign = rows.groupby("campaign_id")[["spend", "revenue"]].sum().query("spend > 0")
    roas = (per_campaign["revenue"] / per_campaign["spend"]).sort_values(ascending=False)
    section.LEADERBOARD_END = 4
    chart = section.plot_leaderboard()
    bars = chart.get(0)
    assert len(roas) > 8 and len(bars.data) == 8
    assert sorted(bars.data["campaign_id"]) == sorted([*roas.index[:4], *roas.index[-4:]])
    assert list(bars.data["roas"]) == pytest.approx(list(roas.iloc[[*range(-1, -5, -1), *range(3, -1, -1)]]))
    assert list(bars.data["rank_text"])[-1] == f"1 of {len(roas)}" and list(bars.data["rank_text"])[0] == (
        f"{len(roas)} of {len(roas)}")
    (marker,) = [e for e in chart if isinstance(e, hv.HLine)]
    assert marker.data == pytest.approx(roas.median())           # the median of every campaign, not of those drawn
    assert chart.opts.get().kwargs["title"] == (f"Best 4 and worst 4 of {len(roas)} campaigns by ROAS "
                                                f"(dashed: median of all, {ratio(roas.median())})")
    assert f"of {len(roas)} campaigns with spend beat it" in section.insight_leaderboard()   # still all of them


# -- animation -----------------------------------------------------------------------------------

def test_month_player_drives_the_bubbles(section, rows):
    names = list(section.param.month.names)
    assert names[0] == "Jan 2023" and names[-1] == "Dec 2024" and len(names) == 24
    first = section.plot_month_bubbles()
    section.month = dt.date(2024, 11, 1)
    november = section.month_channels().set_index("channel")
    expected = by_channel(rows[(rows["date"] >= "2024-11-01") & (rows["date"] <= "2024-11-30")])
    assert november["revenue"].to_dict() == pytest.approx(expected["revenue"].to_dict())
    later = section.plot_month_bubbles()
    for axis in ("spend", "revenue"):   # fixed axes while playing
        assert later.get_dimension(axis).range == first.get_dimension(axis).range
    assert "Nov 2024" in section.insight_month()


def test_a_date_selection_moves_the_month_player_into_it(section):
    section.month = dt.date(2023, 1, 1)
    section.filters.date_range = (dt.date(2024, 6, 10), dt.date(2024, 8, 31))
    assert section.month == dt.date(2024, 6, 1)
    assert len(section.month_channels()) > 0
    section.filters.date_range = (dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    assert section.month == dt.date(2024, 6, 1)   # a month inside the selection stays


def test_a_date_selection_moves_the_year_controls_into_it(section, rows):
    # The region × quarter bars and the calendar stayed on 2024 under a 2023 selection: empty charts, "No
    # revenue in 2024".
    assert section.year == section.calendar_year == 2024
    section.filters.date_range = (dt.date(2023, 3, 1), dt.date(2023, 3, 31))
    assert section.year == section.calendar_year == 2023
    march = rows[(rows["date"] >= "2023-03-01") & (rows["date"] <= "2023-03-31")]
    assert section.region_quarter_revenue()["revenue"].sum() == pytest.approx(march["revenue"].sum())
    assert section.calendar_days()["value"].sum() == pytest.approx(march["revenue"].sum())
    section.filters.date_range = (dt.date(2023, 6, 1), dt.date(2024, 2, 29))
    assert section.year == section.calendar_year == 2023   # a year inside the selection stays


def test_dates_set_before_the_section_place_its_period_controls(reference_store):
    filters = Filters(reference_store)   # a shared link's dates reach the filters before the sections exist
    filters.date_range = (dt.date(2023, 3, 1), dt.date(2023, 3, 31))
    section = CampaignSection(store=reference_store, filters=filters)
    assert (section.year, section.calendar_year, section.month) == (2023, 2023, dt.date(2023, 3, 1))


# -- global filters, exports, insights, render -----------------------------------------------------

def test_global_filters_narrow_every_view(section, rows):
    section.filters.param.update(regions=["North"], campaign_types=["Retargeting"],
                                 date_range=(dt.date(2024, 1, 1), dt.date(2024, 12, 31)))
    chosen = rows[(rows["region"] == "North") & (rows["campaign_type"] == "Retargeting")
                  & (rows["date"] >= "2024-01-01")]
    assert section.channel_metrics()["revenue"].sum() == pytest.approx(chosen["revenue"].sum())
    assert section.monthly_spend()["spend"].sum() == pytest.approx(chosen["spend"].sum())
    assert section.cumulative_conversions()["conversions"].sum() == pytest.approx(chosen["conversions"].sum())
    assert len(section.campaign_metrics()) == chosen["campaign_id"].nunique()
    assert len(section.export_frame()) == len(chosen)
    section.calendar_year = 2023
    assert section.calendar_days().empty  # the global range excludes 2023


def test_every_tooltip_field_exists_in_its_source(section):
    for element in section.chart_objects():
        plot = hv.render(element)
        columns = set().union(*[set(r.data_source.data) for r in plot.select({"type": GlyphRenderer})
                                if hasattr(r, "data_source")])
        hovers = list(plot.select({"type": HoverTool}))
        assert hovers, f"{element} has no hover tool"
        for hover in hovers:
            fields = {f for _, text in hover.tooltips for f in re.findall(r"@\{([^}]+)\}", text)}
            assert fields and fields <= columns, (element, fields - columns)


def test_downloads(section, rows):
    header = section.layout()[0]
    csv_button, html_button = header[1], header[2]
    text = csv_button.callback().read().decode()
    assert text.splitlines()[0].startswith("date,campaign_id") and len(text.splitlines()) == len(rows) + 1
    page = html_button.callback().read()
    assert page.lstrip().startswith(b"<!DOCTYPE html>") and b"cdn.bokeh.org" not in page


def test_insights_follow_the_data(reference_store, shifted_dir, rows):
    shifted_store = DataStore.open(shifted_dir)
    shifted_rows = pd.read_csv(shifted_dir / CAMPAIGN_FILE, parse_dates=["date"])
    said = {}
    for name, store, frame in (("reference", reference_store, rows), ("shifted", shifted_store, shifted_rows)):
        view = CampaignSection(store=store, filters=Filters(store))
        totals = by_channel(frame)
        leader = totals["revenue"].idxmax()
        share = totals["revenue"].max() / totals["revenue"].sum()
        said[name] = view.insight_channels()
        assert said[name].startswith(f"**{leader}** leads revenue with {rupees(totals['revenue'].max())} "
                                     f"({percent(share)} of {rupees(totals['revenue'].sum())})")
        month = frame["date"].dt.to_period("M")
        monthly = frame.groupby([month, "channel"])[["revenue", "spend"]].sum().query("spend > 0")
        below = (monthly["revenue"] / monthly["spend"] < 1).groupby(level="channel").sum()
        roas_text = view.insight_roas_trend()
        if below.max() == 0:
            assert roas_text.startswith("Every channel with spend stayed above break-even")
        else:
            assert roas_text.startswith(f"**{below.idxmax()}** fell below break-even (ROAS < 1) in {below.max()} of")
    assert said["reference"] != said["shifted"]
    assert said["shifted"].startswith("**Facebook**")


def test_section_renders_and_survives_an_empty_selection(section, rows):
    pairs = set(zip(rows["channel"], rows["region"], strict=True))
    channel, region = next((c, r) for c in rows["channel"].unique() for r in rows["region"].unique()
                           if (c, r) not in pairs)
    section.filters.param.update(channels=[channel], regions=[region])
    assert section.channel_metrics().empty and section.cumulative_conversions().empty
    for element in section.chart_objects():
        hv.render(element)
    assert section.insight_channels() == ci.NO_DATA
    assert section.insight_leaderboard() == ci.NO_DATA


def test_button_tooltips_open_below_the_buttons(reference_store):
    from bokeh.models import Tooltip
    view = CampaignSection(store=reference_store, filters=Filters(reference_store))
    page = view.__panel__()
    groups = [w for w in page.select(pn.widgets.RadioButtonGroup) if w.description is not None]
    assert groups and all(isinstance(w.description, Tooltip) and w.description.position == "bottom" for w in groups)
    stacking = [w for w in groups if w.value in ("Absolute", "100 % stacked")][0]
    assert stacking.description.content == "Absolute spend or shares"


def test_calendar_weekdays_average_the_days_a_channel_ran(section, rows):
    # Email ran on 141 days of 2024: the weekday averages once spread its revenue over all 366.
    section.filters.channels = ["Email"]
    email = rows[(rows["channel"] == "Email") & (rows["date"].dt.year == 2024)].groupby("date")["revenue"].sum()
    by_weekday = email.groupby(email.index.day_of_week).mean()
    days = section.calendar_days()
    assert days["live"].sum() == len(email) and len(days) == 366
    text = section.insight_calendar()
    assert (f"**Sunday** is the best weekday ({rupees(by_weekday[6])} per day with campaigns on average) and "
            f"Friday the weakest ({rupees(by_weekday[4])})") in text


def test_region_quarter_sentence_follows_the_date_selection(section, rows):
    section.filters.date_range = (dt.date(2023, 3, 1), dt.date(2023, 3, 31))
    assert section.selected_quarters() == (("Q1",), False)
    march = rows[(rows["date"] >= "2023-03-01") & (rows["date"] <= "2023-03-31")]
    assert f"of the {rupees(march['revenue'].sum())} of 2023's selected dates" in section.insight_region_quarter()
    section.filters.param.update(date_range=section.filters.full_range, channels=["Email"])
    section.year = 2024
    assert section.selected_quarters() == (("Q1", "Q2", "Q3", "Q4"), True)
    assert "**No campaign rows at all** in Q1 and Q2 2024" in section.insight_region_quarter()
