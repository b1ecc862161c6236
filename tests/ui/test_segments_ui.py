"""Customer value & segments in headless Chromium: the k slider rewrites the cluster profiles, the contact cost
rewrites the contact policy, the segment switch redraws the acceptance heatmap, and the reference data (no orders,
no CRM export) says what to add. Expected texts come from the view-model on the same data (itself tested against
pandas in tests/views/test_segments.py)."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from novamart_panel.format import count, rupees
from novamart_panel.views.filters import Filters
from novamart_panel.views.segments import SegmentSection
from ui_helpers import ACTIVE_SECTION, FIGURE_TITLES_JS, insight

pytestmark = pytest.mark.ui

QUERY = "?tab=segments"


@pytest.fixture(scope="module")
def expected(packaged_store) -> SegmentSection:
    """The same section the browser shows, computed in the test process."""
    return SegmentSection(store=packaged_store, filters=Filters(packaged_store))


def open_segments(page: Page, open_app, data: str = "packaged") -> Page:
    open_app(page, data, QUERY, ready=".insight")
    expect(page.locator(ACTIVE_SECTION)).to_have_text("Customer value & segments")
    return page


def card(page: Page, title: str):
    view = page.locator(".card", has=page.locator(".card-title", has_text=title)).first
    view.scroll_into_view_if_needed()
    return view


def test_k_and_contact_cost_rewrite_the_tables(page, browser_log, open_app, expected, screenshot):
    chosen = expected.segmentation().chosen_k
    open_segments(page, open_app)
    selection = insight(page, "Chosen k =")
    expect(selection).to_contain_text(f"Chosen k = {chosen}")
    profiles = card(page, "Cluster profiles").locator(".tabulator-row")
    expect(profiles).to_have_count(chosen)

    handle = card(page, "Choosing the number of clusters").locator(".noUi-handle")
    handle.focus()
    handle.press("ArrowRight")
    expect(profiles).to_have_count(chosen + 1)
    expect(selection).to_contain_text(f"You are looking at k = {chosen + 1}")
    expected.k = chosen + 1
    top = expected.cluster_profiles().iloc[0]
    expect(card(page, "Cluster profiles").locator(".tabulator-row").first).to_contain_text(rupees(top["spend"]))
    page.wait_for_function(f"() => ({FIGURE_TITLES_JS})().includes('Choosing k: showing k = {chosen + 1}')")

    policy = card(page, "Contact policy")
    first_segment = expected.response_table().iloc[0]
    expect(policy.locator(".tabulator-row").first).to_contain_text(rupees(first_segment["cost"]))
    cost = policy.locator(".bk-input-group", has_text="Cost per contact").locator("input")
    cost.fill("5")
    cost.press("Enter")
    expected.contact_cost = 5.0
    repriced = expected.response_table().iloc[0]
    expect(policy.locator(".tabulator-row").first).to_contain_text(rupees(repriced["cost"]))
    assert repriced["cost"] != first_segment["cost"]
    sentence = expected.insight_policy().replace("**", "").replace("\\", "")
    expect(policy.locator(".insight")).to_contain_text(sentence[:60])
    screenshot(page, "packaged-segments")
    browser_log.assert_clean()


def test_segment_switch_redraws_the_acceptance_heatmap(page, browser_log, open_app, expected):
    open_segments(page, open_app)
    view = card(page, "Campaign acceptance by segment")
    page.wait_for_function(f"() => ({FIGURE_TITLES_JS})().includes('Campaign acceptance by RFM label')")
    view.get_by_role("button", name="Cluster").click()
    page.wait_for_function(f"() => ({FIGURE_TITLES_JS})().includes('Campaign acceptance by cluster')")
    expected.crm_segment_by = "Cluster"
    best = expected.acceptance().query("campaign == 'Pilot (Response)'").sort_values("rate").iloc[-1]
    expect(insight(page, "responded best to the pilot")).to_contain_text(f"{best['segment']}")
    # The policy table beside it is segmented the same way (one radio group drives both).
    expect(card(page, "Contact policy").locator(".tabulator-row").first).to_contain_text("Cluster 1")
    browser_log.assert_clean()


def test_reference_data_says_what_to_add(page, browser_log, open_app, reference_store, screenshot):
    section = SegmentSection(store=reference_store, filters=Filters(reference_store))
    open_segments(page, open_app, "reference")
    expect(page.locator(".alert", has_text="approximated from customer_data.csv").first).to_be_visible()
    expect(page.locator(".alert", has_text="add marketing_campaign.csv").first).to_be_visible()
    expect(page.locator(".alert", has_text="add orders.csv").first).to_be_visible()
    model = section.customer_model()
    expect(insight(page, "Expected gross margin")).to_contain_text(
        f"Histories approximated from customer_data.csv totals ({count(len(model.histories))} customers)")
    for title in ("RFM grid", "Choosing the number of clusters", "Clusters on two principal components",
                  "Customer lifetime value", "LTV:CAC"):
        expect(card(page, title).locator("canvas").first).to_be_visible()
    screenshot(page, "reference-segments")
    browser_log.assert_clean()
