"""Model evaluation (SPEC §4.7)."""
from __future__ import annotations

from .base import Section


class ModelEvaluationSection(Section):
    """Model evaluation."""

    title = "Model evaluation"
    slug = "model"
    tables = ("leads",)
    spec_section = "4.7"
