"""The model evaluation queries: scored leads in file order, and the learning curve by training size."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest

from novamart_panel.data import lead_queries as lq
from novamart_panel.data.contract import BY_TABLE
from novamart_panel.data.store import DataStore


@pytest.mark.parametrize("data", ["packaged", "reference"])
def test_scored_leads_and_learning_curve_equal_pandas(request, data):
    folder = request.getfixturevalue(f"{data}_dir")
    store = request.getfixturevalue(f"{data}_store")
    leads = pd.read_csv(folder / "lead_scoring_results.csv").dropna(subset=list(lq.OUTCOME_AND_SCORE))
    scored = lq.scored_leads(store)
    assert list(scored.columns) == list(lq.OUTCOME_AND_SCORE)
    assert list(scored["actual_converted"]) == list(leads["actual_converted"])
    assert list(scored["predicted_probability"]) == pytest.approx(list(leads["predicted_probability"]))
    every = lq.scored_leads(store, columns=None)
    assert list(every.columns) == list(BY_TABLE["leads"].column_names) and len(every) == len(leads)
    curve = lq.learning_curve(store)
    expected = pd.read_csv(folder / "learning_curve.csv").sort_values("training_size")
    assert list(curve["training_size"]) == list(expected["training_size"])


def test_leads_without_outcome_or_score_are_left_out(tmp_path, packaged_dir):
    rows = pd.read_csv(packaged_dir / "lead_scoring_results.csv")
    rows.loc[0, "actual_converted"] = None
    rows.loc[1, "predicted_probability"] = None
    rows.to_csv(tmp_path / "lead_scoring_results.csv", index=False)
    shutil.copy(packaged_dir / "campaign_performance.csv", tmp_path)
    scored = lq.scored_leads(DataStore.open(tmp_path), columns=("lead_id", "actual_converted"))
    assert list(scored["lead_id"]) == list(rows["lead_id"].iloc[2:])


def test_only_lead_columns_can_be_asked_for(packaged_store):
    with pytest.raises(ValueError, match="not columns"):
        lq.scored_leads(packaged_store, columns=("actual_converted", "1; DROP TABLE leads"))
