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
    trend_momentum,
    window_days,
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
        "Revenue rose 11.1% to ₹10 L against the previous 30 days (₹9 L). "
        "**Email** moved it most (+₹2 L, 200.0% of the change).")
    falling = revenue_change(previous, MIX, 30)
    assert falling.startswith("Revenue fell 10.0% to ₹9 L")
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


def test_trend_momentum_compares_first_and_last_thirty_day_average():
    trend = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=4), "ma30": [np.nan, 2e5, 2.5e5, 3e5]})
    assert trend_momentum(trend) == ("The 30-day average of daily revenue went from ₹2 L on 02 Jan 2024 "
                                     "to ₹3 L on 04 Jan 2024 (up 50.0%).")
    assert trend_momentum(trend.head(2)) is None
    from_zero = trend.assign(ma30=[np.nan, 0.0, 1e5, 2e5])
    assert trend_momentum(from_zero) == ("The 30-day average of daily revenue went from ₹0 on 02 Jan 2024 "
                                         "to ₹2 L on 04 Jan 2024.")
    assert trend_momentum(trend.assign(ma30=0.0)) is None


def test_anomaly_summary():
    assert anomaly_summary(pd.DataFrame(columns=["date", "metric", "value", "expected", "robust_z"]), 90) == (
        "No unusual days in these 90 days: every daily metric stays near its trend and weekday pattern.")
    found = pd.DataFrame({"date": pd.to_datetime(["2024-03-01", "2024-03-01", "2024-05-02"]),
                          "metric": ["revenue", "roas", "spend"], "value": [9e5, 2.0, 1e4],
                          "expected": [3e5, 4.0, 5e4], "robust_z": [4.0, -3.8, -6.1]})
    assert anomaly_summary(found, 120) == ("3 unusual reading(s) on 2 of 120 days. The largest: Spend on "
                                           "02 May 2024, ₹10,000 against ₹50,000 expected (below by z = 6.1).")


def test_top_insights_keeps_only_supported_sentences():
    year = daily("2024-01-01", "2024-12-31", lambda d: 1e5 * (2 if d.month == 11 else 1))
    empty = pd.DataFrame(columns=["date", "metric", "value", "expected", "robust_z"])
    sentences = top_insights(MIX, None, 366, year, empty)
    assert len(sentences) == 4 and sentences[0].startswith("**Email**")
    assert len(top_insights(MIX, MIX, 366, year, empty, limit=3)) == 3
    assert top_insights(MIX.iloc[:0], None, 366, year.assign(revenue=0.0), empty) == []


def test_window_days_is_inclusive():
    assert window_days(pd.Timestamp("2024-01-01").date(), pd.Timestamp("2024-01-31").date()) == 31
    assert window_days(None, None) == 0
