"""Spreadsheet formula injection in CSV downloads (SPEC §4.11, §7): what a spreadsheet would run gets a quote."""
from __future__ import annotations

import csv
import io
import re

import numpy as np
import pandas as pd
import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401 - options below need the Bokeh backend loaded
import pytest

from novamart_panel.export import is_formula_like, neutralise_cell, safe_csv, with_units
from novamart_panel.views.base import charts_html


@pytest.mark.parametrize("text", [
    "=SUM(A1:A9)", "+1+1", "-2+3", "@SUM(A1)", "=cmd|' /C calc'!A0",
    " =1+1", "  =1+1", "\t=1+1", "\u00a0=1+1", "\u3000=1+1",          # blanks a spreadsheet skips
    "＝1+1", "＋1", "－1", "＠SUM(A1)", " ＝1",                          # full-width forms
    "\r=1", "\n=1", "\tplain", "\rplain",                              # control characters first
    "-", "+", "=",
])
def test_formula_like_text_is_quoted(text):
    assert is_formula_like(text)
    assert neutralise_cell(text) == "'" + text


@pytest.mark.parametrize("text", [
    "Email", "Home & Living", "", " ", "Q1 2023", "a=b", "x-y", "CMP_1000", "₹4.15 Cr",
    "-40", "-40.5", "+12", "+1.5e3", "-.5", " -40",                   # numbers stay numbers
])
def test_ordinary_text_and_numbers_are_unchanged(text):
    assert not is_formula_like(text)
    assert neutralise_cell(text) == text


def test_non_text_values_are_unchanged():
    for value in (-40, -40.5, 3, None, np.nan):
        assert neutralise_cell(value) is value


def test_safe_csv_quotes_values_and_headers_and_keeps_numbers():
    frame = pd.DataFrame({"=name": ["=HYPERLINK(\"http://x\")", " +A1", "Email", "-7"],
                          "spend": [-40.5, 1.0, 2.0, 3.0]})
    rows = list(csv.reader(io.StringIO(safe_csv(frame))))
    assert rows[0] == ["'=name", "spend"]
    assert [row[0] for row in rows[1:]] == ["'=HYPERLINK(\"http://x\")", "' +A1", "Email", "-7"]
    assert [float(row[1]) for row in rows[1:]] == [-40.5, 1.0, 2.0, 3.0]


def test_safe_csv_quotes_pandas_string_columns():
    frame = pd.DataFrame({"name": pd.array(["＝1+1", "ok"], dtype="string")})
    assert list(csv.reader(io.StringIO(safe_csv(frame))))[1:] == [["'＝1+1"], ["ok"]]


# -- units in CSV headers ------------------------------------------------------------------------------
def test_ratio_columns_carry_their_unit_and_the_screens_numbers():
    frame = pd.DataFrame({"channel": ["Email"], "clicks": [52], "ctr": [0.052], "cvr": [0.25], "roas": [3.5],
                          "cpa": [400.0], "share": [0.4]})
    out = with_units(frame)
    assert list(out.columns) == ["channel", "clicks", "CTR (%)", "CVR (%)", "ROAS (revenue per INR spent)",
                                 "CPA (INR)", "share"]
    assert out.loc[0, ["CTR (%)", "CVR (%)", "ROAS (revenue per INR spent)", "CPA (INR)"]].tolist() == \
        pytest.approx([5.2, 25.0, 3.5, 400.0])
    assert frame["ctr"].tolist() == [0.052]                   # the caller's frame is left as it was
    assert with_units(out).equals(out)                        # labelling twice changes nothing


# -- saved HTML opens offline ----------------------------------------------------------------------------
REMOTE_RESOURCE = re.compile(
    r"""<(?:script|link|img|iframe|source)\b[^>]*\s(?:src|href)\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|url\(\s*["']?\s*(?:https?:)?//|@import\s+["']?(?:url\()?\s*["']?(?:https?:)?//""", re.I)


def remote_resources(page: str) -> list[str]:
    """Every reference in `page` that makes a browser fetch something from another machine."""
    return REMOTE_RESOURCE.findall(page)


def test_the_remote_resource_check_can_fail():
    for page in ('<script src="https://cdn.bokeh.org/bokeh.js"></script>',
                 "<link rel=stylesheet href='https://cdn.holoviz.org/panel/1.10/bundled/theme.css'>",
                 '<script type="text/javascript" src="//cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js">',
                 '<style>body { background: url( "https://x.example/a.png") }</style>',
                 '<style>@import url("https://fonts.googleapis.com/css");</style>'):
        assert remote_resources(page), page
    assert not remote_resources('<script>var a = "see https://github.com/bokeh";</script><a href="#x">x</a>')


def test_saved_charts_load_nothing_from_a_cdn():
    curve = hv.Curve(pd.DataFrame({"x": [1, 2, 3], "y": [2.0, 1.0, 3.0]}), "x", "y").opts(tools=["hover"],
                                                                                          responsive=True)
    bars = hv.Bars(pd.DataFrame({"k": ["a", "b"], "v": [1.0, 2.0]}), "k", "v").opts(title="$$x$$ Bars")
    page = charts_html([curve, bars], "charts")
    assert page.lstrip().startswith("<!DOCTYPE html>")
    assert remote_resources(page) == []
    # No Panel stylesheet or module shim; BokehJS's own code names a MathJax CDN for TeX labels, but its default
    # provider is the inline bundle, so that address is never requested.
    assert "cdn.holoviz.org" not in page and "panel.min.js" not in page and "static/extensions" not in page
    assert "<!-- MathJax" not in page and not re.search(r"<script[^>]*mathjax", page, re.I)
    assert page.count("data-root-id") == 2                       # both charts, BokehJS inline
    assert max(map(len, re.findall(r"<script[^>]*>(.*?)</script>", page, re.S))) > 500_000
