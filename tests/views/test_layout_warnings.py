"""The server log stays clean: no Bokeh W-1005 FIXED_SIZING_MODE (fixed sizing without width and height) and no
HoloViews "aspect and width/height" warning when a section's page is built."""
from __future__ import annotations

import importlib

import holoviews.plotting.bokeh  # noqa: F401 - registers the backend the plots use
import panel as pn
import pytest
from bokeh.core.validation import check_integrity
from bokeh.document import Document

from novamart_panel.views.filters import Filters

SECTIONS = [("geography", "GeographySection"), ("products", "ProductSection"), ("customers", "CustomerSection"),
            ("campaigns", "CampaignSection"), ("attribution", "AttributionSection"),
            ("model_evaluation", "ModelEvaluationSection")]


@pytest.mark.parametrize(("module", "name"), SECTIONS)
def test_page_builds_without_sizing_warnings(reference_store, caplog, module, name):
    section_class = getattr(importlib.import_module(f"novamart_panel.views.{module}"), name)
    section = section_class(store=reference_store, filters=Filters(reference_store))
    doc = Document()
    with caplog.at_level("WARNING"):
        doc.add_root(pn.panel(section).get_root(doc))
        issues = check_integrity(list(doc.models))
    assert [str(w.extra) for w in issues.warning if w.code == 1005] == []
    assert [r.getMessage() for r in caplog.records if "aspect" in r.getMessage()] == []
