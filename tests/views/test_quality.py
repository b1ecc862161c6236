"""Data quality tab: the report and checks on the reference data and on broken folders, rendered."""
from __future__ import annotations

import io

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the renderer hv.render uses)
import pandas as pd
import panel as pn
import pytest

from novamart_panel.format import escape_markdown
from bokeh.models import ColumnDataSource, HoverTool
from broken_folders import CASES, HOSTILE_TEXT, SHORT, add_column, copy_folder, make_folder, set_cell

from novamart_panel.app import SECTIONS
from novamart_panel.data import quality
from novamart_panel.data.contract import REQUIRED_FILES
from novamart_panel.data.store import DataStore
from novamart_panel.views.budget import BudgetSection
from novamart_panel.views.filters import Filters
from novamart_panel.views.quality import QualitySection


def section_for(store: DataStore) -> QualitySection:
    return QualitySection(store=store, filters=Filters(store))


@pytest.fixture()
def broken_store(reference_dir, tmp_path) -> DataStore:
    """Three problems at once: a text spend, a percentage above 100 and a ragged geography row."""
    folder = make_folder(reference_dir, tmp_path / "data", CASES["row with too many fields"])
    set_cell(folder, "campaign_performance.csv", 7, "spend", "abc")
    set_cell(folder, "campaign_performance.csv", 20, "ctr", "150")
    set_cell(folder, "campaign_performance.csv", 5, "campaign_name", HOSTILE_TEXT)
    return DataStore.open(folder)


def test_reference_data_meets_the_contract(reference_store):
    section = section_for(reference_store)
    summary = section.file_summary()
    assert len(summary) == 14 and (summary.loc[summary["kind"] == "required", "status"] == "ok").all()
    assert section.issue_list()["severity"].eq("warning").all()
    assert section.insight_verdict().startswith("All 11 required files meet the contract")
    assert section.out_of_range().empty and section.reconciliation()["mismatched"].eq(0).all()
    assert section.columns_with_nulls()["column"].tolist() == ["touchpoint_4"]


def test_a_broken_folder_lists_its_problems(broken_store):
    section = section_for(broken_store)
    issues = section.issue_list()
    errors = issues[issues["severity"] == "error"]
    located = set(zip(errors["file"], errors["column"].fillna(""), errors["row"].fillna(0).astype(int)))
    assert {("campaign_performance.csv", "spend", 7), ("campaign_performance.csv", "ctr", 20),
            ("geographic_data.csv", "", 4)} <= located
    assert section.insight_verdict().startswith("**2 of 11 required files have problems**")
    summary = section.file_summary().set_index("file")
    assert summary.loc["geographic_data.csv", "status"] == "unusable"
    assert summary.loc["campaign_performance.csv", "status"] == "loaded with problems"
    ranges = section.out_of_range()
    assert ranges[["column", "first_row"]].values.tolist() == [["ctr", 20]]
    nulls = section.columns_with_nulls()
    assert nulls.iloc[0][["file", "column", "nulls"]].tolist() == ["campaign_performance.csv", "spend", 1]
    recon = section.reconciliation().set_index("column")
    assert recon.loc["ctr", "mismatched"] == 1 and recon.loc["cpc", "checked"] == SHORT - 1
    assert section.reconciliation_examples()["row"].tolist() == [20]


def test_the_download_is_the_issue_list_and_safe_in_a_spreadsheet(reference_dir, tmp_path):
    folder = copy_folder(reference_dir, tmp_path / "data", SHORT)
    add_column(folder, "funnel_data.csv", '=HYPERLINK("http://x")', "1")
    set_cell(folder, "campaign_performance.csv", 118, "spend", "-40.0")
    section = section_for(DataStore.open(folder))
    assert section.export_frame().equals(section.issue_list())
    downloaded = pd.read_csv(io.BytesIO(section.download_button().callback().getvalue()))
    assert downloaded.columns.tolist() == ["severity", "file", "column", "row", "message", "check"]
    assert downloaded["row"].dropna().astype(int).tolist() == [118]
    assert "'=HYPERLINK(\"http://x\")" in downloaded["column"].tolist()


def test_the_threshold_narrows_the_anomalies(reference_store, reference_dir):
    section = section_for(reference_store)
    loose = section.anomalies()
    section.z_threshold = 9.0
    strict = section.anomalies()
    assert strict["anomalies"].sum() < loose["anomalies"].sum()
    assert strict.set_index("metric")["anomalies"].to_dict() == \
        quality.anomalies(reference_store, 9.0).set_index("metric")["anomalies"].to_dict()
    examples = section.anomaly_examples()
    assert (examples["robust z"].abs() > 9.0).all()
    assert examples.iloc[0][["campaign_id", "metric", "value"]].tolist() == ["CMP_1013", "CPA", "₹3,007"]
    assert "more than 9 robust z-scores" in section.insight_anomalies()


def test_insights_change_with_the_data(reference_store, reference_dir, tmp_path):
    folder = copy_folder(reference_dir, tmp_path / "data", SHORT)
    set_cell(folder, "campaign_performance.csv", 3, "roas", "42")
    changed = section_for(DataStore.open(folder))
    original = section_for(reference_store)
    assert "All 5 stored ratios" in original.insight_reconciliation()
    assert changed.insight_reconciliation().startswith(
        "Stored values disagree with their recomputation by more than rounding: roas on 1 of")
    assert original.insight_anomalies() != changed.insight_anomalies()


def test_the_tab_renders_and_the_chart_follows_the_threshold(broken_store):
    section = section_for(broken_store)
    root = pn.panel(section).get_root()
    tables = [m for m in root.select({"type": ColumnDataSource}) if "message" in m.data]
    assert any("150.0" in " ".join(map(str, t.data["message"])) for t in tables)

    def bar_heights():
        (source,) = [s for s in root.select({"type": ColumnDataSource}) if "anomalies" in s.data]
        return dict(zip(source.data["label"], source.data["anomalies"]))

    before = bar_heights()
    assert before == dict(zip(section.anomalies()["metric"].map(quality.METRIC_LABELS),
                              section.anomalies()["anomalies"]))
    section.z_threshold = 9.5
    after = bar_heights()
    assert sum(after.values()) < sum(before.values())
    hover = hv.render(section.plot_anomalies(), backend="bokeh").select_one({"type": HoverTool})
    assert ("Flagged", "@anomalies") in hover.tooltips and ("Largest |z|", "@{max_text}") in hover.tooltips


def corpus_case(name: str):
    """A corpus case as a test parameter: an expected failure while a view still crashes on it."""
    bug = CASES[name].view_bug
    return pytest.param(name, marks=pytest.mark.xfail(reason=bug, strict=True)) if bug else name


# Cases whose every section is also rendered to Bokeh models (the rest build their views and charts' data
# and elements, which is where a bad value breaks them): one per kind of damage, and those that once
# broke inside HoloViews' rendering.
RENDERED = ("missing required file", "header only", "row with too few fields", "every impression 0",
            "empty channel cells", "one customer", "markup in names")
# The marketing-mix search at its smallest: the test needs a fit, not a good one.
QUICK_FIT = (("n_candidates", 8), ("refine_evaluations", 20), ("n_bootstrap", 5))


def build_views(section) -> None:
    """The section's layout (widgets, tables, insights) and every chart's data and HoloViews elements."""
    layout = pn.panel(section)
    for pane in layout.select(lambda obj: hasattr(obj, "_novamart_chart")):
        plot, _ = pane._novamart_chart
        plot()


@pytest.fixture
def quick_fits(monkeypatch):
    monkeypatch.setattr(BudgetSection, "FIT_EFFORT", QUICK_FIT)


@pytest.mark.parametrize("name", [corpus_case(name) for name in CASES])
def test_every_section_still_builds_on_a_broken_folder(name, reference_dir, tmp_path, quick_fits):
    """Each section that reads the broken file builds all its views; the quality tab names the problem."""
    hv.extension("bokeh")  # as the served app and notebooks have it
    case = CASES[name]
    store = DataStore.open(make_folder(reference_dir, tmp_path / "data", case))
    filters = Filters(store)
    affected = [cls for cls in SECTIONS if case.table in cls.reads() and cls is not QualitySection]
    assert affected or case.table in {"ab_tests", "marketing_campaign", "orders"}
    for cls in affected:
        build_views(cls(store=store, filters=filters))
    quality_tab = section_for(store)
    pn.panel(quality_tab).get_root()
    verdict = quality_tab.insight_verdict()
    if case.severity == "error":
        assert case.file in verdict
    if case.severity is None and case.table in {s.table for s in REQUIRED_FILES}:
        assert verdict.startswith("All 11 required files meet the contract")


@pytest.mark.parametrize("name", [corpus_case(name) for name in RENDERED])
def test_every_section_renders_on_a_broken_folder(name, reference_dir, tmp_path, quick_fits):
    hv.extension("bokeh")
    store = DataStore.open(make_folder(reference_dir, tmp_path / "data", CASES[name]))
    filters = Filters(store)
    for cls in SECTIONS:
        pn.panel(cls(store=store, filters=filters)).get_root()


class RunningChecks:
    """Stands in for a `QualityChecks` still at work."""

    STEPS = quality.QualityChecks.STEPS

    def __init__(self):
        self.state, self.done, self.step, self.error = "running", 2, "stored ratios", None

    ready = property(lambda self: self.state == "ready")
    progress = property(lambda self: self.done / len(self.STEPS))


def test_the_tab_shows_progress_until_the_checks_are_ready(reference_store, monkeypatch):
    section = section_for(reference_store)
    section.checks.wait()            # the real results, for when the stand-in says it is ready
    section.checks = running = RunningChecks()
    callbacks = []

    class Callback:
        def stop(self):
            callbacks.append("stopped")
    monkeypatch.setattr(pn.state, "add_periodic_callback", lambda poll, period: callbacks.append(poll) or Callback())
    view = section.checks_view(served=True)
    (card,) = view.objects
    (bar,) = card.select(pn.indicators.Progress)
    (message,) = card.select(pn.pane.Markdown)
    assert bar.value == 40 and "step 3 of 5: stored ratios" in message.object and "5,858" not in message.object
    running.done, running.step = 3, "value ranges"
    callbacks[0]()
    assert bar.value == 60 and "step 4 of 5: value ranges" in message.object
    running.state = "ready"
    callbacks[0]()
    assert [c.title for c in view.objects][0] == "Empty values" and len(view.objects) == 5
    assert callbacks[-1] == "stopped"


def test_a_failure_of_the_checks_is_shown_not_raised(reference_store, monkeypatch):
    section = section_for(reference_store)
    section.checks = failed = RunningChecks()
    failed.state, failed.error = "failed", "IOException: <disk> full"
    (card,) = section.checks_view(served=True).objects
    (message,) = card.select(pn.pane.Markdown)
    text = message.object
    assert f"could not be computed ({escape_markdown('IOException: <disk> full')})" in text
    assert "<disk>" not in text   # the error text is shown as text, never as markup


def test_outside_a_server_the_tab_waits_for_the_checks(reference_dir, tmp_path):
    store = DataStore.open(copy_folder(reference_dir, tmp_path / "data", SHORT))
    section = section_for(store)
    cards = section.checks_view(served=False).objects
    assert section.checks.ready and [c.title for c in cards][-1].startswith("Anomalies")
