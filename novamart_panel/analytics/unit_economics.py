"""LTV:CAC and payback by acquisition channel (SPEC §4.9).

CAC of an acquisition channel = the spend of the campaign channels mapped to it in the acquisition window ÷ the
customers it acquired in that window. Acquisition channels ("Social Media", "Paid Search", "Partner", …) are not
campaign channels ("Facebook", "Google Ads", …), so `DEFAULT_CHANNEL_MAP` maps one to the other; a user can
override it with lines "Acquisition channel: campaign channel, campaign channel". A campaign channel mapped to
several acquisition channels has its spend split by the customers each acquired. Where no spend maps to a
channel (organic, partner, offline events in the reference data) its CAC is unknown, never zero.

Bands (the usual rule of thumb): LTV:CAC ≥ 3 scale, 1–3 optimise, < 1 fix.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

DEFAULT_CHANNEL_MAP: dict[str, tuple[str, ...]] = {
    "Social Media": ("Facebook", "Instagram", "LinkedIn"),
    "Paid Search": ("Google Ads",),
    "Referral": ("Referral",),
    "Email": ("Email",),
    "Organic": (),          # organic search and direct visits: no paid spend
    "Partner": (),          # partner deals are not in the campaign data
    "Offline Event": (),    # nor are events
}
BANDS = (("Scale", 3.0), ("Optimise", 1.0), ("Fix", 0.0))
UNKNOWN = "CAC unknown"
BAND_ORDER = ("Scale", "Optimise", "Fix", UNKNOWN)


def band(ratio: float) -> str:
    """'Scale' (≥ 3), 'Optimise' (1–3), 'Fix' (< 1) or 'CAC unknown' (no ratio)."""
    if ratio is None or not math.isfinite(ratio):
        return UNKNOWN
    for name, floor in BANDS:
        if ratio >= floor:
            return name
    return "Fix"


def default_mapping(acquisition_channels, campaign_channels) -> dict[str, tuple[str, ...]]:
    """The documented map restricted to the channels present; an acquisition channel named like a campaign
    channel maps to it; any other maps to nothing (CAC unknown)."""
    campaign = set(campaign_channels)
    mapping = {}
    for channel in acquisition_channels:
        if channel in DEFAULT_CHANNEL_MAP:
            mapping[channel] = tuple(c for c in DEFAULT_CHANNEL_MAP[channel] if c in campaign)
        else:
            mapping[channel] = (channel,) if channel in campaign else ()
    return mapping


def mapping_text(mapping: dict[str, tuple[str, ...]]) -> str:
    """The map as editable lines 'Acquisition: campaign, campaign' (an empty right side: no spend)."""
    return "\n".join(f"{channel}: {', '.join(targets)}" for channel, targets in mapping.items())


def parse_mapping(text: str, acquisition_channels, campaign_channels) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """Read 'Acquisition: campaign, campaign' lines over the default map; unknown names are reported, not used.
    Returns the map for every acquisition channel and the problems found (raw text: escape before display)."""
    acquisition = list(acquisition_channels)
    campaign = set(campaign_channels)
    mapping = default_mapping(acquisition, campaign)
    problems: list[str] = []
    for number, line in enumerate(str(text or "").splitlines(), start=1):
        if not line.strip():
            continue
        if ":" not in line:
            problems.append(f"line {number} has no ':' between the acquisition channel and its campaign channels")
            continue
        left, right = line.split(":", 1)
        channel = left.strip()
        if channel not in acquisition:
            problems.append(f"line {number}: '{channel}' is not an acquisition channel in customer_data.csv")
            continue
        targets = [t.strip() for t in right.split(",") if t.strip()]
        unknown = [t for t in targets if t not in campaign]
        if unknown:
            problems.append(f"line {number}: {', '.join(repr(t) for t in unknown)} not a campaign channel")
        mapping[channel] = tuple(dict.fromkeys(t for t in targets if t in campaign))
    return mapping, problems


def ltv_cac_table(cohort: pd.DataFrame, spend: pd.Series, mapping: dict[str, tuple[str, ...]],
                  conversions: pd.Series | None = None, basis: str = "customers") -> pd.DataFrame:
    """One row per acquisition channel of `cohort` (columns acquisition_channel, customers, ltv, monthly_margin:
    customers acquired in the window, their mean LTV and mean monthly gross margin), with the spend used, CAC,
    LTV:CAC, payback months and band. `spend` (and `conversions`) are the window's per campaign channel.
    `basis` "customers" divides spend by the customers acquired (the definition); "conversions" by the mapped
    campaign channels' conversions (a lower bound of CAC when the customer file is a sample: conversions include
    repeat purchases)."""
    if basis not in ("customers", "conversions"):
        raise ValueError("basis must be 'customers' or 'conversions'")
    cohort = cohort.set_index("acquisition_channel")
    channels = list(dict.fromkeys([*cohort.index, *mapping]))
    customers = cohort["customers"].reindex(channels).fillna(0)
    conversions = conversions if conversions is not None else pd.Series(dtype=float)
    claimants: dict[str, list[str]] = {}
    for channel in channels:
        for target in mapping.get(channel, ()):
            claimants.setdefault(target, []).append(channel)
    spend_used = pd.Series(0.0, index=channels)
    conversions_used = pd.Series(0.0, index=channels)
    for target, owners in claimants.items():
        acquired = customers[owners]
        shares = acquired / acquired.sum() if acquired.sum() > 0 else pd.Series(1 / len(owners), index=owners)
        spend_used[owners] += float(spend.get(target, 0.0) or 0.0) * shares
        conversions_used[owners] += float(conversions.get(target, 0.0) or 0.0) * shares
    rows = []
    for channel in channels:
        targets = mapping.get(channel, ())
        n = float(customers[channel])
        used = float(spend_used[channel])
        denominator = n if basis == "customers" else float(conversions_used[channel])
        cac = used / denominator if used > 0 and denominator > 0 else np.nan
        ltv = float(cohort["ltv"].get(channel, np.nan)) if channel in cohort.index else np.nan
        margin = float(cohort["monthly_margin"].get(channel, np.nan)) if channel in cohort.index else np.nan
        ratio = ltv / cac if np.isfinite(cac) and cac > 0 else np.nan
        payback = cac / margin if np.isfinite(cac) and np.isfinite(margin) and margin > 0 else np.nan
        shared = [t for t in targets if len(claimants.get(t, [])) > 1]
        rows.append({"acquisition_channel": channel, "customers": int(n), "conversions": float(conversions_used[channel]),
                     "spend": used, "cac": cac, "ltv": ltv, "ltv_cac": ratio, "payback_months": payback,
                     "monthly_margin": margin, "band": band(ratio), "spend_source": " + ".join(targets),
                     "shared_spend": ", ".join(shared)})
    return pd.DataFrame(rows)
