"""Attribution tab in headless Chromium: the model selector and the credit-source buttons rewrite the donut's
data source in the browser and the insight beside it, with no console error.

The server and browser fixtures are module-scoped and self-contained (as in the other UI tests), so they
can move to a shared tests/ui/conftest.py.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
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
# The first page is built on the server before it is sent: allow for a machine busy with other tests.
LOAD_TIMEOUT_MS = 120_000
# Browser console lines that are not the app's fault.
KNOWN_CONSOLE = ("GL Driver Message", "allowHTML will default to false")
# The donut's data source as the browser holds it (named in views/attribution.py).
DONUT_DATA_JS = """() => {
  for (const doc of Bokeh.documents) {
    const source = doc.get_model_by_name('attribution-donut');
    if (source) return {channel: Array.from(source.data.channel), share: Array.from(source.data.share)};
  }
  return null;
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(reference_dir, tmp_path_factory):
    """The whole app served by `panel serve` in its own process, as a user runs it."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("server") / "panel-serve.log"
    log = log_path.open("w")   # a file, not a pipe: a full pipe would block the server
    server = subprocess.Popen(
        [sys.executable, "-m", "panel", "serve", "novamart_panel/serve_app.py", "--port", str(port),
         "--address", "127.0.0.1", "--allow-websocket-origin", f"localhost:{port}", "--liveness"],
        cwd=REPO, env={**os.environ, "NOVAMART_DATA": str(reference_dir)},
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://localhost:{port}/liveness", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"panel serve did not start; its log:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.25)
        yield f"http://localhost:{port}/serve_app"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


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
    page.on("console", lambda message: page.console_problems.append(message.text)
            if message.type in ("error", "warning") and not any(k in message.text for k in KNOWN_CONSOLE)
            else None)
    page.on("pageerror", lambda error: page.console_problems.append(str(error)))
    yield page
    page.close()


def leader(shares: pd.Series) -> tuple[str, float]:
    return shares.idxmax(), float(shares.max())


def expect_donut(page, shares: pd.Series) -> None:
    """Wait until the browser's donut source holds `shares` (largest first)."""
    expected = shares.sort_values(ascending=False, kind="stable")
    page.wait_for_function(
        f"() => {{ const d = ({DONUT_DATA_JS})(); return d && d.channel[0] === {expected.index[0]!r} "
        f"&& Math.abs(d.share[0] - {float(expected.iloc[0])}) < 1e-9; }}", timeout=TIMEOUT_MS)
    donut = page.evaluate(DONUT_DATA_JS)
    shown = dict(zip(donut["channel"], donut["share"]))
    # Channels a model credits nothing keep a (zero-width) wedge and their legend entry.
    assert {name: share for name, share in shown.items() if share > 0} == pytest.approx(expected[expected > 0].to_dict())
    assert set(shown) >= set(expected.index)


def test_model_selector_and_source_rewrite_the_donut_and_its_insight(page, app_url, reference_dir):
    provided = pd.read_csv(reference_dir / "channel_attribution.csv").set_index("channel")
    journeys = pd.read_csv(reference_dir / "customer_journey.csv")
    last_name, last_share = leader(provided["last_touch"])
    first_name, first_share = leader(provided["first_touch"])
    assert (last_name, last_share) != (first_name, first_share)

    page.goto(f"{app_url}?tab=attribution", timeout=LOAD_TIMEOUT_MS)
    insight = page.locator(".donut-insight")
    expect(insight).to_contain_text(f"{last_name} gets the most credit: {last_share:.1f}%", timeout=LOAD_TIMEOUT_MS)
    expect_donut(page, provided["last_touch"])

    model = page.locator(".bk-input-group", has=page.locator("label", has_text="Attribution model")).locator("select")
    model.select_option(label="First touch")
    expect(insight).to_contain_text(f"{first_name} gets the most credit: {first_share:.1f}%", timeout=TIMEOUT_MS)
    expect_donut(page, provided["first_touch"])

    # Credit computed from the journeys: first touch of the converting rows, counted with pandas.
    outcome = journeys.filter(like="touchpoint_").ffill(axis=1).iloc[:, -1]
    converting = journeys[outcome == "Purchase"]
    first_touch = converting.groupby("touchpoint_1")["customer_count"].sum()
    page.get_by_role("button", name="Computed from journeys").click()
    expect(insight).to_contain_text(
        f"{first_touch.idxmax()} is credited with {first_touch.max():,} of the {first_touch.sum():,} conversions",
        timeout=TIMEOUT_MS)
    expect_donut(page, 100 * first_touch / first_touch.sum())
    assert page.console_problems == []
