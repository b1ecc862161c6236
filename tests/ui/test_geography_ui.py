"""Geography tab in headless Chromium: the choropleth paints coloured states offline, and the metric
selector recolours it, renames its colour bar and rewrites the insight.

The served app, the browser and the page's problem log come from tests/ui/conftest.py.
"""
from __future__ import annotations

import pandas as pd
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.ui

# Colours painted on a Bokeh figure (found by its title): a sample of its 2D canvas, keeping the saturated
# pixels only, so the grey no-data states, white borders and antialiasing do not count.
PAINTED_COLOURS_JS = """(title) => {
  const views = [];
  const walk = (view) => { views.push(view); for (const child of (view.child_views ?? [])) walk(child); };
  for (const root of Object.values(Bokeh.index)) walk(root);
  const plot = views.find(v => ['Figure', 'Plot'].includes(v.model.type) && v.model.title?.text === title);
  if (!plot || !plot.has_finished()) return null;
  const canvas = plot.canvas_view.primary.canvas;
  // Read a copy, so repeated reads do not slow down (and warn about) the page's own canvas.
  const copy = document.createElement('canvas');
  [copy.width, copy.height] = [canvas.width, canvas.height];
  const context = copy.getContext('2d', {willReadFrequently: true});
  context.drawImage(canvas, 0, 0);
  const pixels = context.getImageData(0, 0, copy.width, copy.height).data;
  const colours = [];
  for (let i = 0; i < pixels.length; i += 4 * 5) {
    const [r, g, b] = [pixels[i], pixels[i + 1], pixels[i + 2]];
    if (Math.max(r, g, b) - Math.min(r, g, b) > 60) colours.push(`${r >> 4},${g >> 4},${b >> 4}`);
  }
  return colours;
}"""
COLOUR_BAR_TITLES_JS = """() => {
  const titles = [];
  for (const doc of Bokeh.documents) for (const model of doc.all_models)
    if (model.type === 'ColorBar') titles.push(model.title);
  return titles.sort();
}"""


@pytest.fixture(scope="module")
def states(reference_dir) -> pd.DataFrame:
    return pd.read_csv(reference_dir / "geographic_data.csv")


def painted_colours(page, title: str) -> set[str]:
    page.wait_for_function(f"({PAINTED_COLOURS_JS})({title!r}) !== null")
    return set(page.evaluate(PAINTED_COLOURS_JS, title))


def test_choropleth_draws_offline_and_follows_the_metric_selector(page, browser_log, open_app, states):
    revenue_leaders = states.nlargest(2, "total_revenue")["state"].tolist()
    fastest = states.loc[states["yoy_growth"].idxmax(), "state"]
    open_app(page, "reference", "?tab=geography")
    insight = page.locator(".insight", has_text="grows fastest")
    expect(insight).to_contain_text(f"{revenue_leaders[0]} and {revenue_leaders[1]} lead revenue")
    revenue_colours = painted_colours(page, "Revenue by state")
    assert len(revenue_colours) >= 5  # several states in distinct colours, not a grey outline
    page.wait_for_function(f"({COLOUR_BAR_TITLES_JS})().length == 2")   # the bubbles map comes with the views below
    assert page.evaluate(COLOUR_BAR_TITLES_JS) == ["Customer satisfaction (1-5)", "Revenue"]

    selector = page.locator(".bk-input-group", has=page.locator("label", has_text="Colour states by")).locator("select")
    selector.select_option(label="YoY growth")
    expect(insight).to_contain_text(f"{fastest} has the highest YoY growth")
    page.wait_for_function(f"({COLOUR_BAR_TITLES_JS})().includes('YoY growth')")
    # The diverging palette repaints the states in colours the revenue map did not have.
    page.wait_for_function(
        f"([title, before]) => (({PAINTED_COLOURS_JS})(title) ?? []).filter(c => !before.includes(c)).length >= 5",
        arg=["YoY growth by state", sorted(revenue_colours)])

    # Also: no request left the machine (map tiles are off), none failed, and the console stayed clean.
    browser_log.assert_clean()
