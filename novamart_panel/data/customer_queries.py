"""Parameterised SQL of the customer insights section (SPEC §4.3): histograms, box-plot statistics, fits,
bounded samples and the churn-risk list, all aggregated in DuckDB so no view moves every customer into pandas.

Customer data has a region column only, so of the global filters only the region narrows these queries.
Counts, bins, means and fits come from a small breakdown of all customers by the filter columns (a few
thousand rows, computed once per store and kept in its query memo) narrowed to the filters: a filter change
then costs no pass over the customers. Quantiles, samples and lists need the rows and query them.
SQL text is built from fixed fragments and contract column names; every value travels as a `?` parameter.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .contract import CUSTOMERS, FILTER_COLUMNS
from .queries import FilterState
from .store import DataStore

# Individual customers for drawing: income, LTV, segment and the hover details.
POINT_COLUMNS = ("income", "lifetime_value", "segment", "customer_id", "age", "city_tier")
# Samples keep the customers whose row number in the file has the smallest hash: the same customers every time,
# spread over the file. Only hashes below a cut expected to leave SAMPLE_MARGIN times the sample are sorted
# (DuckDB skips the rest at once); when a group gets fewer, the query runs without the cut.
SAMPLE_MARGIN = 4
_HASHES = 2.0 ** 64


def _where(state: FilterState, *clauses: str, params: tuple | list = ()) -> tuple[str, list]:
    """`WHERE …` with the filters that narrow customers AND `clauses` (their values in `params`)."""
    where, values = state.where("customers")
    parts = ([where.removeprefix("WHERE ")] if where else []) + list(clauses)
    return ("WHERE " + " AND ".join(parts) if parts else ""), values + list(params)


def _filter_columns() -> list[str]:
    """The customer columns global filters narrow (the region)."""
    return [tables["customers"] for tables in FILTER_COLUMNS.values() if "customers" in tables]


def _narrowed_breakdown(store: DataStore, state: FilterState, keys: tuple[str, ...], measures: str,
                        params: tuple = ()) -> pd.DataFrame:
    """`measures` per filter column and `keys` (columns, or `expression AS name`) of all customers, the rows the
    filters keep. DuckDB computes it once per store: a small result the store remembers, whatever the filters."""
    filters = _filter_columns()
    frame = store.query(f"SELECT {', '.join([*filters, *keys, measures])} FROM customers GROUP BY ALL", list(params))
    for name, tables in FILTER_COLUMNS.items():
        if "customers" in tables and getattr(state, name):
            frame = frame[frame[tables["customers"]].isin(getattr(state, name))]
    return frame


def _breakdown(store: DataStore, state: FilterState, keys: tuple[str, ...], measures: str,
               params: tuple = ()) -> pd.DataFrame:
    """`measures` (additive: counts and sums) per `keys` of the customers under the filters, ordered by the keys
    (missing keys last): `_narrowed_breakdown` summed over the filter columns, no pass over the customers."""
    frame = _narrowed_breakdown(store, state, keys, measures, params)
    names = [key.rsplit(" AS ", 1)[-1] for key in keys]
    sums = [c for c in frame.columns if c not in _filter_columns() and c not in names]
    if not names:
        return frame[sums].sum().to_frame().T
    return frame.groupby(names, dropna=False, sort=True)[sums].sum().reset_index()


def customer_count(store: DataStore, state: FilterState) -> int:
    """Customers under the filters."""
    return int(_breakdown(store, state, (), "count(*) AS n")["n"].iloc[0])


def _ages(store: DataStore, state: FilterState, segments=()) -> pd.DataFrame:
    """Customers per segment and exact age (of `segments` only, when given)."""
    frame = _breakdown(store, state, ("customer_segment AS segment", "age"), "count(*) AS customers")
    return frame[frame["segment"].isin(segments)] if segments else frame


def age_histogram(store: DataStore, state: FilterState, width: int, by_segment: bool = True,
                  segments=(), total_label: str = "All customers") -> pd.DataFrame:
    """Customers per age bin [bin_start, bin_start + width): per segment, or as one `total_label` group."""
    ages = _ages(store, state, segments)
    frame = pd.DataFrame({"bin_start": (ages["age"] // width) * width,
                          "segment": ages["segment"] if by_segment else total_label,
                          "customers": ages["customers"]})
    return frame.groupby(["bin_start", "segment"], dropna=False, sort=True)["customers"].sum().reset_index()


def age_counts(store: DataStore, state: FilterState, segments=()) -> pd.DataFrame:
    """Customers per segment and exact age."""
    return _ages(store, state, segments).reset_index(drop=True)


def ltv_box_stats(store: DataStore, state: FilterState) -> pd.DataFrame:
    """Tukey box-plot numbers of lifetime value per segment: customers, quartiles (linear interpolation), the
    whisker ends (the furthest values within 1.5 IQR), the counts beyond them and the maximum."""
    where, params = _where(state)
    boxes = store.query(
        f"SELECT customer_segment AS segment, count(*) AS customers, "
        f"quantile_cont(lifetime_value, [0.25, 0.5, 0.75]) AS quartiles, max(lifetime_value) AS maximum "
        f"FROM customers {where} GROUP BY ALL ORDER BY segment", params)
    quartiles = np.array([list(q) if q is not None and len(q) == 3 else [np.nan] * 3 for q in boxes["quartiles"]],
                         dtype=float).reshape(-1, 3)
    boxes = boxes.drop(columns="quartiles").assign(q1=quartiles[:, 0], median=quartiles[:, 1], q3=quartiles[:, 2])
    fence = 1.5 * (boxes["q3"] - boxes["q1"])
    low, high = boxes["q1"] - fence, boxes["q3"] + fence
    # A second pass with each segment's fences as parameters (a join on a five-row list, no materialised rows).
    c_where, c_params = _where(state, "c.customer_segment IS NOT DISTINCT FROM f.segment")
    whiskers = store.query(
        "SELECT f.segment, min(c.lifetime_value) FILTER (WHERE c.lifetime_value >= f.low) AS lower, "
        "max(c.lifetime_value) FILTER (WHERE c.lifetime_value <= f.high) AS upper, "
        "count(*) FILTER (WHERE c.lifetime_value < f.low) AS low_outliers, "
        "count(*) FILTER (WHERE c.lifetime_value > f.high) AS high_outliers "
        "FROM (SELECT unnest(?::VARCHAR[]) AS segment, unnest(?::DOUBLE[]) AS low, unnest(?::DOUBLE[]) AS high) f, "
        f"customers c {c_where} GROUP BY f.segment",
        [_listed(boxes["segment"]), _listed(low), _listed(high), *c_params])
    columns = ["segment", "customers", "q1", "median", "q3", "maximum", "lower", "upper", "low_outliers",
               "high_outliers", "low_fence", "high_fence"]
    boxes = boxes.assign(low_fence=low, high_fence=high)
    return boxes.merge(whiskers, on="segment", how="left")[columns]


def ltv_outliers(store: DataStore, state: FilterState, fences: pd.DataFrame, per_segment: int) -> pd.DataFrame:
    """Customers whose lifetime value lies beyond their segment's whisker fences (`fences`: segment, low, high),
    the most extreme `per_segment` of each segment first, with a `jitter` in [-0.5, 0.5) for drawing."""
    c_where, c_params = _where(state, "c.customer_segment IS NOT DISTINCT FROM f.segment",
                               "(c.lifetime_value < f.low OR c.lifetime_value > f.high)")
    return store.query(
        "SELECT c.customer_id, c.customer_segment AS segment, c.lifetime_value, c.age, c.city_tier, c.region, "
        "(hash(c.customer_id) % 1000) / 1000.0 - 0.5 AS jitter "
        "FROM (SELECT unnest(?::VARCHAR[]) AS segment, unnest(?::DOUBLE[]) AS low, unnest(?::DOUBLE[]) AS high) f, "
        f"customers c {c_where} QUALIFY row_number() OVER (PARTITION BY c.customer_segment ORDER BY "
        "greatest(c.lifetime_value - f.high, f.low - c.lifetime_value) DESC, c.customer_id) <= ? "
        "ORDER BY segment, c.customer_id",
        [_listed(fences["segment"]), _listed(fences["low"]), _listed(fences["high"]), *c_params, int(per_segment)])


def _listed(values: pd.Series) -> list:
    """A list parameter: missing values (NaN) as NULL."""
    return [None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for v in values]


def _hash_cut(size_sql: str) -> str:
    """SQL of the largest row-number hash a sample of `?` rows out of `size_sql` rows needs to look at (with
    SAMPLE_MARGIN to spare), or NULL (look at every row) when that is more than half of them."""
    margin = float(SAMPLE_MARGIN)
    return (f"CASE WHEN {size_sql} <= {2 * margin!r} * ? THEN NULL "
            f"ELSE ({margin!r} * ? / {size_sql} * {_HASHES!r})::UBIGINT END")


def ltv_sample(store: DataStore, state: FilterState, per_segment: int) -> pd.DataFrame:
    """At most `per_segment` customers per segment (see SAMPLE_MARGIN: the same ones every time), with a
    `jitter` in [-0.5, 0.5) for drawing."""
    where, params = _where(state)
    columns = ("customer_id, customer_segment AS segment, lifetime_value, age, city_tier, region, "
               "(hash(customer_id) % 1000) / 1000.0 - 0.5 AS jitter")
    ranked = ("QUALIFY row_number() OVER (PARTITION BY customer_segment ORDER BY hash(rowid), rowid) <= ? "
              "ORDER BY segment, customer_id")
    sizes = store.query(f"SELECT customer_segment AS segment, count(*) AS n FROM customers {where} GROUP BY ALL",
                        params)
    if sizes.empty or (sizes["n"] <= per_segment).all():
        return store.query(f"SELECT {columns} FROM customers {where} {ranked}", [*params, per_segment])
    c_where, c_params = _where(state, "(cuts.cut IS NULL OR hash(c.rowid) <= cuts.cut)")
    frame = store.query(
        f"WITH cuts AS (SELECT customer_segment AS cut_segment, {_hash_cut('count(*)')} AS cut FROM customers "
        f"{where} GROUP BY ALL) "
        f"SELECT {columns} FROM customers c JOIN cuts ON c.customer_segment IS NOT DISTINCT FROM cuts.cut_segment "
        f"{c_where} {ranked}",
        [per_segment, per_segment, *params, *c_params, per_segment])
    got = frame.groupby("segment", dropna=False).size()
    wanted = sizes.set_index("segment")["n"].clip(upper=per_segment)
    if not got.reindex(wanted.index, fill_value=0).equals(wanted.astype(got.dtype)):
        return store.query(f"SELECT {columns} FROM customers {where} {ranked}", [*params, per_segment])
    return frame


def satisfaction_sample(store: DataStore, state: FilterState, limit: int) -> pd.DataFrame:
    """NPS category, acquisition channel and satisfaction of at most `limit` customers (see SAMPLE_MARGIN: the
    same ones every time)."""
    where, params = _where(state)
    ordered = "ORDER BY hash(rowid), rowid LIMIT ?"
    columns = "nps_category, acquisition_channel, satisfaction_score"
    total = customer_count(store, state)
    if total > 2 * SAMPLE_MARGIN * limit:
        cut = int(SAMPLE_MARGIN * limit / total * _HASHES)
        c_where, c_params = _where(state, "hash(rowid) <= ?::UBIGINT", params=(cut,))
        frame = store.query(f"SELECT {columns} FROM customers {c_where} {ordered}", [*c_params, limit])
        if len(frame) == limit:
            return frame
    return store.query(f"SELECT {columns} FROM customers {where} {ordered}", [*params, limit])


def satisfaction_by_channel(store: DataStore, state: FilterState) -> pd.DataFrame:
    """Customers and mean satisfaction per NPS category and acquisition channel."""
    frame = _breakdown(store, state, ("nps_category", "acquisition_channel"),
                       "count(*) AS customers, sum(satisfaction_score) AS total, count(satisfaction_score) AS scored")
    mean = frame["total"] / frame["scored"].where(frame["scored"] > 0)
    return frame[["nps_category", "acquisition_channel", "customers"]].assign(mean_score=mean.astype(float))


def satisfaction_bins(store: DataStore, state: FilterState, width: float) -> pd.DataFrame:
    """Customers per NPS category and satisfaction bin [bin_start, bin_start + width)."""
    return _breakdown(store, state, ("nps_category", "floor(satisfaction_score / ?) * ? AS bin_start"),
                      "count(*) AS customers", (width, width))


def income_ltv_fit(store: DataStore, state: FilterState) -> pd.DataFrame:
    """OLS of lifetime value on income (slope, intercept), Pearson r, customers and the income range, per
    segment and overall (segment NULL, first).

    The per-group moments (count, means, sums of squares and products about the means) are pooled exactly
    (Chan, Golub and LeVeque's pairwise formulas), so the fit of any set of groups needs no pass over rows."""
    groups = _narrowed_breakdown(store, state, ("customer_segment AS segment",),
                        "count(*) AS customers, regr_count(lifetime_value, income) AS n, "
                        "regr_avgx(lifetime_value, income) * regr_count(lifetime_value, income) AS sum_x, "
                        "regr_avgy(lifetime_value, income) * regr_count(lifetime_value, income) AS sum_y, "
                        "regr_sxx(lifetime_value, income) AS sxx_within, regr_syy(lifetime_value, income) AS syy_within, "
                        "regr_sxy(lifetime_value, income) AS sxy_within, "
                        "min(income) AS income_min, max(income) AS income_max")
    return pd.DataFrame([_pooled_fit(None, groups), *(_pooled_fit(segment, rows) for segment, rows in
                                                        groups.groupby("segment", sort=True))],
                        columns=["segment", "customers", "r", "slope", "intercept", "income_min", "income_max"])


def _pooled_fit(segment: str | None, groups: pd.DataFrame) -> dict:
    """The OLS fit and Pearson r of the pooled groups (rows of per-group moments, see `income_ltv_fit`)."""
    fit = {"segment": segment, "customers": int(groups["customers"].sum()), "r": np.nan, "slope": np.nan,
           "intercept": np.nan, "income_min": groups["income_min"].min(), "income_max": groups["income_max"].max()}
    moments = groups[["n", "sum_x", "sum_y", "sxx_within", "syy_within", "sxy_within"]].to_numpy(dtype=float)
    moments = np.nan_to_num(moments[moments[:, 0] > 0])          # groups with pairs; no sums of squares yet: 0
    n, sum_x, sum_y, sxx_within, syy_within, sxy_within = moments.T
    total = n.sum()
    if total == 0:
        return fit
    mean_x, mean_y = sum_x.sum() / total, sum_y.sum() / total
    dx, dy = sum_x / n - mean_x, sum_y / n - mean_y
    sxx, syy, sxy = (sxx_within + n * dx * dx).sum(), (syy_within + n * dy * dy).sum(), (sxy_within + n * dx * dy).sum()
    if sxx > 0:
        fit["slope"] = sxy / sxx
        fit["intercept"] = mean_y - fit["slope"] * mean_x
        if syy > 0:
            fit["r"] = sxy / np.sqrt(sxx * syy)
    return fit


def high_value_count(store: DataStore, state: FilterState, top_share: float, segment: str) -> tuple[float, int]:
    """The lifetime value at which the top `top_share` of customers starts, and how many of `segment` reach it
    (NaN and 0 without customers)."""
    where, params = _where(state)
    row = store.query(
        f"WITH base AS (SELECT customer_segment, lifetime_value FROM customers {where}), "
        f"cut AS (SELECT quantile_cont(lifetime_value, ?) AS cut FROM base) "
        f"SELECT any_value(cut) AS cut, "
        f"count(*) FILTER (WHERE customer_segment = ? AND lifetime_value >= cut) AS n FROM base, cut",
        [*params, 1 - top_share, segment]).iloc[0]
    return (float(row["cut"]) if pd.notna(row["cut"]) else float("nan")), int(row["n"])


def hierarchy_counts(store: DataStore, state: FilterState) -> pd.DataFrame:
    """Customers per region, city tier and segment."""
    return _breakdown(store, state, ("region AS tree_region", "city_tier", "customer_segment"),
                      "count(*) AS customers").rename(columns={"tree_region": "region"})


def churn_histogram(store: DataStore, state: FilterState, bins: int) -> pd.DataFrame:
    """Customers per churn-probability bin of width 1/`bins` (`bin_start`; 1.0 joins the last bin) and segment."""
    # Round first: a probability on a bin edge can land a hair below it in binary floating point.
    return _breakdown(store, state, ("least(floor(round(churn_probability * ?, 9)), ? - 1) / ? AS bin_start",
                                     "customer_segment AS segment"), "count(*) AS customers", (bins, bins, bins))


def _risk_sql(state: FilterState, top_share: float) -> tuple[str, list]:
    """Filtered customers (`base`) and the LTV at which the top `top_share` starts (`cut`)."""
    where, params = _where(state)
    return (f"WITH base AS (SELECT lifetime_value, churn_probability, is_churned FROM customers {where}), "
            f"cut AS (SELECT quantile_cont(lifetime_value, ?) AS ltv_cut FROM base) ", [*params, 1 - top_share])


def churn_totals(store: DataStore, state: FilterState, threshold: float, top_share: float,
                 include_churned: bool) -> pd.Series:
    """Customers, how many reach the churn `threshold` (and had churned), the LTV cut of the top `top_share`,
    and the highest churn probability among those high-value customers (churned ones only if included)."""
    head, params = _risk_sql(state, top_share)
    return store.query(
        head + "SELECT count(*) AS customers, count(*) FILTER (WHERE churn_probability >= ?) AS above_threshold, "
        "count(*) FILTER (WHERE churn_probability >= ? AND is_churned = 1) AS churned_above, "
        "any_value(ltv_cut) AS ltv_cut, max(churn_probability) FILTER "
        "(WHERE lifetime_value >= ltv_cut AND (? OR is_churned = 0)) AS max_probability_high_value "
        "FROM base, cut", [*params, threshold, threshold, include_churned]).iloc[0]


def high_value_churn_quantile(store: DataStore, state: FilterState, top_share: float, include_churned: bool,
                              quantile: float) -> float:
    """The `quantile` of churn probability among the customers in the top `top_share` by LTV (churned ones only
    if included); NaN when there are none."""
    head, params = _risk_sql(state, top_share)
    value = store.query(
        head + "SELECT quantile_cont(churn_probability, ?) FILTER "
        "(WHERE lifetime_value >= ltv_cut AND (? OR is_churned = 0)) AS q FROM base, cut",
        [*params, quantile, include_churned])["q"].iloc[0]
    return float(value) if pd.notna(value) else float("nan")


def at_risk_customers(store: DataStore, state: FilterState, threshold: float, top_share: float,
                      include_churned: bool) -> pd.DataFrame:
    """Customers at or above the churn `threshold` and in the top `top_share` by LTV, by expected loss
    (probability × LTV), largest first."""
    where, params = _where(state)
    cut = f"(SELECT quantile_cont(lifetime_value, ?) FROM customers {where})"
    risky, risky_params = _where(state, "churn_probability >= ?", f"lifetime_value >= {cut}", "(? OR is_churned = 0)",
                                 params=(threshold, 1 - top_share, *params, include_churned))
    return store.query(
        "SELECT customer_id, customer_segment, region, city_tier, age, lifetime_value, churn_probability, "
        f"is_churned, churn_probability * lifetime_value AS expected_loss FROM customers {risky} "
        "ORDER BY expected_loss DESC, customer_id", risky_params)


def customer_rows(store: DataStore, state: FilterState) -> pd.DataFrame:
    """The customers under the filters: contract columns, file order (the download)."""
    where, params = _where(state)
    return store.query(f"SELECT {', '.join(CUSTOMERS.column_names)} FROM customers {where} ORDER BY rowid", params)


def income_ltv_values(store: DataStore, state: FilterState, segments: tuple[str, ...]) -> pd.DataFrame:
    """Income, lifetime value and segment of every customer under the filters, numbers only (what a raster
    counts): `segment` is a categorical of `segments` (customers of any other segment get n/a)."""
    where, params = _where(state)
    frame = store.query(
        "SELECT income::DOUBLE AS income, lifetime_value::DOUBLE AS lifetime_value, "
        f"(coalesce(list_position(?::VARCHAR[], customer_segment), 0) - 1)::SMALLINT AS code FROM customers {where}",
        [list(segments), *params])
    return pd.DataFrame({"income": frame["income"], "lifetime_value": frame["lifetime_value"],
                         "segment": pd.Categorical.from_codes(frame["code"].to_numpy(), categories=list(segments))})


def income_ltv_in_view(store: DataStore, state: FilterState, x_range: tuple[float, float] | None = None,
                       y_range: tuple[float, float] | None = None, limit: int | None = None) -> pd.DataFrame:
    """The customers under the filters whose income lies in `x_range` and lifetime value in `y_range` (bounds
    included; None: any), with the POINT_COLUMNS, in file order; at most `limit` of them."""
    clauses, values = _range_clauses(x_range, y_range)
    where, params = _where(state, *clauses, params=values)
    columns = ", ".join("customer_segment AS segment" if c == "segment" else c for c in POINT_COLUMNS)
    if limit is None:
        return store.query(f"SELECT {columns} FROM customers {where} ORDER BY rowid", params)
    return store.query(f"SELECT {columns} FROM customers {where} ORDER BY rowid LIMIT ?", [*params, int(limit)])


def income_ltv_count(store: DataStore, state: FilterState, x_range: tuple[float, float] | None = None,
                     y_range: tuple[float, float] | None = None) -> int:
    """How many customers under the filters have an income in `x_range` and a lifetime value in `y_range`
    (bounds included; None: any)."""
    clauses, values = _range_clauses(x_range, y_range)
    where, params = _where(state, *clauses, params=values)
    return int(store.query(f"SELECT count(*) AS n FROM customers {where}", params)["n"].iloc[0])


def _range_clauses(x_range, y_range) -> tuple[list[str], list[float]]:
    """Clauses keeping incomes in `x_range` and lifetime values in `y_range` (None: any), and their values."""
    clauses, values = [], []
    for column, bounds in (("income", x_range), ("lifetime_value", y_range)):
        if bounds is not None:
            clauses.append(f"{column} BETWEEN ? AND ?")
            values += [float(bounds[0]), float(bounds[1])]
    return clauses, values
