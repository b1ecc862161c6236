"""Budget, forecast & mix tab in headless Chromium: the model fits in the background, and the budget input and a
scenario slider change the predicted revenue the page shows.

The served app, the browser and the page's problem log come from tests/ui/conftest.py.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.ui

FIT_TIMEOUT_MS = 180_000     # a cold fit on two busy cores, behind other sessions' fits
NUMBER = re.compile(r"^\d+$")


def figure(page, selector: str, attribute: str) -> str:
    locator = page.locator(selector).first
    expect(locator).to_have_attribute(attribute, NUMBER, timeout=FIT_TIMEOUT_MS)
    return locator.get_attribute(attribute)


def test_budget_input_and_scenario_slider_move_the_predictions(page, browser_log, open_app, screenshot):
    open_app(page, "packaged", "?tab=budget")
    expect(page.locator(".budget-status").first).to_contain_text("Model fitted", timeout=FIT_TIMEOUT_MS)
    optimal = figure(page, ".budget-optimizer", "data-predicted")
    scenario = figure(page, ".budget-scenario", "data-revenue")
    expect(page.locator(".budget-quality").first).to_have_attribute("data-grade", re.compile("good|fair"))

    budget = page.locator(".budget-total input").first
    current = float(budget.input_value().replace(",", ""))
    budget.fill(f"{current * 1.3:.0f}")
    budget.press("Enter")
    expect(page.locator(".budget-optimizer").first).not_to_have_attribute("data-predicted", optimal)
    assert int(page.locator(".budget-optimizer").first.get_attribute("data-predicted")) > int(optimal)
    # 30 % more money than the current mix spends: the sentence says so, not "the same" budget
    expect(page.get_by_text(re.compile(r"Spending ₹[\d.]+ L per day instead of the current ₹[\d.]+ L \(\+30\.0%\)"))
           ).to_be_visible()

    handle = page.locator(".scenario-slider").first.locator(".noUi-handle")
    handle.focus()
    for _ in range(4):
        handle.press("ArrowLeft")
    expect(page.locator(".budget-scenario").first).not_to_have_attribute("data-revenue", scenario)
    expect(page.get_by_text(re.compile(r"Your scenario spends"))).to_be_visible()
    expect(page.locator(".budget-scenario").first).to_contain_text("Your scenario: revenue per day")
    screenshot(page, "budget_packaged")
    browser_log.assert_clean()


def test_reference_data_gets_an_honest_verdict(page, browser_log, open_app, screenshot):
    open_app(page, "reference", "?tab=budget")
    expect(page.locator(".budget-quality").first).to_have_attribute("data-grade", "weak", timeout=FIT_TIMEOUT_MS)
    expect(page.get_by_text("Do not use it to move budget.")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Next \d+ days of revenue"))).to_be_visible(timeout=FIT_TIMEOUT_MS)
    screenshot(page, "budget_reference")
    browser_log.assert_clean()
