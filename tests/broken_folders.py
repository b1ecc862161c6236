"""A corpus of broken data folders: copies of the reference CSVs with one problem injected each.

Tests import it (`from broken_folders import CASES, make_folder`); `tests/` is on sys.path because
tests/conftest.py lives there. Row numbers count data rows from 1, as the validation report does.
"""
from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

HOSTILE_TEXT = 'Say "hi"; DROP TABLE campaigns; -- ₹ नमस्ते 😀 =SUM(A1) @cmd'


SHORT = 300  # data rows kept per file in the corpus: enough for every injected row, quick to load


def copy_folder(source: Path, target: Path, max_rows: int | None = None) -> Path:
    """A writable copy of every CSV of `source` in `target`, optionally cut to its first `max_rows` rows."""
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.csv")):
        if max_rows is None:
            shutil.copyfile(path, target / path.name)
        else:  # the reference files have no line breaks inside fields, so lines are rows
            with open(path, encoding="utf-8") as handle:
                lines = [line for _, line in zip(range(max_rows + 1), handle)]
            (target / path.name).write_text("".join(lines), encoding="utf-8")
    return target


def read_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def set_cell(folder: Path, filename: str, row: int, column: str, value: str) -> None:
    """Write `value` into data row `row` (1-based) of `column`."""
    rows = read_rows(folder / filename)
    rows[row][rows[0].index(column)] = value
    write_rows(folder / filename, rows)


def cell(folder: Path, filename: str, row: int, column: str) -> str:
    rows = read_rows(folder / filename)
    return rows[row][rows[0].index(column)]


def replace_line(folder: Path, filename: str, row: int, edit: Callable[[str], str]) -> None:
    """Edit the raw text of data row `row` (for malformed rows the csv module would not write)."""
    path = folder / filename
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[row] = edit(lines[row].rstrip("\n")) + "\n"
    path.write_text("".join(lines), encoding="utf-8")


def drop_column(folder: Path, filename: str, column: str) -> None:
    rows = read_rows(folder / filename)
    index = rows[0].index(column)
    write_rows(folder / filename, [r[:index] + r[index + 1:] for r in rows])


def add_column(folder: Path, filename: str, column: str, value: str) -> None:
    rows = read_rows(folder / filename)
    write_rows(folder / filename, [rows[0] + [column]] + [r + [value] for r in rows[1:]])


def duplicate_row(folder: Path, filename: str, source_row: int, at_row: int) -> None:
    """Insert a copy of data row `source_row` so that it becomes data row `at_row`."""
    rows = read_rows(folder / filename)
    rows.insert(at_row, list(rows[source_row]))
    write_rows(folder / filename, rows)


@dataclass(frozen=True)
class Case:
    """One injected problem and where the report must find it."""

    inject: Callable[[Path], None]
    file: str
    table: str
    check: str
    column: str | None = None
    row: int | None = None
    usable: bool = True        # whether the broken table still loads (bad cells become empty)
    says: str = ""             # a phrase the message must contain


def _bytes(filename: str, data: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / filename).write_bytes(data)


def _invalid_utf8(folder: Path) -> None:
    path = folder / "funnel_data.csv"
    path.write_bytes(path.read_bytes().replace(b"Interest", b"Int\xe9r\xeat"))


CASES: dict[str, Case] = {
    "missing required file": Case(lambda f: (f / "customer_data.csv").unlink(), "customer_data.csv",
                                  "customers", "files", usable=False, says="required file is missing"),
    "missing column": Case(lambda f: drop_column(f, "campaign_performance.csv", "spend"),
                           "campaign_performance.csv", "campaigns", "columns", column="spend", usable=False,
                           says="column is missing"),
    "extra column": Case(lambda f: add_column(f, "funnel_data.csv", "notes", "x"), "funnel_data.csv", "funnel",
                         "columns", column="notes", says="not in the contract"),
    "text in a number column": Case(lambda f: set_cell(f, "campaign_performance.csv", 7, "spend", "abc"),
                                    "campaign_performance.csv", "campaigns", "types", column="spend", row=7,
                                    says="'abc'"),
    "impossible date": Case(lambda f: set_cell(f, "campaign_performance.csv", 12, "date", "2023-13-45"),
                            "campaign_performance.csv", "campaigns", "types", column="date", row=12,
                            says="not a date (YYYY-MM-DD)"),
    "day-first date": Case(lambda f: set_cell(f, "campaign_performance.csv", 40, "date", "31/01/2023"),
                           "campaign_performance.csv", "campaigns", "types", column="date", row=40,
                           says="'31/01/2023'"),
    "empty file": Case(_bytes("product_sales.csv", b""), "product_sales.csv", "products", "empty", usable=False,
                       says="no header row"),
    "header only": Case(lambda f: write_rows(f / "lead_scoring_results.csv",
                                             read_rows(f / "lead_scoring_results.csv")[:1]),
                        "lead_scoring_results.csv", "leads", "empty", usable=False, says="no data rows"),
    "negative spend": Case(lambda f: set_cell(f, "campaign_performance.csv", 118, "spend", "-40.0"),
                           "campaign_performance.csv", "campaigns", "range", column="spend", row=118,
                           says="negative"),
    "duplicate key": Case(lambda f: duplicate_row(f, "customer_data.csv", 3, 30), "customer_data.csv",
                          "customers", "duplicates", column="customer_id", row=30, says="rows 3…30"),
    "percentage above 100": Case(lambda f: set_cell(f, "campaign_performance.csv", 20, "ctr", "150"),
                                 "campaign_performance.csv", "campaigns", "range", column="ctr", row=20,
                                 says="0…100"),
    "rate above 1": Case(lambda f: set_cell(f, "customer_data.csv", 44, "email_open_rate", "1.7"),
                         "customer_data.csv", "customers", "range", column="email_open_rate", row=44, says="0…1"),
    "row with too many fields": Case(lambda f: replace_line(f, "geographic_data.csv", 4, lambda s: s + ",x,y"),
                                     "geographic_data.csv", "geography", "parse", row=4, usable=False,
                                     says="14 fields"),
    "unclosed quote": Case(lambda f: replace_line(f, "geographic_data.csv", 6, lambda s: '"' + s),
                           "geographic_data.csv", "geography", "parse", row=6, usable=False,
                           says="cannot be parsed"),
    "row with too few fields": Case(lambda f: replace_line(f, "funnel_data.csv", 3, lambda s: s.split(",")[0]),
                                    "funnel_data.csv", "funnel", "nulls", column="visitors", row=3),
    "infinite number": Case(lambda f: set_cell(f, "campaign_performance.csv", 9, "revenue", "inf"),
                            "campaign_performance.csv", "campaigns", "types", column="revenue", row=9,
                            says="not finite"),
    "not UTF-8": Case(_invalid_utf8, "funnel_data.csv", "funnel", "parse", row=2, usable=False,
                      says="UTF-8"),
    "huge header field": Case(_bytes("learning_curve.csv", b"x" * 200_000 + b"\n1,2\n"), "learning_curve.csv",
                              "learning_curve", "parse", usable=False, says="header row"),
    "correlation cell not a number": Case(lambda f: set_cell(f, "correlation_matrix.csv", 3, "CTR", "high"),
                                          "correlation_matrix.csv", "correlations", "types", column="CTR", row=3),
}


def make_folder(reference_dir: Path, target: Path, case: Case) -> Path:
    """A short copy of the reference folder with `case` injected."""
    folder = copy_folder(reference_dir, target, SHORT)
    case.inject(folder)
    return folder


def matching_issues(report, case: Case) -> list:
    """The errors of `report` that sit exactly where `case` put its problem."""
    return [i for i in report.errors if i.file == case.file and i.check == case.check
            and i.column == case.column and i.row == case.row and case.says in i.message]
