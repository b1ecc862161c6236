"""The data contract: one declaration of every file the app reads (SPEC §3).

Each file is a `FileSpec` naming its table, CSV file name, columns in order (CSV header name, SQL name,
DuckDB type, allowed range or values), key columns and whether the app needs it. The store, the
validator and the generator all read this declaration, so the schema is written exactly once.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One CSV column: its header text, SQL name, DuckDB type and the values it may take."""

    header: str
    type: str = "VARCHAR"
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] | None = None
    nullable: bool = False
    sql_name: str | None = None

    @property
    def name(self) -> str:
        return self.sql_name or self.header

    @property
    def is_numeric(self) -> bool:
        return self.type in ("BIGINT", "DOUBLE", "INTEGER")


@dataclass(frozen=True)
class FileSpec:
    """One CSV file of the contract."""

    table: str
    filename: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    required: bool = True
    delimiter: str = ","
    description: str = ""
    unlocks: str = ""

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.filename} has no column {name!r}")


def _c(header, type="VARCHAR", **kw) -> Column:
    return Column(header, type, **kw)


def _count(header) -> Column:
    return Column(header, "BIGINT", min=0)


def _money(header) -> Column:
    return Column(header, "DOUBLE", min=0)


def _pct(header) -> Column:
    """A percentage on the 0-100 scale."""
    return Column(header, "DOUBLE", min=0, max=100)


def _rate(header) -> Column:
    """A rate on the 0-1 scale."""
    return Column(header, "DOUBLE", min=0, max=1)


REGIONS = ("North", "South", "East", "West", "Central")
SEGMENTS = ("Premium", "Regular", "Budget", "New", "Churned")
QUARTERS = ("Q1", "Q2", "Q3", "Q4")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
FUNNEL_STAGES = ("Awareness", "Interest", "Consideration", "Intent", "Evaluation", "Purchase")
ATTRIBUTION_MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position_based")

CAMPAIGNS = FileSpec(
    "campaigns", "campaign_performance.csv",
    (
        _c("date", "DATE"), _c("campaign_id"), _c("campaign_name"), _c("campaign_type"),
        _c("channel"), _c("region"), _count("impressions"), _count("clicks"), _count("conversions"),
        _money("spend"), _money("revenue"), _c("day_of_week", values=WEEKDAYS),
        _c("month", values=MONTHS), _c("quarter", values=QUARTERS), _c("year", "BIGINT", min=1990, max=2100),
        _pct("ctr"), _pct("conversion_rate"), _money("cpc"), _money("cpa"), _money("roas"),
    ),
    key=("campaign_id", "date"),
    description="campaign × day performance",
)

CUSTOMERS = FileSpec(
    "customers", "customer_data.csv",
    (
        _c("customer_id"), _c("gender"), _c("age", "BIGINT", min=0, max=120), _c("age_group"),
        _money("income"), _c("income_bracket"), _c("region"), _c("city_tier"),
        _c("customer_segment", values=SEGMENTS), _c("acquisition_channel"),
        _count("tenure_months"), _money("lifetime_value"), _count("total_purchases"),
        _money("avg_order_value"), _count("last_purchase_days"), _rate("email_open_rate"),
        _count("website_visits_monthly"), _count("app_sessions_monthly"), _count("support_tickets"),
        _c("satisfaction_score", "DOUBLE", min=1, max=5), _c("nps_category", values=("Detractor", "Passive", "Promoter")),
        _c("is_churned", "BIGINT", min=0, max=1), _rate("churn_probability"),
    ),
    key=("customer_id",),
    description="one row per customer",
)

PRODUCTS = FileSpec(
    "products", "product_sales.csv",
    (
        _c("product_id"), _c("product_name"), _c("category"), _c("subcategory"), _c("region"),
        _c("quarter"), _c("year", "BIGINT", min=1990, max=2100), _money("sales"), _count("units_sold"),
        _c("profit", "DOUBLE"), _c("profit_margin", "DOUBLE", min=-100, max=100), _pct("return_rate"),
        _c("avg_rating", "DOUBLE", min=0, max=5), _count("review_count"),
    ),
    key=("category", "subcategory", "product_name", "region", "quarter"),
    description="product × region × quarter sales",
)

LEADS = FileSpec(
    "leads", "lead_scoring_results.csv",
    (
        _c("lead_id"), _c("company_size"), _c("industry"), _count("website_visits"), _count("pages_viewed"),
        _count("time_on_site_seconds"), _count("email_opens"), _count("email_clicks"),
        _count("form_submissions"), _count("content_downloads"), _count("webinar_attendance"),
        _count("days_since_first_touch"), _c("lead_source"), _c("actual_converted", "BIGINT", min=0, max=1),
        _rate("predicted_probability"), _c("predicted_class", "BIGINT", min=0, max=1),
    ),
    key=("lead_id",),
    description="lead-scoring model output per lead",
)

FEATURE_IMPORTANCE = FileSpec(
    "feature_importance", "feature_importance.csv",
    (_c("feature"), _c("importance", "DOUBLE"), _c("importance_std", "DOUBLE", min=0)),
    key=("feature",),
)

LEARNING_CURVE = FileSpec(
    "learning_curve", "learning_curve.csv",
    (
        _c("training_size", "BIGINT", min=1), _c("train_score", "DOUBLE"), _c("validation_score", "DOUBLE"),
        _c("train_score_std", "DOUBLE", min=0), _c("validation_score_std", "DOUBLE", min=0),
    ),
    key=("training_size",),
)

GEOGRAPHY = FileSpec(
    "geography", "geographic_data.csv",
    (
        _c("state"), _c("region"), _c("latitude", "DOUBLE", min=-90, max=90),
        _c("longitude", "DOUBLE", min=-180, max=180), _count("total_customers"), _money("total_revenue"),
        _money("revenue_per_customer"), _count("store_count"), _pct("market_penetration"),
        _c("yoy_growth", "DOUBLE", min=-100, max=1000), _c("customer_satisfaction", "DOUBLE", min=1, max=5),
        _c("avg_delivery_days", "DOUBLE", min=0),
    ),
    key=("state",),
)

ATTRIBUTION = FileSpec(
    "attribution", "channel_attribution.csv",
    (_c("channel"),) + tuple(_pct(m) for m in ATTRIBUTION_MODELS),
    key=("channel",),
)

FUNNEL = FileSpec(
    "funnel", "funnel_data.csv",
    (_c("stage"), _count("visitors"), _pct("conversion_rate")),
    key=("stage",),
)

JOURNEYS = FileSpec(
    "journeys", "customer_journey.csv",
    (
        _c("touchpoint_1"), _c("touchpoint_2", nullable=True), _c("touchpoint_3", nullable=True),
        _c("touchpoint_4", nullable=True), _count("customer_count"),
    ),
)

CORRELATIONS = FileSpec(
    "correlations", "correlation_matrix.csv",
    (_c("", sql_name="metric"),),  # then one DOUBLE column per metric, named by the file's header
    key=("metric",),
)

AB_TESTS = FileSpec(
    "ab_tests", "ab_test_results.csv",
    (_c("experiment"), _c("variant"), _c("segment"), _count("visitors"), _count("conversions"), _money("revenue")),
    key=("experiment", "variant", "segment"),
    required=False,
    unlocks="the Experiments section",
)

ORDERS = FileSpec(
    "orders", "orders.csv",
    (_c("customer_id"), _c("order_date", "DATE"), _money("amount")),
    required=False,
    unlocks="cohort retention and transaction-based lifetime value",
)

_MKT_MNT = ("MntWines", "MntFruits", "MntMeatProducts", "MntFishProducts", "MntSweetProducts", "MntGoldProds")
_MKT_NUM = ("NumDealsPurchases", "NumWebPurchases", "NumCatalogPurchases", "NumStorePurchases")
MARKETING_CAMPAIGN = FileSpec(
    "marketing_campaign", "marketing_campaign.csv",
    (
        _c("ID"), _c("Year_Birth", "BIGINT", min=1890, max=2100), _c("Education"), _c("Marital_Status"),
        _c("Income", "DOUBLE", min=0, nullable=True), _count("Kidhome"), _count("Teenhome"), _c("Dt_Customer"),
        _count("Recency"),
    )
    + tuple(_count(m) for m in _MKT_MNT)
    + tuple(_count(n) for n in _MKT_NUM)
    + (_count("NumWebVisitsMonth"),)
    + tuple(_c(f"AcceptedCmp{i}", "BIGINT", min=0, max=1) for i in (3, 4, 5, 1, 2))
    + (_c("Complain", "BIGINT", min=0, max=1), _count("Z_CostContact"), _count("Z_Revenue"),
       _c("Response", "BIGINT", min=0, max=1)),
    key=("ID",),
    delimiter="\t",
    required=False,
    unlocks="campaign response by segment and the contact policy",
)

REQUIRED_FILES: tuple[FileSpec, ...] = (
    CAMPAIGNS, CUSTOMERS, PRODUCTS, LEADS, FEATURE_IMPORTANCE, LEARNING_CURVE, GEOGRAPHY,
    ATTRIBUTION, FUNNEL, JOURNEYS, CORRELATIONS,
)
OPTIONAL_FILES: tuple[FileSpec, ...] = (AB_TESTS, ORDERS, MARKETING_CAMPAIGN)
ALL_FILES: tuple[FileSpec, ...] = REQUIRED_FILES + OPTIONAL_FILES
BY_TABLE = {spec.table: spec for spec in ALL_FILES}

# Global filters: which column of which table each filter narrows (SPEC §4: "wherever their columns exist").
FILTER_COLUMNS: dict[str, dict[str, str]] = {
    "date_range": {"campaigns": "date"},
    "channels": {"campaigns": "channel"},
    "regions": {"campaigns": "region", "customers": "region", "products": "region", "geography": "region"},
    "campaign_types": {"campaigns": "campaign_type"},
}
