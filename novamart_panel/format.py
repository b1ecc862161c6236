"""One formatting module for cards, tables, hovers and insight sentences (SPEC §2).

Money is in rupees with Indian digit grouping and units (₹12.4 L, ₹4.15 Cr); counts carry
thousands separators; rates are percentages. Undefined values (NaN, None, ±inf) print as "n/a".

Escaping (SPEC §7): text that comes from a data file or the URL (channel, campaign, region, state,
product, segment, feature, experiment names, file paths, URL values …) must pass through this module
where it becomes markup:
- `escape_markdown(text)` (or `strong(text)` for a bold name) where it enters a Markdown sentence;
- `escape_html(text)` where it enters HTML (KPI cards, `pn.pane.HTML`, the report).
Markdown panes are made through `views.base.markdown()` / `insight()` / `notice()`, which also render
with raw HTML and MathJax disabled. Bokeh hover values and Tabulator cells escape on their own; hover
*templates* (the second item of a tooltip tuple) must never contain data text.
"""
from __future__ import annotations

import html
import math
import re

NA = "n/a"
LAKH = 1e5
CRORE = 1e7


def _undefined(value) -> bool:
    try:
        return value is None or not math.isfinite(float(value))
    except (TypeError, ValueError):
        return True


def _sig(value: float, digits: int = 3) -> str:
    """`value` to `digits` significant figures (at most 2 decimals), trailing zeros dropped."""
    if value == 0:
        return "0"
    decimals = max(0, min(2, digits - 1 - int(math.floor(math.log10(abs(value))))))
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def indian_grouping(value: float, decimals: int = 0) -> str:
    """12345678 → '1,23,45,678' (the last three digits, then groups of two)."""
    if _undefined(value):
        return NA
    sign = "-" if value < 0 else ""
    text = f"{abs(value):.{decimals}f}"
    whole, _, frac = text.partition(".")
    if len(whole) > 3:
        head, tail = whole[:-3], whole[-3:]
        groups = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        if head:
            groups.insert(0, head)
        whole = ",".join(groups + [tail])
    return sign + whole + (f".{frac}" if frac else "")


def rupees(value, compact: bool = True) -> str:
    """Money: '₹4.15 Cr', '₹12.4 L', '₹8,450' (compact) or '₹1,23,45,678' (full)."""
    if _undefined(value):
        return NA
    value = float(value)
    sign = "-" if value < 0 else ""
    size = abs(value)
    if compact and size >= CRORE:
        return f"{sign}₹{_sig(size / CRORE)} Cr"
    if compact and size >= LAKH:
        return f"{sign}₹{_sig(size / LAKH)} L"
    decimals = 2 if size < 100 and size != int(size) else 0
    return f"{sign}₹{indian_grouping(size, decimals)}"


def count(value) -> str:
    """Counts with thousands separators: '12,345'."""
    if _undefined(value):
        return NA
    return f"{float(value):,.0f}"


def percent(value, decimals: int | None = None, scale: float = 1.0) -> str:
    """A rate as a percentage. `value` is a fraction unless `scale=100` says it already is percent."""
    if _undefined(value):
        return NA
    pct = float(value) * (100.0 / scale)
    if decimals is None:
        decimals = 1 if abs(pct) >= 10 else 2
    return f"{pct:.{decimals}f}%"


def ratio(value, decimals: int = 2, suffix: str = "×") -> str:
    """A multiple such as ROAS: '3.42×'."""
    if _undefined(value):
        return NA
    return f"{float(value):.{decimals}f}{suffix}"


def change(value, decimals: int = 1) -> str:
    """A relative change as a signed percentage: '+12.3%', '−4.0%'."""
    if _undefined(value):
        return NA
    pct = float(value) * 100
    sign = "+" if pct > 0 else ("−" if pct < 0 else "±")
    return f"{sign}{abs(pct):.{decimals}f}%"


def number(value, decimals: int = 2) -> str:
    if _undefined(value):
        return NA
    return f"{float(value):,.{decimals}f}"


FORMATTERS = {"money": rupees, "count": count, "percent": percent, "ratio": ratio, "number": number}


def format_value(value, kind: str) -> str:
    """Format by kind name ('money', 'count', 'percent', 'ratio', 'number')."""
    return FORMATTERS[kind](value)


# Markdown syntax a name could carry: emphasis, code, links/images, raw HTML, tables, strikethrough,
# math. Backslash escapes of ASCII punctuation render as the bare character, so the text reads the same.
_MARKDOWN_INLINE = re.compile(r"([\\`*\[\]<>|~$])")
# `_` only opens or closes emphasis next to a non-word character: keep snake_case names readable.
_MARKDOWN_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
# `&` only when it would start a character reference (`&amp;`, `&#60;`): "Home & Living" stays as it is.
_MARKDOWN_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
# Block syntax at the start of a line: headings, quotes, lists, setext rules, definition lists.
_MARKDOWN_LINE_START = re.compile(r"^(\s*(?:\d{1,9})?)([.)#+\-=:])(?=[\s.)#+\-=:]|$)")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\v\f\x85]+")


def escape_html(text) -> str:
    """`text` (any value, from data or the URL) as HTML text: `<`, `>`, `&` and quotes escaped."""
    return html.escape(str(text), quote=True)


def escape_markdown(text) -> str:
    """`text` (any value, from data or the URL) as literal Markdown text inside a sentence.

    Neutralises raw HTML, links and images, emphasis, code, tables, math and line-start blocks; line
    breaks become spaces so a value can never start a block of its own.
    """
    text = _LINE_BREAKS.sub(" ", str(text))
    text = _MARKDOWN_INLINE.sub(r"\\\1", text)
    text = _MARKDOWN_UNDERSCORE.sub(r"\\_", text)
    text = _MARKDOWN_ENTITY.sub(r"\\&", text)
    return _MARKDOWN_LINE_START.sub(r"\1\\\2", text)


def strong(text) -> str:
    """A name from the data in bold Markdown: `**name**` with the name escaped."""
    return f"**{escape_markdown(str(text).strip())}**"
