"""Overview insight sentences: hand-made frames whose true statements are known."""
import numpy as np
import pandas as pd

from novamart_panel.analytics.insights import (
    anomaly_summary,
    channel_concentration,
    revenue_change,
    roas_extremes,
    seasonality,
    top_insights,
    top_revenue_channel,
    trend_comparison,
    window_days,
    year_ago,
)


def channels(rows):
    """rows: (channel, spend, revenue)."""
    return pd.DataFrame(rows, columns=["channel", "spend", "revenue"])


MIX = channels([("Email", 100.0, 6_00_000.0), ("Google Ads", 400.0, 3_00_000.0),
                ("Direct", 0.0, 1_00_000.0)])


def test_top_revenue_channel_names_the_leader_and_its_share():
    assert top_revenue_channel(MIX) == "**Email** brings the most revenue: ₹6 L, 60.0% of ₹10 L."
    swapped = MIX.assign(channel=["Google Ads", "Email", "Direct"])
    assert top_revenue_channel(swapped).startswith("**Google Ads** brings the most revenue")
    assert top_revenue_channel(MIX.head(1)) == "**Email** is the only channel selected: ₹6 L of revenue."
    assert top_revenue_channel(MIX.assign(revenue=0.0)) is None
    assert top_revenue_channel(MIX.iloc[:0]) is None


def test_roas_extremes_among_paid_channels_only():
    # ROAS: Email 6000×, Google Ads 750×; Direct has no spend and is left out
    assert roas_extremes(MIX) == ("Among paid channels **Email** returns the most per rupee spent "
                                  "(ROAS 6000.00×) and **Google Ads** the least (750.00×).")
    assert roas_extremes(MIX.iloc[[1, 2]]) == "**Google Ads** is the only paid channel selected: ROAS 750.00×."
    unpaid = channels([("Direct", 0.0, 5.0), ("Organic Search", 0.0, 3.0)])
    assert roas_extremes(unpaid) == ("No paid channel is selected (**Direct** and **Organic Search** spend "
                                     "nothing): ROAS and CPA are undefined, shown as n/a.")
    assert roas_extremes(MIX.iloc[:0]) is None


def test_channel_concentration_counts_the_top_two_and_the_unpaid():
    frame = pd.concat([MIX, channels([("Instagram", 50.0, 2_00_000.0)])], ignore_index=True)
    # total 12 L; top two Email 6 L + Google Ads 3 L = 75 %; Direct 1 L = 8.33 %
    assert channel_concentration(frame) == (
        "The top two channels, **Email** and **Google Ads**, bring 75.0% of revenue. "
        "Channels without spend (**Direct**) bring 8.33%.")
    assert channel_concentration(MIX.head(2)) is None


def test_revenue_change_names_the_channel_that_moved_it_most():
    previous = channels([("Email", 100.0, 4_00_000.0), ("Google Ads", 400.0, 4_00_000.0),
                         ("Direct", 0.0, 1_00_000.0)])
    # 9 L → 10 L (+11.1 %); Email +2 L, Google Ads −1 L: Email moved it, 200 % of the +1 L change
    assert revenue_change(MIX, previous, 30) == (
        "Revenue over the last 30 days rose 11.1% to ₹10 L against the previous 30 days (₹9 L). "
        "**Email** moved it most (+₹2 L, 200.0% of the change).")
    assert revenue_change(MIX, previous, 90, "the same days a year earlier").startswith(
        "Revenue over the last 90 days rose 11.1% to ₹10 L against the same days a year earlier (₹9 L).")
    falling = revenue_change(previous, MIX, 30)
    assert falling.startswith("Revenue over the last 30 days fell 10.0% to ₹9 L")
    assert "**Email** moved it most (−₹2 L" in falling
    assert revenue_change(MIX, None, 30) is None
    # a channel that only exists in one period still counts
    new_channel = channels([("Email", 100.0, 4_00_000.0), ("Referral", 10.0, 3_00_000.0)])
    only_email = MIX.iloc[[0]].assign(revenue=4e5)
    assert "**Referral** moved it most (+₹3 L" in revenue_change(new_channel, only_email, 7)
    assert revenue_change(MIX, MIX.assign(revenue=0.0), 7) == (
        "Revenue was ₹10 L in the last 7 days; the previous 7 days had none to compare with.")


def daily(start, end, value_of):
    dates = pd.date_range(start, end, freq="D")
    return pd.DataFrame({"date": dates, "revenue": [value_of(d) for d in dates]})


def test_seasonality_strongest_month_and_festive_lift():
    year = daily("2024-01-01", "2024-12-31",
                 lambda d: 2_00_000.0 if d.month in (10, 11) else (3_00_000.0 if d.month == 8 else 1_00_000.0))
    # Oct–Nov 2 L a day; the other 305 days: (31 · 3 L + 274 · 1 L) / 305
    other = (31 * 3e5 + 274 * 1e5) / 305
    text = seasonality(year)
    assert text.startswith("The strongest full month was **August 2024** (₹93 L).")
    assert f"{(2e5 / other - 1) * 100:.1f}% above the other days" in text
    assert seasonality(year[year["date"].dt.month >= 9]) == (
        "The strongest full month was **October 2024** (₹62 L). Festive-season days (Oct–Nov) average "
        "₹2 L of revenue, 100.0% above the other days (₹1 L).")
    no_festive = seasonality(year[year["date"].dt.month < 10])
    assert no_festive == "The strongest full month was **August 2024** (₹93 L)."
    assert seasonality(year.iloc[:10]) is None          # no full months, no Oct–Nov
    assert seasonality(year.assign(revenue=0.0)) is None
    lower = seasonality(year.assign(revenue=lambda f: np.where(f["date"].dt.month.isin([10, 11]), 5e4, 1e5)))
    assert "Festive-season days (Oct–Nov) average ₹50,000 of revenue, 50.0% below the other days" in lower


def test_seasonality_compares_days_with_campaigns():
    # A channel live only in Oct–Nov and March: every other day is ₹0 without rows. Over all days the season
    # looked far above the rest; on live days it earns the same (₹1 L against ₹1 L).
    year = daily("2024-01-01", "2024-12-31", lambda d: 1_00_000.0 if d.month in (3, 10, 11) else 0.0)
    year["live"] = year["revenue"] > 0
    text = seasonality(year)
    assert ("Festive-season days with campaigns (Oct–Nov) average ₹1 L of revenue, about the same as the other days "
            "with campaigns (₹1 L).") in text
    assert "days with campaigns" not in seasonality(year.assign(live=True))   # all live: plain "days"
    lifted = seasonality(year.drop(columns="live"))   # without the flag, every day counts (as before)
    assert "Festive-season days (Oct–Nov) average ₹1 L of revenue" in lifted and "above the other days" in lifted


def revenue_days(start, end, value_of) -> pd.DataFrame:
    return daily(start, end, value_of)


def test_trend_compares_the_last_days_with_the_same_days_a_year_earlier_and_whole_years():
    # 2023: 1 L a day; 2024: 1.1 L a day, 2 L in Oct–Dec. Last 90 days of 2024 (3 Oct – 31 Dec) = 90 × 2 L
    # = 1.8 Cr; the same days of 2023 = 90 × 1 L = 90 L (up 100 %). 2024 = 274 × 1.1 L + 92 × 2 L = 4.854 Cr
    # against 365 × 1 L = 3.65 Cr (up 32.99 %).
    history = pd.concat([revenue_days("2023-01-01", "2023-12-31", lambda d: 1e5),
                         revenue_days("2024-01-01", "2024-12-31", lambda d: 2e5 if d.month >= 10 else 1.1e5)])
    text = trend_comparison(history, pd.Timestamp("2023-01-01"), pd.Timestamp("2024-12-31"), 90)
    assert text == ("Revenue in the 90 days to 31 Dec 2024 was ₹1.8 Cr, up 100.0% on the same days a year earlier "
                    "(₹90 L). Calendar 2024 brought ₹4.85 Cr, up 33.0% on 2023 (₹3.65 Cr).")


def test_trend_never_reads_a_series_past_its_last_day():
    # The selection stops on 30 Jun 2024: its last 90 days (2 Apr – 30 Jun) against the same days of 2023.
    history = pd.concat([revenue_days("2023-01-01", "2023-12-31", lambda d: 1e5),
                         revenue_days("2024-01-01", "2024-06-30", lambda d: 1.5e5)])
    text = trend_comparison(history, pd.Timestamp("2023-01-01"), pd.Timestamp("2024-12-31"), 90)
    assert text.startswith("The selection has no campaign rows after 30 Jun 2024, so the comparison ends there. "
                           "Revenue in the 90 days to 30 Jun 2024 was ₹1.35 Cr, up 50.0% on the same days a year "
                           "earlier (₹90 L).")
    assert "down 100" not in text and "Calendar" not in text      # 2024 is not a whole year of data


def test_trend_says_when_fewer_campaigns_ran_hand_worked():
    # 2023: 4 campaigns a day earning 1 L together; 2024 (to 30 Jun): 1 campaign earning 1.5 L. The last 90 days
    # against the same days of 2023: 1.35 Cr vs 90 L (up 50 %); per campaign-day 1.5 L vs 25,000 (up 500 %).
    history = pd.concat([revenue_days("2023-01-01", "2023-12-31", lambda d: 1e5).assign(campaigns=4),
                         revenue_days("2024-01-01", "2024-06-30", lambda d: 1.5e5).assign(campaigns=1)])
    text = trend_comparison(history, pd.Timestamp("2023-01-01"), pd.Timestamp("2024-06-30"), 90)
    assert text == ("Revenue in the 90 days to 30 Jun 2024 was ₹1.35 Cr, up 50.0% on the same days a year earlier "
                    "(₹90 L). Campaigns live per day averaged 1.0 against 4.0; revenue per campaign-day was up "
                    "500.0%.")
    # a change of less than a quarter in the campaigns live is not worth a sentence
    steady = history.assign(campaigns=np.where(history["date"] < "2024-01-01", 8, 7))   # −12.5 %
    assert "Campaigns live" not in trend_comparison(steady, pd.Timestamp("2023-01-01"), pd.Timestamp("2024-06-30"))


def test_trend_without_a_year_of_history_compares_the_days_before_or_says_it_cannot():
    history = revenue_days("2024-01-01", "2024-06-30", lambda d: 2e5 if d.month >= 4 else 1e5)
    text = trend_comparison(history, pd.Timestamp("2024-01-01"), pd.Timestamp("2024-06-30"), 90)
    # 2 Apr – 30 Jun: 90 × 2 L; the 90 days before (3 Jan – 1 Apr): 89 × 1 L + 2 L
    assert text == ("Revenue in the 90 days to 30 Jun 2024 was ₹1.8 Cr, up 97.8% on the 90 days before (₹91 L); "
                    "there is no year of history for a like-for-like comparison.")
    short = trend_comparison(history, pd.Timestamp("2024-06-01"), pd.Timestamp("2024-06-30"), 90)
    assert short == ("Revenue in the 30 days to 30 Jun 2024 was ₹60 L, unchanged on the 30 days before (₹60 L); "
                     "there is no year of history for a like-for-like comparison.")
    assert trend_comparison(history.iloc[:10], pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-10"), 90) == (
        "Revenue in the 10 days to 10 Jan 2024 was ₹10 L; the data holds no earlier period of the same length to "
        "compare with.")
    assert trend_comparison(history.assign(revenue=0.0), pd.Timestamp("2024-01-01"), pd.Timestamp("2024-06-30")) is None


def test_year_ago_keeps_the_calendar_day():
    assert year_ago("2024-12-31") == pd.Timestamp("2023-12-31")
    assert year_ago("2024-02-29") == pd.Timestamp("2023-02-28")


def test_anomaly_summary():
    assert anomaly_summary(pd.DataFrame(columns=["date", "metric", "value", "expected", "robust_z"]), 90) == (
        "No unusual days in these 90 days: every daily metric stays near its trend and weekday pattern.")
    found = pd.DataFrame({"date": pd.to_datetime(["2024-03-01", "2024-03-01", "2024-05-02"]),
                          "metric": ["revenue", "roas", "spend"], "value": [9e5, 2.0, 1e4],
                          "expected": [3e5, 4.0, 5e4], "robust_z": [4.0, -3.8, -6.1]})
    assert anomaly_summary(found, 120) == ("3 unusual reading(s) on 2 of 120 days. The largest: Spend on "
                                           "02 May 2024, ₹10,000 against ₹50,000 expected (below by z = 6.1).")
    # With the rupees at stake the largest is the one with the most money, not the largest z.
    found["impact"] = [6e5, 2e5, 4e4]
    assert anomaly_summary(found, 120) == ("3 unusual reading(s) on 2 of 120 days. The largest by business impact: "
                                           "Revenue on 01 Mar 2024, ₹9 L against ₹3 L expected (above by z = 4.0, "
                                           "about ₹6 L at stake).")


def test_top_insights_keeps_only_supported_sentences():
    year = daily("2024-01-01", "2024-12-31", lambda d: 1e5 * (2 if d.month == 11 else 1))
    empty = pd.DataFrame(columns=["date", "metric", "value", "expected", "robust_z"])
    sentences = top_insights(MIX, 366, year, empty)
    assert len(sentences) == 4 and sentences[0].startswith("**Email**")
    change = revenue_change(MIX, MIX, 90)
    assert top_insights(MIX, 366, year, empty, change)[2] == change
    assert len(top_insights(MIX, 366, year, empty, change, limit=3)) == 3
    assert top_insights(MIX.iloc[:0], 366, year.assign(revenue=0.0), empty) == []


def test_window_days_is_inclusive():
    assert window_days(pd.Timestamp("2024-01-01").date(), pd.Timestamp("2024-01-31").date()) == 31
    assert window_days(None, None) == 0
