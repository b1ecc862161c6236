"""A/B test readouts against statsmodels, scipy, hand-worked Beta integrals and Monte Carlo; the edge cases
(no conversions, 100 % conversion, one visitor, one variant, no control) give defined output, not warnings."""
from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from scipy.special import roots_sh_jacobi
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (confint_proportions_2indep, proportion_confint, proportion_effectsize,
                                          proportions_ztest)
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from novamart_panel.analytics import experiments as ex
from novamart_panel.data.experiment_queries import experiment_names, experiment_rows


def variants(*rows, revenue=None) -> pd.DataFrame:
    """A frame of (variant, visitors, conversions) rows, optionally with revenue totals."""
    frame = pd.DataFrame(rows, columns=["variant", "visitors", "conversions"])
    if revenue is not None:
        frame["revenue"] = revenue
    return frame


THREE = variants(("Control", 10_000, 300), ("A", 10_000, 345), ("B", 9_900, 390),
                 revenue=[600_000.0, 700_000.0, 760_000.0])


# -- control detection ------------------------------------------------------------------------------

@pytest.mark.parametrize(("names", "expected"), [
    (["A", "control", "B"], ("control", True)),
    (["Variant A", "CONTROL"], ("CONTROL", True)),
    (["B", " Control "], (" Control ", True)),
    (["Baseline", "Variant A"], ("Baseline", False)),
    (["Controlled rollout", "New"], ("Controlled rollout", False)),
    ([], (None, False)),
])
def test_control_is_named_control_in_any_case_else_the_first_variant(names, expected):
    assert ex.choose_control(names) == expected


def test_compare_variants_uses_the_detected_control_and_an_explicit_one():
    frame = variants(("Old", 1000, 30), ("New", 1000, 45), ("control", 1000, 31))
    assert ex.compare_variants(frame).set_index("variant")["is_control"].to_dict() == {
        "Old": False, "New": False, "control": True}
    first = ex.compare_variants(variants(("Old", 1000, 30), ("New", 1000, 45)))
    assert first["is_control"].tolist() == [True, False]
    assert ex.compare_variants(frame, control="New").set_index("variant").loc["New", "is_control"]
    with pytest.raises(ValueError, match="not one of the variants"):
        ex.compare_variants(frame, control="missing")


# -- frequentist readout against statsmodels --------------------------------------------------------

def test_readout_matches_statsmodels():
    readout = ex.compare_variants(THREE).set_index("variant")
    control = readout.loc["Control"]
    raw = []
    for name in ("A", "B"):
        row = readout.loc[name]
        c, n = row["conversions"], row["visitors"]
        assert (row["rate_low"], row["rate_high"]) == pytest.approx(
            proportion_confint(c, n, method="wilson"), rel=1e-12)
        assert row["p_value"] == pytest.approx(proportions_ztest([c, 300], [n, 10_000])[1], rel=1e-12)
        assert (row["diff_low"], row["diff_high"]) == pytest.approx(
            confint_proportions_2indep(c, n, 300, 10_000, method="newcomb", compare="diff"), rel=1e-12)
        ratio = confint_proportions_2indep(c, n, 300, 10_000, compare="ratio", method="log-adjusted")
        assert (row["lift_low"], row["lift_high"]) == pytest.approx((ratio[0] - 1, ratio[1] - 1), rel=1e-12)
        assert row["diff"] == pytest.approx(c / n - 0.03)
        assert row["lift"] == pytest.approx((c / n) / 0.03 - 1)
        raw.append(row["p_value"])
    assert readout.loc[["A", "B"], "p_adjusted"].tolist() == pytest.approx(
        multipletests(raw, method="holm")[1].tolist(), rel=1e-12)
    assert readout.loc["B", "p_adjusted"] < readout.loc["A", "p_adjusted"]
    assert control["note"] == "control" and control[["diff", "p_value", "prob_beat_control"]].isna().all()


@pytest.mark.parametrize("seed", range(5))
def test_holm_matches_multipletests(seed):
    rng = np.random.default_rng(seed)
    p_values = rng.uniform(0, 0.2, rng.integers(1, 12)) ** rng.uniform(1, 3)
    p_values[rng.random(len(p_values)) < 0.3] = p_values[0]   # ties
    assert ex.holm(p_values).tolist() == pytest.approx(multipletests(p_values, method="holm")[1].tolist(),
                                                      rel=1e-12)


def test_holm_ignores_undefined_p_values():
    adjusted = ex.holm([0.01, np.nan, 0.04])
    assert np.isnan(adjusted[1])
    assert adjusted[[0, 2]].tolist() == pytest.approx(multipletests([0.01, 0.04], method="holm")[1].tolist())
    assert np.isnan(ex.holm([np.nan])).all()


# -- Bayesian: closed form against hand-worked integrals, quadrature and Monte Carlo ----------------

def test_prob_greater_hand_worked():
    # X ~ Beta(2, 1) has density 2x; against a uniform Y, P(X > Y) = ∫ 2x · x dx = 2/3.
    assert ex.prob_greater(2, 1, 1, 1) == pytest.approx(2 / 3, rel=1e-12)
    assert ex.prob_greater(1, 1, 2, 1) == pytest.approx(1 / 3, rel=1e-12)
    assert ex.prob_greater(1, 1, 1, 1) == pytest.approx(0.5, rel=1e-12)
    # X ~ Beta(3, 1) (density 3x²) against Y ~ Beta(1, 2) (cdf 2y − y²): ∫ 3x²(2x − x²) dx = 3/2 − 3/5.
    assert ex.prob_greater(3, 1, 1, 2) == pytest.approx(0.9, rel=1e-12)


@pytest.mark.parametrize("params", [(31, 970, 46, 955), (300, 9701, 346, 9656), (1, 101, 6, 96),
                                    (101, 1, 96, 6), (2, 1, 1, 2), (4001, 6000, 3901, 6100)])
def test_prob_greater_matches_numerical_integration(params):
    a_x, b_x, a_y, b_y = params
    # P(X > Y) = ∫ f_X(x) F_Y(x) dx.
    expected, _ = integrate.quad(lambda x: stats.beta.pdf(x, a_x, b_x) * stats.beta.cdf(x, a_y, b_y), 0, 1,
                                 points=[a_x / (a_x + b_x), a_y / (a_y + b_y)], epsabs=1e-13, limit=500)
    assert ex.prob_greater(a_x, b_x, a_y, b_y) == pytest.approx(expected, abs=1e-9)
    assert ex.prob_greater(a_x, b_x, a_y, b_y) + ex.prob_greater(a_y, b_y, a_x, b_x) == pytest.approx(1, abs=1e-10)


def test_prob_beat_control_and_expected_loss_match_monte_carlo():
    readout = ex.compare_variants(THREE).set_index("variant")
    rng = np.random.default_rng(12)
    draws = 2_000_000
    control = rng.beta(301, 9_701, draws)
    for name, (c, n) in {"A": (345, 10_000), "B": (390, 9_900)}.items():
        variant = rng.beta(1 + c, 1 + n - c, draws)
        assert readout.loc[name, "prob_beat_control"] == pytest.approx((variant > control).mean(), abs=2e-3)
        assert readout.loc[name, "expected_loss"] == pytest.approx(np.maximum(control - variant, 0).mean(),
                                                                   rel=0.03, abs=2e-7)


def test_expected_loss_hand_worked_and_as_growthbook_computes_risk():
    # A uniform, B ~ Beta(2, 1): E[max(A − B, 0)] = ∫∫_{a>b} (a − b) 2b db da = ∫ a³/3 da = 1/12.
    assert ex.expected_loss(2, 1, 1, 1) == pytest.approx(1 / 12, rel=1e-12)
    # GrowthBook's risk: E[max(A, B)] − E[B] by Gauss–Jacobi quadrature over each Beta (scipy's nodes
    # overflow beyond a few thousand visitors; Monte Carlo covers those sizes above).
    for a_b, b_b, a_a, b_a in [(46, 955, 31, 970), (31, 970, 46, 955), (6, 96, 1, 101), (2, 3, 4, 1)]:
        def nodes(a, b):
            x, w = roots_sh_jacobi(60, a + b - 1, a)
            return x, w / w.sum()
        xa, wa = nodes(a_a, b_a)
        xb, wb = nodes(a_b, b_b)
        e_max = (xa * stats.beta.cdf(xa, a_b, b_b)) @ wa + (xb * stats.beta.cdf(xb, a_a, b_a)) @ wb
        risk = e_max - a_b / (a_b + b_b)
        assert ex.expected_loss(a_b, b_b, a_a, b_a) == pytest.approx(risk, rel=1e-6, abs=1e-12)


def test_closed_form_handles_large_counts_in_chunks(monkeypatch):
    exact = ex.prob_greater(4001, 6000, 3901, 6100)
    monkeypatch.setattr(ex, "CHUNK", 7)
    assert ex.prob_greater(4001, 6000, 3901, 6100) == pytest.approx(exact, rel=1e-12)


def test_huge_counts_use_the_normal_approximation(monkeypatch):
    cases = [(4001, 6000, 3901, 6100), (301, 9_701, 346, 9_656)]
    exact = [(ex.prob_greater(*c), ex.expected_loss(*c)) for c in cases]
    monkeypatch.setattr(ex, "EXACT_TERMS", 100)
    for case, (probability, loss) in zip(cases, exact, strict=True):
        assert ex.prob_greater(*case) == pytest.approx(probability, abs=2e-3)
        assert ex.expected_loss(*case) == pytest.approx(loss, rel=0.02)
    # Ten million visitors an arm: answered at once and close to the Gaussian truth.
    assert ex.prob_greater(300_500, 9_699_501, 300_001, 9_700_001) == pytest.approx(
        stats.norm.cdf(500 / 10_000_000 / math.sqrt(2 * 0.03 * 0.97 / 10_000_000)), abs=1e-3)


# -- revenue per visitor ----------------------------------------------------------------------------

def test_welch_interval_matches_statsmodels():
    rng = np.random.default_rng(3)
    one, two = rng.gamma(2.0, 50.0, 40), rng.gamma(1.5, 40.0, 65)
    diff, low, high, p_value = ex.welch_interval(one.mean(), one.var(ddof=1), len(one),
                                                 two.mean(), two.var(ddof=1), len(two))
    compare = CompareMeans(DescrStatsW(one), DescrStatsW(two))
    assert (low, high) == pytest.approx(compare.tconfint_diff(usevar="unequal"), rel=1e-10)
    assert p_value == pytest.approx(compare.ttest_ind(usevar="unequal")[1], rel=1e-10)
    assert diff == pytest.approx(one.mean() - two.mean())


def test_revenue_moments_compound_model_hand_worked_and_simulated():
    # 100 visitors, 10 buy, ₹5,000 in all: p = 0.1, order value 500; with cv = 1, E[V²] = 2·500².
    mean, var = ex.revenue_moments(5_000.0, 10, 100, cv=1.0)
    assert mean == 50.0
    assert var == pytest.approx(0.1 * 2 * 500 ** 2 - 50 ** 2)
    rng = np.random.default_rng(5)
    simulated = (rng.random(1_000_000) < 0.1) * rng.exponential(500.0, 1_000_000)  # exponential: cv = 1
    assert var == pytest.approx(simulated.var(), rel=0.02)
    assert ex.revenue_moments(0.0, 0, 100) == (0.0, 0.0)


def test_revenue_per_visitor_in_the_readout():
    row = ex.compare_variants(THREE).set_index("variant").loc["A"]
    assert row["rpv"] == pytest.approx(70.0)
    mean, var = ex.revenue_moments(700_000.0, 345, 10_000)
    mean0, var0 = ex.revenue_moments(600_000.0, 300, 10_000)
    expected = ex.welch_interval(mean, var, 10_000, mean0, var0, 10_000)
    assert (row["rpv_diff"], row["rpv_diff_low"], row["rpv_diff_high"], row["rpv_p_value"]) == pytest.approx(expected)
    no_revenue = ex.compare_variants(THREE.drop(columns="revenue"))
    assert no_revenue[["rpv", "rpv_diff", "rpv_diff_low"]].isna().all().all()


# -- edge cases -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("rows", "note"), [
    ((("Control", 500, 0), ("B", 500, 0)), "no one converted in either arm"),
    ((("Control", 40, 40), ("B", 40, 40)), "everyone converted in both arms"),
    ((("Control", 1, 1), ("B", 1, 1)), "everyone converted in both arms"),
])
def test_no_variation_gives_na_p_values_with_reasons(rows, note):
    row = ex.compare_variants(variants(*rows)).iloc[1]
    assert np.isnan(row["p_value"]) and np.isnan(row["p_adjusted"])
    assert note in row["note"]
    c, n = rows[1][2], rows[1][1]
    assert (row["diff_low"], row["diff_high"]) == pytest.approx(
        confint_proportions_2indep(c, n, rows[0][2], rows[0][1], method="newcomb"))
    assert row["diff_low"] < 0 < row["diff_high"]
    assert row["prob_beat_control"] == pytest.approx(0.5)


def test_zero_conversions_in_the_control_only():
    row = ex.compare_variants(variants(("Control", 200, 0), ("B", 200, 9))).iloc[1]
    assert row["p_value"] == pytest.approx(proportions_ztest([9, 0], [200, 200])[1])
    assert np.isnan(row["lift"]) and "relative lift is undefined" in row["note"]
    assert row["prob_beat_control"] > 0.99 and row["rate_low"] > 0


def test_hundred_percent_in_one_arm():
    row = ex.compare_variants(variants(("Control", 50, 45), ("B", 50, 50))).iloc[1]
    assert row["rate"] == 1.0 and row["rate_high"] == pytest.approx(1.0)
    assert row["p_value"] == pytest.approx(proportions_ztest([50, 45], [50, 50])[1])
    assert (row["lift_low"], row["lift_high"]) == pytest.approx(
        np.array(confint_proportions_2indep(50, 50, 45, 50, compare="ratio")) - 1)
    assert 0.9 < row["prob_beat_control"] < 1


def test_one_visitor_per_arm():
    row = ex.compare_variants(variants(("Control", 1, 0), ("B", 1, 1))).iloc[1]
    assert row["p_value"] == pytest.approx(proportions_ztest([1, 0], [1, 1])[1])
    assert row["prob_beat_control"] == pytest.approx(ex.prob_greater(2, 1, 1, 2))
    assert np.isnan(row["lift"])   # the control has no conversions
    with_revenue = ex.compare_variants(variants(("Control", 1, 0), ("B", 1, 1), revenue=[0.0, 900.0])).iloc[1]
    assert np.isnan(with_revenue["rpv_diff_low"]) and "2 visitors" in with_revenue["note"]


def test_bad_counts_are_na_with_reasons():
    readout = ex.compare_variants(variants(("Control", 100, 5), ("B", 0, 0), ("C", 10, 12))).set_index("variant")
    assert readout.loc["B", "note"] == "no visitors" and np.isnan(readout.loc["B", "rate"])
    assert readout.loc["C", "note"] == "more conversions than visitors"
    assert readout["p_adjusted"].isna().all()
    empty_control = ex.compare_variants(variants(("Control", 0, 0), ("B", 10, 1))).iloc[1]
    assert empty_control["note"] == "no comparison: the control has no visitors"


def test_single_variant_readout_and_verdict():
    readout = ex.analyse_experiment(variants(("Only", 1000, 30)).assign(segment="All"), "Solo")
    assert readout.variants["is_control"].tolist() == [True]
    assert readout.tournament.winner is None and readout.tournament.pairs.empty
    assert np.isnan(readout.srm.p_value) and readout.srm.note
    assert ex.verdict(readout) == "Only one variant: there is nothing to compare it with."
    assert "No variant is named “control”" in ex.control_sentence(readout)


def test_edge_cases_emit_no_warnings():
    # pytest turns warnings into errors: every edge case at once must run clean.
    frame = variants(("Control", 1, 0), ("B", 1, 1), ("C", 0, 0), ("D", 1, 0), ("E", 5, 5),
                     revenue=[0.0, 10.0, 0.0, 0.0, 50.0]).assign(segment="All")
    readout = ex.analyse_experiment(frame, "edge")
    assert ex.verdict(readout) and ex.segment_note(readout) and ex.srm_sentence(readout)


# -- several variants: tournament, sample ratio ------------------------------------------------------

def test_tournament_holm_across_all_pairs_and_a_clear_winner():
    frame = variants(("Control", 20_000, 600), ("A", 20_000, 640), ("B", 20_000, 820))
    result = ex.tournament(frame)
    assert result.winner == "B"
    raw = [proportions_ztest([max(x[2], y[2]), min(x[2], y[2])], [20_000, 20_000])[1]
           for x, y in combinations(frame.itertuples(index=False), 2)]
    assert sorted(result.pairs["p_value"]) == pytest.approx(sorted(raw))
    assert sorted(result.pairs["p_adjusted"]) == pytest.approx(sorted(multipletests(raw, method="holm")[1]))
    verdict = ex.verdict(ex.analyse_experiment(frame.assign(segment="All")))
    assert verdict.startswith("**B** lifts conversion by") and "beats every other variant" in verdict
    assert "Holm-adjusted p" in verdict and verdict.endswith("**ship it**.")


def test_no_winner_when_the_best_two_do_not_differ():
    frame = variants(("Control", 20_000, 600), ("A", 20_000, 800), ("B", 20_000, 810))
    assert ex.tournament(frame).winner is None
    verdict = ex.verdict(ex.analyse_experiment(frame.assign(segment="All")))
    assert "also beats the control" in verdict and "ship either" in verdict


def test_sample_ratio_check_matches_scipy_and_blocks_the_verdict():
    check = ex.sample_ratio_check([5_000, 5_200])
    # Expected 5,100 each: χ² = 2 · 100² / 5,100.
    assert check.chi2 == pytest.approx(2 * 100 ** 2 / 5_100)
    assert check.p_value == pytest.approx(stats.chi2.sf(2 * 100 ** 2 / 5_100, 1))
    assert not check.mismatch
    weighted = ex.sample_ratio_check([2_000, 1_000, 1_000], [2, 1, 1])
    assert weighted.p_value == pytest.approx(1.0) and weighted.shares == (0.5, 0.25, 0.25)
    skewed = variants(("Control", 10_000, 300), ("B", 11_000, 390)).assign(segment="All")
    readout = ex.analyse_experiment(skewed)
    assert readout.srm.mismatch and readout.srm.p_value == pytest.approx(
        stats.chisquare([10_000, 11_000])[1])
    assert ex.verdict(readout).startswith("**No verdict: sample ratio mismatch**")
    assert not ex.analyse_experiment(skewed, split="10/11").srm.mismatch
    with pytest.raises(ValueError, match="2 positive shares"):
        ex.sample_ratio_check([10, 10], [1, 0])


@pytest.mark.parametrize(("text", "expected"), [
    ("", (None, "")), ("50/50", ((50.0, 50.0), "")), ("2:1:1", None), ("34%, 33%, 33%", None),
    ("50/fifty", (None, "“50/fifty” is not a list of numbers such as 50/50")),
    ("50/50/0", (None, "every share must be a positive number")),
])
def test_parse_split(text, expected):
    shares, note = ex.parse_split(text, 2 if text.count("/") == 1 or "fifty" in text else 3)
    if expected is None:
        assert shares is not None and note == ""
    else:
        assert (shares, note) == expected
    assert ex.parse_split("50/50", 3) == (None, "2 shares given for 3 variants")


# -- segments -----------------------------------------------------------------------------------------

SEGMENTED = pd.DataFrame({
    "variant": ["Control"] * 3 + ["A"] * 3,
    "segment": ["Mobile", "Desktop", "App"] * 2,
    "visitors": [12_000, 8_000, 5_000, 12_000, 8_000, 5_000],
    "conversions": [290, 270, 205, 400, 265, 200],
    "revenue": [5e5, 6e5, 4e5, 7e5, 6e5, 4e5],
})


def test_segment_readout_holm_across_segments_and_q_matches_statsmodels():
    readout = ex.analyse_experiment(SEGMENTED, "seg")
    segments = readout.segments
    comparisons = segments[~segments["is_control"]]
    assert comparisons["segment"].tolist() == ["Mobile", "Desktop", "App"]
    assert comparisons["p_adjusted"].tolist() == pytest.approx(
        multipletests(comparisons["p_value"].tolist(), method="holm")[1].tolist())
    control = segments[segments["is_control"]].set_index("segment")
    variance = [r["rate"] * (1 - r["rate"]) / r["visitors"]
                + control.loc[r["segment"], "rate"] * (1 - control.loc[r["segment"], "rate"])
                / control.loc[r["segment"], "visitors"] for _, r in comparisons.iterrows()]
    reference = combine_effects(comparisons["diff"].to_numpy(), np.array(variance)).test_homogeneity()
    het = readout.heterogeneity.iloc[0]
    assert het["q"] == pytest.approx(reference.statistic) and het["p_value"] == pytest.approx(reference.pvalue)
    assert het["df"] == 2 and het["p_value"] < 0.05
    note = ex.segment_note(readout)
    # The note names every segment, not only the one that moved.
    assert "**A's effect differs by segment**" in note
    assert all(s in note for s in ("Mobile +", "Desktop −", "App −"))


def test_segment_note_warns_against_a_segment_significant_only_alone():
    frame = SEGMENTED.copy()
    frame.loc[3, "conversions"] = 345   # Mobile: raw p ≈ 0.03, not after Holm across three segments
    readout = ex.analyse_experiment(frame)
    mobile = readout.segments.set_index(["segment", "variant"]).loc[("Mobile", "A")]
    assert mobile["p_value"] < 0.05 <= mobile["p_adjusted"]
    note = ex.segment_note(readout)
    assert "No evidence that A's effect differs by segment" in note
    assert "Mobile alone shows p = 0.0" in note and "not a finding on its own" in note


def test_one_segment_has_nothing_to_split():
    readout = ex.analyse_experiment(THREE.assign(segment="All"))
    assert "one segment" in ex.segment_note(readout)


# -- power ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("baseline", "mde", "relative", "ratio", "alpha", "power"), [
    (0.03, 0.003, False, 1.0, 0.05, 0.8), (0.03, 0.1, True, 1.0, 0.05, 0.8), (0.2, -0.02, False, 1.0, 0.05, 0.9),
    (0.05, 0.2, True, 3.0, 0.01, 0.8), (0.5, 0.4, False, 0.25, 0.10, 0.95), (0.001, 0.5, True, 1.0, 0.05, 0.8),
])
def test_sample_size_matches_normal_ind_power_on_cohens_h(baseline, mde, relative, ratio, alpha, power):
    treatment = baseline * (1 + mde) if relative else baseline + mde
    h = proportion_effectsize(treatment, baseline)
    expected = NormalIndPower().solve_power(effect_size=h, alpha=alpha, power=power, ratio=ratio,
                                            alternative="two-sided")
    n = ex.sample_size(baseline, mde, alpha, power, relative=relative, ratio=ratio)
    assert n == math.ceil(expected)
    assert ex.achieved_power(baseline, treatment, n, n * ratio, alpha) == pytest.approx(
        NormalIndPower().power(h, n, alpha, ratio=ratio, alternative="two-sided"))
    assert ex.achieved_power(baseline, treatment, n, n * ratio, alpha) >= power


def test_sample_size_known_value_and_days():
    # 3 % → 3.3 %: 53,182 per arm (statsmodels: 53,181.8).
    assert ex.sample_size(0.03, 0.1, relative=True) == 53_182
    assert ex.days_needed(53_182, 5_000) == 22           # 106,364 visitors / 5,000 a day
    assert ex.days_needed(1_000, 500, ratio=3.0) == 8    # 1,000 + 3,000
    assert ex.arm_sizes(1_001, 0.5) == (1_001, 501)
    assert ex.sample_size_sentence(53_182, 1.0, 5_000) == (
        "53,182 visitors per arm (106,364 in all): **22 days** at 5,000 visitors a day.")


@pytest.mark.parametrize(("args", "message"), [
    ((0.03, 0.0), "must not be zero"), ((0.03, 0.98), "between 0 % and 100 %"), ((1.2, 0.01), "baseline"),
    ((0.0, 0.5, 0.05, 0.8, True), "must not be zero"), ((0.03, 0.01, 0.05, 0.01), "power must be above α"),
    ((0.03, 0.01, 0.05, 0.8, False, 0.0), "allocation ratio"),
])
def test_impossible_designs_say_why(args, message):
    with pytest.raises(ValueError, match=message):
        ex.sample_size(*args)
    with pytest.raises(ValueError, match="daily traffic"):
        ex.days_needed(100, 0)


def test_detectable_lift_is_where_achieved_power_reaches_the_target():
    lift = ex.detectable_lift(0.03, 25_000, 24_000)
    h = NormalIndPower().solve_power(effect_size=None, nobs1=25_000, alpha=0.05, power=0.8, ratio=24_000 / 25_000)
    assert proportion_effectsize(0.03 + lift, 0.03) == pytest.approx(h, rel=1e-12)
    assert ex.achieved_power(0.03, 0.03 + lift, 25_000, 24_000) == pytest.approx(0.8, abs=1e-3)
    assert np.isnan(ex.detectable_lift(0.03, 1, 1))
    assert np.isnan(ex.detectable_lift(0.999, 10, 10))   # no rate above 100 % to detect


def test_power_curve_rises_with_visitors_and_matches_statsmodels():
    sizes = np.array([100, 1_000, 10_000, 50_000])
    curve = ex.power_curve(0.03, 0.033, sizes, ratio=2.0)
    h = proportion_effectsize(0.033, 0.03)
    assert curve == pytest.approx([NormalIndPower().power(h, n, 0.05, ratio=2.0) for n in sizes])
    assert np.all(np.diff(curve) > 0)


# -- sentences ----------------------------------------------------------------------------------------

def test_texts():
    assert [ex.p_text(p) for p in (0.00003, 0.0003, 0.0041, 0.62, np.nan)] == [
        "p < 0.0001", "p = 0.0003", "p = 0.004", "p = 0.62", "p n/a"]
    assert [ex.chance_text(p) for p in (0.9999, 0.0001, 0.6634)] == ["> 99.9%", "< 0.1%", "66.3%"]
    assert ex.interval_text(0.006, 0.018) == "0.6–1.8 pp"
    assert ex.interval_text(-0.0029, 0.0044) == "−0.29 to 0.44 pp"
    assert ex.interval_text(0.004, 0.009, 0.012) == "0.4–0.9 pp"


def test_verdicts_escape_names_from_the_file_as_markdown():
    frame = variants(("Control", 24_800, 766), ("<b>A</b>", 24_861, 1_045)).assign(segment="All")
    readout = ex.analyse_experiment(frame)
    text = ex.verdict(readout)
    assert "<b>" not in text and r"**\<b\>A\</b\>** lifts conversion by 1.1 pp (95% CI 0.8–1.4 pp" in text
    assert "p < 0.0001, > 99.9% chance to beat control); **ship it**." in text


def test_a_losing_variant_says_keep_the_control():
    frame = variants(("Control", 20_000, 800), ("A", 20_000, 650)).assign(segment="All")
    text = ex.verdict(ex.analyse_experiment(frame))
    assert text.startswith(
        "No variant beats the control; **A** lowers conversion by 0.8 pp (95% CI −1.1 to −0.4 pp")
    assert text.endswith("**keep the control**.")


# -- the packaged data ----------------------------------------------------------------------------------

def test_packaged_experiments_read_as_designed(packaged_store):
    names = experiment_names(packaged_store)
    assert names == ["Checkout Redesign", "Free Shipping Banner", "Personalised Recommendations"]
    readouts = {name: ex.analyse_experiment(experiment_rows(packaged_store, name), name) for name in names}
    assert "**ship it**" in ex.verdict(readouts["Checkout Redesign"])
    null = readouts["Free Shipping Banner"]
    assert ex.verdict(null).startswith("**No detectable difference**")
    assert "could only have detected" in ex.verdict(null)
    assert len(null.tournament.pairs) == 3 and null.tournament.winner is None
    segmented = readouts["Personalised Recommendations"]
    assert segmented.heterogeneity.iloc[0]["p_value"] < 0.05
    assert not any(r.srm.mismatch for r in readouts.values())
    rows = experiment_rows(packaged_store, "Checkout Redesign")
    assert list(rows.columns) == ["experiment", "variant", "segment", "visitors", "conversions", "revenue"]
    assert rows["variant"].tolist()[:1] == ["Control"] and len(rows) == 6


def test_queries_without_the_file(reference_store):
    assert experiment_names(reference_store) == []
    assert experiment_rows(reference_store).empty
