"""Executive overview: every number against an independent pandas computation on the CSV files."""
import datetime as dt
import io
import re
import shutil

import holoviews.plotting.bokeh  # noqa: F401 - the chart download renders without a served page
import numpy as np
import pandas as pd
import panel as pn
import pytest
from bokeh.models import ColumnDataSource

from novamart_panel.analytics.anomalies import detect_anomalies, mask_unjudgeable_days
from novamart_panel.data.store import DataStore
from novamart_panel.format import rupees
from novamart_panel.views.filters import Filters
from novamart_panel.views.overview import OverviewSection

CAMPAIGN_FILE = "campaign_performance.csv"
# base.csv_download still passes button_type/button_style, which Panel 1.10 deprecates (reported).
PANEL_BUTTON_DEPRECATION = "ignore:button_(type|style) is deprecated:PendingDeprecationWarning"


@pytest.fixture(scope="module")
def campaigns(reference_dir) -> pd.DataFrame:
    return pd.read_csv(reference_dir / CAMPAIGN_FILE, parse_dates=["date"])


@pytest.fixture(scope="module")
def customers(reference_dir) -> pd.DataFrame:
    return pd.read_csv(reference_dir / "customer_data.csv")


def overview(store, kpi_period="last", comparison="previous", **filters) -> OverviewSection:
    section = OverviewSection(store=store, filters=Filters(store), kpi_period=kpi_period, comparison=comparison)
    section.filters.param.update(**filters)
    return section


def pandas_kpis(rows: pd.DataFrame) -> dict[str, float]:
    revenue, spend, conversions = (float(rows[c].sum()) for c in ("revenue", "spend", "conversions"))
    return {"revenue": revenue, "spend": spend, "conversions": conversions,
            "roas": revenue / spend if spend else np.nan, "cpa": spend / conversions if conversions else np.nan}


def kpi_rows(section) -> pd.DataFrame:
    return section.kpis().set_index("kpi")


FILTER_CASES = {
    "no filter": ({}, lambda f: f.index == f.index),
    "channels": ({"channels": ["Google Ads", "Email"]}, lambda f: f["channel"].isin(["Google Ads", "Email"])),
    "date window": ({"date_range": (dt.date(2024, 4, 1), dt.date(2024, 6, 30))},
                    lambda f: f["date"].between("2024-04-01", "2024-06-30")),
    "region": ({"regions": ["West"]}, lambda f: f["region"] == "West"),
    "campaign type": ({"campaign_types": ["Retargeting"]}, lambda f: f["campaign_type"] == "Retargeting"),
}


@pytest.mark.parametrize("case", FILTER_CASES)
def test_kpis_equal_pandas_on_the_csv(reference_store, campaigns, case):
    filters, mask = FILTER_CASES[case]
    kpis = kpi_rows(overview(reference_store, kpi_period="all", **filters))
    expected = pandas_kpis(campaigns[mask(campaigns)])
    for name, value in expected.items():
        assert kpis.loc[name, "value"] == pytest.approx(value, rel=1e-9)


def test_previous_period_change_is_independent_pandas(reference_store, campaigns):
    window = (dt.date(2024, 10, 1), dt.date(2024, 12, 31))          # 92 days → 1 Jul – 30 Sep 2024
    kpis = kpi_rows(overview(reference_store, kpi_period="all", date_range=window, channels=["Facebook", "LinkedIn"]))
    paid = campaigns[campaigns["channel"].isin(["Facebook", "LinkedIn"])]
    now = pandas_kpis(paid[paid["date"].between("2024-10-01", "2024-12-31")])
    before = pandas_kpis(paid[paid["date"].between("2024-07-01", "2024-09-30")])
    for name in ("revenue", "spend", "conversions", "roas", "cpa"):
        change = (now[name] - before[name]) / abs(before[name])
        assert kpis.loc[name, "previous"] == pytest.approx(before[name], rel=1e-9)
        assert kpis.loc[name, "change"] == pytest.approx(change, rel=1e-9)
        sign = "+" if change > 0 else "−"
        assert kpis.loc[name, "change_text"] == f"{sign}{abs(change) * 100:.1f}%"
        assert kpis.loc[name, "caption"] == "vs 01 Jul 2024 – 30 Sep 2024"
    # green/red follows the metric: lower CPA is good news, spend is neither
    assert kpis.loc["revenue", "good"] == (now["revenue"] > before["revenue"])
    assert kpis.loc["cpa", "good"] == (now["cpa"] < before["cpa"])
    assert kpis.loc["spend", "good"] is None


def test_change_is_na_without_earlier_data(reference_store):
    full = kpi_rows(overview(reference_store, kpi_period="all"))
    assert set(full.loc[["revenue", "roas"], "change_text"]) == {"n/a"}
    assert set(full.loc[["revenue", "cpa"], "caption"]) == {"no earlier data"}
    assert full.loc["revenue", "good"] is None
    partial = kpi_rows(overview(reference_store, kpi_period="all",
                                date_range=(dt.date(2023, 2, 1), dt.date(2023, 3, 31))))
    assert partial.loc["revenue", "change_text"] == "n/a"
    assert partial.loc["revenue", "caption"] == "earlier data incomplete"
    assert kpi_rows(overview(reference_store, comparison="none")).loc["revenue", "caption"] == "no comparison chosen"


@pytest.mark.parametrize("data", ["packaged", "reference"])
def test_the_default_cards_show_a_change_the_last_90_days_against_the_90_before(data, reference_dir, packaged_dir):
    folder = reference_dir if data == "reference" else packaged_dir
    rows = pd.read_csv(folder / CAMPAIGN_FILE, parse_dates=["date"])
    section = overview(DataStore.open(folder))
    kpis = kpi_rows(section)
    last = rows["date"].max()
    window = rows["date"].between(last - pd.Timedelta(days=89), last)
    before = rows["date"].between(last - pd.Timedelta(days=179), last - pd.Timedelta(days=90))
    now, earlier = pandas_kpis(rows[window]), pandas_kpis(rows[before])
    for name in ("revenue", "spend", "conversions", "roas", "cpa"):
        assert kpis.loc[name, "value"] == pytest.approx(now[name], rel=1e-9)
        assert kpis.loc[name, "change"] == pytest.approx((now[name] - earlier[name]) / abs(earlier[name]), rel=1e-9)
        assert kpis.loc[name, "change_text"] not in ("n/a", "")
    assert kpis.loc["revenue", "caption"] == (f"vs {last - pd.Timedelta(days=179):%d %b %Y} – "
                                              f"{last - pd.Timedelta(days=90):%d %b %Y}")
    assert "n/a" not in section.kpi_html()
    assert section.kpi_note().startswith(f"**{last - pd.Timedelta(days=89):%d %b %Y} – {last:%d %b %Y}** (90 days)")
    # one click shows every selected date: the whole file here, which has no earlier data
    section.kpi_period = "all"
    assert kpi_rows(section).loc["revenue", "value"] == pytest.approx(rows["revenue"].sum())


def test_same_period_last_year_and_the_date_filter(reference_store, campaigns):
    # A URL or sidebar range of 1 Jun – 31 Dec 2024: the cards show its last 90 days (3 Oct – 31 Dec 2024)
    # against the same days of 2023.
    section = overview(reference_store, comparison="year", date_range=(dt.date(2024, 6, 1), dt.date(2024, 12, 31)))
    kpis = kpi_rows(section)
    now = pandas_kpis(campaigns[campaigns["date"].between("2024-10-03", "2024-12-31")])
    before = pandas_kpis(campaigns[campaigns["date"].between("2023-10-03", "2023-12-31")])
    assert kpis.loc["revenue", "value"] == pytest.approx(now["revenue"])
    assert kpis.loc["revenue", "previous"] == pytest.approx(before["revenue"])
    assert kpis.loc["revenue", "caption"] == "vs 03 Oct 2023 – 31 Dec 2023"
    # a range shorter than 90 days is shown whole
    short = kpi_rows(overview(reference_store, date_range=(dt.date(2024, 11, 1), dt.date(2024, 11, 30))))
    nov = campaigns[campaigns["date"].between("2024-11-01", "2024-11-30")]
    assert short.loc["revenue", "value"] == pytest.approx(nov["revenue"].sum())
    assert short.loc["revenue", "caption"] == "vs 02 Oct 2024 – 31 Oct 2024"


def test_roas_and_cpa_are_na_with_only_zero_spend_channels(reference_store, campaigns):
    section = overview(reference_store, kpi_period="all", channels=["Direct", "Organic Search"])
    # by default the cards show the selection's last 90 days with rows: Direct stops on 19 Jul 2024
    assert overview(reference_store, channels=["Direct"]).kpi_note() == (
        "**21 Apr 2024 – 19 Jul 2024** (90 days) against the 90 days before, 22 Jan 2024 – 20 Apr 2024. "
        "The selection has no campaign rows after 19 Jul 2024: the cards end on its last day.")
    kpis = kpi_rows(section)
    assert kpis.loc["spend", "value"] == 0
    assert kpis.loc["revenue", "value"] == pytest.approx(
        campaigns.loc[campaigns["channel"].isin(["Direct", "Organic Search"]), "revenue"].sum())
    for name in ("roas", "cpa"):
        assert np.isnan(kpis.loc[name, "value"]) and kpis.loc[name, "value_text"] == "n/a"
    assert "inf" not in section.kpi_html()
    assert "ROAS and CPA are undefined" in section.insight_channels()


EARLY_ENDS = {"LinkedIn": {"channels": ["LinkedIn"]}, "Lead Generation": {"campaign_types": ["Lead Generation"]},
              "West": {"regions": ["West"]}}


def selected_rows(campaigns: pd.DataFrame, filters: dict) -> pd.DataFrame:
    column = {"channels": "channel", "campaign_types": "campaign_type", "regions": "region"}
    mask = np.ones(len(campaigns), dtype=bool)
    for key, values in filters.items():
        mask &= campaigns[column[key]].isin(values).to_numpy()
    return campaigns[mask]


@pytest.mark.parametrize("case", EARLY_ENDS)
def test_series_that_end_early_are_not_read_past_their_last_day(reference_store, campaigns, case):
    """LinkedIn, Lead Generation and West stop before the file does: the cards and the trend sentence end on
    the selection's last day and compare like with like (pandas on the CSV, independently)."""
    rows = selected_rows(campaigns, EARLY_ENDS[case])
    last = rows["date"].max()
    assert last < campaigns["date"].max()
    section = overview(reference_store, **EARLY_ENDS[case])
    # the cards: the selection's own last 90 days against the 90 before
    recent = rows[rows["date"].between(last - pd.Timedelta(days=89), last)]
    before = rows[rows["date"].between(last - pd.Timedelta(days=179), last - pd.Timedelta(days=90))]
    kpis = kpi_rows(section)
    assert kpis.loc["revenue", "value"] == pytest.approx(recent["revenue"].sum())
    assert kpis.loc["revenue", "change"] == pytest.approx(recent["revenue"].sum() / before["revenue"].sum() - 1)
    # the trend sentence: the same 90 days against the same days a year earlier
    year_before = rows[rows["date"].between(last - pd.Timedelta(days=89) - pd.DateOffset(years=1),
                                            last - pd.DateOffset(years=1))]
    moved = recent["revenue"].sum() / year_before["revenue"].sum() - 1
    text = section.insight_trend()
    assert text.startswith(f"The selection has no campaign rows after {last:%d %b %Y}, so the comparison ends "
                           f"there. Revenue in the 90 days to {last:%d %b %Y} was {rupees(recent['revenue'].sum())}, "
                           f"{'up' if moved > 0 else 'down'} {abs(moved):.1%} on the same days a year earlier")
    assert "100.0%" not in text and "Calendar 2024" not in text     # 2024 is not a whole year of this selection
    # fewer campaigns ran: the sentence says how many, per day with rows (one row per campaign and day)
    live_now = recent.groupby("date").size().mean()
    live_then = year_before.groupby("date").size().mean()
    assert f"Campaigns live per day averaged {live_now:.1f} against {live_then:.1f}" in text


def test_trend_sentence_on_the_whole_file_compares_calendar_years(reference_store, campaigns):
    text = overview(reference_store).insight_trend()
    by_year = campaigns.groupby(campaigns["date"].dt.year)["revenue"].sum()
    moved = by_year[2024] / by_year[2023] - 1
    assert f"Calendar 2024 brought {rupees(by_year[2024])}, up {moved:.1%} on 2023" in text   # +5.4 %
    assert "no campaign rows after" not in text


def test_a_selection_without_rows_says_so(reference_store, customers):
    section = overview(reference_store, channels=["Email"], regions=["North"])   # Email never ran in North
    kpis = kpi_rows(section)
    assert kpis.loc[["revenue", "spend", "conversions"], "value"].tolist() == [0, 0, 0]
    assert kpis.loc[["roas", "cpa"], "value_text"].tolist() == ["n/a", "n/a"]
    assert kpis.loc["customers", "value"] == (customers["region"] == "North").sum()
    for text in (section.insight_top(), section.insight_trend(), section.insight_channels(),
                 section.insight_alerts()):
        assert text.startswith("No campaign data under these filters")
    assert section.anomaly_table().empty


def test_customers_card_counts_the_customer_file_under_the_region_filter(reference_store, customers):
    section = overview(reference_store, regions=["South", "East"], date_range=(dt.date(2024, 1, 1),
                                                                               dt.date(2024, 1, 31)))
    card = kpi_rows(section).loc["customers"]
    assert card["value"] == customers["region"].isin(["South", "East"]).sum()
    assert card["change_text"] == "" and card["good"] is None
    assert "no dates" in card["caption"] and "South, East" in card["caption"]


def test_revenue_trend_and_moving_averages(reference_store, campaigns):
    section = overview(reference_store, channels=["LinkedIn"], date_range=(dt.date(2024, 3, 1),
                                                                           dt.date(2024, 5, 31)))
    trend = section.revenue_trend()
    calendar = pd.date_range(campaigns["date"].min(), campaigns["date"].max(), freq="D")
    daily = (campaigns[campaigns["channel"] == "LinkedIn"].groupby("date")["revenue"].sum()
             .reindex(calendar, fill_value=0.0))
    expected = pd.DataFrame({"revenue": daily, "ma7": daily.rolling(7).mean(), "ma30": daily.rolling(30).mean()})
    expected = expected.loc["2024-03-01":"2024-05-31"]
    assert trend["date"].tolist() == expected.index.tolist()
    for column in ("revenue", "ma7", "ma30"):
        assert trend[column].to_numpy() == pytest.approx(expected[column].to_numpy(), rel=1e-9)
    # the first day of the window averages the days before it, not a partial window
    assert not np.isnan(trend["ma30"].iloc[0])
    first = overview(reference_store).revenue_trend()
    assert first["ma7"].iloc[:6].isna().all() and not np.isnan(first["ma7"].iloc[6])


def test_channel_revenue_sorted_with_roas(reference_store, campaigns):
    section = overview(reference_store, regions=["North"])
    by_channel = section.channel_revenue()
    north = campaigns[campaigns["region"] == "North"].groupby("channel")[["revenue", "spend"]].sum()
    north = north.sort_values("revenue", ascending=False)
    assert by_channel["channel"].tolist() == north.index.tolist()
    assert by_channel["revenue"].to_numpy() == pytest.approx(north["revenue"].to_numpy())
    roas = by_channel.set_index("channel")["roas"]
    paid = north[north["spend"] > 0]
    assert roas[paid.index].to_numpy() == pytest.approx((paid["revenue"] / paid["spend"]).to_numpy())
    assert roas[north.index[north["spend"] == 0]].isna().all() and len(paid) < len(north)
    assert by_channel["share"].sum() == pytest.approx(1.0)


def test_anomalies_follow_the_filters_and_the_threshold(reference_store, campaigns):
    window = (dt.date(2024, 7, 1), dt.date(2024, 12, 31))
    section = overview(reference_store, regions=["South"], date_range=window)
    south = campaigns[campaigns["region"] == "South"]
    daily = south.groupby("date")[["revenue", "spend", "conversions"]].sum().reset_index()
    daily["roas"] = daily["revenue"] / daily["spend"].where(daily["spend"] > 0)
    paid = campaigns.groupby("channel")["spend"].sum().loc[lambda s: s > 0].index
    live = south.groupby("date").agg(campaigns=("campaign_id", "nunique"),
                                     paid_campaigns=("channel", lambda c: c.isin(paid).sum())).reset_index()
    expected = detect_anomalies(mask_unjudgeable_days(daily.merge(live, on="date")),
                                ["revenue", "spend", "conversions", "roas"])
    expected = expected[expected["date"].between("2024-07-01", "2024-12-31")]
    found = section.anomalies()
    assert len(found) > 0
    order = ["date", "metric"]
    pd.testing.assert_frame_equal(found.sort_values(order, ignore_index=True)[["date", "metric", "direction"]],
                                  expected.sort_values(order, ignore_index=True)[["date", "metric", "direction"]],
                                  check_dtype=False)
    table = section.anomaly_table()
    assert found["impact"].is_monotonic_decreasing and len(table) == len(found)
    assert table["impact"].tolist() == [rupees(v) for v in found["impact"]]
    section.threshold = 2.5
    assert len(section.anomalies()) > len(found)


@pytest.mark.parametrize("data", ["packaged", "reference"])
def test_no_alert_in_the_first_week_of_data_whatever_the_filters(data, reference_dir, packaged_dir):
    store = DataStore.open(reference_dir if data == "reference" else packaged_dir)
    section = overview(store, kpi_period="all")
    first = pd.Timestamp(section.data_bounds()[0])
    for filters in ({}, {"channels": ["Direct"]}, {"channels": ["Organic Search", "Direct"]}, {"regions": ["West"]},
                    {"campaign_types": ["Lead Generation"]}, {"channels": ["LinkedIn"]}):
        section.filters.param.update(channels=[], regions=[], campaign_types=[])
        section.filters.param.update(**filters)
        for threshold in (2.0, 3.5):
            section.threshold = threshold
            found = section.anomalies()
            assert not (found["date"] < first + pd.Timedelta(days=7)).any(), (filters, threshold)
            # zero-spend channels never raise a spend alert
            if set(filters.get("channels", ())) <= {"Direct", "Organic Search"} and filters.get("channels"):
                assert not found["metric"].isin(["spend", "roas"]).any()


def test_export_is_daily_metrics_by_channel(reference_store, campaigns):
    picked = ["Email", "Facebook"]
    section = overview(reference_store, channels=picked, date_range=(dt.date(2024, 8, 1), dt.date(2024, 8, 31)))
    frame = section.export_frame()
    rows = campaigns[campaigns["channel"].isin(picked) & campaigns["date"].between("2024-08-01", "2024-08-31")]
    expected = rows.groupby(["date", "channel"])[["revenue", "spend"]].sum().reset_index()
    assert frame["channel"].tolist() == expected["channel"].tolist() and set(frame["channel"]) == set(picked)
    assert frame["revenue"].to_numpy() == pytest.approx(expected["revenue"].to_numpy())
    assert frame["roas"].to_numpy() == pytest.approx((expected["revenue"] / expected["spend"]).to_numpy())


@pytest.fixture(scope="module")
def swapped_store(reference_dir, tmp_path_factory, campaigns):
    """The reference data with the channel labels Email and LinkedIn swapped in the campaign file."""
    folder = tmp_path_factory.mktemp("swapped")
    for path in reference_dir.glob("*.csv"):
        shutil.copy(path, folder / path.name)
    raw = pd.read_csv(reference_dir / CAMPAIGN_FILE, dtype=str, keep_default_na=False)
    raw["channel"] = raw["channel"].replace({"Email": "LinkedIn", "LinkedIn": "Email"})
    raw.to_csv(folder / CAMPAIGN_FILE, index=False)
    return DataStore.open(folder)


def test_insights_say_what_is_true_on_each_data_set(reference_store, swapped_store, campaigns):
    reference = overview(reference_store).insight_list()
    swapped = overview(swapped_store).insight_list()
    assert 3 <= len(reference) <= 5 and 3 <= len(swapped) <= 5
    revenue = campaigns.groupby("channel")["revenue"].sum()
    spend = campaigns.groupby("channel")["spend"].sum()
    roas = (revenue / spend)[spend > 0]
    leader = revenue.idxmax()
    assert reference[0].startswith(f"**{leader}** brings the most revenue")
    assert f"{revenue.max() / revenue.sum() * 100:.1f}%" in reference[0]
    assert f"**{roas.idxmax()}** returns the most" in reference[1] and f"**{roas.idxmin()}** the least" in reference[1]
    other = {"Email": "LinkedIn", "LinkedIn": "Email"}
    assert swapped[0].startswith(f"**{other.get(leader, leader)}** brings the most revenue")
    assert f"**{other.get(roas.idxmax(), roas.idxmax())}** returns the most" in swapped[1]
    assert reference[:2] != swapped[:2]
    monthly = campaigns.groupby(campaigns["date"].dt.to_period("M"))["revenue"].sum()
    assert f"**{monthly.iloc[1:].idxmax().strftime('%B %Y')}**" in next(s for s in reference if "strongest" in s)


def test_period_insight_names_the_driver(reference_store, campaigns):
    section = overview(reference_store, kpi_period="all", date_range=(dt.date(2024, 10, 1), dt.date(2024, 12, 31)))
    sentence = next(s for s in section.insight_list() if s.startswith("Revenue "))
    now = campaigns[campaigns["date"].between("2024-10-01", "2024-12-31")].groupby("channel")["revenue"].sum()
    before = campaigns[campaigns["date"].between("2024-07-01", "2024-09-30")].groupby("channel")["revenue"].sum()
    moved = now.sub(before, fill_value=0)
    total = now.sum() - before.sum()
    driver = moved[np.sign(moved) == np.sign(total)].abs().idxmax()
    assert sentence.startswith("Revenue over the last 92 days " + ("fell" if total < 0 else "rose"))
    assert f"**{driver}** moved it most" in sentence


def trend_source(root) -> ColumnDataSource:
    """The daily-revenue curve's data (the moving-average curves carry ma7/ma30 instead of revenue)."""
    sources = [s for s in root.select({"type": ColumnDataSource}) if {"revenue", "ma7_text"} <= set(s.data)]
    assert len(sources) == 1
    return sources[0]


@pytest.mark.filterwarnings(PANEL_BUTTON_DEPRECATION)
def test_section_renders_and_the_trend_follows_the_filters(reference_store, campaigns):
    section = overview(reference_store)
    root = pn.panel(section).get_root()
    source = trend_source(root)
    all_revenue = np.asarray(source.data["revenue"])
    assert all_revenue.sum() == pytest.approx(campaigns["revenue"].sum())
    section.filters.channels = ["Referral"]
    narrowed = np.asarray(trend_source(root).data["revenue"])
    assert narrowed.sum() == pytest.approx(campaigns.loc[campaigns["channel"] == "Referral", "revenue"].sum())
    assert len(narrowed) == len(all_revenue)


@pytest.mark.filterwarnings(PANEL_BUTTON_DEPRECATION)
def test_downloads_label_rates_with_their_unit_and_open_offline(reference_store, campaigns):
    picked = ["Email", "Google Ads"]
    section = overview(reference_store, channels=picked, date_range=(dt.date(2024, 8, 1), dt.date(2024, 8, 31)))
    buttons = {b.filename: b for b in pn.panel(section).select(pn.widgets.FileDownload)}
    downloaded = pd.read_csv(io.BytesIO(buttons["novamart_overview.csv"].callback().getvalue()))
    rows = campaigns[campaigns["channel"].isin(picked) & campaigns["date"].between("2024-08-01", "2024-08-31")]
    sums = rows.groupby(["date", "channel"])[["clicks", "impressions", "conversions", "spend"]].sum().reset_index()
    # rates as the screen shows them: percentages, the unit in the header; no 0–1 column left unlabelled
    assert {"CTR (%)", "CVR (%)", "CPA (INR)", "ROAS (revenue per INR spent)"} <= set(downloaded.columns)
    assert not {"ctr", "cvr", "roas", "cpa"} & set(downloaded.columns)
    assert downloaded["CTR (%)"].to_numpy() == pytest.approx((100 * sums["clicks"] / sums["impressions"]).to_numpy())
    assert downloaded["CVR (%)"].to_numpy() == pytest.approx((100 * sums["conversions"] / sums["clicks"]).to_numpy())
    page = buttons["novamart_overview_charts.html"].callback().getvalue().decode("utf-8")
    assert page.lstrip().startswith("<!DOCTYPE html>") and page.count("data-root-id") == 2
    assert not re.search(r"""<(?:script|link)\b[^>]*\s(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert "cdn.holoviz.org" not in page


def test_festive_lift_compares_the_days_a_channel_ran(reference_store, campaigns):
    # Email has no rows before Jun 2023 nor from Dec 2023 to Jun 2024: counted as ₹0 days, they made a festive
    # "lift" of 180 % out of the months it was idle. On the days it ran, the season earns about what the rest do.
    filters = Filters(reference_store)
    section = OverviewSection(store=reference_store, filters=filters)
    filters.channels = ["Email"]
    email = campaigns[campaigns["channel"] == "Email"].groupby("date")["revenue"].sum()
    festive = email.index.month.isin([10, 11])
    lift = email[festive].mean() / email[~festive].mean() - 1
    assert -0.05 < lift < 0
    (sentence,) = [text for text in section.insight_list() if "Festive" in text]
    assert (f"Festive-season days with campaigns (Oct–Nov) average {rupees(email[festive].mean())} of revenue, "
            f"{abs(lift) * 100:.2f}% below the other days with campaigns ({rupees(email[~festive].mean())})") in sentence
