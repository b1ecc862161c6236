"""What every section shares: the Section base class and the small components sections are built of.

A section is a `pn.viewable.Viewer` holding the store and the shared `Filters`; its data methods
depend on the filters (`FILTER_DEPS`) and its own params, and its layout is built once per session.
"""
from __future__ import annotations

import io
from typing import ClassVar

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.models import CustomJSTickFormatter
from holoviews.plotting.util import process_cmap

from ..data.contract import BY_TABLE, FILTER_COLUMNS
from ..data.store import DataStore
from ..export import safe_csv
from ..format import escape_html
from .filters import FILTER_LABELS, Filters, TextMultiChoice  # noqa: F401 - sections import it from here

FILTER_DEPS = ("filters.date_range", "filters.channels", "filters.regions", "filters.campaign_types")

GOOD, BAD, NEUTRAL = "#1a9850", "#d73027", "#7f7f7f"
DARK_TEXT, LIGHT_TEXT = "#000000", "#ffffff"

# Axis ticks in Indian units; the browser formats ticks, so this mirrors format.rupees in compact form.
RUPEE_TICKS_JS = """
const a = Math.abs(tick), s = tick < 0 ? '-' : '';
if (a >= 1e7) return s + '₹' + (+(a / 1e7).toPrecision(3)) + ' Cr';
if (a >= 1e5) return s + '₹' + (+(a / 1e5).toPrecision(3)) + ' L';
return s + '₹' + a.toLocaleString('en-IN');
"""


def rupee_ticks() -> CustomJSTickFormatter:
    """A fresh tick formatter for money axes (Bokeh models belong to one document, so never shared)."""
    return CustomJSTickFormatter(code=RUPEE_TICKS_JS)


class Section(pn.viewable.Viewer):
    """One tab of the app. Subclasses set `title`, `slug`, `tables` and implement `layout()`."""

    title: ClassVar[str] = ""
    slug: ClassVar[str] = ""
    tables: ClassVar[tuple[str, ...]] = ()   # tables the section cannot work without
    spec_section: ClassVar[str] = ""

    store = param.ClassSelector(class_=DataStore, constant=True)
    filters = param.ClassSelector(class_=Filters, constant=True)

    def __init__(self, **params):
        super().__init__(**params)
        self._layout = None

    def filter_state(self):
        """The global filter values this section's data methods read (depend on `FILTER_DEPS`)."""
        return self.filters.state()

    @property
    def missing_tables(self) -> list[str]:
        return [t for t in self.tables if not self.store.has(t)]

    def unavailable(self) -> str:
        """Why the section cannot show its views with the loaded data ('' when it can): missing files by default."""
        return " ".join(self.store.missing_message(t) for t in self.missing_tables)

    def __panel__(self):
        if self._layout is None:
            reason = self.unavailable()
            self._layout = notice(reason, kind="warning") if reason else self.layout()
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


def csv_download(frame_fn, filename: str, label: str = "Download CSV") -> pn.widgets.FileDownload:
    """A download button that writes `frame_fn()` as spreadsheet-safe CSV when clicked."""

    def payload():
        return io.BytesIO(safe_csv(frame_fn()).encode("utf-8"))

    return pn.widgets.FileDownload(callback=payload, filename=filename, label=label, color="primary",
                                   variant="outline", embed=False, width=220)


def html_download(objects_fn, filename: str, label: str = "Download charts (HTML)") -> pn.widgets.FileDownload:
    """A download button that saves the HoloViews objects `objects_fn()` returns as one standalone HTML page."""

    def payload():
        objects = list(objects_fn())
        page = objects[0] if len(objects) == 1 else hv.Layout(objects).cols(1).opts(shared_axes=False)
        buffer = io.BytesIO()
        # Inline resources: the saved page must open offline, like the app.
        hv.save(page, buffer, fmt="html", backend="bokeh", resources="inline", title=filename)
        buffer.seek(0)
        return buffer

    return pn.widgets.FileDownload(callback=payload, filename=filename, label=label, color="primary",
                                   variant="outline", embed=False, width=220)


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


def markdown(obj="", pane: type[pn.pane.Markdown] = pn.pane.Markdown, **params) -> pn.pane.Markdown:
    """A Markdown pane (or subclass such as `pn.pane.Alert`) that renders no raw HTML, images or math.

    Use it for every Markdown pane; `obj` may be a string or a param-dependent method returning one.
    """
    params.setdefault("sizing_mode", "stretch_width")
    return pane(obj, **{**safe_markdown_options(), **params})


def notice(text: str, kind: str = "info") -> pn.pane.Alert:
    """A sentence to the user: a missing file, a section not built yet, a filter that does not apply."""
    return markdown(text, pane=pn.pane.Alert, alert_type=kind)


def insight(text_fn) -> pn.pane.Markdown:
    """An insight sentence beside a chart; `text_fn` is a param-dependent method returning Markdown."""
    return markdown(text_fn, css_classes=["insight"], styles={"border-left": "4px solid #0072B5",
                                                               "padding-left": "8px"})


def house_opts(element: hv.Element, **options) -> hv.Element:
    """The options every chart shares: responsive, hover, a toolbar that stays out of the way."""
    defaults = dict(responsive=True, height=360, tools=["hover"], active_tools=["wheel_zoom"],
                    toolbar="above", default_tools=["pan", "wheel_zoom", "box_zoom", "reset", "save"])
    defaults.update(options)
    return element.opts(**defaults)


def chart(plot_fn, height: int = 380) -> pn.viewable.Viewable:
    """A reactive chart: `plot_fn` is a param-dependent method, re-rendered when its dependencies change.

    Not a DynamicMap: with HoloViews 1.23 / Bokeh 3.10, a DynamicMap whose frames change length breaks
    the glyph ("Size mismatch" in the browser) at the next resize, e.g. when the sidebar is toggled
    after a filter change. A fresh plot per update also rescales its axes to the new data.
    """
    # linked_axes=False: Panel would otherwise merge categorical axes of unrelated charts in one page.
    return pn.panel(plot_fn, sizing_mode="stretch_width", min_height=height, linked_axes=False)


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


def contrast_labels(frame: pd.DataFrame, kdims: list[str], text: str, font_size: str) -> hv.Overlay:
    """Text in black where `frame.text_color` says black, in white elsewhere: two layers of fixed colour.
    (One layer mapping a colour column breaks in the browser when every row turns the same colour:
    HoloViews then drops the column and Bokeh warns about the missing field.)"""
    on_light = frame["text_color"] == DARK_TEXT
    return hv.Overlay([
        hv.Labels(frame[on_light], kdims, [text]).opts(text_color=DARK_TEXT, text_font_size=font_size),
        hv.Labels(frame[~on_light], kdims, [text]).opts(text_color=LIGHT_TEXT, text_font_size=font_size),
    ])
