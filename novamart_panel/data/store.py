"""The data-access layer: one DuckDB connection per process, one database per data folder.

`DataStore.open(folder)` loads every contract file of a folder into DuckDB tables once (explicit column
types from the contract, never guessed), validates them, builds the campaign rollups (`rollups.py`),
and answers parameterised SQL with a fresh cursor per query and a small memo of recent results.

The loaded tables live in a DuckDB database file in a per-user cache directory (`NOVAMART_CACHE_DIR`,
default `~/.cache/novamart-panel/`), keyed by the folder, each file's size and modification time and
`LOADER_VERSION`, together with the validation report. It is built in a temporary file and moved into
place, so concurrent starts (`--num-procs`) are safe; later starts attach it read-only. Where the cache
directory is not writable, and in Pyodide, the tables are loaded into memory instead. The data folder
itself is never written to.
"""
from __future__ import annotations

import collections
import contextlib
import csv
import functools
import hashlib
import json
import os
import re
import stat
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import duckdb
import pandas as pd

from . import rollups
from .contract import ALL_FILES, BY_TABLE, FileSpec
from .validation import ERROR, WARNING, FileReport, Issue, ValidationReport, check_delimiter, check_header, \
    content_problem, correlation_checks, date_problem, read_header, row_rules, value_checks, _quote

PACKAGED_DATA = Path(__file__).resolve().parents[2] / "data"
# The WebAssembly page installs a wheel that carries its data inside the package (see wasm.py).
BUNDLED_DATA = Path(__file__).resolve().parents[1] / "bundled_data"
# Bump whenever loading, validation or the rollups change: cache files of older versions are then rebuilt.
LOADER_VERSION = 4
CACHE_ENV = "NOVAMART_CACHE_DIR"
MEMORY_ENV = "NOVAMART_DUCKDB_MEMORY"
DEFAULT_MEMORY_LIMIT = "2GB"
PYODIDE = sys.platform == "emscripten"
# Numbers beyond this are no real rupee amount, count or rate; their sums would overflow to infinity.
IMPLAUSIBLE = 1e15
CACHE_MAX_AGE_DAYS = 30     # cache files unused this long are removed when another one is built
MEMO_ENTRIES = 256          # query results kept per store
MEMO_MAX_ROWS = 50_000      # larger results (exports) are not kept

_lock = threading.RLock()           # one folder loads at a time
_connect_lock = threading.Lock()


def connection() -> duckdb.DuckDBPyConnection:
    """The process-wide DuckDB connection; each folder's database is attached to it."""
    with _connect_lock:   # two threads asking first must not open two
        return _connect()


@functools.cache
def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    if not PYODIDE:
        settings = {"threads": min(os.cpu_count() or 1, 8),
                    "memory_limit": os.environ.get(MEMORY_ENV, DEFAULT_MEMORY_LIMIT),
                    # Spill files never go to the working directory (it may be the data folder).
                    "temp_directory": str(Path(tempfile.gettempdir()) / f"novamart-duckdb-{_user()}")}
        for name, value in settings.items():
            with contextlib.suppress(duckdb.Error):
                con.execute(f"SET {name} = {value if isinstance(value, int) else _literal(value)}")
    return con


def run(sql: str) -> None:
    """A statement on the shared database (ATTACH, DETACH …) through its own cursor: the connection object
    itself refuses calls from two threads at once."""
    with connection().cursor() as cur:
        cur.execute(sql)


def default_data_dir() -> Path:
    """`NOVAMART_DATA` if set, else the data bundled in the package (WebAssembly), else the packaged `data/`."""
    if os.environ.get("NOVAMART_DATA"):
        return Path(os.environ["NOVAMART_DATA"]).expanduser().resolve()
    return BUNDLED_DATA if BUNDLED_DATA.is_dir() else PACKAGED_DATA.resolve()


def cache_dir() -> Path | None:
    """Where the loaded databases are kept: `NOVAMART_CACHE_DIR`, else the per-user cache folder.

    None in Pyodide, or when `NOVAMART_CACHE_DIR` is set to an empty string or "off" (load into memory).
    """
    if PYODIDE:
        return None
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return None if configured.strip().lower() in ("", "off", "none", "0") else Path(configured).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "novamart-panel"


def file_state(path: Path) -> tuple:
    """What is at `path`: ('file', size, mtime_ns), or ('missing',), ('directory',), ('loop',) …"""
    try:
        info = path.stat()
    except FileNotFoundError:
        return ("dangling",) if path.is_symlink() else ("missing",)
    except OSError as exc:
        return ("loop",) if exc.errno == 40 or "loop" in str(exc).lower() else ("unreadable", str(exc))
    if stat.S_ISDIR(info.st_mode):
        return ("directory",)
    if not stat.S_ISREG(info.st_mode):
        return ("special",)
    return ("file", info.st_size, info.st_mtime_ns)


def _folder_signature(folder: Path) -> tuple:
    """Each contract file's state, size and modification time: a folder that changes is loaded again."""
    return tuple((spec.filename, *file_state(folder / spec.filename)) for spec in ALL_FILES)


class DataStore:
    """The loaded tables of one data folder and the validation report of that load."""

    def __init__(self, folder: str | os.PathLike, cache: bool = True):
        self.folder = Path(folder).expanduser().resolve()
        signature = _folder_signature(self.folder) if self.folder.is_dir() else ()
        key = hashlib.sha1(repr((LOADER_VERSION, duckdb.__version__, str(self.folder), signature)).encode())
        self.key = key.hexdigest()[:20]
        self.schema = f"ds_{self.key}"
        self.catalog = f"nm_{self.key}"
        self.report = ValidationReport(self.folder)
        self.tables: set[str] = set()
        self.cache_file: Path | None = None
        self.built_here = False   # whether this store loaded the CSVs (False: it reused a cache file)
        self._transient = False   # a load failed for lack of memory or disk space (not the file's fault)
        self._built: set[str] = set()
        self._memo: collections.OrderedDict = collections.OrderedDict()
        self._memo_lock = threading.Lock()
        if not self.folder.is_dir():
            problem = "is not a folder" if self.folder.exists() else "folder does not exist"
            folder_report = FileReport(FileSpec("(folder)", "(data folder)", ()))
            folder_report.issues.append(Issue(str(self.folder), problem, check="files"))
            self.report.files["(folder)"] = folder_report
            with _lock:   # an empty schema, so queries fail as they would on a folder without the table
                if not _attached(self.catalog):
                    run(f"ATTACH ':memory:' AS {self.catalog}")
                run(f"CREATE SCHEMA IF NOT EXISTS {self.catalog}.{self.schema}")
            return
        with _lock:
            self._open(cache)

    @classmethod
    def open(cls, folder: str | os.PathLike | None = None) -> "DataStore":
        """The store of a folder, loaded once per process while its files stay unchanged."""
        resolved = Path(folder).expanduser().resolve() if folder else default_data_dir()
        return _open_cached(resolved, _folder_signature(resolved) if resolved.is_dir() else ())

    # -- queries --------------------------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor whose default schema is this folder's."""
        cur = connection().cursor()
        cur.execute(f"USE {self.catalog}.{self.schema}")
        return cur

    def query(self, sql: str, params: list | tuple | None = None) -> pd.DataFrame:
        """Run parameterised SQL (`?` placeholders) against this folder's tables.

        Results are remembered (the tables never change under a store): the chart, table, insight and
        download of one filter state cost one query. Each caller gets its own copy.
        """
        key = _memo_key(sql, params)
        if key is not None:
            with self._memo_lock:
                found = self._memo.get(key)
                if found is not None:
                    self._memo.move_to_end(key)
                    return found.copy()
        with self.cursor() as cur:
            frame = cur.execute(sql, list(params or [])).df()
        if key is not None and len(frame) <= MEMO_MAX_ROWS:
            with self._memo_lock:
                self._memo[key] = frame.copy()
                while len(self._memo) > MEMO_ENTRIES:
                    self._memo.popitem(last=False)
        return frame

    def scalar(self, sql: str, params: list | tuple | None = None):
        with self.cursor() as cur:
            row = cur.execute(sql, list(params or [])).fetchone()
        return None if row is None else row[0]

    def has(self, table: str) -> bool:
        """Whether a table loaded well enough for the app to use it."""
        return table in self.tables

    def has_rollups(self) -> bool:
        """Whether the campaign rollups exist (they do whenever the campaign file loaded)."""
        return "campaigns" in self.tables and rollups.DAILY in self._built

    def table(self, table: str) -> pd.DataFrame:
        """A whole (small) table, e.g. the correlation matrix or the funnel."""
        if table not in self.tables:
            raise KeyError(f"{BY_TABLE[table].filename} is not loaded")
        return self.query(f"SELECT * FROM {table} ORDER BY rowid")

    def missing_message(self, table: str, folder: str | None = None) -> str:
        """Why a table is not available, and what to do about it; `folder` names the data folder (default:
        its full path; a served page passes what its viewer may see)."""
        spec = BY_TABLE[table]
        report = self.report.files.get(table)
        if report is None or not report.present:
            what = f"add {spec.filename} to the data folder"
            return f"{spec.filename} is not in {folder or self.folder}: {what}" + (
                f" to unlock {spec.unlocks}." if spec.unlocks else ".")
        reasons = "; ".join(str(i) for i in report.issues if i.severity == ERROR)
        return f"{spec.filename} could not be loaded: {reasons}"

    # -- opening: attach the cached database, or build it --------------------------------------
    def _open(self, cache: bool) -> None:
        if _attached(self.catalog):   # another store of this process loaded the same files
            if self._read_manifest():
                self.cache_file = _database_path(self.catalog)
                return
            run(f"DETACH {self.catalog}")
        directory = cache_dir() if cache else None
        if directory is not None:
            try:
                self._open_cached_file(directory)
                return
            except (OSError, duckdb.Error):
                # An unwritable cache folder or a damaged file: load into memory instead.
                if _attached(self.catalog):
                    run(f"DETACH {self.catalog}")
                self.report = ValidationReport(self.folder)
                self.tables, self._built, self.cache_file, self._transient = set(), set(), None, False
        run(f"ATTACH ':memory:' AS {self.catalog}")
        self._build(self.catalog)
        self.built_here = True

    def _open_cached_file(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        folder_id = hashlib.sha1(str(self.folder).encode()).hexdigest()[:12]
        path = directory / f"{folder_id}-{self.key}.duckdb"
        if path.is_file() and self._attach_file(path):
            return
        with _file_lock(directory / f"{folder_id}.lock"):
            if path.is_file() and self._attach_file(path):   # another process built it meanwhile
                return
            path.unlink(missing_ok=True)   # damaged
            building = path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
            build_into(building, self._build)
            if self._transient:
                building.unlink()
                raise OSError("a load failed for lack of memory or disk: not cached")
            os.replace(building, path)
            _prune(directory, keep=path.stem, folder_id=folder_id)
        self.report = ValidationReport(self.folder)
        self.tables, self._built = set(), set()
        if not self._attach_file(path):
            raise OSError(f"the cache file {path} cannot be read back")
        self.built_here = True

    def _attach_file(self, path: Path) -> bool:
        """Attach a cache file read-only and read its manifest; False if it is not a usable cache."""
        try:
            run(f"ATTACH {_literal(str(path))} AS {self.catalog} (READ_ONLY)")
        except duckdb.Error:
            return False
        if self._read_manifest():
            self.cache_file = path
            touch(path)
            return True
        run(f"DETACH {self.catalog}")
        return False

    def _read_manifest(self) -> bool:
        try:
            with self.cursor() as cur:
                row = cur.execute("SELECT manifest FROM _manifest").fetchone()
        except duckdb.Error:
            return False
        manifest = json.loads(row[0])
        if manifest.get("loader_version") != LOADER_VERSION:
            return False
        self.report = _report_from_json(self.folder, manifest["files"])
        self.tables = set(manifest["tables"])
        self._built = set(manifest["rollups"])
        return True

    def _build(self, catalog: str) -> None:
        """Load every contract file into `catalog`, validate, build the rollups, write the manifest."""
        run(f"CREATE SCHEMA IF NOT EXISTS {catalog}.{self.schema}")
        with self.cursor_in(catalog) as cur:
            for spec in ALL_FILES:
                try:
                    self.report.files[spec.table] = self._load(cur, spec)
                except (duckdb.OutOfMemoryException, duckdb.IOException) as exc:
                    # The machine, not the file: say so, and keep this report out of the cache.
                    self._transient = True
                    self.tables.discard(spec.table)
                    cur.execute(f"DROP TABLE IF EXISTS {spec.table}")
                    failed = self.report.files[spec.table] = FileReport(spec, present=True)
                    failed.issues.append(Issue(spec.filename, f"could not be loaded: {_machine_problem(exc)}",
                                               check="load"))
            if "campaigns" in self.tables:
                try:
                    self._built = set(rollups.build(cur))
                except duckdb.Error as exc:   # without rollups, queries read the raw table
                    self._transient = isinstance(exc, (duckdb.OutOfMemoryException, duckdb.IOException))
            manifest = {"loader_version": LOADER_VERSION, "tables": sorted(self.tables),
                        "rollups": sorted(self._built), "files": _report_to_json(self.report)}
            cur.execute("CREATE OR REPLACE TABLE _manifest AS SELECT ?::VARCHAR AS manifest", [json.dumps(manifest)])

    def cursor_in(self, catalog: str) -> duckdb.DuckDBPyConnection:
        cur = connection().cursor()
        cur.execute(f"USE {catalog}.{self.schema}")
        return cur

    # -- loading one file -----------------------------------------------------------------------
    def _load(self, cur, spec: FileSpec) -> FileReport:
        report = FileReport(spec)
        path = self.folder / spec.filename
        name = spec.filename
        state = file_state(path)
        if state[0] == "missing":
            if spec.required:
                report.issues.append(Issue(name, "required file is missing", check="files"))
            else:
                report.issues.append(Issue(name, f"optional file is absent; add it to unlock {spec.unlocks}",
                                           severity=WARNING, check="files"))
            return report
        report.present = True
        if state[0] != "file":
            report.issues.append(Issue(name, _not_a_file(path, state), check="files"))
            return report
        try:
            problem = content_problem(path)
        except OSError as exc:
            report.issues.append(Issue(name, f"cannot be read: {exc.strerror or exc}", check="files"))
            return report
        if problem:
            report.issues.append(Issue(name, problem, check="parse"))
            return report
        try:
            header = read_header(path, spec) if state[1] else []
        except (OSError, csv.Error) as exc:
            report.issues.append(Issue(name, f"cannot read the header row: {exc}", check="parse"))
            return report
        if not any(field.strip() for field in header):
            with open(path, "rb") as handle:
                blank = not handle.read(1 << 16).strip()
            report.issues.append(Issue(name, "file is empty (no header row)" if blank else
                                       "the first line is blank; the header row must be the first line",
                                       check="empty"))
            return report
        delimiter_issue = check_delimiter(spec, path, header)
        if delimiter_issue:
            report.issues.append(delimiter_issue)
            return report
        header_issues = check_header(spec, header)
        report.issues.extend(header_issues)
        if any(i.message == "column is missing" or (i.check == "columns" and spec.table == "correlations"
                                                    and i.severity == ERROR) for i in header_issues):
            return report
        columns = self._file_columns(spec, header)
        wanted = [c.name for c in spec.columns] if spec.table != "correlations" else list(columns)
        try:
            report.issues.extend(self._create(cur, spec, path, columns, wanted))
        except (duckdb.OutOfMemoryException, duckdb.IOException):
            raise
        except duckdb.Error as exc:
            report.issues.append(_unparsable(spec, path, len(header), exc))
            return report
        report.rows = cur.execute(f"SELECT count(*) FROM {spec.table}").fetchone()[0]
        if report.rows == 0:
            report.issues.append(Issue(name, "file has a header but no data rows", check="empty"))
            cur.execute(f"DROP TABLE {spec.table}")
            return report
        report.issues.extend(self._blank_unusable_numbers(cur, spec, columns, wanted))
        checked = [c for c in spec.columns] if spec.table != "correlations" else [spec.columns[0]]
        report.issues.extend(value_checks(cur, spec, spec.table, checked))
        report.issues.extend(row_rules(cur, spec, spec.table))
        if spec.table == "correlations":
            report.issues.extend(correlation_checks(cur, spec, list(columns)[1:]))
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
    def _read_csv_sql(padded: bool) -> str:
        """DuckDB's CSV reader with the contract's dialect (RFC 4180: quotes doubled inside quotes).

        The parallel reader handles quoted line breaks only without null padding, so short rows are
        padded by the single-threaded reader, used only for files that need it.
        """
        padding = "null_padding = true, parallel = false" if padded else "null_padding = false"
        return ("read_csv(?, header = true, auto_detect = false, delim = ?, quote = '\"', escape = '\"', "
                f"columns = ?, dateformat = '%Y-%m-%d', {padding})")

    def _create(self, cur, spec, path, columns, wanted) -> list[Issue]:
        """The typed table; if some cells are not of their type, the text route names them."""
        select = ", ".join(_quote(c) for c in wanted)
        try:
            cur.execute(f"CREATE OR REPLACE TABLE {spec.table} AS SELECT {select} FROM {self._read_csv_sql(False)}",
                        [str(path), spec.delimiter, columns])
            return []
        except duckdb.Error:
            pass
        try:
            return self._create_from_text(cur, spec, path, columns, wanted, padded=False)
        except duckdb.Error as exc:
            short = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", str(exc))
            if not short or int(short.group(2)) >= int(short.group(1)):
                raise
        # Rows with too few fields: the single-threaded reader pads them with empty values. It would
        # also drop an unterminated quoted field at the end silently, so count the records apart.
        issues = self._create_from_text(cur, spec, path, columns, wanted, padded=True)
        records = _count_records(path, spec.delimiter)
        loaded = cur.execute(f"SELECT count(*) FROM {spec.table}").fetchone()[0]
        if records != loaded:
            cur.execute(f"DROP TABLE IF EXISTS {spec.table}")
            raise duckdb.InvalidInputException(
                f"unterminated quote: {records if records is not None else 'an unknown number of'} records "
                f"but {loaded} rows read")
        return issues

    def _create_from_text(self, cur, spec, path, columns, wanted, padded: bool) -> list[Issue]:
        """Load every column as text, name the cells that are not of their type, then cast (bad → NULL)."""
        text_columns = {name: "VARCHAR" for name in columns}
        raw = f"{spec.table}__raw"
        cur.execute(f"CREATE OR REPLACE TABLE {raw} AS SELECT * FROM {self._read_csv_sql(padded)}",
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
                hint = date_problem(cur, raw, ident, cast) if typ == "DATE" else ""
                issues.append(Issue(spec.filename, f"{total:,} value(s) are not {kind}{hint} ({shown}); "
                                                   "they are treated as empty", column=header, row=bad[0][0],
                                    check="types"))
            casts.append(f"{cast} AS {ident}")
        cur.execute(f"CREATE OR REPLACE TABLE {spec.table} AS SELECT {', '.join(casts)} FROM {raw} ORDER BY rowid")
        cur.execute(f"DROP TABLE {raw}")
        return issues

    @staticmethod
    def _blank_unusable_numbers(cur, spec, columns, wanted) -> list[Issue]:
        """Name 'inf'/'nan' cells (DuckDB parses them) and implausibly large numbers; treat them as empty."""
        numbers = [name for name in wanted if columns[name] == "DOUBLE"]
        if not numbers:
            return []
        rules = (("not finite numbers", "NOT isfinite({c})"),
                 (f"implausibly large (beyond ±{IMPLAUSIBLE:g})", f"isfinite({{c}}) AND abs({{c}}) > {IMPLAUSIBLE!r}"))
        counts = ", ".join(f"count(*) FILTER (WHERE {rule.format(c=_quote(n))})" for n in numbers for _, rule in rules)
        totals = iter(cur.execute(f"SELECT {counts} FROM {spec.table}").fetchone())
        issues = []
        for name in numbers:
            ident = _quote(name)
            for (words, rule), total in zip(rules, [next(totals) for _ in rules]):
                if not total:
                    continue
                condition = rule.format(c=ident)
                bad = cur.execute(f"SELECT rowid + 1 AS r, {ident} FROM {spec.table} WHERE {condition} "
                                  "ORDER BY r LIMIT 5").fetchall()
                shown = ", ".join(f"row {r}: {v!r}" for r, v in bad)
                header = spec.column(name).header if spec.table != "correlations" else name
                issues.append(Issue(spec.filename, f"{total:,} value(s) are {words} ({shown}); "
                                                   "they are treated as empty", column=header, row=bad[0][0],
                                    check="types"))
                cur.execute(f"UPDATE {spec.table} SET {ident} = NULL WHERE {condition}")
        return issues


def _not_a_file(path: Path, state: tuple) -> str:
    """Why the thing at `path` is not a CSV file, in words."""
    kind = state[0]
    if kind == "directory":
        return "is a folder, not a file; put the CSV file itself here"
    if kind == "loop":
        return "is a symbolic link that loops back on itself; point it at a CSV file"
    if kind == "dangling":
        with contextlib.suppress(OSError):
            return f"is a symbolic link to {os.readlink(path)}, which does not exist"
        return "is a symbolic link to a file that does not exist"
    if kind == "special":
        return "is not a regular file (a pipe, socket or device); put the CSV file itself here"
    return f"cannot be read: {state[1] if len(state) > 1 else kind}"


def _machine_problem(exc: Exception) -> str:
    if isinstance(exc, duckdb.OutOfMemoryException):
        return (f"DuckDB ran out of memory (limit {os.environ.get(MEMORY_ENV, DEFAULT_MEMORY_LIMIT)}); set "
                f"{MEMORY_ENV} higher (e.g. 4GB) and start again")
    return f"reading or writing failed ({str(exc).splitlines()[0][:200]}); check free disk space"


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
    bare = _bare_carriage_return(path)
    if bare is not None:
        return Issue(spec.filename, "a carriage return (\\r) inside a field that is not in double quotes splits "
                                    "its row; put such fields in double quotes (RFC 4180)", row=bare or None,
                     check="parse")
    message = str(exc)
    line = re.search(r"\bLine: (\d+)", message)
    row = int(line.group(1)) - 1 if line else None  # DuckDB counts file lines; the header is line 1
    if "unicode" in message.lower():
        hint = "it is not UTF-8 encoded; save it as UTF-8"
    elif "quote" in message.lower() or "state machine" in message.lower():
        hint = "a quote that is never closed, or text after a closing quote; double the quotes inside quoted text"
    else:
        hint = "a malformed row"
    return Issue(spec.filename, f"cannot be parsed as CSV ({hint})", row=row or None, check="parse")


def _count_records(path: Path, delimiter: str) -> int | None:
    """Data records by Python's strict CSV reader (RFC 4180), or None if it finds the file malformed."""
    try:
        with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
            records = csv.reader(handle, delimiter=delimiter, strict=True)
            return sum(1 for record in records if record) - 1
    except csv.Error:
        return None


def _bare_carriage_return(path: Path) -> int | None:
    """The line (0 for the header) of the first \\r that ends no line and sits outside double quotes."""
    with open(path, "rb") as handle:
        for number, line in enumerate(handle):
            body = line.rstrip(b"\n").removesuffix(b"\r")
            position = body.find(b"\r")
            if position >= 0 and body.count(b'"', 0, position) % 2 == 0:
                return number
    return None


@functools.lru_cache(maxsize=8)
def _open_cached(folder: Path, signature: tuple) -> DataStore:
    return DataStore(folder)


def touch(path: Path) -> None:
    """Mark a cache file as used (pruning removes files unused for CACHE_MAX_AGE_DAYS)."""
    with contextlib.suppress(OSError):
        os.utime(path)


def _prune(directory: Path, keep: str, folder_id: str) -> None:
    """Remove this folder's earlier cache files, and any cache file unused for CACHE_MAX_AGE_DAYS."""
    cutoff = time.time() - CACHE_MAX_AGE_DAYS * 86400
    for stale in directory.iterdir():
        if stale.name.startswith(keep) or stale.name == f"{folder_id}.lock":
            continue
        with contextlib.suppress(OSError):
            if stale.name.startswith(f"{folder_id}-") or stale.stat().st_mtime < cutoff:
                stale.unlink()


def build_into(path: Path, build) -> None:
    """Attach a new database file at `path`, let `build(catalog)` fill it, and close it; on failure remove it."""
    alias = f"build_{uuid.uuid4().hex[:12]}"
    run(f"ATTACH {_literal(str(path))} AS {alias}")
    try:
        build(alias)
        run(f"CHECKPOINT {alias}")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            run(f"DETACH {alias}")
        for leftover in (path, path.with_name(path.name + ".wal")):
            with contextlib.suppress(OSError):
                leftover.unlink()
        raise
    run(f"DETACH {alias}")


def _database_path(catalog: str) -> Path | None:
    with connection().cursor() as cur:
        row = cur.execute("SELECT path FROM duckdb_databases() WHERE database_name = ?", [catalog]).fetchone()
    return Path(row[0]) if row and row[0] else None


def _attached(catalog: str) -> bool:
    with connection().cursor() as cur:
        return bool(cur.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = ?",
                                [catalog]).fetchone()[0])


@contextlib.contextmanager
def _file_lock(path: Path):
    """An exclusive lock between processes building the same cache (none where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _report_to_json(report: ValidationReport) -> list[dict]:
    return [{"table": table, "present": r.present, "usable": r.usable, "rows": r.rows,
             "issues": [{"file": i.file, "message": i.message, "column": i.column, "row": i.row,
                         "severity": i.severity, "check": i.check} for i in r.issues]}
            for table, r in report.files.items()]


def _report_from_json(folder: Path, files: list[dict]) -> ValidationReport:
    report = ValidationReport(folder)
    for entry in files:
        report.files[entry["table"]] = FileReport(BY_TABLE[entry["table"]], entry["present"], entry["usable"],
                                                  entry["rows"], [Issue(**issue) for issue in entry["issues"]])
    return report


def _memo_key(sql: str, params) -> tuple | None:
    def freeze(value):
        if isinstance(value, (list, tuple)):
            return tuple(freeze(v) for v in value)
        if isinstance(value, dict):
            return tuple(sorted((k, freeze(v)) for k, v in value.items()))
        hash(value)
        return (type(value).__name__, value)
    try:
        return sql, freeze(params or ())
    except TypeError:
        return None


def _literal(value) -> str:
    """A SQL string literal (ATTACH and SET take no parameters)."""
    return "'" + str(value).replace("'", "''") + "'"


def _user() -> str:
    try:
        return str(os.getuid())
    except AttributeError:
        return os.environ.get("USERNAME", "user")
