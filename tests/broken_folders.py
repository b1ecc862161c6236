"""A corpus of broken data folders: copies of the reference CSVs with one problem injected each.

Tests import it (`from broken_folders import CASES, make_folder`); `tests/` is on sys.path because
tests/conftest.py lives there. Row numbers count data rows from 1, as the validation report does.
"""
from __future__ import annotations

import csv
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

HOSTILE_TEXT = 'Say "hi"; DROP TABLE campaigns; -- ₹ नमस्ते 😀 =SUM(A1) @cmd'


SHORT = 300  # data rows kept per file in the corpus: enough for every injected row, quick to load
PACKAGED = Path(__file__).resolve().parents[1] / "data"


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


def read_rows(path: Path, delimiter: str = ",") -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle, delimiter=delimiter))


def write_rows(path: Path, rows: list[list[str]], delimiter: str = ",", quoting: int = csv.QUOTE_MINIMAL,
               terminator: str = "\n") -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter=delimiter, quoting=quoting, lineterminator=terminator).writerows(rows)


def set_cell(folder: Path, filename: str, row: int, column: str, value: str) -> None:
    """Write `value` into data row `row` (1-based) of `column`."""
    rows = read_rows(folder / filename)
    rows[row][rows[0].index(column)] = value
    write_rows(folder / filename, rows)


def set_column(folder: Path, filename: str, column: str, value: Callable[[list[str], dict], str],
               rows_wanted: Callable[[int], bool] = lambda row: True, **writer) -> None:
    """Set `column` of the data rows that `rows_wanted(row)` picks to `value(row_fields, header_index)`."""
    rows = read_rows(folder / filename)
    index = {name: i for i, name in enumerate(rows[0])}
    for number, fields in enumerate(rows[1:], start=1):
        if rows_wanted(number):
            fields[index[column]] = value(fields, index)
    write_rows(folder / filename, rows, **writer)


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


def keep_rows(folder: Path, filename: str, count: int) -> None:
    """Keep the header and the first `count` data rows."""
    write_rows(folder / filename, read_rows(folder / filename)[:count + 1])


def rewrite(folder: Path, filename: str, **writer) -> None:
    """Write a file again with other CSV settings (delimiter, quoting, line ends)."""
    write_rows(folder / filename, read_rows(folder / filename), **writer)


def from_packaged(filename: str, edit: Callable[[Path], None] | None = None) -> Callable[[Path], None]:
    """Add an optional file from the packaged data (the reference folder has none), then `edit` the folder."""
    def inject(folder: Path) -> None:
        lines = (PACKAGED / filename).read_text(encoding="utf-8").splitlines(keepends=True)
        (folder / filename).write_text("".join(lines[:SHORT + 1]), encoding="utf-8")
        if edit:
            edit(folder)
    return inject


def day_first(fields, index, column="date") -> str:
    year, month, day = fields[index[column]].split("-")
    return f"{day}/{month}/{year}"


def month_first(fields, index) -> str:
    year, month, day = fields[index["date"]].split("-")
    return f"{month}/{day}/{year}"


@dataclass(frozen=True)
class Case:
    """One injected problem, where the report must find it, and what the app must still do.

    `severity` None marks a file that is unusual but valid: it must load exactly, without an issue
    (`verify(store, folder)` checks what it loaded). `view_bug` names a view that crashes on the case
    (the test is then an expected failure until that view is fixed).
    """

    inject: Callable[[Path], None]
    file: str
    table: str
    check: str | None = None
    column: str | None = None
    row: int | None = None
    usable: bool = True        # whether the broken table still loads (bad cells become empty)
    says: str = ""             # a phrase the message must contain
    severity: str | None = "error"
    verify: Callable | None = None
    view_bug: str = ""


def _bytes(filename: str, data: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / filename).write_bytes(data)


def _invalid_utf8(folder: Path) -> None:
    path = folder / "funnel_data.csv"
    path.write_bytes(path.read_bytes().replace(b"Interest", b"Int\xe9r\xeat"))


def _replace_with(filename: str, make: Callable[[Path], None]) -> Callable[[Path], None]:
    def inject(folder: Path) -> None:
        (folder / filename).unlink()
        make(folder / filename)
    return inject


def _campaign_names_load_exactly(store, folder) -> None:
    """The campaign names in DuckDB are the ones Python's csv module reads, row for row."""
    names = [row[2] for row in read_rows(folder / "campaign_performance.csv")[1:]]
    loaded = store.query("SELECT campaign_name FROM campaigns ORDER BY rowid")["campaign_name"].tolist()
    assert loaded == names
    assert store.query("SELECT count(*) AS n FROM campaigns WHERE spend IS NULL OR date IS NULL")["n"].iloc[0] == 0


def _no_dates(store, folder) -> None:
    from novamart_panel.data.queries import date_bounds

    assert date_bounds(store) is None


def _swap_columns(filename: str, first: str, second: str) -> Callable[[Path], None]:
    def inject(folder: Path) -> None:
        rows = read_rows(folder / filename)
        i, j = rows[0].index(first), rows[0].index(second)
        for fields in rows:
            fields[i], fields[j] = fields[j], fields[i]
        write_rows(folder / filename, rows)
    return inject


def _rename_column(filename: str, old: str, new: str) -> Callable[[Path], None]:
    def inject(folder: Path) -> None:
        rows = read_rows(folder / filename)
        rows[0][rows[0].index(old)] = new
        write_rows(folder / filename, rows)
    return inject


def _quiet_campaigns(columns: tuple[str, ...]) -> Callable[[Path], None]:
    """Every campaign row with 0 in `columns` (and its derived ratios 0, as the files store them)."""
    def inject(folder: Path) -> None:
        for column in columns:
            set_column(folder, "campaign_performance.csv", column, lambda f, i: "0")
        derived = {"impressions": ("ctr",), "clicks": ("ctr", "conversion_rate", "cpc"),
                   "conversions": ("conversion_rate", "cpa"), "spend": ("cpc", "cpa", "roas"), "revenue": ("roas",)}
        for column in sorted({d for c in columns for d in derived[c]}):
            set_column(folder, "campaign_performance.csv", column, lambda f, i: "0.0")
    return inject


CAMPAIGNS_CSV, CUSTOMERS_CSV, LEADS_CSV = "campaign_performance.csv", "customer_data.csv", "lead_scoring_results.csv"
CORRELATIONS_CSV, FUNNEL_CSV, GEOGRAPHY_CSV = "correlation_matrix.csv", "funnel_data.csv", "geographic_data.csv"
MARKUP = '<img src=x onerror="alert(1)"><script>alert(2)</script>'

CASES: dict[str, Case] = {
    # -- files that are missing, empty or not CSV at all
    "missing required file": Case(lambda f: (f / CUSTOMERS_CSV).unlink(), CUSTOMERS_CSV,
                                  "customers", "files", usable=False, says="required file is missing"),
    "empty file": Case(_bytes("product_sales.csv", b""), "product_sales.csv", "products", "empty", usable=False,
                       says="no header row"),
    "blank lines only": Case(_bytes("product_sales.csv", b"  \n\n \n"), "product_sales.csv", "products", "empty",
                             usable=False, says="no header row"),
    "header only": Case(lambda f: keep_rows(f, LEADS_CSV, 0), LEADS_CSV, "leads", "empty", usable=False,
                        says="no data rows"),
    "folder in place of a file": Case(_replace_with(FUNNEL_CSV, lambda p: p.mkdir()), FUNNEL_CSV, "funnel", "files",
                                      usable=False, says="is a folder, not a file"),
    "symbolic link loop": Case(_replace_with(FUNNEL_CSV, lambda p: p.symlink_to(p.name)), FUNNEL_CSV, "funnel",
                               "files", usable=False, says="symbolic link that loops"),
    "dangling symbolic link": Case(_replace_with(FUNNEL_CSV, lambda p: p.symlink_to("gone.csv")), FUNNEL_CSV,
                                   "funnel", "files", usable=False, says="gone.csv, which does not exist"),
    "named pipe": Case(_replace_with(FUNNEL_CSV, lambda p: os.mkfifo(p)), FUNNEL_CSV, "funnel", "files",
                       usable=False, says="not a regular file"),
    "binary file": Case(_bytes(FUNNEL_CSV, bytes(range(256)) * 64), FUNNEL_CSV, "funnel", "parse", usable=False,
                        says="it looks binary"),
    "Excel workbook": Case(_bytes("product_sales.csv", b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 400),
                           "product_sales.csv", "products", "parse", usable=False, says="Excel workbook (.xlsx)"),
    "UTF-16 text": Case(lambda f: (f / FUNNEL_CSV).write_bytes((f / FUNNEL_CSV).read_text().encode("utf-16")),
                        FUNNEL_CSV, "funnel", "parse", usable=False, says="UTF-16 encoded"),
    "not UTF-8": Case(_invalid_utf8, FUNNEL_CSV, "funnel", "parse", row=2, usable=False, says="UTF-8"),
    "huge header field": Case(_bytes("learning_curve.csv", b"x" * 200_000 + b"\n1,2\n"), "learning_curve.csv",
                              "learning_curve", "parse", usable=False, says="header row"),
    # -- the wrong dialect or shape
    "semicolon delimiter": Case(lambda f: rewrite(f, CAMPAIGNS_CSV, delimiter=";"), CAMPAIGNS_CSV, "campaigns",
                                "parse", usable=False, says="uses ';' as delimiter, not ','"),
    "tab delimiter": Case(lambda f: rewrite(f, GEOGRAPHY_CSV, delimiter="\t"), GEOGRAPHY_CSV, "geography", "parse",
                          usable=False, says="uses tab as delimiter"),
    "comma-separated CRM export": Case(from_packaged("marketing_campaign.csv", lambda f: write_rows(
        f / "marketing_campaign.csv", read_rows(f / "marketing_campaign.csv", delimiter="\t"))),
        "marketing_campaign.csv", "marketing_campaign", "parse", usable=False, says="uses ',' as delimiter, not tab"),
    "missing column": Case(lambda f: drop_column(f, CAMPAIGNS_CSV, "spend"), CAMPAIGNS_CSV, "campaigns", "columns",
                           column="spend", usable=False, says="column is missing"),
    "column twice": Case(_rename_column(CAMPAIGNS_CSV, "revenue", "spend"), CAMPAIGNS_CSV, "campaigns", "columns",
                         column="spend", usable=False, says="appears twice"),
    "extra column": Case(lambda f: add_column(f, FUNNEL_CSV, "notes", "x"), FUNNEL_CSV, "funnel", "columns",
                         column="notes", says="not in the contract (it is ignored)", severity="warning"),
    "formula-like extra column": Case(lambda f: add_column(f, FUNNEL_CSV, '=HYPERLINK("http://x")', "1"), FUNNEL_CSV,
                                      "funnel", "columns", column='=HYPERLINK("http://x")', says="it is ignored",
                                      severity="warning"),
    "columns out of order": Case(_swap_columns(FUNNEL_CSV, "visitors", "conversion_rate"), FUNNEL_CSV, "funnel",
                                 "columns", says="out of order", severity="warning"),
    "row with too many fields": Case(lambda f: replace_line(f, GEOGRAPHY_CSV, 4, lambda s: s + ",x,y"),
                                     GEOGRAPHY_CSV, "geography", "parse", row=4, usable=False, says="14 fields"),
    "row with too few fields": Case(lambda f: replace_line(f, FUNNEL_CSV, 3, lambda s: s.split(",")[0]),
                                    FUNNEL_CSV, "funnel", "nulls", column="visitors", row=3),
    "unclosed quote": Case(lambda f: replace_line(f, GEOGRAPHY_CSV, 6, lambda s: '"' + s), GEOGRAPHY_CSV,
                           "geography", "parse", row=6, usable=False, says="a quote that is never closed"),
    "unquoted carriage return": Case(lambda f: replace_line(f, CAMPAIGNS_CSV, 5, lambda s: s.replace(
        " - ", " -\r ", 1)), CAMPAIGNS_CSV, "campaigns", "parse", row=5, usable=False, says="carriage return (\\r)"),
    # -- RFC 4180 files that must load exactly (quoted commas, quotes, CR, LF, CRLF)
    "quoted line break in a name": Case(lambda f: set_cell(f, CAMPAIGNS_CSV, 5, "campaign_name", "Diwali\nSale"),
                                        CAMPAIGNS_CSV, "campaigns", severity=None, verify=_campaign_names_load_exactly),
    "one quoted carriage return": Case(lambda f: replace_line(f, CAMPAIGNS_CSV, 7, lambda s: s.replace(
        s.split(",")[2], '"Sale\rPromo"', 1)), CAMPAIGNS_CSV, "campaigns", severity=None,
        verify=_campaign_names_load_exactly),
    "quoted carriage returns among quoted cells": Case(
        lambda f: set_column(f, CAMPAIGNS_CSV, "campaign_name", lambda r, i: r[i["campaign_name"]].replace(" - ", "\r", 1),
                             lambda row: row % 7 == 1, quoting=csv.QUOTE_ALL),
        CAMPAIGNS_CSV, "campaigns", severity=None, verify=_campaign_names_load_exactly),
    "CRLF line ends with a quoted CRLF": Case(
        lambda f: set_column(f, CAMPAIGNS_CSV, "campaign_name", lambda r, i: r[i["campaign_name"]] + "\r\n(2nd run)",
                             lambda row: row % 11 == 3, terminator="\r\n"),
        CAMPAIGNS_CSV, "campaigns", severity=None, verify=_campaign_names_load_exactly),
    "quoted commas and quotes": Case(lambda f: set_cell(f, CAMPAIGNS_CSV, 9, "campaign_name", 'Sale, "Big" Day,'),
                                     CAMPAIGNS_CSV, "campaigns", severity=None, verify=_campaign_names_load_exactly),
    "byte-order mark and CRLF": Case(lambda f: (f / CAMPAIGNS_CSV).write_bytes(b"\xef\xbb\xbf" + (
        f / CAMPAIGNS_CSV).read_bytes().replace(b"\n", b"\r\n")), CAMPAIGNS_CSV, "campaigns", severity=None,
        verify=_campaign_names_load_exactly),
    # -- values of the wrong type
    "text in a number column": Case(lambda f: set_cell(f, CAMPAIGNS_CSV, 7, "spend", "abc"), CAMPAIGNS_CSV, "campaigns",
                                    "types", column="spend", row=7, says="'abc'"),
    "thousands separator": Case(lambda f: set_cell(f, CAMPAIGNS_CSV, 8, "revenue", "1,234.50"), CAMPAIGNS_CSV,
                                "campaigns", "types", column="revenue", row=8, says="'1,234.50'"),
    "impossible date": Case(lambda f: set_cell(f, CAMPAIGNS_CSV, 12, "date", "2023-13-45"), CAMPAIGNS_CSV,
                            "campaigns", "types", column="date", row=12, says="not a date (YYYY-MM-DD)"),
    "day-first date": Case(lambda f: set_cell(f, CAMPAIGNS_CSV, 40, "date", "31/01/2023"), CAMPAIGNS_CSV, "campaigns",
                           "types", column="date", row=40, says="'31/01/2023'"),
    "every date day-first": Case(lambda f: set_column(f, CAMPAIGNS_CSV, "date", day_first), CAMPAIGNS_CSV, "campaigns",
                                 "types", column="date", row=1, verify=_no_dates,
                                 says="dates look day-first (31/12/2024); write YYYY-MM-DD"),
    "every date month-first": Case(lambda f: set_column(f, CAMPAIGNS_CSV, "date", month_first), CAMPAIGNS_CSV,
                                   "campaigns", "types", column="date", row=1, verify=_no_dates,
                                   says="dates look month-first (12/31/2024); write YYYY-MM-DD"),
    "day-first order dates": Case(from_packaged("orders.csv", lambda f: set_column(
        f, "orders.csv", "order_date", lambda r, i: day_first(r, i, "order_date"))), "orders.csv", "orders", "types",
        column="order_date", row=1, says="dates look day-first"),
    "infinite number": Case(lambda f: set_cell(f, CAMPAIGNS_CSV, 9, "revenue", "inf"), CAMPAIGNS_CSV, "campaigns",
                            "types", column="revenue", row=9, says="not finite"),
    "spend of 1e308": Case(lambda f: set_cell(f, CAMPAIGNS_CSV, 15, "spend", "1e308"), CAMPAIGNS_CSV, "campaigns",
                           "types", column="spend", row=15, says="implausibly large"),
    "correlation cell not a number": Case(lambda f: set_cell(f, CORRELATIONS_CSV, 3, "CTR", "high"), CORRELATIONS_CSV,
                                          "correlations", "types", column="CTR", row=3),
    # -- values out of range or inconsistent
    "negative spend": Case(lambda f: set_cell(f, CAMPAIGNS_CSV, 118, "spend", "-40.0"), CAMPAIGNS_CSV, "campaigns",
                           "range", column="spend", row=118, says="negative"),
    "percentage above 100": Case(lambda f: set_cell(f, CAMPAIGNS_CSV, 20, "ctr", "150"), CAMPAIGNS_CSV, "campaigns",
                                 "range", column="ctr", row=20, says="0…100"),
    "rate above 1": Case(lambda f: set_cell(f, CUSTOMERS_CSV, 44, "email_open_rate", "1.7"), CUSTOMERS_CSV,
                         "customers", "range", column="email_open_rate", row=44, says="0…1"),
    "age of 150": Case(lambda f: set_cell(f, CUSTOMERS_CSV, 45, "age", "150"), CUSTOMERS_CSV, "customers", "range",
                       column="age", row=45, says="0…120"),
    "probability above 1": Case(lambda f: set_cell(f, LEADS_CSV, 46, "predicted_probability", "1.5"), LEADS_CSV,
                                "leads", "range", column="predicted_probability", row=46, says="0…1"),
    "latitude beyond the pole": Case(lambda f: set_cell(f, GEOGRAPHY_CSV, 2, "latitude", "95"), GEOGRAPHY_CSV,
                                     "geography", "range", column="latitude", row=2, says="-90…90"),
    "date in 1900": Case(lambda f: set_cell(f, CAMPAIGNS_CSV, 10, "date", "1900-01-01"), CAMPAIGNS_CSV, "campaigns",
                         "range", column="date", row=10, says="row 10: 1900-01-01): a placeholder or a typo?"),
    "date in 2099": Case(lambda f: set_cell(f, CAMPAIGNS_CSV, 11, "date", "2099-12-31"), CAMPAIGNS_CSV, "campaigns",
                         "range", column="date", row=11, says="plausible range 2000-01-01…"),
    "unknown segment": Case(lambda f: set_cell(f, CUSTOMERS_CSV, 12, "customer_segment", "VIP"), CUSTOMERS_CSV,
                            "customers", "values", column="customer_segment", row=12, says="'VIP'"),
    "quarter Q5": Case(lambda f: set_cell(f, CAMPAIGNS_CSV, 13, "quarter", "Q5"), CAMPAIGNS_CSV, "campaigns", "values",
                       column="quarter", row=13, says="allowed: Q1, Q2, Q3, Q4"),
    "empty channel cells": Case(lambda f: set_column(f, CAMPAIGNS_CSV, "channel", lambda r, i: "",
                                                     lambda row: 3 <= row <= 5), CAMPAIGNS_CSV, "campaigns", "nulls",
                                column="channel", row=3, says="3 empty value(s) (rows 3, 4, 5)"),
    "journey without a first touchpoint": Case(lambda f: set_cell(f, "customer_journey.csv", 2, "touchpoint_1", ""),
                                               "customer_journey.csv", "journeys", "nulls", column="touchpoint_1",
                                               row=2),
    "duplicate key": Case(lambda f: duplicate_row(f, CUSTOMERS_CSV, 3, 30), CUSTOMERS_CSV, "customers", "duplicates",
                          column="customer_id", row=30, says="rows 3…30"),
    "clicks above impressions": Case(lambda f: set_column(
        f, CAMPAIGNS_CSV, "clicks", lambda r, i: str(int(r[i["impressions"]]) + 100), lambda row: row == 30),
        CAMPAIGNS_CSV, "campaigns", "consistency", column="clicks", row=30, says="more clicks than impressions"),
    "conversions above clicks": Case(lambda f: set_column(
        f, CAMPAIGNS_CSV, "conversions", lambda r, i: str(int(r[i["clicks"]]) + 5), lambda row: row == 31),
        CAMPAIGNS_CSV, "campaigns", "consistency", column="conversions", row=31, severity="warning",
        says="more conversions than clicks"),
    "leads of one class": Case(lambda f: set_column(f, LEADS_CSV, "actual_converted", lambda r, i: "1"), LEADS_CSV,
                               "leads", "values", column="actual_converted", severity="warning",
                               says="same actual_converted (1): with one class ROC, AUC"),
    "negative experiment visitors": Case(from_packaged("ab_test_results.csv", lambda f: set_cell(
        f, "ab_test_results.csv", 2, "visitors", "-5")), "ab_test_results.csv", "ab_tests", "range", column="visitors",
        row=2, says="negative"),
    # -- the correlation matrix
    "duplicate correlation label": Case(_rename_column(CORRELATIONS_CSV, "ROAS", "CTR"), CORRELATIONS_CSV, "correlations", "columns", column="CTR",
                                        usable=False, says="metric label appears 2 times in the header (columns 5, 8)"),
    "correlation matrix not square": Case(lambda f: keep_rows(f, CORRELATIONS_CSV, 9), CORRELATIONS_CSV,
                                          "correlations", "shape", says="not square: 10 metric columns and 9 rows"),
    "correlation above 1": Case(lambda f: set_cell(f, CORRELATIONS_CSV, 2, "Revenue", "1.5"), CORRELATIONS_CSV,
                                "correlations", "range", column="Revenue", row=2, says="outside -1…1"),
    "correlation matrix not symmetric": Case(lambda f: set_cell(f, CORRELATIONS_CSV, 2, "Clicks", "0.11"),
                                             CORRELATIONS_CSV, "correlations", "shape", severity="warning",
                                             says="not symmetric: 1 pair(s)"),
    # -- valid files the views must survive
    "every impression 0": Case(_quiet_campaigns(("impressions",)), CAMPAIGNS_CSV, "campaigns", "consistency",
                               column="clicks", row=1, says="more clicks than impressions"),
    "no activity at all": Case(_quiet_campaigns(("impressions", "clicks", "conversions", "spend", "revenue")),
                               CAMPAIGNS_CSV, "campaigns", severity=None),
    "no spend anywhere": Case(_quiet_campaigns(("spend",)), CAMPAIGNS_CSV, "campaigns", severity=None),
    "a single campaign row": Case(lambda f: keep_rows(f, CAMPAIGNS_CSV, 1), CAMPAIGNS_CSV, "campaigns", severity=None),
    "one customer": Case(lambda f: keep_rows(f, CUSTOMERS_CSV, 1), CUSTOMERS_CSV, "customers", severity=None),
    "markup in names": Case(lambda f: (set_column(f, CAMPAIGNS_CSV, "channel", lambda r, i: MARKUP, lambda row: row < 40),
                                       set_cell(f, CUSTOMERS_CSV, 3, "acquisition_channel", MARKUP)),
                            CAMPAIGNS_CSV, "campaigns", severity=None),
    "hostile text in names": Case(lambda f: (set_cell(f, CAMPAIGNS_CSV, 5, "campaign_name", HOSTILE_TEXT),
                                             set_cell(f, GEOGRAPHY_CSV, 3, "state", HOSTILE_TEXT)),
                                  CAMPAIGNS_CSV, "campaigns", severity=None, verify=_campaign_names_load_exactly),
}


def make_folder(reference_dir: Path, target: Path, case: Case) -> Path:
    """A short copy of the reference folder with `case` injected."""
    folder = copy_folder(reference_dir, target, SHORT)
    case.inject(folder)
    return folder


def matching_issues(report, case: Case) -> list:
    """The issues of `report` of the case's severity that sit exactly where `case` put its problem."""
    return [i for i in report.issues if i.severity == case.severity and i.file == case.file and i.check == case.check
            and i.column == case.column and i.row == case.row and case.says in i.message]
