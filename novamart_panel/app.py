"""The application: grouped section navigation and global filters in a sidebar, one section shown at a
time, theme toggle, URL sync."""
from __future__ import annotations

import base64
import functools
import json
import os
from pathlib import Path
from urllib.parse import parse_qsl

import panel as pn
import param

from .data.store import DataStore
from .format import escape_markdown
from .session import (after_page_drawn, after_page_sent, next_on_loop, recompute_models_when_changed,
                      release_when_closed, served, shown_folder)
from .url_state import clean_url_values, shown
from .views.attribution import AttributionSection
from .views.base import Section, holoviews_defaults, html, markdown
from .views.budget import BudgetSection
from .views.campaigns import CampaignSection
from .views.customers import CustomerSection
from .views.experiments import ExperimentSection
from .views.filters import Filters
from .views.geography import GeographySection
from .views.model_evaluation import ModelEvaluationSection
from .views.overview import OverviewSection
from .views.products import ProductSection
from .views.quality import QualitySection
from .views.segments import SegmentSection

SECTIONS: tuple[type[Section], ...] = (
    OverviewSection, CampaignSection, CustomerSection, ProductSection, GeographySection,
    AttributionSection, ModelEvaluationSection, BudgetSection, SegmentSection, ExperimentSection,
    QualitySection,
)
TITLE = "NovaMart Marketing Analytics"

# The sidebar navigation: every section in one group (fits a 1366-px laptop; the active one stays visible).
NAVIGATION: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Performance", ("overview", "campaigns", "products", "geography")),
    ("Customers", ("customers", "segments")),
    ("Marketing science", ("attribution", "budget", "experiments", "model")),
    ("Data", ("quality",)),
)
# Fixes to BokehJS 3.10 loaded into every page, by name: glyph updates serialised ("Size mismatch"), a figure's
# layout (laid out alone when its axis changed size, its styles read once per pass, left out of a pass until it
# has a layout), and Panel's progress bar given values before it is drawn (see each file).
PAGE_FIXES = {"novamart_glyph_updates": Path(__file__).parent / "assets" / "glyph_update_fix.js",
              "novamart_plot_layout": Path(__file__).parent / "assets" / "plot_layout_fix.js",
              "novamart_progress": Path(__file__).parent / "assets" / "progress_fix.js"}
# Compact, left-aligned section buttons: eleven of them and the filters fit a 768-px-high laptop screen. The
# shown section's button is filled through two CSS variables its column sets (see `nav_column_css`).
NAV_BUTTON_CSS = (":host .bk-btn { padding: 2px 10px; text-align: left; font-size: 0.92em; }\n"
                  ":host(.section-nav) .bk-btn.bk-btn-primary { background-color: var(--nav-fill, transparent); "
                  "color: var(--nav-text, var(--background-text-color)); }")


def nav_column_css(slugs: list[str]) -> str:
    """The navigation column's stylesheet: with class `nav-at-<slug>` it fills the button of class `nav-<slug>`.
    The shown section is one property of one model (the column's classes), so a browser can never show two
    buttons filled: moving the highlight between two buttons took two messages, and a browser busy drawing a
    section could apply the second one many seconds after the first."""
    selectors = ", ".join(f":host(.nav-at-{slug}) .nav-{slug}" for slug in slugs)
    return f"{selectors} {{ --nav-fill: var(--primary-color); --nav-text: var(--button-primary-text-color, #fff); }}"

# Filter params mirrored in the URL, by query-string key.
URL_FILTERS = {"date_range": "dates", "channels": "channels", "regions": "regions",
               "campaign_types": "types"}
THEMES = ("default", "dark")
PENDING_CLASS = "views-pending"   # the line standing for a section's views still being built


def extension() -> None:
    """Load the Panel extensions the app needs (call once per process or notebook)."""
    pn.extension("tabulator", sizing_mode="stretch_width", throttled=True, notifications=True)
    holoviews_defaults()
    # Inline (data URLs), so the served app, the notebook and the WebAssembly page load them offline.
    pn.config.js_files = {**pn.config.js_files,
                          **{name: "data:text/javascript;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
                             for name, path in PAGE_FIXES.items()}}


def _through_top_chart(objects: list) -> int:
    """How many of `objects` (a first screen's) a first switch sends first: down to the first holding a chart."""
    for i, obj in enumerate(objects):
        if obj.select(pn.pane.HoloViews) or obj.select(pn.pane.Bokeh):
            return i + 1
    return len(objects)


class App(pn.viewable.Viewer):
    """The whole app for one browser session (or one notebook cell): its own filters and sections."""

    section = param.Selector(default=SECTIONS[0].slug, objects=[s.slug for s in SECTIONS],
                             doc="The section shown")

    def __init__(self, data_dir: str | os.PathLike | None = None, **params):
        super().__init__(**params)
        self.store = DataStore.open(data_dir)
        self.filters = Filters(self.store)
        self.sections = [cls(store=self.store, filters=self.filters, active=cls.slug == self.section)
                         for cls in SECTIONS]
        self._main = self._holders = None
        self._navigation = None
        self._url_notice = None
        self.url_problems: list[str] = []
        self._url_rewrite_pending = self._bad_theme = False
        # (object, {parameter: URL key}) mirrored in the page address.
        self._url_synced = ((self, {"section": "tab"}), (self.filters, URL_FILTERS),
                            (self.section_view("overview"), {"kpi_period": "kpis", "comparison": "compare"}),
                            (self.section_view("model"), {"threshold": "threshold"}))

    def section_view(self, slug: str) -> Section:
        """One section on its own (e.g. to show it alone in a notebook)."""
        for section in self.sections:
            if section.slug == slug:
                return section
        raise KeyError(f"no section {slug!r}; choose one of {', '.join(s.slug for s in self.sections)}")

    @param.depends("section", watch=True)
    def _show_section(self) -> None:
        """Only the shown section follows the filters; the others catch up when next shown."""
        for section in self.sections:
            section.active = section.slug == self.section
        if self._holders is None:
            return
        if served():
            # Served: the navigation's highlight and the URL reach the browser first, then the section is
            # drawn in a callback of its own, on the event loop: there its hold writes the swap in one message.
            next_on_loop(self._reveal)
        else:
            self._reveal()

    def _reveal(self) -> None:
        """Build the shown section the first time, then keep it: switching back only unhides it.

        The old section hidden, the new one's first views and the new one shown reach the page in one message
        (served, on the event loop, a hold writes its changes as one). As separate messages, the page built the
        new views while their section was still hidden, laid them out at size zero, then again once shown: a
        first switch's top chart was drawn 0.2-0.37 s after its views arrived."""
        if self._holders is None:   # the session closed before this scheduled callback ran
            return
        with pn.io.hold(freeze=True):
            for section, holder in zip(self.sections, self._holders):
                shown = section.slug == self.section
                if shown and not holder.objects:
                    holder.objects = [self._first_views(section)]
                holder.visible = shown

    def _first_views(self, section: Section) -> pn.viewable.Viewable:
        """The section's layout; served, with only its header and first views at first: the rest is built and
        sent in a callback of its own, so the top of the section is drawn while the server builds the rest
        (building every chart of a section takes 1–2 s)."""
        if not served():
            return section.__panel__()
        with section.deferring():   # the sentences and tables below the first screen are computed later
            layout = section.__panel__()
        first = section.first_screen
        if isinstance(layout, pn.Column) and len(layout) > first:
            rest = layout.objects[first:]
            section.views_below(rest)   # a filter change refreshes them second, too
            # The first screen down to its top chart: its figures (charts, KPI cards, tables) now, its prose in the
            # next callback, as a filter change sends them (the overview's top insights score every day of the
            # history); then the rest of the first screen, then the views below. Building every chart of the first
            # screen at once held the top one back (model evaluation's three: its first chart 1.3-1.8 s after the
            # click, 0.5-0.7 s when sent alone).
            sent = _through_top_chart(layout.objects[:first])
            section.fill(layout.objects[:sent], prose=False)
            pending = markdown("*Loading the other views of this section…*", css_classes=[PENDING_CLASS])
            screen_rest = layout.objects[sent:first]
            layout.objects = [*layout.objects[:sent], pending]
            # On a session's first page, after the page has drawn these (see session.after_page_drawn).
            after_page_drawn(functools.partial(self._add_prose, section, layout, screen_rest, rest))
        else:
            section.fill()
        return layout

    def _add_prose(self, section: Section, layout: pn.Column, screen_rest: list, rest: list) -> None:
        """The sentences of a section's first message, after its figures; then the rest of its first screen (if
        any) and the views below are scheduled (from here: Bokeh runs a session's callbacks on worker threads, in
        no set order)."""
        if self._holders is not None:   # else the session closed meanwhile
            section.fill(layout.objects[:-1])
            then = functools.partial(self._add_views, section, layout, rest)
            if screen_rest:
                then = functools.partial(self._add_screen_rest, section, layout, screen_rest, then)
            pn.state.execute(then, schedule=True)

    def _add_screen_rest(self, section: Section, layout: pn.Column, screen_rest: list, then) -> None:
        """The rest of a section's first screen, above the line saying more is coming; then `then` is scheduled."""
        if self._holders is not None:   # else the session closed meanwhile
            section.fill(screen_rest)
            layout.objects = [*layout.objects[:-1], *screen_rest, layout.objects[-1]]
            pn.state.execute(then, schedule=True)

    def _add_views(self, section: Section, layout: pn.Column, rest: list) -> None:
        """The rest of a section's views, in place of the line saying they are coming."""
        if self._holders is not None:   # else the session closed meanwhile
            section.fill()
            layout.objects = [*layout.objects[:-1], *rest]

    @property
    def holders(self) -> list[pn.Column]:
        """One holder per section, only the shown one visible. In the served page each holder is a root of its
        own: BokehJS lays out a whole root when one of its components is shown, hidden or resized, so a switch
        lays out the two sections it swaps, not every section built so far."""
        if self._holders is None:
            self._holders = [pn.Column(sizing_mode="stretch_width", visible=False, css_classes=[f"section-{s.slug}"])
                             for s in self.sections]
            if served():   # the page leaves first: the section is built while its scripts load
                after_page_sent(self._reveal)
            else:
                self._reveal()
        return self._holders

    @property
    def main(self) -> pn.Column:
        """The main area inline (notebooks): the holders in one column."""
        if self._main is None:
            self._main = pn.Column(*self.holders, sizing_mode="stretch_width")
        return self._main

    @property
    def navigation(self) -> pn.Column:
        """One button per section under its group's name; the shown section's button is filled."""
        if self._navigation is None:
            titles = {s.slug: s.title for s in self.sections}
            self._nav_buttons: dict[str, pn.widgets.Button] = {}
            items = []
            for name, slugs in NAVIGATION:
                slugs = [slug for slug in slugs if slug in titles]
                if slugs:
                    items.append(html(f'<div class="nav-group">{name}</div>', margin=(6, 10, 0, 10),
                                      styles={"font-size": "0.8em", "font-weight": "600", "opacity": "0.75"}))
                for slug in slugs:
                    button = pn.widgets.Button(label=titles[slug], color="primary", variant="outline",
                                               sizing_mode="stretch_width", height=30, margin=(1, 10),
                                               css_classes=["section-nav", f"nav-{slug}"],
                                               stylesheets=[NAV_BUTTON_CSS])
                    button.on_click(lambda event, slug=slug: setattr(self, "section", slug))
                    self._nav_buttons[slug] = button
                    items.append(button)
            self._navigation = pn.Column(*items, sizing_mode="stretch_width",
                                         stylesheets=[nav_column_css(list(self._nav_buttons))])
            self._mark_shown()
            self.param.watch(lambda event: self._mark_shown(), "section")
        return self._navigation

    def _mark_shown(self) -> None:
        if self._navigation is not None:   # None once the session has closed
            self._navigation.css_classes = ["section-nav-list", f"nav-at-{self.section}"]

    def sidebar(self) -> pn.Column:
        import io

        from .report import FILENAME, build_report_html

        # The full path only for a browser on this machine (or a notebook): it tells visitors about the server.
        folder = markdown(f"Data: {escape_markdown(shown_folder(self.store.folder))}", css_classes=["data-folder"],
                          styles={"font-size": "0.8em", "opacity": "0.8"})
        # Built when clicked, for the filters and section settings in force at that moment.
        report = pn.widgets.FileDownload(
            callback=lambda: io.BytesIO(build_report_html(self).encode("utf-8")), filename=FILENAME,
            label="Insights report (HTML)", color="primary", variant="outline", embed=False,
            sizing_mode="stretch_width", description="Key figures, insights and charts of every section under "
                                                     "the current filters, as one file that opens offline")
        return pn.Column(self.navigation, markdown("### Filters"), self.url_notice(), self.filters, report, folder,
                         sizing_mode="stretch_width")

    def url_notice(self) -> pn.Column:
        """A dismissable warning naming the URL values that were not used (hidden while there are none)."""
        if self._url_notice is None:
            alert = markdown("", pane=pn.pane.Alert, alert_type="warning", css_classes=["url-notice"], margin=0)
            dismiss = pn.widgets.Button(label="Dismiss", color="light", variant="outline", width=90)
            self._url_notice = pn.Column(alert, dismiss, visible=False, sizing_mode="stretch_width")
            dismiss.on_click(lambda event: setattr(self._url_notice, "visible", False))
            self._show_url_problems()
        return self._url_notice

    def report_url_problems(self, problems: list[str]) -> None:
        """Add sentences about unused URL values to the notice (plain text: escaped here)."""
        new = [p for p in problems if p not in self.url_problems]
        if new:
            self.url_problems += new
            self._show_url_problems()

    def _show_url_problems(self) -> None:
        if self._url_notice is None or not self.url_problems:
            return
        alert = self._url_notice[0]
        alert.object = ("**Some settings in the page address were not used:**\n\n"
                        + "\n".join(f"- {escape_markdown(p)}" for p in self.url_problems))
        self._url_notice.visible = True

    def apply_url_values(self, obj: param.Parameterized, keys: dict[str, str], values: dict) -> None:
        """Set what is usable of URL values that `obj` refused (unknown options, bad dates…) and say what was not."""
        cleaned, problems = clean_url_values(obj, values, keys)
        try:
            obj.param.update(**cleaned)
        except Exception as exc:  # noqa: BLE001 - a URL must never break the session
            problems.append(f"{', '.join(keys.get(n, n) for n in cleaned)} could not be applied ({exc})")
        self.report_url_problems(problems)
        self._schedule_url_rewrite()

    def _schedule_url_rewrite(self) -> None:
        if not self._url_rewrite_pending:
            # The browser reports its own address once the page has loaded: write the cleaned one after that.
            self._url_rewrite_pending = True
            pn.state.onload(self._rewrite_url)

    def _rewrite_url(self) -> None:
        """Put the values in force (not the refused ones) in the page address."""
        self._url_rewrite_pending = False
        location = pn.state.location
        if location is None:
            return
        query = {}
        for obj, keys in self._url_synced:
            for name, key in keys.items():
                value = getattr(obj, name)
                if value is None:
                    continue
                try:
                    value = obj.param[name].serialize(value)
                except Exception:  # noqa: BLE001 - fall back to JSON of the value, as Panel's sync does
                    pass
                query[key] = value if isinstance(value, str) else json.dumps(value)
        if self._bad_theme:
            query["theme"] = pn.config.theme
        location.update_query(**query)

    def sync_url(self) -> None:
        """Mirror the active tab, the global filters and the model threshold in the page URL (served sessions
        only); URL values are checked against the loaded data, and the sidebar says what was not used."""
        location = pn.state.location
        if location is None:
            return
        # Panel skips values it cannot parse (e.g. `types=[`) without telling the user.
        raw, parsed = dict(parse_qsl(location.search.lstrip("?"))), location.query_params
        for obj, keys in self._url_synced:
            location.sync(obj, keys, on_error=functools.partial(self.apply_url_values, obj, keys))
        unreadable = [key for _, keys in self._url_synced for key in keys.values() if key in raw and key not in parsed]
        if unreadable:
            self.report_url_problems([f"{key}={shown(raw[key])} was ignored: not a value this page can read"
                                      for key in unreadable])
            self._schedule_url_rewrite()
        theme = (pn.state.session_args or {}).get("theme", [b"default"])[0].decode("utf-8", "replace")
        if theme not in THEMES:
            self._bad_theme = True
            self.report_url_problems([f"theme={theme[:60]} was ignored: choose {' or '.join(THEMES)}"])
            self._schedule_url_rewrite()

    def close(self) -> None:
        """Let go of the views (their Panel and Bokeh objects) once the session has ended."""
        for section in self.sections:
            section.release()
        self._main = self._holders = self._navigation = self._url_notice = None

    def __panel__(self):
        """Inline layout (notebooks): navigation and filters beside the shown section."""
        return pn.Row(pn.Column(self.sidebar(), width=300), self.main, sizing_mode="stretch_width")

    def template(self) -> pn.template.BaseTemplate:
        """The served page: sidebar navigation and filters, the shown section, light/dark toggle."""
        # Bootstrap, not Fast: the Fast design pulls its font from a CDN and the app must work offline.
        # The session's design is set before any pane is built (views.base.text_pane gives text panes theirs).
        pn.config.design = pn.theme.Bootstrap
        # The URL first: the section it names is the only one built for the first page.
        self.sync_url()
        template = pn.template.BootstrapTemplate(
            title=TITLE, sidebar=[self.sidebar()], main=self.holders, header=[theme_toggle()],
            sidebar_width=320, header_background="#0072B5",
        )
        release_when_closed(self)
        recompute_models_when_changed(pn.state.curdoc)
        return template

    def servable(self, title: str | None = None, **kwargs):
        return self.template().servable(title=title or TITLE, **kwargs)


# Panel reads `?theme=dark` when a session starts; the filters and tab live in the URL, so a reload
# into the other theme keeps the user's view.
_TOGGLE_THEME_JS = """
const url = new URL(window.location.href);
url.searchParams.set('theme', url.searchParams.get('theme') === 'dark' ? 'default' : 'dark');
window.location.href = url.toString();
"""


def theme_toggle() -> pn.widgets.Button:
    """A header button that reloads the page in the other theme (Bootstrap has no built-in toggle)."""
    dark = pn.config.theme == "dark"
    button = pn.widgets.Button(label="☀ Light theme" if dark else "☾ Dark theme", color="light", variant="outline",
                               width=140, css_classes=["theme-toggle"], align="center")
    button.js_on_click(code=_TOGGLE_THEME_JS)
    return button


def create_app(data_dir: str | os.PathLike | None = None) -> pn.template.BaseTemplate:
    """A fresh served page (a factory: every session gets its own objects)."""
    extension()
    return App(data_dir).template()
