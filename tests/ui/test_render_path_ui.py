"""Charts update in place and only the shown section recomputes (SPEC §5).

A filter change sends new data into the Bokeh models the page already has (same figure, same data source),
the page survives resizes after updates of another length (BokehJS "Size mismatch"), and a section that
was hidden during a filter change shows current data when it is opened again.
"""
from __future__ import annotations

import json
from urllib.parse import quote

import panel as pn
import pytest
from bokeh.plotting import figure as bokeh_figure
from playwright.sync_api import Page, expect

from novamart_panel.app import extension
from novamart_panel.format import rupees
from ui_helpers import nav_button, serve_apps

pytestmark = pytest.mark.ui

# The views of the shown figures; with a `slug`, only those in that section's holder (of class `section-<slug>`).
SHOWN_FIGURES_JS = """
(slug) => {
  const seen = new Set(), found = [];
  const walk = (view, inside) => {
    if (view == null || seen.has(view)) return;
    seen.add(view);
    const model = view.model;
    inside = inside || slug == null || (model?.css_classes ?? []).includes(`section-${slug}`);
    if (inside && model && model.type === "Figure" && view.el.getClientRects().length > 0) found.push(view);
    for (const child of view.child_views ?? []) walk(child, inside);
  };
  for (const view of Object.values(Bokeh.index)) walk(view, false);
  return found;
}
"""
# The view of the one shown figure whose title starts with `title` (null when there is not exactly one).
FIGURE_VIEW_JS = f"""
(title) => {{
  const found = ({SHOWN_FIGURES_JS})(null).filter((view) => {{
    const text = view.model.title && view.model.title.text;
    return typeof text === "string" && text.startsWith(title);
  }});
  return found.length === 1 ? found[0] : null;
}}
"""
# That figure's model, its first glyph's data source and row count, and the extent of its y axis.
FIGURE_JS = f"""
(title) => {{
  const view = ({FIGURE_VIEW_JS})(title);
  if (view == null) return null;
  const figure = view.model, glyphs = figure.renderers.filter((r) => r.data_source != null);
  return {{figure: figure.id, source: glyphs[0].data_source.id, rows: glyphs[0].data_source.get_length(),
          y_end: figure.y_range.end}};
}}
"""
REVENUE_CARD = '.kpi-card[data-kpi="revenue"] .kpi-value'


def figure(page: Page, title: str) -> dict:
    found = page.evaluate(FIGURE_JS, title)
    assert found is not None, f"no chart titled {title!r} on the page"
    return found


def choose_channel(page: Page, channel: str) -> None:
    choices = page.locator("#sidebar .bk-input-group", has_text="Channels").locator(".choices")
    choices.click()
    choices.locator(f'.choices__item--choice[data-value="{channel}"]').click()
    page.keyboard.press("Escape")


def test_a_filter_change_updates_the_charts_in_place(page, browser_log, open_app, packaged_store, screenshot):
    open_app(page, "packaged", "?tab=campaigns", ready="h2:has-text('Campaign analytics')")
    page.wait_for_function(f"() => ({FIGURE_JS})('Revenue by channel') !== null")
    before = figure(page, "Revenue by channel")
    channels = packaged_store.scalar("SELECT count(DISTINCT channel) FROM campaigns")
    assert before["rows"] == channels

    choose_channel(page, "Email")
    page.wait_for_function(f"() => ({FIGURE_JS})('Revenue by channel').rows === 1")
    after = figure(page, "Revenue by channel")
    assert (after["figure"], after["source"]) == (before["figure"], before["source"])   # new data, same models
    # The views below the first screen follow in a message of their own. An overlay's axes follow the new data
    # too (its layers used to keep the first frame's, all channels').
    email = packaged_store.scalar("SELECT sum(conversions) FROM campaigns WHERE channel = 'Email'")
    page.wait_for_function(f"() => ({FIGURE_JS})('Cumulative conversions by channel').y_end < {1.5 * email}")
    cumulative = page.evaluate(f"() => ({FIGURE_JS})('Cumulative conversions by channel')")
    assert email <= cumulative["y_end"] < 1.5 * email

    # Resizing after updates of another length (new window sizes, the sidebar folded away and back) used to
    # throw "Size mismatch" and freeze the page.
    for width in (1100, 1500, 1366):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(300)
    for _ in range(2):
        page.locator("#sidebar-toggle").click()
        page.wait_for_timeout(500)
    choose_channel(page, "Google Ads")
    page.wait_for_function(f"() => ({FIGURE_JS})('Revenue by channel').rows === 2")
    page.set_viewport_size({"width": 1200, "height": 900})
    expect(page.locator("h2", has_text="Campaign analytics")).to_be_visible()
    assert page.evaluate("() => 1 + 1") == 2   # the page still answers
    screenshot(page, "render-path-campaigns-after-updates")
    browser_log.assert_clean()


def test_a_hidden_section_shows_current_data_when_opened(page, browser_log, open_app, packaged_store):
    # The card shows the selection's last 90 days with rows (the overview's default KPI period).
    last_90 = "date > (SELECT max(date) FROM campaigns {where}) - INTERVAL 90 DAY"
    total = packaged_store.scalar(f"SELECT sum(revenue) FROM campaigns WHERE {last_90.format(where='')}")
    email_only = "WHERE channel = 'Email'"
    of_email = packaged_store.scalar(f"SELECT sum(revenue) FROM campaigns {email_only} AND "
                                     f"{last_90.format(where=email_only)}")
    open_app(page, "packaged", "", ready=REVENUE_CARD)
    expect(page.locator(REVENUE_CARD)).to_have_text(rupees(total))

    nav_button(page, "Campaign analytics").click()
    expect(page.locator("h2", has_text="Campaign analytics")).to_be_visible()
    choose_channel(page, "Email")
    page.wait_for_function(f"() => ({FIGURE_JS})('Revenue by channel')?.rows === 1")
    expect(page).to_have_url(f"{page.url.split('?')[0]}?tab=campaigns&channels={quote(json.dumps(['Email']))}")

    nav_button(page, "Executive overview").click()
    expect(page.locator(REVENUE_CARD)).to_have_text(rupees(of_email))   # caught up with the filter
    browser_log.assert_clean()


# Counts, from now on, the whole-page layouts (a root's compute_layout) that a figure's axis-size check starts
# (PlotView._invalidate_layout_if_needed), and keeps the view of the shown figure titled `title` (false if none).
LAYOUT_PROBE_JS = f"""
(title) => {{
  const PlotView = Bokeh.Models.get("Plot").prototype.default_view;
  const LayoutDOMView = Object.getPrototypeOf(PlotView.prototype).constructor;
  if (!window.__layoutProbe) {{
    const probe = window.__layoutProbe = {{checking: 0, whole_page: 0, LayoutDOMView}};
    const check = PlotView.prototype._invalidate_layout_if_needed;
    PlotView.prototype._invalidate_layout_if_needed = function () {{
      probe.checking += 1;
      try {{ return check.call(this); }} finally {{ probe.checking -= 1; }}
    }};
    const compute = LayoutDOMView.prototype.compute_layout;
    LayoutDOMView.prototype.compute_layout = function () {{
      if (probe.checking > 0 && !(this.parent instanceof LayoutDOMView)) probe.whole_page += 1;
      return compute.call(this);
    }};
  }}
  window.__layoutProbe.view = ({FIGURE_VIEW_JS})(title);
  return window.__layoutProbe.view != null;
}}
"""
# The probed figure's frame (its plotting area inside the axes), in the figure's own pixels.
FRAME_JS = """
() => {
  const {left, top, width, height} = window.__layoutProbe.view.layout.center_panel.bbox;
  return {left, top, width, height};
}
"""


def test_a_figure_whose_axis_changed_size_is_laid_out_alone(page, browser_log, open_app):
    # "Revenue by channel" lists the channels on its vertical axis: with Email alone the labels are narrower and
    # the frame grows to the left. BokehJS then laid out the whole page again (every figure's tick labels
    # measured, every figure repainted: most of a filter change's time in the page). The app's page fix lays out
    # that figure alone, and the result is the one a whole-page layout gives.
    open_app(page, "packaged", "?tab=campaigns", ready="h2:has-text('Campaign analytics')")
    page.wait_for_function(f"() => ({FIGURE_JS})('Revenue by channel') !== null")
    assert page.evaluate(LAYOUT_PROBE_JS, "Revenue by channel")   # exactly one such figure is shown
    before = page.evaluate(FRAME_JS)

    choose_channel(page, "Email")
    page.wait_for_function(f"() => ({FIGURE_JS})('Revenue by channel').rows === 1")
    page.wait_for_function("() => window.__layoutProbe.view.layout.center_panel.bbox.left !== "
                           f"{before['left']}")
    page.wait_for_timeout(300)   # the views below the first screen update too
    alone = page.evaluate(FRAME_JS)
    assert alone["left"] < before["left"] and alone["width"] > before["width"]
    assert (alone["top"], alone["height"]) == (before["top"], before["height"])
    assert page.evaluate("() => window.__layoutProbe.whole_page") == 0

    # The whole page laid out as BokehJS would have: the figure's frame stays where its own layout put it.
    page.evaluate("() => window.__layoutProbe.LayoutDOMView.prototype.compute_layout.call(window.__layoutProbe.view)")
    assert page.evaluate(FRAME_JS) == alone
    browser_log.assert_clean()


# Every stylesheet of the page, the shadow roots' included (Bokeh and Panel style each component in its own).
STYLESHEET_TEXT_JS = """
() => {
  const texts = [];
  const read = (sheets) => {
    for (const sheet of sheets) {
      try { texts.push(Array.from(sheet.cssRules, (rule) => rule.cssText).join("\\n")); } catch (error) {}
    }
  };
  read(document.styleSheets);
  read(document.adoptedStyleSheets);
  const walk = (node) => {
    if (node.shadowRoot) {
      read(node.shadowRoot.styleSheets);
      read(node.shadowRoot.adoptedStyleSheets);
      for (const child of node.shadowRoot.querySelectorAll("*")) walk(child);
    }
  };
  for (const element of document.querySelectorAll("*")) walk(element);
  return {sheets: texts.length, bokeh_variables: texts.filter((text) => text.includes("--bk-"))};
}
"""


@pytest.mark.parametrize("theme", ["default", "dark"])
def test_no_stylesheet_of_the_page_sets_bokeh_style_variables(page, browser_log, open_app, theme):
    # The app's page fix skips BokehJS's reads of `--bk-` CSS variables (a figure's visuals asked the browser for
    # them one by one): that is right only while no stylesheet of the page sets one.
    open_app(page, "packaged", f"?tab=campaigns&theme={theme}", ready="h2:has-text('Campaign analytics')")
    page.wait_for_function(f"() => ({FIGURE_JS})('Revenue by channel') !== null")
    found = page.evaluate(STYLESHEET_TEXT_JS)
    assert found["sheets"] > 50   # the shadow roots' sheets were read
    assert found["bokeh_variables"] == []
    browser_log.assert_clean()


# From now on, count the page's getComputedStyle calls.
COUNT_STYLE_READS_JS = """
() => {
  const read = window.getComputedStyle;
  window.__styleReads = 0;
  window.getComputedStyle = function (...args) { window.__styleReads += 1; return read.apply(this, args); };
}
"""
# How many figures the section `slug` shows, and how many of them are painted.
PAINTED_FIGURES_JS = f"""
(slug) => {{
  const views = ({SHOWN_FIGURES_JS})(slug);
  return {{figures: views.length, painted: views.filter((view) => view.has_finished()).length}};
}}
"""


def test_a_section_shown_again_asks_the_browser_for_styles_per_figure_not_per_visual(page, browser_log, open_app):
    # Showing a section lays out and paints each of its figures. BokehJS asked the browser for each visual's CSS
    # variables and each axis for the figure's font size (3,100 calls for the campaigns section's ten figures;
    # each recomputed the page's styles mid-layout). With the page fix, a few calls per figure remain.
    open_app(page, "packaged", "?tab=campaigns", ready="h2:has-text('Campaign analytics')")
    page.wait_for_function(f"() => ({FIGURE_JS})('Cumulative conversions by channel') !== null")
    nav_button(page, "Executive overview").click()
    expect(page.locator(REVENUE_CARD)).to_be_visible()
    page.wait_for_timeout(500)

    page.evaluate(COUNT_STYLE_READS_JS)
    nav_button(page, "Campaign analytics").click()
    expect(page.locator("h2", has_text="Campaign analytics")).to_be_visible()
    page.wait_for_function("(slug) => { const f = (" + PAINTED_FIGURES_JS + ")(slug);"
                           " return f.figures >= 8 && f.painted === f.figures; }", arg="campaigns")
    page.wait_for_timeout(500)
    figures = page.evaluate(PAINTED_FIGURES_JS, "campaigns")["figures"]
    reads = page.evaluate("() => window.__styleReads")
    assert 0 < reads < 50 * figures
    browser_log.assert_clean()


# Holds back the build of the next figure while a figure already stored in the page has no layout yet: the moment
# when a column whose children changed has built some of the new views (stored, not yet rendered) and awaits the
# rest. Counts the layout passes that reach the waiting figures (`_measure_layout`) meanwhile.
HOLD_NEXT_FIGURE_JS = """
() => {
  const PlotView = Bokeh.Models.get("Plot").prototype.default_view;
  const unlaid = () => {
    const seen = new Set(), found = [];
    const walk = (view) => {
      if (view == null || seen.has(view)) return;
      seen.add(view);
      if (view instanceof PlotView && view.layout == null) found.push(view);
      for (const child of view.child_views ?? []) walk(child);
    };
    Object.values(Bokeh.index).forEach(walk);
    return found;
  };
  const hold = window.__hold = {waiting: null, unlaid: [], measured: 0};
  const initialize = PlotView.prototype.lazy_initialize;
  PlotView.prototype.lazy_initialize = async function () {
    const waiting = hold.waiting == null ? unlaid() : [];
    if (waiting.length > 0) {
      hold.unlaid = waiting.map((view) => view.model.title?.text);
      for (const view of waiting) {
        const measure = view._measure_layout;
        view._measure_layout = function (...args) { hold.measured += 1; return measure.apply(this, args); };
      }
      await new Promise((release) => { hold.waiting = {title: this.model.title?.text, release}; });
    }
    return initialize.call(this);
  };
}
"""


def two_figures_page() -> pn.viewable.Viewable:
    """A page with the app's page fixes whose button gives a column two new figures in one change."""
    extension()
    column = pn.Column(sizing_mode="stretch_width")

    def add(event) -> None:
        figures = []
        for n in (1, 2):
            fig = bokeh_figure(title=f"Figure {n}", height=200, sizing_mode="stretch_width")
            fig.line([0, 1, 2], [n, 0, n])
            figures.append(pn.pane.Bokeh(fig, sizing_mode="stretch_width"))
        column.objects = figures

    button = pn.widgets.Button(label="Add two figures", css_classes=["add-figures"])
    button.on_click(add)
    return pn.Column(button, column, sizing_mode="stretch_width")


@pytest.fixture(scope="module")
def figures_page_url():
    with serve_apps({"figures": two_figures_page}) as url:
        yield f"{url}/figures"


def test_a_layout_while_a_column_builds_its_new_figures_skips_those_not_laid_out(page, browser_log, figures_page_url):
    # A column given several new figures in one change has BokehJS build the new views one by one, storing each,
    # and lay them out once all are built; a page resize in between laid out a stored figure that had no layout
    # yet, and BokehJS threw "Cannot read properties of undefined (reading 'top_panel')". The app's page fix leaves
    # such a figure out of the pass. A first switch to Customer insights did this until its views below came in a
    # column of their own (built whole before the page holds it); a plain page with two figures does it still.
    page.goto(figures_page_url)
    button = page.locator(".add-figures button")
    button.wait_for()
    page.evaluate(HOLD_NEXT_FIGURE_JS)
    button.click()
    page.wait_for_function("() => window.__hold.waiting != null")
    assert page.evaluate("() => window.__hold.unlaid") == ["Figure 1"]   # stored without a layout

    page.set_viewport_size({"width": 1280, "height": 900})   # a ResizeObserver lays out the page
    page.wait_for_function("() => window.__hold.measured > 0")
    assert browser_log.page_errors == []

    page.evaluate("() => window.__hold.waiting.release()")
    page.wait_for_function(f"() => {{ const f = ({PAINTED_FIGURES_JS})(null);"
                           " return f.figures === 2 && f.painted === 2; }")
    browser_log.assert_clean()


# The Bokeh id of each section's holder (a root of class `section-<slug>`).
HOLDER_IDS_JS = """() => {
  const ids = {};
  for (const root of Bokeh.documents[0].roots()) {
    const found = (root.css_classes ?? []).find((c) => c.startsWith("section-"));
    if (found) ids[found.slice("section-".length)] = root.id;
  }
  return ids;
}"""


def test_a_first_switch_swaps_the_sections_in_one_message(page, browser_log, open_app):
    # The page gets the old section hidden, the new section's first views and the new section shown in one
    # message. As four messages, it built the new views while their section was hidden, laid them out at size
    # zero, then laid them out again once it was shown.
    frames: list[str] = []
    page.on("websocket", lambda socket: socket.on(
        "framereceived", lambda payload: frames.append(payload) if isinstance(payload, str) else None))
    open_app(page, "packaged")
    page.wait_for_function(f"() => ({PAINTED_FIGURES_JS})('overview').painted > 0")
    holders = page.evaluate(HOLDER_IDS_JS)
    frames.clear()
    nav_button(page, "Product performance").click()
    page.wait_for_function(f"() => ({PAINTED_FIGURES_JS})('products').painted > 0")

    def changes(frame: str) -> list[tuple]:
        try:
            events = json.loads(frame).get("events", [])
        except (ValueError, AttributeError):
            return []
        return [(e["model"]["id"], e["attr"], e["new"] if e["attr"] == "visible" else None)
                for e in events if e.get("kind") == "ModelChanged"]

    filled = [changes(frame) for frame in frames if (holders["products"], "children", None) in changes(frame)]
    assert len(filled) == 1, "the products section's views came in no message or in several"
    assert (holders["products"], "visible", True) in filled[0]
    assert (holders["overview"], "visible", False) in filled[0]
    browser_log.assert_clean()
