"""Customer insights (SPEC §4.3)."""
from __future__ import annotations

from .base import Section


class CustomerSection(Section):
    """Customer insights."""

    title = "Customer insights"
    slug = "customers"
    tables = ("customers",)
    spec_section = "4.3"
