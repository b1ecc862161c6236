"""CRM campaign analytics on the public "Marketing Campaign" (iFood) layout (SPEC §4.9).

ETL, with every repair counted in a data-quality table:
- `Dt_Customer` is day-month-year text ("04-09-2012"); ISO dates are accepted too; anything else is unparsable.
- `Year_Birth` giving an age above `MAX_AGE` (1893, 1899, 1900 in the public file) or below `MIN_AGE` at the data's
  last enrolment date is impossible: replaced by the median birth year.
- A missing `Income` is replaced by the median income; `Income` is then winsorised at its 1st and 99th
  percentiles (the public file has one income of 666,666).
- Rare marital statuses are folded into a documented group (`MARITAL_FOLD`: "Alone", "YOLO" and "Absurd" count as
  "Single"); any status outside the known ones becomes "Other".
Derived: total spend (the six Mnt columns), purchases (web + catalogue + store; deals are a payment mode of these),
average order value, tenure in days, age, children, and each purchase channel's share.

Campaign economics use the file's `Z_CostContact` (cost per contact) and `Z_Revenue` (revenue per response), or
values a user sets. `Response` is the response to the last (pilot) campaign: without a control group that was not
contacted it is not uplift, and a segment's response rate is what it did, not what contacting it would cause.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import clv, rfm

SPEND_COLUMNS = ("MntWines", "MntFruits", "MntMeatProducts", "MntFishProducts", "MntSweetProducts", "MntGoldProds")
PURCHASE_COLUMNS = {"Web": "NumWebPurchases", "Catalogue": "NumCatalogPurchases", "Store": "NumStorePurchases"}
CAMPAIGN_COLUMNS = ("AcceptedCmp1", "AcceptedCmp2", "AcceptedCmp3", "AcceptedCmp4", "AcceptedCmp5", "Response")
CAMPAIGN_LABELS = {**{f"AcceptedCmp{i}": f"Campaign {i}" for i in range(1, 6)}, "Response": "Pilot (Response)"}
KNOWN_MARITAL = ("Married", "Together", "Single", "Divorced", "Widow")
MARITAL_FOLD = {"Alone": "Single", "YOLO": "Single", "Absurd": "Single"}
MIN_AGE, MAX_AGE = 16, 100
WINSOR_LIMITS = (0.01, 0.99)
MIN_SEGMENT = 30      # segments smaller than this get a "small sample" warning
# Clustering features, in priority order (a later one correlated with an earlier one is dropped).
FEATURES = ("TotalSpend", "Income", "TotalPurchases", "AOV", "Recency", "NumWebVisitsMonth", "Children", "Age",
            "TenureDays", "DealsShare", "WebShare", "CatalogueShare", "StoreShare")
LOG_FEATURES = ("TotalSpend", "Income", "TotalPurchases", "AOV", "NumWebVisitsMonth")
NOT_UPLIFT = ("Response is what the pilot's contacted customers did, not uplift: without a control group that was "
              "not contacted, nobody can say how many would have bought anyway.")


@dataclass(frozen=True)
class CrmData:
    """The cleaned export, the data-quality checks (check, status, detail) and the reference date."""

    frame: pd.DataFrame
    quality: pd.DataFrame
    as_of: pd.Timestamp


def winsorise(values: pd.Series, limits=WINSOR_LIMITS) -> tuple[pd.Series, int]:
    """Values clipped to their `limits` quantiles, and how many were clipped."""
    low, high = values.quantile(list(limits))
    clipped = values.clip(lower=low, upper=high)
    return clipped, int(((values < low) | (values > high)).sum())


def parse_enrolment_dates(text: pd.Series) -> pd.Series:
    """Day-month-year text ("21-04-2013"), or ISO ("2013-04-21"); anything else NaT."""
    values = text.astype("string").str.strip()
    parsed = pd.to_datetime(values, format="%d-%m-%Y", errors="coerce")
    iso = pd.to_datetime(values.where(parsed.isna()), format="%Y-%m-%d", errors="coerce")
    return parsed.fillna(iso)


def clean_crm(raw: pd.DataFrame) -> CrmData:
    """The ETL the module docstring describes; raises ValueError only when no enrolment date parses."""
    frame = raw.copy().reset_index(drop=True)
    checks: list[dict] = []

    def check(name: str, ok: bool, detail: str, fixed: bool = False) -> None:
        checks.append({"check": name, "status": "fixed" if fixed else ("pass" if ok else "fail"), "detail": detail})

    dates = parse_enrolment_dates(frame["Dt_Customer"])
    bad_dates = int(dates.isna().sum())
    if bad_dates == len(frame):
        raise ValueError("marketing_campaign.csv: no Dt_Customer value is a day-month-year date (e.g. 21-04-2013)")
    frame["Dt_Customer"] = dates
    as_of = dates.max()
    check("Dt_Customer parses as dd-mm-yyyy", bad_dates == 0,
          f"{bad_dates:,} unparsable enrolment date(s): tenure imputed with the median" if bad_dates else
          f"all {len(frame):,} dates parsed; last enrolment {as_of:%d %b %Y}")
    frame["TenureDays"] = (as_of - frame["Dt_Customer"]).dt.days.astype(float)
    frame["TenureDays"] = frame["TenureDays"].fillna(frame["TenureDays"].median())

    birth = pd.to_numeric(frame["Year_Birth"], errors="coerce").astype(float)
    age = as_of.year - birth
    impossible = (age > MAX_AGE) | (age < MIN_AGE) | birth.isna()
    median_birth = float(birth[~impossible].median())
    years = ", ".join(str(int(y)) for y in sorted(birth[impossible].dropna().unique()))
    frame["Year_Birth"] = birth.where(~impossible, median_birth).round().astype(np.int64)
    frame["Age"] = (as_of.year - frame["Year_Birth"]).astype(float)
    check(f"Year_Birth gives an age of {MIN_AGE}–{MAX_AGE}", not impossible.any(),
          f"{int(impossible.sum()):,} impossible birth year(s) ({years or 'missing'}) replaced by the median "
          f"{int(round(median_birth))}" if impossible.any() else "every birth year is plausible",
          fixed=bool(impossible.any()))

    income = pd.to_numeric(frame["Income"], errors="coerce").astype(float)
    missing_income = int(income.isna().sum())
    median_income = float(income.median())
    income = income.fillna(median_income)
    frame["Income"], clipped = winsorise(income)
    check("Income present", missing_income == 0,
          f"{missing_income:,} missing income(s) set to the median {median_income:,.0f}" if missing_income
          else "no income is missing", fixed=missing_income > 0)
    check("Income winsorised at 1 % / 99 %", True, f"{clipped:,} income(s) clipped to the 1st/99th percentile "
          f"({frame['Income'].min():,.0f}–{frame['Income'].max():,.0f})", fixed=clipped > 0)

    status = frame["Marital_Status"].astype("string").str.strip()
    folded = status.map(lambda s: MARITAL_FOLD.get(s, s if s in KNOWN_MARITAL else "Other") if pd.notna(s) else "Other")
    changed = status[status != folded].value_counts()
    frame["Marital_Status"] = folded.astype(object)
    check("Marital_Status in the known groups", changed.empty,
          ("folded: " + ", ".join(f"{value} ({n}) → {MARITAL_FOLD.get(value, 'Other')}" for value, n in changed.items()))
          if not changed.empty else "no rare status", fixed=not changed.empty)

    for column in (*SPEND_COLUMNS, *PURCHASE_COLUMNS.values(), "NumDealsPurchases", "NumWebVisitsMonth", "Recency",
                   "Kidhome", "Teenhome", *CAMPAIGN_COLUMNS, "Z_CostContact", "Z_Revenue", "Complain"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").fillna(0).astype(float)
    frame["TotalSpend"] = frame[list(SPEND_COLUMNS)].sum(axis=1)
    frame["TotalPurchases"] = frame[list(PURCHASE_COLUMNS.values())].sum(axis=1)
    frame["AOV"] = frame["TotalSpend"] / frame["TotalPurchases"].where(frame["TotalPurchases"] > 0)
    frame["Children"] = frame["Kidhome"] + frame["Teenhome"]
    purchases = frame["TotalPurchases"].where(frame["TotalPurchases"] > 0)
    for name, column in PURCHASE_COLUMNS.items():
        frame[f"{name}Share"] = (frame[column] / purchases).fillna(0.0)
    frame["DealsShare"] = (frame["NumDealsPurchases"] / purchases).clip(upper=1).fillna(0.0)
    frame["AcceptedAny"] = frame[list(CAMPAIGN_COLUMNS[:5])].sum(axis=1)

    check("ID is unique", not frame["ID"].duplicated().any(), f"{int(frame['ID'].duplicated().sum()):,} duplicate ID(s)")
    binary = [c for c in (*CAMPAIGN_COLUMNS, "Complain") if not frame[c].isin([0, 1]).all()]
    check("Campaign acceptance and Response are 0/1", not binary, f"not 0/1: {', '.join(binary)}" if binary else
          "all 0/1")
    for column in ("Z_CostContact", "Z_Revenue"):
        values = frame[column].unique()
        check(f"{column} is constant", len(values) == 1,
              f"one value: {values[0]:g}" if len(values) == 1 else f"{len(values)} values; the median is used")
    negative = int((frame[list(SPEND_COLUMNS)] < 0).any(axis=1).sum())
    check("Spend is not negative", negative == 0, f"{negative:,} row(s) with negative spend" if negative else "none")
    no_purchase = int((frame["TotalPurchases"] == 0).sum())
    check("Every customer has a purchase", no_purchase == 0,
          f"{no_purchase:,} customer(s) with spend but no counted purchase: no order value" if no_purchase else "yes")
    return CrmData(frame, pd.DataFrame(checks, columns=["check", "status", "detail"]), as_of)


def default_economics(frame: pd.DataFrame) -> tuple[float, float]:
    """Cost per contact and revenue per response from the file (their medians: the columns should be constant)."""
    return float(frame["Z_CostContact"].median()), float(frame["Z_Revenue"].median())


def pilot_economics(frame: pd.DataFrame, cost_per_contact: float, revenue_per_response: float) -> dict[str, float]:
    """The pilot as run (everybody contacted): cost, revenue, profit, response rate, ROI and break-even rate."""
    contacted = len(frame)
    responders = float(frame["Response"].sum())
    cost = contacted * cost_per_contact
    revenue = responders * revenue_per_response
    return {"contacted": contacted, "responders": responders,
            "response_rate": responders / contacted if contacted else np.nan,
            "cost": cost, "revenue": revenue, "profit": revenue - cost,
            "roi": (revenue - cost) / cost if cost else np.nan,
            "break_even_rate": cost_per_contact / revenue_per_response if revenue_per_response else np.nan}


def segment_response(frame: pd.DataFrame, segment: str, cost_per_contact: float, revenue_per_response: float,
                     order=None) -> pd.DataFrame:
    """Per segment: customers, responders, response rate, lift over the base rate, the cost, revenue, profit and ROI
    of contacting it, and the policy decision (contact where ROI > 0 and lift > 1)."""
    base = frame["Response"].mean() if len(frame) else np.nan
    grouped = frame.groupby(segment, sort=False)["Response"]
    table = pd.DataFrame({"customers": grouped.size(), "responders": grouped.sum()})
    if order is not None:
        table = table.reindex([s for s in order if s in table.index])
    table["response_rate"] = table["responders"] / table["customers"]
    table["lift"] = table["response_rate"] / base if base else np.nan
    table["cost"] = table["customers"] * cost_per_contact
    table["revenue"] = table["responders"] * revenue_per_response
    table["profit"] = table["revenue"] - table["cost"]
    table["roi"] = table["profit"] / table["cost"].where(table["cost"] > 0)
    table["contact"] = (table["roi"] > 0) & (table["lift"] > 1)
    table["small_sample"] = table["customers"] < MIN_SEGMENT
    table.index.name = "segment"
    return table.reset_index()


def policy_summary(table: pd.DataFrame, economics: dict[str, float]) -> dict[str, float]:
    """The contact policy against contacting everyone: customers, responders, cost and profit of each."""
    chosen = table[table["contact"]]
    responders = float(table["responders"].sum())
    return {"segments": int(len(chosen)), "contacted": int(chosen["customers"].sum()),
            "responders": float(chosen["responders"].sum()),
            "responder_share": float(chosen["responders"].sum() / responders) if responders else np.nan,
            "cost": float(chosen["cost"].sum()), "revenue": float(chosen["revenue"].sum()),
            "profit": float(chosen["profit"].sum()), "profit_everyone": economics["profit"],
            "gain": float(chosen["profit"].sum()) - economics["profit"]}


def contact_list(frame: pd.DataFrame, table: pd.DataFrame, segment: str, cost_per_contact: float,
                 revenue_per_response: float) -> pd.DataFrame:
    """The customers the policy contacts, with their segment's response rate and expected profit per contact."""
    chosen = table[table["contact"]].set_index("segment")
    members = frame[frame[segment].isin(chosen.index)]
    rate = members[segment].map(chosen["response_rate"]).astype(float)
    out = pd.DataFrame({
        "ID": members["ID"].to_numpy(), "segment": members[segment].astype(str).to_numpy(),
        "segment_response_rate": rate.to_numpy(),
        "expected_profit_per_contact": (rate * revenue_per_response - cost_per_contact).to_numpy(),
        "Recency": members["Recency"].to_numpy(), "TotalSpend": members["TotalSpend"].to_numpy(),
        "Income": members["Income"].to_numpy(),
    })
    return out.sort_values(["expected_profit_per_contact", "ID"], ascending=[False, True], ignore_index=True)


def acceptance_by_segment(frame: pd.DataFrame, segment: str, order=None) -> pd.DataFrame:
    """Long table segment × campaign (1–5 and the pilot's Response): customers, acceptances, acceptance rate."""
    grouped = frame.groupby(segment, sort=False)
    sums = grouped[list(CAMPAIGN_COLUMNS)].sum()
    sizes = grouped.size()
    if order is not None:
        keep = [s for s in order if s in sums.index]
        sums, sizes = sums.reindex(keep), sizes.reindex(keep)
    long = sums.stack().rename("accepted").reset_index()
    long.columns = ["segment", "campaign", "accepted"]
    long["customers"] = long["segment"].map(sizes).astype(np.int64)
    long["rate"] = long["accepted"] / long["customers"]
    long["campaign"] = long["campaign"].map(CAMPAIGN_LABELS)
    return long


def crm_rfm(frame: pd.DataFrame) -> pd.DataFrame:
    """RFM scores and labels of the CRM customers: days since the last purchase, purchases, total spend."""
    return rfm.rfm_scores(frame["ID"].astype(str).to_numpy(), frame["Recency"], frame["TotalPurchases"],
                          frame["TotalSpend"])


def crm_histories(frame: pd.DataFrame) -> pd.DataFrame:
    """Approximate frequency / recency / T (days) / monetary value of the CRM customers from their totals."""
    return clv.rfm_from_customer_totals(frame["TotalPurchases"], frame["TenureDays"], frame["Recency"], frame["AOV"])


def feature_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The clustering features, each winsorised at 1 % / 99 %."""
    return pd.DataFrame({name: winsorise(frame[name].astype(float).fillna(frame[name].median()))[0]
                         for name in FEATURES})
