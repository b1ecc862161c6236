"""Geography (SPEC §4.5)."""
from __future__ import annotations

from .base import Section


class GeographySection(Section):
    """Geography."""

    title = "Geography"
    slug = "geography"
    tables = ("geography",)
    spec_section = "4.5"
