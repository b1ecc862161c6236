"""Exports: CSV that is safe to open in a spreadsheet, and HTML pages of charts that open offline."""
from __future__ import annotations

import io
import re

import pandas as pd
from bokeh.document import Document
from bokeh.embed import file_html
from bokeh.resources import Resources

# A cell whose first visible character is one of these is run as a formula by Excel, LibreOffice or
# Google Sheets; spreadsheets skip leading blanks and read full-width forms (＝＋－＠) like ASCII ones.
FORMULA_STARTS = "=+-@＝＋－＠"
# Leading characters a spreadsheet ignores before looking for a formula (ASCII and Unicode blanks).
_LEADING_BLANKS = re.compile(r"^[\s\u00a0\u2000-\u200b\u3000\ufeff]*")
# Text that is just a number (e.g. "-40", "+1.5e3") is read as that number, never as a formula.
_PLAIN_NUMBER = re.compile(r"^[+\-]?(\d+(\.\d*)?|\.\d+)([eE][+\-]?\d+)?$")


def is_formula_like(value: str) -> bool:
    """Whether a spreadsheet could run `value` as a formula (or a DDE command) when the CSV is opened."""
    if not value:
        return False
    if value[0] in "\t\r\n":
        return True
    visible = _LEADING_BLANKS.sub("", value)
    return bool(visible) and visible[0] in FORMULA_STARTS and not _PLAIN_NUMBER.match(visible)


def neutralise_cell(value):
    """Prefix text that a spreadsheet would run as a formula with a single quote."""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def safe_csv(frame: pd.DataFrame) -> str:
    """The frame as CSV text with formula-like text cells (values and headers) neutralised."""
    out = frame.copy()
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralise_cell)
    buffer = io.StringIO()
    out.to_csv(buffer, index=False)
    return buffer.getvalue()


# The campaign ratios of `analytics.metrics.RATIOS` as the screen shows them, unit in the header: rates
# (0–1 fractions in the frames) as percentages, costs in rupees, ROAS as revenue per rupee spent.
RATIO_UNITS = {"ctr": ("CTR (%)", 100.0), "cvr": ("CVR (%)", 100.0), "roas": ("ROAS (revenue per INR spent)", 1.0),
               "cpa": ("CPA (INR)", 1.0), "cpc": ("CPC (INR)", 1.0), "cpm": ("CPM (INR)", 1.0)}


def with_units(frame: pd.DataFrame, units: dict[str, tuple[str, float]] = RATIO_UNITS) -> pd.DataFrame:
    """A copy whose ratio columns carry their unit in the name and hold the screen's numbers (CTR 0.052 →
    "CTR (%)" 5.2). Columns not in `units` are unchanged; a name already taken is left alone."""
    present = {c: units[c] for c in frame.columns if c in units and units[c][0] not in frame.columns}
    out = frame.copy()
    for column, (_, scale) in present.items():
        if scale != 1.0:
            out[column] = pd.to_numeric(out[column], errors="coerce") * scale
    return out.rename(columns={c: name for c, (name, _) in present.items()})


class SelfContainedResources(Resources):
    """Bokeh's inline resources without the script and style URLs other libraries declare on their models
    (Panel's CDN stylesheets, its module shim, relative `static/` paths that fail in a file opened from
    disk): saved charts are plain Bokeh, and every byte they need is in the page."""

    def __init__(self, components=None):
        super().__init__(mode="inline", **({"components": components} if components is not None else {}))

    def clone(self, *, components=None) -> "SelfContainedResources":
        return SelfContainedResources(components if components is not None else list(self.components))

    @property
    def js_files(self) -> list[str]:
        return []

    @property
    def css_files(self) -> list[str]:
        return []


def standalone_html(models, title: str, **file_html_options) -> str:
    """One HTML page holding the Bokeh `models` (one root each) with BokehJS inline: it opens offline and
    requests nothing from any server."""
    document = Document()
    with document.models.freeze():  # one model-graph walk for all roots, not one per root added
        for model in models:
            document.add_root(model)
    return file_html(document, SelfContainedResources(), title=title, suppress_callback_warning=True,
                     **file_html_options)
