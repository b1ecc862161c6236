"""Customer insights in headless Chromium: the controls (slider, checkbox, select, radio buttons, a click on a
bubble, clicks on the sunburst) change what the page says, as pandas on the CSV says they should."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from novamart_panel.format import count, percent
from ui_helpers import ACTIVE_SECTION, FIGURE_TITLES_JS, card, insight

pytestmark = pytest.mark.ui

QUERY = "?tab=customers"
# The view of the Bokeh figure whose title starts with `title` (drawn, when `drawn`), or undefined.
FIGURE_VIEW_JS = """(title, drawn) => {
  const views = [];
  const walk = (view) => { views.push(view); for (const child of (view.child_views ?? [])) walk(child); };
  for (const root of Object.values(Bokeh.index)) walk(root);
  return views.find(v => v.model.type === 'Figure' && (v.model.title?.text ?? '').startsWith(title)
                         && (!drawn || v.has_finished()));
}"""
# Screen position of a glyph's row (found by a column value) on the figure whose title starts with `title`: a
# bubble's centre, or the middle of a sunburst wedge (the centre disc: the origin).
ROW_POSITION_JS = f"""([title, column, value]) => {{
  const plot = ({FIGURE_VIEW_JS})(title, true);
  if (!plot) return null;
  for (const view of plot.renderer_views.values()) {{
    const data = view.model.data_source?.data;
    const row = data && data[column] ? Array.from(data[column]).indexOf(value) : -1;
    if (row < 0) continue;
    let x, y;
    if ('start_angle' in data) {{
      const angle = (data.start_angle[row] + data.end_angle[row]) / 2;
      const radius = data.inner_radius[row] === 0 ? 0 : (data.inner_radius[row] + data.outer_radius[row]) / 2;
      [x, y] = [radius * Math.cos(angle), radius * Math.sin(angle)];
    }} else {{
      [x, y] = [data[view.model.glyph.x.field][row], data[view.model.glyph.y.field][row]];
    }}
    const box = plot.canvas_view.el.getBoundingClientRect();
    return {{x: box.left + plot.frame.x_scale.compute(x), y: box.top + plot.frame.y_scale.compute(y)}};
  }}
  return null;
}}"""
# The y scale of the figure whose title starts with `title`, and the labels its left axis draws.
Y_AXIS_JS = f"""(title) => {{
  const plot = ({FIGURE_VIEW_JS})(title, true);
  if (!plot) return null;
  const axis = plot.renderer_views.get(plot.model.left[0]);
  const ticks = axis.tick_coords.major[1];
  return {{scale: plot.model.y_scale.type, labels: axis.compute_labels(ticks).items.map(box => box.text)}};
}}"""
# Screen position of the top-left corner of a figure's plotting frame (empty space on the bubble chart).
FRAME_CORNER_JS = f"""(title) => {{
  const plot = ({FIGURE_VIEW_JS})(title, false);
  const box = plot.canvas_view.el.getBoundingClientRect();
  return {{x: box.left + plot.frame.bbox.left + 6, y: box.top + plot.frame.bbox.top + 6}};
}}"""


@pytest.fixture(scope="module")
def customers(reference_dir) -> pd.DataFrame:
    return pd.read_csv(reference_dir / "customer_data.csv")


def open_customers(page: Page, open_app, query: str = QUERY) -> Page:
    open_app(page, "reference", query)
    expect(page.locator(ACTIVE_SECTION)).to_have_text("Customer insights")
    expect(insight(page, "customers shown are aged")).to_be_visible()
    return page


def click_row(page: Page, figure_title: str, column: str, value: str) -> None:
    page.wait_for_function(f"() => ({ROW_POSITION_JS})({[figure_title, column, value]!r}) !== null")
    position = page.evaluate(ROW_POSITION_JS, [figure_title, column, value])
    page.mouse.click(position["x"], position["y"])


def channel_chips(page: Page):
    return page.locator("#sidebar .bk-input-group", has_text="Channels").locator(
        ".choices__list--multiple .choices__item")


def busiest_bin(customers: pd.DataFrame, width: int) -> str:
    bins = (customers["age"] // width * width).value_counts()
    start, size = int(bins.idxmax()), int(bins.max())
    return f"The busiest {width}-year bin is {start}–{start + width - 1} ({count(size)} customers"


def test_bin_width_slider_rewrites_the_age_view(page, browser_log, open_app, customers, screenshot):
    open_customers(page, open_app)
    assert busiest_bin(customers, 5) != busiest_bin(customers, 6)
    expect(insight(page, "customers shown are aged")).to_contain_text(busiest_bin(customers, 5))
    slider = card(page, "1. Age distribution").locator(
        ".bk-input-group", has=page.locator(".bk-slider-title", has_text="Age bin width"))
    slider.locator(".noUi-handle").focus()
    slider.locator(".noUi-handle").press("ArrowRight")
    expect(insight(page, "customers shown are aged")).to_contain_text(busiest_bin(customers, 6))
    expect(slider.locator(".bk-slider-title")).to_contain_text("6")
    # The figure's new title is a separate patch from the insight's: wait for it rather than read it once.
    page.wait_for_function(f"() => ({FIGURE_TITLES_JS})().includes('Customers by age (6-year bins)')")
    screenshot(page, "reference-customers-age")
    browser_log.assert_clean()


def test_checkbox_select_radio_and_churn_slider(page, browser_log, open_app, customers):
    open_customers(page, open_app)
    note = page.locator(".ltv-note")
    expect(note).to_contain_text("Boxes and whiskers come from every customer")
    card(page, "2. Lifetime value").locator(".ltv-points input").check()
    shown = customers["customer_segment"].value_counts().clip(upper=1_000).sum()
    expect(note).to_contain_text(f"a fixed sample of {count(shown)} of {count(len(customers))} customers")

    # A linear axis, then a log one again: a Bokeh figure cannot change its scale in place, so the chart is new,
    # with its axis labelled (it once kept the log scale and lost its ticks).
    for checked, scale in ((False, "LinearScale"), (True, "LogScale")):
        card(page, "2. Lifetime value").locator(".ltv-log input").set_checked(checked)
        page.wait_for_function(f"() => ({Y_AXIS_JS})('Lifetime value by segment')?.scale === {scale!r}")
        labels = page.evaluate(Y_AXIS_JS, "Lifetime value by segment")["labels"]
        assert len(labels) >= 3 and ("₹0" in labels) == (scale == "LinearScale"), labels
        assert scale == "LinearScale" or "₹1,000" in labels, labels

    violins = card(page, "3. Satisfaction")
    violins.locator("select").select_option("Referral")
    page.wait_for_function(f"() => ({FIGURE_TITLES_JS})().some(t => t.startsWith("
                           "'Satisfaction by NPS category: Referral (left'))")
    # Back to every channel: the violins are no longer split (the split once stayed and the update failed).
    violins.locator("select").select_option("All channels (grouped)")
    page.wait_for_function(f"() => ({FIGURE_TITLES_JS})().includes("
                           "'Satisfaction by NPS category and acquisition channel')")

    scatter = card(page, "4. Income vs lifetime value")
    scatter.get_by_role("button", name="Per segment").click()
    expect(insight(page, "Income and lifetime value")).to_contain_text("Within segments the slope is steepest for")

    churn = card(page, "7. Churn risk")
    handle = churn.locator(".bk-input-group", has=page.locator(".bk-slider-title", has_text="Churn probability")
                           ).locator(".noUi-handle")
    handle.focus()
    handle.press("ArrowLeft")
    # The slider opens at the data's threshold (the riskiest tenth of active high-value customers, whole
    # percent down) and moves in steps of one percent.
    valuable = customers[(customers["lifetime_value"] >= customers["lifetime_value"].quantile(0.75))
                         & (customers["is_churned"] == 0)]
    threshold = (np.floor(round(valuable["churn_probability"].quantile(0.9) * 100, 9)) - 1) / 100
    above = (customers["churn_probability"] >= threshold).sum()
    expect(insight(page, "have a churn probability")).to_contain_text(
        f"{count(above)} of {count(len(customers))} customers ({percent(above / len(customers))}) have a churn "
        f"probability of {percent(threshold, 0)} or more")
    browser_log.assert_clean()


def test_clicking_a_bubble_sets_the_sidebar_channel_filter(page, browser_log, open_app):
    open_customers(page, open_app)
    card(page, "5. Channels")
    click_row(page, "Channels: CTR", "channel", "LinkedIn")
    expect(channel_chips(page)).to_have_count(1)
    expect(channel_chips(page).first).to_contain_text("LinkedIn")
    expect(page).to_have_url(re.compile(r"channels=.*LinkedIn"))
    expect(insight(page, "best CTR × CVR")).to_contain_text("Channel filter: LinkedIn")
    page.get_by_role("button", name="Clear channel filter").click()
    expect(channel_chips(page)).to_have_count(0)

    click_row(page, "Channels: CTR", "channel", "Email")
    expect(channel_chips(page).first).to_contain_text("Email")
    # The chart has taken the selection back from the server before the next click (as a user would see).
    expect(insight(page, "best CTR × CVR")).to_contain_text("Channel filter: Email")
    page.wait_for_timeout(500)
    corner = page.evaluate(FRAME_CORNER_JS, "Channels: CTR")   # empty space clears the filter
    page.mouse.click(corner["x"], corner["y"])
    expect(channel_chips(page)).to_have_count(0)
    browser_log.assert_clean()


def test_sunburst_clicks_zoom_in_and_the_centre_goes_back_up(page, browser_log, open_app, customers):
    open_customers(page, open_app)
    view = card(page, "6. Region")
    west = customers[customers["region"] == "West"]
    tier_one = west[west["city_tier"] == "Tier 1"]
    click_row(page, "Customers by region", "path_text", "West")
    expect(insight(page, "West:")).to_contain_text(f"West: {count(len(west))} customers")
    click_row(page, "Customers by region", "path_text", "West › Tier 1")
    expect(insight(page, "West › Tier 1:")).to_contain_text(f"{count(len(tier_one))} customers")
    click_row(page, "Customers by region", "path_text", "West › Tier 1")   # the centre: one level up
    expect(insight(page, "West:")).to_be_visible()
    click_row(page, "Customers by region", "path_text", "West")
    expect(insight(page, "All customers:")).to_contain_text(f"All customers: {count(len(customers))} customers.")
    expect(view).to_be_visible()
    browser_log.assert_clean()


@pytest.mark.parametrize("theme", ["default", "dark"])
def test_every_view_draws_in_both_themes(page, browser_log, open_app, screenshot, theme):
    open_customers(page, open_app, f"{QUERY}&theme={theme}")
    for title in ("1. Age", "2. Lifetime", "3. Satisfaction", "4. Income", "5. Channels", "6. Region", "7. Churn"):
        expect(card(page, title).locator(".bk-Canvas, canvas").first).to_be_visible()
    expect(page.locator(".card", has_text="At-risk customers").locator(".tabulator")).to_be_visible()
    screenshot(page, f"reference-customers-{theme}")
    browser_log.assert_clean()
