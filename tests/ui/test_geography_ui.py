"""Geography tab in headless Chromium: the choropleth paints coloured states offline, and the metric
selector recolours it, renames its colour bar and rewrites the insight.

The server and browser fixtures are module-scoped and self-contained (as in test_model_evaluation_ui.py),
so they can move to a shared tests/ui/conftest.py.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

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
LOCAL_HOSTS = {"localhost", "127.0.0.1"}

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(reference_dir):
    """The whole app served by `panel serve` in its own process, as a user runs it (each session: a fresh App).

    A separate process also keeps pytest's warnings-as-errors out of the server.
    """
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
                    reason = server.stderr.read() if server.poll() is not None else "timeout"
                    raise RuntimeError(f"panel serve did not start: {reason}") from None
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
    page.console_problems = []
    page.offsite_requests = []
    page.on("console", lambda message: page.console_problems.append(message.text)
            if message.type in ("error", "warning") and not any(k in message.text for k in KNOWN_CONSOLE)
            else None)
    page.on("pageerror", lambda error: page.console_problems.append(str(error)))
    page.on("request", lambda request: page.offsite_requests.append(request.url)
            if urllib.parse.urlsplit(request.url).hostname not in LOCAL_HOSTS | {None}
            and not request.url.startswith(("data:", "blob:")) else None)
    yield page
    page.close()


@pytest.fixture(scope="module")
def states(reference_dir) -> pd.DataFrame:
    return pd.read_csv(reference_dir / "geographic_data.csv")


def painted_colours(page, title: str) -> set[str]:
    page.wait_for_function(f"({PAINTED_COLOURS_JS})({title!r}) !== null", timeout=TIMEOUT_MS)
    return set(page.evaluate(PAINTED_COLOURS_JS, title))


def test_choropleth_draws_offline_and_follows_the_metric_selector(page, app_url, states):
    revenue_leaders = states.nlargest(2, "total_revenue")["state"].tolist()
    fastest = states.loc[states["yoy_growth"].idxmax(), "state"]
    page.goto(f"{app_url}?tab=geography")
    insight = page.locator(".insight", has_text="grows fastest")
    expect(insight).to_contain_text(f"{revenue_leaders[0]} and {revenue_leaders[1]} lead revenue")
    revenue_colours = painted_colours(page, "Revenue by state")
    assert len(revenue_colours) >= 5  # several states in distinct colours, not a grey outline
    assert page.evaluate(COLOUR_BAR_TITLES_JS) == ["Customer satisfaction (1-5)", "Revenue"]

    selector = page.locator(".bk-input-group", has=page.locator("label", has_text="Colour states by")).locator("select")
    selector.select_option(label="YoY growth")
    expect(insight).to_contain_text(f"{fastest} has the highest YoY growth")
    page.wait_for_function(f"({COLOUR_BAR_TITLES_JS})().includes('YoY growth')", timeout=TIMEOUT_MS)
    # The diverging palette repaints the states in colours the revenue map did not have.
    page.wait_for_function(
        f"([title, before]) => (({PAINTED_COLOURS_JS})(title) ?? []).filter(c => !before.includes(c)).length >= 5",
        arg=["YoY growth by state", sorted(revenue_colours)], timeout=TIMEOUT_MS)

    assert page.console_problems == []
    assert page.offsite_requests == []  # map tiles are off: nothing leaves the machine
