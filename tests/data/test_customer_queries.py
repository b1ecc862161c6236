"""The customer section's SQL equals pandas on the packaged and the reference customer files."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from novamart_panel.data import customer_queries as cq
from novamart_panel.data.contract import CUSTOMERS
from novamart_panel.data.queries import FilterState

ALL = FilterState()
TWO_REGIONS = FilterState(regions=("North", "East"))
# Customers have a region only: the other filters must not narrow them.
CAMPAIGN_ONLY = FilterState(channels=("Email",), campaign_types=("Brand Awareness",))


@pytest.fixture(scope="module", params=["packaged", "reference"])
def data(request):
    """(store, customer rows as pandas reads them) for each data folder."""
    folder = request.getfixturevalue(f"{request.param}_dir")
    store = request.getfixturevalue(f"{request.param}_store")
    return store, pd.read_csv(folder / "customer_data.csv")


def rows_for(customers: pd.DataFrame, state: FilterState) -> pd.DataFrame:
    return customers[customers["region"].isin(state.regions)] if state.regions else customers


def test_customer_count_follows_the_region_filter_only(data):
    store, customers = data
    assert cq.customer_count(store, ALL) == len(customers) == cq.customer_count(store, CAMPAIGN_ONLY)
    assert cq.customer_count(store, TWO_REGIONS) == len(rows_for(customers, TWO_REGIONS))
    assert cq.customer_count(store, FilterState(regions=("Nowhere",))) == 0


@pytest.mark.parametrize("width", [1, 5, 7])
def test_age_histogram_and_counts(data, width):
    store, customers = data
    rows = rows_for(customers, TWO_REGIONS)
    ours = cq.age_histogram(store, TWO_REGIONS, width).set_index(["bin_start", "segment"])["customers"]
    expected = rows.groupby([(rows["age"] // width) * width, "customer_segment"]).size()
    assert ours.to_dict() == expected.to_dict()
    total = cq.age_histogram(store, TWO_REGIONS, width, by_segment=False, total_label="Everyone")
    assert set(total["segment"]) == {"Everyone"}
    assert total.set_index("bin_start")["customers"].to_dict() == rows.groupby((rows["age"] // width) * width).size().to_dict()
    chosen = cq.age_histogram(store, ALL, width, segments=("Premium", "New"))
    picked = customers[customers["customer_segment"].isin(["Premium", "New"])]
    assert chosen["customers"].sum() == len(picked) and set(chosen["segment"]) == {"Premium", "New"}
    counts = cq.age_counts(store, ALL, segments=("Budget",)).set_index(["segment", "age"])["customers"]
    budget = customers[customers["customer_segment"] == "Budget"]
    assert counts.to_dict() == budget.groupby(["customer_segment", "age"]).size().to_dict()


def test_ltv_box_stats_equal_numpy(data):
    store, customers = data
    table = cq.ltv_box_stats(store, TWO_REGIONS).set_index("segment")
    rows = rows_for(customers, TWO_REGIONS)
    assert set(table.index) == set(rows["customer_segment"])
    for segment, group in rows.groupby("customer_segment"):
        values = group["lifetime_value"].to_numpy(dtype=float)
        q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
        low, high = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
        expected = {"customers": len(values), "q1": q1, "median": median, "q3": q3, "maximum": values.max(),
                    "lower": values[values >= low].min(), "upper": values[values <= high].max(),
                    "low_outliers": (values < low).sum(), "high_outliers": (values > high).sum()}
        for key, value in expected.items():
            assert table.loc[segment, key] == pytest.approx(value), (segment, key)


def test_ltv_sample_is_a_fixed_bounded_sample_of_real_customers(data):
    store, customers = data
    sample = cq.ltv_sample(store, ALL, 50)
    sizes = customers["customer_segment"].value_counts()
    assert sample["segment"].value_counts().to_dict() == {s: min(50, n) for s, n in sizes.items()}
    merged = sample.merge(customers, on="customer_id", validate="one_to_one")
    assert (merged["lifetime_value_x"] == merged["lifetime_value_y"]).all()
    assert (merged["segment"] == merged["customer_segment"]).all()
    assert sample["jitter"].between(-0.5, 0.5).all()
    assert sample.equals(cq.ltv_sample(store, ALL, 50))
    west = cq.ltv_sample(store, FilterState(regions=("West",)), 10)
    assert set(west["region"]) == {"West"}


def test_satisfaction_sample_means_and_bins(data):
    store, customers = data
    rows = rows_for(customers, TWO_REGIONS)
    everyone = cq.satisfaction_sample(store, TWO_REGIONS, len(customers) + 1)
    key = ["nps_category", "acquisition_channel", "satisfaction_score"]
    assert everyone.groupby(key).size().to_dict() == rows.groupby(key).size().to_dict()
    few = cq.satisfaction_sample(store, TWO_REGIONS, 100)
    assert len(few) == min(100, len(rows)) and few.equals(cq.satisfaction_sample(store, TWO_REGIONS, 100))
    means = cq.satisfaction_by_channel(store, TWO_REGIONS).set_index(["nps_category", "acquisition_channel"])
    expected = rows.groupby(["nps_category", "acquisition_channel"])["satisfaction_score"].agg(["size", "mean"])
    assert means["customers"].to_dict() == expected["size"].to_dict()
    assert np.allclose(means["mean_score"].sort_index(), expected["mean"].sort_index())
    bins = cq.satisfaction_bins(store, TWO_REGIONS, 0.25).set_index(["nps_category", "bin_start"])["customers"]
    reference = rows.groupby(["nps_category", np.floor(rows["satisfaction_score"] / 0.25) * 0.25]).size()
    assert bins.to_dict() == reference.to_dict()


def test_income_ltv_points_and_fit(data):
    store, customers = data
    rows = rows_for(customers, TWO_REGIONS)
    points = cq.income_ltv_in_view(store, TWO_REGIONS)
    assert list(points.columns) == list(cq.POINT_COLUMNS)
    assert list(points["customer_id"]) == list(rows["customer_id"])          # file order
    assert np.allclose(points["lifetime_value"], rows["lifetime_value"])
    x_range, y_range = tuple(rows["income"].quantile([0.2, 0.6])), tuple(rows["lifetime_value"].quantile([0.1, 0.5]))
    inside = rows[rows["income"].between(*x_range) & rows["lifetime_value"].between(*y_range)]
    zoomed = cq.income_ltv_in_view(store, TWO_REGIONS, x_range, y_range)
    assert 0 < len(zoomed) and list(zoomed["customer_id"]) == list(inside["customer_id"])
    assert list(cq.income_ltv_in_view(store, TWO_REGIONS, x_range, None, limit=7)["customer_id"]) == list(
        rows[rows["income"].between(*x_range)]["customer_id"].iloc[:7])
    segments = ("Premium", "Regular", "Budget", "New")                       # "Churned" left out: n/a
    values = cq.income_ltv_values(store, TWO_REGIONS, segments)
    assert list(values.columns) == ["income", "lifetime_value", "segment"] and len(values) == len(rows)
    assert list(values["segment"].cat.categories) == list(segments)
    expected = rows["customer_segment"].where(rows["customer_segment"].isin(segments))
    assert values["segment"].astype(object).fillna("n/a").tolist() == expected.fillna("n/a").tolist()
    assert np.allclose(values["income"], rows["income"])
    fits = cq.income_ltv_fit(store, TWO_REGIONS)
    overall = fits.iloc[0]
    assert pd.isna(overall["segment"]) and overall["customers"] == len(rows)
    slope, intercept = np.polyfit(rows["income"], rows["lifetime_value"], 1)
    assert (overall["slope"], overall["intercept"]) == (pytest.approx(slope), pytest.approx(intercept))
    assert overall["r"] == pytest.approx(np.corrcoef(rows["income"], rows["lifetime_value"])[0, 1])
    assert (overall["income_min"], overall["income_max"]) == (rows["income"].min(), rows["income"].max())
    for segment, group in rows.groupby("customer_segment"):
        row = fits[fits["segment"] == segment].iloc[0]
        assert row["slope"] == pytest.approx(np.polyfit(group["income"], group["lifetime_value"], 1)[0])


def test_high_value_count(data):
    store, customers = data
    cut, budget = cq.high_value_count(store, ALL, 0.1, "Budget")
    assert cut == pytest.approx(customers["lifetime_value"].quantile(0.9))
    assert budget == ((customers["customer_segment"] == "Budget") & (customers["lifetime_value"] >= cut)).sum()
    nothing_cut, nothing = cq.high_value_count(store, FilterState(regions=("Nowhere",)), 0.1, "Budget")
    assert np.isnan(nothing_cut) and nothing == 0


def test_hierarchy_and_churn_histogram(data):
    store, customers = data
    rows = rows_for(customers, TWO_REGIONS)
    tree = cq.hierarchy_counts(store, TWO_REGIONS).set_index(["region", "city_tier", "customer_segment"])
    assert tree["customers"].to_dict() == rows.groupby(["region", "city_tier", "customer_segment"]).size().to_dict()
    churn = cq.churn_histogram(store, TWO_REGIONS, 20)
    bins = np.minimum(np.floor(np.round(rows["churn_probability"] * 20, 9)), 19) / 20
    expected = rows.groupby([bins, rows["customer_segment"]]).size()
    ours = churn.set_index(["bin_start", "segment"])["customers"]
    assert {(round(b, 6), s): n for (b, s), n in ours.items()} == {(round(b, 6), s): n for (b, s), n in expected.items()}
    assert churn["bin_start"].between(0, 0.95 + 1e-9).all()


@pytest.mark.parametrize("include_churned", [False, True])
def test_churn_totals_and_at_risk_list(data, include_churned):
    store, customers = data
    rows = rows_for(customers, TWO_REGIONS)
    threshold, share = 0.4, 0.25
    cut = rows["lifetime_value"].quantile(1 - share)
    totals = cq.churn_totals(store, TWO_REGIONS, threshold, share, include_churned)
    above = rows["churn_probability"] >= threshold
    considered = (rows["lifetime_value"] >= cut) & (include_churned | (rows["is_churned"] == 0))
    assert totals["customers"] == len(rows) and totals["above_threshold"] == above.sum()
    assert totals["churned_above"] == (above & (rows["is_churned"] == 1)).sum()
    assert totals["ltv_cut"] == pytest.approx(cut)
    assert totals["max_probability_high_value"] == pytest.approx(rows.loc[considered, "churn_probability"].max())
    risky = cq.at_risk_customers(store, TWO_REGIONS, threshold, share, include_churned)
    expected = rows[above & considered]
    assert sorted(risky["customer_id"]) == sorted(expected["customer_id"])
    assert np.allclose(risky["expected_loss"], risky["churn_probability"] * risky["lifetime_value"])
    assert risky["expected_loss"].is_monotonic_decreasing


def test_customer_rows_are_the_file_under_the_filters(data):
    store, customers = data
    rows = rows_for(customers, TWO_REGIONS)
    frame = cq.customer_rows(store, TWO_REGIONS)
    assert list(frame.columns) == list(CUSTOMERS.column_names)
    assert list(frame["customer_id"]) == list(rows["customer_id"])
    assert len(cq.customer_rows(store, CAMPAIGN_ONLY)) == len(customers)


@pytest.mark.parametrize("margin", [0.01, 10 ** 9])
def test_samples_skip_hashes_without_changing_the_sample(data, monkeypatch, margin):
    """Looking only below a hash cut (or falling back when the cut leaves too few) gives the plain sample."""
    store, _ = data
    expected_ltv, expected_scores = cq.ltv_sample(store, ALL, 40), cq.satisfaction_sample(store, TWO_REGIONS, 150)
    monkeypatch.setattr(cq, "SAMPLE_MARGIN", margin)   # 10**9: no cut at all; 0.01: a cut too tight
    pd.testing.assert_frame_equal(cq.ltv_sample(store, ALL, 40), expected_ltv)
    pd.testing.assert_frame_equal(cq.satisfaction_sample(store, TWO_REGIONS, 150), expected_scores)


def test_income_ltv_count_in_view(data):
    store, customers = data
    rows = rows_for(customers, TWO_REGIONS)
    assert cq.income_ltv_count(store, TWO_REGIONS) == len(rows)
    inside = rows["income"].between(30_000, 90_000) & rows["lifetime_value"].between(1_000, 20_000)
    assert cq.income_ltv_count(store, TWO_REGIONS, (30_000, 90_000), (1_000, 20_000)) == inside.sum()
    assert cq.income_ltv_count(store, TWO_REGIONS, None, (1_000, 20_000)) == rows["lifetime_value"].between(
        1_000, 20_000).sum()


def test_a_region_change_reads_the_remembered_breakdown(packaged_store, monkeypatch):
    seen = []
    query = packaged_store.query
    monkeypatch.setattr(packaged_store, "query", lambda sql, params=None: seen.append((sql, repr(params))) or
                        query(sql, params))
    for regions in (("North",), ("South", "West"), ()):
        state = FilterState(regions=regions)
        cq.satisfaction_by_channel(packaged_store, state)
        cq.age_histogram(packaged_store, state, 5)
        cq.income_ltv_fit(packaged_store, state)
    assert len(set(seen)) == 3          # one breakdown query each, the same whatever the regions


@pytest.fixture(scope="module")
def gappy(tmp_path_factory, packaged_dir):
    """Customers with missing regions, ages, scores and incomes, and a segment of one customer."""
    import shutil

    from novamart_panel.data.store import DataStore

    folder = tmp_path_factory.mktemp("gappy")
    shutil.copy(packaged_dir / "campaign_performance.csv", folder)
    rows = pd.read_csv(packaged_dir / "customer_data.csv")
    rows.loc[rows.index[::7], "region"] = None
    rows.loc[rows.index[::11], "age"] = None
    rows.loc[rows.index[::13], "satisfaction_score"] = None
    rows.loc[rows.index[::17], "income"] = None
    churned = rows.index[rows["customer_segment"] == "Churned"]
    rows = rows.drop(churned[1:])                                   # one Churned customer left
    rows.to_csv(folder / "customer_data.csv", index=False)
    return DataStore.open(folder), pd.read_csv(folder / "customer_data.csv")


@pytest.mark.parametrize("state", [ALL, TWO_REGIONS])
def test_breakdowns_keep_missing_values_as_sql_does(gappy, state):
    store, customers = gappy
    rows = rows_for(customers, state)
    assert cq.customer_count(store, state) == len(rows)
    ages = cq.age_histogram(store, state, 10)
    expected = rows.groupby([(rows["age"] // 10) * 10, "customer_segment"], dropna=False).size()
    assert ages["customers"].sum() == len(rows) and ages["bin_start"].isna().sum() == expected.index.get_level_values(
        0).isna().sum()
    means = cq.satisfaction_by_channel(store, state).set_index(["nps_category", "acquisition_channel"])
    reference = rows.groupby(["nps_category", "acquisition_channel"])["satisfaction_score"].agg(["size", "mean"])
    assert means["customers"].to_dict() == reference["size"].to_dict()
    assert np.allclose(means["mean_score"].sort_index(), reference["mean"].sort_index())
    fits = cq.income_ltv_fit(store, state).set_index("segment", drop=False)
    paired = rows.dropna(subset=["income", "lifetime_value"])
    overall = fits.iloc[0]
    assert overall["customers"] == len(rows) and overall["income_min"] == rows["income"].min()
    assert overall["slope"] == pytest.approx(np.polyfit(paired["income"], paired["lifetime_value"], 1)[0])
    assert overall["r"] == pytest.approx(np.corrcoef(paired["income"], paired["lifetime_value"])[0, 1])
    if "Churned" in set(rows["customer_segment"]):
        lone = fits.loc["Churned"]                                   # one customer: no line, no r
        assert lone["customers"] == 1 and np.isnan(lone["slope"]) and np.isnan(lone["r"])
