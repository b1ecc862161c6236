"""Checks of a data folder against the contract: what is wrong, in which file, column and row.

The store calls these while loading; `novamart-panel validate DIR` and the Data Quality tab show the
resulting `ValidationReport`. Row numbers count data rows from 1 (the header is not a row).
"""
from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from .contract import Column, FileSpec

ERROR = "error"      # the folder does not meet the contract
WARNING = "warning"  # worth knowing, the contract still holds (e.g. an optional file is absent)

MAX_ROWS_NAMED = 5   # how many offending rows a message lists before summarising
EARLIEST_DATE = dt.date(2000, 1, 1)   # before this a date is a placeholder (1900-01-01) or a typo
DELIMITER_NAMES = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}


@dataclass(frozen=True)
class Issue:
    """One problem found in one file (and, where it applies, one column and row)."""

    file: str
    message: str
    column: str | None = None
    row: int | None = None
    severity: str = ERROR
    check: str = ""

    def __str__(self) -> str:
        where = self.file
        if self.column is not None:
            where += f", column {self.column or '(unnamed)'}"
        if self.row is not None:
            where += f", row {self.row}"
        return f"{where}: {self.message}"


@dataclass
class FileReport:
    """What loading one file found: its row count, whether the app can use it, and its issues."""

    spec: FileSpec
    present: bool = False
    usable: bool = False
    rows: int = 0
    issues: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(i.severity == ERROR for i in self.issues)

    @property
    def status(self) -> str:
        if not self.present:
            return "missing" if self.spec.required else "absent (optional)"
        if not self.usable:
            return "unusable"
        return "ok" if self.ok else "loaded with problems"


@dataclass
class ValidationReport:
    """The per-file results for one data folder."""

    folder: Path
    files: dict[str, FileReport] = field(default_factory=dict)

    @property
    def issues(self) -> list[Issue]:
        return [issue for report in self.files.values() for issue in report.issues]

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == ERROR]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_frame(self):
        """One row per issue, for tables and downloads."""
        import pandas as pd

        frame = pd.DataFrame(
            [(i.severity, i.file, i.column, i.row, i.message, i.check) for i in self.issues],
            columns=["severity", "file", "column", "row", "message", "check"],
        )
        return frame.astype({"row": "Int64"})  # whole row numbers even where some issues have none

    def summary_frame(self):
        """One row per file: status, rows and issue count."""
        import pandas as pd

        return pd.DataFrame(
            [
                (r.spec.filename, "required" if r.spec.required else "optional", r.status, r.rows,
                 sum(i.severity == ERROR for i in r.issues), sum(i.severity == WARNING for i in r.issues))
                for r in self.files.values()
            ],
            columns=["file", "kind", "status", "rows", "errors", "warnings"],
        )

    def format_text(self) -> str:
        """The report as plain text, as the CLI prints it."""
        lines = [f"Data folder: {self.folder}"]
        for report in self.files.values():
            lines.append(f"{report.spec.filename:<28} {report.status:<20} {report.rows:>10,} rows")
            lines.extend(f"    {i.severity.upper()}: {i}" for i in report.issues)
        verdict = "meets the contract" if self.ok else f"does NOT meet the contract ({len(self.errors)} errors)"
        lines.append(f"Result: the folder {verdict}.")
        return "\n".join(lines)


def read_header(path: Path, spec: FileSpec) -> list[str]:
    """The header row of a CSV file, or [] for an empty file."""
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
        return next(csv.reader(handle, delimiter=spec.delimiter), [])


def check_header(spec: FileSpec, header: list[str]) -> list[Issue]:
    """Missing, extra and duplicated columns. Missing ones make the file unusable."""
    issues = []
    name = spec.filename
    if spec.table == "correlations":
        if not header or header[0].strip() not in ("", "metric"):
            issues.append(Issue(name, "the first column must be the unnamed row-label column",
                                column=header[0] if header else "", check="columns"))
        labels = header[1:]
        if len(labels) < 2:
            issues.append(Issue(name, "needs at least two metric columns", check="columns"))
        for label in sorted({label for label in labels if labels.count(label) > 1}, key=labels.index):
            places = [str(i + 2) for i, other in enumerate(labels) if other == label]
            issues.append(Issue(name, f"metric label appears {len(places)} times in the header (columns "
                                      f"{', '.join(places)}); each metric needs exactly one column", column=label,
                                check="columns"))
        return issues
    expected = spec.headers
    for col in expected:
        if col not in header:
            issues.append(Issue(name, "column is missing", column=col, check="columns"))
    for col in header:
        if col not in expected:
            issues.append(Issue(name, "column is not in the contract (it is ignored)", column=col,
                                severity=WARNING, check="columns"))
    seen = set()
    for col in header:
        if col in seen:
            issues.append(Issue(name, "column appears twice", column=col, check="columns"))
        seen.add(col)
    if not any(i.severity == ERROR for i in issues) and [c for c in header if c in expected] != expected:
        issues.append(Issue(name, f"columns are out of order; expected {', '.join(expected)}",
                            check="columns", severity=WARNING))
    return issues


def content_problem(path: Path) -> str | None:
    """Why a file is not a text CSV file at all (binary, a workbook, UTF-16), without echoing its bytes."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    signatures = {b"\xff\xfe": "is UTF-16 encoded; save it as CSV in UTF-8",
                  b"\xfe\xff": "is UTF-16 encoded; save it as CSV in UTF-8",
                  b"PK\x03\x04": "is a ZIP archive or an Excel workbook (.xlsx), not a CSV file; save it as CSV (UTF-8)",
                  b"\xd0\xcf\x11\xe0": "is an Excel 97-2003 workbook (.xls), not a CSV file; save it as CSV (UTF-8)",
                  b"%PDF": "is a PDF document, not a CSV file",
                  b"\x1f\x8b": "is gzip-compressed; decompress it first"}
    for magic, problem in signatures.items():
        if head.startswith(magic):
            return problem
    controls = sum(head.count(bytes([b])) for b in (*range(0, 9), 11, 12, *range(14, 32)))
    if b"\x00" in head or controls > max(8, len(head) // 100):
        return (f"is not a text file ({controls:,} control bytes in its first {len(head):,}); "
                "it looks binary: save it as CSV (UTF-8)")
    return None


def check_delimiter(spec: FileSpec, path: Path, header: list[str]) -> Issue | None:
    """A header that is one field but splits on another common delimiter: the file uses that one."""
    if len(header) != 1:
        return None
    expected = set(spec.headers)
    for delimiter, shown in DELIMITER_NAMES.items():
        if delimiter == spec.delimiter:
            continue
        parts = [p.strip().strip('"') for p in header[0].split(delimiter)]
        if len(parts) > 1 and (spec.table == "correlations" or len(expected & set(parts)) >= 2):
            wanted = "comma-separated" if spec.delimiter == "," else "tab-separated"
            return Issue(spec.filename, f"uses {shown} as delimiter, not {DELIMITER_NAMES[spec.delimiter]}; "
                                        f"save it {wanted}", check="parse")
    return None


def date_problem(cursor, table: str, ident: str, cast: str) -> str:
    """A hint when the unparsable dates of a text column are day-first or month-first dates."""
    found = cursor.execute(
        f"WITH bad AS (SELECT trim({ident}) AS v FROM {table} WHERE {ident} IS NOT NULL AND {cast} IS NULL), "
        r"parts AS (SELECT regexp_extract(v, '^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$', ['d', 'm', 'y']) AS p FROM bad) "
        "SELECT count(*), count(*) FILTER (WHERE p.y <> ''), "
        "count(*) FILTER (WHERE TRY_CAST(p.d AS INT) > 12), count(*) FILTER (WHERE TRY_CAST(p.m AS INT) > 12) "
        "FROM parts").fetchone()
    bad, slashed, day_first, month_first = found
    if not bad or slashed < bad:
        return ""
    if month_first and not day_first:
        return ": dates look month-first (12/31/2024); write YYYY-MM-DD"
    return ": dates look day-first (31/12/2024); write YYYY-MM-DD"


def latest_plausible_date() -> dt.date:
    """A year from today: later dates are typos or placeholders (2099-12-31)."""
    return dt.date.today() + dt.timedelta(days=366)


def _show(value) -> str:
    return value.isoformat() if isinstance(value, dt.date) else repr(value)


def _rows_text(rows_values) -> tuple[int | None, str]:
    """The first offending row and a short list of (row: value) pairs."""
    shown = ", ".join(f"row {r}: {_show(v)}" for r, v in rows_values[:MAX_ROWS_NAMED])
    return rows_values[0][0], shown


def value_checks(cursor, spec: FileSpec, table: str, columns: list[Column]) -> list[Issue]:
    """Nulls, out-of-range numbers, unknown categories and duplicate keys in a loaded table.

    `table` is a contract table name (a closed set); values travel as parameters.
    """
    issues: list[Issue] = []
    name = spec.filename
    # One scan counts every rule's offending cells; only the rules that fail look up their rows.
    rules = []  # (check, column, SQL condition true for an offending cell, its parameters)
    for col in columns:
        ident = _quote(col.name)
        if not col.nullable:
            rules.append(("nulls", col, f"{ident} IS NULL", []))
        if col.is_numeric and (col.min is not None or col.max is not None):
            rules.append(("range", col, f"({ident} < ? OR {ident} > ?)", list(column_bounds(col))))
        if col.values:
            rules.append(("values", col, f"({ident} IS NOT NULL AND NOT list_contains(?, {ident}))",
                          [list(col.values)]))
        if col.type == "DATE":
            rules.append(("dates", col, f"({ident} < ? OR {ident} > ?)", [EARLIEST_DATE, latest_plausible_date()]))
    totals = []
    if rules:
        counts = ", ".join(f"count(*) FILTER (WHERE {condition})" for _, _, condition, _ in rules)
        totals = cursor.execute(f"SELECT {counts} FROM {table}",
                                [p for _, _, _, params in rules for p in params]).fetchone()
    for (check, col, condition, params), total in zip(rules, totals):
        if not total:
            continue
        ident = _quote(col.name)
        found = cursor.execute(f"SELECT rowid + 1 AS r, {ident} FROM {table} WHERE {condition} ORDER BY r LIMIT ?",
                               params + [MAX_ROWS_NAMED]).fetchall()
        row, shown = _rows_text(found)
        if check == "nulls":
            rows = ", ".join(str(r[0]) for r in found)
            message = f"{total:,} empty value(s) (rows {rows}{'…' if total > MAX_ROWS_NAMED else ''})"
        elif check == "range":
            rule = ("is negative; must be ≥ 0" if col.min == 0 and col.max is None
                    else f"is outside the allowed range {_num(col.min)}…{_num(col.max)}")
            message = f"{total:,} value(s) {rule} ({shown})"
        elif check == "dates":
            low, high = params
            message = (f"{total:,} date(s) outside the plausible range {low.isoformat()}…{high.isoformat()} "
                       f"({shown}): a placeholder or a typo? They are treated as empty")
            check = "range"
            # Kept, one such date would stretch every daily series of the app over a century.
            cursor.execute(f"UPDATE {table} SET {ident} = NULL WHERE {condition}", params)
        else:
            message = f"unexpected value(s) ({shown}); allowed: {', '.join(col.values)}"
        issues.append(Issue(name, message, column=col.header, row=row, check=check))
    if spec.key and has_duplicate_keys(cursor, table, spec.key):
        keys = ", ".join(_quote(k) for k in spec.key)
        found = cursor.execute(
            f"SELECT {keys}, count(*) AS n, min(rowid) + 1 AS first_row, max(rowid) + 1 AS last_row "
            f"FROM {table} GROUP BY ALL HAVING count(*) > 1 ORDER BY first_row LIMIT ?",
            [MAX_ROWS_NAMED]).fetchall()
        if found:
            dupes = "; ".join(
                f"{' / '.join(map(str, r[:len(spec.key)]))} ×{r[len(spec.key)]} (rows {r[-2]}…{r[-1]})" for r in found)
            issues.append(Issue(name, f"duplicate key ({', '.join(spec.key)}): {dupes}",
                                column=", ".join(spec.key), row=found[0][-1], check="duplicates"))
    return issues


# Per table: (column, column it may not exceed, severity, what exceeding it means).
ROW_RULES = {
    "campaigns": (("clicks", "impressions", ERROR, "more clicks than impressions (CTR above 100 %)"),
                  ("conversions", "clicks", WARNING, "more conversions than clicks (conversion rate above 100 %)")),
}
# Per table: binary outcome columns a model evaluation needs both classes of.
OUTCOMES = {"leads": ("actual_converted", "ROC, AUC and precision/recall are undefined and the model cannot "
                                          "be evaluated")}


def row_rules(cursor, spec: FileSpec, table: str) -> list[Issue]:
    """Relations between the columns of one row (clicks ≤ impressions) and outcomes with a single class."""
    issues = []
    for column, limit, severity, meaning in ROW_RULES.get(table, ()):
        total = cursor.execute(f"SELECT count(*) FROM {table} WHERE {column} > {limit}").fetchone()[0]
        if not total:
            continue
        found = cursor.execute(f"SELECT rowid + 1 AS r, {column}, {limit} FROM {table} WHERE {column} > {limit} "
                               "ORDER BY r LIMIT ?", [MAX_ROWS_NAMED]).fetchall()
        shown = ", ".join(f"row {r}: {a:,} {column}, {b:,} {limit}" for r, a, b in found)
        issues.append(Issue(spec.filename, f"{total:,} row(s) with {meaning} ({shown})", column=column,
                            row=found[0][0], severity=severity, check="consistency"))
    if table in OUTCOMES:
        column, consequence = OUTCOMES[table]
        classes = cursor.execute(f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL").fetchall()
        if len(classes) == 1:
            issues.append(Issue(spec.filename, f"every row has the same {column} ({classes[0][0]}): with one "
                                               f"class {consequence}", column=column, severity=WARNING,
                                check="values"))
    return issues


def correlation_checks(cursor, spec: FileSpec, labels: list[str]) -> list[Issue]:
    """A correlation matrix is square with the same labels on both sides, values in -1…1, ones on the
    diagonal and symmetric."""
    name = spec.filename
    rows = [r[0] for r in cursor.execute("SELECT metric FROM correlations ORDER BY rowid").fetchall()]
    issues = []
    for label in labels:
        ident = _quote(label)
        found = cursor.execute(f"SELECT rowid + 1 AS r, {ident} FROM correlations WHERE abs({ident}) > 1 "
                               "ORDER BY r").fetchall()
        if found:
            row, shown = _rows_text(found)
            issues.append(Issue(name, f"{len(found)} value(s) outside -1…1 ({shown}); a correlation lies between "
                                      "-1 and 1", column=label, row=row, check="range"))
    if len(rows) != len(labels) or set(rows) != set(labels):
        lacking_rows = [label for label in labels if label not in rows]
        lacking_columns = [str(r) for r in rows if r not in labels]
        detail = "; ".join(part for part in (
            f"no row for {', '.join(lacking_rows)}" if lacking_rows else "",
            f"no column for {', '.join(lacking_columns)}" if lacking_columns else "") if part)
        issues.append(Issue(name, f"the matrix is not square: {len(labels)} metric columns and {len(rows)} rows"
                                  + (f" ({detail})" if detail else "") + "; each metric needs a row and a column",
                            check="shape"))
        return issues
    select = ", ".join(_quote(label) for label in labels)
    values = {r[0]: dict(zip(labels, r[1:])) for r in
              cursor.execute(f"SELECT metric, {select} FROM correlations").fetchall()}
    off_diagonal = [label for label in labels if values[label][label] is not None and abs(values[label][label] - 1) > 1e-9]
    if off_diagonal:
        issues.append(Issue(name, f"the diagonal should be 1 (a metric correlates perfectly with itself); it is "
                                  f"not for {', '.join(off_diagonal)}", severity=WARNING, check="shape"))
    asymmetric = [f"{a} / {b}" for i, a in enumerate(labels) for b in labels[i + 1:]
                  if None not in (values[a][b], values[b][a]) and abs(values[a][b] - values[b][a]) > 0.01]
    if asymmetric:
        issues.append(Issue(name, f"the matrix is not symmetric: {len(asymmetric)} pair(s) differ by more than "
                                  f"0.01 ({', '.join(asymmetric[:MAX_ROWS_NAMED])})", severity=WARNING, check="shape"))
    return issues


def has_duplicate_keys(cursor, table: str, key: tuple[str, ...]) -> bool:
    """Whether any key value repeats: a quick pass over key hashes (a hash collision only costs the exact
    query that follows, which then finds nothing)."""
    hashed = f"hash({', '.join(_quote(k) for k in key)})"
    return bool(cursor.execute(f"SELECT count(*) FROM (SELECT {hashed} AS h FROM {table} GROUP BY h "
                               "HAVING count(*) > 1)").fetchone()[0])


def column_bounds(col: Column) -> tuple[float, float]:
    """The allowed (low, high) of a number column, ±inf where the contract sets no bound."""
    return (col.min if col.min is not None else float("-inf"), col.max if col.max is not None else float("inf"))


def _num(value) -> str:
    return "" if value is None else f"{value:g}"


def _quote(identifier: str) -> str:
    """A SQL identifier in double quotes (names come from the contract or a validated header)."""
    return '"' + identifier.replace('"', '""') + '"'
