"""Data-quality checks computed from the loaded tables (SPEC §3): empty values, duplicate keys, the
campaign file's derived columns against a recomputation, out-of-range values and anomalies.

Each function takes a `DataStore` and returns a small frame; the Data Quality tab and the report show
them. Row numbers count data rows from 1, as in the validation report. Tables that did not load are
skipped (the validation report already says why).
"""
from __future__ import annotations

import pandas as pd

from .. import format as fmt
from .contract import BY_TABLE, CAMPAIGNS, Column
from .store import DataStore
from .validation import ERROR, ValidationReport, _quote, column_bounds

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

RECONCILIATION_COLUMNS = ["column", "formula", "checked", "mismatched", "max_difference", "undefined",
                          "undefined_stored"]


def table_columns(store: DataStore, table: str) -> list[str]:
    """The columns of a loaded table, in file order (the correlation matrix names its own)."""
    frame = store.query("SELECT column_name FROM information_schema.columns WHERE table_schema = ? "
                        "AND table_name = ? ORDER BY ordinal_position", [store.schema, table])
    return frame["column_name"].tolist()


def _loaded(store: DataStore) -> list[str]:
    return [spec.table for spec in BY_TABLE.values() if store.has(spec.table)]


def null_counts(store: DataStore) -> pd.DataFrame:
    """Empty values per column of every loaded table; `allowed` marks columns that may be empty."""
    rows = []
    for table in _loaded(store):
        spec = BY_TABLE[table]
        names = table_columns(store, table)
        counts = ", ".join(f"count(*) - count({_quote(n)})" for n in names)
        found = store.query(f"SELECT count(*), {counts} FROM {table}").iloc[0].tolist()
        total = int(found[0])
        nullable = {c.name for c in spec.columns if c.nullable}
        for name, nulls in zip(names, found[1:]):
            rows.append((spec.filename, name, total, int(nulls), name in nullable))
    frame = pd.DataFrame(rows, columns=["file", "column", "rows", "nulls", "allowed"])
    frame["share"] = frame["nulls"] / frame["rows"].where(frame["rows"] > 0)
    return frame


def duplicate_keys(store: DataStore) -> pd.DataFrame:
    """Per loaded table with a key: how many key values occur more than once, and the first of them."""
    rows = []
    for table in _loaded(store):
        spec = BY_TABLE[table]
        if not spec.key:
            continue
        keys = ", ".join(_quote(k) for k in spec.key)
        shown = " || ' / ' || ".join(f"coalesce({_quote(k)}::VARCHAR, '(empty)')" for k in spec.key)
        found = store.query(
            f"WITH groups AS (SELECT {shown} AS key_value, count(*) AS n, min(rowid) + 1 AS first_row "
            f"FROM {table} GROUP BY {keys} HAVING count(*) > 1) "
            "SELECT count(*) AS keys, coalesce(sum(n - 1), 0) AS extra_rows, "
            "arg_min(key_value, first_row) AS example, min(first_row) AS first_row FROM groups").iloc[0]
        rows.append((spec.filename, ", ".join(spec.key), int(found["keys"]), int(found["extra_rows"]),
                     found["example"] if int(found["keys"]) else None))
    return pd.DataFrame(rows, columns=["file", "key", "duplicated_keys", "extra_rows", "example"])


def reconciliation(store: DataStore, tolerance: float = ROUNDING) -> pd.DataFrame:
    """The campaign file's stored ratios and calendar columns against a recomputation from its own data.

    A ratio mismatches when it differs from the recomputation by more than `tolerance`; `undefined`
    counts rows whose denominator is 0 (the ratio has no value) and `undefined_stored` those of them
    where the file still stores a number.
    """
    if not store.has("campaigns"):
        return pd.DataFrame(columns=RECONCILIATION_COLUMNS)
    parts, params = [], []
    for column, (num, den, mult, formula) in DERIVED_RATIOS.items():
        recomputed = f"{num} / nullif({den}, 0) * {mult}"
        parts.append(
            f"SELECT '{column}' AS \"column\", '{formula}' AS formula, "
            f"count(*) FILTER (WHERE {den} <> 0 AND {column} IS NOT NULL AND {num} IS NOT NULL) AS checked, "
            f"count(*) FILTER (WHERE abs({column} - {recomputed}) > ?) AS mismatched, "
            f"max(abs({column} - {recomputed})) AS max_difference, "
            f"count(*) FILTER (WHERE {den} = 0) AS undefined, "
            f"count(*) FILTER (WHERE {den} = 0 AND {column} IS NOT NULL) AS undefined_stored FROM campaigns")
        params.append(tolerance + _SLACK)
    for column, (sql, formula) in DERIVED_CALENDAR.items():
        parts.append(
            f"SELECT '{column}' AS \"column\", '{formula}' AS formula, "
            f"count(*) FILTER (WHERE date IS NOT NULL AND {column} IS NOT NULL) AS checked, "
            f"count(*) FILTER (WHERE {column} <> {sql}) AS mismatched, NULL::DOUBLE AS max_difference, "
            "0 AS undefined, 0 AS undefined_stored FROM campaigns")
    return store.query(" UNION ALL ".join(parts), params)[RECONCILIATION_COLUMNS].astype(
        {"checked": int, "mismatched": int, "undefined": int, "undefined_stored": int})


def reconciliation_examples(store: DataStore, limit: int = 10, tolerance: float = ROUNDING) -> pd.DataFrame:
    """The first rows whose stored ratio differs from the recomputation by more than rounding."""
    columns = ["row", "campaign_id", "date", "column", "stored", "recomputed", "difference"]
    if not store.has("campaigns"):
        return pd.DataFrame(columns=columns)
    parts = [
        f"SELECT rowid + 1 AS row, campaign_id, date, '{column}' AS \"column\", {column}::DOUBLE AS stored, "
        f"{num} / nullif({den}, 0) * {mult} AS recomputed FROM campaigns"
        for column, (num, den, mult, _) in DERIVED_RATIOS.items()
    ]
    return store.query(
        f"SELECT *, stored - recomputed AS difference FROM ({' UNION ALL '.join(parts)}) "
        "WHERE abs(stored - recomputed) > ? ORDER BY row, \"column\" LIMIT ?", [tolerance + _SLACK, limit])[columns]


def zero_spend_rows(store: DataStore) -> pd.DataFrame:
    """Rows without spend per channel (ROAS is undefined there) and how many store a ROAS anyway."""
    if not store.has("campaigns"):
        return pd.DataFrame(columns=["channel", "rows", "roas_stored", "roas_zero", "revenue"])
    return store.query(
        "SELECT channel, count(*) AS rows, count(roas) AS roas_stored, count(*) FILTER (WHERE roas = 0) AS roas_zero, "
        "sum(revenue) AS revenue FROM campaigns WHERE spend = 0 GROUP BY channel ORDER BY rows DESC, channel")


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
    return None


def out_of_range(store: DataStore) -> pd.DataFrame:
    """Every contract column with a range or a set of values: how many values fall outside it."""
    rows = []
    for table in _loaded(store):
        spec = BY_TABLE[table]
        for column in spec.columns:
            rule = _range_rule(column)
            if rule is None:
                continue
            condition, params, words = rule
            found = store.query(
                f"SELECT count({_quote(column.name)}) AS checked, count(*) FILTER (WHERE {condition}) AS outside, "
                f"min(rowid) FILTER (WHERE {condition}) + 1 AS first_row, "
                f"arg_min({_quote(column.name)}::VARCHAR, rowid) FILTER (WHERE {condition}) AS example "
                f"FROM {table}", params * 3).iloc[0]
            first_row = None if pd.isna(found["first_row"]) else int(found["first_row"])
            rows.append((spec.filename, column.header, words, int(found["checked"]), int(found["outside"]),
                         first_row, found["example"]))
    frame = pd.DataFrame(rows, columns=["file", "column", "allowed", "checked", "outside", "first_row", "example"])
    return frame.astype({"first_row": "Int64"})


def _scored_sql(metrics: tuple[str, ...]) -> str:
    """Each campaign row's robust z-score per metric, against that campaign's median and MAD."""
    values = ", ".join(f"{m}::DOUBLE AS {m}" for m in metrics)
    return (
        f"WITH long AS (UNPIVOT (SELECT rowid + 1 AS row, campaign_id, date, {values} FROM campaigns) "
        f"ON {', '.join(metrics)} INTO NAME metric VALUE value), "
        "centred AS (SELECT *, median(value) OVER (PARTITION BY metric, campaign_id) AS campaign_median "
        "FROM long), "
        "spread AS (SELECT *, median(abs(value - campaign_median)) OVER (PARTITION BY metric, campaign_id) AS mad "
        "FROM centred) "
        f"SELECT row, campaign_id, date, metric, value, campaign_median, "
        f"CASE WHEN mad > 0 THEN {MAD_TO_SIGMA} * (value - campaign_median) / mad END AS robust_z FROM spread")


def anomalies(store: DataStore, threshold: float = 5.0) -> pd.DataFrame:
    """Per campaign metric: rows scored, rows with |robust z| > threshold within their campaign, largest |z|.

    A campaign whose values mostly repeat (MAD = 0, e.g. zero spend every day) is not scored.
    """
    columns = ["metric", "scored", "anomalies", "share", "max_abs_z"]
    if not store.has("campaigns"):
        return pd.DataFrame(columns=columns)
    frame = store.query(
        f"SELECT metric, count(robust_z) AS scored, count(*) FILTER (WHERE abs(robust_z) > ?) AS anomalies, "
        f"max(abs(robust_z)) AS max_abs_z FROM ({_scored_sql(ANOMALY_METRICS)}) GROUP BY metric", [threshold])
    order = {m: i for i, m in enumerate(ANOMALY_METRICS)}
    frame = frame.sort_values("metric", key=lambda s: s.map(order), ignore_index=True)
    frame["share"] = frame["anomalies"] / frame["scored"].where(frame["scored"] > 0)
    return frame[columns].astype({"scored": int, "anomalies": int})


def anomaly_examples(store: DataStore, threshold: float = 5.0, limit: int = 10) -> pd.DataFrame:
    """The campaign rows furthest from their campaign's median (|robust z| > threshold), largest first."""
    columns = ["row", "campaign_id", "date", "metric", "value", "campaign_median", "robust_z"]
    if not store.has("campaigns"):
        return pd.DataFrame(columns=columns)
    return store.query(
        f"SELECT * FROM ({_scored_sql(ANOMALY_METRICS)}) WHERE abs(robust_z) > ? "
        "ORDER BY abs(robust_z) DESC, row, metric LIMIT ?", [threshold, limit])[columns]


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


def _listing(items: list[str], limit: int = 4) -> str:
    shown = items[:limit] + ([f"{len(items) - limit} more"] if len(items) > limit else [])
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def verdict(report: ValidationReport) -> str:
    """Whether the folder meets the contract, which files do not and why, and what optional files add."""
    folder = report.files.get("(folder)")
    if folder is not None:
        return (f"**{report.folder}**: {folder.issues[0].message}. Point the app at a folder holding the "
                "11 required files (`novamart-panel validate DIR` checks one).")
    required = [r for r in report.files.values() if r.spec.required]
    optional = [r for r in report.files.values() if not r.spec.required]
    failing = [r for r in required if not r.ok]
    if failing:
        lines = [f"**{len(failing)} of {len(required)} required files {'has' if len(failing) == 1 else 'have'} "
                 "problems** (sections that need an unusable file say so; the others work with what loaded):"]
        for r in failing:
            errors = [i for i in r.issues if i.severity == ERROR]
            first = str(errors[0]).removeprefix(r.spec.filename).lstrip(":, ")
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
        items = [f"{r.file} {r.column} ({fmt.count(r.nulls)} of {fmt.count(r.rows)} rows)"
                 for r in unexpected.sort_values("nulls", ascending=False).itertuples()]
        text = (f"{len(unexpected)} column{'s have' if len(unexpected) > 1 else ' has'} empty values where a "
                f"value is required: {_listing(items)}.")
    if not expected.empty:
        items = [f"{r.column} ({fmt.count(r.nulls)} of {fmt.count(r.rows)})" for r in expected.itertuples()]
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
             f"row{'s' if r.extra_rows > 1 else ''}; first: {r.example})" for r in repeated.itertuples()]
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
             f"{r.allowed} (first row {r.first_row}: {r.example})" for r in outside.itertuples()]
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
        text += (f" The furthest: {far['campaign_id']} on {pd.Timestamp(far['date']):%d %b %Y} (row {far['row']}), "
                 f"{METRIC_LABELS[far['metric']]} {format_campaign_value(far['metric'], far['value'])} against a "
                 f"campaign median of {format_campaign_value(far['metric'], far['campaign_median'])} "
                 f"(z = {far['robust_z']:.1f}).")
    return text + " These are values to check, not necessarily errors."
