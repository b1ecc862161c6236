"""The application: global filters in a sidebar, one tab per section, theme toggle, URL sync."""
from __future__ import annotations

import os

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

# Filter params mirrored in the URL, by query-string key.
URL_FILTERS = {"date_range": "dates", "channels": "channels", "regions": "regions",
               "campaign_types": "types"}


def extension() -> None:
    """Load the Panel extensions the app needs (call once per process or notebook)."""
    pn.extension("tabulator", sizing_mode="stretch_width", throttled=True, notifications=True)


class App(pn.viewable.Viewer):
    """The whole app for one browser session (or one notebook cell): its own filters and sections."""

    section = param.Selector(default=SECTIONS[0].slug, objects=[s.slug for s in SECTIONS],
                             doc="The active tab")

    def __init__(self, data_dir: str | os.PathLike | None = None, **params):
        super().__init__(**params)
        self.store = DataStore.open(data_dir)
        self.filters = Filters(self.store)
        self.sections = [cls(store=self.store, filters=self.filters) for cls in SECTIONS]
        self._tabs = None

    def section_view(self, slug: str) -> Section:
        """One section on its own (e.g. to show it alone in a notebook)."""
        for section in self.sections:
            if section.slug == slug:
                return section
        raise KeyError(f"no section {slug!r}; choose one of {', '.join(s.slug for s in self.sections)}")

    @property
    def tabs(self) -> pn.Tabs:
        """One tab per section; a section's views are built the first time its tab is shown."""
        if self._tabs is None:
            slugs = [s.slug for s in self.sections]
            holders = [pn.Column(sizing_mode="stretch_width") for _ in self.sections]
            self._tabs = pn.Tabs(*[(s.title, h) for s, h in zip(self.sections, holders)], dynamic=True,
                                 active=slugs.index(self.section), sizing_mode="stretch_width")

            def show(index: int) -> None:
                if not holders[index].objects:
                    holders[index].objects = [self.sections[index]]

            def on_active(event) -> None:
                show(event.new)
                self.section = slugs[event.new]

            show(self._tabs.active)
            self._tabs.param.watch(on_active, "active")
            self.param.watch(lambda e: setattr(self._tabs, "active", slugs.index(e.new)), "section")
        return self._tabs

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
        return pn.Column("### Filters", self.filters, report, folder, sizing_mode="stretch_width")

    def sync_url(self) -> None:
        """Mirror the active tab and the global filters in the page URL (served sessions only)."""
        location = pn.state.location
        if location is None:
            return
        location.sync(self, {"section": "tab"})
        location.sync(self.filters, URL_FILTERS)
        location.sync(self.section_view("model"), {"threshold": "threshold"})

    def __panel__(self):
        """Inline layout (notebooks): filters beside the tabs."""
        return pn.Row(pn.Column(self.sidebar(), width=300), self.tabs, sizing_mode="stretch_width")

    def template(self) -> pn.template.BaseTemplate:
        """The served page: sidebar filters, tabs, light/dark toggle."""
        # Bootstrap, not Fast: the Fast design pulls its font from a CDN and the app must work offline.
        template = pn.template.BootstrapTemplate(
            title=TITLE, sidebar=[self.sidebar()], main=[self.tabs], header=[theme_toggle()],
            sidebar_width=320, header_background="#0072B5",
        )
        self.sync_url()
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
