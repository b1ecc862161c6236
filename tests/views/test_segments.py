"""Customer value & segments: the view-model's frames follow its controls and the global filters, equal pandas on
the CSV files, survive missing optional files and hostile text, and refit only what a control changes."""
from __future__ import annotations

import io
import shutil

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import pytest
from bokeh.models import ColumnDataSource

from novamart_panel.analytics import clv, rfm
from novamart_panel.analytics import unit_economics as ue
from novamart_panel.data.store import DataStore
from novamart_panel.export import safe_csv
from novamart_panel.format import escape_markdown
from novamart_panel.report import _Omissions, section_content
from novamart_panel.views import segments as seg
from novamart_panel.views.filters import Filters
from novamart_panel.views.segments import SegmentSection, shared_results

HOSTILE = "<script>alert(1)</script>*Promo*"


@pytest.fixture(scope="module", autouse=True)
def bokeh_backend():
    pn.extension("tabulator")


@pytest.fixture(scope="module")
def packaged(packaged_store) -> SegmentSection:
    """One section on the packaged data for the read-only tests (its memo keeps the fits between tests)."""
    return SegmentSection(store=packaged_store, filters=Filters(packaged_store))


@pytest.fixture(scope="module")
def reference(reference_store) -> SegmentSection:
    return SegmentSection(store=reference_store, filters=Filters(reference_store))


@pytest.fixture(scope="module")
def orders(packaged_dir) -> pd.DataFrame:
    return pd.read_csv(packaged_dir / "orders.csv")


@pytest.fixture(scope="module")
def customers(packaged_dir) -> pd.DataFrame:
    return pd.read_csv(packaged_dir / "customer_data.csv")


@pytest.fixture(scope="module")
def hostile_dir(packaged_dir, tmp_path_factory):
    """The packaged data with an acquisition channel and a CRM id written to attack Markdown/HTML and spreadsheets."""
    folder = tmp_path_factory.mktemp("hostile")
    for path in packaged_dir.glob("*.csv"):
        shutil.copy(path, folder / path.name)
    rows = pd.read_csv(packaged_dir / "customer_data.csv")
    rows.loc[rows["acquisition_channel"] == "Partner", "acquisition_channel"] = HOSTILE
    rows.to_csv(folder / "customer_data.csv", index=False)
    crm_rows = pd.read_csv(packaged_dir / "marketing_campaign.csv", sep="\t", dtype=str, keep_default_na=False)
    crm_rows["ID"] = '=HYPERLINK("' + crm_rows["ID"] + '")'   # every id a spreadsheet formula
    crm_rows.to_csv(folder / "marketing_campaign.csv", sep="\t", index=False)
    return folder


def fresh(store) -> SegmentSection:
    return SegmentSection(store=store, filters=Filters(store))


# -- part 1 on the packaged data --------------------------------------------------------------------------------
def test_histories_come_from_orders_with_lifetimes_definitions(packaged, orders):
    model = packaged.customer_model()
    assert model.source == "orders" and model.without_purchase == 0
    expected = clv.rfm_summary(orders, "customer_id", "order_date", "amount")
    mine = model.histories.set_index("customer_id")[["frequency", "recency", "T", "monetary_value"]]
    pd.testing.assert_frame_equal(mine.sort_index(), expected.sort_index(), check_names=False, rtol=1e-9)
    refit = clv.fit_bg_nbd(expected["frequency"], expected["recency"], expected["T"])
    assert model.bg.params == pytest.approx(refit.params)


def test_rfm_grid_counts_equal_scores_computed_from_the_csv(packaged, orders):
    summary = clv.rfm_summary(orders, "customer_id", "order_date", "amount")
    spend = orders.groupby("customer_id")["amount"].sum().reindex(summary.index)
    scores = rfm.rfm_scores(summary.index.to_numpy(), summary["T"] - summary["recency"], summary["frequency"] + 1, spend)
    grid = packaged.rfm_grid()
    assert len(grid) == 25 and grid["customers"].sum() == len(summary)
    expected = scores.groupby(["r_score", "f_score"]).size()
    mine = grid.set_index(["r_score", "f_score"])["customers"]
    assert mine[mine > 0].to_dict() == expected.to_dict()
    labels = packaged.segment_summary().set_index("label")["customers"]
    assert labels.to_dict() == scores["label"].value_counts().to_dict()


def test_chosen_k_is_the_default_and_k_changes_the_profiles(packaged_store):
    view = fresh(packaged_store)
    segmentation = view.segmentation()
    assert view.k is None and view.effective_k() == segmentation.chosen_k
    assert len(view.cluster_profiles()) == segmentation.chosen_k
    view.k = 5
    profile = view.cluster_profiles()
    assert profile["cluster"].tolist() == [1, 2, 3, 4, 5]
    assert profile["customers"].sum() == len(view.customer_model().histories)
    assert profile["spend"].is_monotonic_decreasing
    assert view.profile_display()["Cluster"].tolist() == [f"Cluster {i}" for i in range(1, 6)]
    assert set(view.cluster_points()["cluster_name"]) <= {f"Cluster {i}" for i in range(1, 6)}
    assert "You are looking at k = 5" in view.insight_k_selection() or segmentation.chosen_k == 5


def test_the_region_filter_narrows_every_customer_view(packaged_store, customers):
    view = fresh(packaged_store)
    view.filters.regions = ["East"]
    east = customers[customers["region"] == "East"]
    assert len(view.customer_model().histories) == len(east)
    assert view.rfm_grid()["customers"].sum() == len(east)
    assert view.segment_summary()["customers"].sum() == len(east)
    assert len(view.export_frame()) == len(east)
    assert set(view.export_frame()["region"]) == {"East"}


def test_clv_controls_change_values_without_refitting(packaged_store, monkeypatch):
    shared_results(packaged_store).clear()   # fitted by the tests above, for every session of the process
    view = fresh(packaged_store)
    calls = []
    original = clv.fit_bg_nbd
    monkeypatch.setattr(clv, "fit_bg_nbd", lambda *a, **k: calls.append(1) or original(*a, **k))
    twelve = view.customer_values()["clv"].sum()
    view.horizon_months = 24
    longer = view.customer_values()["clv"].sum()
    view.margin = 0.6
    doubled = view.customer_values()["clv"].sum()
    view.crm_segment_by = "Cluster"
    view.k = 3
    view.contact_cost = 1.0
    view.plot_rfm_grid()
    view.plot_clv()
    assert longer > twelve
    assert doubled == pytest.approx(2 * longer)
    # One fit for the customers and one for the CRM export, none for any control above.
    view.insight_crm_profiles()
    assert len(calls) == 2
    view.horizon_months = 12
    assert view.customer_values()["clv"].sum() == pytest.approx(twelve * 0.6 / 0.3)
    assert len(calls) == 2


def test_ltv_cac_uses_the_mapped_spend_of_the_window(packaged_store, packaged_dir):
    view = fresh(packaged_store)
    table = view.ltv_cac().set_index("acquisition_channel")
    start, end = view.filters.date_range
    campaigns = pd.read_csv(packaged_dir / "campaign_performance.csv", parse_dates=["date"])
    window = campaigns[(campaigns["date"] >= pd.Timestamp(start)) & (campaigns["date"] <= pd.Timestamp(end))]
    social = window[window["channel"].isin(["Facebook", "Instagram", "LinkedIn"])]["spend"].sum()
    assert table.loc["Social Media", "spend"] == pytest.approx(social)
    values = view.customer_values()
    acquired = values[(values["acquired_on"] >= pd.Timestamp(start)) & (values["acquired_on"] <= pd.Timestamp(end))]
    assert table.loc["Social Media", "customers"] == (acquired["acquisition_channel"] == "Social Media").sum()
    assert table.loc["Social Media", "cac"] == pytest.approx(social / table.loc["Social Media", "customers"])
    for channel in ("Organic", "Partner", "Offline Event"):
        assert table.loc[channel, "band"] == ue.UNKNOWN
    assert "CAC unknown for Offline Event, Organic, Partner" in view.insight_ltv_cac()
    # A user's map: Partner's acquisitions now carry Referral spend (split with Referral by customers acquired).
    view.channel_mapping = "Partner: Referral\nOffline Event: Podcast"
    table = view.ltv_cac().set_index("acquisition_channel")
    assert table.loc["Partner", "band"] != ue.UNKNOWN
    assert table.loc["Partner", "spend"] + table.loc["Referral", "spend"] == pytest.approx(
        window[window["channel"] == "Referral"]["spend"].sum())
    assert "'Podcast' not a campaign channel" in view.insight_ltv_cac().replace("\\", "")
    # The other denominator: campaign conversions.
    view.cac_basis = list(seg.CAC_BASES)[1]
    by_conversions = view.ltv_cac().set_index("acquisition_channel")
    assert by_conversions.loc["Paid Search", "cac"] == pytest.approx(
        window[window["channel"] == "Google Ads"]["spend"].sum()
        / window[window["channel"] == "Google Ads"]["conversions"].sum())


def test_the_date_range_narrows_cac_window_and_cohorts(packaged_store):
    view = fresh(packaged_store)
    all_cohorts = view.cohort_retention()["cohort"].nunique()
    before = view.ltv_cac().set_index("acquisition_channel")["customers"].sum()
    start, end = view.filters.date_range
    view.filters.date_range = (pd.Timestamp("2024-01-01").date(), end)
    assert view.cohort_retention()["cohort"].nunique() == 12 < all_cohorts
    assert view.ltv_cac()["customers"].sum() < before
    month0 = view.cohort_retention()
    assert (month0.loc[month0["period"] == 0, "retention"] == 1.0).all()


# -- part 2: the CRM export ----------------------------------------------------------------------------------
def test_contact_cost_drives_the_policy_table(packaged_store):
    view = fresh(packaged_store)
    assert (view.contact_cost, view.response_revenue) == (3.0, 11.0)
    table = view.response_table()
    frame = view.crm_frame()
    assert table["customers"].sum() == len(frame) == 2240
    base = frame["Response"].mean()
    expected = frame.groupby("rfm_label")["Response"].mean()
    for row in table.itertuples():
        assert row.response_rate == pytest.approx(expected[row.segment])
        assert row.lift == pytest.approx(row.response_rate / base)
        assert row.contact == (row.roi > 0 and row.lift > 1)
    contacted = table["contact"].sum()
    view.contact_cost = 0.5
    cheap = view.response_table()
    assert cheap["contact"].sum() > contacted
    assert cheap["contact"].tolist() == (cheap["lift"] > 1).tolist()      # at 0.5 / 11 every above-base segment pays
    view.contact_cost = 20.0
    assert not view.response_table()["contact"].any()
    assert "**no segment** has ROI > 0" in view.insight_policy()
    display = view.policy_display()
    assert list(display.columns)[:3] == ["Segment", "Customers", "Responders"]
    assert (display["Contact?"] == "no").all()


def test_segment_by_cluster_and_the_acceptance_heatmap(packaged_store):
    view = fresh(packaged_store)
    view.crm_segment_by = "Cluster"
    k = view.effective_crm_k()
    acceptance = view.acceptance()
    assert set(acceptance["segment"]) == {f"Cluster {i}" for i in range(1, k + 1)}
    assert len(acceptance) == 6 * k
    frame = view.crm_frame()
    pilot = acceptance[acceptance["campaign"] == "Pilot (Response)"].set_index("segment")["rate"]
    assert pilot.to_dict() == pytest.approx(frame.groupby("cluster")["Response"].mean().to_dict())
    view.crm_k = k + 1
    assert view.acceptance()["segment"].nunique() == k + 1
    assert len(view.crm_profiles()) == k + 1


def test_economics_insight_and_quality(packaged):
    text = packaged.insight_crm_economics()
    assert "contacted **2,240**" in text and "Break-even needs a response rate of 27.3%" in text
    assert "not uplift" in text
    quality = packaged.crm_quality()
    assert list(quality.columns) == ["Check", "Status", "Detail"]
    assert quality.set_index("Check").loc["Z_Revenue is constant", "Status"] == "pass"


# -- the page -------------------------------------------------------------------------------------------------
def test_the_section_renders_and_tables_follow_the_controls(packaged_store):
    view = fresh(packaged_store)
    root = pn.panel(view).get_root()
    assert view.k == view.segmentation().chosen_k            # the chosen k is the slider's default
    sources = list(root.select({"type": ColumnDataSource}))
    assert any({"count_text", "mean_text"} <= set(s.data) for s in sources)       # the RFM grid with its hover
    tables = {id(t): t for t in _tabulators(view._layout)}
    profile_table = next(t for t in tables.values() if "Profile" in t.value.columns and "Email open rate" in t.value)
    policy_table = next(t for t in tables.values() if "Contact?" in t.value.columns)
    view.k = 6 if view.k != 6 else 5
    assert len(profile_table.value) == view.k
    before = policy_table.value["Cost"].tolist()
    view.contact_cost = 5.0
    assert policy_table.value["Cost"].tolist() != before


def _tabulators(layout):
    return [obj for obj in layout.select(pn.widgets.Tabulator)]


def test_plots_keep_one_structure_whatever_the_state(packaged_store):
    """Charts will be DynamicMaps updated in place: the same element type and layer count for every state."""
    view = fresh(packaged_store)

    def shape(obj):
        return (type(obj).__name__, len(obj) if isinstance(obj, hv.Overlay) else 1)

    first = {name: shape(getattr(view, name)()) for name in
             ("plot_rfm_grid", "plot_k_selection", "plot_clusters", "plot_clv", "plot_ltv_cac", "plot_cohorts",
              "plot_acceptance")}
    view.param.update(k=7, horizon_months=3, channel_mapping="Social Media:\nPaid Search:\nReferral:",
                      crm_segment_by="Cluster")
    view.filters.regions = ["North"]
    view.filters.date_range = (pd.Timestamp("2024-12-01").date(), view.filters.date_range[1])
    second = {name: shape(getattr(view, name)()) for name in first}
    assert first == second
    assert view.ltv_cac()["band"].eq(ue.UNKNOWN).all()        # the empty map: nothing known, bars still drawn


def test_report_collects_insights_and_charts(packaged):
    omitted = _Omissions()
    content = section_content(packaged, omitted)
    assert content is not None and len(content.charts) == 7
    assert len(content.insights) >= 10
    assert not [where for where, _ in omitted]


# -- the reference data (no orders, no CRM export) -------------------------------------------------------------
def test_reference_data_derives_histories_and_says_what_to_add(reference, reference_dir):
    rows = pd.read_csv(reference_dir / "customer_data.csv")
    model = reference.customer_model()
    assert model.source == "derived"
    assert model.without_purchase == (rows["total_purchases"] == 0).sum()
    assert model.bg is not None and model.gg is not None
    buyers = rows[rows["total_purchases"] > 0].sort_values("customer_id")
    np.testing.assert_array_equal(model.histories["frequency"], buyers["total_purchases"] - 1)
    assert "approximated from customer_data.csv" in reference.insight_clv()
    assert reference.cohort_retention().empty
    assert "add orders.csv" in reference.insight_cohorts()
    assert "add marketing_campaign.csv" in reference.insight_crm_economics()
    assert reference.insight_policy() == reference.insight_acceptance() == ""
    layout = pn.panel(reference).get_root()
    texts = " ".join(str(getattr(m, "text", "") or getattr(m, "object", "")) for m in layout.select({}))
    assert "approximated from" in texts and "add marketing_campaign.csv" in texts
    assert len(reference.chart_objects()) == 5


# -- hostile text --------------------------------------------------------------------------------------------------
def test_data_text_is_escaped_and_downloads_are_formula_safe(hostile_dir):
    view = fresh(DataStore.open(hostile_dir))
    view.channel_mapping = f"{HOSTILE}: Referral"
    text = view.insight_ltv_cac()
    assert "<script>" not in text and escape_markdown(HOSTILE) in text
    view.channel_mapping = f"{HOSTILE}: <b>bold</b>"
    assert "<b>" not in view.insight_ltv_cac()
    view.contact_cost = 0.1
    contacts = view.contact_list()
    assert len(contacts) and contacts["ID"].str.startswith("=HYPERLINK").all()
    csv_text = safe_csv(contacts)
    assert "\n=HYPERLINK" not in csv_text and "'=HYPERLINK" in csv_text
    parsed = pd.read_csv(io.StringIO(csv_text))
    assert len(parsed) == len(contacts)


@pytest.fixture(scope="module")
def tiny_dir(packaged_dir, tmp_path_factory):
    """Thirty customers (none in the East) with their orders and a CRM export of twelve rows: too few for any model."""
    folder = tmp_path_factory.mktemp("tiny")
    for path in packaged_dir.glob("*.csv"):
        shutil.copy(path, folder / path.name)
    rows = pd.read_csv(packaged_dir / "customer_data.csv")
    rows = rows[rows["region"] != "East"].head(30)
    rows.to_csv(folder / "customer_data.csv", index=False)
    orders = pd.read_csv(packaged_dir / "orders.csv")
    orders[orders["customer_id"].isin(rows["customer_id"])].to_csv(folder / "orders.csv", index=False)
    crm_rows = pd.read_csv(packaged_dir / "marketing_campaign.csv", sep="\t", dtype=str, keep_default_na=False)
    crm_rows.head(12).to_csv(folder / "marketing_campaign.csv", sep="\t", index=False)
    return folder


def test_too_little_data_says_so_instead_of_failing(tiny_dir):
    view = fresh(DataStore.open(tiny_dir))
    assert view.customer_model().bg is None
    assert "too few for a BG/NBD fit" in view.insight_clv()
    assert view.segmentation() is not None or "Too few customers" in view.insight_k_selection()
    root = pn.panel(view).get_root()
    assert root is not None
    for name in dir(view):
        if name.startswith("insight_"):
            assert isinstance(getattr(view, name)(), str)
    assert view.ltv_cac()["ltv"].notna().any()          # LTV falls back to margin on spend to date
    # A region with a handful of customers, then one with none: every view still answers.
    counts = view.customer_model().histories["region"].value_counts()
    view.filters.regions = [counts.idxmin()]
    assert len(view.customer_model().histories) == counts.min()
    assert len(view.chart_objects()) == 7
    view.filters.regions = ["East"]
    assert view.customer_model().histories.empty
    assert view.insight_rfm_grid() == "No customers under the current filters."
    assert len(view.chart_objects()) == 7
    assert all(isinstance(getattr(view, name)(), str) for name in dir(view) if name.startswith("insight_"))


def test_orders_without_a_readable_date_count_as_absent(packaged_dir, tmp_path):
    """orders.csv whose dates are all day-first (unreadable): histories come from customer_data.csv, the views
    that need orders say why, and everything else answers."""
    for path in packaged_dir.glob("*.csv"):
        shutil.copy(path, tmp_path / path.name)
    orders = pd.read_csv(packaged_dir / "orders.csv", dtype=str)
    orders["order_date"] = pd.to_datetime(orders["order_date"]).dt.strftime("%d/%m/%Y")
    orders.to_csv(tmp_path / "orders.csv", index=False)
    store = DataStore.open(tmp_path)
    assert store.has("orders")
    view = fresh(store)
    assert not view.has_orders and view.customer_model().source == "derived"
    assert len(view.customer_model().histories) > 1000 and view.customer_model().bg is not None
    assert view.insight_cohorts() == seg.NO_ORDER_DATES and view.cohort_retention().empty
    assert not view.segment_display().empty and view.insight_segments().startswith("**")
    assert "first order date" not in view.insight_ltv_cac()
    texts = " ".join(str(getattr(m, "text", "")) for m in pn.panel(view).get_root().references())
    assert "orders.csv has no order date that can be read" in texts and "approximated from" in texts
    assert len(view.chart_objects()) == 6           # no cohort heatmap; the CRM export is there


@pytest.fixture(scope="module")
def public_like_dir(packaged_dir, tmp_path_factory):
    """The packaged data with a CRM export carrying the public file's quirks and its documented pilot: 2,240 rows,
    334 responses, blank incomes, birth years 1893/1899/1900, YOLO/Absurd/Alone, dd-mm-yyyy text, Z_ constants."""
    folder = tmp_path_factory.mktemp("public_like")
    for path in packaged_dir.glob("*.csv"):
        shutil.copy(path, folder / path.name)
    rows = pd.read_csv(packaged_dir / "marketing_campaign.csv", sep="\t", dtype=str, keep_default_na=False)
    assert len(rows) == 2240
    rows["Response"] = ["1" if i < 334 else "0" for i in range(len(rows))]
    rows.loc[[5, 6, 7], "Year_Birth"] = ["1893", "1899", "1900"]
    rows.loc[[8, 9, 10], "Marital_Status"] = ["YOLO", "Absurd", "Alone"]
    rows.loc[[11, 12], "Income"] = ""
    rows.to_csv(folder / "marketing_campaign.csv", sep="\t", index=False)
    return folder


def test_public_like_crm_export_gives_the_documented_economics(public_like_dir):
    view = fresh(DataStore.open(public_like_dir))
    assert view.has_crm
    text = view.insight_crm_economics()
    assert "contacted **2,240** customers at ₹3 each (cost ₹6,720); 334 responded (14.9%)" in text
    assert "(revenue ₹3,674): profit **-₹3,046**" in text
    assert "Break-even needs a response rate of 27.3% — the pilot was below it." in text
    quality = view.crm_quality().set_index("Check")
    assert "1893, 1899, 1900" in quality.loc["Year_Birth gives an age of 16–100", "Detail"]
    blanks = (pd.read_csv(public_like_dir / "marketing_campaign.csv", sep="\t")["Income"].isna()).sum()
    assert blanks >= 2
    assert quality.loc["Income present", "Detail"].startswith(f"{blanks} missing income(s) set to the median")
    assert "YOLO (1) → Single" in quality.loc["Marital_Status in the known groups", "Detail"]
    table = view.response_table()
    assert table["responders"].sum() == 334
    summary = seg.crm.policy_summary(table, view.economics())
    assert summary["profit_everyone"] == -3046
    assert summary["profit"] == pytest.approx(table.loc[table["contact"], "profit"].sum())
    assert (table.loc[table["contact"], "response_rate"] > 3 / 11).all()


def test_k_follows_the_chosen_k_until_the_user_moves_it(packaged_store, monkeypatch):
    view = fresh(packaged_store)
    chosen = {(): 3, ("North",): 5, ("South",): 4}

    def fake_segmentation():
        return seg.Segmentation(None, pd.DataFrame(), chosen[view._regions()], "because")

    monkeypatch.setattr(view, "segmentation", fake_segmentation)
    view.use_chosen_k()
    assert view.k == 3
    view.filters.regions = ["North"]
    assert view.k == 5                       # not touched: follows the new population's choice
    view.k = 7
    view.filters.regions = ["South"]
    assert view.k == 7                       # the user's k stays


def test_served_a_region_change_follows_the_chosen_k_after_the_first_screen(packaged_store, monkeypatch,
                                                                            hold_execute):
    """The new population's clusterings (the chosen k) are fitted with the views that show k, below the RFM grid:
    served, after the first screen has been sent, not in the region change's first step (1-4 s on 2 cores)."""
    from novamart_panel.views import base

    scheduled = []
    monkeypatch.setattr(base, "served", lambda: True)
    monkeypatch.setattr(base, "next_on_loop", scheduled.append)
    hold_execute(scheduled.append)
    view = fresh(packaged_store)
    layout = view.__panel__()
    view.views_below(layout.objects[view.first_screen:])
    asked, segmentation = [], view.segmentation

    def watched_segmentation():
        asked.append(view._regions())
        return segmentation()

    monkeypatch.setattr(view, "segmentation", watched_segmentation)
    before = view.k
    view.filters.regions = ["North"]
    assert scheduled and view.k == before and ("North",) not in asked   # the first step: the RFM grid only
    while scheduled:
        scheduled.pop(0)()
    assert ("North",) in asked and view.k == segmentation().chosen_k


def test_sessions_of_one_folder_share_the_fitted_models(packaged_store, reference_store, monkeypatch):
    # At 1M customers the fits and tables take 10 s: the first session to open the section pays for them, not
    # every one. A session's own settings stay its own, and another folder gets its own fits.
    calls = []
    original = clv.fit_bg_nbd
    monkeypatch.setattr(clv, "fit_bg_nbd", lambda *a, **k: calls.append(1) or original(*a, **k))
    for store in (packaged_store, reference_store):
        shared_results(store).clear()
    first, second = fresh(packaged_store), fresh(packaged_store)
    assert first.customer_model() is second.customer_model()
    assert first.segmentation() is second.segmentation()
    assert len(calls) == 1
    second.horizon_months = 24
    assert second.customer_values()["clv"].sum() > first.customer_values()["clv"].sum()
    assert first.horizon_months == 12
    other = fresh(reference_store)
    assert other.customer_model() is not first.customer_model() and len(calls) == 2
    first.filters.regions = ["North"]
    first.catch_up()
    assert len(first.customer_model().histories) < len(second.customer_model().histories)


def test_a_server_fits_the_customer_models_in_the_background(packaged_store, monkeypatch):
    # Served, a new section asks for a warm-up once its page has loaded, once per store in the process; the
    # warm-up fills the shared results, so the section opens without fitting.
    from novamart_panel import session
    from novamart_panel.views import segments

    loaded = []
    monkeypatch.setattr(segments, "served", lambda: True)
    monkeypatch.setattr(session.pn.state, "onload", loaded.append)
    session.forget_warm_up(packaged_store, "Customer value & segments")
    shared_results(packaged_store).clear()
    fresh(packaged_store)
    assert len(loaded) == 1
    loaded[0]().result(120)   # the warm-up thread's future
    calls = []
    monkeypatch.setattr(clv, "fit_bg_nbd", lambda *a, **k: calls.append(1))
    view = fresh(packaged_store)
    assert len(loaded) == 1   # warmed up already: no second warm-up
    view.customer_values(), view.segmentation(), view.clustering(), view.cohort_retention(), view.crm_model()
    assert calls == []


def test_p_alive_is_not_shown_when_the_fit_finds_no_dropout(reference, reference_dir):
    # The reference histories carry no dropout the BG/NBD fit can find (lifetimes agrees: a and b run to about
    # 1e4 and 1e7). P(alive) was then ~98 % for churned customers ("Lost" at 97.6 %): shown as n/a, with why.
    model = reference.customer_model()
    assert not model.bg.identifies_dropout and model.bg.dropout_chance < 0.001
    assert reference.customer_values()["p_alive"].isna().all()
    assert set(reference.segment_display()["P(alive)"]) == {"n/a"}
    assert set(reference.top_customers()["P(alive)"]) == {"n/a"}
    clv_text = reference.insight_clv()
    assert "The model finds almost no dropout in these histories" in clv_text and "more likely gone" not in clv_text
    assert "cannot be told from these histories" in reference.insight_top_customers()
    assert "P(alive)" not in reference.insight_segments()
