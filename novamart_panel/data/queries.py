"""Parameterised SQL shared by several sections, and the translation of filters into WHERE clauses.

SQL text here is built only from fixed fragments and contract column names; every value a user or a
data file supplies travels as a `?` parameter. Campaign sums are answered from the rollups
(`rollups.py`) whenever the requested columns allow, else from the raw table, with the same results.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import pandas as pd

from . import rollups
from .contract import FILTER_COLUMNS
from .store import DataStore

SUMS_SQL = ("sum(spend) AS spend, sum(impressions) AS impressions, sum(clicks) AS clicks, "
            "sum(conversions) AS conversions, sum(revenue) AS revenue")

NOT_GIVEN = "(not given)"   # the group of campaign rows whose channel, region … cell is empty

# Time grains a chart may aggregate to (a closed set: the key is user-chosen, the SQL is ours).
GRAINS = {"daily": "day", "weekly": "week", "monthly": "month", "quarterly": "quarter"}


@dataclass(frozen=True)
class FilterState:
    """The global filter values as plain data; empty tuples mean "all"."""

    start: dt.date | None = None
    end: dt.date | None = None
    channels: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    campaign_types: tuple[str, ...] = ()

    def where(self, table: str, alias: str = "") -> tuple[str, list]:
        """`WHERE …` (or '') and its parameters for the filters whose columns `table` has."""
        prefix = f"{alias}." if alias else ""
        clauses, params = [], []
        if (self.start or self.end) and "date_range" in _filters_for(table):
            column = FILTER_COLUMNS["date_range"][table]
            clauses.append(f"{prefix}{column} BETWEEN ? AND ?")
            params += [self.start or dt.date.min, self.end or dt.date.max]
        for name in ("channels", "regions", "campaign_types"):
            values = getattr(self, name)
            if values and name in _filters_for(table):
                clauses.append(f"list_contains(?, {prefix}{FILTER_COLUMNS[name][table]})")
                params.append(list(values))
        return ("WHERE " + " AND ".join(clauses) if clauses else ""), params

    def previous_period(self) -> "FilterState":
        """The same filters over the window of equal length that ends the day before `start`."""
        if not (self.start and self.end):
            return self
        length = self.end - self.start
        end = self.start - dt.timedelta(days=1)
        return replace(self, start=end - length, end=end)

    def applies_to(self, table: str) -> list[str]:
        """Names of the filters that narrow `table`."""
        return _filters_for(table)

    @property
    def active(self) -> dict[str, object]:
        """The filters that currently narrow anything (for captions and exports)."""
        out: dict[str, object] = {}
        if self.start or self.end:
            out["date_range"] = (self.start, self.end)
        for name in ("channels", "regions", "campaign_types"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        return out


def _filters_for(table: str) -> list[str]:
    return [name for name, tables in FILTER_COLUMNS.items() if table in tables]


def campaign_table_for(store: DataStore, *columns: str) -> str:
    """The table to aggregate campaign sums over when a query reads only `columns` (besides the sums):
    `campaign_daily` if they are all date × channel × region × type columns, else the raw `campaigns`.

    The rollup has the same column names as the raw table and the same sums (`SUMS_SQL` works on both).
    """
    if store.has_rollups() and set(columns) <= set(rollups.DAILY_DIMENSIONS):
        return rollups.DAILY
    return "campaigns"


def _non_date_filters(state: FilterState) -> tuple[str, list]:
    return replace(state, start=None, end=None).where("campaigns")


def _campaign_level(store: DataStore, state: FilterState, columns) -> tuple[str, list] | None:
    """Rows summing per campaign to the filtered raw rows (whole months plus edge days), if the rollups can."""
    if not store.has_rollups() or not set(columns) <= set(rollups.CAMPAIGN_DIMENSIONS):
        return None
    where, params = _non_date_filters(state)
    return rollups.campaign_rows_sql(where, params, state.start, state.end)


def campaign_totals(store: DataStore, state: FilterState, campaigns: bool = True) -> dict[str, float]:
    """Sums of spend, impressions, clicks, conversions and revenue under the filters, and with `campaigns` the
    number of distinct campaigns (from the campaign-level rollups: most of the query's time)."""
    where, params = state.where("campaigns")
    by_campaign = _campaign_level(store, state, ("campaign_id",)) if campaigns else None
    if by_campaign is not None:
        rows_sql, rows_params = by_campaign
        frame = store.query(f"SELECT * FROM (SELECT {SUMS_SQL} FROM {rollups.DAILY} {where}) CROSS JOIN "
                            f"(SELECT count(DISTINCT campaign_id) AS campaigns FROM ({rows_sql}))",
                            params + rows_params)
    elif campaigns:
        frame = store.query(f"SELECT {SUMS_SQL}, count(DISTINCT campaign_id) AS campaigns FROM campaigns {where}",
                            params)
    else:
        frame = store.query(f"SELECT {SUMS_SQL} FROM {campaign_table_for(store)} {where}", params)
    return {k: (float(v) if pd.notna(v) else 0.0) for k, v in frame.iloc[0].items()}


def campaign_sums_by(store: DataStore, state: FilterState, *dimensions: str) -> pd.DataFrame:
    """Sums grouped by contract columns of the campaign table (e.g. 'channel', 'region')."""
    from .contract import CAMPAIGNS

    allowed = set(CAMPAIGNS.column_names)
    for dim in dimensions:
        if dim not in allowed:
            raise ValueError(f"{dim!r} is not a column of {CAMPAIGNS.filename}")
    dims = ", ".join(dimensions)
    by_campaign = None if campaign_table_for(store, *dimensions) == rollups.DAILY else \
        _campaign_level(store, state, dimensions)
    if by_campaign is not None:
        rows_sql, rows_params = by_campaign
        frame = store.query(f"SELECT {dims}, {SUMS_SQL} FROM ({rows_sql}) GROUP BY ALL ORDER BY {dims}", rows_params)
    else:
        where, params = state.where("campaigns")
        source = campaign_table_for(store, *dimensions)
        frame = store.query(f"SELECT {dims}, {SUMS_SQL} FROM {source} {where} GROUP BY ALL ORDER BY {dims}", params)
    return _name_blanks(frame, dimensions)


def _name_blanks(frame: pd.DataFrame, dimensions) -> pd.DataFrame:
    """Rows whose text dimension is empty form a group named NOT_GIVEN (the data-quality tab lists them),
    so that charts and tables can sort and label every group."""
    from .contract import CAMPAIGNS

    for dim in dimensions:
        if dim in frame and CAMPAIGNS.column(dim).type == "VARCHAR" and frame[dim].isna().any():
            frame[dim] = frame[dim].fillna(NOT_GIVEN)
    return frame


def campaign_sums_over_time(store: DataStore, state: FilterState, grain: str = "daily",
                            by: str | None = None) -> pd.DataFrame:
    """Sums per period (`grain` in GRAINS), optionally split by one campaign column."""
    from .contract import CAMPAIGNS

    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {', '.join(GRAINS)}")
    if by is not None and by not in CAMPAIGNS.column_names:
        raise ValueError(f"{by!r} is not a column of {CAMPAIGNS.filename}")
    period = f"date_trunc('{GRAINS[grain]}', date)::DATE AS period"
    split = f", {by}" if by else ""
    where, params = state.where("campaigns")
    source = campaign_table_for(store, "date", *([by] if by else []))
    frame = store.query(
        f"SELECT {period}{split}, {SUMS_SQL} FROM {source} {where} GROUP BY ALL ORDER BY period{split}", params)
    return _name_blanks(frame, [by] if by else [])


# Daily revenue on the full data calendar (days without rows are 0), moving averages over the whole history
# (the window functions run before the date cut) so that a window's first days average real earlier days.
_TREND_SQL = """
WITH calendar AS (
    SELECT unnest(generate_series(min(date), max(date), INTERVAL 1 DAY))::DATE AS date FROM {source}
), daily AS (
    SELECT date, sum(revenue) AS revenue FROM {source} {where} GROUP BY date
), series AS (
    SELECT calendar.date, coalesce(daily.revenue, 0) AS revenue, daily.date IS NOT NULL AS live
    FROM calendar LEFT JOIN daily ON calendar.date = daily.date
), smoothed AS (
    SELECT date, revenue, live,
           CASE WHEN count(*) OVER week = 7 THEN avg(revenue) OVER week END AS ma7,
           CASE WHEN count(*) OVER month = 30 THEN avg(revenue) OVER month END AS ma30
    FROM series
    WINDOW week AS (ORDER BY date ROWS BETWEEN 6 PRECEDING AND CURRENT ROW),
           month AS (ORDER BY date ROWS BETWEEN 29 PRECEDING AND CURRENT ROW)
)
SELECT date, revenue, ma7, ma30, live FROM smoothed
WHERE date BETWEEN ? AND ?
ORDER BY date
"""


def revenue_trend(store: DataStore, state: FilterState) -> pd.DataFrame:
    """Daily revenue in the date window (0 on days of the data's calendar without rows; `live` says which days
    have rows) under the other filters, with 7- and 30-day moving averages (n/a until a full window of earlier
    days exists).

    Read from the daily rollup: a chart of any window costs one pass over date × channel × region × type.
    """
    where, params = replace(state, start=None, end=None).where("campaigns")
    source = campaign_table_for(store, "date", "channel", "region", "campaign_type")
    window = [state.start or dt.date.min, state.end or dt.date.max]
    return store.query(_TREND_SQL.format(source=source, where=where), params + window)


def campaign_rows(store: DataStore, state: FilterState) -> pd.DataFrame:
    """The campaign rows under the filters: contract columns, by date and campaign (the download)."""
    from .contract import CAMPAIGNS

    where, params = state.where("campaigns")
    return store.query(f"SELECT {', '.join(CAMPAIGNS.column_names)} FROM campaigns {where} "
                       "ORDER BY date, campaign_id", params)


def date_bounds(store: DataStore) -> tuple[dt.date, dt.date] | None:
    """First and last campaign date, or None when the campaign file is unusable or has no valid date."""
    if not store.has("campaigns"):
        return None
    frame = store.query(f"SELECT min(date) AS lo, max(date) AS hi FROM {campaign_table_for(store, 'date')}")
    lo, hi = frame.iloc[0]
    if pd.isna(lo):
        return None
    return pd.Timestamp(lo).date(), pd.Timestamp(hi).date()


def last_campaign_day(store: DataStore, state: FilterState) -> dt.date | None:
    """The last day with campaign rows under the filters (None when they leave none)."""
    where, params = state.where("campaigns")
    frame = store.query(f"SELECT max(date) AS hi FROM {campaign_table_for(store, 'date')} {where}", params)
    hi = frame.iloc[0]["hi"]
    return None if pd.isna(hi) else pd.Timestamp(hi).date()


def campaign_years(store: DataStore) -> list[int]:
    """The calendar years that have campaign rows (for year selectors)."""
    if not store.has("campaigns"):
        return []
    frame = store.query(f"SELECT DISTINCT year(date) AS y FROM {campaign_table_for(store, 'date')} "
                        "WHERE date IS NOT NULL ORDER BY 1")
    return [int(y) for y in frame["y"]]


def distinct_values(store: DataStore, table: str, column: str) -> list[str]:
    """Sorted distinct values of a contract column (for filter options)."""
    from .contract import BY_TABLE

    if column not in BY_TABLE[table].column_names:
        raise ValueError(f"{column!r} is not a column of {BY_TABLE[table].filename}")
    if not store.has(table):
        return []
    source = table
    if table == "campaigns" and store.has_rollups():
        if column in rollups.DAILY_DIMENSIONS:
            source = rollups.DAILY
        elif column in rollups.CAMPAIGN_DIMENSIONS:
            source = rollups.MONTHLY
    frame = store.query(f"SELECT DISTINCT {column} AS v FROM {source} WHERE {column} IS NOT NULL ORDER BY 1")
    return [str(v) for v in frame["v"]]


def daily_campaign_activity(store: DataStore, state: FilterState) -> pd.DataFrame:
    """Campaigns live each day under the filters (campaign rows that day; the file has one row per campaign
    and day) and how many of them belong to a paid channel (a channel with any spend in the whole file)."""
    where, params = state.where("campaigns")
    source = campaign_table_for(store, "date", "channel")
    rows = "sum(rows)" if source == rollups.DAILY else "count(*)"
    frame = store.query(
        f"WITH paid AS (SELECT channel FROM {source} GROUP BY channel HAVING sum(spend) > 0) "
        f"SELECT date, {rows} AS campaigns, coalesce({rows} FILTER (WHERE channel IN (SELECT channel FROM paid)), 0) "
        f"AS paid_campaigns FROM {source} {where} GROUP BY date ORDER BY date", params)
    return frame.assign(date=pd.to_datetime(frame["date"]),
                        campaigns=frame["campaigns"].astype(int), paid_campaigns=frame["paid_campaigns"].astype(int))
