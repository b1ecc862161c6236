"""Model evaluation tab in headless Chromium: the threshold (URL and slider) moves the confusion counts.

The server and browser fixtures are module-scoped and self-contained, so they can move to a shared
tests/ui/conftest.py later.
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

import pandas as pd
import pytest
from playwright.sync_api import expect, sync_playwright
from sklearn.metrics import confusion_matrix

pytestmark = pytest.mark.ui

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 30_000
# Browser console lines that are not the app's fault.
KNOWN_CONSOLE = ("GL Driver Message", "allowHTML will default to false", "[bokeh", "Bokeh items were rendered")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(reference_dir, tmp_path_factory):
    """The whole app served by `panel serve` in its own process, as a user runs it (each session: a fresh App).

    A separate process also keeps pytest's warnings-as-errors out of the server.
    """
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
    with sync_playwright() as playwright:
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


@pytest.fixture(scope="module")
def leads(reference_dir) -> pd.DataFrame:
    return pd.read_csv(reference_dir / "lead_scoring_results.csv")


def counts_at(leads: pd.DataFrame, threshold: float) -> dict[str, str]:
    """scikit-learn's confusion counts at `threshold`, as the page prints them."""
    predicted = (leads["predicted_probability"] >= threshold).astype(int)
    tn, fp, fn, tp = confusion_matrix(leads["actual_converted"], predicted, labels=[0, 1]).ravel()
    return {"tp": f"{tp:,}", "fp": f"{fp:,}", "tn": f"{tn:,}", "fn": f"{fn:,}"}


def expect_counts(page, expected: dict[str, str]) -> None:
    for cell, text in expected.items():
        expect(page.locator(f'[data-cell="{cell}"]')).to_have_text(text, timeout=TIMEOUT_MS)


def test_threshold_from_url_and_slider_keys_sets_the_confusion_counts(page, app_url, leads):
    # One page load for both checks: rendering the tab is the slow part of a browser test.
    assert counts_at(leads, 0.3) != counts_at(leads, 0.5) != counts_at(leads, 0.35)
    page.goto(f"{app_url}?tab=model&threshold=0.3")
    metrics = page.locator(".model-metrics")
    expect(metrics).to_have_attribute("data-threshold", "0.30", timeout=TIMEOUT_MS)
    expect_counts(page, counts_at(leads, 0.3))

    slider = page.locator(".bk-input-group", has=page.locator(".bk-slider-title", has_text="Probability threshold"))
    handle = slider.locator(".noUi-handle")
    handle.focus()
    for step in ("0.31", "0.32", "0.33", "0.34", "0.35"):
        # One key at a time: the server's reply to a step must not race the next one.
        handle.press("ArrowRight")
        expect(metrics).to_have_attribute("data-threshold", step, timeout=TIMEOUT_MS)
    expect_counts(page, counts_at(leads, 0.35))
    expect(page).to_have_url(re.compile(r"threshold=0\.35"), timeout=TIMEOUT_MS)
    handle.press("ArrowLeft")
    expect_counts(page, counts_at(leads, 0.34))
    assert page.console_problems == []
