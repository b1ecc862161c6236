"""The served app: Panel's server answers, builds sessions, and every section renders on both data sets.

One in-process server (threaded `pn.serve`) serves the app on the packaged and on the reference data;
the `novamart-panel serve` command is started once as a real subprocess.
"""
from __future__ import annotations

import html
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import panel as pn
import pytest

from novamart_panel.app import SECTIONS, TITLE, App, create_app
from novamart_panel.session import ModelsRecomputedWhenChanged
from novamart_panel.views.base import table_label
from ports import free_port

SLUGS = [section.slug for section in SECTIONS]
DATA_SETS = ("packaged", "reference")


def get(url: str, timeout: float = 180) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def wait_until_listening(port: int, process: subprocess.Popen | None = None, deadline_s: float = 90) -> None:
    """Poll until the port accepts connections (bounded); fail early if the server process died."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            pytest.fail(f"the server exited with code {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"nothing listened on port {port} within {deadline_s} s")


def offsite_resources(html: str) -> list[str]:
    """Script, stylesheet, font and image addresses in a page that point to another host."""
    links = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    links += re.findall(r"""url\(\s*["']?([^"')]+)""", html)
    return [link for link in links if re.match(r"(https?:)?//", link)
            and not re.match(r"(https?:)?//(localhost|127\.0\.0\.1)[:/]", link)]


@pytest.fixture(scope="module")
def data_dirs(packaged_dir, reference_dir) -> dict[str, Path]:
    return {"packaged": packaged_dir, "reference": reference_dir}


@pytest.fixture(scope="module")
def server(data_dirs):
    """The app on both data sets at /packaged and /reference, with Panel's /liveness endpoint."""
    port = free_port()
    apps = {name: (lambda folder=folder: create_app(folder)) for name, folder in data_dirs.items()}
    thread = pn.serve(apps, port=port, address="127.0.0.1", threaded=True, show=False, verbose=False,
                      liveness=True, title=TITLE)
    base = f"http://localhost:{port}"
    try:
        wait_until_listening(port)
        yield base
    finally:
        thread.stop()


@pytest.mark.parametrize("name", DATA_SETS)
def test_liveness_builds_a_session_of_each_app(server, name):
    status, body = get(f"{server}/liveness?endpoint=/{name}")
    assert status == 200, body
    assert json.loads(body) == {f"/{name}": True}


@pytest.mark.parametrize("name", DATA_SETS)
def test_page_is_served_with_local_resources_only(server, name):
    status, html = get(f"{server}/{name}")
    assert status == 200
    assert f"<title>{TITLE}</title>" in html
    assert offsite_resources(html) == []


def test_unknown_path_is_not_found(server):
    status, _ = get(f"{server}/no-such-app")
    assert status == 404


def test_offsite_resource_detection():
    page = ('<script src="static/js/bokeh.min.js"></script><link href="http://localhost:5006/x.css">'
            '<link href="https://cdn.example.org/font.css"><style>@import url(//fonts.example.com/a)</style>')
    assert offsite_resources(page) == ["https://cdn.example.org/font.css", "//fonts.example.com/a"]


@pytest.fixture(scope="module")
def apps(data_dirs) -> dict[str, App]:
    return {name: App(folder) for name, folder in data_dirs.items()}


def rendered_text(root) -> str:
    """The text of every Markdown/HTML model under a Bokeh root, unescaped."""
    texts = [getattr(model, "text", None) for model in root.references()]
    text = " ".join(text for text in texts if isinstance(text, str))
    while (unescaped := html.unescape(text)) != text:   # Markdown panes escape HTML twice
        text = unescaped
    return text


@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize("name", DATA_SETS)
def test_every_section_renders(apps, name, slug):
    section = apps[name].section_view(slug)
    root = pn.panel(section).get_root()
    text = rendered_text(root)
    if section.missing_tables:
        # The page names what is missing instead of failing.
        for table in section.missing_tables:
            assert table_label(table) in text
    else:
        assert section.title in text


def test_sessions_keep_independent_filters(data_dirs):
    first, second = App(data_dirs["reference"]), App(data_dirs["reference"])
    channel = first.filters.param.channels.objects[0]
    first.filters.channels = [channel]
    first.section = "geography"
    assert second.filters.channels == []
    assert second.section == "overview"
    assert all(section.filters is second.filters for section in second.sections)
    assert all(section.filters is first.filters for section in first.sections)


def test_the_navigation_names_the_shown_section_in_one_property(data_dirs):
    """One class on the navigation column fills the shown section's button: moving the highlight is a single
    change, so a browser cannot show two sections filled while it applies the old and new button's changes."""
    app = App(data_dirs["reference"])
    navigation = app.navigation
    buttons = [obj for obj in navigation if isinstance(obj, pn.widgets.Button)]
    slug_of = {s.title: s.slug for s in app.sections}
    assert len(buttons) == len(app.sections)
    assert all(b.css_classes == ["section-nav", f"nav-{slug_of[b.label]}"] for b in buttons)
    assert navigation.css_classes == ["section-nav-list", "nav-at-overview"]
    before = [(b.css_classes, b.variant) for b in buttons]
    next(b for b in buttons if b.label == "Geography").clicks += 1
    assert app.section == "geography" and navigation.css_classes == ["section-nav-list", "nav-at-geography"]
    assert [(b.css_classes, b.variant) for b in buttons] == before
    root = navigation.get_root()
    assert root.css_classes[-1] == "nav-at-geography"
    app.section = "budget"
    assert root.css_classes[-1] == "nav-at-budget"
    # Every section's button has a rule that fills it when its section is shown.
    css = " ".join(str(sheet) for sheet in navigation.stylesheets)
    assert all(f":host(.nav-at-{s.slug}) .nav-{s.slug}" in css for s in app.sections)


def test_each_section_is_a_root_of_its_own_in_the_served_page(data_dirs):
    """BokehJS lays out a whole root when one of its components is shown or hidden: with the sections in one
    column, a switch laid out every section built so far (0.6 s and growing). Each section's holder is a root."""
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    doc = Document()
    with set_curdoc(doc):
        app = App(data_dirs["reference"])
        app.template().server_doc(doc)
        assert isinstance(doc.models, ModelsRecomputedWhenChanged)   # the served page walks its models less
        main_roots = [root for root in doc.roots if "main" in root.tags]
        assert [root.css_classes[-1] for root in main_roots] == [f"section-{s.slug}" for s in app.sections]
        assert [root.visible for root in main_roots] == [s.slug == "overview" for s in app.sections]
        app.section = "geography"
        app.section = "overview"
        app.section = "experiments"
        assert [root.visible for root in main_roots] == [s.slug == "experiments" for s in app.sections]
        built = {s.slug for s, root in zip(app.sections, main_roots, strict=True) if root.children}
        assert built == {"overview", "geography", "experiments"}


def test_the_served_page_s_model_set_stays_what_a_whole_walk_finds(data_dirs):
    """The session's document walks again only the roots a change touched. Through every section, a filter change
    and a map rebuilt by its tiles switch, its model set stays exactly the models reachable from the roots (what
    Bokeh's own walk of every root finds): none missing, so the browser's events find their models; none left over,
    so a removed view's models are let go."""
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    doc = Document()
    with set_curdoc(doc):
        app = App(data_dirs["reference"])
        app.template().server_doc(doc)

        def assert_whole():
            reachable = {model.id: model for root in doc.roots for model in root.references()}
            assert set(doc.models._models) == set(reachable)
            assert all(model.document is doc for model in reachable.values())

        assert_whole()
        for section in app.sections:
            app.section = section.slug
            assert_whole()
        app.filters.channels = app.filters.param.channels.objects[:1]
        assert_whole()
        app.section = "geography"
        app.section_view("geography").show_tiles = True   # the maps are rebuilt: new figures replace the old
        assert_whole()
        app.section_view("geography").show_tiles = False
        assert_whole()


def _sentences(objects) -> list:
    """What the Markdown panes inside `objects` show (None for a pane not filled yet)."""
    return [pane.object for obj in objects for pane in obj.select(pn.pane.Markdown)]


def test_a_served_section_sends_its_first_views_then_their_prose_then_the_rest(data_dirs, monkeypatch, hold_execute):
    """Served, a section's header and first figures go to the page first, with a line saying more is coming; the
    first screen's sentences follow in a callback of their own (as after a filter change: the overview's top
    insights score the whole history), then the rest replaces that line, so the top is drawn while the server
    builds the rest."""
    import novamart_panel.app as app_module

    scheduled = []
    monkeypatch.setattr(app_module, "served", lambda: True)
    hold_execute(scheduled.append)
    app = App(data_dirs["reference"])
    # The page (its HTML) is written before any section is built: the landing section is built once it has left,
    # while the browser loads the page's scripts.
    assert not any(holder.objects for holder in app.holders)
    assert [callback.__name__ for callback in scheduled] == ["_reveal"]
    scheduled.pop(0)()
    holder = app.holders[[s.slug for s in app.sections].index("overview")]
    layout = holder.objects[0]
    overview = app.section_view("overview")
    full = len(overview.layout())
    assert len(layout) == overview.first_screen + 1 < full + 1
    assert layout[-1].css_classes[-1] == app_module.PENDING_CLASS
    kpis = next(pane for pane in layout.select(pn.pane.HTML) if "data-kpi" in str(pane.object))
    assert "data-kpi=\"revenue\"" in kpis.object   # the cards are figures: sent first
    assert None in _sentences(layout.objects[:-1])   # the top insights and the chart's sentence wait
    scheduled.pop(0)()
    sentences = _sentences(layout.objects[:-1])
    assert None not in sentences and overview.insight_top() in sentences and overview.insight_channels() in sentences
    # The trend chart and the alerts table, below the first screen, are built when they are sent.
    def built() -> tuple[int, int]:
        return len(layout.select(pn.pane.HoloViews)), len(layout.select(pn.widgets.Tabulator))

    assert built() == (1, 0)   # the channel chart
    scheduled.pop(0)()
    assert len(layout) == full and all(app_module.PENDING_CLASS not in obj.css_classes for obj in layout)
    assert built() == (2, 1)
    app.section = "campaigns"   # served: the switch itself is scheduled, then the campaigns' prose and rest
    scheduled.pop(0)()
    campaigns = app.holders[1].objects[0]
    assert campaigns[-1].css_classes[-1] == app_module.PENDING_CLASS
    app.close()
    while scheduled:
        scheduled.pop(0)()   # the session closed meanwhile: nothing to compute or build
    assert campaigns[-1].css_classes[-1] == app_module.PENDING_CLASS
    assert None in _sentences(campaigns.objects[:-1])


def test_a_sessions_first_page_computes_its_later_steps_once_the_page_has_drawn_it(data_dirs, monkeypatch,
                                                                                     hold_execute):
    """A session's first page: the landing section's sentences and the views below wait until the browser reports
    the document drawn (Panel's onload), so the server does not compute them while the page loads its scripts, and
    the page does not build them before its first chart. Once the page is loaded, a first switch schedules its
    later steps at once."""
    import threading

    import novamart_panel.app as app_module

    scheduled, onload, drawn, here = [], [], [False], threading.get_ident()
    loaded = type(pn.state).loaded
    monkeypatch.setattr(app_module, "served", lambda: True)
    monkeypatch.setattr(type(pn.state), "loaded",   # this thread's session: not drawn until the page says so
                        property(lambda state: drawn[0] if threading.get_ident() == here else loaded.fget(state)))
    monkeypatch.setattr(pn.state, "onload", onload.append)
    hold_execute(scheduled.append)
    app = App(data_dirs["reference"])
    app.holders
    scheduled.pop(0)()   # the page is written: the landing section is built
    layout = app.holders[[s.slug for s in app.sections].index("overview")].objects[0]
    assert not scheduled and len(onload) == 1
    assert app_module.PENDING_CLASS in layout[-1].css_classes and None in _sentences(layout.objects[:-1])
    drawn[0] = True
    onload.pop()()   # the page has drawn the document: the prose is scheduled, in a callback of its own
    assert None in _sentences(layout.objects[:-1])
    scheduled.pop(0)()
    assert None not in _sentences(layout.objects[:-1])
    scheduled.pop(0)()   # the views below
    assert app_module.PENDING_CLASS not in layout[-1].css_classes
    app.section = "campaigns"
    scheduled.pop(0)()   # the switch: its prose is scheduled at once
    assert [callback.func.__name__ for callback in scheduled] == ["_add_prose"] and not onload
    app.close()


def _first_switch_served(folder, slug: str, monkeypatch, hold_execute) -> list:
    """A served app's first switch to `slug`, run up to the callback that sends the views below its first screen
    (the first of the callbacks returned; its arguments are the section, its layout and those views)."""
    import novamart_panel.app as app_module

    scheduled = []
    monkeypatch.setattr(app_module, "served", lambda: True)
    hold_execute(scheduled.append)
    app = App(folder)
    app.holders   # the page
    scheduled.pop(0)()   # the overview's first views, once the page is written
    scheduled.pop(0)()   # the overview's first prose, which schedules its rest
    scheduled.pop(0)()   # the overview's rest
    app.section = slug
    scheduled.pop(0)()   # the switch
    scheduled.pop(0)()   # the section's first prose
    if scheduled[0].func.__name__ == "_add_screen_rest":
        scheduled.pop(0)()   # the rest of its first screen, below its top chart
    return scheduled


def test_a_served_first_switch_sends_the_top_chart_then_the_rest_of_the_first_screen(data_dirs, monkeypatch,
                                                                                      hold_execute):
    """Model evaluation's first screen holds three charts: the confusion matrix, then the ROC and precision-recall
    curves in the next card. Served, a first switch sends the first screen down to its top chart, that chart's
    prose, then the rest of the first screen, then the views below: the top chart is not held back while the server
    builds the others."""
    import novamart_panel.app as app_module

    scheduled = []
    monkeypatch.setattr(app_module, "served", lambda: True)
    hold_execute(scheduled.append)
    app = App(data_dirs["reference"])
    app.holders
    while scheduled:
        scheduled.pop(0)()   # the overview's prose and rest
    app.section = "model"
    scheduled.pop(0)()   # the switch
    section = app.section_view("model")
    layout = app.holders[[s.slug for s in app.sections].index("model")].objects[0]

    def charts() -> int:
        return len(layout.select(pn.pane.HoloViews))

    assert len(layout) == 3 and charts() == 1 and app_module.PENDING_CLASS in layout[-1].css_classes
    assert None in _sentences(layout.objects[:-1])
    scheduled.pop(0)()   # the top chart's prose
    assert None not in _sentences(layout.objects[:-1]) and charts() == 1
    scheduled.pop(0)()   # the rest of the first screen, above the line saying more is coming
    assert len(layout) == section.first_screen + 1 and charts() == 3
    assert app_module.PENDING_CLASS in layout[-1].css_classes and None not in _sentences(layout.objects[:-1])
    scheduled.pop(0)()   # the views below
    assert len(layout) == len(section.layout()) and not scheduled


def test_a_served_first_switch_builds_the_sunburst_when_it_sends_the_views_below(data_dirs, monkeypatch, hold_execute):
    """The customers' sunburst, below the first screen, is a Bokeh figure Panel builds when it lays the view out:
    served, a first switch builds it in the callback that sends the views below, not before the first screen.
    It then follows the filters."""
    scheduled = _first_switch_served(data_dirs["reference"], "customers", monkeypatch, hold_execute)
    section, layout, rest = scheduled[0].args
    assert not [pane for obj in rest for pane in obj.select(pn.pane.Bokeh)]
    scheduled.pop(0)()
    (pane,) = [pane for obj in layout.objects for pane in obj.select(pn.pane.Bokeh)]
    everyone = set(pane.object.renderers[0].data_source.data["path_text"])
    region = section.filters.param.regions.objects[0]
    section.filters.regions = [region]
    shown = set(pane.object.renderers[0].data_source.data["path_text"])
    assert shown != everyone and all(text.startswith(("All", region)) for text in shown)


def test_a_served_first_switch_computes_the_views_below_the_first_screen_when_it_sends_them(data_dirs, monkeypatch,
                                                                                              hold_execute):
    """Served, a first switch computes the sentences and tables of the section's first screen only: those below
    it are built empty and computed in the callback that sends them, so the first screen leaves sooner."""
    scheduled = _first_switch_served(data_dirs["reference"], "geography", monkeypatch, hold_execute)
    section, layout, rest = scheduled[0].args

    def shown(objects) -> tuple[list, list]:
        """The insight sentences and table frames inside `objects`."""
        insights = [pane.object for obj in objects for pane in obj.select(pn.pane.Markdown)
                    if "insight" in pane.css_classes]
        tables = [table.value for obj in objects for table in obj.select(pn.widgets.Tabulator)]
        return insights, tables

    first_insights, _ = shown(layout.objects)
    assert first_insights and all(isinstance(text, str) and text for text in first_insights)
    insights, tables = shown(rest)   # Geography's stores-and-satisfaction card: its insight built empty
    assert insights and not any(insights) and all(table is None for table in tables)
    scheduled.pop(0)()
    insights, tables = shown(layout.objects[section.first_screen:])
    assert insights and all(isinstance(text, str) and text for text in insights)
    assert all(isinstance(table, pd.DataFrame) and len(table) for table in tables)
    section.filters.regions = section.filters.param.regions.objects[:1]   # filled late, it follows the filters
    assert shown(layout.objects[section.first_screen:])[0] != insights


# Views built only when the views below the first screen are sent: (tables, charts) among them.
BUILT_WHEN_SENT = {
    "campaigns": (1, 8),   # from monthly spend to the month-by-month bubbles
    "customers": (1, 5),   # from satisfaction to churn risk and the at-risk customers
    "products": (1, 3),   # regions by quarter, quarter by quarter, high volume and low margin, and its list
    "attribution": (2, 5),   # computed vs provided credit, the correlations, the journeys
    "model": (0, 3),   # the cost-aware threshold, the learning curve, feature importance
    "segments": (4, 4),   # from the RFM segments table to LTV:CAC (the reference data has no orders or CRM file)
    "quality": (6, 1),   # the check cards, below the files and the issues found
    "budget": (4, 6),    # every card below the model card: from contributions over time to mediation
}


@pytest.mark.parametrize("slug", BUILT_WHEN_SENT)
def test_a_served_first_switch_builds_the_views_below_when_it_sends_them(data_dirs, monkeypatch, hold_execute, slug):
    """A section's cards below its first screen (Data quality's check cards, Budget's cards below its model card,
    the campaigns' from monthly spend down…) are built in the callback that sends them, not before the first
    screen leaves: building Budget's (seven cards, their charts, tables and sliders) took 120 ms of its first
    switch, the campaigns' 85 ms."""
    scheduled = _first_switch_served(data_dirs["reference"], slug, monkeypatch, hold_execute)
    section, layout, rest = scheduled[0].args

    def built(view) -> bool:
        return isinstance(view, (pn.widgets.Tabulator, pn.pane.HoloViews))

    assert rest and not [view for obj in rest for view in obj.select(built)]
    scheduled.pop(0)()
    below = [type(view) for obj in layout.objects[section.first_screen:] for view in obj.select(built)]
    assert (below.count(pn.widgets.Tabulator), below.count(pn.pane.HoloViews)) == BUILT_WHEN_SENT[slug]


TABLES_FIRST = {"quality": "its first screen is the files and the issues found, the chart of checks below"}


@pytest.mark.parametrize("slug", [s.slug for s in SECTIONS if s.slug not in TABLES_FIRST])
def test_a_section_s_first_screen_holds_its_first_chart(data_dirs, slug):
    """Served, a section sends its first screen first (and a filter change refreshes it first): a section with
    charts has its first chart there, so the page draws one as soon as it can."""
    app = App(data_dirs["packaged"])   # every optional file present: every section shows all its views
    section = app.section_view(slug)
    layout = section.__panel__()
    assert isinstance(layout, pn.Column)
    charted = [i for i, obj in enumerate(layout.objects) if any(
        getattr(view, "_novamart_chart", None) or isinstance(view, pn.pane.Bokeh) for view in obj.select())]
    assert charted and charted[0] < section.first_screen


def test_cli_serve_answers_on_the_chosen_port_and_data(reference_dir, tmp_path):
    """`novamart-panel serve --port N --data DIR` serves the app at / and /serve_app, then stops."""
    script = Path(sys.executable).with_name("novamart-panel")
    assert script.is_file(), "the novamart-panel console script is not installed in this environment"
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "NOVAMART_DATA"}
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(script), "serve", "--port", str(port), "--address", "127.0.0.1", "--data", str(reference_dir)],
            env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_listening(port, process)
        for path in ("/", "/serve_app"):
            status, html = get(f"http://localhost:{port}{path}")
            assert status == 200, path
            assert f"<title>{TITLE}</title>" in html
    finally:
        # The CLI runs `panel serve` as a child: stop the whole process group it leads.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert "Traceback" not in log.read_text(encoding="utf-8", errors="replace")
