"""Attribution & funnel (SPEC §4.6)."""
from __future__ import annotations

from .base import Section


class AttributionSection(Section):
    """Attribution & funnel."""

    title = "Attribution & funnel"
    slug = "attribution"
    tables = ("funnel", "attribution", "journeys", "correlations")
    spec_section = "4.6"
