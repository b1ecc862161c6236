"""Campaign rollups built with each store, so chart queries do not grow with the raw rows (SPEC §5).

- `campaign_daily`: sums per date × channel × region × campaign type (and the calendar columns the file
  stores beside the date), for every chart that groups by those;
- `campaign_monthly`: sums per campaign × month, for campaign-level sums over whole months;
- `campaign_days`: the campaign rows' dimensions and measures sorted by date, for the partial months
  at the edges of a date range (sorted, so DuckDB's zone maps skip all other days).

Every rollup keeps NULL dimensions as their own group and sums the same columns the raw SQL sums, so a
query answered from a rollup returns what the same query over the raw table returns.
"""
from __future__ import annotations

import datetime as dt

DAILY = "campaign_daily"
MONTHLY = "campaign_monthly"
BY_DATE = "campaign_days"
# Sums of these campaign columns, and the number of raw rows behind each rollup row.
MEASURES = ("spend", "impressions", "clicks", "conversions", "revenue")
# Columns `campaign_daily` is grouped by: a query grouping or filtering on these alone can use it.
DAILY_DIMENSIONS = ("date", "channel", "region", "campaign_type", "day_of_week", "month", "quarter", "year")
# Columns `campaign_monthly` and `campaign_days` keep per campaign.
CAMPAIGN_DIMENSIONS = ("campaign_id", "campaign_name", "campaign_type", "channel", "region")

_SUMS = ", ".join(f"sum({m}) AS {m}" for m in MEASURES) + ", count(*) AS rows"


def build(cursor) -> list[str]:
    """Create the rollups from the loaded `campaigns` table in the cursor's schema; return their names."""
    daily = ", ".join(DAILY_DIMENSIONS)
    cursor.execute(f"CREATE OR REPLACE TABLE {DAILY} AS SELECT {daily}, {_SUMS} FROM campaigns "
                   f"GROUP BY ALL ORDER BY {daily}")
    per_campaign = ", ".join(CAMPAIGN_DIMENSIONS)
    cursor.execute(f"CREATE OR REPLACE TABLE {MONTHLY} AS SELECT date_trunc('month', date)::DATE AS month_start, "
                   f"{per_campaign}, {_SUMS} FROM campaigns GROUP BY ALL ORDER BY month_start, {per_campaign}")
    cursor.execute(f"CREATE OR REPLACE TABLE {BY_DATE} AS SELECT date, {per_campaign}, {', '.join(MEASURES)} "
                   "FROM campaigns WHERE date IS NOT NULL ORDER BY date")
    return [DAILY, MONTHLY, BY_DATE]


def campaign_rows_sql(where_without_dates: str, params_without_dates: list, start: dt.date | None,
                      end: dt.date | None) -> tuple[str, list]:
    """SQL for rows that sum, per campaign, to the raw campaign rows between `start` and `end`.

    Whole months come from `campaign_monthly`, the days before the first and after the last whole
    month from `campaign_days`. `where_without_dates` narrows channels, regions and types (a `WHERE …`
    clause or ''). Each row has the campaign columns and the measures.
    """
    columns = ", ".join((*CAMPAIGN_DIMENSIONS, *MEASURES))
    if start is None and end is None:
        return f"SELECT {columns} FROM {MONTHLY} {where_without_dates}", list(params_without_dates)
    low, high = start or dt.date.min, end or dt.date.max
    first_whole = low if low.day == 1 else _next_month(low)
    last_whole_end = _last_whole_month_end(high)
    parts: list[tuple[str, list]] = []

    def and_where(condition: str) -> str:
        return f"{where_without_dates} AND {condition}" if where_without_dates else f"WHERE {condition}"

    if first_whole is not None and last_whole_end is not None and first_whole <= last_whole_end:
        parts.append((f"SELECT {columns} FROM {MONTHLY} {and_where('month_start BETWEEN ? AND ?')}",
                      [*params_without_dates, first_whole, last_whole_end.replace(day=1)]))
        edges = [(low, first_whole - dt.timedelta(days=1))] if low < first_whole else []
        if last_whole_end < high:
            edges.append((last_whole_end + dt.timedelta(days=1), high))
    else:
        edges = [(low, high)]
    for edge_start, edge_end in edges:
        parts.append((f"SELECT {columns} FROM {BY_DATE} {and_where('date BETWEEN ? AND ?')}",
                      [*params_without_dates, edge_start, edge_end]))
    if not parts:
        return f"SELECT {columns} FROM {BY_DATE} WHERE false", []
    return " UNION ALL ".join(sql for sql, _ in parts), [p for _, params in parts for p in params]


def _last_whole_month_end(day: dt.date) -> dt.date | None:
    """`day` if it ends its month, else the last day of the month before (None before year 1)."""
    if day == dt.date.max or (day + dt.timedelta(days=1)).day == 1:
        return day
    try:
        return day.replace(day=1) - dt.timedelta(days=1)
    except OverflowError:
        return None


def _next_month(day: dt.date) -> dt.date | None:
    """The first day of the month after `day`'s (None past the last representable month)."""
    if day.month == 12:
        return None if day.year == dt.MAXYEAR else dt.date(day.year + 1, 1, 1)
    return dt.date(day.year, day.month + 1, 1)
