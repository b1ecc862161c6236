"""What a served browser session needs beyond its views: who is asking, and cleaning up after it.

- `request_is_local()` / `shown_folder()`: the data folder's full path is shown only to a browser on this
  machine (or in a notebook); other visitors see the folder's name (SPEC §7).
- `release_when_closed(app)`: when the session ends, the App drops its views, and shortly after (once for
  the sessions that closed together) one full garbage collection and `malloc_trim` give the memory back, so
  a server's memory returns near its baseline once its visitors leave. `novamart-panel serve` runs Python
  with the C allocator (cli.serve_environment) so that freed memory can be returned.
- `recompute_models_when_changed(doc)`: after a held change, the session's document walks again only the roots
  whose model graph the change altered, not every model of the page after every change.
- `stream_registry_thread_safe()`: HoloViews' process-wide registry of streams can be read while another
  session's thread adds to it (Bokeh 3.10 runs each session's callbacks on a worker thread).
- `after_page_sent(callback)`: a session's landing section is built once its page (the HTML) has been written,
  while the browser loads the page's scripts.
- `after_page_drawn(callback)`: a page's later steps wait until the page has drawn the session's first document.
- `collect_when_idle()`: a server process makes its full garbage collections while idle, not during a click.
- `warm_up_after_load(store, name, job)`: once per data store and process, a section's expensive unfiltered
  results are computed in the background once the page has loaded, one warm-up at a time.
"""
from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
import threading
import weakref
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import panel as pn
from bokeh.document import Document
from bokeh.document.models import DocumentModelManager
from bokeh.model import Model
from holoviews.streams import Stream, _StreamRegistry
from panel.io.state import set_curdoc

if TYPE_CHECKING:
    from .app import App

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# A reverse proxy talks to the app from this machine; these headers say the browser is elsewhere.
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip")
COLLECT_DELAY_S = 2.0   # after the server has dropped the closed sessions; those closing together share one
COLLECT_WAIT_S = 30.0   # then at most this long for an idle moment (a process that is never idle frees memory too)


def served() -> bool:
    """Whether this code runs for a browser session of a Panel/Bokeh server (not a notebook or a script)."""
    doc = pn.state.curdoc
    return bool(doc is not None and doc.session_context is not None
                and getattr(doc.session_context, "server_context", None) is not None)


WRITE_WAIT_S = (0.002, 1.0)   # how often, and at most how long, a callback waits for messages under way


def _socket_busy(doc: Document) -> bool:
    """Whether a socket of `doc`'s session is being written to (Bokeh's reply to a change from the browser
    takes a few turns of the event loop). Reads `panel.io.document` (private; False where Panel changes it)."""
    from panel.io import document as panel_document

    session = getattr(doc.session_context, "session", None)
    is_locked = getattr(panel_document, "_is_write_locked", None)
    return bool(session and is_locked and any(is_locked(conn) for conn in session._subscribed_connections))


def _messages_queued(doc: Document) -> bool:
    """Whether Panel holds messages of `doc` not written yet: it queues a hold's messages when the hold exits
    while the socket is busy, and writes them in a task of the loop (`panel.io.document`, private)."""
    from panel.io import document as panel_document

    return doc in getattr(panel_document, "_WRITE_BLOCK", ())


def next_on_loop(callback: Callable[[], None]) -> None:
    """Run `callback` on the served session's next tick, on the event loop's thread with its document locked,
    once the messages before it are written.

    Bokeh (3.10) runs a plain session callback (`pn.state.execute`) on a worker thread, where Panel holds the
    changes and has them sent by two more callbacks. On the loop's thread, each `pn.io.hold` writes its changes to
    the browser as it exits, unless the socket is busy: then Panel queues them for a task of the loop that
    retries every 10 ms, and that a callback running meanwhile holds up until it returns (a filter change's top
    chart waited for Bokeh's reply to the change, then for the section's other charts). So the callback first
    waits, without holding the loop, for the writes under way. An error goes to Panel's exception handler, as
    with `pn.state.execute`."""
    doc = pn.state.curdoc
    pause, longest = WRITE_WAIT_S

    async def on_loop() -> None:
        clock = asyncio.get_running_loop().time
        until = clock() + longest
        while (_messages_queued(doc) or _socket_busy(doc)) and clock() < until:
            await asyncio.sleep(pause)
        with set_curdoc(doc):
            try:
                callback()
            except Exception as error:  # noqa: BLE001 - reported as Panel reports a callback's error
                pn.state._handle_exception(error)

    doc.add_next_tick_callback(on_loop)


def after_page_sent(callback: Callable[[], None]) -> None:
    """Schedule `callback`, from the app script of a new session, to run once the server has written the session's
    page (its HTML): a session callback of its own, with the document locked.

    The server creates a session, runs the app script, then writes the page; the browser then loads the page's
    scripts (0.3-0.6 s) and pulls the document over its websocket. Whatever the app script builds delays the page,
    and while the browser loads its scripts the server waits. Built in this callback, the landing section is built
    while they load, and the pull (which takes the document's lock) gets it. Bokeh (3.10) starts a new session's
    callbacks after the request that created it has written the page, which Panel does in one turn of the event
    loop, walking the document's models (tests/test_session.py checks that the callback runs after it)."""
    pn.state.execute(callback, schedule=True)


def after_page_drawn(callback: Callable[[], None]) -> None:
    """Schedule `callback` in a session callback of its own; while the session's page has not drawn its first
    document yet, once it has (Panel's onload: BokehJS reports the document ready).

    The page pulls the session's document over its websocket after its scripts have run, and draws everything the
    document holds by then before its first chart. A page's later steps (the landing section's sentences and the
    views below) ran while the browser loaded its scripts, sharing the two cores with it, and went into that pull:
    the page built their tables and panes before drawing the first chart."""
    if pn.state.loaded:
        pn.state.execute(callback, schedule=True)
    else:
        pn.state.onload(lambda: pn.state.execute(callback, schedule=True))


_warm_ups: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # store -> names of the warm-ups started
_warm_ups_lock = threading.Lock()


def _warm_up_thread() -> ThreadPoolExecutor:
    """The process's one warm-up thread: warm-ups queue there, so two never share the cores with a session."""
    return pn.state.as_cached("novamart-warm-up", lambda: ThreadPoolExecutor(
        max_workers=1, thread_name_prefix="novamart-warm-up"))


def _started(store, name: str) -> bool:
    with _warm_ups_lock:
        return name in _warm_ups.get(store, ())


def _warm_up(store, name: str, job: Callable[[], object]) -> None:
    with _warm_ups_lock:
        names = _warm_ups.setdefault(store, set())
        if name in names:
            return
        names.add(name)
    try:
        job()
    except Exception:  # noqa: BLE001 - the section computes again when shown and names the problem there
        logging.getLogger(__name__).exception("Warming up %s failed", name)


def warm_up_after_load(store, name: str, job: Callable[[], object]) -> None:
    """Run `job()` in the background once this session's page has loaded (not to slow its first render), once
    per store and `name` in the process (a session whose page never loads leaves it to the next). The job
    computes a section's unfiltered results into the caches its sessions share, so that the first user to open
    the section does not wait for them. A failure is logged and left to the section, which computes again when
    shown."""
    if not _started(store, name):
        pn.state.onload(lambda: _warm_up_thread().submit(_warm_up, store, name, job))


def forget_warm_up(store, name: str) -> None:
    """Let the warm-up `name` of `store` be asked for again (tests)."""
    with _warm_ups_lock:
        _warm_ups.get(store, set()).discard(name)


def request_host(headers) -> str:
    """The host name the browser asked for (`Host` header), lower case, without port or IPv6 brackets."""
    host = str(headers.get("Host") or headers.get("host") or "").strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def request_is_local(headers: Mapping[str, str] | None = None) -> bool:
    """True in a notebook or script, and for a browser on this machine asking for localhost directly.

    `headers` are the request's (default: the current session's); behind a proxy the browser is elsewhere.
    """
    if headers is None:
        if not served():
            return True
        try:
            headers = pn.state.headers or {}
        except Exception:  # noqa: BLE001 - no request to judge: assume a visitor
            return False
    headers = {key.lower(): value for key, value in headers.items()}
    if any(headers.get(name) for name in PROXY_HEADERS):
        return False
    return request_host(headers) in LOCAL_HOSTS


def shown_folder(folder: str | os.PathLike) -> str:
    """The data folder as this viewer may see it: the full path locally, else only the folder's name."""
    path = Path(folder)
    return str(path) if request_is_local() else (path.name or "data")


IDLE_POLL_S = 0.25  # how often a server process looks at the garbage collector's counts
IDLE_POLLS = 2      # counts unchanged over this many polls in a row (0.5 s): the process is idle
FULL_COLLECTION_DEFERRAL = 10   # the full collection's threshold is raised this many times (a safety net)


class Quiet:
    """Whether the process is idle: the garbage collector's counts of generations 1 and 2 unchanged over
    `IDLE_POLLS` looks in a row (nothing allocated in bulk: no session is computing). Each call is one look."""

    def __init__(self, counts: Callable[[], tuple[int, int, int]] = gc.get_count) -> None:
        self._counts = counts
        self.last: tuple[int, int] | None = None   # the counts of generations 1 and 2 at the last look
        self._unchanged = 0

    def __call__(self) -> bool:
        # Generation 0's count moves with single objects (a timer, a log line); a collection of it does not.
        counts = tuple(self._counts()[1:])
        if counts != self.last:
            self.last, self._unchanged = counts, 0
            return False
        self._unchanged += 1
        return self._unchanged >= IDLE_POLLS

    def reset(self) -> None:
        """Start looking afresh (after a collection, which changes the counts)."""
        self.last, self._unchanged = None, 0


class _Collector:
    """One full garbage collection and heap trim after sessions close (once for those closing together), on the
    server's event loop where the sessions were dropped: `COLLECT_DELAY_S` after, at the first idle moment (see
    `Quiet`). The server drops closed sessions on a timer, whatever its other sessions are doing: made at once,
    the collection (0.2-0.25 s) fell inside other users' page loads and clicks."""

    def __init__(self, counts: Callable[[], tuple[int, int, int]] = gc.get_count) -> None:
        self._pending_on = None   # the event loop a collection is scheduled on
        self._quiet = Quiet(counts)
        self.runs = 0   # collections made so far (the memory test reads it)

    def schedule(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:   # not on a server's event loop: collect now
            self.collect()
            return
        if self._pending_on is not loop:
            self._pending_on = loop
            self._quiet.reset()
            deadline = loop.time() + COLLECT_DELAY_S + COLLECT_WAIT_S
            loop.call_later(COLLECT_DELAY_S, self._collect_when_idle, loop, deadline)

    def _collect_when_idle(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        if self._quiet() or loop.time() >= deadline:
            self.collect()
        else:
            loop.call_later(IDLE_POLL_S, self._collect_when_idle, loop, deadline)

    def collect(self) -> None:
        self._pending_on = None
        gc.collect()
        trim_heap()
        self.runs += 1


COLLECTOR = _Collector()


class IdleCollector:
    """A server process's full garbage collections, made while it is idle rather than during a user's click.

    CPython makes a full collection once the younger generations have been collected often enough (every 10
    collections of generation 1 by default), whatever the process is doing. Its pause grows with what the
    sessions hold: 90–430 ms in a served process once a page has shown every section (reference and 10M-row
    data), and they fell inside first switches and filter changes. A server process raises that threshold
    (`FULL_COLLECTION_DEFERRAL` times, so that a process that is never idle still collects) and polls the counts:
    once they have not moved for `IDLE_POLLS` polls (nothing allocated: no session is computing) and a full
    collection is due by the default threshold, it makes it then: about half a second after a session's last step,
    while its page draws what it was sent. (CPython 3.12, 3.13 and 3.14.5 onwards collect by generations, as
    assumed here; under the incremental collector of 3.14.0–3.14.4 the raised threshold does nothing.)
    """

    def __init__(self, due: int, counts: Callable[[], tuple[int, int, int]] = gc.get_count,
                 collect: Callable[[], object] = gc.collect) -> None:
        self.due = due   # collections of generation 1 since the last full one that make the next one due
        self._quiet = Quiet(counts)
        self._collect = collect
        self.runs = 0

    def poll(self) -> None:
        if self._quiet() and self._quiet.last[1] >= self.due:
            self._collect()
            self.runs += 1
            self._quiet.reset()


def collect_when_idle() -> IdleCollector:
    """Have this server process make its full garbage collections while idle (see `IdleCollector`); for
    `serve_setup`, once per process. Returns the collector."""
    first, second, third = gc.get_threshold()
    collector = IdleCollector(due=max(third, 1))
    gc.set_threshold(first, second, third * FULL_COLLECTION_DEFERRAL)
    pn.state.schedule_task("novamart-idle-collection", collector.poll, period=timedelta(seconds=IDLE_POLL_S))
    return collector


def trim_heap() -> None:
    """Return freed heap pages to the operating system (glibc only; elsewhere nothing to do)."""
    import ctypes   # here, not at import: the WebAssembly build never trims
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name or "libc" not in name:
        return
    try:
        ctypes.CDLL(name).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def release_when_closed(app: App) -> None:
    """Have the served session's App let go of its views when the session ends (no-op outside a server)."""
    if not served():
        return

    def release(session_context) -> None:
        app.close()
        COLLECTOR.schedule()

    pn.state.on_session_destroyed(release)


class ModelsRecomputedWhenChanged(DocumentModelManager):
    """A document's set of models, kept up to date by walking only the roots whose model graph changed.

    Bokeh (3.10) recomputes the set at the end of every freeze, changed or not: a walk over every model reachable
    from the roots that reads each property, defaults included. Panel holds a filter change in one freeze and
    HoloViews freezes each plot update, so every change paid for a walk of the whole page: 35 ms with two
    sections, 165 ms with every section built (3,400 models); a first switch late in a session, which changes
    one section's holder, paid 280 ms.

    The graph changes only through a property whose old or new value references models (`Model.trigger` then calls
    `invalidate`, with the model whose property changed as its caller) or through a root added or removed. So the
    manager keeps the models each root reaches, and how many roots reach each model. At the end of a freeze it
    walks again only the roots that reach a changed model, and the roots added; a model leaves the set when no
    root reaches it any more. A change that only sends new data or text walks nothing. When `invalidate` is called
    by anything but `Model.trigger`, the whole document is walked, as Bokeh does.
    """

    _changed: dict | None = None   # id -> model whose references changed in this freeze; None: walk every root
    _by_root: dict | None = None   # root id -> ids of the models it reaches (set by the first walk)
    _reach: dict | None = None     # model id -> how many roots reach it

    def invalidate(self) -> None:
        model = _changed_model(sys._getframe(1))
        if model is None:
            self._changed = None
        elif self._changed is not None:
            self._changed[model.id] = model
        if self._freeze_count == 0:
            self._update()

    def recompute(self) -> None:
        """Walk every root (Bokeh's recompute), noting which models each root reaches."""
        document = self._document()
        if document is None:
            return
        self._changed, self._by_root, self._reach = {}, {}, {}
        self._rewalk(document, {root.id: root for root in document.roots})
        for model in [model for model_id, model in self._models.items() if model_id not in self._reach]:
            self._let_go(model)   # held before this walk, reached by no root now

    def _pop_freeze(self) -> None:
        self._freeze_count -= 1
        if self._freeze_count == 0:
            self._update()

    def _update(self) -> None:
        """Bring the set up to date with the changes noted since the last update."""
        document = self._document()
        if document is None:
            return
        if self._changed is None:   # an unknown change (and before the first walk): walk every root
            self.recompute()
            return
        changed, self._changed = self._changed, {}
        roots = {root.id: root for root in document.roots}
        affected = {root_id: roots.get(root_id) for root_id in self._by_root.keys() ^ roots.keys()}
        for root_id, reached in self._by_root.items():
            if root_id in roots and not reached.isdisjoint(changed):
                affected[root_id] = roots[root_id]
        if affected:
            self._rewalk(document, affected)

    def _rewalk(self, document: Document, roots: dict) -> None:
        """Walk `roots` (root id -> root, None for a root removed) again: the models they newly reach join the
        set, and those no root reaches any more leave it (after every addition, so a model moved from one root
        to another in the same freeze stays)."""
        let_go = []
        for root_id, root in roots.items():
            before = self._by_root.pop(root_id, set())
            models = {model.id: model for model in root.references()} if root is not None else {}
            for model_id, model in models.items():
                if model_id not in before:
                    self._reach[model_id] = self._reach.get(model_id, 0) + 1
                    if model_id not in self._models:
                        self._take(document, model)
            let_go += [model_id for model_id in before if model_id not in models]
            if root is not None:
                self._by_root[root_id] = set(models)
        for model_id in let_go:
            self._reach[model_id] -= 1
            if self._reach[model_id] == 0:
                del self._reach[model_id]
                self._let_go(self._models[model_id])

    def _take(self, document: Document, model: Model) -> None:
        """A model joins the document's set, new to the browser (as in Bokeh's recompute)."""
        self._models[model.id] = model
        if model.name is not None:
            self._models_by_name.add_value(model.name, model)
        model._attach_document(document)
        self._new_models.add(model)

    def _let_go(self, model: Model) -> None:
        """A model leaves the document's set (as in Bokeh's recompute)."""
        del self._models[model.id]
        if model.name is not None:
            self._models_by_name.remove_value(model.name, model)
        self._seen_model_ids.add(model.id)
        model._detach_document()


def _changed_model(caller: FrameType) -> Model | None:
    """The model whose property change made Bokeh call `invalidate`, when `Model.trigger` is the caller."""
    return caller.f_locals.get("self") if caller.f_code is Model.trigger.__code__ else None


def recompute_models_when_changed(doc: Document | None) -> None:
    """Give `doc` (a session's document) a model set recomputed only when its graph changes (see
    `ModelsRecomputedWhenChanged`); nothing without a document."""
    if doc is not None and type(doc.models) is DocumentModelManager:
        doc.models.__class__ = ModelsRecomputedWhenChanged
        doc.models.recompute()   # the models each root reaches (an empty page's document has none yet)


class ThreadSafeStreamRegistry(_StreamRegistry):
    """HoloViews' registry of streams by source, read from a snapshot taken in one step.

    Bokeh 3.10 runs a session's callbacks on worker threads, so two sessions build or update charts at the same
    time. HoloViews reads the whole registry each time it creates a plot, one entry at a time, and fails with
    "dictionary changed size during iteration" when another session's chart registers a stream meanwhile (seen
    when sixteen sessions opened at once). Copying the entries is a single step under the GIL; the copy is then
    read at leisure.
    """

    def items(self):
        entries = ((ref(), streams) for ref, streams in list(self.data.items()))
        return [(source, self._alive(streams)) for source, streams in entries if source is not None]

    def values(self):
        return [self._alive(streams) for streams in list(self.data.values())]


def stream_registry_thread_safe() -> None:
    """Make HoloViews' stream registry safe to read while other threads change it (see
    `ThreadSafeStreamRegistry`); once per process, nothing after that."""
    if type(Stream.registry) is _StreamRegistry:
        Stream.registry.__class__ = ThreadSafeStreamRegistry
