"""Stored script injection (SPEC §7): the packaged data with script and markup in every free-text column.

Every section and the sidebar are rendered to Bokeh models and every model that reaches the browser as HTML is
checked: Markdown and HTML panes (after the one unescaping the browser does), MultiChoice option names
(Choices.js inserts them as HTML), hover tooltip templates (Bokeh parses them as HTML) and Tabulator column
titles. Chart axes, legends and labels are drawn on a canvas and cannot run anything. The browser test
(tests/ui/test_hostile_input_ui.py) opens the same data in Chromium.
"""
from __future__ import annotations

import html
import re

import panel as pn
import pytest
from bokeh.models import HoverTool, MultiChoice

from hostile import PAYLOADS, make_hostile_folder
from novamart_panel.app import App, extension
from novamart_panel.report import build_report_html

# An element or attribute that could run script or fetch something, as the browser would see it.
ACTIVE = re.compile(r"<\s*(img|script|svg|iframe|b)\b|<[^>]*\bon\w+\s*=|<[^>]*href\s*=\s*[\"']?\s*javascript:"
                    r"|<[^>]*src\s*=\s*[\"']?http", re.IGNORECASE)
MARKUP_MODELS = ("HTML", "Markdown", "Div", "Alert")
APP_MARKUP = ('<b>categories</b>',)   # the app's own HTML (products' treemap level line)


@pytest.fixture(scope="module")
def hostile_app(packaged_dir, tmp_path_factory) -> App:
    extension()
    app = App(make_hostile_folder(packaged_dir, tmp_path_factory.mktemp("hostile")))
    assert {"campaigns", "customers", "products", "geography", "journeys", "leads", "ab_tests"} <= app.store.tables
    return app


def active_markup(root) -> list[str]:
    """What in the models under `root` the browser would treat as live markup coming from the data."""
    found = []
    for model in root.references():
        kind = type(model).__name__
        texts: list[str] = []
        if kind in MARKUP_MODELS and isinstance(getattr(model, "text", None), str):
            texts.append(html.unescape(model.text))   # panes send HTML escaped once
        elif isinstance(model, MultiChoice):
            texts += [o if isinstance(o, str) else o[1] for o in model.options]
        elif isinstance(model, HoverTool) and model.tooltips:
            tooltips = model.tooltips
            texts += [tooltips] if isinstance(tooltips, str) else [value for _, value in tooltips]
        elif kind == "DataTabulator":
            texts += [column.title for column in model.columns if isinstance(column.title, str)]
        for text in texts:
            for own in APP_MARKUP:
                text = text.replace(own, "")
            if hit := ACTIVE.search(text):
                found.append(f"{kind}: …{text[max(0, hit.start() - 60):hit.end() + 40]}…")
    return found


def test_no_section_lets_data_text_become_markup(hostile_app):
    problems = active_markup(pn.panel(hostile_app.sidebar()).get_root())
    for section in hostile_app.sections:
        problems += [f"{section.slug} {p}" for p in active_markup(pn.panel(section).get_root())]
    assert problems == []


def test_the_data_is_still_shown_as_text(hostile_app):
    overview = hostile_app.section_view("overview")
    text = overview.insight_channels()
    assert r"\<img src=x onerror=" in text or r"\<script\>" in text or "javascript:window" in text
    root = pn.panel(hostile_app.sidebar()).get_root()
    options = [o for m in root.references() if isinstance(m, MultiChoice) for o in m.options]
    assert any("&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;" in o for o in options)


def test_the_report_carries_no_live_markup_from_the_data(hostile_app):
    page = build_report_html(hostile_app)
    for payload in PAYLOADS:
        if "<" in payload:
            assert payload not in page, payload
    body = page[page.index("<main>"):page.index("</main>")]
    assert re.search(r"<[^>]*\bon\w+\s*=", body) is None           # no element with an event handler
    assert re.search(r"href\s*=\s*[\"']?\s*javascript:", body, re.IGNORECASE) is None
    assert "<img" not in body and "<iframe" not in body and "<svg" not in body
