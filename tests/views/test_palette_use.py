"""One colour per channel, segment and region across the sections (novamart_panel.palette)."""
from __future__ import annotations

import holoviews as hv
import pytest

from novamart_panel import palette
from novamart_panel.views.attribution import AttributionSection
from novamart_panel.views.campaigns import CampaignSection
from novamart_panel.views.customers import SEGMENT_COLORS, CustomerSection
from novamart_panel.views.filters import Filters
from novamart_panel.views.products import ProductSection


@pytest.fixture(scope="module")
def sections(reference_store):
    filters = Filters(reference_store)
    return {cls.__name__: cls(store=reference_store, filters=filters)
            for cls in (AttributionSection, CampaignSection, CustomerSection, ProductSection)}


def test_email_has_one_colour_everywhere(sections):
    email = palette.colour("channel", "Email")
    assert sections["CampaignSection"].colors["channel"]["Email"] == email
    assert sections["AttributionSection"].colours["Email"] == email
    donut = sections["AttributionSection"].donut_credit().set_index("channel")
    assert donut.loc["Email", "color"] == email
    bubbles = sections["CustomerSection"].plot_channel_bubbles()
    colour = bubbles.opts.get().kwargs["color"]
    assert colour.apply(bubbles.clone(bubbles.dframe().query("channel == 'Email'"))).tolist() == [email]


def test_segments_and_regions_follow_the_palette(sections):
    assert SEGMENT_COLORS == palette.SEGMENTS
    customers = sections["CustomerSection"]
    wedges = customers.sunburst.wedges().set_index("label")
    assert wedges.loc["West", "color"] == palette.colour("region", "West")
    assert customers.sunburst.colors["customer_segment"]["Premium"] == palette.colour("segment", "Premium")
    assert sections["CampaignSection"].colors["region"]["West"] == palette.colour("region", "West")
    products = sections["ProductSection"]
    bars = products.plot_quarter_regions()
    assert bars.opts.get().kwargs["cmap"]["West"] == palette.colour("region", "West")
