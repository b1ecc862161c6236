"""Campaign insight sentences: hand-worked frames with known answers."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from novamart_panel.analytics import campaign_insights as ci


def sums(rows, key="channel"):
    """A frame of summed columns from (key, spend, impressions, clicks, conversions, revenue) tuples."""
    return pd.DataFrame(rows, columns=[key, "spend", "impressions", "clicks", "conversions", "revenue"])


THREE_CHANNELS = sums([
    ("A", 100.0, 1000, 100, 10, 600.0),
    ("B", 300.0, 2000, 100, 25, 300.0),
    ("C", 0.0, 1000, 50, 5, 100.0),
])


def test_add_ratios_make_costs_and_roas_undefined_without_spend():
    out = ci.add_ratios(THREE_CHANNELS).set_index("channel")
    assert out.loc["A", "roas"] == 6.0 and out.loc["A", "cpa"] == 10.0 and out.loc["A", "cpm"] == 100.0
    assert np.isnan(out.loc["C", ["roas", "cpa", "cpc", "cpm"]].astype(float)).all()
    assert out.loc["C", "ctr"] == 0.05 and out.loc["C", "cvr"] == 0.1  # rates need no spend


def test_channel_ranking_by_revenue_and_conversions():
    assert ci.channel_ranking(THREE_CHANNELS, "revenue") == (
        "**A** leads revenue with ₹600 (60.0% of ₹1,000); **C** is lowest at ₹100.")
    assert ci.channel_ranking(THREE_CHANNELS, "conversions") == (
        "**B** leads conversions with 25 (62.5% of 40); **C** is lowest at 5.")


def test_channel_ranking_by_roas_uses_totals_and_names_unpriced_channels():
    text = ci.channel_ranking(THREE_CHANNELS, "roas")
    # 1,000 revenue / 400 spend, not the mean of 6×, 1× (3.5×)
    assert text == ("**A** returns the most per rupee spent (6.00×) and **B** the least (1.00×); the portfolio "
                    "ROAS (total revenue ÷ total spend) is 2.50×. C has no spend, so its ROAS is n/a.")


def test_channel_ranking_without_rows_or_spend():
    assert ci.channel_ranking(THREE_CHANNELS.iloc[0:0], "revenue") == ci.NO_DATA
    assert "n/a" in ci.channel_ranking(THREE_CHANNELS[THREE_CHANNELS.channel == "C"], "roas")


def test_region_quarter_summary():
    frame = pd.DataFrame({"quarter": ["Q1", "Q1", "Q2", "Q2"], "region": ["N", "S", "N", "S"],
                          "revenue": [100.0, 300.0, 50.0, 50.0]})
    assert ci.region_quarter_summary(frame, 2024) == (
        "In 2024, **S** earned the most revenue (₹350, 70.0% of the year's ₹500); **Q1** was the strongest "
        "quarter (₹400) and Q2 the weakest (₹100).")
    assert ci.region_quarter_summary(frame.iloc[0:0], 2023) == "No revenue in 2023 under the current filters."


def test_region_quarter_summary_names_quarters_without_any_rows():
    # Email in 2024: rows in Q3 and Q4 only. Q4 is not "the weakest" of four quarters; Q1 and Q2 had nothing.
    frame = pd.DataFrame({"quarter": ["Q3", "Q3", "Q4"], "region": ["S", "W", "S"], "revenue": [200.0, 400.0, 260.0]})
    text = ci.region_quarter_summary(frame, 2024, ("Q1", "Q2", "Q3", "Q4"))
    assert "and Q4 the weakest quarter with campaign rows (₹260)." in text
    assert text.endswith(" **No campaign rows at all** in Q1 and Q2 2024 under the current filters: those quarters "
                         "are left off the chart.")
    march = ci.region_quarter_summary(frame[frame["quarter"] == "Q3"], 2024, ("Q3",), whole_year=False)
    assert march == "In 2024, **W** earned the most revenue (₹400, 66.7% of the ₹600 of 2024's selected dates)."


def test_region_quarter_summary_says_which_bars_are_missing():
    frame = pd.DataFrame({"quarter": ["Q1", "Q1", "Q1", "Q2", "Q2", "Q3"], "region": ["N", "S", "W", "N", "W", "N"],
                          "revenue": [100.0, 300.0, 10.0, 50.0, 0.0, 20.0]})
    # S has no rows in Q2 and Q3, W none in Q3; W's zero revenue in Q2 is data, not a gap.
    assert ci.missing_region_quarters(frame) == {"S": ["Q2", "Q3"], "W": ["Q3"]}
    assert ci.region_quarter_summary(frame, 2024).endswith(
        " **No data** for **S** in Q2 and Q3 2024; **W** in Q3 2024: those bars are missing, not zero (no campaign "
        "rows there under the current filters).")
    full = frame[frame["region"] == "N"]
    assert ci.missing_region_quarters(full) == {} and ci.missing_quarters_sentence(full, 2024) == ""


def test_spend_mix_summary_names_largest_type_peak_month_and_widest_swing():
    months = pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01", "2024-02-01"])
    frame = pd.DataFrame({"month": months, "campaign_type": ["X", "Y", "X", "Y"],
                          "spend": [90.0, 10.0, 50.0, 150.0]})
    # X 140 / 300, Y 160 / 300; Feb peaks at 200; both shares swing 0.65, the first (X) wins the tie.
    assert ci.spend_mix_summary(frame) == (
        "**Y** takes the largest share of spend (53.3% of ₹300); monthly spend peaked in **Feb 2024** (₹200). "
        "**X**'s share varies most, reaching 90.0% in Jan 2024.")


def test_complete_periods_flags_weeks_cut_by_the_range():
    trend = pd.DataFrame({"period": pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-15"])})
    flags = ci.complete_periods(trend, "weekly", dt.date(2024, 1, 3), dt.date(2024, 1, 21))
    assert flags.tolist() == [False, True, True]
    months = pd.DataFrame({"period": pd.to_datetime(["2024-02-01"])})
    assert ci.complete_periods(months, "monthly", None, dt.date(2024, 2, 29)).tolist() == [True]
    assert ci.complete_periods(months, "monthly", None, dt.date(2024, 2, 28)).tolist() == [False]


@pytest.mark.parametrize("grain, periods, every", [
    ("weekly", ["2024-01-01", "2024-01-22"], ["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22"]),
    ("monthly", ["2023-11-01", "2024-02-01"], ["2023-11-01", "2023-12-01", "2024-01-01", "2024-02-01"]),
    ("quarterly", ["2023-10-01", "2024-04-01"], ["2023-10-01", "2024-01-01", "2024-04-01"]),
    ("daily", ["2024-02-28", "2024-03-01"], ["2024-02-28", "2024-02-29", "2024-03-01"]),
])
def test_with_empty_periods_puts_zeros_in_the_gaps(grain, periods, every):
    # A channel without campaigns for a while: its line drops to 0 there instead of bridging the gap.
    trend = pd.DataFrame({"period": [dt.date.fromisoformat(p) for p in periods], "revenue": [5.0, 7.0],
                          "spend": [1.0, 2.0]})
    filled = ci.with_empty_periods(trend, grain)
    assert filled["period"].tolist() == list(pd.to_datetime(every))
    assert filled["revenue"].tolist() == [5.0, *[0.0] * (len(every) - 2), 7.0]
    assert filled["spend"].tolist() == [1.0, *[0.0] * (len(every) - 2), 2.0]


def test_with_empty_periods_split_by_a_column_gets_a_zero_row_per_value():
    trend = pd.DataFrame({"period": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-03-01"]),
                          "campaign_type": ["Brand", "Retargeting", "Brand"], "spend": [3.0, 4.0, 5.0],
                          "clicks": [1, 2, 3]})
    filled = ci.with_empty_periods(trend, "monthly", by="campaign_type")
    assert filled[["period", "campaign_type"]].astype(str).values.tolist() == [
        ["2024-01-01", "Brand"], ["2024-01-01", "Retargeting"], ["2024-02-01", "Brand"],
        ["2024-02-01", "Retargeting"], ["2024-03-01", "Brand"]]   # March keeps its own rows: no gap there
    assert filled["spend"].tolist() == [3.0, 4.0, 0.0, 0.0, 5.0]
    assert filled["clicks"].tolist() == [1, 2, 0, 0, 3] and filled["clicks"].dtype == trend["clicks"].dtype


def test_with_empty_periods_leaves_a_full_or_empty_trend_as_it_is():
    full = pd.DataFrame({"period": pd.to_datetime(["2024-01-01", "2024-01-08"]), "revenue": [1.0, 2.0]})
    pd.testing.assert_frame_equal(ci.with_empty_periods(full, "weekly"), full)
    empty = pd.DataFrame(columns=["period", "revenue"])
    assert ci.with_empty_periods(empty, "weekly").empty


def test_revenue_trend_summary_leaves_out_partial_periods():
    trend = pd.DataFrame({"period": pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22"]),
                          "revenue": [10.0, 400.0, 200.0, 300.0]})
    text = ci.revenue_trend_summary(trend, "weekly", dt.date(2024, 1, 5), dt.date(2024, 1, 28))
    # The first week (from 5 Jan) is partial, so its ₹10 is not the trough; halves of [400, 200, 300]: 400 vs 300.
    assert text == ("Weekly revenue peaked in **the week of 8 Jan 2024** (₹400) and was lowest in the week of "
                    "15 Jan 2024 (₹200). The later half of the range averages 25.0% lower per period than the "
                    "earlier half.")
    assert "the week of 1 Jan 2024 (₹10)" in ci.revenue_trend_summary(trend, "weekly")


def test_cumulative_conversions_summary():
    daily = pd.DataFrame({"date": pd.to_datetime(["2024-03-01", "2024-03-01", "2024-03-02", "2024-03-02"]),
                          "channel": ["A", "B", "A", "B"], "conversions": [5, 1, 10, 4]})
    assert ci.cumulative_conversions_summary(daily) == (
        "By Sat 2 Mar 2024, the selection had accumulated 20 conversions; **A** contributed the most (75.0%) "
        "and B the least (25.0%).")


def _days(values_by_date: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """Daily frame from {date: (spend, revenue)}."""
    dates = pd.to_datetime(list(values_by_date))
    spend, revenue = zip(*values_by_date.values(), strict=True)
    return pd.DataFrame({"date": dates, "spend": spend, "revenue": revenue, "impressions": 0, "clicks": 0,
                         "conversions": 0})


def test_weekday_profile_roas_is_a_ratio_of_sums():
    # Two Mondays: ROAS 10× on ₹1 and 1× on ₹99 → 109 / 100 = 1.09×, not the mean 5.5×.
    days = _days({"2024-01-01": (1.0, 10.0), "2024-01-08": (99.0, 99.0), "2024-01-02": (10.0, 20.0)})
    profile = ci.weekday_profile(days, "roas")
    assert profile["Monday"] == pytest.approx(1.09)
    assert profile["Tuesday"] == pytest.approx(2.0)
    assert ci.weekday_profile(days, "revenue")["Monday"] == pytest.approx(54.5)


def test_weekday_profile_averages_the_days_with_campaigns():
    # Mondays ₹10 and (no rows) ₹0, a Tuesday ₹20: per day with campaigns Monday is ₹10, not ₹5.
    days = _days({"2024-01-01": (1.0, 10.0), "2024-01-08": (0.0, 0.0), "2024-01-02": (1.0, 20.0)})
    days["live"] = [True, False, True]
    assert ci.weekday_profile(days, "revenue")["Monday"] == pytest.approx(10.0)
    assert ci.weekday_profile(days.drop(columns="live"), "revenue")["Monday"] == pytest.approx(5.0)
    assert "₹20 per day with campaigns on average" in ci.calendar_summary(days, "revenue", 2024)
    assert "per day on average" in ci.calendar_summary(days.assign(live=True), "revenue", 2024)


def test_calendar_summary_best_day_and_weekdays():
    days = _days({"2024-01-01": (1.0, 10.0), "2024-01-08": (1.0, 30.0), "2024-01-02": (1.0, 5.0)})
    assert ci.calendar_summary(days, "revenue", 2024) == (
        "In 2024, the strongest day for revenue was **Mon 8 Jan 2024** (₹30). **Monday** is the best weekday "
        "(₹20 per day on average) and Tuesday the weakest (₹5).")
    assert ci.calendar_summary(days.assign(revenue=0.0), "revenue", 2023) == (
        "No revenue in 2023 under the current filters.")


def test_channel_efficiency_summary_ignores_unpaid_channels_for_cost():
    # CTR A 10%, B 5%, C 20% (unpaid); CVR A 10%, B 20%, C 5%; CPA A ₹100/10, B ₹300/20, C n/a.
    frame = sums([("A", 100.0, 1000, 100, 10, 1.0), ("B", 300.0, 2000, 100, 20, 1.0), ("C", 0.0, 500, 100, 5, 1.0)])
    assert ci.channel_efficiency_summary(frame) == (
        "**C** has the best click-through rate (20.0%) and **B** the best conversion rate (20.0%). "
        "A conversion costs least on A (₹10) and most on B (₹15).")


def test_channel_efficiency_summary_one_channel_best_at_both_rates():
    # A: CTR 200/1000, CVR 60/200, CPA ₹100/60.
    frame = sums([("A", 100.0, 1000, 200, 60, 1.0), ("B", 300.0, 2000, 100, 20, 1.0), ("C", 0.0, 1000, 100, 5, 1.0)])
    assert ci.channel_efficiency_summary(frame) == (
        "**A** has the best click-through and conversion rates together (CTR 20.0%, CVR 30.0%). "
        "A conversion costs least on A (₹1.67) and most on B (₹15).")
    even = sums([("A", 100.0, 1000, 100, 10, 1.0), ("B", 300.0, 1000, 100, 30, 1.0)])
    assert ci.channel_efficiency_summary(even).endswith("A conversion costs the same on every paid channel (₹10).")


def test_cpa_roas_summary_best_corner():
    assert ci.cpa_roas_summary(THREE_CHANNELS) == (
        "**A** sits in the best corner: the lowest CPA (₹10) and the highest ROAS (6.00×). B is least efficient "
        "(ROAS 1.00×, CPA ₹12). C has no spend, so its ROAS is n/a.")
    split = sums([("A", 100.0, 1, 1, 20, 200.0), ("B", 100.0, 1, 1, 5, 900.0)])
    assert ci.cpa_roas_summary(split).startswith(
        "**A** has the lowest CPA (₹5) while **B** has the highest ROAS (9.00×).")


def test_roas_trend_summary_counts_months_below_break_even():
    months = pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"] * 2)
    monthly = pd.DataFrame({"month": months, "channel": ["A"] * 3 + ["B"] * 3,
                            "spend": [10.0, 10.0, 10.0, 10.0, 10.0, 0.0],
                            "revenue": [5.0, 8.0, 30.0, 50.0, 50.0, 40.0],
                            "impressions": 1, "clicks": 1, "conversions": 1})
    assert ci.roas_trend_summary(monthly) == (
        "**A** fell below break-even (ROAS < 1) in 2 of 3 months. In Mar 2024, **A** had the highest ROAS (3.00×).")
    above = monthly.assign(revenue=monthly["revenue"] + 20)
    assert ci.roas_trend_summary(above).startswith(
        "Every channel with spend stayed above break-even (ROAS ≥ 1) in all 3 months; the lowest monthly ROAS "
        "was 2.50× (A).")
    one_month = above[above["month"] == "2024-01-01"]   # a one-month selection: not "in all 1 months"
    assert ci.roas_trend_summary(one_month).startswith(
        "Every channel with spend stayed above break-even (ROAS ≥ 1) in the one month; the lowest")
    assert "in 1 of 1 month." in ci.roas_trend_summary(monthly[monthly["month"] == "2024-01-01"])


def test_campaign_roas_and_leaderboard_against_the_median():
    campaigns = sums([("Alpha", 10.0, 0, 0, 0, 50.0), ("Beta", 10.0, 0, 0, 0, 20.0),
                      ("Gamma", 10.0, 0, 0, 0, 30.0), ("Delta", 0.0, 0, 0, 0, 5.0)], key="campaign_name")
    ranked, median = ci.campaign_roas(campaigns)
    assert ranked["campaign_name"].tolist() == ["Alpha", "Gamma", "Beta"]
    assert median == np.median([5.0, 2.0, 3.0])
    assert ci.leaderboard_summary(campaigns) == (
        "The median campaign ROAS is 3.00×; 1 of 3 campaigns with spend beat it. Best: **Alpha** (5.00×); "
        "worst: **Beta** (2.00×). Delta has no spend, so its ROAS is n/a.")


def test_month_channels_summary():
    frame = sums([("A", 100.0, 0, 0, 0, 500.0), ("B", 50.0, 0, 0, 0, 900.0)])
    assert ci.month_channels_summary(frame, dt.date(2024, 11, 1)) == (
        "In **Nov 2024**, **B** earned the most (₹900, ROAS 18.00×); all channels together spent ₹150 and "
        "earned ₹1,400.")
    assert ci.month_channels_summary(frame.iloc[0:0], dt.date(2024, 11, 1)) == (
        "No campaign revenue in Nov 2024 under the current filters.")


def test_label_offsets_move_overlapping_labels_apart():
    # Three points close together (the reference's Google Ads, Facebook, Instagram) and one far away.
    x, y = [128.8, 140.2, 145.0, 16.4], [19.1, 17.8, 17.5, 153.2]
    texts = ["Google Ads", "Facebook", "Instagram", "Email"]
    offsets = ci.label_offsets(x, y, texts, width_px=600, height_px=300, line_px=14)
    assert offsets[3] == 0                                    # alone: stays level with its point
    px = (np.array(x) - 16.4) / (145.0 - 16.4) * 600
    py = (np.array(y) - 17.5) / (153.2 - 17.5) * 300 + offsets
    for i in range(3):
        for j in range(i + 1, 3):
            assert abs(py[i] - py[j]) >= 14 - 1e-9, (texts[i], texts[j])
    assert offsets[0] == 0 and (offsets[1:3] < 0).all()       # the highest keeps its place, the others go down
    assert ci.label_offsets([1.0], [1.0], ["A"]).tolist() == [0.0]
    # Far apart horizontally: no move even at the same height.
    assert ci.label_offsets([0, 100], [5, 5], ["A", "B"], width_px=600).tolist() == [0.0, 0.0]


def test_label_shifts_start_labels_right_of_the_bubbles_they_would_cross():
    # A at 0 px and B at 10 px, same height: B's 20-px bubble (0–20 px) lies under A's text, which would start at
    # 8 px, so A's label starts right of it (10 + 10 + 3); B's own label starts just right of its rim (13).
    # Both labels then start at 23 px: they move apart vertically. C is alone at the top.
    dx, dy = ci.label_shifts([0, 1, 1], [0, 0, 100], ["A", "B", "C"], [10, 20, 10], width_px=10, height_px=100)
    assert dx.tolist() == [23, 13, 8] and dy[2] == 0
    assert abs(dy[0] - dy[1]) >= 14
    # A bubble far to the right on the same row does not pull a label across the chart.
    dx, _ = ci.label_shifts([0, 100], [0, 0], ["A", "B"], [10, 40], width_px=600, height_px=100)
    assert dx[0] == 8
