"""The app in a real browser: every tab shows its views, the URL keeps the view, filters and theme work.

Each test also requires a clean page: no console errors or warnings (less the allowlist in conftest),
no uncaught errors, no failed requests and no request leaving the machine.
"""
from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from novamart_panel.app import SECTIONS
from novamart_panel.data.store import DataStore
from novamart_panel.format import rupees
from novamart_panel.views.base import Section, table_label
from novamart_panel.views.filters import Filters

from ui_helpers import ACTIVE_SECTION, NAV_BUTTON, nav_button

pytestmark = pytest.mark.ui

REVENUE_CARD = '.kpi-card[data-kpi="revenue"] .kpi-value'
# A view that shows data draws a Bokeh canvas or a table.
DATA_VIEW = "#main :is(canvas, .tabulator) >> visible=true"
# Walk from the second section round to the first, so that every click changes the shown section.
WALK = SECTIONS[1:] + SECTIONS[:1]


def url_has(key: str, value: str) -> re.Pattern:
    return re.compile(rf"[?&]{re.escape(key)}={re.escape(quote(value, safe=''))}(&|$)")


def channels_choice(page: Page):
    return page.locator("#sidebar .bk-input-group", has_text="Channels").locator(".choices")


def pick_channel(store: DataStore) -> str:
    options = Filters(store).param.channels.objects
    return "Email" if "Email" in options else options[0]


def expect_section_shown(page: Page, section_cls: type[Section], store: DataStore) -> None:
    """The active tab shows this section: its views with data, or the notice it owes the user."""
    missing = [table for table in section_cls.tables if not store.has(table)]
    main = page.locator("#main")
    if missing:
        for table in missing:
            expect(main.locator(".alert", has_text=table_label(table)).first).to_be_visible()
    elif section_cls.layout is Section.layout:
        expect(main.locator(".alert", has_text="is not built yet").filter(has_text=section_cls.title)
               ).to_be_visible()
    else:
        expect(main.locator("h2", has_text=section_cls.title).first).to_be_visible()
        expect(page.locator(DATA_VIEW).first).to_be_visible()


@pytest.mark.parametrize("data", ["packaged", "reference"])
def test_every_tab_shows_its_views_and_syncs_the_url(page, browser_log, open_app, screenshot, data,
                                                     packaged_dir, reference_dir):
    store = DataStore.open(packaged_dir if data == "packaged" else reference_dir)
    open_app(page, data)
    for section_cls in WALK:
        nav_button(page, section_cls.title).click()
        expect(page).to_have_url(url_has("tab", section_cls.slug))
        expect(page.locator(ACTIVE_SECTION)).to_have_text(section_cls.title)
        expect_section_shown(page, section_cls, store)
        screenshot(page, f"{data}-{section_cls.slug}")
    browser_log.assert_clean()


def test_opening_a_shared_url_restores_the_tab_and_the_filter(page, browser_log, open_app, packaged_store):
    channel = pick_channel(packaged_store)
    # Panel's location sync writes a list parameter as JSON: ?channels=["Email"].
    query = f"?tab=geography&channels={quote(json.dumps([channel]))}"
    open_app(page, "packaged", query)
    expect(page.locator(ACTIVE_SECTION)).to_have_text("Geography")
    geography = next(s for s in SECTIONS if s.slug == "geography")
    expect_section_shown(page, geography, packaged_store)
    chips = channels_choice(page).locator(".choices__list--multiple .choices__item")
    expect(chips).to_have_count(1)
    expect(chips.first).to_contain_text(channel)
    browser_log.assert_clean()


def test_a_global_filter_changes_the_overview_revenue(page, browser_log, open_app, packaged_store, browser):
    channel = pick_channel(packaged_store)
    # The card shows the selection's last 90 days with rows (the overview's default KPI period).
    last_90 = "date > (SELECT max(date) FROM campaigns {where}) - INTERVAL 90 DAY"
    total = packaged_store.scalar(f"SELECT SUM(revenue) FROM campaigns WHERE {last_90.format(where='')}")
    of_channel = packaged_store.scalar(
        f"SELECT SUM(revenue) FROM campaigns WHERE channel = ? AND {last_90.format(where='WHERE channel = ?')}",
        [channel, channel])
    assert rupees(total) != rupees(of_channel)
    open_app(page, "packaged")
    revenue = page.locator(REVENUE_CARD)
    expect(revenue).to_have_text(rupees(total))

    channels_choice(page).click()
    channels_choice(page).locator(f'.choices__item--choice[data-value="{channel}"]').click()
    expect(revenue).to_have_text(rupees(of_channel))
    expect(page).to_have_url(url_has("channels", json.dumps([channel])))

    # Another browser session keeps its own filters.
    other = browser.new_context().new_page()
    try:
        open_app(other, "packaged")
        expect(other.locator(REVENUE_CARD)).to_have_text(rupees(total))
    finally:
        other.context.close()
    browser_log.assert_clean()


def test_theme_toggle_switches_to_dark_and_keeps_the_view(page, browser_log, open_app, screenshot):
    open_app(page, "packaged", "?tab=geography")
    expect(page.locator("html")).not_to_have_attribute("data-bs-theme", "dark")
    page.locator(".theme-toggle button").click()
    expect(page).to_have_url(url_has("theme", "dark"))
    page.locator(NAV_BUTTON).first.wait_for()
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "dark")
    expect(page.locator(ACTIVE_SECTION)).to_have_text("Geography")
    expect(page.locator(DATA_VIEW).first).to_be_visible()
    screenshot(page, "packaged-geography-dark")
    browser_log.assert_clean()
