"""Budget, forecast & mix (SPEC §4.8)."""
from __future__ import annotations

from .base import Section


class BudgetSection(Section):
    """Budget, forecast & mix."""

    title = "Budget, forecast & mix"
    slug = "budget"
    tables = ("campaigns",)
    spec_section = "4.8"
