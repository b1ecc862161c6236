"""What every section shares: the Section base class and the small components sections are built of.

A section is a `pn.viewable.Viewer` holding the store and the shared `Filters`. It keeps its own copy
of the filter values (`FILTER_DEPS`), refreshed from the shared `Filters` while the section is shown and
marked stale while it is hidden, so only the visible section recomputes. Its data methods depend on those
values and its own params and are memoised per state (`memoized`); its charts are DynamicMaps that push
new data into the Bokeh models built once per session (`chart`).

A filter change reaches the views of a section's first screen first: its charts, insights and tables follow
the filters through a `ViewRefresh` the section bumps. Served, the first screen's figures (charts, KPI cards,
tables) are refreshed at once, its prose (insights, notes) in a callback of its own and the views below it in
another, so the page shows the top of the section updated while the server computes the rest.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import io
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from typing import ClassVar

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.models import CustomJSTickFormatter, Model, NumeralTickFormatter, Tooltip
from holoviews.plotting.util import process_cmap
from panel.widgets._mixin import TooltipMixin

from .. import palette
from ..data.contract import BY_TABLE, FILTER_COLUMNS
from ..data.queries import FilterState, distinct_values
from ..data.store import DataStore
from ..export import safe_csv, standalone_html, with_units
from ..format import escape_html
from ..session import next_on_loop, served, stream_registry_thread_safe
from .filters import FILTER_LABELS, Filters, TextMultiChoice, filter_state  # noqa: F401 - sections import it here

# The section's own copy of the global filter values: data methods depend on these, not on `filters`,
# so a hidden section does not recompute when the filters change.
FILTER_DEPS = ("date_range", "channels", "regions", "campaign_types")
MEMO_SIZE = 32  # results kept per section: a few filter states × each data method
FIRST_SCREEN = 3   # a section's header and first two views: what a first screen shows
# Served, a filter change refreshes a section's views in steps, each sent before the next is computed: the first
# screen's top figure, then its other figures, then its prose, then the views below it (see `Section._step`).
FIRST, FIGURES, PROSE, BELOW = FOLLOW_STEPS = ("first", "figures", "prose", "below")
SAVED_CHART_WIDTH, SAVED_CHART_HEIGHT = 1000, 420   # a chart in a saved HTML page, where nothing stretches it

GOOD, BAD, NEUTRAL = "#1a9850", "#d73027", "#7f7f7f"
DARK_TEXT, LIGHT_TEXT = "#000000", "#ffffff"

# Axis ticks in Indian units; the browser formats ticks, so this mirrors format.rupees in compact form.
RUPEE_TICKS_JS = """
const a = Math.abs(tick), s = tick < 0 ? '-' : '';
if (a >= 1e7) return s + '₹' + (+(a / 1e7).toPrecision(3)) + ' Cr';
if (a >= 1e5) return s + '₹' + (+(a / 1e5).toPrecision(3)) + ' L';
return s + '₹' + a.toLocaleString('en-IN');
"""


# Where each kind of name occurs in the data. A name gets one colour across every chart and the report
# (palette.py), so the colours are drawn from every name of the kind the loaded files hold, whatever is shown.
COLOUR_SOURCES: dict[str, tuple[tuple[str, str], ...]] = {
    "channel": (("campaigns", "channel"), ("customers", "acquisition_channel"), ("attribution", "channel"),
                *(("journeys", f"touchpoint_{i}") for i in range(1, 5))),
    "segment": (("customers", "customer_segment"),),
    "region": (("campaigns", "region"), ("customers", "region"), ("products", "region"), ("geography", "region")),
    "campaign_type": (("campaigns", "campaign_type"),),
    "city_tier": (("customers", "city_tier"),),
}
JOURNEY_ENDS = ("Purchase", "Exit")   # journey outcomes, not channels: the Sankey colours them itself
_data_colours: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def data_colours(store: DataStore, kind: str) -> dict[str, str]:
    """The colour of every name of `kind` ("channel", "segment", "region", "campaign_type", "city_tier") in
    the loaded data: one colour-blind-safe colour per name, the same in every chart of every section."""
    per_store = _data_colours.setdefault(store, {})
    if kind not in per_store:
        names = {name for table, column in COLOUR_SOURCES[kind] for name in distinct_values(store, table, column)}
        per_store[kind] = palette.colours(kind, names - set(JOURNEY_ENDS))
    return per_store[kind]


# The models a chart made for its options, by key, while `chart()` computes one of its frames (else None).
_chart_models: contextvars.ContextVar[dict | None] = contextvars.ContextVar("novamart_chart_models", default=None)


def chart_model(key: tuple, make) -> Model:
    """`make()`: a Bokeh model for a chart option (a tick formatter). While `chart()` computes a frame, the one the
    chart made for `key` before. HoloViews compares a frame's axis options with the last frame's, and a model
    equals only itself: a new formatter per frame made it update both axes of the figure on every change
    (a quarter of a chart's update on the server). Never shared between charts: Bokeh models belong to one
    document, and a chart's plot method also draws into other documents (the report, downloads)."""
    models = _chart_models.get()
    if models is None:
        return make()
    if key not in models:
        models[key] = make()
    return models[key]


def rupee_ticks() -> CustomJSTickFormatter:
    """The tick formatter for money axes (₹, lakh, crore; see `chart_model`)."""
    return chart_model(("rupee",), lambda: CustomJSTickFormatter(code=RUPEE_TICKS_JS))


# Tick labels for every kind of metric a chart's control can switch to. One formatter per chart whose `kind`
# argument changes (`value_ticks_follow`): an axis or colour bar shown in the browser repaints when its
# formatter's arguments change, not when the formatter is replaced.
VALUE_TICKS_JS = """
const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : 1;
const digits = step >= 1 ? 0 : Math.min(3, Math.ceil(-Math.log10(step)));
const size = Math.abs(tick);
switch (kind) {
  case 'money':
    if (size >= 1e7) return (tick < 0 ? '-' : '') + '₹' + +(size / 1e7).toPrecision(3) + ' Cr';
    if (size >= 1e5) return (tick < 0 ? '-' : '') + '₹' + +(size / 1e5).toPrecision(3) + ' L';
    return (tick < 0 ? '-' : '') + '₹' + size.toLocaleString('en-IN');
  case 'count': return tick.toLocaleString('en-US');
  case 'percent': return tick.toFixed(digits) + '%';
  case 'growth': return (tick > 0 ? '+' : tick < 0 ? '\u2212' : '') + size.toFixed(digits) + '%';
  case 'ratio': return tick.toFixed(digits) + '×';
  default: return tick.toFixed(Math.max(digits, 1));
}
"""


def value_ticks(kind: str) -> CustomJSTickFormatter:
    """The tick formatter for a metric of `kind` ("money", "count", "percent", "growth", "ratio"; else plain
    numbers). In a chart, one per chart (`chart_model`): `value_ticks_follow` sets its kind for each frame."""
    return chart_model(("value ticks",), lambda: CustomJSTickFormatter(code=VALUE_TICKS_JS, args={"kind": kind}))


def value_ticks_follow(where: str, kinds: Mapping[str, str]):
    """A plot hook: the value axis (`where`: "x" or "y", as drawn) or the colour bar ("colorbar") labels its ticks
    for the metric each frame shows, its first value dimension's label (`kinds`: label -> kind), and the colour
    bar takes that label as its title. An in-place update keeps the first frame's formatter and colour-bar title,
    so a chart whose control switches between rupees, counts and ratios needs this; its `value_ticks` formatter
    must be the axis's (or colour bar's) formatter. Build it once per chart (a module constant): HoloViews
    compares each frame's options with the last one's. On an overlay, its first layer names the metric."""
    def hook(plot, element) -> None:
        if isinstance(element, hv.Overlay):
            element = element.values()[0]
        label = element.vdims[0].label
        if label not in kinds:
            return
        if where == "colorbar":
            target = next((model for name, model in plot.handles.items() if name.endswith("colorbar")), None)
            if target is not None and target.title != label:
                target.title = label
        else:
            target = plot.handles.get(f"{where}axis")
        formatter = getattr(target, "formatter", None)
        if isinstance(formatter, CustomJSTickFormatter) and formatter.args.get("kind") != kinds[label]:
            formatter.args = {"kind": kinds[label]}
    return hook


def numeral_ticks(fmt: str) -> NumeralTickFormatter:
    """A Numeral.js tick formatter (`"0,0"`, `"0%"`…; see `chart_model`)."""
    return chart_model(("numeral", fmt), lambda: NumeralTickFormatter(format=fmt))


class ViewRefresh(param.Parameterized):
    """Tells one chart or insight to recompute for the section's new filter values (its section bumps `count`)."""

    count = param.Integer(default=0)

    def __init__(self, **params):
        super().__init__(**params)
        self.view: pn.viewable.Viewable | None = None   # the pane it refreshes (to know where it stands)


class BuiltWhenAsked(pn.viewable.Viewer):
    """The view `make()` returns, built when Panel asks for it: passed to `Section.later`, a served first switch
    builds it after the first screen has been sent, not while building that screen."""

    def __init__(self, make, **params):
        super().__init__(**params)
        self._make = make

    def __panel__(self) -> pn.viewable.Viewable:
        return self._make()


class Section(pn.viewable.Viewer):
    """One tab of the app. Subclasses set `title`, `slug`, `tables` and implement `layout()`."""

    title: ClassVar[str] = ""
    slug: ClassVar[str] = ""
    tables: ClassVar[tuple[str, ...]] = ()   # tables the section cannot work without
    also_reads: ClassVar[tuple[str, ...]] = ()   # tables it uses when present (optional views)
    spec_section: ClassVar[str] = ""
    first_screen: ClassVar[int] = FIRST_SCREEN   # objects of its layout a first screen shows
    # The first screen's figures a filter change computes in its own callback (`FIRST`), top first: one when the
    # browser takes long to draw it (the others are computed meanwhile), more when each is quick to draw.
    first_step_figures: ClassVar[int] = 1

    store = param.ClassSelector(class_=DataStore, constant=True)
    filters = param.ClassSelector(class_=Filters, constant=True)
    active = param.Boolean(default=True, doc="Shown to the user: follows the filters now, else when next shown")

    # The filter values this section's data are computed for (a copy of `filters`, see FILTER_DEPS).
    date_range = param.DateRange(default=None, precedence=-1)
    channels = param.List(default=[], item_type=str, precedence=-1)
    regions = param.List(default=[], item_type=str, precedence=-1)
    campaign_types = param.List(default=[], item_type=str, precedence=-1)

    def __init__(self, **params):
        super().__init__(**params)
        self._layout = None
        self._stale = False
        self._memo: OrderedDict = OrderedDict()
        self._dependencies: dict[str, list] = {}
        self._refreshes: weakref.WeakSet[ViewRefresh] = weakref.WeakSet()   # views following the filters
        self._below: set[int] = set()   # ids of the views below the first screen (refreshed last, served)
        self._below_objects: list = []   # the layout below the first screen (`views_below`)
        self._pending: set[str] = set()   # the later steps of a filter change not yet run (one callback waits)
        self._deferring = False   # building views empty (`deferring`)
        self._unfilled: list = []   # (view, what it shows) of the views built empty and not filled yet
        self._before_below: list = []   # work for the views below, run with their next refresh (`with_views_below`)
        self._take_filters()
        self.filters.param.watch(self._on_filters, list(FILTER_DEPS))
        self.param.watch(self._on_active, "active")

    # -- following the global filters --------------------------------------------------------------
    def _take_filters(self) -> None:
        values = {name: getattr(self.filters, name) for name in FILTER_DEPS}
        changed = {name: value for name, value in values.items() if getattr(self, name) != value}
        if changed:
            # One model-graph walk for the whole step: each chart's update otherwise walks every Bokeh model
            # of the page once (HoloViews freezes and unfreezes the document per plot).
            with pn.io.hold(freeze=True):
                self.param.update(**{k: list(v) if isinstance(v, list) else v for k, v in changed.items()})
                self._refresh_views(FIRST)
            self._schedule_later()
        self._stale = False

    # -- views following the filters: the first screen's figures first, then its prose, then the rest ----
    def follow_filters(self, fn) -> tuple[list, ViewRefresh | None]:
        """What a view of `fn` (a method of this section) must follow: the params it depends on besides the
        filter values, and a `ViewRefresh` the section bumps when those change (None when `fn` ignores them)."""
        dependencies = self._method_dependencies(fn.__name__)
        own = [owner.param[attr] for owner, attr in dependencies if not (owner is self and attr in FILTER_DEPS)]
        if len(own) == len(dependencies):
            return own, None
        refresh = ViewRefresh()
        self._refreshes.add(refresh)
        return own, refresh

    @contextlib.contextmanager
    def deferring(self):
        """Build views without computing what they show: the text panes and tables made inside stay empty
        until `fill(...)` is called for them, so a served first switch computes the first screen's sentences and
        tables, not those of the views below it (which are sent later)."""
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False

    @property
    def deferring_views(self) -> bool:
        return self._deferring

    def defer(self, view, source) -> None:
        """Show `source` (a param method or bound function) in `view` (built empty) when filled."""
        self._unfilled.append((view, source))

    def fill(self, objects: list | None = None, prose: bool = True) -> None:
        """Compute and show what the deferred views inside `objects` (all of them when None) show; with
        `prose=False`, not the Markdown prose (insights, notes): the figures it explains go first."""
        inside = None if objects is None else _ids_within(objects)
        later, built = [], False
        for view, source in self._unfilled:
            if (inside is None or id(view) in inside) and (prose or not is_prose(view)):
                # a widget shows its value, a layout its objects (`later`), a pane its object
                name = ("value" if isinstance(view, pn.widgets.Widget) else
                        "objects" if isinstance(view, pn.layout.ListLike) else "object")
                view.param.update(**{name: source})
                built |= name == "objects"
            else:
                later.append((view, source))
        self._unfilled = later
        if built and self._below_objects:   # views `later` built just now may be below the first screen
            self._note_views_below()

    def later(self, viewer) -> pn.viewable.Viewable:
        """`viewer` (a view that computes what it shows when Panel asks for its layout), or while the section is
        `deferring`, a column that gets it when filled: a first switch then does not compute a view below the
        first screen before sending the first screen."""
        if not self._deferring:
            return viewer
        holder = pn.Column(margin=0)
        self.defer(holder, [viewer])
        return holder

    def cards_later(self, make) -> pn.viewable.Viewable:
        """The cards `make()` returns, in a column built when Panel asks for it (`later`): a section's cards below
        its first screen, which a served first switch (or a new session's page) builds when it sends them."""
        return self.later(BuiltWhenAsked(lambda: pn.Column(*make(), sizing_mode="stretch_width")))

    def views_below(self, objects: list) -> None:
        """Mark the views inside `objects` (the layout below the first screen): a filter change refreshes them
        in a callback of their own, after the first screen has been sent. Views built inside them later (`later`)
        are marked when they are filled in."""
        self._below_objects = list(objects)
        self._note_views_below()

    def _note_views_below(self) -> None:
        inside = _ids_within(self._below_objects)
        self._below = {id(r) for r in self._refreshes if id(r.view) in inside}

    def _step(self, refresh: ViewRefresh) -> str:
        """When a filter change refreshes this view (`FOLLOW_STEPS`): below the first screen last; on it,
        Markdown prose (insights, notes) right after the figures (charts, KPI cards, tables) it explains. The
        top figure (`FIRST`) is picked among the `FIGURES` by `_views_of`."""
        if id(refresh) in self._below:
            return BELOW
        return PROSE if is_prose(refresh.view) else FIGURES

    def _views_of(self, step: str) -> list[ViewRefresh]:
        """The views a step refreshes. Of the first screen's figures, in the order they stand on the page, the
        top one alone (or the top `first_step_figures`) is computed in the change's own callback, whose messages
        Panel writes once it returns (a socket write under way makes it queue them until then); the others come in
        the next step, computed while the browser draws the top one."""
        if step not in (FIRST, FIGURES):
            return [refresh for refresh in list(self._refreshes) if self._step(refresh) == step]
        figures = [refresh for refresh in list(self._refreshes) if self._step(refresh) == FIGURES]
        if self._layout is not None:
            place = {id(obj): i for i, obj in enumerate(self._layout.select())}
            figures.sort(key=lambda refresh: place.get(id(refresh.view), len(place)))
        # The top figures' every map (a treemap's tiles and labels are two) goes in one step.
        views = list(dict.fromkeys(id(refresh.view) for refresh in figures))[:self.first_step_figures]
        top = [refresh for refresh in figures if id(refresh.view) in views]
        return top if step == FIRST else [refresh for refresh in figures if refresh not in top]

    def _refresh_views(self, step: str) -> None:
        if step == BELOW:
            actions, self._before_below = self._before_below, []
            for action in actions:
                action()
        for refresh in self._views_of(step):
            refresh.count += 1

    def with_views_below(self, action) -> None:
        """Run `action`, work only the views below the first screen need (e.g. a fit that moves one of their
        controls), when those views are refreshed for the new filter values: served, after the first screen has
        been sent, not in the filter change's first step; at once when the section has no views below (yet)."""
        if self._views_of(BELOW):
            self._before_below.append(action)
        else:
            action()

    def _schedule_later(self) -> None:
        """The steps after the first, for the filter values now: at once outside a server; served, each in a
        callback of its own (`_schedule_next_step`), so the page gets each part as soon as it is computed. One
        callback is scheduled at a time and schedules the next, so the steps run in order. A step already waiting
        is not added again (it reads the filter values when it runs)."""
        later = [step for step in FOLLOW_STEPS[1:] if self._views_of(step)]
        if not served():
            for step in later:
                self._refresh_views(step)
            return
        waiting = bool(self._pending)
        self._pending.update(later)
        if later and not waiting:
            self._schedule_next_step()

    def _schedule_next_step(self) -> None:
        """Schedule `_refresh_later` for the first step waiting: a step of the first screen (short, and what the
        user waits for) on the event loop, where its changes are written as soon as they are made
        (`next_on_loop`); the views below (a second or more) on a worker thread, so that they do not hold up
        the messages of the server's other sessions."""
        if self._first_waiting() == BELOW:
            pn.state.execute(self._refresh_later, schedule=True)
        else:
            next_on_loop(self._refresh_later)

    def _first_waiting(self) -> str | None:
        """The step of `FOLLOW_STEPS` to run next among those waiting (None when none waits)."""
        return next((step for step in FOLLOW_STEPS if step in self._pending), None)

    def _refresh_later(self) -> None:
        """Run the first step waiting, then schedule the next one."""
        step = self._first_waiting()
        self._pending.discard(step)
        if step is None or self._layout is None:   # nothing waits, or the session closed meanwhile
            self._pending.clear()
            return
        try:
            with pn.io.hold(freeze=True):
                self._refresh_views(step)
        finally:
            if self._pending:
                self._schedule_next_step()

    def release(self) -> None:
        """Let go of the views once the session has ended."""
        self._layout = None
        self._refreshes, self._below, self._unfilled, self._before_below = weakref.WeakSet(), set(), [], []
        self._below_objects = []

    def _on_filters(self, *events) -> None:
        if self.active:
            self._take_filters()
        else:
            self._stale = True

    def _on_active(self, event) -> None:
        if event.new and self._stale:
            self._take_filters()

    def catch_up(self) -> None:
        """Catch up with the global filters now, shown or not (e.g. for the report)."""
        if self._stale:
            self._take_filters()

    @property
    def stale(self) -> bool:
        """Whether the filters changed while the section was hidden (it catches up when shown)."""
        return self._stale

    def colours(self, kind: str) -> dict[str, str]:
        """One colour per name of `kind` across the app (see `data_colours`)."""
        return data_colours(self.store, kind)

    def colour(self, kind: str, name: str) -> str:
        return self.colours(kind).get(str(name), palette.OTHER)

    def filter_state(self) -> FilterState:
        """The global filter values this section's data methods read (depend on `FILTER_DEPS`)."""
        return filter_state(self.date_range, self.channels, self.regions, self.campaign_types)

    # -- memo: one result per state ------------------------------------------------------------------
    def _method_dependencies(self, name: str) -> list[tuple[param.Parameterized, str]]:
        """(owner, param name) of every parameter method `name` depends on, looked up once."""
        dependencies = self._dependencies.get(name)
        if dependencies is None:
            dependencies = [(dep.inst or self, dep.name) for dep in self.param.method_dependencies(name)]
            self._dependencies[name] = dependencies
        return dependencies

    def _memo_key(self, name: str) -> tuple:
        return (name, *(_hashable(getattr(owner, attr)) for owner, attr in self._method_dependencies(name)))

    @classmethod
    def reads(cls) -> tuple[str, ...]:
        """Every table the section may read: what a broken file can affect."""
        return (*cls.tables, *cls.also_reads)

    @property
    def missing_tables(self) -> list[str]:
        return [t for t in self.tables if not self.store.has(t)]

    def widget(self, parameter: str, kind: type[pn.widgets.Widget] = pn.widgets.Select, **params):
        """A widget for one of this section's params, as wide as its column. Toggle buttons are filled in the
        primary colour when chosen and outlined otherwise, so the choice reads in both themes."""
        if issubclass(kind, (pn.widgets.RadioButtonGroup, pn.widgets.CheckButtonGroup)):
            params = {"color": "primary", "variant": "outline", **params}
        return kind.from_param(getattr(self.param, parameter), **{"sizing_mode": "stretch_width", **params})

    def missing_message(self, table: str) -> str:
        """Why `table` is not available, naming the data folder as this viewer may see it (SPEC §7)."""
        from ..session import shown_folder

        return self.store.missing_message(table, shown_folder(self.store.folder))

    def unavailable(self) -> str:
        """Why the section cannot show its views with the loaded data ('' when it can): missing files by default."""
        return " ".join(self.missing_message(t) for t in self.missing_tables)

    def __panel__(self):
        if self._layout is None:
            reason = self.unavailable()
            self._layout = notice(reason, kind="warning") if reason else tooltips_below(self.layout())
        return self._layout

    def layout(self) -> pn.viewable.Viewable:
        """The section's views; the base class says the section belongs to a later release."""
        return notice(f"**{self.title}** is not built yet: its views are planned in a later release "
                      f"(SPEC §{self.spec_section}).", kind="secondary")

    def filter_note(self) -> str:
        """Which global filters narrow this section's data, and which do not apply here."""
        applied, ignored = [], []
        for name, tables in FILTER_COLUMNS.items():
            (applied if any(t in tables for t in self.tables) else ignored).append(FILTER_LABELS[name].lower())
        note = f"Global filters applied here: {', '.join(applied) or 'none'}."
        if ignored:
            note += f" Not applicable to this data: {', '.join(ignored)}."
        return note

    def export_frame(self) -> pd.DataFrame:
        """The section's filtered data, for the download button."""
        return pd.DataFrame()

    def download_button(self, label: str = "Download data (CSV)") -> pn.widgets.FileDownload:
        """A CSV download of `export_frame()`, formula injection neutralised."""
        return csv_download(self.export_frame, f"novamart_{self.slug}.csv", label)


def is_prose(view) -> bool:
    """Whether a view is prose (a Markdown insight or note), sent after the figures it explains."""
    return isinstance(view, pn.pane.Markdown)


def _ids_within(objects: list) -> set[int]:
    """The ids of `objects` and of every Panel object inside them."""
    return {id(obj) for top in objects for obj in top.select()}


def tooltips_below(layout: pn.viewable.Viewable) -> pn.viewable.Viewable:
    """Open button tooltips below their button: Panel opens them to the right, where a button at the card's right
    edge pushed them off the page ("◀ Ab…")."""
    for widget in layout.select(TooltipMixin):
        if isinstance(widget.description, str) and widget.description:
            widget.description = Tooltip(content=widget.description, position="bottom")
    return layout


def memoized(method):
    """Cache a section's data method per value of its parameter dependencies: the chart, its table, its
    insight and its download share one result per filter state. Frames come back as shallow copies (pandas
    copy-on-write), so a caller adding a column does not change the cached result."""
    name = method.__name__

    @functools.wraps(method)
    def cached(self: Section):
        key = self._memo_key(name)
        memo = self._memo
        if key in memo:
            memo.move_to_end(key)
            result = memo[key]
        else:
            result = memo[key] = method(self)
            while len(memo) > MEMO_SIZE:
                memo.popitem(last=False)
        return result.copy(deep=False) if isinstance(result, (pd.DataFrame, pd.Series)) else result

    return cached


def _hashable(value):
    """A memo-key form of a parameter value (lists become tuples, frames their identity)."""
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    try:
        hash(value)
    except TypeError:
        return id(value)
    return value


def csv_download(frame_fn, filename: str, label: str = "Download CSV") -> pn.widgets.FileDownload:
    """A download button that writes `frame_fn()` as spreadsheet-safe CSV when clicked, ratio columns with
    their unit in the header and the screen's numbers (see `export.with_units`)."""

    def payload():
        return io.BytesIO(safe_csv(with_units(frame_fn())).encode("utf-8"))

    return pn.widgets.FileDownload(callback=payload, filename=filename, label=label, color="primary",
                                   variant="outline", embed=False, width=220)


def html_download(objects_fn, filename: str, label: str = "Download charts (HTML)") -> pn.widgets.FileDownload:
    """A download button that saves the charts `objects_fn()` returns (HoloViews objects or Bokeh models) as
    one standalone HTML page that opens offline (see `charts_html`)."""

    def payload():
        return io.BytesIO(charts_html(objects_fn(), filename).encode("utf-8"))

    return pn.widgets.FileDownload(callback=payload, filename=filename, label=label, color="primary",
                                   variant="outline", embed=False, width=220)


def charts_html(objects, title: str) -> str:
    """HoloViews objects and Bokeh models as one page of plain Bokeh with every resource inline: no Panel
    stylesheet, CDN script or MathJax request, so the file opens offline like the report."""
    models = []
    for obj in objects:
        model = obj if isinstance(obj, Model) else hv.render(obj, backend="bokeh")
        if getattr(model, "sizing_mode", None) not in (None, "fixed"):
            # A page of its own has no container to stretch into: give each chart the width of a report page.
            model.sizing_mode = "fixed"
            model.width = model.width or SAVED_CHART_WIDTH
            model.height = model.height or SAVED_CHART_HEIGHT
        models.append(model)
    return standalone_html(models, title)


def no_images(parser) -> None:
    """markdown-it plugin: `![alt](url)` stays text, so no Markdown can make the browser fetch a URL."""
    parser.disable("image")


# Every Markdown pane of the app renders with raw HTML off (markdown-it's `html` option), no images, no
# web addresses turned into links and no MathJax (a `$$` in a name would otherwise load it from a CDN):
# data text can never become markup or fetch anything. Text from data files or the URL is still escaped
# where it enters Markdown (format.escape_markdown), which keeps its emphasis and links out of the sentence.
def safe_markdown_options() -> dict:
    return dict(renderer="markdown-it", renderer_options={"html": False, "linkify": False}, plugins=[no_images],
                disable_math=True)


class BootstrapText(pn.theme.Bootstrap):
    """The app's design (Bootstrap) for its text panes: the theme's stylesheets without Bootstrap's own.

    Inside a template, Panel (1.10) renders a pane with part of the design's stylesheets and sends the whole
    list with the pane's first new text; in the browser each of those changes lays the whole page out again
    (0.25 s each, about 3 s of the campaigns tab's first filter change). A pane with a design of its own
    renders with the whole list, so a new text changes only the text. Without Bootstrap's 230 kB stylesheet
    in every pane, which slowed each first switch to a section by a third and would restyle the headings.
    """
    _resources = {}


def text_pane(pane: type[pn.pane.HTML], obj, **params) -> pn.pane.HTML:
    """An HTML, Markdown or Str pane with the app's text design (`BootstrapText`) in a session that uses
    Bootstrap; elsewhere (a notebook) with Panel's default."""
    if pn.config.design is pn.theme.Bootstrap:
        params.setdefault("design", BootstrapText)
    return following(pane, obj, **params)


def following(make, obj, **params):
    """`make(obj, **params)` (a pane or widget showing `obj`). When `obj` is a method of a section that depends
    on the filter values, the view re-evaluates it when its other params change and when the section refreshes
    it for new filter values, in its place on the page (see `Section.follow_filters`). While the section is
    `deferring`, the view is built empty and shows the method's result once the section fills it."""
    section = getattr(obj, "__self__", None)
    if not isinstance(section, Section):
        return make(obj, **params)
    own, refresh = section.follow_filters(obj)
    source = obj if refresh is None else pn.bind(lambda *_: obj(), *own, refresh.param.count)
    if section.deferring_views:
        view = make(**params)
        section.defer(view, source)
    else:
        view = make(source, **params)
    if refresh is not None:
        refresh.view = view
    return view


def data_table(value, **params) -> pn.widgets.Tabulator:
    """A Tabulator of `value` (a frame or a section's method returning one, see `following`)."""
    return following(pn.widgets.Tabulator, value, **params)


def html(obj="", **params) -> pn.pane.HTML:
    """An HTML pane. Data text in `obj` must already be escaped (format.escape_html)."""
    return text_pane(pn.pane.HTML, obj, **params)


def markdown(obj="", pane: type[pn.pane.Markdown] = pn.pane.Markdown, **params) -> pn.pane.Markdown:
    """A Markdown pane (or subclass such as `pn.pane.Alert`) that renders no raw HTML, images or math.

    Use it for every Markdown pane; `obj` may be a string or a param-dependent method returning one.
    """
    params.setdefault("sizing_mode", "stretch_width")
    return text_pane(pane, obj, **{**safe_markdown_options(), **params})


def notice(text: str, kind: str = "info") -> pn.pane.Alert:
    """A sentence to the user: a missing file, a section not built yet, a filter that does not apply."""
    return markdown(text, pane=pn.pane.Alert, alert_type=kind)


def insight(text_fn) -> pn.pane.Markdown:
    """An insight sentence beside a chart; `text_fn` is a param-dependent method returning Markdown."""
    return markdown(text_fn, css_classes=["insight"], styles={"border-left": "4px solid #0072B5",
                                                               "padding-left": "8px"})


def category_slot(frame: pd.DataFrame, **row) -> pd.DataFrame:
    """`frame`, or without rows one row of `row`'s values ("n/a" in its other `_text` columns, n/a elsewhere):
    bars drawn first from no rows get a numeric axis, which an in-place update cannot make categorical (the chart
    stayed blank, or its update failed, once the filters let data in)."""
    if len(frame):
        return frame
    return pd.DataFrame([{column: row.get(column, "n/a" if column.endswith("_text") else np.nan)
                          for column in frame.columns}])


def house_opts(element: hv.Element, **options) -> hv.Element:
    """The options every chart shares: responsive, hover, a toolbar that stays out of the way.

    A width or height given as None is left unset: HoloViews counts one set to None on any layer as a fixed
    size, and draws a figure meant to scale with its width at a fixed size.
    """
    defaults = dict(responsive=True, height=360, tools=["hover"], active_tools=["wheel_zoom"],
                    toolbar="above", default_tools=["pan", "wheel_zoom", "box_zoom", "reset", "save"])
    defaults.update(options)
    return element.opts(**{name: value for name, value in defaults.items()
                           if value is not None or name not in ("width", "height")})


def _bokeh_chart_types() -> list[type]:
    """Every element and overlay type the Bokeh backend draws (empty before the backend is loaded)."""
    return [element for element in hv.Store.registry.get("bokeh", {})
            if issubclass(element, (hv.Element, hv.Overlay, hv.NdOverlay))]


def framewise_options(framewise: bool = True) -> tuple:
    """`framewise` for every element type and overlay: set on a DynamicMap alone it reaches only the type the map
    returns, for an Overlay the overlay itself, so its layers keep the axis ranges of the first frame."""
    holoviews_defaults()
    # The types `hv.opts` knows once the Bokeh backend is loaded (none before `hv.extension`).
    return _framewise_options(framewise, tuple(element.__name__ for element in _bokeh_chart_types()
                                               if hasattr(hv.opts, element.__name__)))


@functools.cache
def _framewise_options(framewise: bool, names: tuple[str, ...]) -> tuple:
    """Made once per process: about 30 ms, as HoloViews checks each of some sixty option sets."""
    return tuple(getattr(hv.opts, name)(framewise=framewise) for name in names)


@functools.cache
def holoviews_defaults() -> None:
    """The app's HoloViews defaults, set once per process (the app owns its process; a notebook gets them with the
    first chart):
    - every chart rescales its axes to each new frame. As HoloViews defaults, because options set on a DynamicMap
      are applied again to every frame it returns (a new option tree per element type, about a third of a filter
      change on the server, and memory a closed session did not give back);
    - HoloViews' stream registry can be read while another session's thread adds to it (`session.py`);
    - figures draw on a 2-D canvas, not WebGL (HoloViews' default). Each WebGL figure copies the page's one GL
      canvas into its own on every repaint, a synchronous read-back: on the campaigns tab that made a browser
      repaint after a filter change 2.5 times as long (0.42 against 0.17 s, headless Chromium). The charts draw
      hundreds to a few thousand glyphs, and Datashader draws more as one image, so WebGL has nothing to speed up.
    """
    import holoviews.plotting.bokeh  # noqa: F401 - registers the Bokeh element types and their options
    from holoviews.core.options import Options
    from holoviews.plotting.bokeh import BokehRenderer

    stream_registry_thread_safe()
    # On the class: Panel's HoloViews pane draws with an instance of it made for the page's theme.
    BokehRenderer.webgl = False
    defaults = hv.Store.options(backend="bokeh")
    for element in _bokeh_chart_types():
        setattr(defaults, element.__name__, Options("norm", framewise=True))


FIGURE_SIZES = ("min_width", "max_width", "min_height", "max_height")   # Panel layout params HoloViews also sets


def holoviews_pane(obj, **layout) -> pn.pane.HoloViews:
    """A HoloViews pane laid out by `layout` (Panel layout params; stretched to the width by default).

    The pane gives its figure these sizes when it is drawn, and HoloViews sets its own (None) with the first
    update: a layout property change that makes BokehJS lay out the whole page again (and a map lost its
    bounds). `obj` gets the same sizes as plot options, so an update leaves them as they are.
    """
    holoviews_defaults()
    layout = {"sizing_mode": "stretch_width", "linked_axes": False, **layout}
    sizes = {name: layout[name] for name in FIGURE_SIZES if name in layout}
    return shows(pn.pane.HoloViews(obj.opts(**sizes) if sizes else obj, **layout), obj)


def shows(pane: pn.viewable.Viewable, obj) -> pn.viewable.Viewable:
    """`pane`, which draws `obj`: the refreshes of the section maps in `obj` (`follow_map`) now know where their
    chart stands, so a filter change refreshes it with its place on the page (the first screen first)."""
    pending, seen = [obj], set()
    while pending:
        dmap = pending.pop()
        if isinstance(dmap, hv.DynamicMap) and id(dmap) not in seen:
            seen.add(id(dmap))
            refresh = getattr(dmap, "_novamart_refresh", None)
            if refresh is not None:
                refresh.view = pane
            pending.extend(dmap.callback.inputs)   # the maps an overlay, `.opts` or an operation was made of
    return pane


def follow_map(plot_fn, streams: tuple = ()) -> hv.DynamicMap:
    """A DynamicMap of `plot_fn`, a param method: of a section, it follows the section's filter values through
    the section's refresh and its other params at once (`Section.follow_filters`), as a `chart` does; else
    HoloViews follows the method's dependencies itself. `streams` (e.g. RangeXY) give `plot_fn` their values as
    keyword arguments. Show it with `holoviews_pane` (or `shows`), which places it for the section's refresh.

    Never `hv.DynamicMap(section.method)`: HoloViews would redraw it inside the filter change's first step, with
    the top chart, and the page would wait for both (a customers region change waited for every chart below)."""
    owner = plot_fn.__self__
    if not isinstance(owner, Section):
        return hv.DynamicMap(plot_fn, streams=list(streams))
    return _section_map(plot_fn, *owner.follow_filters(plot_fn), streams)


def _section_map(plot_fn, own: list, refresh: ViewRefresh | None, streams: tuple = ()) -> hv.DynamicMap:
    """The DynamicMap of `follow_map`, for the params and refresh `plot_fn` follows (`Section.follow_filters`)."""
    followed = [hv.streams.Params(parameterized=p.owner, parameters=[p.name]) for p in own]
    if refresh is not None:   # the filter values come through the section's refresh (first screen first)
        followed.append(hv.streams.Params(refresh, ["count"]))
    keywords = {name for stream in streams for name in stream.contents}
    models = {}   # this map's option models (`chart_model`), kept from frame to frame

    def frame(**values):
        token = _chart_models.set(models)
        try:
            return plot_fn(**{name: value for name, value in values.items() if name in keywords})
        finally:
            _chart_models.reset(token)
    dmap = hv.DynamicMap(frame, streams=[*followed, *streams])
    dmap._novamart_refresh = refresh
    return dmap


def chart(plot_fn, height: int = 380, framewise: bool = True,
          rebuild_on: tuple[str, ...] = (), **layout) -> pn.viewable.Viewable:
    """A chart that updates in place: `plot_fn` is a param-dependent method wrapped in a DynamicMap, so a
    change sends new data into the Bokeh models built once, instead of building new ones.

    `plot_fn` must return the same element types and overlay layers on every call (a layer without data
    stays, empty and hidden): HoloViews matches the layers of each new frame to the plots it built by type,
    group and label (prefix). Every chart rescales its axes to each new frame (a filter change, a model fit
    arriving; `holoviews_defaults`), which resets a zoom; charts whose extent does not move with their controls
    can keep the zoom with `framewise=False`.
    The chart follows the section's filter values through the section's refresh (`Section.follow_filters`): on
    the first screen at once, below it in a later message. Its other params update it at once.
    `rebuild_on` names the section's params that change what the chart *is* (e.g. an online tile layer):
    only those build new models. `layout` holds Panel layout params besides the stretched width and
    `min_height=height` (see `holoviews_pane`).
    BokehJS 3.10 can interleave two updates of one glyph, or recompute its visuals between the new data and
    the new indices, and fail with "Size mismatch" when the length changes; the app's extension loads a fix
    (`PAGE_FIXES`) that serialises the updates and defers those visuals.
    """
    layout = {"sizing_mode": "stretch_width", "min_height": height, **layout}
    owner = plot_fn.__self__
    own, refresh = owner.follow_filters(plot_fn) if isinstance(owner, Section) else ([], None)
    own = [p for p in own if p.name not in rebuild_on]   # those build a new chart: no update of the old one first

    def dynamic():
        # One refresh for the chart, whichever map `rebuild_on` made last.
        dmap = _section_map(plot_fn, own, refresh) if isinstance(owner, Section) else hv.DynamicMap(plot_fn)
        if not framewise:
            dmap = dmap.opts(*framewise_options(False))
        # linked_axes=False (holoviews_pane): Panel would otherwise merge categorical axes of unrelated charts.
        return holoviews_pane(dmap, **layout)

    if rebuild_on:
        pane = pn.panel(pn.bind(lambda *_: dynamic(), *[owner.param[name] for name in rebuild_on]), **layout)
    else:
        pane = dynamic()
    if refresh is not None:
        refresh.view = pane
    pane._novamart_chart = (plot_fn, tuple(rebuild_on))   # what tests (and the report) read back
    return pane


def card(title: str, *objects, **params) -> pn.Card:
    """A titled card that stays open, its objects in one column.

    The Bootstrap design gives a card's direct children a margin of its own without telling the panes, and
    a pane sends its own margin back with its first update: the whole page is then laid out again (0.1 s per
    pane in the browser) and the content shifts. The column takes the design's margin and never re-sends it.
    """
    params = {"collapsible": False, "sizing_mode": "stretch_width", **params}
    return pn.Card(pn.Column(*objects, sizing_mode="stretch_width"), title=title, **params)


def view_card(title: str, controls: list, body, insight_fn, wide: bool = False, side_width: int = 320) -> pn.Card:
    """One view: its chart or table, and beside it (below it when `wide`) its controls and insight."""
    if wide:
        content = pn.Column(body, pn.Row(pn.Column(*controls, width=side_width), insight(insight_fn),
                                         sizing_mode="stretch_width"), sizing_mode="stretch_width")
    else:
        content = pn.Row(body, pn.Column(*controls, insight(insight_fn), width=side_width, margin=(10, 10)),
                         sizing_mode="stretch_width")
    return pn.Card(content, title=title, collapsible=False, sizing_mode="stretch_width", margin=(10, 0))


def kpi_card(label: str, value: str, change: str = "", good: bool | None = None, caption: str = "") -> str:
    """HTML of one KPI card: the value, and the change coloured green (good), red (bad) or grey.
    The texts are plain text (escaped here), never HTML."""
    colour = {True: GOOD, False: BAD, None: NEUTRAL}[good]
    arrow = "" if not change or change == "n/a" else ("▲ " if change.startswith("+") else "▼ " if change.startswith("−") else "")
    label, value, change, caption = (escape_html(text) for text in (label, value, change, caption))
    return (
        f'<div class="kpi-card" data-kpi="{label.lower()}" style="padding:10px 14px;border-radius:8px;'
        f'border:1px solid rgba(128,128,128,.35);min-width:150px">'
        f'<div style="font-size:.85em;opacity:.8">{label}</div>'
        f'<div class="kpi-value" style="font-size:1.7em;font-weight:600">{value}</div>'
        f'<div class="kpi-change" style="color:{colour};font-size:.9em">{arrow}{change}</div>'
        f'<div style="font-size:.75em;opacity:.7">{caption}</div></div>'
    )


def section_header(section: Section, description: str) -> pn.Column:
    """Title row: what the section answers, which filters apply, and its download button."""
    return pn.Column(
        markdown(f"## {section.title}\n{description}\n\n*{section.filter_note()}*"),
        section.download_button(),
        sizing_mode="stretch_width",
    )


def table_label(table: str) -> str:
    return BY_TABLE[table].filename


def readable_text_colours(values, cmap: str, clim: tuple[float, float]) -> list[str]:
    """Black or white, whichever reads better on the colour `cmap` gives each value within `clim`."""
    palette = process_cmap(cmap, 256)
    lo, hi = clim
    span = hi - lo if hi > lo else 1.0
    colours = []
    for value in np.asarray(values, dtype=float):
        if not np.isfinite(value):
            colours.append(DARK_TEXT)
            continue
        hex_colour = palette[int(np.clip((value - lo) / span, 0, 1) * 255)].lstrip("#")
        channels = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (0, 2, 4)])
        linear = np.where(channels <= 0.03928, channels / 12.92, ((channels + 0.055) / 1.055) ** 2.4)
        luminance = float(linear @ [0.2126, 0.7152, 0.0722])
        colours.append(DARK_TEXT if luminance > 0.35 else LIGHT_TEXT)
    return colours


def contrast_labels(frame: pd.DataFrame, kdims: list[str], text: str, font_size: str, **options) -> hv.Overlay:
    """Text in black where `frame.text_color` says black, in white elsewhere: two layers of fixed colour, both
    with `options`. (One layer mapping a colour column breaks in the browser when every row turns the same
    colour: HoloViews then drops the column and Bokeh warns about the missing field.)"""
    on_light = frame["text_color"] == DARK_TEXT
    return hv.Overlay([
        hv.Labels(frame[on_light], kdims, [text]).opts(text_color=DARK_TEXT, text_font_size=font_size, **options),
        hv.Labels(frame[~on_light], kdims, [text]).opts(text_color=LIGHT_TEXT, text_font_size=font_size, **options),
    ])
