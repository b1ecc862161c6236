"""Who may see the data folder's full path (SPEC §7), the environment the CLI serves with, and the session's
document walking its models only when their graph changed, HoloViews' stream registry read while other
sessions' threads add to it, and a server process's full garbage collections made while it is idle."""
from __future__ import annotations

import contextlib
import sys
import threading
import time
from pathlib import Path

import pytest

from novamart_panel import session
from novamart_panel.cli import serve_environment


@pytest.mark.parametrize("host, local", [
    ("localhost:5006", True), ("127.0.0.1:5006", True), ("[::1]:5006", True), ("LOCALHOST", True),
    ("novamart.example.com", False), ("10.0.0.5:5006", False), ("192.168.1.2", False), ("", False),
    ("localhost.example.com:80", False), ("[2001:db8::1]:5006", False),
])
def test_only_a_browser_asking_for_localhost_is_local(host, local):
    assert session.request_is_local({"Host": host}) is local


@pytest.mark.parametrize("header", ["X-Forwarded-For", "X-Forwarded-Host", "Forwarded", "X-Real-IP"])
def test_a_proxied_request_is_not_local_even_for_localhost(header):
    assert session.request_is_local({"Host": "localhost:5006", header: "203.0.113.9"}) is False


def test_outside_a_server_the_full_path_is_shown(tmp_path):
    assert not session.served()
    assert session.shown_folder(tmp_path) == str(tmp_path)


def test_a_visitor_sees_only_the_folder_name(monkeypatch, tmp_path):
    folder = tmp_path / "novamart_data"
    monkeypatch.setattr(session, "request_is_local", lambda headers=None: False)
    assert session.shown_folder(folder) == "novamart_data"
    monkeypatch.setattr(session, "request_is_local", lambda headers=None: True)
    assert session.shown_folder(folder) == str(folder)


def test_the_sidebar_and_the_report_show_the_folder_as_allowed(monkeypatch, packaged_store):
    from novamart_panel.app import App, extension
    from novamart_panel.report import build_report_html

    extension()
    monkeypatch.setattr(session, "request_is_local", lambda headers=None: False)
    app = App(packaged_store.folder)
    folder_pane = app.sidebar()[-1]
    assert folder_pane.object == f"Data: {Path(packaged_store.folder).name}"
    assert str(packaged_store.folder) not in build_report_html(app)


def test_serving_uses_the_c_allocator_unless_told_otherwise(monkeypatch, tmp_path):
    monkeypatch.delenv("PYTHONMALLOC", raising=False)
    env = serve_environment(tmp_path)
    assert env["PYTHONMALLOC"] == "malloc" and env["NOVAMART_DATA"] == str(tmp_path.resolve())
    monkeypatch.setenv("PYTHONMALLOC", "pymalloc")
    assert serve_environment(None)["PYTHONMALLOC"] == "pymalloc"


def test_the_clean_up_collects_when_there_is_no_event_loop():
    runs = session.COLLECTOR.runs
    session.COLLECTOR.schedule()
    assert session.COLLECTOR.runs == runs + 1


class _Counts:
    """Stands in for `gc.get_count()`: (generation 0, generation 1, generation 2) counts set by the test."""

    def __init__(self):
        self.value = (0, 0, 0)

    def __call__(self):
        return self.value


def _idle_collector(due=10):
    counts, collected = _Counts(), []
    collector = session.IdleCollector(due=due, counts=counts, collect=lambda: collected.append(counts.value))
    return collector, counts, collected


def test_a_full_collection_waits_while_the_process_allocates():
    collector, counts, collected = _idle_collector()
    for step in range(20):   # a session computing: the counts move between every two polls
        counts.value = (step * 50 % 700, step % 10, 10 + step)
        collector.poll()
    assert collected == []


def test_a_due_full_collection_runs_once_the_process_is_idle():
    collector, counts, collected = _idle_collector()
    counts.value = (120, 4, 12)
    for _ in range(session.IDLE_POLLS):
        collector.poll()
    assert collected == []   # the first poll only saw the counts
    collector.poll()
    assert collected == [(120, 4, 12)]
    counts.value = (0, 0, 0)   # what a full collection leaves
    for _ in range(5 * session.IDLE_POLLS):
        collector.poll()
    assert collected == [(120, 4, 12)] and collector.runs == 1


def test_an_idle_process_does_not_collect_before_a_collection_is_due():
    collector, counts, collected = _idle_collector(due=10)
    for generation_0 in range(10):   # single objects come and go (a timer, a log line): still idle
        counts.value = (generation_0, 7, 9)
        collector.poll()
    assert collected == []
    counts.value = (3, 0, 10)   # one more collection of generation 1 makes it due
    for _ in range(session.IDLE_POLLS + 1):
        collector.poll()
    assert collected == [(3, 0, 10)]


class _Loop:
    """Stands in for the server's event loop: a clock and the callbacks it was asked to run later."""

    def __init__(self):
        self.now, self.later = 0.0, []

    def time(self):
        return self.now

    def call_later(self, delay, callback, *args):
        self.later.append((self.now + delay, callback, args))

    def run_next(self):
        self.later.sort(key=lambda call: call[0])
        self.now, callback, args = self.later.pop(0)
        callback(*args)


def _clean_up(monkeypatch):
    loop, counts = _Loop(), _Counts()
    monkeypatch.setattr(session.asyncio, "get_running_loop", lambda: loop)
    return session._Collector(counts=counts), loop, counts


def test_sessions_closing_together_share_one_clean_up(monkeypatch):
    collector, loop, counts = _clean_up(monkeypatch)
    for _ in range(3):
        collector.schedule()
    assert len(loop.later) == 1 and loop.later[0][0] == session.COLLECT_DELAY_S


def test_the_clean_up_after_closed_sessions_waits_for_an_idle_moment(monkeypatch):
    collector, loop, counts = _clean_up(monkeypatch)
    collector.schedule()
    for step in range(20):   # another session's page is being built: the counts move between every two looks
        counts.value = (step * 50 % 700, step % 10, 10 + step)
        loop.run_next()
    assert collector.runs == 0 and len(loop.later) == 1
    for _ in range(session.IDLE_POLLS - 1):   # then nothing moves: the last look saw these counts
        loop.run_next()
    assert collector.runs == 0
    loop.run_next()   # the counts unchanged over IDLE_POLLS looks in a row
    assert collector.runs == 1 and loop.later == []
    collector.schedule()   # later sessions get a clean-up of their own
    assert len(loop.later) == 1


def test_a_process_that_is_never_idle_still_cleans_up_after_closed_sessions(monkeypatch):
    collector, loop, counts = _clean_up(monkeypatch)
    collector.schedule()
    for step in range(1, 1000):   # far more looks than the wait allows
        if not loop.later:
            break
        counts.value = (0, step % 10, step)
        loop.run_next()
    assert collector.runs == 1 and loop.later == []
    assert loop.now == pytest.approx(session.COLLECT_DELAY_S + session.COLLECT_WAIT_S, abs=session.IDLE_POLL_S)


def test_the_server_setup_freezes_the_imports_and_defers_full_collections_to_idle_moments():
    """`serve_setup` (run by `panel serve --setup`) in a fresh interpreter: the collector is on again, the imports
    are frozen, the full collection's threshold is raised and the idle poll is scheduled."""
    import subprocess

    probe = ("import gc, importlib.util, runpy; import panel as pn; "
             "default = gc.get_threshold()[2]; "
             "runpy.run_path(importlib.util.find_spec('novamart_panel.serve_setup').origin); "
             "print(gc.isenabled(), gc.get_freeze_count() > 100_000, gc.get_threshold()[2] // default, "
             "any(key.endswith('_novamart-idle-collection') for key in pn.state._scheduled))")
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=True)
    assert found.stdout.split() == ["True", "True", str(session.FULL_COLLECTION_DEFERRAL), "True"]


def _document_with_a_chart():
    from bokeh.document import Document
    from bokeh.plotting import figure

    doc = Document()
    fig = figure()
    fig.scatter([1, 2], [3, 4])
    doc.add_root(fig)
    session.recompute_models_when_changed(doc)
    doc.models.flush_synced()
    return doc, fig


def test_a_held_change_of_data_only_does_not_walk_the_models(monkeypatch):
    """Bokeh walks every model of the page at the end of each freeze; a change that only sends new data (what a
    filter change sends a chart) leaves the model graph as it is, so the session's document skips the walk."""
    doc, fig = _document_with_a_chart()
    assert isinstance(doc.models, session.ModelsRecomputedWhenChanged)
    walks = []
    original = session.ModelsRecomputedWhenChanged.recompute
    monkeypatch.setattr(session.ModelsRecomputedWhenChanged, "recompute",
                        lambda self: (walks.append(1), original(self)))
    source = fig.renderers[0].data_source
    with doc.models.freeze():
        source.data = {"x": [5, 6, 7], "y": [1, 2, 3]}
        fig.title.text = "New data"
    assert walks == []


def test_a_held_change_that_adds_models_or_roots_still_registers_them():
    """New models (a renderer, a root) reach the document's model set at the end of the freeze, as in Bokeh: the
    browser's events address them by id."""
    from bokeh.models import ColumnDataSource, Div

    doc, fig = _document_with_a_chart()
    with doc.models.freeze():
        renderer = fig.line("x", "y", source=ColumnDataSource({"x": [1, 2], "y": [2, 1]}))
    assert doc.get_model_by_id(renderer.id) is renderer
    assert doc.get_model_by_id(renderer.data_source.id) is renderer.data_source
    div = Div(text="added")
    with doc.models.freeze():
        doc.add_root(div)
    assert doc.get_model_by_id(div.id) is div
    with doc.models.freeze():
        fig.renderers = fig.renderers[:1]
    assert doc.get_model_by_id(renderer.id) is None


def test_roots_added_one_at_a_time_walk_only_the_new_roots(monkeypatch):
    """Panel adds a served page's template items as roots one by one; each addition walked every model of the page
    again. An added root's models join the set as a whole recompute would put them there, without the walk."""
    from bokeh.models import ColumnDataSource, Column, Div
    from bokeh.plotting import figure

    doc, fig = _document_with_a_chart()
    walks = []
    original = session.ModelsRecomputedWhenChanged.recompute
    monkeypatch.setattr(session.ModelsRecomputedWhenChanged, "recompute",
                        lambda self: (walks.append(1), original(self)))
    second = figure()
    second.line("x", "y", source=ColumnDataSource({"x": [1, 2], "y": [2, 1]}))
    shared = Div(text="in two roots")
    roots = [Column(Div(text="one"), shared), second, Column(shared)]
    for root in roots:
        doc.add_root(root)
    assert walks == []
    added = {model.id for root in roots for model in root.references()}
    assert added <= set(doc.models._models)
    assert all(doc.get_model_by_id(model_id).document is doc for model_id in added)
    assert not added & {model.id for model in doc.models.synced_references}   # sent whole with the next message
    kept = dict(doc.models._models)
    original(doc.models)   # a whole recompute finds the same set
    assert doc.models._models == kept
    # Removing a root lets go of the models no other root reaches, without a walk; the shared one stays.
    walks.clear()
    doc.remove_root(second)
    assert walks == [] and doc.get_model_by_id(second.id) is None and second.document is None
    doc.remove_root(roots[0])
    assert doc.get_model_by_id(roots[0].id) is None and doc.get_model_by_id(shared.id) is shared
    assert shared.document is doc


def _walked_roots(monkeypatch) -> list:
    """The roots whose models are walked from now on (by `Model.references`, which Bokeh's walk also uses)."""
    from bokeh.model import Model

    walked = []
    original = Model.references
    monkeypatch.setattr(Model, "references", lambda self: (walked.append(self), original(self))[1])
    return walked


def _whole_walk(doc) -> set:
    """The ids of the models Bokeh's own recompute would hold: every model reachable from a root."""
    return {model.id for root in doc.roots for model in root.references()}


def test_a_changed_root_is_walked_alone_and_its_removed_models_leave(monkeypatch):
    """A first switch fills one section's holder late in a session: only that root is walked again (Bokeh walked
    every section's models, 280 ms with all of them built). The models it no longer reaches leave the document,
    unless another root still reaches them; models it now reaches join it, new to the browser."""
    from bokeh.models import Column, Div

    doc, fig = _document_with_a_chart()
    shared = Div(text="shared")
    placeholder, other = Div(text="building…"), Column(Div(text="another section"), shared)
    holder = Column(placeholder, shared)
    doc.add_root(holder)
    doc.add_root(other)
    doc.models.flush_synced()
    walked = _walked_roots(monkeypatch)
    views = Column(Div(text="the section's views"))
    with doc.models.freeze():
        holder.children = [views]
    assert walked == [holder]
    assert doc.get_model_by_id(placeholder.id) is None and placeholder.document is None
    assert doc.get_model_by_id(shared.id) is shared   # the other root still reaches it
    assert {views.id, views.children[0].id} <= {model.id for model in doc.models._new_models}
    assert set(doc.models._models) == _whole_walk(doc)
    # Moving a model from one root to another within a freeze keeps it: it is never sent again.
    doc.models.flush_synced()
    moved = views.children[0]
    with doc.models.freeze():
        views.children = []
        other.children = [*other.children, moved]
    assert moved.document is doc and moved not in doc.models._new_models
    assert set(doc.models._models) == _whole_walk(doc)


def test_a_model_two_roots_reach_walks_both_and_unknown_changes_walk_everything(monkeypatch):
    from bokeh.models import Column, Div

    doc, fig = _document_with_a_chart()
    shared = Column(Div(text="shared"))
    first, second = Column(shared), Column(shared)
    doc.add_root(first)
    doc.add_root(second)
    walked = _walked_roots(monkeypatch)
    added = Div(text="added to the shared column")
    with doc.models.freeze():
        shared.children = [*shared.children, added]
    assert sorted(map(id, walked)) == sorted(map(id, [first, second])) and added.document is doc
    walked.clear()
    doc.models.invalidate()   # not from a model's property change: which root changed is not known
    assert {root.id for root in walked} == {root.id for root in doc.roots}
    assert set(doc.models._models) == _whole_walk(doc)


def test_the_model_set_is_what_bokehs_whole_walk_finds_after_any_changes():
    """Random moves of models between roots, added and removed roots, nested and unfrozen changes, whole walks:
    after each freeze the set, the names and which models are attached are exactly what Bokeh's whole walk gives."""
    import random

    from bokeh.models import Column, Div

    rng = random.Random(7)
    doc, fig = _document_with_a_chart()
    pool = [Div(text=f"div {i}", name=f"n{i % 5}") for i in range(30)]
    columns = [Column(name=f"c{i % 3}") for i in range(8)]
    for column in columns[:4]:
        doc.add_root(column)
    for step in range(300):
        with contextlib.ExitStack() as stack:
            for _ in range(rng.randint(0, 2)):
                stack.enter_context(doc.models.freeze())
            for _ in range(rng.randint(1, 4)):
                action = rng.random()
                column = rng.choice(columns)
                if action < 0.6:
                    column.children = rng.sample(pool + columns[columns.index(column) + 1:], rng.randint(0, 4))
                elif action < 0.75 and column not in doc.roots:
                    doc.add_root(column)
                elif action < 0.8:
                    doc.models.invalidate()   # a caller other than Model.trigger: the whole document is walked
                elif column in doc.roots:
                    doc.remove_root(column)
        expected = _whole_walk(doc)
        assert set(doc.models._models) == expected, step
        every_model = {model.id: model for model in [*pool, *columns, fig, *fig.references()]}
        assert {model_id for model_id, model in every_model.items() if model.document is doc} == expected, step
        for name in {f"n{i}" for i in range(5)} | {f"c{i}" for i in range(3)}:
            assert {m.id for m in doc.models.get_all_by_name(name)} == {
                model_id for model_id in expected if every_model.get(model_id) is not None
                and every_model[model_id].name == name}, step


def _read_while_another_thread_registers(registry, seconds: float = 1.5) -> list[BaseException]:
    """Read `registry` over and over while a second thread registers and drops streams; the errors raised."""
    import holoviews as hv

    sources = [hv.Curve([1, 2]) for _ in range(400)]
    for source in sources[:200]:
        registry.register(source, hv.streams.Pipe(data=[]))
    stop = threading.Event()

    def register_and_drop() -> None:
        i = 0
        while not stop.is_set():
            source, i = sources[200 + i % 200], i + 1
            stream = hv.streams.Pipe(data=[])
            registry.register(source, stream)
            registry.unregister(source, stream)

    errors: list[BaseException] = []
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)   # switch threads as often as possible, so that a race shows within the test
    writer = threading.Thread(target=register_and_drop)
    writer.start()
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                registry.items()
                registry.values()
            except RuntimeError as error:
                errors.append(error)
    finally:
        stop.set()
        writer.join()
        sys.setswitchinterval(interval)
    return errors


def test_the_stream_registry_can_be_read_while_another_session_registers_streams():
    """Served, sessions build charts on worker threads at once (Bokeh 3.10). HoloViews' own registry fails then
    (the CI log showed it with sixteen sessions); the app's registry reads a snapshot."""
    import holoviews as hv
    from holoviews.streams import _StreamRegistry

    assert _read_while_another_thread_registers(_StreamRegistry()), "the race should show with HoloViews' registry"
    assert _read_while_another_thread_registers(session.ThreadSafeStreamRegistry()) == []

    registry = session.ThreadSafeStreamRegistry()
    curve, kept = hv.Curve([1, 2]), hv.streams.Pipe(data=[])
    registry.register(curve, kept)
    assert registry.items() == [(curve, [kept])] and registry.values() == [[kept]]


def test_the_app_s_holoviews_defaults_make_the_stream_registry_thread_safe():
    from holoviews.streams import Stream

    from novamart_panel.views.base import holoviews_defaults

    holoviews_defaults()
    assert type(Stream.registry) is session.ThreadSafeStreamRegistry


@contextlib.contextmanager
def _served_page(page):
    """A threaded Panel server of `page`, fetched once (so its session exists); yields the server's thread."""
    import urllib.request

    import panel as pn
    from ports import free_port

    port = free_port()
    server = pn.serve({"page": page}, port=port, address="127.0.0.1", threaded=True, show=False, verbose=False)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/page", timeout=30) as response:
                    assert response.status == 200
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.2)
        yield server
    finally:
        server.stop()


def test_a_step_scheduled_on_the_loop_runs_there_with_its_document_current_and_locked():
    """`next_on_loop` runs its callback on the server's event-loop thread, with the session's document current
    and locked (so Panel writes a hold's changes as it exits, not two callbacks later); an error is reported
    as Panel reports a callback's."""
    import panel as pn

    seen, errors, done = [], [], threading.Event()

    def page():
        doc = pn.state.curdoc

        def step():
            session_ = doc.session_context._session
            seen.append((threading.current_thread(), pn.state.curdoc is doc, session_._pending_writes is not None))
            raise ValueError("a step failed")

        session.next_on_loop(step)
        return pn.pane.Str("a page")

    def report(error):
        errors.append(error)
        done.set()

    pn.config.exception_handler = report
    try:
        with _served_page(page) as server:
            assert done.wait(30), "the step never ran"
            ((thread, current, locked),) = seen
            assert thread is server and current and locked   # the threaded server runs its event loop in `server`
            assert [str(error) for error in errors] == ["a step failed"]
    finally:
        pn.config.exception_handler = None


@pytest.mark.parametrize("busy", ["_messages_queued", "_socket_busy"])
def test_a_step_on_the_loop_waits_for_the_messages_before_it(monkeypatch, busy):
    """A step scheduled with `next_on_loop` runs once the messages before it are out (Panel queues a hold's
    messages while the socket is written to, and a step running meanwhile would hold them until it returns),
    and runs anyway once the longest wait is over."""
    import panel as pn

    still_writing = {"polls": 3}   # the writes under way end after three looks

    def writing(doc):
        still_writing["polls"] -= 1
        return still_writing["polls"] >= 0

    monkeypatch.setattr(session, busy, writing)
    ran, done = [], threading.Event()

    def page():
        session.next_on_loop(lambda: (ran.append(still_writing["polls"]), done.set()))
        return pn.pane.Str("a page")

    with _served_page(page):
        assert done.wait(30), "the step never ran"
    assert ran == [-1]   # it looked until the writes were over, then ran

    # Writes that never end hold a step up for WRITE_WAIT_S's longest wait, no more.
    monkeypatch.setattr(session, busy, lambda doc: True)
    monkeypatch.setattr(session, "WRITE_WAIT_S", (0.01, 0.1))
    ran.clear()
    done.clear()
    with _served_page(page):
        assert done.wait(30), "the step never ran"
    assert len(ran) == 1


def test_a_first_page_is_built_once_its_html_is_written(monkeypatch):
    """`after_page_sent` runs its callback after the server has written the session's page (Panel then walks the
    document's models, which the callback must not change meanwhile), with the document current and locked, so
    the browser's pull of the document gets what it built."""
    import panel as pn
    from panel.io import server as panel_server

    seen, done, writing = [], threading.Event(), [False]
    write_page = panel_server.server_html_page_for_session

    def slow_write(*args, **kwargs):   # a big page: Panel walks many models while it writes it
        writing[0] = True
        time.sleep(0.3)
        try:
            return write_page(*args, **kwargs)
        finally:
            writing[0] = False

    monkeypatch.setattr(panel_server, "server_html_page_for_session", slow_write)

    def page():
        doc = pn.state.curdoc

        def build():
            locked = doc.session_context._session._pending_writes is not None
            seen.append((not writing[0] and "dist_url" in doc.template_variables,
                         pn.state.curdoc is doc, locked))
            done.set()

        session.after_page_sent(build)
        return pn.pane.Str("a page")

    with _served_page(page):
        assert done.wait(30), "the callback never ran"
    assert seen == [(True, True, True)]


def test_panel_still_has_what_the_wait_for_messages_reads():
    """`next_on_loop` reads Panel's private write queue and socket lock; if a Panel release renames them the
    wait would silently stop, so this says so first."""
    from panel.io import document as panel_document

    assert hasattr(panel_document._WRITE_BLOCK, "__contains__")
    assert callable(panel_document._is_write_locked)
