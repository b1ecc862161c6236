"""Customer value & segments (SPEC §4.9)."""
from __future__ import annotations

from .base import Section


class SegmentSection(Section):
    """Customer value & segments."""

    title = "Customer value & segments"
    slug = "segments"
    tables = ("customers",)
    spec_section = "4.9"
