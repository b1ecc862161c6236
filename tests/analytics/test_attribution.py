"""Computed attribution: hand-worked cases, brute-force references and invariants on random journeys."""
from itertools import permutations

import numpy as np
import pandas as pd
import pytest

from novamart_panel.analytics.attribution import (
    MODEL_NAMES,
    attribute,
    credit_shares,
    first_touch,
    journeys_from_touchpoints,
    last_touch,
    linear,
    markov,
    markov_removal_effects,
    position_based,
    shapley,
    time_decay,
)



def journeys(rows):
    """rows: (path, conversions, non_conversions)."""
    return pd.DataFrame(rows, columns=["path", "conversions", "non_conversions"])


def credits(series):
    return {channel: pytest.approx(value, abs=1e-12) for channel, value in series.items()}


def random_journeys(rng, channels=("A", "B", "C", "D"), n_paths=12, max_length=4):
    rows = []
    for _ in range(n_paths):
        path = rng.choice(channels, size=rng.integers(1, max_length + 1))
        rows.append((" > ".join(path), int(rng.integers(0, 20)), int(rng.integers(0, 20))))
    rows.append((channels[0], 1, 1))  # at least one conversion
    return journeys(rows)


# A: 2 conv 3 non through A > B > C; B > C converts 1; C converts 1 of 2; A and D > A never convert.
RULE_BASED = journeys([
    ("A > B > C", 2, 3),
    ("B > C", 1, 0),
    ("C", 1, 1),
    ("A", 0, 2),
    ("D > A", 0, 1),
])


def test_first_and_last_touch_hand_worked():
    # first: A gets the 2 of A > B > C, B the 1 of B > C, C the 1 of C; D never converts.
    assert first_touch(RULE_BASED).to_dict() == credits({"A": 2, "B": 1, "C": 1, "D": 0})
    # last: every converting path ends in C: 2 + 1 + 1.
    assert last_touch(RULE_BASED).to_dict() == credits({"A": 0, "B": 0, "C": 4, "D": 0})


def test_linear_hand_worked():
    # A > B > C: 2/3 each; B > C: 1/2 each; C: 1.
    # A = 2/3, B = 2/3 + 1/2 = 7/6, C = 2/3 + 1/2 + 1 = 13/6 (sum 24/6 = 4).
    assert linear(RULE_BASED).to_dict() == credits({"A": 2 / 3, "B": 7 / 6, "C": 13 / 6, "D": 0})


def test_time_decay_hand_worked():
    # half_life 1: weights 2**-2, 2**-1, 2**0 = 1/4, 1/2, 1 -> /1.75 = 1/7, 2/7, 4/7 of 2 conversions;
    # B > C: 1/2, 1 -> 1/3, 2/3; C: 1.
    # A = 2/7, B = 4/7 + 1/3 = 19/21, C = 8/7 + 2/3 + 1 = 59/21 (sum 84/21 = 4).
    assert time_decay(RULE_BASED).to_dict() == credits({"A": 2 / 7, "B": 19 / 21, "C": 59 / 21, "D": 0})
    # half_life 2 on B > C: weights 2**-0.5, 1 -> B = 0.7071 / 1.7071.
    two_touch = journeys([("B > C", 1, 0)])
    b_share = 2 ** -0.5 / (1 + 2 ** -0.5)
    assert time_decay(two_touch, half_life=2).to_dict() == credits({"B": b_share, "C": 1 - b_share})
    # A long half-life tends to linear.
    pd.testing.assert_series_equal(time_decay(RULE_BASED, half_life=1e12), linear(RULE_BASED),
                                   check_names=False)


def test_position_based_hand_worked():
    # A > B > C: 0.4, 0.2, 0.4 of 2; B > C: 50/50 of 1; C: 1.
    # A = 0.8, B = 0.4 + 0.5 = 0.9, C = 0.8 + 0.5 + 1 = 2.3.
    assert position_based(RULE_BASED).to_dict() == credits({"A": 0.8, "B": 0.9, "C": 2.3, "D": 0})
    # first 0.3, last 0.5: four touches 0.3, 0.1, 0.1, 0.5 (the middle share 0.2 is split in two);
    # two touches split in the ratio 0.3 : 0.5 = 0.375 / 0.625.
    custom = journeys([("A > B > C > D", 10, 0), ("A > D", 8, 5)])
    assert position_based(custom, first=0.3, last=0.5).to_dict() == credits(
        {"A": 3 + 8 * 0.375, "B": 1, "C": 1, "D": 5 + 8 * 0.625})


def test_repeated_channel_is_credited_per_touch_by_rule_based_models():
    # A > B > A: linear 1/3 per touch -> A 2/3, B 1/3; first and last both A.
    repeated = journeys([("A > B > A", 1, 0)])
    assert linear(repeated).to_dict() == credits({"A": 2 / 3, "B": 1 / 3})
    assert first_touch(repeated)["A"] == last_touch(repeated)["A"] == 1


def test_markov_hand_worked_acyclic():
    # Counts: start->A 2 (A > B and A), start->B 1; A->B 1, A->null 1; B->conversion 2.
    # P(conv) = 2/3 * 1/2 * 1 + 1/3 * 1 = 2/3.
    # Without A: only start->B converts: 1/3 -> removal effect 1 - (1/3)/(2/3) = 1/2.
    # Without B: nothing converts -> removal effect 1.
    # Credit of 2 conversions in ratio 1/2 : 1 -> A 2/3, B 4/3.
    data = journeys([("A > B", 1, 0), ("B", 1, 0), ("A", 0, 1)])
    assert markov_removal_effects(data).to_dict() == credits({"A": 0.5, "B": 1.0})
    assert markov(data).to_dict() == credits({"A": 2 / 3, "B": 4 / 3})


def test_markov_hand_worked_with_a_cycle():
    # Counts: start->A 1, start->B 1; A->B 1, A->conv 1; B->A 1, B->null 1 (all probabilities 1/2).
    # x_A = 1/2 + 1/2 x_B, x_B = 1/2 x_A  ->  x_A = 2/3, x_B = 1/3, P(conv) = (2/3 + 1/3) / 2 = 1/2.
    # Without A: B->A goes to null, nothing converts -> effect 1.
    # Without B: x_A = 1/2, P = 1/4 -> effect 1/2.  Credit of 1 conversion: A 2/3, B 1/3.
    data = journeys([("A > B > A", 1, 0), ("B", 0, 1)])
    assert markov_removal_effects(data).to_dict() == credits({"A": 1.0, "B": 0.5})
    assert markov(data).to_dict() == credits({"A": 2 / 3, "B": 1 / 3})


def conversion_probability_by_matrix_power(data, removed=None):
    """Reference: P(conversion) as the start row of the full stochastic matrix raised to a huge power."""
    channels = sorted({c for p in data["path"] for c in p.split(" > ")})
    states = ["start", *channels, "conversion", "null"]
    index = {s: i for i, s in enumerate(states)}
    counts = np.zeros((len(states), len(states)))
    for path, conv, non in data.itertuples(index=False):
        steps = ["start", *path.split(" > ")]
        for here, there in zip(steps, steps[1:]):
            counts[index[here], index[there]] += conv + non
        counts[index[steps[-1]], index["conversion"]] += conv
        counts[index[steps[-1]], index["null"]] += non
    counts[index["conversion"], index["conversion"]] = counts[index["null"], index["null"]] = 1
    if removed is not None:
        counts[:, index["null"]] += counts[:, index[removed]]
        counts[:, index[removed]] = 0
    for i, total in enumerate(counts.sum(axis=1)):
        if total == 0:  # a channel seen only on paths with no customers, or the removed one
            counts[i, index["null"]] = total = 1
    transition = counts / counts.sum(axis=1, keepdims=True)
    return np.linalg.matrix_power(transition, 2 ** 20)[index["start"], index["conversion"]]


@pytest.mark.parametrize("seed", range(4))
def test_markov_matches_matrix_power_reference(seed):
    data = random_journeys(np.random.default_rng(seed))
    baseline = conversion_probability_by_matrix_power(data)
    expected = {c: 1 - conversion_probability_by_matrix_power(data, c) / baseline
                for c in markov_removal_effects(data).index}
    effects = markov_removal_effects(data).to_dict()
    assert effects == {c: pytest.approx(e, abs=1e-9) for c, e in expected.items()}
    # The chain's conversion probability is the observed conversion rate.
    customers = data["conversions"].sum() + data["non_conversions"].sum()
    assert baseline == pytest.approx(data["conversions"].sum() / customers)


def test_shapley_hand_worked_two_channels():
    # v({A}) = 0 (A alone never converts), v({B}) = 1, v({A, B}) = 2.
    # phi_A = [(v(A) - 0) + (v(AB) - v(B))] / 2 = (0 + 1) / 2 = 1/2; phi_B = [(1 - 0) + (2 - 0)] / 2 = 3/2.
    data = journeys([("A > B", 1, 0), ("B", 1, 0), ("A", 0, 1)])
    assert shapley(data).to_dict() == credits({"A": 0.5, "B": 1.5})


def test_shapley_hand_worked_three_channels():
    # v(S) = 3 [ABC ⊆ S] + 2 [AB ⊆ S] + 4 [C ⊆ S]; orders of arrival (6), marginal contributions of A:
    # ABC 0, ACB 0, BAC 2, BCA 3+2, CAB 0, CBA 3+2 -> 12 / 6 = 2; B symmetric to A on AB and ABC -> 2;
    # C: ABC 3+4, ACB 4, BAC 3+4, BCA 4, CAB 4, CBA 4 -> 30 / 6 = 5.  Sum 9 = total conversions.
    # Linear differs: A > A > B gives A 4/3, B 2/3, while Shapley counts A once.
    data = journeys([("A > B > C", 3, 1), ("A > A > B", 2, 0), ("C", 4, 2)])
    assert shapley(data).to_dict() == credits({"A": 2, "B": 2, "C": 5})
    assert linear(data)["A"] == pytest.approx(1 + 4 / 3)


def shapley_by_permutations(data):
    """Reference: average marginal contribution over every order of the channels."""
    path_sets = [(frozenset(p.split(" > ")), conv) for p, conv in zip(data["path"], data["conversions"])]
    channels = sorted(set().union(*(s for s, _ in path_sets)))

    def value(coalition):
        return sum(conv for s, conv in path_sets if s <= coalition)

    totals = dict.fromkeys(channels, 0.0)
    orders = list(permutations(channels))
    for order in orders:
        coalition = frozenset()
        for channel in order:
            totals[channel] += value(coalition | {channel}) - value(coalition)
            coalition = coalition | {channel}
    return {c: t / len(orders) for c, t in totals.items()}


@pytest.mark.parametrize("seed", range(3))
def test_shapley_matches_permutation_average(seed):
    data = random_journeys(np.random.default_rng(seed), channels=("A", "B", "C", "D", "E"))
    expected = shapley_by_permutations(data)
    assert shapley(data).to_dict() == {c: pytest.approx(e, abs=1e-9) for c, e in expected.items()}


@pytest.mark.parametrize("seed", range(3))
def test_every_model_credits_the_total_conversions(seed):
    data = random_journeys(np.random.default_rng(seed))
    table = attribute(data, half_life=0.7, first=0.3, last=0.5)
    assert list(table.columns) == list(MODEL_NAMES)
    assert table.sum().to_dict() == dict.fromkeys(MODEL_NAMES, pytest.approx(data["conversions"].sum()))
    assert (table >= 0).all().all()


def test_single_touch_paths_give_every_model_the_same_answer():
    rng = np.random.default_rng(7)
    data = journeys([(c, int(rng.integers(0, 50)), int(rng.integers(0, 50))) for c in "ABCDA"])
    expected = data.groupby("path", sort=False)["conversions"].sum().astype(float)
    for model, credit in attribute(data).items():
        assert credit.to_dict() == credits(expected), model


@pytest.mark.parametrize("seed", range(3))
def test_channels_in_identical_roles_get_equal_credit(seed):
    data = random_journeys(np.random.default_rng(seed), channels=("A", "B", "C"))
    swap = {"A": "B", "B": "A"}
    mirrored = data.assign(path=[" > ".join(swap.get(c, c) for c in p.split(" > ")) for p in data["path"]])
    table = attribute(pd.concat([data, mirrored], ignore_index=True))
    pd.testing.assert_series_equal(table.loc["A"], table.loc["B"], check_names=False)


def test_channels_absent_from_converting_paths_get_no_rule_or_shapley_credit():
    table = attribute(RULE_BASED)
    assert (table.loc["D", ["first_touch", "last_touch", "linear", "time_decay", "position_based", "shapley"]]
            == 0).all()
    # Markov still credits D: D > A leads into A, which converts from the start on its own paths.
    assert table.loc["D", "markov"] > 0


def test_zero_conversions_give_zero_credit():
    data = journeys([("A > B", 0, 4), ("B", 0, 1)])
    table = attribute(data)
    assert (table == 0).all().all()
    assert (markov_removal_effects(data) == 0).all()
    assert (credit_shares(table) == 0).all().all()


def test_attribute_passes_options_to_the_models_that_take_them():
    table = attribute(RULE_BASED, models=["time_decay", "position_based"], half_life=3, first=0.2, last=0.6)
    pd.testing.assert_series_equal(table["time_decay"], time_decay(RULE_BASED, half_life=3))
    pd.testing.assert_series_equal(table["position_based"], position_based(RULE_BASED, first=0.2, last=0.6))
    with pytest.raises(ValueError, match="half_life are not taken"):
        attribute(RULE_BASED, models=["linear"], half_life=3)
    with pytest.raises(ValueError, match="unknown attribution model.*'u_shaped'"):
        attribute(RULE_BASED, models=["linear", "u_shaped"])


def test_credit_shares_are_percent_of_each_models_conversions():
    # first touch of RULE_BASED: 2, 1, 1, 0 of 4 -> 50, 25, 25, 0 %.
    shares = credit_shares(attribute(RULE_BASED))
    assert shares["first_touch"].to_dict() == credits({"A": 50, "B": 25, "C": 25, "D": 0})
    assert shares.sum().to_dict() == dict.fromkeys(MODEL_NAMES, pytest.approx(100))
    assert credit_shares(last_touch(RULE_BASED)).to_dict() == credits({"A": 0, "B": 0, "C": 100, "D": 0})


@pytest.mark.parametrize(("data", "message"), [
    (journeys([]), "journeys is empty"),
    (journeys([("A", 1, 0)]).drop(columns="non_conversions"), "missing column.*'non_conversions'"),
    (journeys([("A", 1, 0), ("B", -2, 0)]), "column conversions, row 1: -2 is not a valid count"),
    (journeys([("A", 1, np.nan)]), "column non_conversions, row 0: nan is not a valid count"),
    (journeys([("A", "1", 0)]), "counts must be numbers"),
    (journeys([("A >  > B", 1, 0)]), "empty touchpoint"),
    (journeys([(None, 1, 0)]), "is not a text path"),
])
def test_invalid_journeys_are_rejected_with_a_clear_message(data, message):
    for model in (first_touch, markov, shapley, attribute):
        with pytest.raises(ValueError, match=message):
            model(data)


def test_invalid_model_parameters_are_rejected():
    with pytest.raises(ValueError, match="half_life must be a number > 0"):
        time_decay(RULE_BASED, half_life=0)
    with pytest.raises(ValueError, match="first \\+ last ≤ 1"):
        position_based(RULE_BASED, first=0.7, last=0.5)


def test_journeys_from_touchpoints_hand_worked():
    frame = pd.DataFrame({
        "touchpoint_1": ["Email", "Email", "Ads", "Ads", "Ads"],
        "touchpoint_2": ["Website", "Website", "Exit", "Website", " "],
        "touchpoint_3": ["Purchase", "Purchase", None, None, None],
        "customer_count": [3, 4, 10, 2, 5],
    })
    # Rows 0 and 1 are the same converting path; row 3 stops without Purchase or Exit (non-converting);
    # row 4 has only Ads followed by a blank cell, so it is the same path as row 2's.
    expected = journeys([("Email > Website", 7, 0), ("Ads", 0, 15), ("Ads > Website", 0, 2)])
    pd.testing.assert_frame_equal(journeys_from_touchpoints(frame), expected)


@pytest.mark.parametrize(("frame", "message"), [
    (pd.DataFrame({"touchpoint_1": ["Exit"], "customer_count": [1]}), "'Exit' is not a journey"),
    (pd.DataFrame({"touchpoint_1": ["A"], "touchpoint_2": ["Purchase"], "touchpoint_3": ["Exit"],
                   "customer_count": [1]}), "'A > Purchase > Exit' is not a journey"),
    (pd.DataFrame({"touchpoint_1": ["A"], "customer_count": [-1]}), "customer_count, row 0: -1"),
    (pd.DataFrame({"step": ["A"], "customer_count": [1]}), "no touchpoint_1"),
    (pd.DataFrame({"touchpoint_1": ["A"]}), "missing column.*'customer_count'"),
])
def test_journeys_from_touchpoints_rejects_malformed_rows(frame, message):
    with pytest.raises(ValueError, match=message):
        journeys_from_touchpoints(frame)


def test_journeys_from_touchpoints_on_the_reference_file(reference_dir):
    data = journeys_from_touchpoints(pd.read_csv(reference_dir / "customer_journey.csv"))
    assert len(data) == 8
    assert data["conversions"].sum() == 1200 + 800 + 600 + 400 + 500 + 450
    assert data["non_conversions"].sum() == 3000 + 2500
    direct = data.set_index("path").loc["Direct > Website"]
    assert direct.to_dict() == {"conversions": 500, "non_conversions": 0}
    table = attribute(data)
    assert table.sum().to_dict() == dict.fromkeys(MODEL_NAMES, pytest.approx(3950))
    assert table.loc["Website", "first_touch"] == 0  # Website is never a first touch


def test_top_credit_sentence_names_every_channel_tied_at_the_bottom():
    from novamart_panel.analytics.attribution_insights import top_credit_sentence
    shares = pd.Series({"Email": 55.7, "Search": 44.3, "Direct": 0.0, "Display": 0.0})
    conversions = pd.Series({"Email": 557.0, "Search": 443.0, "Direct": 0.0, "Display": 0.0})
    text = top_credit_sentence(shares, "last_touch", conversions)
    assert text.endswith("; **Direct** and **Display** get none.")
    assert top_credit_sentence(shares.drop("Display"), "last_touch", conversions).endswith("; **Direct** gets none.")
    provided = top_credit_sentence(pd.Series({"Email": 50.0, "Search": 25.0, "Direct": 25.0}), "linear")
    assert provided.endswith("; **Search** and **Direct** the least, 25.0% each.")
    single = top_credit_sentence(pd.Series({"Email": 60.0, "Search": 40.0}), "linear", pd.Series({"Email": 6.0, "Search": 4.0}))
    assert single.endswith("; **Search** the least, 4 (40.0%).")
