"""Marketing-mix model: transformations against hand-worked cases, the constrained regression against
scikit-learn and scipy, the optimizer against a brute-force grid, and recovery of the generator's known
media response on the packaged data."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import lsq_linear, minimize
from sklearn.linear_model import Ridge

from novamart_panel.analytics import mmm
from novamart_panel.data import generator
from novamart_panel.data.budget_queries import mix_frame
from novamart_panel.data.queries import FilterState

# Stated tolerance of the recovery test: each paid channel's share of revenue within 2.5 percentage points of
# the truth, the media total within 6 points (over seeds 7, 8, 9 and 42 the largest channel error was 1.9).
SHARE_TOLERANCE = 0.025
MEDIA_TOLERANCE = 0.06


# ---------------------------------------------------------------- transformations


def test_geometric_adstock_hand_worked():
    # weights 1, 0.5, 0.25 normalised by 1.75
    carried = mmm.geometric_adstock([100, 0, 0, 0, 70], decay=0.5, max_lag=2)
    assert np.allclose(carried, [100 / 1.75, 50 / 1.75, 25 / 1.75, 0.0, 70 / 1.75])
    assert np.allclose(mmm.geometric_adstock([3, 1], decay=0.0, max_lag=5), [3, 1])


def test_adstock_of_a_steady_spend_settles_at_that_spend():
    carried = mmm.geometric_adstock(np.full(40, 250.0), decay=0.7, max_lag=10)
    assert np.allclose(carried[10:], 250.0)
    assert (np.diff(carried[:11]) > 0).all()
    with pytest.raises(ValueError):
        mmm.geometric_adstock([1.0], decay=1.0, max_lag=3)


def test_hill_hand_worked_and_derivative():
    assert mmm.hill(0.0, 10.0, 2.0) == 0.0
    assert mmm.hill(10.0, 10.0, 0.7) == pytest.approx(0.5)
    assert mmm.hill(30.0, 10.0, 2.0) == pytest.approx(0.9)          # 9 / (9 + 1)
    assert np.allclose(mmm.hill([[5.0, 40.0]], [5.0, 20.0], [1.0, 1.0]), [[0.5, 2 / 3]])
    x, step = 17.0, 1e-5
    numeric = (mmm.hill(x + step, 12.0, 1.4) - mmm.hill(x - step, 12.0, 1.4)) / (2 * step)
    assert mmm.hill_derivative(x, 12.0, 1.4) == pytest.approx(numeric, rel=1e-6)
    with pytest.raises(ValueError):
        mmm.hill(1.0, 0.0, 1.0)


def test_infer_frequency_and_festivals():
    assert mmm.infer_frequency(pd.date_range("2024-01-01", periods=10)) == "daily"
    assert mmm.infer_frequency(pd.date_range("2024-01-01", periods=10, freq="7D")) == "weekly"
    with pytest.raises(ValueError, match="neither daily nor weekly"):
        mmm.infer_frequency(pd.date_range("2024-01-01", periods=10, freq="MS"))
    days = pd.Series(pd.date_range("2023-10-01", "2024-01-10"))
    festivals = mmm.festival_controls(days).set_index(days)
    # Diwali 2023 was 12 November: its week 0 is 12–18 November, week −1 the seven days before.
    assert festivals.loc["2023-11-12":"2023-11-18", "diwali_week+0"].eq(1).all()
    assert festivals.loc["2023-11-05":"2023-11-11", "diwali_week-1"].eq(1).all()
    assert festivals.loc["2023-11-19", "diwali_week+0"] == 0
    assert festivals.loc["2023-12-25", "christmas_week+0"] == 1
    assert (festivals.sum(axis=1) <= 1).all(), "a day belongs to one festival week at most"


def test_fourier_terms_are_periodic():
    terms = mmm.fourier_terms(pd.Series(pd.to_datetime(["2023-03-01", "2024-02-29"])), period_days=365.0, order=2)
    assert np.allclose(terms.iloc[0], terms.iloc[1])
    assert list(terms.columns) == ["sin1", "cos1", "sin2", "cos2"]


def test_screen_channels_keeps_zero_spend_and_flat_channels_out():
    frame = pd.DataFrame({"a": np.r_[np.zeros(50), np.arange(50.0)], "organic": 0.0,
                          "rare": np.r_[np.zeros(95), np.ones(5)], "flat": 100.0})
    kept, excluded = mmm.screen_channels(frame, ["a", "organic", "rare", "flat"])
    assert kept == ["a"]
    assert "baseline, not media" in excluded["organic"]
    assert "only 5 periods" in excluded["rare"]
    assert "hardly varies" in excluded["flat"]


# ---------------------------------------------------------------- regression


def _problem(media: np.ndarray, y: np.ndarray, baseline: np.ndarray) -> mmm._Problem:
    n, c = media.shape
    return mmm._Problem(y=y, spend=media, lagged=media[None], reference=np.ones(c), baseline=baseline,
                        folds=[], decay_range=(0.0, 0.5))


def test_solve_with_an_intercept_equals_sklearn_ridge_positive():
    rng = np.random.default_rng(1)
    media = rng.uniform(0, 1, (200, 3))
    y = 2 + media @ np.array([1.5, -0.8, 0.6]) + rng.normal(0, 0.1, 200)
    every = np.arange(200)
    beta, gamma = mmm._solve(_problem(media, y, np.ones((200, 1))), media, every, ridge=0.7)
    reference = Ridge(alpha=0.7, positive=True, fit_intercept=True, tol=1e-12).fit(media, y)
    assert np.allclose(beta, reference.coef_, atol=1e-5)
    assert gamma[0] == pytest.approx(reference.intercept_, abs=1e-5)
    assert beta[1] == 0.0, "a negative media effect is held at 0"


def test_solve_matches_bounded_least_squares_with_a_free_baseline():
    rng = np.random.default_rng(2)
    n = 300
    baseline = np.column_stack([np.ones(n), np.linspace(0, 1, n), np.sin(np.arange(n) / 9)])
    media = rng.uniform(0, 1, (n, 2))
    y = baseline @ [1.0, -0.5, 0.3] + media @ [0.8, 0.2] + rng.normal(0, 0.05, n)
    ridge = 0.3
    beta, gamma = mmm._solve(_problem(media, y, baseline), media, np.arange(n), ridge)
    # The same problem as one bounded least-squares system: baseline free, media ≥ 0 with ridge rows.
    design = np.vstack([np.hstack([baseline, media]), np.hstack([np.zeros((2, 3)), np.sqrt(ridge) * np.eye(2)])])
    target = np.r_[y, 0.0, 0.0]
    reference = lsq_linear(design, target, bounds=([-np.inf] * 3 + [0, 0], [np.inf] * 5), tol=1e-12).x
    assert np.allclose(np.r_[gamma, beta], reference, atol=1e-6)


def test_folds_train_only_on_the_past():
    folds = mmm._folds(731, 4)
    assert len(folds) == 4
    for train, test in folds:
        assert train.max() < test.min() and train.min() == 0
        assert len(test) == 73
    assert folds[-1][1][-1] == 730


# ---------------------------------------------------------------- fitting on synthetic data


def _synthetic(seed: int = 3, n: int = 400) -> tuple[pd.DataFrame, dict]:
    """Two channels with known adstock and saturation on an additive baseline, 1 % noise."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-01", periods=n)
    truth = {"tv": (0.5, 800.0, 1.2, 3000.0), "search": (0.1, 300.0, 1.0, 2000.0)}
    frame = pd.DataFrame({"date": dates})
    revenue = 10_000 + 2_000 * np.linspace(0, 1, n) + 500 * (dates.day_of_week >= 5)
    for name, (decay, half, slope, scale) in truth.items():
        on = np.repeat(rng.random(n // 20) < 0.7, 20)
        frame[name] = np.round(on * rng.lognormal(np.log(truth[name][1]), 0.5, n), 2)
        revenue = revenue + scale * mmm.hill(mmm.geometric_adstock(frame[name], decay, 14), half, slope)
    frame["revenue"] = revenue * rng.lognormal(0, 0.01, n)
    return frame, truth


@pytest.fixture(scope="module")
def synthetic_model():
    frame, truth = _synthetic()
    return mmm.fit_mmm(frame, "date", "revenue", ["tv", "search"], n_candidates=128, refine_evaluations=300,
                       n_bootstrap=100), frame, truth


def test_fit_recovers_a_known_response(synthetic_model):
    model, frame, truth = synthetic_model
    assert model.frequency == "daily" and model.channels == ["tv", "search"]
    for name, (decay, half, slope, scale) in truth.items():
        true_parts = scale * mmm.hill(mmm.geometric_adstock(frame[name], decay, 14), half, slope)
        true_share = true_parts.sum() / frame["revenue"].sum()
        assert model.contributions.loc[name, "share"] == pytest.approx(true_share, abs=0.01), name
        steady = np.array([0.5, 1.0, 2.0]) * half
        assert np.allclose(model.response(name, steady), scale * mmm.hill(steady, half, slope), rtol=0.15), name
    assert model.quality["r2"] > 0.9 and model.quality["mape"] < 0.02
    assert model.quality["nrmse"] < model.quality["baseline_nrmse"]


def test_fit_outputs_are_consistent(synthetic_model):
    model, frame, _ = synthetic_model
    c = model.contributions
    assert list(c.columns) == ["spend", "contribution", "share", "share_low", "share_high", "roi", "roi_low",
                               "roi_high", "marginal_roi"]
    assert np.allclose(c["roi"], c["contribution"] / frame[["tv", "search"]].sum())
    assert np.allclose(c["share"], c["contribution"] / frame["revenue"].sum())
    assert (c["roi_low"] <= c["roi_high"]).all() and (c["share_low"] <= c["share_high"]).all()
    parts = model.decomposition
    assert np.allclose(parts["baseline"] + parts[["tv", "search"]].sum(axis=1), parts["predicted"])
    assert parts["held_out"].notna().sum() == sum(len(test) for _, test in mmm._folds(len(frame), 4))
    assert len(model.cv_folds) == 4 and (model.cv_folds["train_end"] < model.cv_folds["test_start"]).all()
    curve = model.response_curve("tv")
    assert curve["response"].iloc[0] == 0 and curve["response"].is_monotonic_increasing
    numeric = np.gradient(curve["response"], curve["spend"])
    assert np.allclose(curve["marginal_roi"].iloc[5:-5], numeric[5:-5], rtol=0.05)


def test_fit_is_reproducible_and_weekly_data_work(synthetic_model):
    model, frame, _ = synthetic_model
    again = mmm.fit_mmm(frame, "date", "revenue", ["tv", "search"], n_candidates=128, refine_evaluations=300,
                        n_bootstrap=100)
    pd.testing.assert_frame_equal(again.contributions, model.contributions)
    weekly = frame.resample("7D", on="date").sum().reset_index()
    long = pd.concat([weekly, weekly.assign(date=weekly["date"] + pd.Timedelta(weeks=len(weekly)))], ignore_index=True)
    fitted = mmm.fit_mmm(long, "date", "revenue", ["tv", "search"], n_candidates=32, refine_evaluations=0,
                         n_bootstrap=20)
    assert fitted.frequency == "weekly" and fitted.max_lag == 4
    assert not any(c.startswith("weekday") for c in mmm._baseline_design(long["date"], "weekly", long[[]]).columns)


def test_fit_refuses_too_little_data_and_names_excluded_channels():
    frame, _ = _synthetic(n=40)
    with pytest.raises(ValueError, match="too few"):
        mmm.fit_mmm(frame, "date", "revenue", ["tv", "search"])
    frame, _ = _synthetic()
    frame["organic"] = 0.0
    model = mmm.fit_mmm(frame, "date", "revenue", ["tv", "search", "organic"], n_candidates=16,
                        refine_evaluations=0, n_bootstrap=10)
    assert "organic" not in model.channels and "baseline" in model.excluded["organic"]
    with pytest.raises(KeyError, match="organic has no response curve"):
        model.response("organic", 10.0)


# ---------------------------------------------------------------- optimizer


def test_optimize_matches_a_brute_force_grid(synthetic_model):
    model, _, _ = synthetic_model
    total = float(model.current.sum())
    bounds = {c: (0.2 * model.current[c], 2.5 * model.current[c]) for c in model.channels}
    result = model.optimize(total, bounds)
    assert result["spend"].sum() == pytest.approx(total)
    assert (result["spend"] >= result["lower"] - 1e-6).all() and (result["spend"] <= result["upper"] + 1e-6).all()
    lo, hi = bounds["tv"]
    grid = np.linspace(lo, hi, 4001)
    feasible = grid[(total - grid >= bounds["search"][0]) & (total - grid <= bounds["search"][1])]
    revenue = model.response("tv", feasible) + model.response("search", total - feasible)
    best = feasible[np.argmax(revenue)]
    assert result.loc["tv", "spend"] == pytest.approx(best, abs=(hi - lo) / 2000)
    assert result.attrs["predicted"] >= model.baseline_level + revenue.max() - 1e-6
    assert result.attrs["lift"] == pytest.approx(result.attrs["predicted"] / result.attrs["predicted_current"] - 1)
    # At an interior optimum the marginal returns are equal.
    if (result["spend"] > result["lower"] * 1.01).all() and (result["spend"] < result["upper"] * 0.99).all():
        assert result["marginal_roi"].iloc[0] == pytest.approx(result["marginal_roi"].iloc[1], rel=0.02)


def test_optimize_three_channels_against_a_grid():
    frame, _ = _synthetic()
    rng = np.random.default_rng(9)
    frame["radio"] = np.round(np.repeat(rng.random(20) < 0.7, 20) * rng.lognormal(np.log(500), 0.5, 400), 2)
    frame["revenue"] += 1500 * mmm.hill(mmm.geometric_adstock(frame["radio"], 0.3, 14), 500, 1.0)
    model = mmm.fit_mmm(frame, "date", "revenue", ["tv", "search", "radio"], n_candidates=64,
                        refine_evaluations=0, n_bootstrap=10)
    total = float(model.current.sum())
    bounds = model.default_bounds(0.25, 2.0)
    result = model.optimize(total, bounds)
    axes = [np.linspace(*bounds[c], 121) for c in ("tv", "search")]
    best = -np.inf
    for a, b in itertools.product(*axes):
        c = total - a - b
        if bounds["radio"][0] <= c <= bounds["radio"][1]:
            best = max(best, model.predict({"tv": a, "search": b, "radio": c}))
    assert result.attrs["predicted"] >= best - 1e-6 * best
    assert result.attrs["predicted"] <= best * 1.001, "the grid is fine enough to come within 0.1 %"


def test_optimize_refuses_impossible_budgets_and_unknown_channels(synthetic_model):
    model, _, _ = synthetic_model
    with pytest.raises(ValueError, match="outside what the bounds allow"):
        model.optimize(10 * model.current.sum())
    with pytest.raises(KeyError, match="radio"):
        model.optimize(bounds={"radio": (0, 1)})
    default = model.optimize()
    assert default.attrs["total"] == pytest.approx(model.current.sum())
    assert np.allclose(default["lower"], 0.5 * model.current) and np.allclose(default["upper"], 1.5 * model.current)


# ---------------------------------------------------------------- the generator's ground truth


@pytest.fixture(scope="module")
def packaged_fit(packaged_store):
    frame = mix_frame(packaged_store, FilterState())
    festivals = mmm.festival_controls(frame["date"])
    paid = list(generator.TRUE_MEDIA_RESPONSE)
    model = mmm.fit_mmm(pd.concat([frame, festivals], axis=1), "date", "revenue",
                        [c for c in frame.columns if c not in ("date", "spend", "clicks", "conversions", "revenue")],
                        controls=list(festivals.columns))
    rows = int(packaged_store.scalar("SELECT count(*) FROM campaigns"))
    truth = generator.true_media_revenue(frame.set_index("date")[paid], rows)
    return model, frame, truth, rows


def test_zero_spend_channels_are_baseline(packaged_fit):
    model, *_ = packaged_fit
    assert set(model.excluded) == {"Direct", "Organic Search"}
    assert set(model.channels) == set(generator.TRUE_MEDIA_RESPONSE)


def test_recovers_each_channels_true_contribution_share(packaged_fit):
    model, frame, truth, _ = packaged_fit
    true_share = truth.sum() / frame["revenue"].sum()
    fitted = model.contributions["share"].reindex(true_share.index)
    assert (fitted - true_share).abs().max() <= SHARE_TOLERANCE, pd.DataFrame({"fit": fitted, "truth": true_share})
    assert abs(fitted.sum() - true_share.sum()) <= MEDIA_TOLERANCE
    # The ranking of the large contributors survives.
    assert fitted.idxmax() == true_share.idxmax() == "Google Ads"


def test_optimizer_finds_the_true_optimal_split(packaged_fit):
    model, frame, _, rows = packaged_fit
    truth = generator.true_media_response(rows)
    paid = list(truth.index)
    current = frame[paid].mean().to_numpy()
    total = current.sum()
    box = [(0.5 * v, 1.5 * v) for v in current]

    def true_revenue(x):
        return sum(truth.loc[c, "scale"] * mmm.hill(x[i], truth.loc[c, "half_saturation"], truth.loc[c, "slope"])
                   for i, c in enumerate(paid))

    starts = [current] + [np.clip(np.random.default_rng(s).dirichlet(np.ones(len(paid))) * total, *zip(*box))
                          for s in range(6)]
    best = min((minimize(lambda x: -true_revenue(x), s, bounds=box, method="SLSQP",
                         constraints=[{"type": "eq", "fun": lambda x: x.sum() - total}]) for s in starts),
               key=lambda r: r.fun)
    fitted = model.optimize(total, {c: b for c, b in zip(paid, box)})["spend"].reindex(paid).to_numpy()
    gain_possible = -best.fun - true_revenue(current)
    gain_found = true_revenue(fitted) - true_revenue(current)
    assert gain_possible > 0.05 * true_revenue(current), "the generated data has a real answer"
    assert gain_found >= 0.9 * gain_possible
    assert np.abs(fitted - best.x).max() <= 0.05 * total
    # Every main move (over 3 % of the budget) goes the same way.
    main = np.abs(best.x - current) > 0.03 * total
    assert main.any()
    assert (np.sign(fitted - current)[main] == np.sign(best.x - current)[main]).all()


def test_fit_quality_matches_scikit_learn_and_is_undefined_where_the_actuals_do_not_vary():
    from sklearn.metrics import mean_absolute_percentage_error, r2_score

    actual, predicted = np.array([0.0, 4.0, 6.0, 10.0]), np.array([1.0, 3.0, 7.0, 9.0])
    quality = mmm.fit_quality(actual, predicted)
    assert quality["r2"] == pytest.approx(r2_score(actual, predicted))
    assert quality["mape"] == pytest.approx(mean_absolute_percentage_error(actual[1:], predicted[1:]))
    assert quality["nrmse"] == pytest.approx(1.0 / 10.0)   # RMSE 1 over the actuals' range 10
    # A held-out fold where the channel earned nothing: no variance to explain, no positive actual, no range.
    flat = mmm.fit_quality(np.zeros(5), np.full(5, 2.0))
    assert all(np.isnan(flat[key]) for key in ("r2", "mape", "nrmse"))
