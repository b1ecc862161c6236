"""A data folder made hostile: the packaged CSVs with script and markup payloads in their text columns.

Tests import it (`from hostile import PAYLOADS, make_hostile_folder`); `tests/` is on sys.path because
tests/conftest.py lives there. Every distinct text value of a free-text column becomes a payload followed by
the original value, through one mapping shared by all files: keys stay unique and the joins between files
(customer ids, regions, channels, states) still match, so every file loads and every view has data to show.
Columns whose values the contract restricts, dates and values the code parses (product quarters, journey
ends) keep their text, except where a test asks otherwise.
"""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

from novamart_panel.data.contract import ALL_FILES

# What must never run or load: each sets window.__xss (or fetches from another host) if it gets through.
PAYLOADS = (
    '<img src=x onerror="window.__xss=1">',
    "<script>window.__xss=2</script>",
    "[x](javascript:window.__xss=3)",
    '"><svg onload="window.__xss=4">',
    "javascript:window.__xss=5",
    "![p](http://offsite.invalid/pixel.png)",
    "**bold** `code` | pipe $$x^2$$ &amp; <b>b</b>",
    "'><iframe src=javascript:window.__xss=6>",
)

# Text the app reads as something other than a name: keep it as it is.
KEPT_COLUMNS = {
    ("product_sales.csv", "quarter"),                       # "Q1 2023": parsed for the year and quarter
    ("marketing_campaign.csv", "Dt_Customer"),              # a date in text
}
KEPT_VALUES = {"Purchase", "Exit", ""}                      # journey ends and empty touchpoints


def free_text_columns() -> dict[str, set[str]]:
    """File name → headers of its text columns without allowed values (the correlation index included)."""
    columns: dict[str, set[str]] = {}
    for spec in ALL_FILES:
        columns[spec.filename] = {c.header for c in spec.columns
                                  if c.type == "VARCHAR" and not c.values
                                  and (spec.filename, c.header) not in KEPT_COLUMNS}
    return columns


class HostileNames:
    """One hostile text per original value, the same in every file (so joins keep matching)."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}

    def __call__(self, value: str) -> str:
        if value in KEPT_VALUES:
            return value
        if value not in self._names:
            self._names[value] = f"{PAYLOADS[len(self._names) % len(PAYLOADS)]} {value}"
        return self._names[value]


def make_hostile_folder(source: Path, target: Path) -> Path:
    """Copy `source`'s CSVs into `target` with payloads in every free-text column (and correlation labels)."""
    target.mkdir(parents=True, exist_ok=True)
    hostile = HostileNames()
    free = free_text_columns()
    for path in sorted(source.glob("*.csv")):
        spec = next((s for s in ALL_FILES if s.filename == path.name), None)
        if spec is None:
            shutil.copyfile(path, target / path.name)
            continue
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle, delimiter=spec.delimiter))
        header = rows[0]
        if spec.table == "correlations":
            # Metric names are both the header and the row labels.
            rows = [[hostile(h) if i else h for i, h in enumerate(header)]] + [
                [hostile(row[0])] + row[1:] for row in rows[1:]]
        else:
            chosen = [i for i, h in enumerate(header) if h in free.get(path.name, set())]
            for row in rows[1:]:
                for i in chosen:
                    row[i] = hostile(row[i])
        with open(target / path.name, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle, delimiter=spec.delimiter, lineterminator="\n").writerows(rows)
    return target
