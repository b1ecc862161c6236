"""Product performance tab in headless Chromium: clicking treemap tiles drills down (the level line, the
breadcrumb and the insight change), Back up and the breadcrumb go up, and the controls rewrite the insights.

The served app, the browser and the page's problem log come from tests/ui/conftest.py.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.ui

# Page position of the centre of the treemap tile named `name`: the tile's corners come from the figure's
# data source, the figure's frame scales map them to canvas pixels, the figure's element places the canvas.
TILE_CENTRE_JS = """([titlePrefix, name]) => {
  for (const view of Bokeh.index.all_views()) {
    const title = view.model.title?.text;
    if (!view.frame || typeof title !== 'string' || !title.startsWith(titlePrefix)) continue;
    for (const renderer of view.model.renderers) {
      const data = renderer.data_source?.data;
      if (!data?.name) continue;
      const i = Array.from(data.name).indexOf(name);
      if (i < 0) continue;
      view.el.scrollIntoView({block: 'center'});
      const box = view.el.getBoundingClientRect();
      return [box.left + view.frame.x_scale.compute((data.x0[i] + data.x1[i]) / 2),
              box.top + view.frame.y_scale.compute((data.y0[i] + data.y1[i]) / 2)];
    }
  }
  return null;
}"""


@pytest.fixture(scope="module")
def products(reference_dir) -> pd.DataFrame:
    return pd.read_csv(reference_dir / "product_sales.csv")


def level(page):
    return page.locator("div.treemap-level")


def click_tile(page, title_prefix: str, name: str) -> None:
    """Click the centre of a treemap tile once the treemap shows it."""
    page.wait_for_function(f"() => ({TILE_CENTRE_JS})({[title_prefix, name]!r}) !== null")
    x, y = page.evaluate(TILE_CENTRE_JS, [title_prefix, name])
    page.mouse.click(x, y)


def treemap_insight(page):
    return page.locator(".insight", has_text="leads").first


def test_clicking_tiles_drills_down_and_the_buttons_go_back_up(page, browser_log, open_app):
    open_app(page, "reference", "?tab=products")
    expect(level(page)).to_have_attribute("data-level", "0")
    expect(level(page)).to_contain_text("Showing categories")
    expect(treemap_insight(page)).to_contain_text("Electronics leads NovaMart sales")

    click_tile(page, "NovaMart by category", "Fashion")
    expect(level(page)).to_have_attribute("data-level", "1")
    expect(level(page)).to_have_attribute("data-path", "Fashion")
    expect(level(page)).to_contain_text("Showing subcategories of Fashion")
    expect(page.locator(".breadcrumb-item:visible button")).to_have_text(["All categories", "Fashion"])
    expect(page.locator(".insight", has_text="leads Fashion sales")).to_be_visible()

    click_tile(page, "Fashion by subcategory", "Men")
    expect(level(page)).to_have_attribute("data-path", "Fashion/Men")
    expect(level(page)).to_contain_text("Showing products of Fashion › Men")
    expect(page.locator(".breadcrumb-item:visible button")).to_have_text(["All categories", "Fashion", "Men"])

    page.locator(".treemap-back button").click()
    expect(level(page)).to_have_attribute("data-path", "Fashion")
    click_tile(page, "Fashion by subcategory", "Women")
    expect(level(page)).to_have_attribute("data-path", "Fashion/Women")
    expect(page.locator(".breadcrumb-item:visible button")).to_have_text(["All categories", "Fashion", "Women"])
    page.locator(".breadcrumb-item button", has_text="All categories").click()
    expect(level(page)).to_have_attribute("data-level", "0")
    expect(page.locator(".treemap-back button")).to_be_disabled()
    browser_log.assert_clean()


def test_controls_rewrite_the_insights(page, browser_log, open_app, products):
    open_app(page, "reference", "?tab=products")
    expect(level(page)).to_have_attribute("data-level", "0")

    page.locator(".bk-btn-group button", has_text="Units sold").click()
    units = products.groupby("category")["units_sold"].sum()
    expect(page.locator(".insight", has_text="leads units sold")).to_contain_text(
        f"{units.idxmax()} leads units sold with {units.max():,}")

    per_product = products.groupby(["category", "subcategory", "product_name"])[["units_sold", "sales", "profit"]].sum()
    margin = per_product["profit"] / per_product["sales"] * 100

    def flagged_count(volume: int) -> int:
        return int(((per_product["units_sold"] > np.percentile(per_product["units_sold"], volume))
                    & (margin < np.percentile(margin, 25))).sum())

    screen = page.locator(".insight", has_text="percentile of units sold")
    expect(screen).to_contain_text(f"{flagged_count(75)} of 36 products")
    slider = page.locator(".bk-input-group", has=page.locator(".bk-slider-title", has_text="Volume above percentile"))
    handle = slider.locator(".noUi-handle")
    handle.focus()
    for step in (80, 85):  # one step at a time: the server's reply must not race the next key
        handle.press("ArrowRight")
        expect(screen).to_contain_text(f"above the {step}th percentile of units sold")
    expect(slider.locator(".bk-slider-value")).to_have_text("85")
    expected = flagged_count(85)
    assert expected != flagged_count(75)
    text = f"{expected} of 36 products" if expected else "No product of 36"
    expect(screen).to_contain_text(re.compile(re.escape(text)))
    expect(screen).to_contain_text("85th percentile")
    browser_log.assert_clean()
