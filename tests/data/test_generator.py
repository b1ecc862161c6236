"""The generator writes the reference schema, deterministically, and its data carries the SPEC §3.1 patterns."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency
from sklearn.metrics import roc_auc_score

from conftest import PACKAGED_DIR, REFERENCE_DIR
from novamart_panel.data import contract
from novamart_panel.data.generator import DEFAULT_SEED, generate

PAID = ("Google Ads", "Facebook", "Instagram", "LinkedIn", "Email", "Referral")
DATE = r"\d{4}-\d{2}-\d{2}"
INT = r"-?\d+"
DEC1 = r"-?\d+\.\d"                 # one decimal (pandas writes 2.0 as "2.0")
DEC2 = r"-?\d+\.\d{1,2}"
DEC3 = r"-?\d+\.\d{1,3}"
DEC4 = r"-?\d+\.\d{1,4}"
# The value format of every numeric or date column, as the reference files write them.
FORMATS = {
    "campaign_performance.csv": {
        "date": DATE, "impressions": INT, "clicks": INT, "conversions": INT, "spend": DEC2, "revenue": DEC2,
        "year": INT, "quarter": r"Q[1-4]", "ctr": DEC2, "conversion_rate": DEC2, "cpc": DEC2, "cpa": DEC2,
        "roas": DEC2, "campaign_id": r"CMP_\d+",
        "campaign_name": r"[A-Za-z ]+ - [A-Za-z ]+ - (North|South|East|West|Central) - Q[1-4]",
    },
    "customer_data.csv": {
        "customer_id": r"CUST_\d+", "age": INT, "income": INT, "tenure_months": INT, "lifetime_value": INT,
        "total_purchases": INT, "avg_order_value": DEC2, "last_purchase_days": INT, "email_open_rate": DEC3,
        "website_visits_monthly": INT, "app_sessions_monthly": INT, "support_tickets": INT,
        "satisfaction_score": DEC2, "is_churned": r"[01]", "churn_probability": DEC3,
    },
    "product_sales.csv": {
        "product_id": r"PRD_\d+", "quarter": r"Q[1-4] \d{4}", "year": INT, "sales": DEC2, "units_sold": INT,
        "profit": DEC2, "profit_margin": DEC2, "return_rate": DEC2, "avg_rating": DEC1, "review_count": INT,
    },
    "lead_scoring_results.csv": {
        "lead_id": r"LEAD_\d+", "website_visits": INT, "time_on_site_seconds": INT, "actual_converted": r"[01]",
        "predicted_probability": DEC4, "predicted_class": r"[01]",
    },
    "feature_importance.csv": {"importance": DEC2, "importance_std": DEC2},
    "learning_curve.csv": {"training_size": INT, "train_score": DEC2, "validation_score": DEC2},
    "geographic_data.csv": {
        "latitude": DEC4, "longitude": DEC4, "total_customers": INT, "total_revenue": INT,
        "revenue_per_customer": DEC1, "store_count": INT, "market_penetration": DEC1, "yoy_growth": DEC1,
        "customer_satisfaction": DEC2, "avg_delivery_days": DEC1,
    },
    "channel_attribution.csv": {m: INT for m in contract.ATTRIBUTION_MODELS},
    "funnel_data.csv": {"visitors": INT, "conversion_rate": DEC1},
    "customer_journey.csv": {"customer_count": INT, "touchpoint_4": r"(|[A-Za-z ]+)"},
    "correlation_matrix.csv": {"Revenue": DEC2, "ROAS": DEC2},
    "ab_test_results.csv": {"visitors": INT, "conversions": INT, "revenue": DEC2},
    "orders.csv": {"order_date": DATE, "amount": DEC2},
    "marketing_campaign.csv": {"ID": INT, "Year_Birth": INT, "Income": r"(|\d+)", "Dt_Customer": r"\d{2}-\d{2}-\d{4}",
                               "Recency": INT, "MntWines": INT, "Z_CostContact": r"3", "Z_Revenue": r"11"},
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    generate(out)
    return out


@pytest.fixture(scope="module")
def campaigns(data_dir) -> pd.DataFrame:
    return pd.read_csv(data_dir / "campaign_performance.csv", parse_dates=["date"])


@pytest.fixture(scope="module")
def customers(data_dir) -> pd.DataFrame:
    return pd.read_csv(data_dir / "customer_data.csv")


def read(data_dir: Path, name: str, **kw) -> pd.DataFrame:
    return pd.read_csv(data_dir / name, **kw)


def header(path: Path, delimiter: str = ",") -> list[str]:
    with open(path, newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle, delimiter=delimiter))


# ---------------------------------------------------------------- schema and formats


def test_writes_every_contract_file(data_dir):
    assert sorted(p.name for p in data_dir.iterdir()) == sorted(s.filename for s in contract.ALL_FILES)


def test_required_only_when_optional_is_false(tmp_path):
    paths = generate(tmp_path, scale=0.05, optional=False)
    assert [p.name for p in paths] == [s.filename for s in contract.REQUIRED_FILES]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(s.filename for s in contract.REQUIRED_FILES)


@pytest.mark.parametrize("spec", contract.ALL_FILES, ids=lambda s: s.filename)
def test_header_matches_contract_and_reference(data_dir, spec):
    got = header(data_dir / spec.filename, spec.delimiter)
    assert got[: len(spec.headers)] == spec.headers
    if spec is not contract.CORRELATIONS:
        assert got == spec.headers
    reference = REFERENCE_DIR / spec.filename
    if reference.is_file():
        assert got == header(reference, spec.delimiter)


@pytest.mark.parametrize("spec", contract.ALL_FILES, ids=lambda s: s.filename)
def test_line_endings_and_delimiter(data_dir, spec):
    raw = (data_dir / spec.filename).read_bytes()
    assert b"\r" not in raw and raw.endswith(b"\n")
    lines = raw.decode("utf-8").splitlines()[:200]
    width = len(lines[0].split(spec.delimiter))
    assert all(len(line.split(spec.delimiter)) == width for line in lines)


@pytest.mark.parametrize("filename", sorted(FORMATS))
def test_value_formats(data_dir, filename):
    spec = next(s for s in contract.ALL_FILES if s.filename == filename)
    rows = read(data_dir, filename, dtype=str, keep_default_na=False, sep=spec.delimiter).head(500)
    for column, pattern in FORMATS[filename].items():
        bad = rows[column][~rows[column].str.fullmatch(pattern)]
        assert bad.empty, f"{filename}.{column}: {bad.head(3).tolist()} do not match {pattern}"


def test_categories_match_reference_vocabulary(campaigns, customers):
    assert set(campaigns["channel"]) == {"Google Ads", "Facebook", "Instagram", "LinkedIn", "Email",
                                         "Organic Search", "Direct", "Referral"}
    assert set(campaigns["region"]) == set(contract.REGIONS)
    assert set(campaigns["campaign_type"]) == {"Brand Awareness", "Lead Generation", "Product Launch",
                                               "Retargeting", "Seasonal Sale"}
    assert set(customers["customer_segment"]) == set(contract.SEGMENTS)
    assert set(customers["age_group"]) == {"18-25", "26-35", "36-45", "46-55", "55+"}
    if (REFERENCE_DIR / "customer_data.csv").is_file():
        reference = pd.read_csv(REFERENCE_DIR / "customer_data.csv")
        for column in ("gender", "age_group", "income_bracket", "city_tier", "acquisition_channel", "nps_category"):
            assert set(customers[column]) == set(reference[column]), column


def test_reference_row_counts_at_scale_one(data_dir, campaigns, customers):
    assert len(campaigns) == 5858 and campaigns["campaign_id"].nunique() == 50
    assert campaigns["date"].min() >= pd.Timestamp("2023-01-01")
    assert campaigns["date"].max() <= pd.Timestamp("2024-12-31")
    assert len(customers) == 5000
    counts = {"product_sales.csv": 1440, "lead_scoring_results.csv": 2000, "feature_importance.csv": 11,
              "learning_curve.csv": 11, "geographic_data.csv": 15, "channel_attribution.csv": 8,
              "funnel_data.csv": 6, "customer_journey.csv": 8, "correlation_matrix.csv": 10}
    for name, n in counts.items():
        assert len(read(data_dir, name)) == n, name


def test_campaigns_are_consistent(campaigns):
    per_campaign = campaigns.groupby("campaign_id")
    assert (per_campaign[["campaign_name", "campaign_type", "channel", "region"]].nunique() == 1).all().all()
    span = per_campaign["date"].agg(lambda d: (d.max() - d.min()).days + 1)
    assert (span == per_campaign.size()).all(), "each campaign runs on consecutive days"
    name = campaigns["campaign_type"] + " - " + campaigns["channel"] + " - " + campaigns["region"]
    assert (campaigns["campaign_name"].str.rsplit(" - ", n=1).str[0] == name).all()
    assert not campaigns.duplicated(["campaign_id", "date"]).any()
    c = campaigns
    assert (c["day_of_week"] == c["date"].dt.day_name()).all()
    assert (c["month"] == c["date"].dt.month_name()).all()
    assert (c["quarter"] == "Q" + c["date"].dt.quarter.astype(str)).all()
    assert (c["year"] == c["date"].dt.year).all()
    assert np.allclose(c["ctr"], (c["clicks"] / c["impressions"] * 100).round(2))
    assert np.allclose(c["conversion_rate"], (c["conversions"] / c["clicks"] * 100).round(2))
    assert np.allclose(c["cpc"], (c["spend"] / c["clicks"]).round(2))
    assert np.allclose(c["cpa"], (c["spend"] / c["conversions"]).round(2))
    paid = c["spend"] > 0
    assert np.allclose(c.loc[paid, "roas"], (c["revenue"] / c["spend"])[paid].round(2))
    assert (c.loc[~paid, ["cpc", "cpa", "roas"]] == 0).all().all()


def test_customers_are_consistent(customers):
    c = customers
    assert np.allclose(c["avg_order_value"], (c["lifetime_value"] / c["total_purchases"]).round(2))
    assert (c["total_purchases"] >= 1).all()
    assert (c["last_purchase_days"] <= c["tenure_months"] * 30 + 29).all()
    bins = pd.cut(c["age"], [17, 25, 35, 45, 55, 200], labels=["18-25", "26-35", "36-45", "46-55", "55+"])
    assert (bins.astype(str) == c["age_group"]).all()
    bracket = pd.cut(c["income"], [0, 49_999, 99_999, 199_999, np.inf], labels=["Low", "Medium", "High", "Premium"])
    assert (bracket.astype(str) == c["income_bracket"]).all()
    nps = np.select([c["satisfaction_score"] >= 4.5, c["satisfaction_score"] >= 3.5], ["Promoter", "Passive"], "Detractor")
    assert (nps == c["nps_category"]).all()
    assert (c.loc[c["customer_segment"] == "Churned", "is_churned"] == 1).all()


def test_orders_match_customers(data_dir, customers):
    orders = read(data_dir, "orders.csv", parse_dates=["order_date"])
    per_customer = orders.groupby("customer_id").agg(n=("amount", "size"), total=("amount", "sum"),
                                                     first=("order_date", "min"), last=("order_date", "max"))
    joined = customers.set_index("customer_id").join(per_customer, how="left")
    assert (joined["n"] == joined["total_purchases"]).all()
    assert np.allclose(joined["total"], joined["lifetime_value"], atol=0.005)
    as_of = pd.Timestamp("2024-12-31")
    assert ((as_of - joined["last"]).dt.days == joined["last_purchase_days"]).all()
    assert ((as_of - joined["first"]).dt.days // 30 == joined["tenure_months"]).all()
    assert (orders["amount"] > 0).all()
    assert orders["customer_id"].is_monotonic_increasing


def test_attribution_columns_sum_to_100(data_dir):
    attribution = read(data_dir, "channel_attribution.csv")
    assert (attribution[list(contract.ATTRIBUTION_MODELS)].sum() == 100).all()


def test_funnel_rates_follow_visitors(data_dir):
    funnel = read(data_dir, "funnel_data.csv")
    assert funnel["stage"].tolist() == list(contract.FUNNEL_STAGES)
    assert funnel["visitors"].is_monotonic_decreasing
    expected = (funnel["visitors"] / funnel["visitors"].shift() * 100).round(1).fillna(100.0)
    assert np.allclose(funnel["conversion_rate"], expected)


def test_journeys_end_in_purchase_or_exit(data_dir):
    journeys = read(data_dir, "customer_journey.csv")
    steps = journeys[[f"touchpoint_{i}" for i in range(1, 5)]]
    lengths = steps.notna().sum(axis=1)
    assert lengths.nunique() >= 2
    last = [row[n - 1] for row, n in zip(steps.to_numpy(), lengths)]
    assert set(last) == {"Purchase", "Exit"}
    for row, n in zip(steps.to_numpy(), lengths):
        assert pd.isna(row[n:]).all() and pd.notna(row[:n]).all()
    vocabulary = {"Paid Search", "Social Media", "Organic Search", "Referral", "Direct", "Email", "Website",
                  "Retargeting", "Purchase", "Exit"}
    assert set(steps.stack().dropna()) <= vocabulary


def test_correlation_matrix_is_valid(data_dir):
    matrix = read(data_dir, "correlation_matrix.csv", index_col=0)
    reference = REFERENCE_DIR / "correlation_matrix.csv"
    if reference.is_file():
        assert list(matrix.columns) == list(pd.read_csv(reference, index_col=0).columns)
    assert list(matrix.index) == list(matrix.columns)
    values = matrix.to_numpy()
    assert np.array_equal(values, values.T)
    assert (np.diag(values) == 1).all() and (np.abs(values) <= 1).all()
    assert np.linalg.eigvalsh(values).min() >= 0


def test_crm_export_layout(data_dir):
    crm = read(data_dir, "marketing_campaign.csv", sep="\t")
    assert crm["ID"].is_unique
    assert 0 < crm["Income"].isna().sum() < 0.05 * len(crm)
    assert pd.to_datetime(crm["Dt_Customer"], format="%d-%m-%Y").between("2022-01-01", "2024-12-31").all()
    assert (crm["Z_CostContact"] == 3).all() and (crm["Z_Revenue"] == 11).all()
    assert 0.05 < crm["Response"].mean() < 0.3
    # Those who answered earlier campaigns answer again more often.
    accepted = crm[[f"AcceptedCmp{i}" for i in range(1, 6)]].sum(axis=1) > 0
    assert crm.loc[accepted, "Response"].mean() > crm.loc[~accepted, "Response"].mean()


# ---------------------------------------------------------------- determinism and scale


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path):
    first, second, other = (generate(tmp_path / name, seed=seed, scale=0.1)
                            for name, seed in (("a", 7), ("b", 7), ("c", 8)))
    assert [a.read_bytes() for a in first] == [b.read_bytes() for b in second]
    differing = {a.name for a, c in zip(first, other) if a.read_bytes() != c.read_bytes()}
    assert differing >= {"campaign_performance.csv", "customer_data.csv", "lead_scoring_results.csv",
                         "product_sales.csv", "orders.csv", "marketing_campaign.csv"}


def test_packaged_data_is_the_default_generation(data_dir):
    assert DEFAULT_SEED == 42
    for spec in contract.ALL_FILES:
        assert (PACKAGED_DIR / spec.filename).read_bytes() == (data_dir / spec.filename).read_bytes(), spec.filename


@pytest.mark.parametrize("name", ["campaign_performance.csv", "customer_data.csv", "product_sales.csv",
                                  "lead_scoring_results.csv", "orders.csv"])
def test_numbers_are_written_as_pandas_writes_them(data_dir, name):
    """Reading a file and writing it back with pandas gives the same bytes: the reference's number style."""
    raw = (data_dir / name).read_text(encoding="utf-8")
    assert pd.read_csv(data_dir / name).to_csv(index=False, lineterminator="\n") == raw


def test_rejects_a_non_positive_scale(tmp_path):
    with pytest.raises(ValueError, match="scale"):
        generate(tmp_path, scale=0)


def test_scale_multiplies_row_counts(tmp_path, data_dir):
    generate(tmp_path, scale=0.1)
    small = {name: len(read(tmp_path, name, sep="\t" if name.endswith("campaign.csv") else ","))
             for name in ("campaign_performance.csv", "customer_data.csv", "lead_scoring_results.csv",
                          "marketing_campaign.csv", "product_sales.csv")}
    assert small["campaign_performance.csv"] == 586
    assert read(tmp_path, "campaign_performance.csv")["campaign_id"].nunique() == 5
    assert small["customer_data.csv"] == 500
    assert small["lead_scoring_results.csv"] == 200
    assert small["marketing_campaign.csv"] == 224
    assert small["product_sales.csv"] == 1440
    orders = len(read(tmp_path, "orders.csv"))
    assert orders == read(tmp_path, "customer_data.csv")["total_purchases"].sum()


def test_scale_two_doubles_campaigns(tmp_path):
    generate(tmp_path, scale=2, optional=False)
    campaigns = read(tmp_path, "campaign_performance.csv", usecols=["campaign_id", "date"])
    assert len(campaigns) == 11716 and campaigns["campaign_id"].nunique() == 100
    assert len(read(tmp_path, "customer_data.csv", usecols=["customer_id"])) == 10_000


# ---------------------------------------------------------------- SPEC §3.1 patterns


def test_q4_beats_q3_every_year(campaigns):
    revenue = campaigns.groupby(["year", "quarter"])["revenue"].sum()
    for year in (2023, 2024):
        assert revenue[(year, "Q4")] > revenue[(year, "Q3")]


def test_revenue_trends_up_with_festive_peak_and_summer_dip(campaigns):
    daily = campaigns.groupby("date")["revenue"].sum()
    assert daily[daily.index.year == 2024].sum() > daily[daily.index.year == 2023].sum()
    monthly = daily.groupby(daily.index.month).mean()
    assert monthly[[10, 11]].mean() > monthly.drop([10, 11]).max()
    assert monthly[[6, 7]].mean() < monthly[[4, 5, 8, 9]].mean()


def test_weekend_differs_from_weekday(campaigns):
    weekend = campaigns["date"].dt.day_of_week >= 5
    per_row = campaigns.groupby(weekend)["revenue"].mean()
    assert per_row[True] > 1.1 * per_row[False]


def channel_totals(campaigns: pd.DataFrame) -> pd.DataFrame:
    totals = campaigns.groupby("channel")[["impressions", "clicks", "conversions", "spend", "revenue"]].sum()
    totals["ctr"] = totals["clicks"] / totals["impressions"]
    totals["cvr"] = totals["conversions"] / totals["clicks"]
    totals["roas"] = totals["revenue"] / totals["spend"]
    return totals


def test_channel_patterns(campaigns):
    t = channel_totals(campaigns)
    assert set(t["revenue"].nlargest(2).index) == {"Google Ads", "Email"}
    assert t["cvr"].idxmax() == "LinkedIn"
    assert t.loc["LinkedIn", "impressions"] < t["impressions"].median()
    assert (t["ctr"] * t["cvr"]).idxmax() == "Email"
    assert t["spend"].idxmax() == "Google Ads"
    paid_roas = t.loc[list(PAID), "roas"]
    assert paid_roas.min() < t.loc["Google Ads", "roas"] < paid_roas.max()
    assert (t.loc[["Direct", "Organic Search"], "spend"] == 0).all()
    assert (t.loc[list(PAID), "spend"] > 0).all()


def test_west_and_south_lead_regions(campaigns):
    revenue = campaigns.groupby("region")["revenue"].sum()
    assert set(revenue.nlargest(2).index) == {"West", "South"}


def test_lead_generation_budget_and_seasonal_sale_q4(campaigns):
    spend = campaigns.groupby("campaign_type")["spend"].sum()
    assert spend.idxmax() == "Lead Generation"
    q4_share = campaigns[campaigns["quarter"] == "Q4"].groupby("campaign_type")["spend"].sum() / spend
    assert q4_share.idxmax() == "Seasonal Sale" and q4_share["Seasonal Sale"] > 0.4


def test_diminishing_returns_to_spend(campaigns):
    for channel in PAID:
        days = campaigns[campaigns["channel"] == channel].groupby("date")[["spend", "revenue"]].sum()
        quintile = pd.qcut(days["spend"], 5, labels=False)
        per_rupee = days.groupby(quintile)["revenue"].sum() / days.groupby(quintile)["spend"].sum()
        assert per_rupee[4] < per_rupee[0], channel


def test_customer_age_and_value_patterns(customers):
    c = customers
    assert 25 <= c["age"].median() <= 40
    assert c["age"].between(25, 40).mean() > 0.45
    ltv = c.groupby("customer_segment")["lifetime_value"]
    assert ltv.median().idxmax() == "Premium"
    iqr = ltv.quantile(0.75) - ltv.quantile(0.25)
    assert iqr.idxmax() == "Premium"
    churned = c.loc[c["customer_segment"] == "Churned", "lifetime_value"]
    assert churned.median() < c["lifetime_value"].median()
    assert churned.max() > 5 * churned.quantile(0.75), "churned customers include high-value outliers"
    assert c["income"].corr(c["lifetime_value"]) > 0.2
    budget = c.loc[c["customer_segment"] == "Budget", "lifetime_value"]
    assert (budget > c.loc[c["customer_segment"] == "Regular", "lifetime_value"].median()).sum() > 10


def test_detractor_satisfaction_is_bimodal(customers):
    scores = customers.loc[customers["nps_category"] == "Detractor", "satisfaction_score"]
    low, trough, high = ((scores > a) & (scores <= b) for a, b in ((1.3, 1.9), (2.2, 2.6), (2.9, 3.4)))
    # per unit of score, the trough between the two modes is thinner than either mode
    assert trough.sum() / 0.4 < low.sum() / 0.6 and trough.sum() / 0.4 < high.sum() / 0.5


def test_tier_one_is_richest_in_premium(customers):
    share = customers.groupby("city_tier")["customer_segment"].apply(lambda s: (s == "Premium").mean())
    assert share.idxmax() == "Tier 1"


def test_funnel_largest_drop_is_awareness_to_interest(data_dir):
    funnel = read(data_dir, "funnel_data.csv")
    assert funnel["conversion_rate"].iloc[1:].idxmin() == 1


def test_first_and_last_touch_credit(data_dir):
    a = read(data_dir, "channel_attribution.csv").set_index("channel")
    assert a.loc["Google Ads", "first_touch"] > a.loc["Google Ads", "last_touch"]
    assert a.loc["Email", "last_touch"] > a.loc["Email", "first_touch"]
    assert a["first_touch"].idxmax() == "Google Ads" and a["last_touch"].idxmax() == "Email"


def test_product_patterns(data_dir):
    p = read(data_dir, "product_sales.csv")
    assert not p.duplicated(["product_name", "region", "quarter"]).any()
    by_category = p.groupby("category")[["sales", "profit"]].sum()
    assert by_category["sales"].idxmax() == "Electronics"
    assert (by_category["profit"] / by_category["sales"]).idxmax() == "Fashion"
    per_product = p.groupby("product_name").agg(units=("units_sold", "sum"), sales=("sales", "sum"),
                                                profit=("profit", "sum"))
    margin = per_product["profit"] / per_product["sales"]
    top_volume = per_product["units"].nlargest(6).index
    assert (margin[top_volume] < margin.median()).sum() >= 2, "some high-volume products earn thin margins"
    assert np.allclose(p["profit_margin"], (p["profit"] / p["sales"] * 100).round(2), atol=0.011)


def test_geography_patterns(data_dir):
    g = read(data_dir, "geographic_data.csv").set_index("state")
    assert set(g["total_revenue"].nlargest(2).index) == {"Maharashtra", "Karnataka"}
    assert g.groupby("region")["yoy_growth"].mean().idxmax() == "East"
    assert g.loc["Kerala", "store_count"] < g["store_count"].median()
    assert g.loc["Kerala", "customer_satisfaction"] > g["customer_satisfaction"].median()
    assert g["latitude"].between(8, 37).all() and g["longitude"].between(68, 98).all()
    assert np.allclose(g["total_revenue"], g["total_customers"] * g["revenue_per_customer"], rtol=1e-9)


def test_lead_model_auc_and_importance(data_dir):
    leads = read(data_dir, "lead_scoring_results.csv")
    auc = roc_auc_score(leads["actual_converted"], leads["predicted_probability"])
    assert 0.73 <= auc <= 0.82
    assert (leads["predicted_class"] == (leads["predicted_probability"] >= 0.5)).all()
    importance = read(data_dir, "feature_importance.csv")
    assert set(importance.nlargest(2, "importance")["feature"]) == {"webinar_attendance", "form_submissions"}
    reference = REFERENCE_DIR / "feature_importance.csv"
    if reference.is_file():
        assert set(importance["feature"]) == set(pd.read_csv(reference)["feature"])
    curve = read(data_dir, "learning_curve.csv")
    assert curve["training_size"].is_monotonic_increasing
    assert curve["validation_score"].iloc[-1] > curve["validation_score"].iloc[0]
    assert abs(curve["validation_score"].iloc[-1] - auc) < 0.08


def test_ab_tests_have_a_winner_and_a_null_result(data_dir):
    ab = read(data_dir, "ab_test_results.csv")
    totals = ab.groupby(["experiment", "variant"])[["visitors", "conversions"]].sum()

    def p_value(experiment):
        t = totals.loc[experiment]
        return chi2_contingency(np.column_stack([t["conversions"], t["visitors"] - t["conversions"]]))[1]

    assert p_value("Checkout Redesign") < 0.01
    assert p_value("Free Shipping Banner") > 0.05


def test_parts_scale_on_their_own_chunk_by_chunk(tmp_path, monkeypatch):
    from novamart_panel.data import generator

    monkeypatch.setattr(generator, "CUSTOMERS_PER_CHUNK", 150)   # three chunks of customers and their orders
    generate(tmp_path, campaign_rows=3000, customers=400, orders=5000)
    campaigns = read(tmp_path, "campaign_performance.csv", parse_dates=["date"])
    customers = read(tmp_path, "customer_data.csv")
    orders = read(tmp_path, "orders.csv", parse_dates=["order_date"])
    assert len(campaigns) == 3000 and campaigns["campaign_id"].nunique() == round(50 * 3000 / 5858)
    assert not campaigns.duplicated(["campaign_id", "date"]).any()
    assert len(customers) == 400 and customers["customer_id"].is_unique and len(orders) == 5000
    assert len(read(tmp_path, "lead_scoring_results.csv")) == 2000
    joined = customers.set_index("customer_id").join(
        orders.groupby("customer_id").agg(n=("amount", "size"), total=("amount", "sum"), last=("order_date", "max"),
                                          first=("order_date", "min")))
    assert (joined["n"] == joined["total_purchases"]).all() and (orders["amount"] > 0).all()
    assert np.allclose(joined["total"], joined["lifetime_value"], atol=0.005)
    assert np.allclose(customers["avg_order_value"], (customers["lifetime_value"] / customers["total_purchases"]).round(2))
    as_of = pd.Timestamp("2024-12-31")
    assert ((as_of - joined["last"]).dt.days == joined["last_purchase_days"]).all()
    assert ((as_of - joined["first"]).dt.days // 30 == joined["tenure_months"]).all()
    # Chunks draw from their own streams: the same sizes give the same bytes again.
    again = generate(tmp_path / "again", campaign_rows=3000, customers=400, orders=5000)
    assert all((tmp_path / p.name).read_bytes() == p.read_bytes() for p in again)


def test_without_an_order_count_orders_follow_the_purchases(tmp_path, monkeypatch):
    from novamart_panel.data import generator

    monkeypatch.setattr(generator, "CUSTOMERS_PER_CHUNK", 100)
    generate(tmp_path, scale=0.05, customers=250)
    customers = read(tmp_path, "customer_data.csv")
    assert len(customers) == 250 and len(read(tmp_path, "orders.csv")) == customers["total_purchases"].sum()
    assert len(read(tmp_path, "campaign_performance.csv")) == round(5858 * 0.05)


@pytest.mark.parametrize("sizes, message", [({"campaign_rows": 0}, "campaign_rows"), ({"customers": -1}, "customers"),
                                             ({"customers": 10, "orders": 9}, "at least the number of customers")])
def test_rejects_impossible_sizes(tmp_path, sizes, message):
    with pytest.raises(ValueError, match=message):
        generate(tmp_path, **sizes)
