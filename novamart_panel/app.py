"""The application: grouped section navigation and global filters in a sidebar, one section shown at a
time, theme toggle, URL sync."""
from __future__ import annotations

import base64
import os
from pathlib import Path

import panel as pn
import param

from .data.store import DataStore
from .views.attribution import AttributionSection
from .views.base import Section
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
GLYPH_UPDATE_JS = Path(__file__).parent / "assets" / "glyph_update_fix.js"

# Filter params mirrored in the URL, by query-string key.
URL_FILTERS = {"date_range": "dates", "channels": "channels", "regions": "regions",
               "campaign_types": "types"}


def extension() -> None:
    """Load the Panel extensions the app needs (call once per process or notebook)."""
    pn.extension("tabulator", sizing_mode="stretch_width", throttled=True, notifications=True)
    # Inline (a data URL), so the served app, the notebook and the WebAssembly page load it offline.
    script = base64.b64encode(GLYPH_UPDATE_JS.read_bytes()).decode("ascii")
    pn.config.js_files = {**pn.config.js_files,
                          "novamart_glyph_updates": f"data:text/javascript;base64,{script}"}


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
        self._main = None
        self._navigation = None

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
        if self._main is not None:
            self._reveal()

    def _reveal(self) -> None:
        """Build the shown section the first time, then keep it: switching back only unhides it."""
        for section, holder in zip(self.sections, self._main.objects):
            shown = section.slug == self.section
            if shown and not holder.objects:
                holder.objects = [section]
            holder.visible = shown

    @property
    def main(self) -> pn.Column:
        """The main area: one holder per section, only the shown one visible."""
        if self._main is None:
            self._main = pn.Column(*[pn.Column(sizing_mode="stretch_width", visible=False, css_classes=[
                f"section-{s.slug}"]) for s in self.sections], sizing_mode="stretch_width")
            self._reveal()
        return self._main

    @property
    def navigation(self) -> pn.Column:
        """Grouped section buttons; the active section is highlighted in its group."""
        if self._navigation is None:
            titles = {s.slug: s.title for s in self.sections}
            groups = []
            for name, slugs in NAVIGATION:
                slugs = tuple(slug for slug in slugs if slug in titles)
                if not slugs:
                    continue
                buttons = pn.widgets.RadioButtonGroup(
                    options={titles[slug]: slug for slug in slugs}, orientation="vertical",
                    value=self.section if self.section in slugs else None, color="primary",
                    variant="outline", sizing_mode="stretch_width", css_classes=["section-nav"],
                    label=name)
                buttons.param.watch(self._on_navigate, "value")
                groups.append((name, slugs, buttons))
            self._nav_groups = groups
            self.param.watch(self._sync_navigation, "section")
            self._navigation = pn.Column(
                *[item for name, _, buttons in groups
                  for item in (pn.pane.HTML(f'<div class="nav-group">{name}</div>', margin=(8, 10, 0, 10)),
                               buttons)],
                sizing_mode="stretch_width")
        return self._navigation

    def _on_navigate(self, event) -> None:
        if event.new is not None:
            self.section = event.new

    def _sync_navigation(self, event) -> None:
        for _, slugs, buttons in self._nav_groups:
            buttons.value = event.new if event.new in slugs else None

    def sidebar(self) -> pn.Column:
        import io

        from .report import FILENAME, build_report_html

        folder = pn.pane.Markdown(f"<small>Data: `{self.store.folder}`</small>", sizing_mode="stretch_width")
        # Built when clicked, for the filters and section settings in force at that moment.
        report = pn.widgets.FileDownload(
            callback=lambda: io.BytesIO(build_report_html(self).encode("utf-8")), filename=FILENAME,
            label="Insights report (HTML)", color="primary", variant="outline", embed=False,
            sizing_mode="stretch_width", description="Key figures, insights and charts of every section under "
                                                     "the current filters, as one file that opens offline")
        return pn.Column(self.navigation, "### Filters", self.filters, report, folder, sizing_mode="stretch_width")

    def sync_url(self) -> None:
        """Mirror the active tab and the global filters in the page URL (served sessions only)."""
        location = pn.state.location
        if location is None:
            return
        location.sync(self, {"section": "tab"})
        location.sync(self.filters, URL_FILTERS)
        location.sync(self.section_view("model"), {"threshold": "threshold"})

    def __panel__(self):
        """Inline layout (notebooks): navigation and filters beside the shown section."""
        return pn.Row(pn.Column(self.sidebar(), width=300), self.main, sizing_mode="stretch_width")

    def template(self) -> pn.template.BaseTemplate:
        """The served page: sidebar navigation and filters, the shown section, light/dark toggle."""
        # The URL first: the section it names is the only one built for the first page.
        self.sync_url()
        # Bootstrap, not Fast: the Fast design pulls its font from a CDN and the app must work offline.
        template = pn.template.BootstrapTemplate(
            title=TITLE, sidebar=[self.sidebar()], main=[self.main], header=[theme_toggle()],
            sidebar_width=320, header_background="#0072B5",
        )
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
