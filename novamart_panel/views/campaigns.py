"""Campaign analytics (SPEC §4.2)."""
from __future__ import annotations

from .base import Section


class CampaignSection(Section):
    """Campaign analytics."""

    title = "Campaign analytics"
    slug = "campaigns"
    tables = ("campaigns",)
    spec_section = "4.2"
