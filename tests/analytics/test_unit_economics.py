"""LTV:CAC by acquisition channel worked by hand: the channel map, spend splits, bands and unknown CAC."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from novamart_panel.analytics import unit_economics as ue

ACQUISITION = ["Social Media", "Paid Search", "Organic", "Referral", "Partner", "Offline Event"]
CAMPAIGN = ["Facebook", "Instagram", "LinkedIn", "Google Ads", "Email", "Referral", "Direct", "Organic Search"]


def test_bands():
    assert [ue.band(v) for v in (5.0, 3.0, 2.99, 1.0, 0.99, 0.0)] == \
        ["Scale", "Scale", "Optimise", "Optimise", "Fix", "Fix"]
    assert ue.band(float("nan")) == ue.band(None) == ue.band(math.inf) == ue.UNKNOWN


def test_default_mapping_keeps_present_channels_and_maps_same_names():
    mapping = ue.default_mapping([*ACQUISITION, "Email", "Podcast"], CAMPAIGN)
    assert mapping["Social Media"] == ("Facebook", "Instagram", "LinkedIn")
    assert mapping["Paid Search"] == ("Google Ads",)
    assert mapping["Organic"] == mapping["Partner"] == mapping["Offline Event"] == mapping["Podcast"] == ()
    assert mapping["Email"] == ("Email",)
    assert ue.default_mapping(["Social Media"], ["Facebook"]) == {"Social Media": ("Facebook",)}
    text = ue.mapping_text(ue.default_mapping(ACQUISITION, CAMPAIGN))
    assert text.splitlines()[0] == "Social Media: Facebook, Instagram, LinkedIn"
    assert ue.parse_mapping(text, ACQUISITION, CAMPAIGN) == (ue.default_mapping(ACQUISITION, CAMPAIGN), [])


def test_a_user_can_override_the_map_and_is_told_what_was_not_understood():
    text = "Partner: Referral\nOrganic: Direct, Nonsense\nBogus: Email\nno colon here\n\nSocial Media:"
    mapping, problems = ue.parse_mapping(text, ACQUISITION, CAMPAIGN)
    assert mapping["Partner"] == ("Referral",)
    assert mapping["Organic"] == ("Direct",)
    assert mapping["Social Media"] == ()                       # an empty right side: no spend
    assert mapping["Paid Search"] == ("Google Ads",)          # lines not given keep the default
    assert problems == ["line 2: 'Nonsense' not a campaign channel",
                        "line 3: 'Bogus' is not an acquisition channel in customer_data.csv",
                        "line 4 has no ':' between the acquisition channel and its campaign channels"]


def cohort(**rows) -> pd.DataFrame:
    return pd.DataFrame([{"acquisition_channel": k, "customers": v[0], "ltv": v[1], "monthly_margin": v[2]}
                         for k, v in rows.items()])


def test_ltv_cac_by_hand():
    spend = pd.Series({"Facebook": 3000.0, "Instagram": 1000.0, "Google Ads": 900.0, "Direct": 0.0})
    mapping = {"Social Media": ("Facebook", "Instagram"), "Paid Search": ("Google Ads",), "Organic": ("Direct",),
               "Partner": ()}
    table = ue.ltv_cac_table(cohort(**{"Social Media": (100, 120.0, 10.0), "Paid Search": (30, 60.0, 5.0),
                                       "Organic": (50, 80.0, 4.0), "Partner": (10, 90.0, 3.0)}),
                             spend, mapping).set_index("acquisition_channel")
    social = table.loc["Social Media"]
    assert (social["spend"], social["cac"], social["ltv_cac"], social["payback_months"]) == (4000.0, 40.0, 3.0, 4.0)
    assert social["band"] == "Scale" and social["spend_source"] == "Facebook + Instagram"
    paid = table.loc["Paid Search"]
    assert (paid["cac"], paid["ltv_cac"], paid["band"]) == (30.0, 2.0, "Optimise")
    # Zero spend (organic) and no mapped channel (partner): CAC unknown, never zero or infinite.
    for channel in ("Organic", "Partner"):
        assert np.isnan(table.loc[channel, "cac"]) and table.loc[channel, "band"] == ue.UNKNOWN


def test_a_campaign_channel_shared_by_two_acquisition_channels_is_split_by_customers():
    spend = pd.Series({"Referral": 1000.0})
    conversions = pd.Series({"Referral": 400.0})
    mapping = {"Referral": ("Referral",), "Partner": ("Referral",)}
    table = ue.ltv_cac_table(cohort(Referral=(30, 50.0, 5.0), Partner=(10, 50.0, 5.0)), spend, mapping,
                             conversions).set_index("acquisition_channel")
    assert table.loc["Referral", "spend"] == pytest.approx(750.0)
    assert table.loc["Partner", "spend"] == pytest.approx(250.0)
    assert table.loc["Referral", "cac"] == pytest.approx(25.0) == table.loc["Partner", "cac"]
    assert table.loc["Partner", "shared_spend"] == "Referral"
    by_conversions = ue.ltv_cac_table(cohort(Referral=(30, 50.0, 5.0), Partner=(10, 50.0, 5.0)), spend, mapping,
                                      conversions, basis="conversions").set_index("acquisition_channel")
    assert by_conversions.loc["Referral", "conversions"] == pytest.approx(300.0)
    assert by_conversions.loc["Referral", "cac"] == pytest.approx(750.0 / 300.0)
    with pytest.raises(ValueError, match="basis"):
        ue.ltv_cac_table(cohort(Referral=(30, 50.0, 5.0)), spend, mapping, basis="orders")


def test_channels_without_acquisitions_in_the_window():
    table = ue.ltv_cac_table(cohort(**{"Paid Search": (0, np.nan, np.nan)}), pd.Series({"Google Ads": 500.0}),
                             {"Paid Search": ("Google Ads",), "Social Media": ("Facebook",)})
    assert table["band"].tolist() == [ue.UNKNOWN, ue.UNKNOWN]
    assert table["customers"].tolist() == [0, 0]
