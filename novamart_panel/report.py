"""The insights report (SPEC §4.11): one standalone HTML file with the key figures, the insight sentences
and charts of every built section under the current filters, and the data-quality summary.

Sections are read by convention, so they need no report code of their own: `insight_*` methods (no
arguments) return Markdown, `chart_objects()` (else the `plot_*` methods) return HoloViews objects or Bokeh
models. Whatever cannot be included is listed in the appendix with the reason; the report never fails
because one chart does. Bokeh's resources are inlined, so the file opens offline.
"""
from __future__ import annotations

import datetime as dt
import inspect
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import holoviews as hv
import param
from bokeh.models import Model, Plot, TileRenderer
from markdown_it import MarkdownIt

from .analytics.insights import day
from .export import standalone_html
from .format import escape_html
from .session import shown_folder
from .views.base import Section, kpi_card
from .views.filters import FILTER_LABELS, Filters
from .views.overview import OverviewSection
from .views.sunburst import Sunburst

if TYPE_CHECKING:
    from .app import App

TITLE = "NovaMart marketing insights report"
FILENAME = "novamart_report.html"

# Section params that are plumbing, not settings a reader needs to reproduce the views.
_NOT_SETTINGS = {"name", "store", "filters"}

# Extends Bokeh's page template: our sections in `contents`, each chart placed by its root index.
_TEMPLATE = """
{% from macros import embed %}
{% block postamble %}<style>{{ css }}</style>{% endblock %}
{% block contents %}
<main>
{% for kind, value in parts %}{% if kind == "html" %}{{ value }}{% else %}
<div class="chart">{{ embed(roots[value]) }}</div>{% endif %}{% endfor %}
</main>
{% endblock %}
"""

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; background: #fff;
       line-height: 1.5; height: auto; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 60px; }
h1 { margin-bottom: 4px; } h2 { border-bottom: 2px solid #0072B5; padding-bottom: 4px; margin-top: 40px; }
.meta, .note { color: #57606a; font-size: .92em; }
.kpis { display: flex; flex-wrap: wrap; gap: 12px; }
.insight { border-left: 4px solid #0072B5; padding: 2px 12px; margin: 10px 0; }
.insight p { margin: 6px 0; }
.chart { margin: 18px 0 28px; }
nav ol { columns: 2; }
code { background: #f3f4f6; padding: 0 4px; border-radius: 4px; }
"""


# No raw HTML and no images: the file must neither run nor fetch anything a data value could smuggle in.
_markdown = MarkdownIt("commonmark", {"html": False}).enable("table").disable("image")


@dataclass
class ReportSection:
    """What one section contributes: its insight sentences (Markdown) and its charts (Bokeh models)."""

    section: Section
    insights: list[str] = field(default_factory=list)
    charts: list[Model] = field(default_factory=list)


class _Omissions(list):
    """The appendix: (where, reason) for everything left out."""

    def add(self, where: str, reason: str) -> None:
        self.append((where, reason))

    def failed(self, where: str, exc: Exception) -> None:
        first_line = (str(exc).strip().splitlines() or [""])[0]
        self.add(where, f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__)


def markdown_html(text: str) -> str:
    """Markdown to HTML with raw HTML escaped: values from the data can never become markup."""
    return _markdown.render(text)


def build_report_html(app: App) -> str:
    """The whole report for the app's current data, filters and section settings, as one HTML page."""
    omitted = _Omissions()
    contents = [content for section in app.sections if (content := section_content(section, omitted))]
    charts = [chart for content in contents for chart in content.charts]

    parts = [("html", _header_html(app)), ("html", _key_figures_html(app, omitted)),
             ("html", _contents_html(contents))]
    index = 0
    for content in contents:
        parts.append(("html", _section_html(content)))
        for _ in content.charts:
            parts.append(("chart", index))
            index += 1
    parts.append(("html", _appendix_html(omitted)))

    if not charts:
        # Bokeh needs at least one root; an empty report is still a report.
        return _page_without_charts(parts)
    return standalone_html(charts, TITLE, template=_TEMPLATE, template_variables={"parts": parts, "css": _CSS})


def write_report(out: str | os.PathLike, data_dir: str | os.PathLike | None = None,
                 filters: dict | None = None) -> Path:
    """Write the report for `data_dir` (default: the app's default data) under `filters`
    (Filters param values, e.g. {"channels": ["Email"]}); returns the written path."""
    from .app import App, extension

    extension()  # the same HoloViews/Panel set-up as the served app (charts use `hv.opts` builders)
    if data_dir is not None and not Path(data_dir).expanduser().is_dir():
        raise FileNotFoundError(f"data folder {data_dir} does not exist: pass a folder holding the CSV files")
    app = App(data_dir)
    if filters:
        unknown = sorted(set(filters) - set(FILTER_LABELS))
        if unknown:
            raise ValueError(f"unknown filter(s) {', '.join(unknown)}: use {', '.join(FILTER_LABELS)}")
        app.filters.param.update(**filters)
    path = Path(out).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(build_report_html(app), encoding="utf-8")
    return path


# -- gathering ---------------------------------------------------------------------------------------
def section_content(section: Section, omitted: _Omissions) -> ReportSection | None:
    """The insights and charts of a built section with its data; None (and a note) otherwise."""
    reason = section.unavailable()
    if reason:
        omitted.add(section.title, reason)
        return None
    if type(section).layout is Section.layout:
        omitted.add(section.title, f"not built yet (SPEC §{section.spec_section})")
        return None
    section.catch_up()   # a hidden section may hold the filters of when it was last shown
    content = ReportSection(section)
    for name in _method_names(section, "insight_"):
        where = f"{section.title} › {name}"
        method = getattr(section, name)
        if not _callable_without_arguments(method) or _annotated_non_text(method):
            continue  # a helper that shares the prefix (e.g. a list the sentences are built from)
        try:
            text = method()
        except Exception as exc:  # noqa: BLE001 - one failing insight must not sink the report
            omitted.failed(where, exc)
            continue
        if not isinstance(text, str):
            omitted.add(where, f"returned {type(text).__name__}, not Markdown text")
        elif text.strip():
            content.insights.append(text)
    for where, obj in _chart_objects(section, omitted):
        try:
            model = _bokeh_model(obj)
        except Exception as exc:  # noqa: BLE001 - one failing chart must not sink the report
            omitted.failed(where, exc)
            continue
        if model is None:
            omitted.add(where, f"a {type(obj).__name__} is not a chart the report can embed")
            continue
        if _drop_tiles(model):
            omitted.add(where, "online map tiles left out: the report must open offline")
        content.charts.append(model)
    return content


def _method_names(section: Section, prefix: str) -> list[str]:
    """Method names with `prefix`, in the order the section's classes define them."""
    names: list[str] = []
    for cls in reversed(type(section).__mro__):
        if issubclass(cls, Section) and cls is not Section:
            names += [n for n in vars(cls) if n.startswith(prefix) and n not in names and callable(vars(cls)[n])]
    return names


def _callable_without_arguments(method) -> bool:
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return False
    return all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters)


def _annotated_non_text(method) -> bool:
    annotation = inspect.signature(method).return_annotation
    return annotation not in (inspect.Signature.empty, str, "str")


def _chart_objects(section: Section, omitted: _Omissions) -> list[tuple[str, object]]:
    """(where, chart) pairs: the section's `chart_objects()` if it has one, else each `plot_*` method;
    then any Bokeh-drawn sunburst the section holds."""
    found: list[tuple[str, object]] = []
    chart_objects = getattr(section, "chart_objects", None)
    listed = False
    if callable(chart_objects):
        try:
            found = [(f"{section.title} › chart {i + 1}", obj) for i, obj in enumerate(chart_objects())]
            listed = True
        except Exception as exc:  # noqa: BLE001
            omitted.failed(f"{section.title} › chart_objects (each plot_* tried instead)", exc)
    if not listed:
        for name in _method_names(section, "plot_"):
            method = getattr(section, name)
            if not _callable_without_arguments(method):
                omitted.add(f"{section.title} › {name}", "needs arguments")
                continue
            try:
                found.append((f"{section.title} › {name}", method()))
            except Exception as exc:  # noqa: BLE001
                omitted.failed(f"{section.title} › {name}", exc)
    for name, value in section.param.values().items():
        if isinstance(value, Sunburst):
            try:
                found.append((f"{section.title} › {name}", value.figure(interactive=False)))
            except Exception as exc:  # noqa: BLE001
                omitted.failed(f"{section.title} › {name}", exc)
    return found


def _bokeh_model(obj) -> Model | None:
    """A Bokeh model for a HoloViews object, a Bokeh model, or a Panel pane holding either."""
    import panel as pn

    if isinstance(obj, (pn.pane.HoloViews, pn.pane.Bokeh)):
        obj = obj.object
    if isinstance(obj, Model):
        return obj
    if isinstance(obj, hv.core.Dimensioned):
        return hv.render(obj, backend="bokeh")
    return None


def _drop_tiles(model: Model) -> bool:
    """Remove web map tile layers (they would fetch from the internet); whether any were removed."""
    removed = False
    for plot in model.select({"type": Plot}):
        tiles = [r for r in plot.renderers if isinstance(r, TileRenderer)]
        if tiles:
            plot.renderers = [r for r in plot.renderers if not isinstance(r, TileRenderer)]
            removed = True
    return removed


# -- HTML --------------------------------------------------------------------------------------------
def _e(value) -> str:
    return escape_html(value)


def _header_html(app: App) -> str:
    generated = dt.datetime.now().astimezone().strftime("%d %b %Y, %H:%M %Z")
    return (f"<h1>{_e(TITLE)}</h1>"
            f'<p class="meta">Generated {_e(generated)} from the data folder <code>{_e(shown_folder(app.store.folder))}</code>. '
            "Every figure and sentence below is computed from that data under the filters listed.</p>"
            f"<h2>Filters in force</h2><ul>{''.join(f'<li>{line}</li>' for line in _filter_lines(app))}</ul>"
            f"<h2>Data quality</h2><ul>{''.join(f'<li>{line}</li>' for line in _quality_lines(app))}</ul>")


def _filter_lines(app: App) -> list[str]:
    state = app.filters.state()
    full = app.filters.full_range
    if state.start and state.end:
        dates = f"{day(state.start)} – {day(state.end)}"
        if full and (state.start, state.end) == tuple(full):
            dates += " (all dates in the data)"
    else:
        dates = "all dates"
    lines = [f"<b>{FILTER_LABELS['date_range']}</b>: {_e(dates)}"]
    for name in ("channels", "regions", "campaign_types"):
        chosen = getattr(state, name)
        lines.append(f"<b>{FILTER_LABELS[name]}</b>: " + (_e(", ".join(chosen)) if chosen else "all"))
    return lines


def _quality_lines(app: App) -> list[str]:
    """One line per file with problems (or that could not be used), else one line saying all is well."""
    report = app.store.report
    first_issue = {}
    for issue in report.issues:
        first_issue.setdefault(issue.file, issue)
    lines = []
    for row in report.summary_frame().itertuples():
        if row.status == "ok" and not row.errors and not row.warnings:
            continue
        line = (f"<b>{_e(row.file)}</b> ({_e(row.kind)}): {_e(row.status)}, {row.rows:,} rows, "
                f"{row.errors} error(s), {row.warnings} warning(s)")
        issue = first_issue.get(row.file)
        if issue is not None:
            line += f" — {_e(issue.message)}"
        lines.append(line)
    files = len(report.files)
    return lines or [f"All {files} files meet the contract ({sum(r.rows for r in report.files.values()):,} rows)."]


def _key_figures_html(app: App, omitted: _Omissions) -> str:
    overview = next((s for s in app.sections if isinstance(s, OverviewSection)), None)
    heading = "<h2>Key figures</h2>"
    if overview is None:
        return heading + '<p class="note">The app has no overview section.</p>'
    if overview.missing_tables:
        message = " ".join(overview.store.missing_message(t) for t in overview.missing_tables)
        return heading + f'<p class="note">{_e(message)}</p>'
    try:
        kpis = overview.kpis()
    except Exception as exc:  # noqa: BLE001
        omitted.failed("Key figures", exc)
        return heading + '<p class="note">The key figures could not be computed (see the appendix).</p>'
    # kpi_card escapes its texts.
    cards = "".join(kpi_card(row.label, row.value_text, row.change_text, row.good, row.caption)
                    for row in kpis.itertuples())
    return heading + f'<div class="note">{markdown_html(overview.kpi_note())}</div><div class="kpis">{cards}</div>'


def _contents_html(contents: list[ReportSection]) -> str:
    items = "".join(f'<li><a href="#{_e(c.section.slug)}">{_e(c.section.title)}</a></li>' for c in contents)
    return f"<h2>Sections</h2><nav><ol>{items}<li><a href=\"#not-included\">Not included</a></li></ol></nav>"


def _section_html(content: ReportSection) -> str:
    section = content.section
    parts = [f'<h2 id="{_e(section.slug)}">{_e(section.title)}</h2>',
             f'<p class="note">{_e(section.filter_note())}</p>']
    settings = _settings(section)
    if settings:
        parts.append(f'<p class="note">Settings changed in the app: {_e(settings)}.</p>')
    parts += [f'<div class="insight">{markdown_html(text)}</div>' for text in content.insights]
    return "".join(parts)


def _settings(section: Section) -> str:
    """The section's own controls that differ from a freshly opened section's, as 'label: value'."""
    try:
        initial = type(section)(store=section.store, filters=Filters(section.store))
    except Exception:  # noqa: BLE001 - the settings line is a courtesy, never a reason to fail
        return ""
    changed = []
    for name, parameter in section.param.objects("existing").items():
        if name in _NOT_SETTINGS or isinstance(parameter, param.ClassSelector):
            continue
        value = getattr(section, name)
        try:
            same = bool(value == getattr(initial, name))
        except (TypeError, ValueError):
            same = False
        if not same:
            shown = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
            changed.append(f"{parameter.label}: {shown or 'none'}")
    return "; ".join(changed)


def _appendix_html(omitted: _Omissions) -> str:
    heading = '<h2 id="not-included">Not included</h2>'
    if not omitted:
        return heading + "<p>Every section, insight and chart of the app is in this report.</p>"
    items = "".join(f"<li><b>{_e(where)}</b>: {_e(reason)}</li>" for where, reason in omitted)
    return heading + f"<ul>{items}</ul>"


def _page_without_charts(parts: list[tuple[str, object]]) -> str:
    body = "".join(value for kind, value in parts if kind == "html")
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(TITLE)}</title>'
            f"<style>{_CSS}</style></head><body><main>{body}</main></body></html>")
