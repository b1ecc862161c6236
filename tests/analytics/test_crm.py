"""CRM campaign analytics on hand-made frames with the public "Marketing Campaign" file's quirks: blank incomes,
birth years 1893/1899/1900, marital statuses YOLO/Absurd/Alone, dd-mm-yyyy dates, constant Z_ columns; and the
pilot's documented economics (2,240 contacts at 3, 334 responses at 11)."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from novamart_panel.analytics import crm
from novamart_panel.data.contract import MARKETING_CAMPAIGN


def crm_frame(n: int = 40, seed: int = 0, **overrides) -> pd.DataFrame:
    """A CRM export in the contract's column order; `overrides` replace whole columns."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "ID": np.arange(1000, 1000 + n), "Year_Birth": rng.integers(1950, 2000, n),
        "Education": "Graduation", "Marital_Status": "Married", "Income": rng.integers(20_000, 90_000, n).astype(float),
        "Kidhome": rng.integers(0, 2, n), "Teenhome": rng.integers(0, 2, n),
        "Dt_Customer": [f"{1 + i % 28:02d}-{1 + i % 12:02d}-2013" for i in range(n)],
        "Recency": rng.integers(0, 100, n),
        **{column: rng.integers(0, 300, n) for column in crm.SPEND_COLUMNS},
        "NumDealsPurchases": rng.integers(0, 3, n), "NumWebPurchases": rng.integers(1, 8, n),
        "NumCatalogPurchases": rng.integers(0, 5, n), "NumStorePurchases": rng.integers(1, 9, n),
        "NumWebVisitsMonth": rng.integers(1, 9, n),
        **{f"AcceptedCmp{i}": 0 for i in (3, 4, 5, 1, 2)},
        "Complain": 0, "Z_CostContact": 3, "Z_Revenue": 11, "Response": 0,
    })
    for column, values in overrides.items():
        frame[column] = values
    return frame[MARKETING_CAMPAIGN.headers]


def quality(data: crm.CrmData, check: str) -> pd.Series:
    row = data.quality[data.quality["check"].str.startswith(check)]
    assert len(row) == 1, check
    return row.iloc[0]


def test_the_public_files_quirks_are_repaired_and_reported():
    n = 40
    birth = np.full(n, 1970)
    birth[:3] = [1893, 1899, 1900]
    birth[3:6] = [1960, 1980, 1990]
    income = np.linspace(20_000, 80_000, n)
    income[[7, 8]] = np.nan
    income[9] = 666_666
    marital = np.array(["Married"] * n, dtype=object)
    marital[[10, 11, 12]] = ["YOLO", "Absurd", "Alone"]
    marital[13] = "Widowed?"
    raw = crm_frame(n, Year_Birth=birth, Income=income, Marital_Status=marital)
    data = crm.clean_crm(raw)
    frame = data.frame
    # Dates: day-month-year, the last enrolment is the reference date.
    assert frame["Dt_Customer"].iloc[0] == pd.Timestamp("2013-01-01")
    assert frame["Dt_Customer"].iloc[13] == pd.Timestamp("2013-02-14")
    assert data.as_of == frame["Dt_Customer"].max()
    assert frame["TenureDays"].min() == 0
    # Impossible birth years → the median of the plausible ones.
    assert frame["Year_Birth"].iloc[:3].tolist() == [1970, 1970, 1970]
    assert (frame["Age"] <= crm.MAX_AGE).all()
    row = quality(data, "Year_Birth")
    assert row["status"] == "fixed" and "1893, 1899, 1900" in row["detail"]
    # Income: blanks → the median, then winsorised at 1 / 99 % (666,666 clipped).
    median = np.nanmedian(income)
    assert quality(data, "Income present")["detail"].startswith("2 missing income(s) set to the median")
    clipped_max = pd.Series(np.where(np.isnan(income), median, income)).quantile(0.99)
    assert frame["Income"].max() == pytest.approx(clipped_max)
    assert frame["Income"].isna().sum() == 0
    # Rare marital statuses folded into the documented group.
    assert frame["Marital_Status"].iloc[10:14].tolist() == ["Single", "Single", "Single", "Other"]
    detail = quality(data, "Marital_Status")["detail"]
    assert "YOLO (1) → Single" in detail and "Absurd (1) → Single" in detail and "Alone (1) → Single" in detail
    # The constant economics columns pass their QA assertion.
    assert quality(data, "Z_CostContact")["status"] == "pass"
    assert quality(data, "Z_Revenue")["status"] == "pass"
    assert quality(data, "ID is unique")["status"] == "pass"


def test_derived_columns():
    raw = crm_frame(3, **{"MntWines": [10, 0, 5], "MntFruits": [0, 0, 5], "MntMeatProducts": [20, 0, 0],
                          "MntFishProducts": [0, 0, 0], "MntSweetProducts": [0, 0, 0], "MntGoldProds": [10, 0, 0],
                          "NumWebPurchases": [2, 0, 1], "NumCatalogPurchases": [1, 0, 0], "NumStorePurchases": [1, 0, 1],
                          "NumDealsPurchases": [1, 0, 0], "Kidhome": [1, 0, 0], "Teenhome": [1, 0, 0]})
    frame = crm.clean_crm(raw).frame
    assert frame["TotalSpend"].tolist() == [40, 0, 10]
    assert frame["TotalPurchases"].tolist() == [4, 0, 2]
    assert frame["AOV"].iloc[0] == 10 and np.isnan(frame["AOV"].iloc[1])
    assert frame["WebShare"].tolist() == [0.5, 0.0, 0.5]
    assert frame["DealsShare"].tolist() == [0.25, 0.0, 0.0]
    assert frame["Children"].tolist() == [2, 0, 0]


def test_tab_separated_text_with_blanks_reads_and_cleans():
    """The export as it arrives: tab-separated, Income blank, dd-mm-yyyy text."""
    raw = crm_frame(30)
    raw["Income"] = raw["Income"].astype(object)
    raw.loc[4, "Income"] = ""
    text = raw.to_csv(sep="\t", index=False)
    parsed = pd.read_csv(io.StringIO(text), sep="\t", dtype={"Dt_Customer": str})
    data = crm.clean_crm(parsed)
    assert data.frame["Income"].notna().all()
    assert quality(data, "Dt_Customer")["status"] == "pass"


def test_unparsable_dates_are_reported_and_none_parsing_is_an_error():
    dates = [f"{1 + i % 28:02d}-03-2014" for i in range(30)]
    dates[0] = "2014/03/99"
    dates[1] = "2014-03-05"                     # ISO is accepted
    data = crm.clean_crm(crm_frame(30, Dt_Customer=dates))
    assert data.frame["Dt_Customer"].iloc[1] == pd.Timestamp("2014-03-05")
    row = quality(data, "Dt_Customer")
    assert row["status"] == "fail" and row["detail"].startswith("1 unparsable")
    with pytest.raises(ValueError, match="Dt_Customer"):
        crm.clean_crm(crm_frame(30, Dt_Customer=["soon"] * 30))


def test_the_pilots_documented_economics():
    """The iFood brief: 2,240 customers contacted at 3, 334 responded at 11: cost 6,720, revenue 3,674, profit −3,046."""
    response = np.zeros(2240, dtype=int)
    response[:334] = 1
    frame = crm.clean_crm(crm_frame(2240, Response=response)).frame
    economics = crm.pilot_economics(frame, *crm.default_economics(frame))
    assert crm.default_economics(frame) == (3.0, 11.0)
    assert economics["contacted"] == 2240 and economics["responders"] == 334
    assert (economics["cost"], economics["revenue"], economics["profit"]) == (6720.0, 3674.0, -3046.0)
    assert economics["response_rate"] == pytest.approx(334 / 2240)
    assert economics["break_even_rate"] == pytest.approx(3 / 11)
    assert economics["roi"] == pytest.approx(-3046 / 6720)


def test_segment_response_lift_roi_and_the_contact_policy_by_hand():
    # Segment A: 10 customers, 5 responders (50 %); B: 20, 2 (10 %); C: 10, 3 (30 %). Base 10 / 40 = 25 %.
    segment = ["A"] * 10 + ["B"] * 20 + ["C"] * 10
    response = [1] * 5 + [0] * 5 + [1] * 2 + [0] * 18 + [1] * 3 + [0] * 7
    frame = pd.DataFrame({"ID": range(40), "segment": segment, "Response": response, "Recency": 10,
                          "TotalSpend": 100.0, "Income": 50_000.0})
    table = crm.segment_response(frame, "segment", 3.0, 11.0, order=["C", "B", "A"]).set_index("segment")
    assert list(table.index) == ["C", "B", "A"]
    assert table.loc["A", "lift"] == pytest.approx(2.0)
    assert table.loc["A", "profit"] == 5 * 11 - 10 * 3 == 25
    assert table.loc["A", "roi"] == pytest.approx(25 / 30)
    # C beats the base rate (lift 1.2) and break-even (30 % > 27.3 %): ROI (33 − 30) / 30 = 10 %.
    assert table.loc["C", "lift"] == pytest.approx(1.2) and table.loc["C", "roi"] == pytest.approx(0.1)
    assert table["contact"].to_dict() == {"C": True, "B": False, "A": True}
    assert table["small_sample"].all()
    economics = crm.pilot_economics(frame, 3.0, 11.0)
    summary = crm.policy_summary(table.reset_index(), economics)
    assert summary["contacted"] == 20 and summary["responders"] == 8
    assert summary["profit"] == pytest.approx(25 + 3)
    assert summary["profit_everyone"] == pytest.approx(10 * 11 - 40 * 3)
    assert summary["gain"] == pytest.approx(28 - (-10))
    # A dearer contact: C falls below break-even and drops out of the policy.
    dearer = crm.segment_response(frame, "segment", 3.5, 11.0).set_index("segment")
    assert dearer["contact"].to_dict() == {"A": True, "B": False, "C": False}
    contacts = crm.contact_list(frame, table.reset_index(), "segment", 3.0, 11.0)
    assert len(contacts) == 20
    assert contacts["segment"].iloc[0] == "A"
    assert contacts["expected_profit_per_contact"].iloc[0] == pytest.approx(0.5 * 11 - 3)


def test_acceptance_by_segment():
    frame = pd.DataFrame({"segment": ["A", "A", "B"], "AcceptedCmp1": [1, 0, 0], "AcceptedCmp2": [0, 0, 1],
                          "AcceptedCmp3": 0, "AcceptedCmp4": 0, "AcceptedCmp5": [1, 1, 0], "Response": [0, 1, 1]})
    long = crm.acceptance_by_segment(frame, "segment", order=["B", "A"])
    rates = long.set_index(["segment", "campaign"])["rate"]
    assert rates[("A", "Campaign 1")] == 0.5 and rates[("A", "Campaign 5")] == 1.0
    assert rates[("B", "Pilot (Response)")] == 1.0
    assert long["segment"].iloc[0] == "B"
    assert set(long["campaign"]) == set(crm.CAMPAIGN_LABELS.values())


def test_rfm_histories_and_features_of_the_crm_customers():
    data = crm.clean_crm(crm_frame(60, seed=2))
    scores = crm.crm_rfm(data.frame)
    assert len(scores) == 60 and set(scores["label"]) <= set(crm.rfm.LABELS)
    best_recency = data.frame["Recency"].idxmin()
    assert scores["r_score"].iloc[best_recency] == 5
    histories = crm.crm_histories(data.frame)
    assert (histories["frequency"] == data.frame["TotalPurchases"] - 1).all()
    assert (histories["recency"] <= histories["T"]).all()
    features = crm.feature_frame(data.frame)
    assert list(features.columns) == list(crm.FEATURES)
    assert features.notna().all().all()
