"""Experiments (SPEC §4.10)."""
from __future__ import annotations

from .base import Section


class ExperimentSection(Section):
    """Experiments."""

    title = "Experiments"
    slug = "experiments"
    tables = ("ab_tests",)
    spec_section = "4.10"
