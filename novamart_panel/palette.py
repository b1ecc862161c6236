"""One colour per channel, segment, region and campaign type across the whole app and the report.

The palettes are Paul Tol's colour-blind-safe qualitative schemes (https://personal.sron.nl/~pault/):
distinguishable under the common colour-vision deficiencies and on light and dark backgrounds. Names the
NovaMart data uses get a fixed colour; any other name (another data set's channel, say) takes the next
free colour in sorted order, so the same name has the same colour in every chart of a session.
"""
from __future__ import annotations

from collections.abc import Iterable

# Tol "muted" (nine colours) and "bright" (seven), in their published order; grey is the fallback.
MUTED = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499")
BRIGHT = ("#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377")
VIBRANT = ("#0077BB", "#33BBEE", "#009988", "#EE7733", "#CC3311", "#EE3377")
OTHER = "#BBBBBB"

CHANNELS = {
    "Google Ads": "#4477AA", "Email": "#EE6677", "Facebook": "#228833", "Instagram": "#AA3377",
    "LinkedIn": "#CCBB44", "Referral": "#66CCEE", "Organic Search": "#44AA99", "Direct": "#882255",
    # Acquisition channels (customer_data.csv) and journey touchpoints (customer_journey.csv): distinct from
    # the campaign channels they are drawn beside (the Sankey, the computed donut, the violins).
    "Paid Search": "#EE7733", "Social Media": "#332288", "Website": "#999933", "Retargeting": "#DDCC77",
    "Offline Event": "#117733", "Organic": "#AA4499", "Partner": "#CC6677",
}
SEGMENTS = {"Premium": "#332288", "Regular": "#88CCEE", "Budget": "#117733", "New": "#DDCC77",
            "Churned": "#CC6677"}
REGIONS = {"North": "#0077BB", "South": "#EE7733", "East": "#009988", "West": "#CC3311", "Central": "#33BBEE"}
CAMPAIGN_TYPES = {"Brand Awareness": "#332288", "Lead Generation": "#44AA99", "Product Launch": "#DDCC77",
                  "Retargeting": "#CC6677", "Seasonal Sale": "#AA4499"}
CITY_TIERS = {"Tier 1": "#4477AA", "Tier 2": "#66CCEE", "Tier 3": "#CCBB44"}

_KINDS = {"channel": (CHANNELS, BRIGHT + MUTED), "segment": (SEGMENTS, MUTED), "region": (REGIONS, VIBRANT),
          "campaign_type": (CAMPAIGN_TYPES, MUTED), "city_tier": (CITY_TIERS, BRIGHT)}


def colours(kind: str, names: Iterable[str]) -> dict[str, str]:
    """Colour of each name of `kind` ("channel", "segment", "region", "campaign_type", "city_tier"):
    the fixed one for known names, then unused palette colours for the others in sorted order. Pass every
    name of the data, not only those shown, so that a name keeps its colour when the filters change."""
    fixed, palette = _KINDS[kind]
    names = sorted({str(n) for n in names if n is not None})
    out = {name: fixed[name] for name in names if name in fixed}
    free = [c for c in dict.fromkeys(palette) if c not in fixed.values()] or list(palette)
    for i, name in enumerate(n for n in names if n not in fixed):
        out[name] = free[i] if i < len(free) else OTHER
    return out


def colour(kind: str, name: str) -> str:
    """The colour of one known name (grey for a name the palette does not fix)."""
    return _KINDS[kind][0].get(name, OTHER)
