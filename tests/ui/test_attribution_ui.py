"""Attribution tab in headless Chromium: the model selector and the credit-source buttons rewrite the donut's
data source in the browser and the insight beside it, with no console error.

The served app, the browser and the page's problem log come from tests/ui/conftest.py.
"""
from __future__ import annotations

import pandas as pd
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.ui

# The donut's data source as the browser holds it (named in views/attribution.py).
DONUT_DATA_JS = """() => {
  for (const doc of Bokeh.documents) {
    const source = doc.get_model_by_name('attribution-donut');
    if (source) return {channel: Array.from(source.data.channel), share: Array.from(source.data.share)};
  }
  return null;
}"""


def leader(shares: pd.Series) -> tuple[str, float]:
    return shares.idxmax(), float(shares.max())


def expect_donut(page, shares: pd.Series) -> None:
    """Wait until the browser's donut source holds `shares` (largest first)."""
    expected = shares.sort_values(ascending=False, kind="stable")
    page.wait_for_function(
        f"() => {{ const d = ({DONUT_DATA_JS})(); return d && d.channel[0] === {expected.index[0]!r} "
        f"&& Math.abs(d.share[0] - {float(expected.iloc[0])}) < 1e-9; }}")
    donut = page.evaluate(DONUT_DATA_JS)
    shown = dict(zip(donut["channel"], donut["share"]))
    # Channels a model credits nothing keep a (zero-width) wedge and their legend entry.
    assert {name: share for name, share in shown.items() if share > 0} == pytest.approx(expected[expected > 0].to_dict())
    assert set(shown) >= set(expected.index)


def test_model_selector_and_source_rewrite_the_donut_and_its_insight(page, browser_log, open_app, reference_dir):
    provided = pd.read_csv(reference_dir / "channel_attribution.csv").set_index("channel")
    journeys = pd.read_csv(reference_dir / "customer_journey.csv")
    last_name, last_share = leader(provided["last_touch"])
    first_name, first_share = leader(provided["first_touch"])
    assert (last_name, last_share) != (first_name, first_share)

    # The first page is built on the server before it is sent: open_app allows for a busy machine.
    open_app(page, "reference", "?tab=attribution", ready=".donut-insight")
    insight = page.locator(".donut-insight")
    expect(insight).to_contain_text(f"{last_name} gets the most credit: {last_share:.1f}%")
    expect_donut(page, provided["last_touch"])

    model = page.locator(".bk-input-group", has=page.locator("label", has_text="Attribution model")).locator("select")
    model.select_option(label="First touch")
    expect(insight).to_contain_text(f"{first_name} gets the most credit: {first_share:.1f}%")
    expect_donut(page, provided["first_touch"])

    # Credit computed from the journeys: first touch of the converting rows, counted with pandas.
    outcome = journeys.filter(like="touchpoint_").ffill(axis=1).iloc[:, -1]
    converting = journeys[outcome == "Purchase"]
    first_touch = converting.groupby("touchpoint_1")["customer_count"].sum()
    page.get_by_role("button", name="Computed from journeys").click()
    expect(insight).to_contain_text(
        f"{first_touch.idxmax()} is credited with {first_touch.max():,} of the {first_touch.sum():,} conversions")
    expect_donut(page, 100 * first_touch / first_touch.sum())
    browser_log.assert_clean()
