"""The data-access layer: one DuckDB connection per process, one schema per data folder.

`DataStore.open(folder)` loads every contract file of a folder into DuckDB tables (explicit column
types from the contract, never guessed), validates them, and answers parameterised SQL with a fresh
cursor per query. Aggregation happens in DuckDB; callers receive small pandas frames.
"""
from __future__ import annotations

import csv
import functools
import hashlib
import os
import re
import threading
from pathlib import Path

import duckdb
import pandas as pd

from .contract import ALL_FILES, BY_TABLE, FileSpec
from .validation import ERROR, WARNING, FileReport, Issue, ValidationReport, check_header, read_header, \
    value_checks, _quote

PACKAGED_DATA = Path(__file__).resolve().parents[2] / "data"
# The WebAssembly page installs a wheel that carries its data inside the package (see wasm.py).
BUNDLED_DATA = Path(__file__).resolve().parents[1] / "bundled_data"
_lock = threading.Lock()


@functools.cache
def connection() -> duckdb.DuckDBPyConnection:
    """The process-wide DuckDB connection (in memory; the CSVs are loaded into it)."""
    return duckdb.connect(":memory:")


def default_data_dir() -> Path:
    """`NOVAMART_DATA` if set, else the data bundled in the package (WebAssembly), else the packaged `data/`."""
    if os.environ.get("NOVAMART_DATA"):
        return Path(os.environ["NOVAMART_DATA"]).expanduser().resolve()
    return BUNDLED_DATA if BUNDLED_DATA.is_dir() else PACKAGED_DATA.resolve()


def _folder_signature(folder: Path) -> tuple:
    """File names, sizes and modification times: a folder that changes on disk is loaded again."""
    stamps = []
    for spec in ALL_FILES:
        path = folder / spec.filename
        if path.exists():
            stat = path.stat()
            stamps.append((spec.filename, stat.st_size, stat.st_mtime_ns))
    return tuple(stamps)


class DataStore:
    """The loaded tables of one data folder and the validation report of that load."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder).expanduser().resolve()
        digest = hashlib.sha1(repr((str(self.folder), _folder_signature(self.folder))).encode()).hexdigest()
        self.schema = f"ds_{digest[:16]}"
        self.report = ValidationReport(self.folder)
        self.tables: set[str] = set()
        if not self.folder.is_dir():
            problem = "is not a folder" if self.folder.exists() else "folder does not exist"
            folder_report = FileReport(FileSpec("(folder)", "(data folder)", ()))
            folder_report.issues.append(Issue(str(self.folder), problem, check="files"))
            self.report.files["(folder)"] = folder_report
            return
        with _lock:
            connection().execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            for spec in ALL_FILES:
                self.report.files[spec.table] = self._load(spec)

    @classmethod
    def open(cls, folder: str | os.PathLike | None = None) -> "DataStore":
        """The store of a folder, loaded once per process while its files stay unchanged."""
        resolved = Path(folder).expanduser().resolve() if folder else default_data_dir()
        return _open_cached(resolved, _folder_signature(resolved) if resolved.is_dir() else ())

    # -- queries --------------------------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor whose default schema is this folder's."""
        cur = connection().cursor()
        cur.execute(f"USE memory.{self.schema}")
        return cur

    def query(self, sql: str, params: list | tuple | None = None) -> pd.DataFrame:
        """Run parameterised SQL (`?` placeholders) against this folder's tables."""
        with self.cursor() as cur:
            return cur.execute(sql, list(params or [])).df()

    def scalar(self, sql: str, params: list | tuple | None = None):
        with self.cursor() as cur:
            row = cur.execute(sql, list(params or [])).fetchone()
        return None if row is None else row[0]

    def has(self, table: str) -> bool:
        """Whether a table loaded well enough for the app to use it."""
        return table in self.tables

    def table(self, table: str) -> pd.DataFrame:
        """A whole (small) table, e.g. the correlation matrix or the funnel."""
        if table not in self.tables:
            raise KeyError(f"{BY_TABLE[table].filename} is not loaded")
        return self.query(f"SELECT * FROM {table} ORDER BY rowid")

    def missing_message(self, table: str) -> str:
        """Why a table is not available, and what to do about it."""
        spec = BY_TABLE[table]
        report = self.report.files.get(table)
        if report is None or not report.present:
            what = f"add {spec.filename} to the data folder"
            return f"{spec.filename} is not in {self.folder}: {what}" + (
                f" to unlock {spec.unlocks}." if spec.unlocks else ".")
        reasons = "; ".join(str(i) for i in report.issues if i.severity == ERROR)
        return f"{spec.filename} could not be loaded: {reasons}"

    # -- loading --------------------------------------------------------------------------------
    def _load(self, spec: FileSpec) -> FileReport:
        report = FileReport(spec)
        path = self.folder / spec.filename
        name = spec.filename
        if not path.is_file():
            if spec.required:
                report.issues.append(Issue(name, "required file is missing", check="files"))
            else:
                report.issues.append(Issue(name, f"optional file is absent; add it to unlock {spec.unlocks}",
                                           severity=WARNING, check="files"))
            return report
        report.present = True
        try:
            header = read_header(path, spec) if path.stat().st_size else []
        except (OSError, csv.Error) as exc:
            report.issues.append(Issue(name, f"cannot read the header row: {exc}", check="parse"))
            return report
        if not header:
            report.issues.append(Issue(name, "file is empty (no header row)", check="empty"))
            return report
        header_issues = check_header(spec, header)
        report.issues.extend(header_issues)
        if any(i.message == "column is missing" or (i.check == "columns" and spec.table == "correlations"
                                                    and i.severity == ERROR) for i in header_issues):
            return report
        columns = self._file_columns(spec, header)
        wanted = [c.name for c in spec.columns] if spec.table != "correlations" else list(columns)
        try:
            with self.cursor() as cur:
                self._create_typed(cur, spec, path, columns, wanted)
        except duckdb.Error:
            try:
                with self.cursor() as cur:
                    report.issues.extend(self._create_from_text(cur, spec, path, columns, wanted))
            except duckdb.Error as exc:
                report.issues.append(_unparsable(spec, path, len(header), exc))
                return report
        with self.cursor() as cur:
            report.rows = cur.execute(f"SELECT count(*) FROM {spec.table}").fetchone()[0]
            if report.rows == 0:
                report.issues.append(Issue(name, "file has a header but no data rows", check="empty"))
                cur.execute(f"DROP TABLE {spec.table}")
                return report
            report.issues.extend(self._blank_non_finite(cur, spec, columns, wanted))
            checked = [c for c in spec.columns] if spec.table != "correlations" else [spec.columns[0]]
            report.issues.extend(value_checks(cur, spec, spec.table, checked))
        report.usable = True
        self.tables.add(spec.table)
        return report

    @staticmethod
    def _file_columns(spec: FileSpec, header: list[str]) -> dict[str, str]:
        """Name → DuckDB type for each column of the file, in file order (extra columns as text)."""
        if spec.table == "correlations":
            return {"metric": "VARCHAR", **{label: "DOUBLE" for label in header[1:]}}
        types = {c.header: c.type for c in spec.columns}
        names = {c.header: c.name for c in spec.columns}
        columns: dict[str, str] = {}
        for i, col in enumerate(header):
            key = names.get(col, col) if col not in columns else f"{col}_{i}"
            columns[key] = types.get(col, "VARCHAR")
        return columns

    @staticmethod
    def _read_csv_sql(spec: FileSpec) -> str:
        return ("read_csv(?, header = true, auto_detect = false, delim = ?, quote = '\"', escape = '\"', "
                "columns = ?, dateformat = '%Y-%m-%d', null_padding = true)")

    def _create_typed(self, cur, spec, path, columns, wanted):
        select = ", ".join(_quote(c) for c in wanted)
        cur.execute(f"CREATE OR REPLACE TABLE {spec.table} AS SELECT {select} FROM {self._read_csv_sql(spec)}",
                    [str(path), spec.delimiter, columns])

    def _create_from_text(self, cur, spec, path, columns, wanted) -> list[Issue]:
        """Load every column as text, name the cells that are not of their type, then cast (bad → NULL)."""
        text_columns = {name: "VARCHAR" for name in columns}
        raw = f"{spec.table}__raw"
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {raw} AS SELECT * FROM {self._read_csv_sql(spec)}",
                    [str(path), spec.delimiter, text_columns])
        issues = []
        casts = []
        for name in wanted:
            typ = columns[name]
            ident = _quote(name)
            if typ == "VARCHAR":
                casts.append(ident)
                continue
            cast = f"TRY_STRPTIME({ident}, '%Y-%m-%d')::DATE" if typ == "DATE" else f"TRY_CAST({ident} AS {typ})"
            bad = cur.execute(
                f"SELECT rowid + 1, {ident} FROM {raw} WHERE {ident} IS NOT NULL AND {cast} IS NULL "
                f"ORDER BY rowid LIMIT 5").fetchall()
            if bad:
                total = cur.execute(f"SELECT count(*) FROM {raw} WHERE {ident} IS NOT NULL AND {cast} IS NULL"
                                    ).fetchone()[0]
                kind = {"DATE": "a date (YYYY-MM-DD)", "BIGINT": "a whole number", "DOUBLE": "a number"}[typ]
                shown = ", ".join(f"row {r}: {v!r}" for r, v in bad)
                header = spec.column(name).header if spec.table != "correlations" else name
                issues.append(Issue(spec.filename, f"{total:,} value(s) are not {kind} ({shown}); "
                                                   "they are treated as empty", column=header, row=bad[0][0],
                                    check="types"))
            casts.append(f"{cast} AS {ident}")
        cur.execute(f"CREATE OR REPLACE TABLE {spec.table} AS SELECT {', '.join(casts)} FROM {raw} ORDER BY rowid")
        cur.execute(f"DROP TABLE {raw}")
        return issues


    @staticmethod
    def _blank_non_finite(cur, spec, columns, wanted) -> list[Issue]:
        """Name 'inf'/'nan' cells of number columns (DuckDB parses them) and treat them as empty."""
        numbers = [name for name in wanted if columns[name] == "DOUBLE"]
        if not numbers:
            return []
        counts = ", ".join(f"count(*) FILTER (WHERE NOT isfinite({_quote(n)}))" for n in numbers)
        totals = cur.execute(f"SELECT {counts} FROM {spec.table}").fetchone()
        issues = []
        for name, total in zip(numbers, totals):
            if not total:
                continue
            ident = _quote(name)
            bad = cur.execute(f"SELECT rowid + 1 AS r, {ident} FROM {spec.table} WHERE NOT isfinite({ident}) "
                              "ORDER BY r LIMIT 5").fetchall()
            shown = ", ".join(f"row {r}: {v!r}" for r, v in bad)
            header = spec.column(name).header if spec.table != "correlations" else name
            issues.append(Issue(spec.filename, f"{total:,} value(s) are not finite numbers ({shown}); "
                                               "they are treated as empty", column=header, row=bad[0][0],
                                check="types"))
            cur.execute(f"UPDATE {spec.table} SET {ident} = NULL WHERE NOT isfinite({ident})")
        return issues


def _unparsable(spec: FileSpec, path: Path, header_fields: int, exc: Exception) -> Issue:
    """The parse failure, naming the first data rows whose field count differs from the header's."""
    ragged = []
    try:
        with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
            records = csv.reader(handle, delimiter=spec.delimiter)
            next(records, None)
            for row, fields in enumerate(records, start=1):
                if len(fields) > header_fields:
                    ragged.append((row, len(fields)))
                    if len(ragged) > 5:
                        break
    except (OSError, csv.Error):
        pass
    if ragged:
        shown = ", ".join(f"row {r}: {n} fields" for r, n in ragged[:5])
        return Issue(spec.filename, f"row(s) with more fields than the header's {header_fields} ({shown}"
                                    f"{'…' if len(ragged) > 5 else ''}); fix or remove them to load the file",
                     row=ragged[0][0], check="parse")
    line = re.search(r"\bLine: (\d+)", str(exc))
    row = int(line.group(1)) - 1 if line else None  # DuckDB counts file lines; the header is line 1
    hint = ("it is not UTF-8 encoded; save it as UTF-8" if "unicode" in str(exc).lower()
            else "an unclosed quote or a malformed row?")
    return Issue(spec.filename, f"cannot be parsed as CSV ({hint}): {_first_line(exc)}", row=row or None,
                 check="parse")


@functools.lru_cache(maxsize=8)
def _open_cached(folder: Path, signature: tuple) -> DataStore:
    return DataStore(folder)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return " ".join(line.strip() for line in text[:3])[:400]
