"""Product performance tab in headless Chromium: clicking treemap tiles drills down (the level line, the
breadcrumb and the insight change), Back up and the breadcrumb go up, and the controls rewrite the insights.

The server and browser fixtures are module-scoped and self-contained (as in the other UI tests), so they
can move to a shared tests/ui/conftest.py.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = pytest.mark.ui

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 30_000
# Browser console lines that are not the app's fault.
KNOWN_CONSOLE = ("GL Driver Message", "allowHTML will default to false")

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(reference_dir):
    """The whole app served by `panel serve` in its own process (each session: a fresh App)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "panel", "serve", "novamart_panel/serve_app.py", "--port", str(port),
         "--address", "127.0.0.1", "--allow-websocket-origin", f"localhost:{port}", "--liveness"],
        cwd=REPO, env={**os.environ, "NOVAMART_DATA": str(reference_dir)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://localhost:{port}/liveness", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("panel serve did not start: "
                                       f"{server.stderr.read() if server.poll() is not None else 'timeout'}")
                time.sleep(0.25)
        yield f"http://localhost:{port}/serve_app"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    # The default 5 s of `expect` is too short on a busy two-core machine: a drill-down re-renders a figure.
    expect.set_options(timeout=TIMEOUT_MS)
    page.console_problems = []
    page.on("console", lambda message: page.console_problems.append(message.text)
            if message.type in ("error", "warning") and not any(k in message.text for k in KNOWN_CONSOLE)
            else None)
    page.on("pageerror", lambda error: page.console_problems.append(str(error)))
    yield page
    page.close()


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


def test_clicking_tiles_drills_down_and_the_buttons_go_back_up(page, app_url):
    page.goto(f"{app_url}?tab=products")
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
    assert page.console_problems == []


def test_controls_rewrite_the_insights(page, app_url, products):
    page.goto(f"{app_url}?tab=products")
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
    for _ in range(2):  # one step at a time: the server's reply must not race the next key
        handle.press("ArrowRight")
        page.wait_for_timeout(300)
    expect(slider.locator(".bk-slider-value")).to_have_text("85")
    expected = flagged_count(85)
    assert expected != flagged_count(75)
    text = f"{expected} of 36 products" if expected else "No product of 36"
    expect(screen).to_contain_text(re.compile(re.escape(text)))
    expect(screen).to_contain_text("85th percentile")
    assert page.console_problems == []
