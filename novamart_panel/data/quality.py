"""Data-quality checks computed from the loaded tables (SPEC §3): empty values, duplicate keys, the
campaign file's derived columns against a recomputation, out-of-range values and anomalies.

Each check is set-based SQL over whole tables. `QualityChecks` runs them once per store, off the
request path (a background thread, started by the Data quality tab or `start(store)`), and keeps the
results in a DuckDB database beside the store's cache file (in memory without one), so later starts
read them at once. The functions below return small frames from those results, waiting for the checks
if they are still running; the tab and the report show them. Row numbers count data rows from 1, as in
the validation report. Tables that did not load are skipped (the validation report already says why).
"""
from __future__ import annotations

import atexit
import contextlib
import os
import threading
import uuid
from pathlib import Path

import duckdb
import pandas as pd

from .. import format as fmt
from .contract import BY_TABLE, CAMPAIGNS, Column
from .store import PYODIDE, DataStore, _attached, _file_lock, _literal, build_into, connection, run, touch
from .validation import (EARLIEST_DATE, ERROR, ValidationReport, _quote, column_bounds, has_duplicate_keys,
                         latest_plausible_date)

# The file stores its derived columns rounded to two decimals: a difference up to half a cent is rounding.
ROUNDING = 0.005
_SLACK = 1e-9  # binary floating point: 3.075 is not exactly 3.075

# stored column → (numerator, denominator, multiplier, formula as the user reads it)
DERIVED_RATIOS = {
    "ctr": ("clicks", "impressions", 100.0, "clicks ÷ impressions × 100"),
    "conversion_rate": ("conversions", "clicks", 100.0, "conversions ÷ clicks × 100"),
    "cpc": ("spend", "clicks", 1.0, "spend ÷ clicks"),
    "cpa": ("spend", "conversions", 1.0, "spend ÷ conversions"),
    "roas": ("revenue", "spend", 1.0, "revenue ÷ spend"),
}
# stored calendar column → (SQL recomputing it from `date`, formula as the user reads it)
DERIVED_CALENDAR = {
    "day_of_week": ("dayname(date)", "weekday name of date"),
    "month": ("monthname(date)", "month name of date"),
    "quarter": ("'Q' || quarter(date)", "quarter of date (Q1…Q4)"),
    "year": ("year(date)", "year of date"),
}
# Campaign columns scored for anomalies, each within its own campaign.
ANOMALY_METRICS = ("impressions", "clicks", "conversions", "spend", "revenue", "ctr", "conversion_rate",
                   "cpc", "cpa", "roas")
MAD_TO_SIGMA = 0.6745  # Φ⁻¹(0.75): the modified z-score of Iglewicz & Hoaglin
# Values beyond this |z| are kept with the results, so any threshold from here up is answered at once
# (the tab's slider starts here); a lower threshold scores the campaign table again.
CANDIDATE_FLOOR = 3.0
EXAMPLES_KEPT = 50     # reconciliation examples kept with the results
ROWS_PER_MEDIAN_PASS = 2_000_000   # campaign rows whose medians are computed at once (bounded memory)
QUALITY_VERSION = 1    # bump when a check changes: stored results of older versions are recomputed

RECONCILIATION_COLUMNS = ["column", "formula", "checked", "mismatched", "max_difference", "undefined",
                          "undefined_stored"]
NULL_COLUMNS = ["file", "column", "rows", "nulls", "allowed"]
DUPLICATE_COLUMNS = ["file", "key", "duplicated_keys", "extra_rows", "example"]
RANGE_COLUMNS = ["file", "column", "allowed", "checked", "outside", "first_row", "example"]
ZERO_SPEND_COLUMNS = ["channel", "rows", "roas_stored", "roas_zero", "revenue"]
EXAMPLE_COLUMNS = ["row", "campaign_id", "date", "column", "stored", "recomputed", "difference"]
ANOMALY_COLUMNS = ["metric", "scored", "anomalies", "share", "max_abs_z"]
ANOMALY_EXAMPLE_COLUMNS = ["row", "campaign_id", "date", "metric", "value", "campaign_median", "robust_z"]


def table_columns(store: DataStore, table: str) -> list[str]:
    """The columns of a loaded table, in file order (the correlation matrix names its own)."""
    frame = store.query("SELECT column_name FROM information_schema.columns WHERE table_catalog = ? "
                        "AND table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                        [store.catalog, store.schema, table])
    return frame["column_name"].tolist()


def _loaded(store: DataStore) -> list[str]:
    return [spec.table for spec in BY_TABLE.values() if store.has(spec.table)]


# -- running the checks once per store ------------------------------------------------------------
class QualityChecks:
    """The data-quality checks of one store: computed once, in a background thread where there are threads."""

    STEPS = ("empty values", "duplicate keys", "stored ratios", "value ranges", "anomalies")

    def __init__(self, store: DataStore):
        self.store = store
        self.catalog = f"q_{store.key}"
        self.state = "waiting"        # waiting → running → ready (or failed)
        self.done = 0                 # steps finished
        self.step = ""                # the step running now
        self.error: str | None = None
        self.computed_here = False    # False: the results of an earlier start were attached
        self._finished = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._cursor = None

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    @property
    def progress(self) -> float:
        """Share of the steps done, 0…1."""
        return self.done / len(self.STEPS)

    def start(self) -> "QualityChecks":
        """Begin computing in a background thread (in Pyodide, which has none, at the first wait)."""
        with self._lock:
            if self.state != "waiting" or PYODIDE:
                return self
            self.state = "running"
            self._thread = threading.Thread(target=self._run, name=f"novamart-quality-{self.store.key}",
                                            daemon=True)
            self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the results are there (computing them here if nothing started); True when ready."""
        with self._lock:
            inline = self.state == "waiting"
            if inline:
                self.state = "running"
        if inline:
            self._run()
        self._finished.wait(timeout)
        if self.state == "failed":
            raise RuntimeError(f"the data-quality checks failed: {self.error}")
        return self.ready

    def stop(self) -> None:
        """Interrupt a running computation (at interpreter exit)."""
        if self._cursor is not None:
            with contextlib.suppress(Exception):
                self._cursor.interrupt()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def table(self, name: str) -> str:
        """The qualified name of one result table (the checks must be ready)."""
        return f"{self.catalog}.main.{name}"

    # -- the work -------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            if self.store.cache_file is not None:
                self._run_cached(self.store.cache_file)
            else:
                self._attach_memory()
                self._compute(self.catalog)
            self.state = "ready"
        except Exception as exc:   # noqa: BLE001 - a failed check must not take the server down
            self.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            self.state = "failed"
        finally:
            self.done = len(self.STEPS) if self.state == "ready" else self.done
            self._finished.set()

    def _attach_memory(self) -> None:
        if _attached(self.catalog):
            run(f"DETACH {self.catalog}")
        run(f"ATTACH ':memory:' AS {self.catalog}")

    def _run_cached(self, cache_file: Path) -> None:
        path = cache_file.with_name(f"{cache_file.stem}.quality-v{QUALITY_VERSION}.duckdb")
        if self._attach(path):
            return
        try:
            with _file_lock(path.with_suffix(".lock")):
                if self._attach(path):     # another process computed them meanwhile
                    return
                building = path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
                build_into(building, self._compute)
                os.replace(building, path)
                if not self._attach(path):
                    raise OSError(f"cannot read back {path}")
        except OSError:   # a read-only cache folder: keep the results in memory
            self.done = 0
            self._attach_memory()
            self._compute(self.catalog)

    def _attach(self, path: Path) -> bool:
        """Attach stored results read-only (or find them attached already); False if there are none."""
        try:
            if not _attached(self.catalog):
                if not path.is_file():
                    return False
                run(f"ATTACH {_literal(str(path))} AS {self.catalog} (READ_ONLY)")
            with connection().cursor() as cur:
                cur.execute(f"SELECT count(*) FROM {self.catalog}.main.anomaly_scored").fetchone()
            touch(path)
            return True
        except duckdb.Error:
            with contextlib.suppress(duckdb.Error):
                run(f"DETACH {self.catalog}")
            return False

    def _compute(self, target: str) -> None:
        self.computed_here = True
        steps = (_save_nulls, _save_duplicates, _save_reconciliation, _save_ranges, _save_anomalies)
        with self.store.cursor() as cur:
            self._cursor = cur
            try:
                for label, step in zip(self.STEPS, steps):
                    self.step = label
                    step(self.store, cur, f"{target}.main")
                    self.done += 1
            finally:
                self._cursor = None


_checks: dict[str, QualityChecks] = {}
_checks_lock = threading.Lock()


def checks(store: DataStore) -> QualityChecks:
    """The one `QualityChecks` of a store (per process)."""
    with _checks_lock:
        found = _checks.get(store.key)
        if found is None or found.store is not store and found.state == "failed":
            found = _checks[store.key] = QualityChecks(store)
        return found


def start(store: DataStore) -> QualityChecks:
    """Start computing a store's checks in the background (idempotent)."""
    return checks(store).start()


@atexit.register
def _stop_all() -> None:
    for job in list(_checks.values()):
        job.stop()


def _results(store: DataStore) -> QualityChecks:
    job = checks(store)
    job.wait()
    return job


def _read(store: DataStore, name: str) -> pd.DataFrame:
    job = _results(store)
    return store.query(f"SELECT * EXCLUDE (ord) FROM {job.table(name)} ORDER BY ord")


def _save(cur, target: str, name: str, columns: dict[str, str], rows: list[tuple]) -> None:
    """A small result table with explicit column types, rows kept in order."""
    spec = ", ".join(f"{_quote(c)} {t}" for c, t in {"ord": "BIGINT", **columns}.items())
    cur.execute(f"CREATE OR REPLACE TABLE {target}.{name} ({spec})")
    if rows:
        marks = ", ".join("?" for _ in range(len(columns) + 1))
        cur.executemany(f"INSERT INTO {target}.{name} VALUES ({marks})", [(i, *row) for i, row in enumerate(rows)])


# -- empty values -----------------------------------------------------------------------------------
def _save_nulls(store: DataStore, cur, target: str) -> None:
    rows = []
    for table in _loaded(store):
        spec = BY_TABLE[table]
        names = table_columns(store, table)
        counts = ", ".join(f"count(*) - count({_quote(n)})" for n in names)
        found = cur.execute(f"SELECT count(*), {counts} FROM {table}").fetchone()
        nullable = {c.name for c in spec.columns if c.nullable}
        rows += [(spec.filename, name, int(found[0]), int(nulls), name in nullable)
                 for name, nulls in zip(names, found[1:])]
    _save(cur, target, "nulls", {"file": "VARCHAR", "column": "VARCHAR", "rows": "BIGINT", "nulls": "BIGINT",
                                 "allowed": "BOOLEAN"}, rows)


def null_counts(store: DataStore) -> pd.DataFrame:
    """Empty values per column of every loaded table; `allowed` marks columns that may be empty."""
    frame = _read(store, "nulls")[NULL_COLUMNS].astype({"rows": int, "nulls": int, "allowed": bool})
    frame["share"] = frame["nulls"] / frame["rows"].where(frame["rows"] > 0)
    return frame


# -- duplicate keys ---------------------------------------------------------------------------------
def _save_duplicates(store: DataStore, cur, target: str) -> None:
    rows = []
    for table in _loaded(store):
        spec = BY_TABLE[table]
        if not spec.key:
            continue
        if not has_duplicate_keys(cur, table, spec.key):
            rows.append((spec.filename, ", ".join(spec.key), 0, 0, None))
            continue
        keys = ", ".join(_quote(k) for k in spec.key)
        shown = " || ' / ' || ".join(f"coalesce({_quote(k)}::VARCHAR, '(empty)')" for k in spec.key)
        found = cur.execute(
            f"WITH groups AS (SELECT {keys}, count(*) AS n, min(rowid) AS first_rowid FROM {table} "
            f"GROUP BY {keys} HAVING count(*) > 1) "
            f"SELECT count(*) AS keys, coalesce(sum(n - 1), 0) AS extra_rows, "
            f"arg_min({shown}, first_rowid) AS example FROM groups").fetchone()
        rows.append((spec.filename, ", ".join(spec.key), int(found[0]), int(found[1]),
                     found[2] if int(found[0]) else None))
    _save(cur, target, "duplicates", {"file": "VARCHAR", "key": "VARCHAR", "duplicated_keys": "BIGINT",
                                      "extra_rows": "BIGINT", "example": "VARCHAR"}, rows)


def duplicate_keys(store: DataStore) -> pd.DataFrame:
    """Per loaded table with a key: how many key values occur more than once, and the first of them."""
    frame = _read(store, "duplicates")[DUPLICATE_COLUMNS].astype({"duplicated_keys": int, "extra_rows": int})
    frame["example"] = frame["example"].astype(object).where(frame["example"].notna(), None)
    return frame


# -- the campaign file's derived columns ------------------------------------------------------------
def _reconciliation_rows(cur, tolerance: float) -> list[tuple]:
    """One scan of the campaign table: per derived column, rows checked, mismatched, undefined …"""
    parts, params = [], []
    for column, (num, den, mult, _) in DERIVED_RATIOS.items():
        recomputed = f"{num} / nullif({den}, 0) * {mult}"
        parts += [f"count(*) FILTER (WHERE {den} <> 0 AND {column} IS NOT NULL AND {num} IS NOT NULL)",
                  f"count(*) FILTER (WHERE abs({column} - {recomputed}) > ?)",
                  f"max(abs({column} - {recomputed}))",
                  f"count(*) FILTER (WHERE {den} = 0)",
                  f"count(*) FILTER (WHERE {den} = 0 AND {column} IS NOT NULL)"]
        params.append(tolerance + _SLACK)
    for column, (sql, _) in DERIVED_CALENDAR.items():
        parts += [f"count(*) FILTER (WHERE date IS NOT NULL AND {column} IS NOT NULL)",
                  f"count(*) FILTER (WHERE {column} <> {sql})"]
    found = iter(cur.execute(f"SELECT {', '.join(parts)} FROM campaigns", params).fetchone())
    rows = [(column, formula, *(next(found) for _ in range(5))) for column, (_, _, _, formula) in DERIVED_RATIOS.items()]
    rows += [(column, formula, next(found), next(found), None, 0, 0) for column, (_, formula) in DERIVED_CALENDAR.items()]
    return rows


def _examples_sql(limit_rows: bool) -> str:
    """Rows whose stored ratio differs from the recomputation by more than `?`, first rows first."""
    differs = " OR ".join(f"abs({column} - {num} / nullif({den}, 0) * {mult}) > ?"
                          for column, (num, den, mult, _) in DERIVED_RATIOS.items())
    parts = [f"SELECT row, campaign_id, date, '{column}' AS \"column\", {column}::DOUBLE AS stored, "
             f"{num} / nullif({den}, 0) * {mult} AS recomputed FROM first_rows"
             for column, (num, den, mult, _) in DERIVED_RATIOS.items()]
    return (f"WITH first_rows AS (SELECT rowid + 1 AS row, * FROM campaigns WHERE {differs} ORDER BY rowid "
            f"{'LIMIT ?' if limit_rows else ''}) "
            f"SELECT *, stored - recomputed AS difference FROM ({' UNION ALL '.join(parts)}) "
            "WHERE abs(stored - recomputed) > ? ORDER BY row, \"column\" LIMIT ?")


def _examples(cur, tolerance: float, limit: int) -> list[tuple]:
    slack = tolerance + _SLACK
    return cur.execute(_examples_sql(True), [slack] * len(DERIVED_RATIOS) + [limit, slack, limit]).fetchall()


def _save_reconciliation(store: DataStore, cur, target: str) -> None:
    campaigns = store.has("campaigns")
    _save(cur, target, "reconciliation", {"column": "VARCHAR", "formula": "VARCHAR", "checked": "BIGINT",
                                          "mismatched": "BIGINT", "max_difference": "DOUBLE",
                                          "undefined": "BIGINT", "undefined_stored": "BIGINT"},
          _reconciliation_rows(cur, ROUNDING) if campaigns else [])
    _save(cur, target, "reconciliation_examples", {"row": "BIGINT", "campaign_id": "VARCHAR", "date": "DATE",
                                                   "column": "VARCHAR", "stored": "DOUBLE", "recomputed": "DOUBLE",
                                                   "difference": "DOUBLE"},
          _examples(cur, ROUNDING, EXAMPLES_KEPT) if campaigns else [])
    zero_spend = cur.execute(
        "SELECT channel, count(*) AS rows, count(roas) AS roas_stored, count(*) FILTER (WHERE roas = 0) AS roas_zero, "
        "sum(revenue) AS revenue FROM campaigns WHERE spend = 0 GROUP BY channel ORDER BY rows DESC, channel"
    ).fetchall() if campaigns else []
    _save(cur, target, "zero_spend", {"channel": "VARCHAR", "rows": "BIGINT", "roas_stored": "BIGINT",
                                      "roas_zero": "BIGINT", "revenue": "DOUBLE"}, zero_spend)


def reconciliation(store: DataStore, tolerance: float = ROUNDING) -> pd.DataFrame:
    """The campaign file's stored ratios and calendar columns against a recomputation from its own data.

    A ratio mismatches when it differs from the recomputation by more than `tolerance`; `undefined`
    counts rows whose denominator is 0 (the ratio has no value) and `undefined_stored` those of them
    where the file still stores a number.
    """
    if not store.has("campaigns"):
        return pd.DataFrame(columns=RECONCILIATION_COLUMNS)
    if tolerance == ROUNDING:
        frame = _read(store, "reconciliation")
    else:
        with store.cursor() as cur:
            frame = pd.DataFrame(_reconciliation_rows(cur, tolerance), columns=RECONCILIATION_COLUMNS)
    return frame[RECONCILIATION_COLUMNS].astype({"checked": int, "mismatched": int, "undefined": int,
                                                 "undefined_stored": int, "max_difference": float})


def reconciliation_examples(store: DataStore, limit: int = 10, tolerance: float = ROUNDING) -> pd.DataFrame:
    """The first rows whose stored ratio differs from the recomputation by more than rounding."""
    if not store.has("campaigns"):
        return pd.DataFrame(columns=EXAMPLE_COLUMNS)
    if tolerance == ROUNDING and limit <= EXAMPLES_KEPT:
        frame = _read(store, "reconciliation_examples").head(limit)
    else:
        with store.cursor() as cur:
            frame = pd.DataFrame(_examples(cur, tolerance, limit), columns=EXAMPLE_COLUMNS)
    return frame[EXAMPLE_COLUMNS].reset_index(drop=True)


def zero_spend_rows(store: DataStore) -> pd.DataFrame:
    """Rows without spend per channel (ROAS is undefined there) and how many store a ROAS anyway."""
    if not store.has("campaigns"):
        return pd.DataFrame(columns=ZERO_SPEND_COLUMNS)
    return _read(store, "zero_spend")[ZERO_SPEND_COLUMNS]


# -- values outside the contract's ranges -----------------------------------------------------------
def _range_rule(column: Column) -> tuple[str, list, str] | None:
    """(SQL condition true for a value out of range, its parameters, the rule in words), or None."""
    ident = _quote(column.name)
    if column.is_numeric and (column.min is not None or column.max is not None):
        low, high = column_bounds(column)
        words = f"≥ {column.min:g}" if column.max is None else (
            f"≤ {column.max:g}" if column.min is None else f"{column.min:g} … {column.max:g}")
        return f"({ident} < ? OR {ident} > ?)", [low, high], words
    if column.values:
        return f"NOT list_contains(?, {ident})", [list(column.values)], ", ".join(column.values)
    if column.type == "DATE":
        low, high = EARLIEST_DATE, latest_plausible_date()
        return f"({ident} < ? OR {ident} > ?)", [low, high], f"{low.isoformat()} … {high.isoformat()}"
    return None


def _save_ranges(store: DataStore, cur, target: str) -> None:
    rows = []
    for table in _loaded(store):
        spec = BY_TABLE[table]
        ruled = [(column, rule) for column in spec.columns if (rule := _range_rule(column)) is not None]
        if not ruled:
            continue
        # One scan counts every column; only columns with values outside look up their first one.
        parts = [f"count({_quote(column.name)}), count(*) FILTER (WHERE {condition})"
                 for column, (condition, _, _) in ruled]
        found = iter(cur.execute(f"SELECT {', '.join(parts)} FROM {table}",
                                 [p for _, (_, params, _) in ruled for p in params]).fetchone())
        for column, (condition, params, words) in ruled:
            checked, outside = next(found), next(found)
            first_row = example = None
            if outside:
                first_row, example = cur.execute(
                    f"SELECT rowid + 1, {_quote(column.name)}::VARCHAR FROM {table} WHERE {condition} "
                    "ORDER BY rowid LIMIT 1", params).fetchone()
            rows.append((spec.filename, column.header, words, int(checked), int(outside), first_row, example))
    _save(cur, target, "ranges", {"file": "VARCHAR", "column": "VARCHAR", "allowed": "VARCHAR", "checked": "BIGINT",
                                  "outside": "BIGINT", "first_row": "BIGINT", "example": "VARCHAR"}, rows)


def out_of_range(store: DataStore) -> pd.DataFrame:
    """Every contract column with a range or a set of values: how many values fall outside it."""
    frame = _read(store, "ranges")[RANGE_COLUMNS]
    frame = frame.astype({"checked": int, "outside": int, "first_row": "Int64"})
    frame["example"] = frame["example"].astype(object).where(frame["example"].notna(), None)
    return frame


# -- anomalies: robust z-scores within each campaign ------------------------------------------------
def _stats_sql() -> str:
    """Per campaign and metric: the median and the median absolute deviation from it, for the campaigns
    of one hash bucket (`hash(campaign_id) % ? = ?`: medians hold their values in memory)."""
    bucket = "hash(campaign_id) % ? = ?"
    medians = ", ".join(f"median({m}::DOUBLE) AS {m}_median" for m in ANOMALY_METRICS)
    deviations = ", ".join(f"median(abs(c.{m}::DOUBLE - s.{m}_median)) AS {m}_mad" for m in ANOMALY_METRICS)
    kept = ", ".join(f"any_value(s.{m}_median) AS {m}_median" for m in ANOMALY_METRICS)
    return (f"WITH s AS (SELECT campaign_id, {medians} FROM campaigns WHERE {bucket} GROUP BY campaign_id) "
            f"SELECT s.campaign_id, {kept}, {deviations} FROM (SELECT * FROM campaigns WHERE {bucket}) c "
            "JOIN s ON c.campaign_id IS NOT DISTINCT FROM s.campaign_id GROUP BY s.campaign_id")


def _scored_sql(stats: str) -> str:
    """Each campaign row with its value, campaign median and robust z-score per metric (wide)."""
    columns = ", ".join(
        f"c.{m}::DOUBLE AS {m}_value, s.{m}_median, "
        f"CASE WHEN s.{m}_mad > 0 THEN {MAD_TO_SIGMA} * (c.{m}::DOUBLE - s.{m}_median) / s.{m}_mad END AS {m}_z"
        for m in ANOMALY_METRICS)
    return (f"SELECT c.rowid + 1 AS row, c.campaign_id, c.date, {columns} FROM campaigns c "
            f"JOIN {stats} s ON c.campaign_id IS NOT DISTINCT FROM s.campaign_id")


def _long_sql(wide: str, condition: str) -> str:
    """One row per (campaign row, metric) whose |z| satisfies `condition` (with `z` for the score)."""
    return " UNION ALL ".join(
        f"SELECT row, campaign_id, date, '{m}' AS metric, {m}_value AS value, {m}_median AS campaign_median, "
        f"{m}_z AS robust_z FROM {wide} WHERE {condition.format(z=m + '_z')}" for m in ANOMALY_METRICS)


def _save_anomalies(store: DataStore, cur, target: str) -> None:
    if not store.has("campaigns"):
        _save(cur, target, "anomaly_scored", {"metric": "VARCHAR", "scored": "BIGINT", "max_abs_z": "DOUBLE"}, [])
        return
    rows = cur.execute("SELECT count(*) FROM campaigns").fetchone()[0]
    buckets = max(1, -(-rows // ROWS_PER_MEDIAN_PASS))
    for bucket in range(buckets):
        verb = f"CREATE OR REPLACE TABLE {target}.campaign_stats AS" if bucket == 0 else \
            f"INSERT INTO {target}.campaign_stats"
        cur.execute(f"{verb} {_stats_sql()}", [buckets, bucket, buckets, bucket])
    wide = f"({_scored_sql(target + '.campaign_stats')})"
    found = iter(cur.execute("SELECT " + ", ".join(f"count({m}_z), max(abs({m}_z))" for m in ANOMALY_METRICS)
                             + f" FROM {wide}").fetchone())
    _save(cur, target, "anomaly_scored", {"metric": "VARCHAR", "scored": "BIGINT", "max_abs_z": "DOUBLE"},
          [(m, next(found), next(found)) for m in ANOMALY_METRICS])
    any_far = " OR ".join(f"abs({m}_z) > {CANDIDATE_FLOOR!r}" for m in ANOMALY_METRICS)
    cur.execute(f"CREATE OR REPLACE TABLE {target}.anomaly_candidates AS "
                f"WITH far AS (SELECT * FROM {wide} WHERE {any_far}) "
                f"{_long_sql('far', 'abs({z}) > ' + repr(CANDIDATE_FLOOR))} ORDER BY abs(robust_z) DESC, row, metric")


def anomalies(store: DataStore, threshold: float = 5.0) -> pd.DataFrame:
    """Per campaign metric: rows scored, rows with |robust z| > threshold within their campaign, largest |z|.

    A campaign whose values mostly repeat (MAD = 0, e.g. zero spend every day) is not scored.
    """
    if not store.has("campaigns"):
        return pd.DataFrame(columns=ANOMALY_COLUMNS)
    job = _results(store)
    if threshold >= CANDIDATE_FLOOR:
        counts = f"SELECT metric, count(*) AS n FROM {job.table('anomaly_candidates')} WHERE abs(robust_z) > ? GROUP BY metric"
    else:
        wide = f"({_scored_sql(job.table('campaign_stats'))})"
        counts = " UNION ALL ".join(f"SELECT '{m}' AS metric, count(*) FILTER (WHERE abs({m}_z) > ?) AS n FROM {wide}"
                                    for m in ANOMALY_METRICS)
    frame = store.query(f"SELECT s.metric, s.scored, coalesce(c.n, 0) AS anomalies, s.max_abs_z "
                        f"FROM {job.table('anomaly_scored')} s LEFT JOIN ({counts}) c USING (metric) ORDER BY s.ord",
                        [threshold] * (1 if threshold >= CANDIDATE_FLOOR else len(ANOMALY_METRICS)))
    frame["share"] = frame["anomalies"] / frame["scored"].where(frame["scored"] > 0)
    return frame[ANOMALY_COLUMNS].astype({"scored": int, "anomalies": int, "max_abs_z": float})


def anomaly_examples(store: DataStore, threshold: float = 5.0, limit: int = 10) -> pd.DataFrame:
    """The campaign rows furthest from their campaign's median (|robust z| > threshold), largest first."""
    if not store.has("campaigns"):
        return pd.DataFrame(columns=ANOMALY_EXAMPLE_COLUMNS)
    job = _results(store)
    if threshold >= CANDIDATE_FLOOR:
        source = job.table("anomaly_candidates")
    else:
        source = f"({_long_sql('(' + _scored_sql(job.table('campaign_stats')) + ')', 'abs({z}) > ' + repr(threshold))})"
    return store.query(f"SELECT * FROM {source} WHERE abs(robust_z) > ? ORDER BY abs(robust_z) DESC, row, metric "
                       "LIMIT ?", [threshold, limit])[ANOMALY_EXAMPLE_COLUMNS]


def campaign_metric_kind(metric: str) -> str:
    """How a campaign metric is formatted: 'money', 'count', 'percent' or 'ratio'."""
    if metric in ("ctr", "conversion_rate"):
        return "percent"
    if metric == "roas":
        return "ratio"
    column = CAMPAIGNS.column(metric)
    return "count" if column.type == "BIGINT" else "money"


# -- sentences (the tab and the report print these) ----------------------------------------------
METRIC_LABELS = {"impressions": "impressions", "clicks": "clicks", "conversions": "conversions",
                 "spend": "spend", "revenue": "revenue", "ctr": "CTR", "conversion_rate": "conversion rate",
                 "cpc": "CPC", "cpa": "CPA", "roas": "ROAS"}


def format_campaign_value(metric: str, value) -> str:
    """A campaign metric value in its unit (rupees, count, percent of 100, multiple)."""
    kind = campaign_metric_kind(metric)
    if kind == "percent":
        return fmt.percent(value, scale=100)
    return fmt.format_value(value, kind)


def _text(value) -> str:
    """A value from a data file as literal text inside a Markdown sentence (format.escape_markdown)."""
    return fmt.escape_markdown(value)


def _listing(items: list[str], limit: int = 4) -> str:
    shown = items[:limit] + ([f"{len(items) - limit} more"] if len(items) > limit else [])
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def verdict(report: ValidationReport) -> str:
    """Whether the folder meets the contract, which files do not and why, and what optional files add."""
    folder = report.files.get("(folder)")
    if folder is not None:
        return (f"**{_text(report.folder)}**: {folder.issues[0].message}. Point the app at a folder holding the "
                "11 required files (`novamart-panel validate DIR` checks one).")
    required = [r for r in report.files.values() if r.spec.required]
    optional = [r for r in report.files.values() if not r.spec.required]
    failing = [r for r in required if not r.ok]
    if failing:
        lines = [f"**{len(failing)} of {len(required)} required files {'has' if len(failing) == 1 else 'have'} "
                 "problems** (sections that need an unusable file say so; the others work with what loaded):"]
        for r in failing:
            errors = [i for i in r.issues if i.severity == ERROR]
            first = _text(str(errors[0]).removeprefix(r.spec.filename).lstrip(":, "))
            more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            lines.append(f"- **{r.spec.filename}** is {r.status}: {first}{more}")
        text = "\n".join(lines) + "\n\n"
    else:
        rows = sum(r.rows for r in required)
        text = f"All {len(required)} required files meet the contract ({fmt.count(rows)} rows)."
    extras = []
    loaded = [r.spec.filename for r in optional if r.usable and r.ok]
    broken = [f"{r.spec.filename} ({r.status})" for r in optional if r.present and not r.ok]
    absent = [f"{r.spec.filename} (unlocks {r.spec.unlocks})" for r in optional if not r.present]
    if loaded:
        extras.append(f"Optional files loaded: {_listing(loaded)}.")
    if broken:
        extras.append(f"Optional files with problems: {_listing(broken)}.")
    if absent:
        extras.append(f"Optional files absent: {_listing(absent, limit=len(absent))}.")
    return (text + " " + " ".join(extras)).strip()


def nulls_sentence(nulls: pd.DataFrame) -> str:
    """Which required columns have empty values, and which empty values the contract expects."""
    if nulls.empty:
        return "No file loaded, so there are no values to check."
    unexpected = nulls[(nulls["nulls"] > 0) & ~nulls["allowed"]]
    expected = nulls[(nulls["nulls"] > 0) & nulls["allowed"]]
    if unexpected.empty:
        text = (f"No empty values where a value is required ({nulls['file'].nunique()} files, "
                f"{int((~nulls['allowed']).sum())} columns).")
    else:
        items = [f"{r.file} {_text(r.column)} ({fmt.count(r.nulls)} of {fmt.count(r.rows)} rows)"
                 for r in unexpected.sort_values("nulls", ascending=False).itertuples()]
        text = (f"{len(unexpected)} column{'s have' if len(unexpected) > 1 else ' has'} empty values where a "
                f"value is required: {_listing(items)}.")
    if not expected.empty:
        items = [f"{_text(r.column)} ({fmt.count(r.nulls)} of {fmt.count(r.rows)})" for r in expected.itertuples()]
        text += (f" Empty by design (a journey ends before its last touchpoint): {_listing(items)} in "
                 f"{_listing(sorted(expected['file'].unique()))}.")
    return text


def duplicates_sentence(dupes: pd.DataFrame) -> str:
    """Which files repeat a key value."""
    if dupes.empty:
        return "No keyed file loaded, so there are no keys to check."
    repeated = dupes[dupes["duplicated_keys"] > 0]
    if repeated.empty:
        return f"No duplicate keys: every row of the {len(dupes)} keyed files is unique on its key."
    items = [f"**{r.file}** repeats {fmt.count(r.duplicated_keys)} {r.key} value"
             f"{'s' if r.duplicated_keys > 1 else ''} ({fmt.count(r.extra_rows)} extra "
             f"row{'s' if r.extra_rows > 1 else ''}; first: {_text(r.example)})" for r in repeated.itertuples()]
    return _listing(items, limit=len(items)) + ". Sums over such rows count them twice."


def reconciliation_sentence(recon: pd.DataFrame, zero_spend: pd.DataFrame) -> str:
    """Whether the stored ratios and calendar columns agree with their recomputation; undefined ratios."""
    if recon.empty:
        return "campaign_performance.csv is not loaded, so its derived columns cannot be checked."
    ratios = recon[recon["column"].isin(list(DERIVED_RATIOS))]
    calendar = recon[recon["column"].isin(list(DERIVED_CALENDAR))]
    wrong = recon[recon["mismatched"] > 0]
    if wrong.empty:
        text = (f"All {len(ratios)} stored ratios ({_listing([METRIC_LABELS[c] for c in ratios['column']], 5)}) "
                f"and {len(calendar)} calendar columns of campaign_performance.csv match a recomputation from "
                f"the file's own counts, spend, revenue and dates (within ±{ROUNDING:g} rounding).")
    else:
        items = [f"{r.column} on {fmt.count(r.mismatched)} of {fmt.count(r.checked)} rows ({r.formula})"
                 for r in wrong.itertuples()]
        text = (f"Stored values disagree with their recomputation by more than rounding: {_listing(items)}. "
                "The app recomputes every ratio from sums, so these stored values are not used.")
    for r in ratios[ratios["undefined_stored"] > 0].itertuples():
        den = DERIVED_RATIOS[r.column][1]
        text += f" {METRIC_LABELS[r.column]} has no value on the {fmt.count(r.undefined)} rows with zero {den}"
        stored = f"a number on {fmt.count(r.undefined_stored)}"
        if r.column == "roas" and not zero_spend.empty:
            channels = [f"{c.channel} {fmt.count(c.rows)}" for c in zero_spend.itertuples()]
            text += f" ({_listing(channels)})"
            zeros = int(zero_spend["roas_zero"].sum())
            stored = f"0 on {fmt.count(zeros)}" if zeros == r.undefined_stored else stored
        text += (f", yet the file stores {stored} of them; the app computes {METRIC_LABELS[r.column]} from sums "
                 "and shows n/a where it is undefined.")
    return text


def range_sentence(ranges: pd.DataFrame) -> str:
    """Which columns hold values outside their contract range or set of values."""
    if ranges.empty:
        return "No file loaded, so there are no values to check."
    outside = ranges[ranges["outside"] > 0]
    if outside.empty:
        return (f"Every value is inside its contract range or set: {fmt.count(ranges['checked'].sum())} values "
                f"in {len(ranges)} columns of {ranges['file'].nunique()} files.")
    items = [f"{r.file} {r.column}: {fmt.count(r.outside)} value{'s' if r.outside > 1 else ''} outside "
             f"{r.allowed} (first row {r.first_row}: {_text(r.example)})" for r in outside.itertuples()]
    return f"{len(outside)} column{'s' if len(outside) > 1 else ''} break{'' if len(outside) > 1 else 's'} " \
           f"the contract's range: {_listing(items)}."


def anomaly_sentence(summary: pd.DataFrame, examples: pd.DataFrame, threshold: float) -> str:
    """How many campaign values lie far from their campaign's median, where, and the furthest one."""
    if summary.empty:
        return "campaign_performance.csv is not loaded, so there is nothing to score."
    total = int(summary["anomalies"].sum())
    if total == 0:
        return (f"No campaign value lies more than {threshold:g} robust z-scores from its campaign's median "
                f"({fmt.count(summary['scored'].sum())} values scored).")
    top = summary.loc[summary["anomalies"].idxmax()]
    text = (f"{fmt.count(total)} campaign values lie more than {threshold:g} robust z-scores from their "
            f"campaign's median; most in {METRIC_LABELS[top['metric']]} ({fmt.count(top['anomalies'])} of "
            f"{fmt.count(top['scored'])} scored rows).")
    if not examples.empty:
        far = examples.iloc[0]
        when = f"on {pd.Timestamp(far['date']):%d %b %Y}" if pd.notna(far["date"]) else "on a row without a date"
        text += (f" The furthest: {_text(far['campaign_id'])} {when} (row {far['row']}), "
                 f"{METRIC_LABELS[far['metric']]} {format_campaign_value(far['metric'], far['value'])} against a "
                 f"campaign median of {format_campaign_value(far['metric'], far['campaign_median'])} "
                 f"(z = {far['robust_z']:.1f}).")
    return text + " These are values to check, not necessarily errors."
