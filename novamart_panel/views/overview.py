"""Executive overview (SPEC §4.1)."""
from __future__ import annotations

from .base import Section


class OverviewSection(Section):
    """Executive overview."""

    title = "Executive overview"
    slug = "overview"
    tables = ("campaigns",)
    spec_section = "4.1"
