"""Customer value & segments (SPEC §4.9): who the customers are, what each is worth, who is slipping away, and
whom the next campaign should contact.

Part 1 reads customer_data.csv (and orders.csv when present): RFM scores and labels, k-means clusters with model
selection over k, BG/NBD + Gamma-Gamma lifetime value, LTV:CAC by acquisition channel and cohort retention.
Part 2 reads the CRM export marketing_campaign.csv (its own customers, in the public "Marketing Campaign" layout):
data quality, the pilot's economics, campaign acceptance by segment and the contact policy.

Expensive results (fits, model selection, clusterings) are memoised per filter state and parameters, so a chart
control never refits a model it does not change. Without orders.csv the customer histories are derived from the
customer totals (said on screen); without the CRM export part 2 is a sentence saying what to add.
"""
from __future__ import annotations

import datetime as dt
import functools
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the backend the options below are for)
import numpy as np
import pandas as pd
import panel as pn
import param

from ..analytics import clustering as cl
from ..analytics import clv, cohorts, crm, rfm
from ..analytics import unit_economics as ue
from ..data import segment_queries as sq
from ..data.queries import FilterState, date_bounds
from ..format import count, escape_markdown, number, percent, ratio, rupees, strong
from ..session import served, warm_up_after_load
from .base import (BAD, GOOD, NEUTRAL, Section, chart, contrast_labels, csv_download, data_table, house_opts, html,
                   html_download, kpi_card, markdown, notice, readable_text_colours, rupee_ticks, section_header,
                   view_card)
from .filters import Filters

CUSTOMER_DEPS = ("regions",)
WINDOW_DEPS = ("date_range", "regions")
CLV_PARAMS = ("horizon_months", "discount_rate", "margin")
DAYS_PER_MONTH = 30          # as lifetimes counts a month of daily periods
TOP_CUSTOMERS = 25
MIN_TO_CLUSTER = 20          # fewer customers than this are not clustered
CLV_BINS = 30
# Okabe–Ito: distinguishable with colour-blindness, on light and dark backgrounds; cluster n gets colour n.
CLUSTER_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")
BAND_COLOURS = {"Scale": GOOD, "Optimise": "#E69F00", "Fix": BAD, ue.UNKNOWN: NEUTRAL}
METRIC_COLOURS = {"silhouette": "#0072B2", "calinski_harabasz": "#E69F00", "davies_bouldin": "#009E73",
                  "stability": "#CC79A7"}
METRIC_SHORT = {"silhouette": "Silhouette", "calinski_harabasz": "Calinski-Harabasz", "davies_bouldin": "Davies-Bouldin",
                "stability": "Stability (ARI)"}
# What a CRM manager does with each RFM label.
LABEL_ACTIONS = {"Champions": "reward; ask for reviews and referrals", "Loyal": "upsell; loyalty programme",
                 "Potential loyalists": "membership offer; recommend the next purchase",
                 "New": "onboarding; a second-purchase incentive", "At risk": "win-back offer now, personalised",
                 "Can't lose": "call or personal offer before they go", "Hibernating": "low-cost reactivation",
                 "Lost": "exclude from paid contact, or one last offer"}
SEGMENT_BY = ("RFM label", "Cluster")
WRAPPED_COLUMNS = ("What to do", "Profile", "Detail", "Check", "From campaign channels", "Segment", "Label")
# Ten columns share a card 950 px wide on a 1366-px screen: at these widths and a smaller header font, every
# header word ("Customers", "Purchases") fits beside its sort arrow.
MIN_COLUMN_WIDTH = 80
TABLE_HEADER_CSS = ".tabulator-col-title { font-size: 0.8em; }"
COLUMN_WIDTHS = {"Segment": 170, "Label": 120, "Acquisition channel": 140, "Profile": 230, "What to do": 180,
                 "Customers": 92, "Purchases": 92,
                 "Detail": 420, "Check": 270, "Band": 120, "From campaign channels": 170, "Customer": 120}
CAC_BASES = {"Customers acquired (customer_data.csv)": "customers",
             "Conversions reported by the campaigns": "conversions"}
SAMPLE_HINT = 5.0   # conversions per acquired customer above which the customer file looks like a sample
DERIVED_NOTE = ("Purchase histories are therefore **approximated from customer_data.csv**: frequency = "
                "total_purchases − 1, T = 30 × tenure_months days, recency = T − last_purchase_days, monetary value = "
                "avg_order_value. A readable orders.csv (customer_id, order_date, amount) gives transaction-based "
                "lifetime value and cohort retention.")
NO_ORDER_DATES = ("orders.csv has no order date that can be read (see the Data quality tab: write dates as "
                  "YYYY-MM-DD), so the views that need orders cannot use it.")
class _Memo:
    """Results by key, the least recently used dropped beyond `size`; safe to share between threads (Bokeh runs
    sessions' callbacks on worker threads). Two threads asking for a missing key both compute it."""

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, compute):
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = compute()
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


SHARED_RESULTS = 16   # results kept per data folder: every key of a filter state or two
_shared_results: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_shared_results_lock = threading.Lock()


def shared_results(store) -> _Memo:
    """The customer models, segmentations and tables computed from a store, shared by every session of the process.

    They depend only on the data and the key they are stored under (filter values and the section's own
    settings), never on a session, and they are never modified (pandas copy-on-write). The first session to open
    Customer value & segments fits them; the others reuse the fit: at 1M customers, 10 s of work.
    """
    with _shared_results_lock:
        memo = _shared_results.get(store)
        if memo is None:
            memo = _shared_results[store] = _Memo(SHARED_RESULTS)
        return memo


@dataclass(frozen=True)
class CustomerModel:
    """Customer histories (one row per customer with a purchase) and the fitted models, or why they failed."""

    histories: pd.DataFrame
    source: str                        # "orders" or "derived"
    without_purchase: int              # customers of the filter left out: no order / no purchase
    bg: clv.BGNBDModel | None
    gg: clv.GammaGammaModel | None
    problem: str = ""


@dataclass(frozen=True)
class Segmentation:
    """Standardised features, the k-selection table, the chosen k and why."""

    features: cl.FeatureMatrix
    metrics: pd.DataFrame
    chosen_k: int
    reason: str


@dataclass(frozen=True)
class CrmModel:
    """The cleaned CRM export with RFM labels, its segmentation and lifetime-value models."""

    data: crm.CrmData
    scores: pd.DataFrame
    segmentation: Segmentation | None
    bg: clv.BGNBDModel | None
    gg: clv.GammaGammaModel | None
    problems: tuple[str, ...] = field(default=())


def _fit_models(histories: pd.DataFrame) -> tuple[clv.BGNBDModel | None, clv.GammaGammaModel | None, str]:
    """BG/NBD and Gamma-Gamma on the histories; (None, None, why) when the data cannot support them."""
    try:
        bg = clv.fit_bg_nbd(histories["frequency"], histories["recency"], histories["T"])
        gg = clv.fit_gamma_gamma(histories["frequency"], histories["monetary_value"])
    except clv.InsufficientDataError as exc:
        return None, None, str(exc)
    return bg, gg, ""


def _segmentation(features: pd.DataFrame, log_columns) -> Segmentation | None:
    """Features, k-selection and the chosen k; None when there are too few customers to cluster."""
    if len(features) < MIN_TO_CLUSTER:
        return None
    matrix = cl.prepare_features(features, log_columns=log_columns)
    if not matrix.names:
        return None
    metrics = cl.k_selection(matrix.values)
    try:
        chosen, reason = cl.choose_k(metrics)
    except ValueError:
        return None
    return Segmentation(matrix, metrics, chosen, reason)


def _empty(columns) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


class SegmentSection(Section):
    """Customer value & segments: RFM, clusters, lifetime value, LTV:CAC, cohorts, campaign response and contact."""

    title = "Customer value & segments"
    slug = "segments"
    tables = ("customers",)
    also_reads = ('orders', 'marketing_campaign', 'campaigns')
    spec_section = "4.9"

    k = param.Integer(default=None, allow_None=True, bounds=(2, 8), label="Clusters (k)",
                      doc="Number of customer clusters (default: the chosen k)")
    horizon_months = param.Integer(default=12, bounds=(1, 60), label="CLV horizon (months)")
    discount_rate = param.Number(default=0.01, bounds=(0.0, 0.1), step=0.0025, label="Monthly discount rate")
    margin = param.Number(default=0.3, bounds=(0.01, 1.0), step=0.01, label="Gross margin")
    channel_mapping = param.String(default="", label="Acquisition channel: campaign channels (one per line)")
    cac_basis = param.Selector(default=list(CAC_BASES)[0], objects=list(CAC_BASES), label="CAC divides spend by")
    crm_segment_by = param.Selector(default=SEGMENT_BY[0], objects=list(SEGMENT_BY), label="Segment CRM customers by")
    crm_k = param.Integer(default=None, allow_None=True, bounds=(2, 8), label="CRM clusters (k)")
    contact_cost = param.Number(default=3.0, bounds=(0.0, None), step=0.5, label="Cost per contact (₹)")
    response_revenue = param.Number(default=11.0, bounds=(0.0, None), step=0.5, label="Revenue per response (₹)")

    def __init__(self, **params):
        super().__init__(**params)
        self._memo = shared_results(self.store)
        self._k_follows_choice = False    # k tracks the chosen k until the user moves the slider
        self._choosing_k = False
        self.acquisition_channels: list[str] = []
        self.campaign_channel_names: list[str] = []
        # Orders count only with a readable date: a file whose dates all failed to parse is as good as absent.
        self._orders_usable = self.store.has("orders") and sq.last_order_date(self.store) is not None
        if not self.store.has("customers"):
            return
        self.acquisition_channels = sq.acquisition_channels(self.store)
        self.campaign_channel_names = sq.campaign_channels(self.store)
        if not self.channel_mapping:
            self.channel_mapping = ue.mapping_text(ue.default_mapping(self.acquisition_channels,
                                                                     self.campaign_channel_names))
        if self.store.has("marketing_campaign"):
            cost, revenue = sq.crm_economics_defaults(self.store)
            self.param.update(contact_cost=cost, response_revenue=revenue)
        if served():   # the section then opens without the fits (the reference data's choice of k: 1–3 s)
            warm_up_after_load(self.store, "Customer value & segments", functools.partial(warm_up, self.store))

    # -- shared state --------------------------------------------------------------------------------------
    def filter_note(self) -> str:
        return ("Global filters applied here: the region narrows the customers (and the campaign spend behind "
                "CAC); the date range is the acquisition window for CAC and selects the cohorts (first-order "
                "month). Channel and campaign-type filters do not apply: acquisition channels are not campaign "
                "channels. The CRM export has no region or date, so no global filter narrows part 2.")

    def _regions(self) -> tuple[str, ...]:
        return tuple(self.filter_state().regions)

    def _customer_state(self) -> FilterState:
        return FilterState(regions=self._regions())

    def _window(self) -> tuple[dt.date | None, dt.date | None]:
        state = self.filter_state()
        return state.start, state.end

    @property
    def has_orders(self) -> bool:
        """orders.csv is loaded and has at least one readable order date."""
        return self._orders_usable

    def orders_problem(self) -> str:
        """Why the views that need orders.csv go without it, as Markdown ('' when they have it)."""
        if self.has_orders:
            return ""
        if not self.store.has("orders"):
            return escape_markdown(self.missing_message("orders"))
        return NO_ORDER_DATES

    @property
    def has_crm(self) -> bool:
        return self.store.has("marketing_campaign")

    # -- part 1: the customer base -------------------------------------------------------------------------
    @param.depends(*CUSTOMER_DEPS)
    def customer_model(self) -> CustomerModel:
        """Histories of the customers under the region filter and the BG/NBD and Gamma-Gamma fits."""
        return self._memo.get(("model", self._regions()), self._build_customer_model)

    def _build_customer_model(self) -> CustomerModel:
        base = sq.customer_base(self.store, self._customer_state())
        if self.has_orders:
            summary = sq.order_summary(self.store, self._customer_state())
            histories = base.merge(summary, on="customer_id", how="inner")
            histories["acquired_on"] = pd.to_datetime(histories["first_order"])
            histories["tenure_months"] = np.maximum(histories["T"] / DAYS_PER_MONTH, 1.0)
            source = "orders"
        else:
            derived = clv.rfm_from_customer_totals(base["total_purchases"], base["tenure_months"] * DAYS_PER_MONTH,
                                                   base["last_purchase_days"], base["avg_order_value"])
            histories = pd.concat([base, derived], axis=1)
            histories = histories[histories["frequency"].notna()].reset_index(drop=True)
            histories["total_spend"] = histories["lifetime_value"].astype(float)
            histories["days_since_last"] = histories["last_purchase_days"].astype(float)
            as_of = self._as_of()
            histories["acquired_on"] = (pd.Timestamp(as_of) - pd.to_timedelta(histories["tenure_months"] * DAYS_PER_MONTH,
                                                                             unit="D")) if as_of else pd.NaT
            source = "derived"
        histories["purchases"] = histories["frequency"] + 1
        histories["aov"] = histories["total_spend"] / histories["purchases"]
        bg, gg, problem = _fit_models(histories)
        return CustomerModel(histories.reset_index(drop=True), source, len(base) - len(histories), bg, gg, problem)

    def _as_of(self) -> dt.date | None:
        """The data's "today" for derived acquisition dates: the last campaign day."""
        bounds = date_bounds(self.store)
        return bounds[1] if bounds else None

    @param.depends(*CUSTOMER_DEPS, *CLV_PARAMS)
    def customer_values(self) -> pd.DataFrame:
        """Per customer: P(alive), expected purchases and order value over the horizon, and CLV (NaN without a fit)."""
        key = ("values", self._regions(), self.horizon_months, self.discount_rate, self.margin)
        return self._memo.get(key, self._build_customer_values)

    def _build_customer_values(self) -> pd.DataFrame:
        model = self.customer_model()
        h = model.histories
        out = h[["customer_id", "acquisition_channel", "region", "total_spend", "purchases", "days_since_last",
                 "tenure_months", "acquired_on"]].copy()
        if model.bg is None:
            for column in ("p_alive", "expected_purchases", "expected_aov", "clv"):
                out[column] = np.nan
            return out
        predictions = clv.customer_predictions(model.bg, model.gg, h["frequency"], h["recency"], h["T"],
                                               h["monetary_value"], months=self.horizon_months,
                                               discount_rate=self.discount_rate, margin=self.margin)
        for column in predictions:
            out[column] = predictions[column].to_numpy()
        if not model.bg.identifies_dropout:   # about 100 % for everyone: shown as n/a (insight_clv says why)
            out["p_alive"] = np.nan
        return out

    @param.depends(*CUSTOMER_DEPS)
    def rfm_scores(self) -> pd.DataFrame:
        """R, F, M scores and labels (recency = days since the last purchase, F = purchases, M = total spend)."""
        def build():
            h = self.customer_model().histories
            return rfm.rfm_scores(h["customer_id"].to_numpy(), h["days_since_last"], h["purchases"], h["total_spend"])
        return self._memo.get(("rfm", self._regions()), build)

    @param.depends(*CUSTOMER_DEPS)
    def rfm_grid(self) -> pd.DataFrame:
        """Customers, mean and total spend per recency × frequency score cell, with its label."""
        return rfm.grid_summary(self.rfm_scores(), self.customer_model().histories["total_spend"])

    @param.depends(*CUSTOMER_DEPS, *CLV_PARAMS)
    def segment_summary(self) -> pd.DataFrame:
        """Per RFM label: customers, share, recency, purchases, spend, share of spend, CLV, P(alive), action."""
        values = self.customer_values()
        metrics = pd.DataFrame({"days_since_last": values["days_since_last"], "purchases": values["purchases"],
                                "value": values["total_spend"], "clv": values["clv"], "p_alive": values["p_alive"]})
        summary = rfm.label_summary(self.rfm_scores(), metrics)
        summary["action"] = summary["label"].map(LABEL_ACTIONS)
        return summary

    @param.depends(*CUSTOMER_DEPS)
    def segmentation(self) -> Segmentation | None:
        """Features, the k-selection metrics and the chosen k for the customers under the filter."""
        def build():
            h = self.customer_model().histories
            features = pd.DataFrame({
                "spend": h["total_spend"], "purchases": h["purchases"], "order value": h["aov"],
                "days since last purchase": h["days_since_last"], "tenure": h["tenure_months"],
                "email open rate": h["email_open_rate"], "website visits": h["website_visits_monthly"],
                "app sessions": h["app_sessions_monthly"], "support tickets": h["support_tickets"],
                "satisfaction": h["satisfaction_score"], "income": h["income"]})
            return _segmentation(features, ("spend", "purchases", "order value", "days since last purchase", "income",
                                            "website visits", "app sessions"))
        return self._memo.get(("segmentation", self._regions()), build)

    def use_chosen_k(self) -> None:
        """Set k to the chosen k of the customers under the filters (and keep following it until the user moves it)."""
        segmentation = self.segmentation()
        if segmentation is None:
            return
        self._choosing_k = True
        try:
            self.k = segmentation.chosen_k
        finally:
            self._choosing_k = False
        self._k_follows_choice = True

    @param.depends("k", watch=True)
    def _k_moved(self) -> None:
        if not self._choosing_k:
            self._k_follows_choice = False

    @param.depends("regions", watch=True)
    def _regions_moved(self) -> None:
        # The new population's clusterings (1-4 s here) with the views that show k, below the RFM grid.
        self.with_views_below(self._follow_chosen_k)

    def _follow_chosen_k(self) -> None:
        if self._k_follows_choice:
            self.use_chosen_k()

    def effective_k(self) -> int | None:
        """The k in use: the user's, else the chosen one."""
        segmentation = self.segmentation()
        if segmentation is None:
            return None
        return int(self.k) if self.k is not None else segmentation.chosen_k

    @param.depends(*CUSTOMER_DEPS, "k")
    def clustering(self) -> cl.Clustering | None:
        segmentation = self.segmentation()
        k = self.effective_k()
        if segmentation is None or k is None:
            return None
        spend = self.customer_model().histories["total_spend"]
        return self._memo.get(("clusters", self._regions(), k),
                              lambda: cl.fit_clusters(segmentation.features.values, k, spend))

    @param.depends(*CUSTOMER_DEPS, "k")
    def k_metrics(self) -> pd.DataFrame:
        """Long table: k, metric, raw value, score scaled 0–1 (1 = the best k on that metric)."""
        segmentation = self.segmentation()
        columns = ["k", "metric", "metric_label", "value", "score", "value_text"]
        if segmentation is None:
            return _empty(columns)
        return _scaled_metrics(segmentation.metrics)

    @param.depends(*CUSTOMER_DEPS, *CLV_PARAMS, "k")
    def cluster_profiles(self) -> pd.DataFrame:
        """Per cluster: description, customers, share, spend, order value, purchases, recency, email open rate,
        churn probability, CLV, P(alive)."""
        clustering, segmentation = self.clustering(), self.segmentation()
        columns = ["cluster", "description", "customers", "share", "spend", "aov", "purchases", "days_since_last",
                   "email_open_rate", "churn_probability", "clv", "p_alive"]
        if clustering is None:
            return _empty(columns)
        h = self.customer_model().histories
        values = self.customer_values()
        metrics = pd.DataFrame({"spend": h["total_spend"], "aov": h["aov"], "purchases": h["purchases"],
                                "days_since_last": h["days_since_last"], "email_open_rate": h["email_open_rate"],
                                "churn_probability": h["churn_probability"], "clv": values["clv"],
                                "p_alive": values["p_alive"]})
        profile = cl.cluster_profiles(clustering.labels, metrics)
        descriptions = cl.describe_clusters(clustering.centres, segmentation.features.names)
        profile.insert(1, "description", [descriptions[c - 1] for c in profile["cluster"]])
        return profile[columns]

    @param.depends(*CUSTOMER_DEPS, "k")
    def cluster_points(self) -> pd.DataFrame:
        """A fixed sample of customers on the first two principal components, with their cluster."""
        clustering, segmentation = self.clustering(), self.segmentation()
        columns = ["pc1", "pc2", "cluster_name", "customer_id", "spend_text", "purchases_text", "recency_text"]
        if clustering is None:
            return _empty(columns).astype({"pc1": float, "pc2": float})
        key = ("pca", self._regions())
        rows = cl.plot_rows(len(clustering.labels))
        projected, explained = self._memo.get(key, lambda: cl.principal_components(segmentation.features.values, rows))
        h = self.customer_model().histories.iloc[rows]
        frame = pd.DataFrame({"pc1": projected[:, 0], "pc2": projected[:, 1],
                              "cluster_name": [f"Cluster {c}" for c in clustering.labels[rows]],
                              "customer_id": h["customer_id"].astype(str).to_numpy(),
                              "spend_text": [rupees(v) for v in h["total_spend"]],
                              "purchases_text": [count(v) for v in h["purchases"]],
                              "recency_text": [f"{count(v)} days" for v in h["days_since_last"]]})
        frame.attrs["explained"] = explained
        return frame

    @param.depends(*CUSTOMER_DEPS, *CLV_PARAMS)
    def clv_histogram(self) -> pd.DataFrame:
        """Customers per CLV bin up to the 99th percentile (the rest counted in the last bin)."""
        values = self.customer_values()["clv"].dropna().to_numpy()
        columns = ["start", "end", "customers", "range_text", "count_text", "share_text"]
        if not len(values):
            return _empty(columns).astype({"start": float, "end": float, "customers": float})
        top = float(np.quantile(values, 0.99)) or float(values.max()) or 1.0
        edges = np.linspace(0, top, CLV_BINS + 1)
        counts, _ = np.histogram(np.clip(values, 0, top), bins=edges)
        frame = pd.DataFrame({"start": edges[:-1], "end": edges[1:], "customers": counts.astype(float)})
        frame["range_text"] = [f"{rupees(a)} – {rupees(b)}" + (" and above" if i == CLV_BINS - 1 else "")
                               for i, (a, b) in enumerate(zip(frame["start"], frame["end"]))]
        frame["count_text"] = [count(v) for v in frame["customers"]]
        frame["share_text"] = [percent(v / len(values)) for v in frame["customers"]]
        return frame

    @param.depends(*CUSTOMER_DEPS, *CLV_PARAMS, "k")
    def top_customers(self) -> pd.DataFrame:
        """The customers with the highest CLV, with P(alive), label and cluster, for display."""
        values = self.customer_values()
        scores = self.rfm_scores()
        clustering = self.clustering()
        frame = values.assign(label=scores["label"].to_numpy(),
                              cluster=clustering.labels if clustering is not None else 0)
        top = frame.nlargest(TOP_CUSTOMERS, "clv", keep="all").sort_values(
            ["clv", "customer_id"], ascending=[False, True]).head(TOP_CUSTOMERS)
        return pd.DataFrame({
            "Customer": top["customer_id"].astype(str), "RFM label": top["label"],
            "Cluster": [f"Cluster {c}" if c else "n/a" for c in top["cluster"]],
            "Spend to date": [rupees(v) for v in top["total_spend"]],
            "P(alive)": [percent(v) for v in top["p_alive"]],
            f"Purchases, next {self.horizon_months} mo": [number(v, 1) for v in top["expected_purchases"]],
            "Expected order value": [rupees(v) for v in top["expected_aov"]],
            f"CLV, {self.horizon_months} mo": [rupees(v) for v in top["clv"]],
        })

    @param.depends(*CUSTOMER_DEPS, *CLV_PARAMS)
    def insight_top_customers(self) -> str:
        values = self.customer_values().dropna(subset=["clv"])
        if values.empty:
            return "No lifetime value to rank customers by: see the CLV view."
        top = values.nlargest(TOP_CUSTOMERS, "clv")
        total = values["clv"].sum()
        fading = top[top["p_alive"] < 0.5]
        text = (f"The top {len(top)} customers carry {percent(top['clv'].sum() / total) if total else 'n/a'} of the "
                f"expected value over {self.horizon_months} months. ")
        if top["p_alive"].isna().all():
            text += "Whether they are still active cannot be told from these histories (see the CLV view)."
        elif len(fading):
            text += (f"{len(fading)} of them {'is' if len(fading) == 1 else 'are'} more likely gone than active "
                     "(P(alive) < 50 %): contact them personally first.")
        else:
            text += f"All are likely active (lowest P(alive) {percent(top['p_alive'].min())}): keep them close."
        return text

    # -- LTV:CAC ------------------------------------------------------------------------------------------
    @param.depends("channel_mapping")
    def mapping(self) -> tuple[dict[str, tuple[str, ...]], list[str]]:
        """The acquisition → campaign channel map in force and the problems of the user's text."""
        return ue.parse_mapping(self.channel_mapping, self.acquisition_channels, self.campaign_channel_names)

    @param.depends(*WINDOW_DEPS, *CLV_PARAMS, "channel_mapping", "cac_basis")
    def ltv_cac(self) -> pd.DataFrame:
        """LTV, CAC, LTV:CAC, payback months and band per acquisition channel for the window's acquisitions."""
        values = self.customer_values()
        start, end = self._window()
        acquired = values["acquired_on"]
        in_window = pd.Series(acquired.notna().to_numpy(), index=values.index)
        if start is not None:
            in_window &= acquired >= pd.Timestamp(start)
        if end is not None:
            in_window &= acquired <= pd.Timestamp(end)
        cohort = values[in_window]
        ltv = self.margin * cohort["total_spend"] + cohort["clv"].fillna(0.0)
        monthly = self.margin * cohort["total_spend"] / np.maximum(cohort["tenure_months"], 1.0)
        by_channel = pd.DataFrame({"acquisition_channel": cohort["acquisition_channel"], "ltv": ltv,
                                   "monthly_margin": monthly}).groupby("acquisition_channel")
        summary = pd.DataFrame({"customers": by_channel.size(), "ltv": by_channel["ltv"].mean(),
                                "monthly_margin": by_channel["monthly_margin"].mean()}).reset_index()
        campaign = sq.channel_spend(self.store, self.filter_state())
        mapping, _ = self.mapping()
        table = ue.ltv_cac_table(summary, campaign["spend"], mapping, campaign["conversions"],
                                 basis=CAC_BASES[self.cac_basis])
        table["band"] = pd.Categorical(table["band"], categories=list(ue.BAND_ORDER), ordered=True)
        table = table.sort_values(["band", "ltv_cac"], ascending=[True, False], ignore_index=True)
        table["band"] = table["band"].astype(str)
        return table

    @param.depends(*WINDOW_DEPS, *CLV_PARAMS, "channel_mapping", "cac_basis")
    def ltv_cac_display(self) -> pd.DataFrame:
        table = self.ltv_cac()
        return pd.DataFrame({
            "Acquisition channel": table["acquisition_channel"], "Acquired": [count(v) for v in table["customers"]],
            "Campaign conversions": [count(v) if s else "—" for v, s in zip(table["conversions"], table["spend_source"])],
            "Spend used": [rupees(v) if s else "—" for v, s in zip(table["spend"], table["spend_source"])],
            "From campaign channels": [s or "—" for s in table["spend_source"]],
            "CAC": [rupees(v) if np.isfinite(v) else "unknown" for v in table["cac"]],
            "LTV": [rupees(v) for v in table["ltv"]], "LTV:CAC": [ratio(v) for v in table["ltv_cac"]],
            "Payback (months)": [number(v, 1) for v in table["payback_months"]], "Band": table["band"]})

    # -- cohorts ---------------------------------------------------------------------------------------------
    @param.depends(*WINDOW_DEPS)
    def cohort_retention(self) -> pd.DataFrame:
        """Retention by first-order month and months since (cohorts whose first order is in the date range)."""
        start, end = self._window()
        key = ("cohorts", self._regions(), start, end)

        def build():
            activity = sq.cohort_activity(self.store, self.filter_state())
            return cohorts.retention_table(activity, last_month=sq.last_order_date(self.store))
        return self._memo.get(key, build) if self.has_orders else cohorts.retention_table(pd.DataFrame())

    # -- part 2: the CRM export ------------------------------------------------------------------------------
    def crm_model(self) -> CrmModel | None:
        """The cleaned CRM export, its RFM labels, segmentation and CLV models (None without the file)."""
        if not self.has_crm:
            return None
        return self._memo.get(("crm",), self._build_crm_model)

    def _build_crm_model(self) -> CrmModel:
        data = crm.clean_crm(sq.crm_export(self.store))
        frame = data.frame
        scores = crm.crm_rfm(frame)
        segmentation = _segmentation(crm.feature_frame(frame), crm.LOG_FEATURES)
        histories = crm.crm_histories(frame)
        bg, gg, problem = _fit_models(histories.dropna())
        return CrmModel(data, scores, segmentation, bg, gg, (problem,) if problem else ())

    def effective_crm_k(self) -> int | None:
        model = self.crm_model()
        if model is None or model.segmentation is None:
            return None
        return int(self.crm_k) if self.crm_k is not None else model.segmentation.chosen_k

    @param.depends("crm_k")
    def crm_clustering(self) -> cl.Clustering | None:
        model = self.crm_model()
        k = self.effective_crm_k()
        if model is None or k is None:
            return None
        return self._memo.get(("crm_clusters", k), lambda: cl.fit_clusters(
            model.segmentation.features.values, k, model.data.frame["TotalSpend"]))

    @param.depends(*CLV_PARAMS)
    def crm_clv(self) -> np.ndarray:
        """CLV of each CRM customer over the horizon (NaN without a fit or a purchase)."""
        model = self.crm_model()
        if model is None:
            return np.zeros(0)
        histories = crm.crm_histories(model.data.frame)
        if model.bg is None:
            return np.full(len(histories), np.nan)
        return clv.customer_lifetime_value(model.bg, model.gg, histories["frequency"], histories["recency"],
                                           histories["T"], histories["monetary_value"], months=self.horizon_months,
                                           discount_rate=self.discount_rate, margin=self.margin)

    @param.depends("crm_segment_by", "crm_k")
    def crm_frame(self) -> pd.DataFrame:
        """The cleaned CRM customers with their RFM label, cluster and the `segment` the views group by."""
        model = self.crm_model()
        if model is None:
            return pd.DataFrame()
        frame = model.data.frame.assign(rfm_label=model.scores["label"].to_numpy())
        clustering = self.crm_clustering()
        frame["cluster"] = [f"Cluster {c}" for c in clustering.labels] if clustering is not None else "n/a"
        frame["segment"] = frame["rfm_label"] if self.crm_segment_by == "RFM label" else frame["cluster"]
        return frame

    def _segment_order(self, frame: pd.DataFrame) -> list[str]:
        if self.crm_segment_by == "RFM label":
            return [label for label in rfm.LABELS if label in set(frame["segment"])]
        return sorted(set(frame["segment"]), key=lambda s: (len(s), s))

    @param.depends("crm_k", *CLV_PARAMS)
    def crm_profiles(self) -> pd.DataFrame:
        """Per CRM cluster: description, customers, share, spend, order value, response rate and CLV."""
        model, clustering = self.crm_model(), self.crm_clustering()
        columns = ["cluster", "description", "customers", "share", "spend", "aov", "response_rate", "clv"]
        if model is None or clustering is None:
            return _empty(columns)
        frame = model.data.frame
        metrics = pd.DataFrame({"spend": frame["TotalSpend"], "aov": frame["AOV"], "response_rate": frame["Response"],
                                "clv": self.crm_clv()})
        profile = cl.cluster_profiles(clustering.labels, metrics)
        descriptions = cl.describe_clusters(clustering.centres, model.segmentation.features.names)
        profile.insert(1, "description", [descriptions[c - 1] for c in profile["cluster"]])
        return profile[columns]

    @param.depends("crm_segment_by", "crm_k")
    def acceptance(self) -> pd.DataFrame:
        """Acceptance rate of campaigns 1–5 and the pilot's response per segment."""
        frame = self.crm_frame()
        columns = ["segment", "campaign", "accepted", "customers", "rate"]
        if frame.empty:
            return _empty(columns)
        return crm.acceptance_by_segment(frame, "segment", order=self._segment_order(frame))

    def economics(self) -> dict[str, float]:
        model = self.crm_model()
        return crm.pilot_economics(model.data.frame, self.contact_cost, self.response_revenue)

    @param.depends("crm_segment_by", "crm_k", "contact_cost", "response_revenue")
    def response_table(self) -> pd.DataFrame:
        """Per segment: response, lift, cost, revenue, profit, ROI and whether the policy contacts it."""
        frame = self.crm_frame()
        if frame.empty:
            return _empty(["segment", "customers", "responders", "response_rate", "lift", "cost", "revenue", "profit",
                           "roi", "contact", "small_sample"])
        return crm.segment_response(frame, "segment", self.contact_cost, self.response_revenue,
                                    order=self._segment_order(frame))

    @param.depends("crm_segment_by", "crm_k", "contact_cost", "response_revenue")
    def policy_display(self) -> pd.DataFrame:
        table = self.response_table()
        return pd.DataFrame({
            "Segment": [f"{name} (small sample)" if small else name
                        for name, small in zip(table["segment"], table["small_sample"])],
            "Customers": [count(v) for v in table["customers"]],
            "Responders": [count(v) for v in table["responders"]],
            "Response rate": [percent(v) for v in table["response_rate"]],
            "Lift": [ratio(v) for v in table["lift"]], "Cost": [rupees(v) for v in table["cost"]],
            "Revenue": [rupees(v) for v in table["revenue"]], "Profit": [rupees(v) for v in table["profit"]],
            "ROI": [percent(v) for v in table["roi"]],
            "Contact?": ["yes" if c else "no" for c in table["contact"]]})

    @param.depends("contact_cost", "response_revenue")
    def economics_html(self) -> str:
        """KPI cards of the pilot as run: contacts, response, cost, revenue, profit and the break-even rate."""
        if not self.has_crm:
            return ""
        e = self.economics()
        cards = [kpi_card("Contacted", count(e["contacted"]), caption="the whole export"),
                 kpi_card("Response rate", percent(e["response_rate"]), caption=f"{count(e['responders'])} responders"),
                 kpi_card("Cost", rupees(e["cost"]), caption=f"{rupees(self.contact_cost)} per contact"),
                 kpi_card("Revenue", rupees(e["revenue"]), caption=f"{rupees(self.response_revenue)} per response"),
                 kpi_card("Profit", rupees(e["profit"]), good=bool(e["profit"] >= 0), caption=f"ROI {percent(e['roi'])}"),
                 kpi_card("Break-even rate", percent(e["break_even_rate"]), caption="cost ÷ revenue per response")]
        return f'<div class="crm-economics" style="display:flex;flex-wrap:wrap;gap:12px">{"".join(cards)}</div>'

    @param.depends("crm_segment_by", "crm_k", "contact_cost", "response_revenue")
    def policy_html(self) -> str:
        """KPI cards of the contact policy against contacting everyone."""
        if not self.has_crm:
            return ""
        e = self.economics()
        summary = crm.policy_summary(self.response_table(), e)
        gain = summary["gain"]
        cards = [kpi_card("Contact", count(summary["contacted"]), caption=f"of {count(e['contacted'])} customers"),
                 kpi_card("Policy profit", rupees(summary["profit"]), good=bool(summary["profit"] >= 0),
                          caption=f"{percent(summary['responder_share'])} of responders reached"),
                 kpi_card("Contact everyone", rupees(e["profit"]), good=bool(e["profit"] >= 0), caption="the pilot"),
                 kpi_card("Policy gain", f"{'+' if gain >= 0 else '−'}{rupees(abs(gain))}", good=bool(gain >= 0),
                          caption="policy − everyone")]
        return f'<div class="crm-policy" style="display:flex;flex-wrap:wrap;gap:12px">{"".join(cards)}</div>'

    def contact_list(self) -> pd.DataFrame:
        """The customers the policy contacts (for the download)."""
        table = self.response_table()
        if table.empty:
            return pd.DataFrame(columns=["ID", "segment"])
        return crm.contact_list(self.crm_frame(), table, "segment", self.contact_cost, self.response_revenue)

    # -- charts -----------------------------------------------------------------------------------------------
    @param.depends(*CUSTOMER_DEPS)
    def plot_rfm_grid(self) -> hv.Overlay:
        """Recency × frequency score heatmap: customers per cell (colour and number), mean spend on hover."""
        grid = self.rfm_grid()
        grid = grid.assign(count_text=[count(v) for v in grid["customers"]],
                           mean_text=[rupees(v) for v in grid["mean_value"]],
                           total_text=[rupees(v) for v in grid["total_value"]],
                           cell=[f"R{r} F{f}" for r, f in zip(grid["r_score"], grid["f_score"])])
        peak = float(grid["customers"].max()) or 1.0
        grid["text_color"] = readable_text_colours(grid["customers"], "Blues", (0, peak))
        grid["text"] = [f"{c}\n{label}" for c, label in zip(grid["count_text"], grid["label"])]
        grid["f_score"] = grid["f_score"].astype(str)      # categorical axes: the five scores, nothing between
        grid["r_score"] = grid["r_score"].astype(str)
        kdims = [hv.Dimension("f_score", label="Frequency score (5 = most purchases)"),
                 hv.Dimension("r_score", label="Recency score (5 = most recent)")]
        heat = hv.HeatMap(grid, kdims, [hv.Dimension("customers", label="Customers"), "label", "count_text",
                                        "mean_text", "total_text", "cell"])
        heat = house_opts(heat, cmap="Blues", clim=(0, peak), colorbar=True, line_color="white", height=420,
                          hover_tooltips=[("Cell", "@{cell}"), ("Label", "@{label}"), ("Customers", "@{count_text}"),
                                          ("Mean spend", "@{mean_text}"), ("Total spend", "@{total_text}")],
                          title="RFM grid: customers by recency and frequency score")
        return heat * contrast_labels(grid, ["f_score", "r_score"], "text", "8pt")

    @param.depends(*CUSTOMER_DEPS, "k")
    def plot_k_selection(self) -> hv.Overlay:
        """The four model-selection metrics against k (each scaled so 1 is its best k), the chosen and current k."""
        frame = self.k_metrics()
        segmentation = self.segmentation()
        chosen = segmentation.chosen_k if segmentation else 2
        current = self.effective_k() or chosen
        layers = []
        for metric in cl.METRICS:
            part = frame[frame["metric"] == metric]
            if part.empty:
                part = pd.DataFrame({"k": pd.Series(dtype=float), "score": pd.Series(dtype=float),
                                     "metric_label": pd.Series(dtype=object), "value_text": pd.Series(dtype=object)})
            vdims = [hv.Dimension("score", label="Score (1 = best k on this metric)"), "metric_label", "value_text"]
            colour = METRIC_COLOURS[metric]
            layers.append(hv.Curve(part, "k", vdims, label=METRIC_SHORT[metric]).opts(color=colour, line_width=2))
            layers.append(hv.Scatter(part, "k", vdims, label=METRIC_SHORT[metric]).opts(
                color=colour, size=8, tools=["hover"],
                hover_tooltips=[("k", "@{k}"), ("Metric", "@{metric_label}"), ("Value", "@{value_text}")]))
        layers.append(hv.VLine(chosen).opts(color=GOOD, line_dash="dashed", line_width=2))
        layers.append(hv.VLine(current).opts(color=NEUTRAL, line_dash="dotted", line_width=2))
        align = "left" if chosen <= 5 else "right"
        layers.append(hv.Text(chosen + (0.08 if align == "left" else -0.08), 1.1, f"chosen k = {chosen}",
                              halign=align).opts(text_color=GOOD, text_font_size="9pt"))
        return hv.Overlay(layers).opts(responsive=True, height=360, legend_position="right", toolbar="above",
                                       title=f"Choosing k: showing k = {current}", xlabel="k (clusters)",
                                       ylabel="Score (1 = best k on this metric)", ylim=(-0.05, 1.18),
                                       xlim=(min(cl.K_RANGE) - 0.4, max(cl.K_RANGE) + 0.4),
                                       xticks=list(cl.K_RANGE), active_tools=["wheel_zoom"])

    @param.depends(*CUSTOMER_DEPS, "k")
    def plot_clusters(self) -> hv.Points:
        """A sample of customers on the first two principal components, coloured by cluster."""
        frame = self.cluster_points()
        explained = frame.attrs.get("explained", (np.nan, np.nan))
        k = self.effective_k() or 0
        colours = {f"Cluster {i + 1}": CLUSTER_COLOURS[i % len(CLUSTER_COLOURS)] for i in range(max(k, 1))}
        points = hv.Points(frame, [hv.Dimension("pc1", label=f"PC 1 ({percent(explained[0])} of variance)"),
                                   hv.Dimension("pc2", label=f"PC 2 ({percent(explained[1])} of variance)")],
                           ["cluster_name", "customer_id", "spend_text", "purchases_text", "recency_text"])
        return house_opts(points, color="cluster_name", cmap=colours, size=4, alpha=0.6, legend_position="right",
                          hover_tooltips=[("Customer", "@{customer_id}"), ("Cluster", "@{cluster_name}"),
                                          ("Spend", "@{spend_text}"), ("Purchases", "@{purchases_text}"),
                                          ("Last purchase", "@{recency_text}")],
                          title=f"{k} clusters on the first two principal components ({count(len(frame))} customers "
                                "drawn)", framewise=True)

    @param.depends(*CUSTOMER_DEPS, *CLV_PARAMS)
    def plot_clv(self) -> hv.Rectangles:
        """Histogram of customer lifetime value over the horizon."""
        frame = self.clv_histogram()
        bars = hv.Rectangles(frame.assign(zero=0.0), [hv.Dimension("start", label=f"CLV, next {self.horizon_months} "
                                                                                  "months (gross margin, discounted)"),
                                                      hv.Dimension("zero", label="Customers"), "end", "customers"],
                             ["range_text", "count_text", "share_text"])
        return house_opts(bars, color="#0072B2", line_color="white", xformatter=rupee_ticks(), framewise=True,
                          hover_tooltips=[("CLV", "@{range_text}"), ("Customers", "@{count_text}"),
                                          ("Share", "@{share_text}")],
                          title=f"Customer lifetime value, next {self.horizon_months} months")

    @param.depends(*WINDOW_DEPS, *CLV_PARAMS, "channel_mapping", "cac_basis")
    def plot_ltv_cac(self) -> hv.Overlay:
        """LTV:CAC per acquisition channel (known CAC), coloured by band, with the 1× and 3× lines."""
        table = self.ltv_cac()
        known = table[table["band"] != ue.UNKNOWN].copy()
        known["ratio_text"] = [ratio(v) for v in known["ltv_cac"]]
        known["cac_text"] = [rupees(v) for v in known["cac"]]
        known["ltv_text"] = [rupees(v) for v in known["ltv"]]
        known["payback_text"] = [f"{number(v, 1)} months" for v in known["payback_months"]]
        bars = hv.Bars(known, hv.Dimension("acquisition_channel", label="Acquisition channel"),
                       [hv.Dimension("ltv_cac", label="LTV:CAC (×)"), "band", "ratio_text", "cac_text", "ltv_text",
                        "payback_text"])
        top = float(known["ltv_cac"].max()) if len(known) else 0.0
        bars = house_opts(bars, color="band", cmap=BAND_COLOURS, show_legend=False, framewise=True,
                          ylim=(0, max(3.3, 1.1 * top)),
                          hover_tooltips=[("Channel", "@{acquisition_channel}"), ("LTV:CAC", "@{ratio_text}"),
                                          ("Band", "@{band}"), ("LTV", "@{ltv_text}"), ("CAC", "@{cac_text}"),
                                          ("Payback", "@{payback_text}")],
                          title="LTV:CAC by acquisition channel (≥ 3 scale · 1–3 optimise · < 1 fix)")
        return bars * hv.HLine(1.0).opts(color=BAD, line_dash="dashed") * hv.HLine(3.0).opts(color=GOOD,
                                                                                              line_dash="dashed")

    @param.depends(*WINDOW_DEPS)
    def plot_cohorts(self) -> hv.HeatMap:
        """Retention by cohort (first-order month) and months since the first order."""
        table = self.cohort_retention()
        frame = pd.DataFrame({
            "period": table["period"].astype(float),
            "cohort_label": [f"{pd.Timestamp(c):%Y-%m}" for c in table["cohort"]],
            "retention": table["retention"].astype(float) * 100,
            "retention_text": [percent(v) for v in table["retention"]],
            "customers_text": [count(v) for v in table["customers"]],
            "size_text": [count(v) for v in table["cohort_size"]]})
        heat = hv.HeatMap(frame, [hv.Dimension("period", label="Months since the first order"),
                                  hv.Dimension("cohort_label", label="Cohort (first-order month)")],
                          [hv.Dimension("retention", label="Ordering again (%)"), "retention_text", "customers_text",
                           "size_text"])
        return house_opts(heat, cmap="Greens", colorbar=True, height=480, invert_yaxis=True, framewise=True,
                          clim=(0, max(1.0, float(frame.loc[frame["period"] > 0, "retention"].max())
                                       if (frame["period"] > 0).any() else 1.0)),
                          hover_tooltips=[("Cohort", "@{cohort_label}"), ("Month", "@{period}"),
                                          ("Ordering", "@{retention_text}"), ("Customers", "@{customers_text}"),
                                          ("Cohort size", "@{size_text}")],
                          title="Cohort retention: share of each cohort ordering in month k (month 0 = 100 %)")

    @param.depends("crm_segment_by", "crm_k")
    def plot_acceptance(self) -> hv.Overlay:
        """Acceptance rate per campaign (rows) and segment (columns)."""
        frame = self.acceptance()
        frame = frame.assign(rate_pct=frame["rate"].astype(float) * 100,
                             rate_text=[percent(v) for v in frame["rate"]],
                             accepted_text=[count(v) for v in frame["accepted"]],
                             customers_text=[count(v) for v in frame["customers"]])
        peak = float(frame["rate_pct"].max()) if len(frame) else 1.0
        frame["text_color"] = readable_text_colours(frame["rate_pct"], "Oranges", (0, peak or 1.0))
        kdims = [hv.Dimension("segment", label=self.crm_segment_by), hv.Dimension("campaign", label="Campaign")]
        heat = hv.HeatMap(frame, kdims, [hv.Dimension("rate_pct", label="Accepted (%)"), "rate_text", "accepted_text",
                                         "customers_text"])
        heat = house_opts(heat, cmap="Oranges", clim=(0, peak or 1.0), colorbar=True, xrotation=30, height=380,
                          hover_tooltips=[("Segment", "@{segment}"), ("Campaign", "@{campaign}"),
                                          ("Accepted", "@{rate_text}"), ("Acceptances", "@{accepted_text}"),
                                          ("Customers", "@{customers_text}")],
                          title=f"Campaign acceptance by {'RFM label' if self.crm_segment_by == 'RFM label' else 'cluster'}")
        return heat * contrast_labels(frame, ["segment", "campaign"], "rate_text", "8pt")

    def chart_objects(self) -> list:
        """The charts the data supports, for the report and the HTML download."""
        charts = [self.plot_rfm_grid(), self.plot_k_selection(), self.plot_clusters(), self.plot_clv(),
                  self.plot_ltv_cac()]
        if self.has_orders:
            charts.append(self.plot_cohorts())
        if self.has_crm:
            charts.append(self.plot_acceptance())
        return charts

    # -- insights -----------------------------------------------------------------------------------------------
    def _source_sentence(self) -> str:
        model = self.customer_model()
        if model.source == "orders":
            text = f"Histories from orders.csv ({count(len(model.histories))} customers with orders)."
        else:
            text = (f"Histories approximated from customer_data.csv totals ({count(len(model.histories))} customers); "
                    "a readable orders.csv gives exact ones.")
        if model.without_purchase:
            text += f" {count(model.without_purchase)} customer(s) without a purchase are left out."
        return text

    @param.depends(*CUSTOMER_DEPS)
    def insight_rfm_grid(self) -> str:
        grid = self.rfm_grid()
        total = grid["customers"].sum()
        if not total:
            return "No customers under the current filters."
        champions = grid[grid["label"] == "Champions"]
        risk = grid[grid["label"].isin(["At risk", "Can't lose"])]
        value = grid["total_value"].sum()
        busiest = grid.loc[grid["customers"].idxmax()]
        return (f"**Champions** (R5 × F4–5) are {percent(champions['customers'].sum() / total)} of customers and bring "
                f"{percent(champions['total_value'].sum() / value) if value else 'n/a'} of spend; "
                f"**At risk** and **Can't lose** (R1–2 × F3–5) hold {percent(risk['total_value'].sum() / value) if value else 'n/a'} "
                f"of spend in {count(risk['customers'].sum())} customers — win them back first. The fullest cell is "
                f"R{busiest['r_score']} × F{busiest['f_score']} ({busiest['label']}, {count(busiest['customers'])}). "
                f"{self._source_sentence()}")

    @param.depends(*CUSTOMER_DEPS, *CLV_PARAMS)
    def segment_display(self) -> pd.DataFrame:
        summary = self.segment_summary()
        return pd.DataFrame({
            "Label": summary["label"], "Customers": [count(v) for v in summary["customers"]],
            "Share": [percent(v) for v in summary["share"]],
            "Days since last purchase": [number(v, 0) for v in summary["days_since_last"]],
            "Purchases": [number(v, 1) for v in summary["purchases"]],
            "Mean spend": [rupees(v) for v in summary["value"]],
            "Share of spend": [percent(v) for v in summary["value_share"]],
            f"Mean CLV, {self.horizon_months} mo": [rupees(v) for v in summary["clv"]],
            "P(alive)": [percent(v) for v in summary["p_alive"]], "What to do": summary["action"]})

    @param.depends(*CUSTOMER_DEPS, *CLV_PARAMS)
    def insight_segments(self) -> str:
        summary = self.segment_summary()
        if summary.empty:
            return "No customers under the current filters."
        ranked = summary.dropna(subset=["clv"]).sort_values("clv", ascending=False)
        text = ""
        if len(ranked):
            best, worst = ranked.iloc[0], ranked.iloc[-1]
            text = (f"**{best['label']}** have the highest expected value ({rupees(best['clv'])} per customer over "
                    f"{self.horizon_months} months"
                    f"{'' if np.isnan(best['p_alive']) else ', P(alive) ' + percent(best['p_alive'])}); "
                    f"**{worst['label']}** the lowest "
                    f"({rupees(worst['clv'])}). ")
        at_risk = summary[summary["label"].isin(["At risk", "Can't lose"])]
        if len(at_risk):
            text += (f"{count(at_risk['customers'].sum())} customers are At risk or Can't lose, with "
                     f"{percent(at_risk['value_share'].sum())} of all spend.")
        return text or "Lifetime value could not be estimated: see the CLV view."

    @param.depends(*CUSTOMER_DEPS, "k")
    def insight_k_selection(self) -> str:
        segmentation = self.segmentation()
        if segmentation is None:
            return "Too few customers to cluster under the current filters."
        names = ", ".join(escape_markdown(n) for n in segmentation.features.names)
        dropped = "; ".join(f"{escape_markdown(a)} (r = {r:.2f} with {escape_markdown(b)})" if b else
                            f"{escape_markdown(a)} (constant)" for a, b, r in segmentation.features.dropped)
        current = self.effective_k()
        text = f"**Chosen k = {segmentation.chosen_k}**: {segmentation.reason} "
        if current != segmentation.chosen_k:
            text += f"You are looking at k = {current}. "
        text += f"Features (log-scaled where skewed, standardised): {names}."
        if dropped:
            text += f" Dropped as highly correlated: {dropped}."
        return text

    @param.depends(*CUSTOMER_DEPS, "k")
    def insight_clusters(self) -> str:
        frame = self.cluster_points()
        if frame.empty:
            return "Too few customers to cluster under the current filters."
        explained = frame.attrs.get("explained", (np.nan, np.nan))
        metrics = self.segmentation().metrics.set_index("k")
        k = self.effective_k()
        if k not in metrics.index:
            return f"k = {k} was not scored."
        row = metrics.loc[k]
        separation = ("well separated" if row["silhouette"] >= 0.5 else
                      "moderately separated" if row["silhouette"] >= 0.25 else "overlapping")
        return (f"The first two principal components show {percent(explained[0] + explained[1])} of the variance. "
                f"With k = {k} the clusters are {separation} (silhouette {row['silhouette']:.2f}, stability "
                f"{row['stability']:.2f}): "
                + ("treat the boundaries as soft; " if separation == "overlapping" else "")
                + "the profiles below say what each cluster is.")

    @param.depends(*CUSTOMER_DEPS, *CLV_PARAMS, "k")
    def profile_display(self) -> pd.DataFrame:
        profile = self.cluster_profiles()
        return pd.DataFrame({
            "Cluster": [f"Cluster {c}" for c in profile["cluster"]], "Profile": profile["description"],
            "Customers": [count(v) for v in profile["customers"]], "Share": [percent(v) for v in profile["share"]],
            "Mean spend": [rupees(v) for v in profile["spend"]], "Order value": [rupees(v) for v in profile["aov"]],
            "Purchases": [number(v, 1) for v in profile["purchases"]],
            "Days since last": [number(v, 0) for v in profile["days_since_last"]],
            "Email open rate": [percent(v) for v in profile["email_open_rate"]],
            "Churn probability": [percent(v) for v in profile["churn_probability"]],
            f"CLV, {self.horizon_months} mo": [rupees(v) for v in profile["clv"]],
            "P(alive)": [percent(v) for v in profile["p_alive"]]})

    @param.depends(*CUSTOMER_DEPS, *CLV_PARAMS, "k")
    def insight_cluster_profiles(self) -> str:
        profile = self.cluster_profiles()
        if profile.empty:
            return "Too few customers to cluster under the current filters."
        top = profile.iloc[0]
        largest = profile.loc[profile["customers"].idxmax()]
        riskiest = profile.loc[profile["churn_probability"].idxmax()]
        return (f"**Cluster {top['cluster']}** ({escape_markdown(top['description'])}) spends most: "
                f"{rupees(top['spend'])} per customer, {percent(top['share'])} of customers. The largest is cluster "
                f"{largest['cluster']} ({percent(largest['share'])}); cluster {riskiest['cluster']} has the highest "
                f"churn probability ({percent(riskiest['churn_probability'])}). Response to campaigns is not in "
                "customer_data.csv: the CRM part below profiles response by cluster.")

    @param.depends(*CUSTOMER_DEPS, *CLV_PARAMS)
    def insight_clv(self) -> str:
        model = self.customer_model()
        if model.bg is None:
            return (f"Lifetime value cannot be estimated here: {escape_markdown(model.problem)}. "
                    f"{self._source_sentence()}")
        values = self.customer_values()
        total = values["clv"].sum()
        ordered = np.sort(values["clv"].dropna().to_numpy())[::-1]
        top_decile = ordered[: max(1, len(ordered) // 10)].sum() / total if total else np.nan
        if model.bg.identifies_dropout:
            alive = (f"{percent((values['p_alive'] < 0.5).mean())} of customers are more likely gone than active "
                     "(P(alive) < 50 %).")
        else:
            alive = (f"The model finds almost no dropout in these histories (a {percent(model.bg.dropout_chance, 3)} "
                     "chance after a purchase), so P(alive) would be about 100 % for every customer, however long "
                     "their silence: it is not shown, and these values assume that customers keep buying at their own "
                     "rate (an upper bound for those who have left).")
        p = model.bg.params
        g = model.gg.params
        sample = (f" (fitted on a random {count(model.bg.fitted_on)} of them)" if model.bg.fitted_on < model.bg.customers
                  else "")
        notes = ""
        if {"a", "b"} & set(model.bg.at_bound):
            notes += (f" The dropout parameters ran to their bound: every customer has about the same dropout chance "
                      f"after a purchase ({percent(model.bg.dropout_chance, 3)}).")
        if "p" in model.gg.at_bound or "v" in model.gg.at_bound:
            notes += " Gamma-Gamma's p ran to its bound: order values barely vary around each customer's own mean."
        return (f"Expected gross margin over the next {self.horizon_months} months: **{rupees(total)}** "
                f"({rupees(total / len(values))} per customer); the top 10 % of customers carry {percent(top_decile)} of "
                f"it. {alive} "
                f"BG/NBD r = {p['r']:.3g}, α = {p['alpha']:.3g}, a = {p['a']:.3g}, b = {p['b']:.3g}; Gamma-Gamma "
                f"p = {g['p']:.3g}, q = {g['q']:.3g}, v = {g['v']:.3g} on {count(model.gg.customers)} repeat buyers"
                f"{sample} (frequency–value correlation {model.gg.frequency_value_correlation:.2f}; the model assumes "
                f"none).{notes} {self._source_sentence()}")

    @param.depends(*WINDOW_DEPS, *CLV_PARAMS, "channel_mapping", "cac_basis")
    def insight_ltv_cac(self) -> str:
        table = self.ltv_cac()
        _, problems = self.mapping()
        start, end = self._window()
        window = (f"{start:%d %b %Y} – {end:%d %b %Y}" if start and end else "all dates")
        acquisition = ("first order date" if self.has_orders else
                       "acquisition date ≈ last campaign day − 30 × tenure_months days")
        by_customers = CAC_BASES[self.cac_basis] == "customers"
        denominator = (f"customers acquired in that window ({acquisition})" if by_customers else
                       "the conversions those campaign channels report (they include repeat purchases: CAC is a lower "
                       "bound)")
        text = (f"CAC = spend of the mapped campaign channels in {window} (under the region filter) ÷ {denominator}; "
                f"LTV = gross margin ({percent(self.margin)}) on spend to date + predicted CLV over {self.horizon_months} "
                "months. ")
        known = table[table["band"] != ue.UNKNOWN]
        if len(known):
            best, worst = known.iloc[0], known.iloc[-1]
            text += (f"{strong(best['acquisition_channel'])} returns {ratio(best['ltv_cac'])} "
                     f"({best['band'].lower()}, payback {number(best['payback_months'], 1)} months)")
            if len(known) > 1:
                text += (f"; {strong(worst['acquisition_channel'])} {ratio(worst['ltv_cac'])} "
                         f"({worst['band'].lower()})")
            text += ". "
        else:
            text += "No channel has a known CAC in this window. "
        mapped = table[table["spend_source"] != ""]
        acquired, reported = mapped["customers"].sum(), mapped["conversions"].sum()
        if by_customers and acquired and reported / acquired > SAMPLE_HINT:
            text += (f"Note: the mapped campaign channels report {count(reported)} conversions in the window against "
                     f"{count(acquired)} customers acquired in customer_data.csv; if that file is a sample of the "
                     "customers, CAC per file customer is overstated — compare with *CAC divides spend by: conversions*. ")
        unknown = table[table["band"] == ue.UNKNOWN]
        if len(unknown):
            text += ("CAC unknown for " + ", ".join(escape_markdown(c) for c in unknown["acquisition_channel"])
                     + ": no campaign spend maps to it (or nobody was acquired). ")
        shared = table[table["shared_spend"] != ""]
        if len(shared):
            text += "Spend of a campaign channel mapped to several acquisition channels is split by customers acquired. "
        if problems:
            text += "Map not understood: " + "; ".join(escape_markdown(p) for p in problems) + "."
        return text

    @param.depends(*WINDOW_DEPS)
    def insight_cohorts(self) -> str:
        if not self.has_orders:
            return self.orders_problem()
        table = self.cohort_retention()
        if table.empty:
            return "No cohort starts in the selected date range."
        average = cohorts.average_retention(table).set_index("period")["retention"]
        text = (f"{count(table['cohort'].nunique())} cohorts. On average {percent(average.get(1, np.nan))} of a "
                f"cohort orders again in month 1")
        if 3 in average.index:
            text += f", {percent(average.get(3))} in month 3"
        if 12 in average.index:
            text += f" and {percent(average.get(12))} in month 12"
        month1 = table[table["period"] == 1].set_index("cohort")["retention"]
        if len(month1) >= 2:
            best, worst = month1.idxmax(), month1.idxmin()
            text += (f". Best month-1 retention: the {best:%b %Y} cohort ({percent(month1[best])}); weakest: "
                     f"{worst:%b %Y} ({percent(month1[worst])})")
        return text + "."

    def _crm_missing(self) -> str:
        return escape_markdown(self.missing_message("marketing_campaign"))

    @param.depends("contact_cost", "response_revenue")
    def insight_crm_economics(self) -> str:
        if not self.has_crm:
            return self._crm_missing()
        e = self.economics()
        text = (f"The pilot contacted **{count(e['contacted'])}** customers at {rupees(self.contact_cost)} each "
                f"(cost {rupees(e['cost'])}); {count(e['responders'])} responded ({percent(e['response_rate'])}) at "
                f"{rupees(self.response_revenue)} each (revenue {rupees(e['revenue'])}): profit **{rupees(e['profit'])}**, "
                f"ROI {percent(e['roi'])}. Break-even needs a response rate of {percent(e['break_even_rate'])}")
        text += (" — the pilot was below it." if e["response_rate"] < e["break_even_rate"] else " — the pilot beat it.")
        return text + " " + crm.NOT_UPLIFT

    @param.depends("crm_segment_by", "crm_k")
    def insight_acceptance(self) -> str:
        if not self.has_crm:
            return ""   # the economics insight says what to add, once
        frame = self.acceptance()
        if frame.empty:
            return "No CRM customers to segment."
        pilot = frame[frame["campaign"] == crm.CAMPAIGN_LABELS["Response"]]
        best = pilot.loc[pilot["rate"].idxmax()]
        earlier = frame[frame["campaign"] != crm.CAMPAIGN_LABELS["Response"]]
        campaign_rates = earlier.groupby("campaign").apply(lambda g: g["accepted"].sum() / g["customers"].sum(),
                                                           include_groups=False)
        strongest = campaign_rates.idxmax() if len(campaign_rates) else None
        text = (f"{strong(best['segment'])} responded best to the pilot ({percent(best['rate'])} of "
                f"{count(best['customers'])}). ")
        if strongest is not None:
            text += f"Of campaigns 1–5, {strongest} was accepted most ({percent(campaign_rates[strongest])} overall). "
        model = self.crm_model()
        if self.crm_segment_by == "Cluster" and model.segmentation is not None:
            text += f"CRM clusters: {model.segmentation.reason}"
        return text

    @param.depends("crm_k", *CLV_PARAMS)
    def crm_profile_display(self) -> pd.DataFrame:
        profile = self.crm_profiles()
        return pd.DataFrame({
            "Cluster": [f"Cluster {c}" for c in profile["cluster"]], "Profile": profile["description"],
            "Customers": [count(v) for v in profile["customers"]], "Share": [percent(v) for v in profile["share"]],
            "Mean spend": [rupees(v) for v in profile["spend"]], "Order value": [rupees(v) for v in profile["aov"]],
            "Response rate": [percent(v) for v in profile["response_rate"]],
            f"CLV, {self.horizon_months} mo": [rupees(v) for v in profile["clv"]]})

    @param.depends("crm_k", *CLV_PARAMS)
    def insight_crm_profiles(self) -> str:
        if not self.has_crm:
            return ""   # the economics insight says what to add, once
        profile = self.crm_profiles()
        model = self.crm_model()
        if profile.empty:
            return "Too few CRM customers to cluster."
        best = profile.loc[profile["response_rate"].idxmax()]
        k = self.effective_crm_k()
        text = (f"With k = {k} (chosen: {model.segmentation.chosen_k}), **cluster {best['cluster']}** "
                f"({escape_markdown(best['description'])}) responds best: {percent(best['response_rate'])} against "
                f"{percent(model.data.frame['Response'].mean())} overall.")
        if model.problems:
            text += " CLV not estimated: " + "; ".join(escape_markdown(p) for p in model.problems) + "."
        else:
            text += (" CLV uses histories derived from the export's totals (purchases, tenure since Dt_Customer, "
                     "Recency): an approximation.")
        return text

    @param.depends("crm_segment_by", "crm_k", "contact_cost", "response_revenue")
    def insight_policy(self) -> str:
        if not self.has_crm:
            return ""   # the economics insight says what to add, once
        table = self.response_table()
        e = self.economics()
        summary = crm.policy_summary(table, e)
        if not summary["segments"]:
            return (f"At {rupees(self.contact_cost)} per contact and {rupees(self.response_revenue)} per response "
                    f"(break-even {percent(e['break_even_rate'])}), **no segment** has ROI > 0 and lift > 1: contact "
                    f"nobody rather than lose {rupees(-e['profit'])} contacting everyone." if e["profit"] < 0 else
                    "No segment beats both the base rate and break-even; contacting everyone earns "
                    f"{rupees(e['profit'])}.")
        chosen = ", ".join(escape_markdown(s) for s in table.loc[table["contact"], "segment"])
        small = table[table["contact"] & table["small_sample"]]
        text = (f"Contact **{chosen}**: {count(summary['contacted'])} customers ({percent(summary['contacted'] / e['contacted'])}) "
                f"who gave {percent(summary['responder_share'])} of the pilot's responders. Expected profit "
                f"**{rupees(summary['profit'])}** against {rupees(e['profit'])} for contacting everyone "
                f"({'+' if summary['gain'] >= 0 else '−'}{rupees(abs(summary['gain']))}). ")
        if len(small):
            text += (f"{', '.join(escape_markdown(s) for s in small['segment'])} "
                     f"{'has' if len(small) == 1 else 'have'} under {crm.MIN_SEGMENT} customers: test before scaling. ")
        return text + "Rates are the pilot's, in-sample: " + crm.NOT_UPLIFT

    # -- page -------------------------------------------------------------------------------------------------
    def export_frame(self) -> pd.DataFrame:
        """Per customer under the filters: RFM scores and label, cluster, P(alive), expected purchases, CLV."""
        values = self.customer_values()
        scores = self.rfm_scores()
        clustering = self.clustering()
        return pd.DataFrame({
            "customer_id": values["customer_id"], "acquisition_channel": values["acquisition_channel"],
            "region": values["region"], "r_score": scores["r_score"], "f_score": scores["f_score"],
            "m_score": scores["m_score"], "rfm_label": scores["label"],
            "cluster": clustering.labels if clustering is not None else np.nan,
            "total_spend": values["total_spend"], "p_alive": values["p_alive"],
            "expected_purchases": values["expected_purchases"], "clv": values["clv"]})

    def _table(self, value_fn, **options) -> pn.widgets.Tabulator:
        """A read-only table that fits its card: columns share the width, long text wraps."""
        return data_table(value_fn, show_index=False, disabled=True, layout="fit_columns",
                          sizing_mode="stretch_width", max_height=440,
                          formatters={column: {"type": "textarea"} for column in WRAPPED_COLUMNS},
                          widths=dict(COLUMN_WIDTHS), stylesheets=[TABLE_HEADER_CSS],
                          configuration={"columnDefaults": {"headerWordWrap": True,
                                                            "minWidth": MIN_COLUMN_WIDTH}}, **options)

    def layout(self) -> pn.viewable.Viewable:
        if self.k is None:
            self.use_chosen_k()
        model = self.crm_model()
        if self.crm_k is None and model is not None and model.segmentation is not None:
            self.crm_k = model.segmentation.chosen_k

        description = ("Who the customers are, what each is worth, who is slipping away, and whom the next campaign "
                       "should contact. Hover any chart for the numbers.")
        header = section_header(self, description)
        header.append(html_download(self.chart_objects, "novamart_segments_charts.html"))
        if not self.has_orders:
            header.append(notice(f"{self.orders_problem()} {DERIVED_NOTE}", kind="warning"))
        # Below the first screen: built after it has been sent, on a served page (Section.later).
        return pn.Column(header, markdown("### 1. The customer base: segments and value"),
                         view_card("RFM grid", [markdown(_rule_markdown())],
                                   chart(self.plot_rfm_grid, height=420), self.insight_rfm_grid),
                         self.cards_later(self._cards_below), sizing_mode="stretch_width")

    def _cards_below(self) -> list[pn.viewable.Viewable]:
        """The views below the first screen: the segments and clusters, lifetime value, cohorts and the CRM
        export's part."""
        clv_controls = [self.widget("horizon_months", pn.widgets.IntSlider),
                        self.widget("discount_rate", pn.widgets.FloatSlider, format="0.00%"),
                        self.widget("margin", pn.widgets.FloatSlider, format="0%")]
        part1 = [
            view_card("RFM segments", [csv_download(self.export_frame, "novamart_customer_segments.csv",
                                                    "Download customers (CSV)")],
                      self._table(self.segment_display), self.insight_segments, wide=True),
            view_card("Choosing the number of clusters", [self.widget("k", pn.widgets.IntSlider)], chart(self.plot_k_selection),
                      self.insight_k_selection),
            view_card("Clusters on two principal components", [], chart(self.plot_clusters), self.insight_clusters),
            view_card("Cluster profiles", [], self._table(self.profile_display), self.insight_cluster_profiles,
                      wide=True),
            view_card("Customer lifetime value (BG/NBD + Gamma-Gamma)", clv_controls, chart(self.plot_clv),
                      self.insight_clv),
            view_card(f"Top {TOP_CUSTOMERS} customers by CLV, with P(alive)", [], self._table(self.top_customers),
                      self.insight_top_customers, wide=True),
            view_card("LTV:CAC and payback by acquisition channel",
                      [self.widget("cac_basis", pn.widgets.Select),
                       self.widget("channel_mapping", pn.widgets.TextAreaInput, height=170)],
                      pn.Column(chart(self.plot_ltv_cac), self._table(self.ltv_cac_display),
                                sizing_mode="stretch_width"), self.insight_ltv_cac, wide=True, side_width=420),
        ]
        if self.has_orders:
            part1.append(view_card("Cohort retention", [], chart(self.plot_cohorts, height=480), self.insight_cohorts))
        else:
            part1.append(notice(f"Cohort retention needs orders: {self.orders_problem()}"))
        if self.has_crm:
            part2 = [
                markdown("### 2. The CRM export: campaign response and whom to contact"),
                view_card("Data quality and the pilot's economics", [],
                          pn.Column(html(self.economics_html, sizing_mode="stretch_width"),
                                    self._table(self.crm_quality()), sizing_mode="stretch_width"),
                          self.insight_crm_economics, wide=True),
                view_card("CRM clusters", [self.widget("crm_k", pn.widgets.IntSlider)], self._table(self.crm_profile_display),
                          self.insight_crm_profiles, wide=True),
                view_card("Campaign acceptance by segment",
                          [self.widget("crm_segment_by", pn.widgets.RadioButtonGroup)], chart(self.plot_acceptance),
                          self.insight_acceptance),
                view_card("Contact policy: contact where ROI > 0 and lift > 1",
                          [self.widget("crm_segment_by", pn.widgets.RadioButtonGroup, name="Segment by"),
                           self.widget("contact_cost", pn.widgets.FloatInput), self.widget("response_revenue", pn.widgets.FloatInput),
                           csv_download(self.contact_list, "novamart_contact_list.csv", "Download contact list (CSV)")],
                          pn.Column(html(self.policy_html, sizing_mode="stretch_width"),
                                    self._table(self.policy_display), sizing_mode="stretch_width"),
                          self.insight_policy, wide=True),
            ]
        else:
            part2 = [markdown("### 2. The CRM export"),
                     notice(f"Campaign response, acceptance by segment and the contact policy need the CRM export: "
                            f"{self._crm_missing()}")]
        return [*part1, *part2]

    def crm_quality(self) -> pd.DataFrame:
        """The CRM ETL's data-quality checks for display."""
        model = self.crm_model()
        if model is None:
            return pd.DataFrame(columns=["Check", "Status", "Detail"])
        return model.data.quality.rename(columns={"check": "Check", "status": "Status", "detail": "Detail"})


def _scaled_metrics(metrics: pd.DataFrame) -> pd.DataFrame:
    """Long table of the k-selection metrics with each scaled to 0–1, 1 = best (Davies-Bouldin reversed)."""
    rows = []
    for metric in cl.METRICS:
        values = metrics[metric].astype(float)
        lo, hi = values.min(), values.max()
        scaled = (values - lo) / (hi - lo) if hi > lo else pd.Series(1.0, index=values.index)
        if metric == "davies_bouldin":
            scaled = 1 - scaled if hi > lo else scaled
        digits = 0 if metric == "calinski_harabasz" else 3
        rows.append(pd.DataFrame({"k": metrics["k"].astype(float), "metric": metric,
                                  "metric_label": cl.METRIC_LABELS[metric], "value": values, "score": scaled,
                                  "value_text": [number(v, digits) for v in values]}))
    return pd.concat(rows, ignore_index=True)


def _rule_markdown() -> str:
    lines = ["| Label | R | F |", "| --- | --- | --- |"]
    lines += [f"| {row.label} | {row.recency_scores} | {row.frequency_scores} |" for row in rfm.rule_table().itertuples()]
    return ("Scores are quintiles (5 = best; recency reversed; ties by customer id). Labels by rule, first match "
            "wins:\n\n" + "\n".join(lines))


def warm_up(store) -> None:
    """Compute the section's expensive results for the unfiltered data into the shared results.

    A server runs this in the background once per store, after its first session has loaded
    (`session.warm_up_after_load`; on the reference data the fits take 0.7–2.7 s, at 1M customers 10–15 s), so
    the first user to open Customer value & segments does not wait for them. It uses a section of its own,
    which no session changes while it runs.
    """
    section = SegmentSection(store=store, filters=Filters(store))
    for result in (section.customer_values, section.rfm_scores, section.clustering, section.cluster_points,
                   section.cohort_retention, section.crm_model):
        result()
