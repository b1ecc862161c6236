"""Lifetime value against `lifetimes`' documented CDNOW fits (read from the data files its wheel ships, without
vendoring them), against `lifetimes` itself where it imports, and against hand-worked cases."""
from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from novamart_panel.analytics import clv

# lifetimes' documentation: BG/NBD on cdnow_customers_summary.csv (2,357 customers, weeks) and Gamma-Gamma on its
# 946 repeat buyers of cdnow_customers_summary_with_transactions.csv, with the standard errors it prints.
CDNOW_BG_NBD = {"r": 0.2426, "alpha": 4.4135, "a": 0.7929, "b": 2.4258}
CDNOW_BG_NBD_SE = {"r": 0.0126, "alpha": 0.3782, "a": 0.1857, "b": 0.7053}
CDNOW_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.45}


def lifetimes_dataset(name: str) -> Path:
    """A data file of the installed `lifetimes` wheel, found without importing the package."""
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("lifetimes is not installed (pip install lifetimes: its wheel ships the CDNOW data)")
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / name
    if not path.is_file():
        pytest.skip(f"the lifetimes wheel has no datasets/{name}")
    return path


@pytest.fixture(scope="module")
def cdnow_summary() -> pd.DataFrame:
    return pd.read_csv(lifetimes_dataset("cdnow_customers_summary.csv"))


@pytest.fixture(scope="module")
def cdnow_money() -> pd.DataFrame:
    frame = pd.read_csv(lifetimes_dataset("cdnow_customers_summary_with_transactions.csv"))
    return frame.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})


@pytest.fixture(scope="module")
def cdnow_transactions() -> pd.DataFrame:
    frame = pd.read_csv(lifetimes_dataset("CDNOW_sample.txt"), sep=r"\s+", header=None,
                        names=["customer_id", "customer_index", "date", "quantity", "amount"], dtype={"date": str})
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    return frame


@pytest.fixture(scope="module")
def lifetimes():
    """The `lifetimes` package where it imports on this Python/pandas (it is old); skip otherwise."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import lifetimes as module
    except Exception as exc:  # noqa: BLE001 - any import failure means "not usable here"
        pytest.skip(f"lifetimes does not import here: {exc}")
    return module


@pytest.fixture(scope="module")
def bg(cdnow_summary) -> clv.BGNBDModel:
    return clv.fit_bg_nbd(cdnow_summary["frequency"], cdnow_summary["recency"], cdnow_summary["T"])


@pytest.fixture(scope="module")
def gg(cdnow_money) -> clv.GammaGammaModel:
    repeat = cdnow_money[cdnow_money["frequency"] > 0]
    return clv.fit_gamma_gamma(repeat["frequency"], repeat["monetary_value"])


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# -- the documented CDNOW fits ---------------------------------------------------------------------------------
def test_bg_nbd_matches_the_documented_cdnow_fit(bg, cdnow_summary):
    assert bg.customers == len(cdnow_summary) == 2357
    for name, value in CDNOW_BG_NBD.items():
        assert bg.params[name] == pytest.approx(value, rel=2e-4), name
    for name, value in CDNOW_BG_NBD_SE.items():
        assert bg.standard_errors[name] == pytest.approx(value, rel=5e-3), name
    assert bg.at_bound == ()


def test_dropout_is_identified_on_cdnow_and_not_without_it(bg, cdnow_summary):
    # CDNOW's documented fit: a = 0.793, b = 2.426, a dropout chance of 24.6 % after a purchase.
    assert bg.dropout_chance == pytest.approx(0.793 / (0.793 + 2.426), rel=1e-2) and bg.identifies_dropout
    # Regular buyers who never go quiet for long: the fit finds no dropout (lifetimes too: a and b run off
    # together), so P(alive) is about 1 for everyone, the 150-day silent customer included.
    rng = np.random.default_rng(3)
    T = rng.uniform(300, 800, 600)
    frequency = np.round(T / 30.0)
    recency = T - rng.uniform(0, 45, 600)
    recency[:3] = T[:3] - 150
    flat = clv.fit_bg_nbd(frequency, recency, T)
    assert not flat.identifies_dropout and flat.dropout_chance < clv.MIN_DROPOUT_CHANCE
    assert flat.probability_alive(frequency, recency, T).min() > 0.5


def test_gamma_gamma_matches_the_documented_cdnow_fit(gg):
    assert gg.customers == 946
    for name, value in CDNOW_GAMMA_GAMMA.items():
        assert gg.params[name] == pytest.approx(value, abs=0.006), name
    assert gg.at_bound == ()


def test_fits_agree_with_lifetimes(lifetimes, bg, gg, cdnow_summary, cdnow_money):
    theirs = quiet(lambda: lifetimes.BetaGeoFitter().fit(cdnow_summary["frequency"], cdnow_summary["recency"],
                                                         cdnow_summary["T"]))
    for name in ("r", "alpha", "a", "b"):
        assert bg.params[name] == pytest.approx(theirs.params_[name], rel=1e-4)
        assert bg.standard_errors[name] == pytest.approx(theirs.standard_errors_[name], rel=1e-3)
    repeat = cdnow_money[cdnow_money["frequency"] > 0]
    theirs_gg = quiet(lambda: lifetimes.GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"]))
    for name in ("p", "q", "v"):
        assert gg.params[name] == pytest.approx(theirs_gg.params_[name], rel=1e-4)


def test_predictions_agree_with_lifetimes(lifetimes, bg, gg, cdnow_money):
    theirs = lifetimes.BetaGeoFitter()
    theirs.params_ = pd.Series(bg.params)
    theirs.predict = theirs.conditional_expected_number_of_purchases_up_to_time   # set by its fit()
    theirs_gg = lifetimes.GammaGammaFitter()
    theirs_gg.params_ = pd.Series(gg.params)
    history = (cdnow_money["frequency"], cdnow_money["recency"], cdnow_money["T"])
    np.testing.assert_allclose(bg.probability_alive(*history),
                               quiet(theirs.conditional_probability_alive, *history), rtol=1e-10)
    np.testing.assert_allclose(bg.expected_purchases(39, *history),
                               quiet(theirs.conditional_expected_number_of_purchases_up_to_time, 39, *history),
                               rtol=1e-8)
    np.testing.assert_allclose(bg.expected_purchases_new([1, 10, 39]),
                               quiet(theirs.expected_number_of_purchases_up_to_time, np.array([1, 10, 39])), rtol=1e-10)
    np.testing.assert_allclose(gg.expected_average_order_value(cdnow_money["frequency"], cdnow_money["monetary_value"]),
                               quiet(theirs_gg.conditional_expected_average_profit, cdnow_money["frequency"],
                                     cdnow_money["monetary_value"]), rtol=1e-10)
    theirs_clv = quiet(theirs_gg.customer_lifetime_value, theirs, *history, cdnow_money["monetary_value"], time=12,
                       discount_rate=0.01, freq="W")
    ours = clv.customer_lifetime_value(bg, gg, *history, cdnow_money["monetary_value"], months=12, discount_rate=0.01,
                                       freq="W")
    np.testing.assert_allclose(ours, theirs_clv.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(clv.customer_lifetime_value(bg, gg, *history, cdnow_money["monetary_value"], months=12,
                                                           discount_rate=0.01, margin=0.3, freq="W"),
                               0.3 * theirs_clv.to_numpy(), rtol=1e-8)


# -- predictions by hand --------------------------------------------------------------------------------------
def test_probability_alive_and_expected_purchases_by_hand():
    model = clv.BGNBDModel({"r": 0.5, "alpha": 2.0, "a": 1.5, "b": 3.0}, {}, 0, 0, 0.0)
    # Without repeat purchases a customer is alive by definition; otherwise Fader-Hardie's closed form.
    assert model.probability_alive([0], [0], [10])[0] == 1.0
    x, t_x, age = 2, 4.0, 10.0
    expected = 1 / (1 + 1.5 / (3.0 + x - 1) * ((2.0 + age) / (2.0 + t_x)) ** (0.5 + x))
    assert model.probability_alive([x], [t_x], [age])[0] == pytest.approx(expected, rel=1e-12)
    assert model.expected_purchases(0, [x], [t_x], [age])[0] == 0
    horizon = model.expected_purchases([1, 5, 20], [x] * 3, [t_x] * 3, [age] * 3)
    assert np.all(np.diff(horizon) > 0)   # more time, more purchases
    # A customer who bought recently is expected to buy more than one with the same count long ago.
    recent, old = model.expected_purchases(10, [5, 5], [9.5, 1.0], [10, 10])
    assert recent > old


def test_expected_order_value_shrinks_towards_the_population_mean():
    model = clv.GammaGammaModel({"p": 6.0, "q": 4.0, "v": 15.0}, {}, 0, 0.0)
    assert model.population_mean == pytest.approx(15 * 6 / 3)
    one, many = model.expected_average_order_value([1, 100], [100.0, 100.0])
    assert model.population_mean < one < many < 100
    assert model.expected_average_order_value([0], [0])[0] == pytest.approx(model.population_mean)


def test_customer_lifetime_value_sums_discounted_monthly_purchases():
    bg = clv.BGNBDModel({"r": 0.5, "alpha": 20.0, "a": 1.5, "b": 3.0}, {}, 0, 0, 0.0)
    gg = clv.GammaGammaModel({"p": 6.0, "q": 4.0, "v": 15.0}, {}, 0, 0.0)
    x, t_x, age, m = [3.0], [200.0], [300.0], [40.0]
    months, rate = 3, 0.02
    value = gg.expected_average_order_value(x, m)[0]
    cumulative = [0.0] + [bg.expected_purchases(30 * i, x, t_x, age)[0] for i in range(1, months + 1)]
    by_hand = sum(value * (cumulative[i] - cumulative[i - 1]) / (1 + rate) ** i for i in range(1, months + 1))
    result = clv.customer_lifetime_value(bg, gg, x, t_x, age, m, months=months, discount_rate=rate, margin=0.25)
    assert result[0] == pytest.approx(0.25 * by_hand, rel=1e-12)
    # Repeated and missing histories: the same value for the same history, NaN where the history is unknown.
    repeated = clv.customer_lifetime_value(bg, gg, [3, 3, np.nan], [200, 200, 1], [300, 300, 300], [40, 40, 40],
                                           months=months, discount_rate=rate, margin=0.25)
    assert repeated[0] == repeated[1] == pytest.approx(result[0])
    assert np.isnan(repeated[2])
    with pytest.raises(ValueError, match="horizon"):
        clv.customer_lifetime_value(bg, gg, x, t_x, age, m, months=0)


# -- RFM summaries ------------------------------------------------------------------------------------------
def test_rfm_summary_by_hand():
    orders = pd.DataFrame({
        "customer": ["a", "a", "a", "a", "b", "c", "c"],
        "date": ["2024-01-01", "2024-01-01", "2024-01-11", "2024-01-31", "2024-01-20", "2024-01-05", "2024-02-15"],
        "amount": [10.0, 5.0, 20.0, 40.0, 7.0, 3.0, 99.0],
    })
    summary = clv.rfm_summary(orders, "customer", "date", "amount", observation_end="2024-02-10")
    # a: purchase days 1, 11, 31 Jan (the two orders of 1 Jan are one purchase): 2 repeats, mean repeat (20 + 40) / 2.
    assert summary.loc["a"].tolist() == [2.0, 30.0, 40.0, 30.0]
    assert summary.loc["b"].tolist() == [0.0, 0.0, 21.0, 0.0]
    assert summary.loc["c"].tolist() == [0.0, 0.0, 36.0, 0.0]    # the 15 Feb order is after the observation end
    without_money = clv.rfm_summary(orders, "customer", "date")
    assert list(without_money.columns) == ["frequency", "recency", "T"]
    assert without_money.loc["c"].tolist() == [1.0, 41.0, 41.0]


def test_rfm_summary_matches_lifetimes_documented_example():
    """lifetimes' README: summary_data_from_transaction_data on example_transactions.csv up to 2014-12-31."""
    transactions = pd.read_csv(lifetimes_dataset("example_transactions.csv"))
    summary = clv.rfm_summary(transactions, "id", "date", observation_end="2014-12-31")
    documented = pd.DataFrame({"frequency": [0.0, 0.0, 6.0, 0.0, 2.0], "recency": [0.0, 0.0, 142.0, 0.0, 9.0],
                               "T": [298.0, 224.0, 292.0, 147.0, 183.0]}, index=pd.Index([0, 1, 2, 3, 4], name="id"))
    pd.testing.assert_frame_equal(summary.head(), documented)


@pytest.mark.parametrize("freq", ["D", "W"])
def test_rfm_summary_matches_lifetimes_on_cdnow(lifetimes, cdnow_transactions, freq):
    theirs = quiet(lifetimes.utils.summary_data_from_transaction_data, cdnow_transactions, "customer_id", "date",
                   monetary_value_col="amount", observation_period_end="1997-09-30", freq=freq)
    ours = clv.rfm_summary(cdnow_transactions, "customer_id", "date", "amount", observation_end="1997-09-30", freq=freq)
    pd.testing.assert_frame_equal(ours.sort_index(), theirs.sort_index()[ours.columns], check_names=False, rtol=1e-9)


def test_histories_from_customer_totals():
    derived = clv.rfm_from_customer_totals(total_purchases=[0, 1, 5, 5], tenure_periods=[90, 60, 300, 30],
                                           periods_since_last=[10, 20, 40, 45], avg_order_value=[0, 50, 80, 80])
    assert derived["frequency"].isna().tolist() == [True, False, False, False]
    assert derived.iloc[1].tolist() == [0.0, 0.0, 60.0, 0.0]       # one purchase: no repeat, no monetary value
    assert derived.iloc[2].tolist() == [4.0, 260.0, 300.0, 80.0]
    assert derived.iloc[3].tolist() == [4.0, 0.0, 45.0, 80.0]      # tenure shorter than the gap: T stretched


# -- when the data cannot support a fit ------------------------------------------------------------------
def test_clear_errors_without_enough_repeat_buyers():
    n = 500
    frequency = np.zeros(n)
    frequency[:5] = 2
    recency = np.where(frequency > 0, 10.0, 0.0)
    with pytest.raises(clv.InsufficientDataError, match="only 5 of 500 customers bought more than once"):
        clv.fit_bg_nbd(frequency, recency, np.full(n, 50.0))
    with pytest.raises(clv.InsufficientDataError, match="too few customers|too few for a BG/NBD"):
        clv.fit_bg_nbd([1, 2], [1, 2], [3, 3])
    with pytest.raises(clv.InsufficientDataError, match="repeat buyers with a purchase value are too few"):
        clv.fit_gamma_gamma(frequency, np.where(frequency > 0, 25.0, 0.0))
    with pytest.raises(ValueError, match="recency <= T"):
        clv.fit_bg_nbd(np.ones(100), np.full(100, 9.0), np.full(100, 5.0))


def test_gamma_gamma_scale_is_in_the_money_unit(cdnow_money):
    """Values in paise instead of rupees: p and q stay, v scales by 100 (the fit rescales internally)."""
    repeat = cdnow_money[cdnow_money["frequency"] > 0]
    base = clv.fit_gamma_gamma(repeat["frequency"], repeat["monetary_value"])
    scaled = clv.fit_gamma_gamma(repeat["frequency"], repeat["monetary_value"] * 100)
    assert scaled.params["p"] == pytest.approx(base.params["p"], rel=1e-5)
    assert scaled.params["q"] == pytest.approx(base.params["q"], rel=1e-5)
    assert scaled.params["v"] == pytest.approx(100 * base.params["v"], rel=1e-5)


def test_large_populations_fit_on_a_fixed_sample(cdnow_summary, monkeypatch):
    """Above FIT_SAMPLE customers the fit uses a fixed random sample: the same answer every time, near the full fit."""
    monkeypatch.setattr(clv, "FIT_SAMPLE", 1500)
    first = clv.fit_bg_nbd(cdnow_summary["frequency"], cdnow_summary["recency"], cdnow_summary["T"])
    second = clv.fit_bg_nbd(cdnow_summary["frequency"], cdnow_summary["recency"], cdnow_summary["T"])
    assert first.params == second.params
    assert (first.customers, first.fitted_on) == (2357, 1500)
    assert first.params["r"] == pytest.approx(CDNOW_BG_NBD["r"], rel=0.15)


def test_customers_who_never_drop_out_still_fit():
    """Poisson buyers who never drop out: the dropout Beta degenerates along a ridge of the likelihood (parameters
    run towards 0 or the bound), which is reported in `at_bound` rather than raised; predictions stay finite."""
    rng = np.random.default_rng(3)
    n = 3000
    age = rng.uniform(100, 400, n)
    frequency = rng.poisson(age / 20)
    recency = np.where(frequency > 0, age - rng.uniform(0, 3, n), 0.0)
    recency = np.clip(recency, 0, age)
    model = clv.fit_bg_nbd(frequency, recency, age)
    assert set(model.at_bound) <= {"r", "alpha", "a", "b"}
    assert model.params["a"] / (model.params["a"] + model.params["b"]) < 1e-3
    assert np.all(np.isfinite(model.expected_purchases(30, frequency, recency, age)))
    assert model.probability_alive(frequency, recency, age).min() > 0.9


def test_distinct_histories_carry_weights_and_duplicates_do_not_change_the_fit(cdnow_summary, bg):
    rows, counts, position = clv._distinct(np.array([3.0, 1, 3, 1, 2]), np.array([1.0, 1, 1, 2, 1]))
    assert [r.tolist() for r in rows] == [[1, 1, 2, 3], [1, 2, 1, 1]]
    assert counts.tolist() == [1, 1, 1, 2] and position.tolist() == [3, 0, 3, 1, 2]
    tripled = pd.concat([cdnow_summary] * 3, ignore_index=True)
    histories = clv._Histories.of(tripled["frequency"].to_numpy(), tripled["recency"].to_numpy(),
                                  tripled["T"].to_numpy())
    assert len(histories.x) < len(cdnow_summary) and histories.weights.sum() == len(tripled)
    again = clv.fit_bg_nbd(tripled["frequency"], tripled["recency"], tripled["T"])
    assert again.params == pytest.approx(bg.params, rel=1e-5)
    # Three times the data: standard errors shrink by √3.
    assert again.standard_errors["r"] == pytest.approx(bg.standard_errors["r"] / np.sqrt(3), rel=1e-3)


def test_customer_predictions_equal_the_one_by_one_methods(bg, gg, cdnow_money):
    history = (cdnow_money["frequency"], cdnow_money["recency"], cdnow_money["T"])
    money = cdnow_money["monetary_value"]
    frame = clv.customer_predictions(bg, gg, *history, money, months=6, discount_rate=0.02, margin=0.5, freq="W")
    np.testing.assert_allclose(frame["p_alive"], bg.probability_alive(*history))
    np.testing.assert_allclose(frame["expected_purchases"], bg.expected_purchases(6 * 4.345, *history))
    np.testing.assert_allclose(frame["expected_aov"], gg.expected_average_order_value(cdnow_money["frequency"], money))
    np.testing.assert_allclose(frame["clv"], clv.customer_lifetime_value(bg, gg, *history, money, months=6,
                                                                         discount_rate=0.02, margin=0.5, freq="W"))
    with_gap = clv.customer_predictions(bg, gg, [1.0, np.nan], [2.0, 1.0], [5.0, 5.0], [10.0, 10.0])
    assert with_gap["clv"].isna().tolist() == [False, True]
