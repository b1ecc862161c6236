"""Exports that are safe to open in a spreadsheet."""
from __future__ import annotations

import io
import re

import pandas as pd

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
