"""The conversion funnel: hand-worked stage-to-stage rates, the largest drop, and what the file's own
conversion_rate column is a percent of (checked against the reference funnel_data.csv)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from novamart_panel.analytics.attribution_insights import funnel_drop_sentence, funnel_rate_sentence
from novamart_panel.analytics.funnel import funnel_steps, largest_drop, ordered_stages, rate_basis, rate_mismatches

# Awareness 1000 → Interest 400 (keeps 40%) → Consideration 100 (25%) → Intent 50 (50%).
HAND = pd.DataFrame({"stage": ["Awareness", "Interest", "Consideration", "Intent"],
                     "visitors": [1000, 400, 100, 50],
                     "conversion_rate": [100.0, 40.0, 25.0, 50.0]})


def test_stage_to_stage_rates_hand_worked():
    steps = funnel_steps(HAND)
    assert list(steps["stage"]) == ["Awareness", "Interest", "Consideration", "Intent"]
    assert steps["from_previous"].iloc[1:].tolist() == pytest.approx([0.4, 0.25, 0.5])
    assert steps["from_top"].tolist() == pytest.approx([1.0, 0.4, 0.1, 0.05])
    assert steps["drop_off"].iloc[1:].tolist() == [600, 300, 50]
    assert steps["drop_off_rate"].iloc[1:].tolist() == pytest.approx([0.6, 0.75, 0.5])
    # The entrance has no previous stage: nothing is lost "before" it.
    assert steps[["from_previous", "drop_off", "drop_off_rate"]].iloc[0].isna().all()


def test_largest_drop_is_by_share_lost_not_by_count():
    # By count Awareness → Interest loses most (600), but Interest → Consideration loses 75% of its visitors.
    drop = largest_drop(funnel_steps(HAND))
    assert (drop["from_stage"], drop["stage"]) == ("Interest", "Consideration")
    assert drop["drop_off"] == 300
    assert drop["drop_off_rate"] == pytest.approx(0.75)


def test_largest_drop_ties_go_to_the_earlier_stage_and_one_stage_has_none():
    tied = pd.DataFrame({"stage": ["Awareness", "Interest", "Consideration"], "visitors": [100, 50, 25]})
    assert largest_drop(funnel_steps(tied))["stage"] == "Interest"
    assert largest_drop(funnel_steps(tied.head(1))) is None


def test_contract_stages_are_put_in_funnel_order_other_names_keep_the_file_order():
    shuffled = HAND.iloc[[2, 0, 3, 1]]
    assert list(ordered_stages(shuffled)["stage"]) == list(HAND["stage"])
    custom = pd.DataFrame({"stage": ["Visit", "Cart", "Order"], "visitors": [10, 5, 2]})
    assert list(funnel_steps(custom.iloc[[1, 0, 2]])["stage"]) == ["Cart", "Visit", "Order"]


def test_a_stage_after_an_empty_stage_has_no_rate_never_inf():
    steps = funnel_steps(pd.DataFrame({"stage": ["Awareness", "Interest", "Consideration"], "visitors": [10, 0, 0]}))
    assert steps["from_previous"].iloc[1] == 0.0
    assert math.isnan(steps["from_previous"].iloc[2]) and math.isnan(steps["drop_off_rate"].iloc[2])
    assert np.isfinite(steps["from_previous"].dropna()).all()
    assert largest_drop(steps)["stage"] == "Interest"


def test_reference_conversion_rate_is_percent_of_the_previous_stage(reference_dir):
    funnel = pd.read_csv(reference_dir / "funnel_data.csv")
    steps = funnel_steps(funnel)
    # Reconcile by hand: visitors ÷ previous stage's visitors, to the file's one decimal.
    by_hand = (funnel["visitors"] / funnel["visitors"].shift(1) * 100).fillna(100.0).round(1)
    assert funnel["conversion_rate"].tolist() == pytest.approx(by_hand.tolist(), abs=0.05)
    assert rate_basis(steps) == "previous"
    assert rate_mismatches(steps).empty
    assert "percent of the previous stage" in funnel_rate_sentence(steps)


def test_a_rate_of_the_top_stage_and_a_wrong_rate_are_told_apart():
    of_top = HAND.assign(conversion_rate=[100.0, 40.0, 10.0, 5.0])
    assert rate_basis(funnel_steps(of_top)) == "top"
    assert "percent of the first stage (Awareness)" in funnel_rate_sentence(funnel_steps(of_top))
    wrong = HAND.assign(conversion_rate=[100.0, 40.0, 31.0, 50.0])
    steps = funnel_steps(wrong)
    assert rate_basis(steps) is None
    mismatches = rate_mismatches(steps)
    assert mismatches["stage"].tolist() == ["Consideration"]
    assert mismatches["computed_rate"].iloc[0] == pytest.approx(25.0)
    assert "Consideration: file 31.0%, visitors give 25.0%" in funnel_rate_sentence(steps)
    # Rounding to one decimal is agreement, not a mismatch.
    assert rate_mismatches(funnel_steps(HAND.assign(conversion_rate=[100.0, 40.04, 24.96, 50.0]))).empty


def test_drop_sentence_names_the_computed_stages(reference_dir):
    assert funnel_drop_sentence(funnel_steps(HAND)) == (
        "The largest drop is from **Interest** to **Consideration**: 75.0% of visitors (300 of 400) do not "
        "continue. Overall, 5.00% of the 1,000 visitors at Awareness reach Intent (50).")
    funnel = pd.read_csv(reference_dir / "funnel_data.csv")
    lost = 1 - funnel["visitors"] / funnel["visitors"].shift(1)
    worst = int(lost.idxmax())
    sentence = funnel_drop_sentence(funnel_steps(funnel))
    assert f"from **{funnel['stage'][worst - 1]}** to **{funnel['stage'][worst]}**" in sentence
    growing = pd.DataFrame({"stage": ["Awareness", "Interest"], "visitors": [10, 12]})
    assert funnel_drop_sentence(funnel_steps(growing)).startswith("No stage loses visitors")
