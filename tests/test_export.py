"""Spreadsheet formula injection in CSV downloads (SPEC §4.11, §7): what a spreadsheet would run gets a quote."""
from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest

from novamart_panel.export import is_formula_like, neutralise_cell, safe_csv


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
