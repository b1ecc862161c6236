"""Data quality (SPEC §3)."""
from __future__ import annotations

from .base import Section


class QualitySection(Section):
    """Data quality."""

    title = "Data quality"
    slug = "quality"
    tables = ()
    spec_section = "3"
