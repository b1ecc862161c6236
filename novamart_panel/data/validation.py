"""Checks of a data folder against the contract: what is wrong, in which file, column and row.

The store calls these while loading; `novamart-panel validate DIR` and the Data Quality tab show the
resulting `ValidationReport`. Row numbers count data rows from 1 (the header is not a row).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from .contract import Column, FileSpec

ERROR = "error"      # the folder does not meet the contract
WARNING = "warning"  # worth knowing, the contract still holds (e.g. an optional file is absent)

MAX_ROWS_NAMED = 5   # how many offending rows a message lists before summarising


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
        return issues
    expected = spec.headers
    for col in expected:
        if col not in header:
            issues.append(Issue(name, "column is missing", column=col, check="columns"))
    for col in header:
        if col not in expected:
            issues.append(Issue(name, "column is not in the contract (it is ignored)", column=col,
                                check="columns"))
    seen = set()
    for col in header:
        if col in seen:
            issues.append(Issue(name, "column appears twice", column=col, check="columns"))
        seen.add(col)
    if not issues and header != expected:
        issues.append(Issue(name, f"columns are out of order; expected {', '.join(expected)}",
                            check="columns", severity=WARNING))
    return issues


def _rows_text(rows_values) -> tuple[int | None, str]:
    """The first offending row and a short list of (row: value) pairs."""
    shown = ", ".join(f"row {r}: {v!r}" for r, v in rows_values[:MAX_ROWS_NAMED])
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
        else:
            message = f"unexpected value(s) ({shown}); allowed: {', '.join(col.values)}"
        issues.append(Issue(name, message, column=col.header, row=row, check=check))
    if spec.key:
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


def column_bounds(col: Column) -> tuple[float, float]:
    """The allowed (low, high) of a number column, ±inf where the contract sets no bound."""
    return (col.min if col.min is not None else float("-inf"), col.max if col.max is not None else float("inf"))


def _num(value) -> str:
    return "" if value is None else f"{value:g}"


def _quote(identifier: str) -> str:
    """A SQL identifier in double quotes (names come from the contract or a validated header)."""
    return '"' + identifier.replace('"', '""') + '"'
