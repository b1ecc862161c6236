"""Model evaluation tab in headless Chromium: the threshold (URL and slider) moves the confusion counts.

The served app, the browser and the page's problem log come from tests/ui/conftest.py.
"""
from __future__ import annotations

import re

import pandas as pd
import pytest
from playwright.sync_api import expect
from sklearn.metrics import confusion_matrix

pytestmark = pytest.mark.ui


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
        expect(page.locator(f'[data-cell="{cell}"]')).to_have_text(text)


def test_threshold_from_url_and_slider_keys_sets_the_confusion_counts(page, browser_log, open_app, leads):
    # One page load for both checks: rendering the tab is the slow part of a browser test.
    assert counts_at(leads, 0.3) != counts_at(leads, 0.5) != counts_at(leads, 0.35)
    open_app(page, "reference", "?tab=model&threshold=0.3")
    metrics = page.locator(".model-metrics")
    expect(metrics).to_have_attribute("data-threshold", "0.30")
    expect_counts(page, counts_at(leads, 0.3))

    slider = page.locator(".bk-input-group", has=page.locator(".bk-slider-title", has_text="Probability threshold"))
    handle = slider.locator(".noUi-handle")
    handle.focus()
    for step in ("0.31", "0.32", "0.33", "0.34", "0.35"):
        # One key at a time: the server's reply to a step must not race the next one.
        handle.press("ArrowRight")
        expect(metrics).to_have_attribute("data-threshold", step)
    expect_counts(page, counts_at(leads, 0.35))
    expect(page).to_have_url(re.compile(r"threshold=0\.35"))
    handle.press("ArrowLeft")
    expect_counts(page, counts_at(leads, 0.34))
    browser_log.assert_clean()
