"""Experiments in headless Chromium: pick an experiment and the readout, table and charts follow; change the
power calculator's inputs and its answer and curve follow; nothing goes wrong in the console."""
from __future__ import annotations

import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from novamart_panel.analytics import experiments as ex
from novamart_panel.format import count, percent
from ui_helpers import ACTIVE_SECTION, FIGURE_TITLES_JS, card, insight

pytestmark = pytest.mark.ui

QUERY = "?tab=experiments"


def wait_for_title(page: Page, start: str) -> None:
    page.wait_for_function(f"() => ({FIGURE_TITLES_JS})().some(t => t.startsWith({start!r}))")


def first_control_rate(packaged_dir) -> float:
    """The calculator's starting baseline: the first experiment's control rate in %, to 2 decimals."""
    rows = pd.read_csv(packaged_dir / "ab_test_results.csv")
    first = rows[(rows["experiment"] == rows["experiment"].iloc[0]) & (rows["variant"].str.lower() == "control")]
    return round(first["conversions"].sum() / first["visitors"].sum() * 100, 2)


def test_pick_an_experiment_and_change_the_power_inputs(page, browser_log, open_app, screenshot, packaged_dir):
    open_app(page, "packaged", QUERY, ready=".srm-banner")
    expect(page.locator(ACTIVE_SECTION)).to_have_text("Experiments")
    expect(page.get_by_text("Not applicable to this data: date range, channels, regions, campaign types")
           ).to_be_visible()
    readout = insight(page, "Control:")
    expect(readout).to_contain_text("Variant A lifts conversion by 1.1 pp")
    expect(readout).to_contain_text("ship it")
    wait_for_title(page, "Checkout Redesign: difference from control")
    screenshot(page, "packaged-experiments-checkout")

    page.locator(".bk-input-group", has_text="Experiment").locator("select").first.select_option(
        "Free Shipping Banner")
    expect(readout).to_contain_text("No detectable difference")
    expect(readout).to_contain_text("could only have detected a lift of")
    table = card(page, "1. Readout by variant").locator(".tabulator")
    expect(table).to_contain_text("Variant B")
    expect(table).to_contain_text("16,878")
    expect(page.locator(".srm-banner")).to_contain_text("33.0% / 33.3% / 33.7%")
    expect(card(page, "5. Every pair of variants")).to_contain_text("no winner is declared")
    wait_for_title(page, "Free Shipping Banner: difference from control")
    wait_for_title(page, "Free Shipping Banner: posterior conversion rates")

    power = card(page, "6. Power and sample size")
    answer = power.locator(".insight")
    baseline = first_control_rate(packaged_dir)
    expect(power.locator(".bk-input-group", has_text="Baseline conversion rate").locator("input")).to_have_value(
        f"{baseline:g}")
    needed = ex.sample_size(baseline / 100, 0.10, relative=True)
    expect(answer).to_contain_text(f"{count(needed)} visitors per arm")
    mde = power.locator(".bk-input-group", has_text="Minimum detectable effect").locator("input")
    mde.fill("20")
    mde.press("Enter")
    needed_20 = ex.sample_size(baseline / 100, 0.20, relative=True)
    expect(answer).to_contain_text(f"{count(needed_20)} visitors per arm")
    wait_for_title(page, f"Power to detect {percent(baseline / 100)} → {percent(baseline / 100 * 1.2)}: "
                         f"{count(needed_20)} visitors")
    power.locator(".bk-btn", has_text="Absolute (pp)").click()
    needed_abs = ex.sample_size(baseline / 100, 0.20)
    expect(answer).to_contain_text(f"{count(needed_abs)} visitors per arm")
    wait_for_title(page, f"Power to detect {percent(baseline / 100)} → {percent(baseline / 100 + 0.2)}: "
                         f"{count(needed_abs)} visitors")
    screenshot(page, "packaged-experiments-power")
    browser_log.assert_clean()
