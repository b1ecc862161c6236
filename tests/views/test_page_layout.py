"""A filter change must not change how the page is laid out.

In the browser, a change of any sizing property or stylesheet list of a shown component makes BokehJS lay the
whole page out again and repaint every figure: 0.1–0.6 s each on these machines, about 3 s for the campaigns
tab's first filter change before this was tested. Here the served page is built into a Bokeh document as a
session builds it (template, design and all), every section is shown in turn, the filters change, and the
layout properties of every component that was on the page must be what they were.
"""
from __future__ import annotations

import asyncio

import pytest
from bokeh.document import Document
from bokeh.models import Plot, UIElement
from panel.io.state import set_curdoc

from novamart_panel.app import App, extension

LAYOUT_PROPERTIES = ("stylesheets", "margin", "sizing_mode", "aspect_ratio", "width", "height",
                     "min_width", "max_width", "min_height", "max_height")
FILTER_CHANGES = ({"channels": ["Email"]}, {"regions": ["West"]}, {"channels": ["Facebook"], "regions": []})


@pytest.fixture(autouse=True, scope="module")
def _bokeh():
    extension()


def layout_of(doc: Document) -> dict:
    """Each shown component's layout properties (stylesheets by identity: a new one is loaded again)."""
    def value(model, name):
        if name == "stylesheets":
            return tuple(f"css of {len(sheet)} chars" if isinstance(sheet, str) else sheet.id
                         for sheet in model.stylesheets)
        return getattr(model, name, None)
    return {model.id: (type(model).__name__, {name: value(model, name) for name in LAYOUT_PROPERTIES
                                              if name in model.properties()})
            for model in doc.models if isinstance(model, UIElement)}


def changed_layout(before: dict, after: dict) -> list[str]:
    changes = []
    for ref, (kind, props) in before.items():
        if ref in after:   # components taken off the page (a rebuilt chart) are not laid out any more
            changes += [f"{kind} {ref} {name}: {old!r} → {after[ref][1][name]!r}"
                        for name, old in props.items() if after[ref][1][name] != old]
    return changes


async def _filter_changes(data_dir) -> dict[str, list[str]]:
    doc = Document()
    found = {}
    with set_curdoc(doc):
        app = App(data_dir)
        app.template().server_doc(doc)
        for section in app.sections:
            if section.missing_tables or section.slug == "budget":   # budget: the fit arrives later
                continue
            app.section = section.slug
            app.filters.param.update(channels=[], regions=[])
            for change in FILTER_CHANGES:
                before = layout_of(doc)
                app.filters.param.update(**change)
                found[f"{section.slug} {change}"] = changed_layout(before, layout_of(doc))
    return found


def test_a_filter_change_leaves_the_page_layout_as_it_was(packaged_dir):
    # Caught: Markdown/HTML panes sent the design's whole stylesheet list with their first new text (Panel renders
    # them inside a template with part of it); card children lost the card's margin; the maps turned from
    # scale_width to fixed with no size; a chart's min_width and min_height went to None.
    found = asyncio.run(_filter_changes(packaged_dir))
    assert len(found) >= 30
    changes = {state: found_here for state, found_here in found.items() if found_here}
    assert not changes, "\n".join(f"{state}: {change}" for state, found_here in changes.items()
                                  for change in found_here[:6])


async def _figure_backends(data_dir) -> dict[str, set[str]]:
    doc = Document()
    backends: dict[str, set[str]] = {}
    with set_curdoc(doc):
        app = App(data_dir)
        app.template().server_doc(doc)
        for section in app.sections:
            app.section = section.slug
            backends[section.slug] = {model.output_backend for model in doc.select({"type": Plot})}
    return backends


def test_every_figure_draws_on_a_canvas_not_webgl(packaged_dir):
    # HoloViews draws with WebGL by default: each figure then copies the page's GL canvas into its own on every
    # repaint, which made a browser repaint after a filter change 2.5 times as long.
    backends = asyncio.run(_figure_backends(packaged_dir))
    assert len(backends) == 11 and all(backends.values()), backends
    assert {backend for found in backends.values() for backend in found} == {"canvas"}
