"""Product performance (SPEC §4.4)."""
from __future__ import annotations

from .base import Section


class ProductSection(Section):
    """Product performance."""

    title = "Product performance"
    slug = "products"
    tables = ("products",)
    spec_section = "4.4"
