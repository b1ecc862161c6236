"""Attribution & funnel section: the donut follows the provided table and the computed models, its Bokeh
data source follows the model selector, the computed models follow their parameters, the heatmap shows the
file's correlations, the Sankey is acyclic and conserves customers, the insights follow the data, and each
view survives the others' files being missing."""
from __future__ import annotations

import html
import math
import shutil
from collections import defaultdict, deque

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the renderer hv.render uses)
import numpy as np
import pandas as pd
import panel as pn
import pytest
from bokeh.models import ColumnDataSource, Plot

from novamart_panel.analytics.attribution import MODEL_NAMES, attribute, credit_shares, \
    journeys_from_touchpoints, position_based, time_decay
from novamart_panel.data.contract import ATTRIBUTION_MODELS
from novamart_panel.data.store import DataStore
from novamart_panel.report import _Omissions, section_content
from novamart_panel.views.attribution import COMPUTED, PROVIDED, AttributionSection, donut_wedges
from novamart_panel.views.filters import Filters

FILES = {"funnel": "funnel_data.csv", "attribution": "channel_attribution.csv",
         "journeys": "customer_journey.csv", "correlations": "correlation_matrix.csv"}


# --- helpers -------------------------------------------------------------------------------------

def section_over(store: DataStore) -> AttributionSection:
    return AttributionSection(store=store, filters=Filters(store))


def read(folder, table: str) -> pd.DataFrame:
    if table == "correlations":
        return pd.read_csv(folder / FILES[table], index_col=0)
    return pd.read_csv(folder / FILES[table])


def write_folder(tmp_path, source, edits=None, drop=()) -> DataStore:
    """The section's four files copied from `source` into tmp_path, `edits[table](frame)` applied,
    the tables in `drop` left out (the section needs no other file)."""
    edits = edits or {}
    for table, filename in FILES.items():
        if table in drop:
            continue
        if table in edits:
            frame = edits[table](read(source, table))
            frame.to_csv(tmp_path / filename, index=table == "correlations")
        else:
            shutil.copyfile(source / filename, tmp_path / filename)
    return DataStore.open(tmp_path)


def rendered_text(root) -> str:
    """The text of every Markdown/HTML model under a Bokeh root, unescaped."""
    texts = [getattr(model, "text", None) for model in root.references()]
    text = " ".join(t for t in texts if isinstance(t, str))
    while (unescaped := html.unescape(text)) != text:
        text = unescaped
    return text


def outcome_counts(journeys: pd.DataFrame) -> pd.Series:
    """Customers per outcome: the last non-empty touchpoint of each row (pandas only)."""
    last = journeys.filter(like="touchpoint_").ffill(axis=1).iloc[:, -1]
    return journeys.groupby(last)["customer_count"].sum()


@pytest.fixture
def section(reference_store) -> AttributionSection:
    return section_over(reference_store)


@pytest.fixture(scope="module")
def reference_journeys(reference_dir) -> pd.DataFrame:
    return journeys_from_touchpoints(read(reference_dir, "journeys"))


# --- the donut -----------------------------------------------------------------------------------

def test_donut_shows_each_provided_model_as_in_the_file(section, reference_dir):
    provided = read(reference_dir, "attribution").set_index("channel")
    assert section.credit_source == PROVIDED
    assert list(section.param.model.objects.values()) == list(ATTRIBUTION_MODELS)
    for model in ATTRIBUTION_MODELS:
        section.model = model
        wedges = section.donut_credit().set_index("channel")
        assert wedges["share"].to_dict() == provided[model].to_dict()
        assert (wedges["share"].diff().dropna() <= 0).all()  # largest first
        # The ring is closed: contiguous wedges that sweep one full turn clockwise from 12 o'clock.
        assert wedges["end_angle"].iloc[0] == pytest.approx(math.pi / 2)
        assert np.allclose(wedges["start_angle"].iloc[:-1].to_numpy(), wedges["end_angle"].iloc[1:].to_numpy())
        assert (wedges["end_angle"] - wedges["start_angle"]).sum() == pytest.approx(2 * math.pi)
    campaigns = pd.read_csv(reference_dir / "campaign_performance.csv")
    assert section.donut_centre()["text"] == [f"{int(campaigns['conversions'].sum()):,}", "campaign conversions"]
    assert "%" not in " ".join(section.donut_centre()["text"])


def test_donut_slices_carry_percentage_labels_in_readable_ink():
    wedges = donut_wedges(pd.Series({"A": 60.0, "B": 38.0, "C": 2.0}), None,
                          {"A": "#332288", "B": "#DDCC77", "C": "#117733"})
    assert wedges["label_text"].tolist() == ["60%", "38%", ""]       # C is under 3 % of the ring: hover only
    assert wedges["label_color"].tolist() == ["#ffffff", "#000000", "#ffffff"]
    # A's label sits in the middle of the ring, at the middle of its wedge (60 % clockwise from 12 o'clock).
    middle = math.pi / 2 - 2 * math.pi * 0.3
    radius = np.hypot(wedges["label_x"][0], wedges["label_y"][0])
    assert radius == pytest.approx(0.79) and math.atan2(wedges["label_y"][0], wedges["label_x"][0]) == pytest.approx(middle)


def test_donut_shows_each_computed_model_as_attribute_computes_it(section, reference_dir, reference_journeys):
    section.credit_source = COMPUTED
    assert list(section.param.model.objects.values()) == list(MODEL_NAMES)
    expected = attribute(reference_journeys)
    for model in MODEL_NAMES:
        section.model = model
        wedges = section.donut_credit().set_index("channel")
        assert wedges["conversions"].to_dict() == pytest.approx(expected[model].to_dict())
        assert wedges["share"].to_dict() == pytest.approx(credit_shares(expected[model]).to_dict())
    purchases = outcome_counts(read(reference_dir, "journeys"))["Purchase"]
    assert section.donut_centre()["text"] == [f"{purchases:,}", "conversions"]


def test_switching_back_to_provided_leaves_a_model_the_file_does_not_have(section):
    section.credit_source = COMPUTED
    section.model = "shapley"
    section.credit_source = PROVIDED
    assert section.model in ATTRIBUTION_MODELS
    section.model = "first_touch"
    section.credit_source = COMPUTED
    assert section.model == "first_touch"  # kept: the journeys have it too


def test_wedges_fill_the_ring_even_when_shares_do_not_add_to_100():
    wedges = donut_wedges(pd.Series({"A": 30.0, "B": 10.0}), None, {"A": "#111111"})
    assert (wedges["end_angle"] - wedges["start_angle"]).tolist() == pytest.approx([1.5 * math.pi, 0.5 * math.pi])
    assert wedges["color"].tolist() == ["#111111", "#888888"]
    assert wedges["label_text"].tolist() == ["30%", "10%"]   # as the file (and the hover) give them
    assert wedges["conversions_text"].str.startswith("not in the file").all()


def test_model_and_source_switches_rewrite_the_donut_data_source(section, reference_dir):
    root = pn.panel(section).get_root()
    wedges = root.select_one({"name": "attribution-donut"})
    centre = root.select_one({"name": "attribution-donut-centre"})
    provided = read(reference_dir, "attribution").set_index("channel")

    def shown() -> dict[str, float]:
        return dict(zip(wedges.data["channel"], wedges.data["share"]))

    section.model = "first_touch"
    assert shown() == provided["first_touch"].to_dict()
    section.model = "last_touch"
    assert shown() == provided["last_touch"].to_dict() != provided["first_touch"].to_dict()
    section.credit_source = COMPUTED
    assert set(wedges.data["channel"]) == set(section.journeys()["path"].str.split(" > ").explode())
    assert list(centre.data["text"]) == section.donut_centre()["text"]
    # The time-decay half-life reaches the donut when it shows computed time-decay credit.
    section.model = "time_decay"
    before = shown()
    section.half_life = 3.0
    after = shown()
    assert after != before
    assert after == pytest.approx(credit_shares(time_decay(section.journeys(), half_life=3.0)).to_dict())
    (donut,) = [plot for plot in root.select({"type": Plot}) if wedges in plot.select({"type": ColumnDataSource})]
    assert donut.title.text == "Time decay (computed)"
    # The rest of the section rendered too: the funnel insight is on the page.
    assert "The largest drop is from" in rendered_text(root)


# --- computed vs provided ------------------------------------------------------------------------

def test_half_life_and_position_weights_change_the_computed_credit(section, reference_journeys):
    default = section.computed_credit()
    section.half_life = 2.0
    longer = section.computed_credit()
    assert not np.allclose(default["time_decay"], longer["time_decay"])
    assert longer["time_decay"].to_dict() == pytest.approx(time_decay(reference_journeys, half_life=2.0).to_dict())
    assert longer.drop(columns="time_decay").equals(default.drop(columns="time_decay"))

    section.first_weight = 0.7  # 0.7 + 0.4 > 1: the last-touch share gives way
    assert section.last_weight == pytest.approx(0.3)
    credit = section.computed_credit()["position_based"]
    assert credit.to_dict() == pytest.approx(position_based(reference_journeys, first=0.7, last=0.3).to_dict())
    section.last_weight = 0.5
    assert section.first_weight == pytest.approx(0.5)


def test_export_holds_both_credit_tables_in_long_form(section, reference_dir, reference_journeys):
    section.half_life = 2.0
    frame = section.export_frame()
    provided = frame[frame["source"] == "provided"].pivot(index="channel", columns="model", values="credit_share_pct")
    file = read(reference_dir, "attribution").set_index("channel")[list(ATTRIBUTION_MODELS)]
    assert np.array_equal(provided.loc[file.index, file.columns].to_numpy(), file.to_numpy(dtype=float))
    computed = frame[frame["source"] != "provided"]
    conversions = computed.pivot(index="channel", columns="model", values="conversions_credited")
    expected = attribute(reference_journeys, half_life=2.0)
    assert np.allclose(conversions.loc[expected.index, expected.columns], expected)
    assert computed.groupby("model")["credit_share_pct"].sum().to_numpy() == pytest.approx(100.0)


def test_comparison_says_which_names_the_two_files_share(section, reference_dir):
    text = section.insight_comparison()
    channels = set(read(reference_dir, "attribution")["channel"])
    touchpoints = set(read(reference_dir, "journeys").filter(like="touchpoint_").stack()) - {"Purchase", "Exit"}
    for name in channels & touchpoints:
        assert f"**{name}**" in text.split("carry the same name")[0]
    effects = section.removal_effects()
    assert f"Removing **{effects.idxmax()}**" in text


# --- heatmap -------------------------------------------------------------------------------------

def test_heatmap_shows_the_file_and_is_centred_on_zero(section, reference_dir):
    matrix = read(reference_dir, "correlations")
    overlay = section.plot_correlations()
    heatmap, labels = overlay.HeatMap.I, overlay.Labels.I
    cells = heatmap.dframe()
    assert len(cells) == matrix.size
    for row in cells.itertuples():
        assert row.r == matrix.loc[row.row_metric, row.column_metric]
    assert set(labels.dframe()["r_text"]) == {f"{v:.2f}" for v in matrix.to_numpy().ravel()}
    options = hv.Store.lookup_options("bokeh", heatmap, "plot").kwargs | hv.Store.lookup_options(
        "bokeh", heatmap, "style").kwargs
    assert options["clim"] == (-1.0, 1.0)
    assert options["cmap"] == "RdBu_r"
    assert "Row metric" in str(options["hover_tooltips"]) and "@r_text" in str(options["hover_tooltips"])


# --- Sankey --------------------------------------------------------------------------------------

def assert_acyclic(flows: pd.DataFrame) -> None:
    """Kahn's algorithm visits every node only when the graph has no cycle."""
    successors, indegree = defaultdict(list), defaultdict(int)
    nodes = set(flows["source"]) | set(flows["target"])
    for source, target in zip(flows["source"], flows["target"]):
        successors[source].append(target)
        indegree[target] += 1
    queue, visited = deque(n for n in nodes if indegree[n] == 0), 0
    while queue:
        node = queue.popleft()
        visited += 1
        for nxt in successors[node]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                queue.append(nxt)
    assert visited == len(nodes), "the journey graph has a cycle"


def check_flows(flows: pd.DataFrame, journeys_csv: pd.DataFrame) -> None:
    assert_acyclic(flows)
    total = journeys_csv["customer_count"].sum()
    first = flows[flows["source"].str.startswith("1 · ")]
    assert first["customers"].sum() == total
    inflow = flows.groupby("target")["customers"].sum()
    outflow = flows.groupby("source")["customers"].sum()
    assert inflow.reindex(["Purchase", "Exit"]).fillna(0).to_dict() == \
        outcome_counts(journeys_csv).reindex(["Purchase", "Exit"]).fillna(0).to_dict()
    for node in set(inflow.index) & set(outflow.index):   # every middle step passes its customers on
        assert inflow[node] == outflow[node]
    # A row of k entries (touchpoints, then the outcome) sends its customers along k - 1 edges.
    edges = journeys_csv.filter(like="touchpoint_").notna().sum(axis=1) - 1
    assert flows["customers"].sum() == (journeys_csv["customer_count"] * edges).sum()


def test_sankey_is_acyclic_and_conserves_customers(section, reference_dir):
    sankey = section.plot_journeys()
    check_flows(sankey.dframe()[["source", "target", "customers"]], read(reference_dir, "journeys"))
    hv.render(sankey)


def test_a_journey_that_returns_to_a_touchpoint_makes_no_cycle(tmp_path, reference_dir):
    def revisit(frame):
        frame.loc[0, ["touchpoint_1", "touchpoint_2", "touchpoint_3", "touchpoint_4"]] = \
            ["Website", "Email", "Website", "Purchase"]
        return frame
    store = write_folder(tmp_path, reference_dir, {"journeys": revisit})
    section = section_over(store)
    flows = section.journey_flows()
    assert {("1 · Website", "2 · Email"), ("2 · Email", "3 · Website")} <= set(zip(flows["source"], flows["target"]))
    check_flows(flows, read(tmp_path, "journeys"))
    hv.render(section.plot_journeys())


# --- insights follow the data ---------------------------------------------------------------------

def test_insights_follow_the_data(tmp_path, reference_dir, section):
    def boost_organic(frame):   # Organic Search › Website › Email › Purchase becomes the commonest path
        frame.loc[frame["touchpoint_1"] == "Organic Search", "customer_count"] = 5000
        return frame

    def narrow_intent(frame):   # Consideration → Intent now loses the largest share
        frame.loc[frame["stage"] == "Intent", "visitors"] = 2000
        frame.loc[frame["stage"] == "Evaluation", "visitors"] = 1900
        frame.loc[frame["stage"] == "Purchase", "visitors"] = 1800
        return frame

    def google_closes(frame):   # Google Ads now leads last-touch credit
        frame.loc[frame["channel"] == "Google Ads", "last_touch"] = 30
        return frame

    def ctr_against_spend(frame):
        frame.loc["CTR", "Ad Spend"] = frame.loc["Ad Spend", "CTR"] = -0.9
        return frame

    store = write_folder(tmp_path, reference_dir, {"journeys": boost_organic, "funnel": narrow_intent,
                                                   "attribution": google_closes, "correlations": ctr_against_spend})
    changed = section_over(store)
    for current, folder in ((section, reference_dir), (changed, tmp_path)):
        journeys = read(folder, "journeys")
        purchase_rows = journeys[journeys.filter(like="touchpoint_").ffill(axis=1).iloc[:, -1] == "Purchase"]
        top_path = purchase_rows.loc[purchase_rows["customer_count"].idxmax()]
        shown = " › ".join(v for v in top_path.filter(like="touchpoint_") if isinstance(v, str))
        assert f"most common converting path is **{shown}**" in current.insight_journeys()

        funnel = read(folder, "funnel")
        lost = 1 - funnel["visitors"] / funnel["visitors"].shift(1)
        worst = int(lost.idxmax())
        assert f"from **{funnel['stage'][worst - 1]}** to **{funnel['stage'][worst]}**" in current.insight_funnel()

        current.model = "last_touch"
        provided = read(folder, "attribution").set_index("channel")["last_touch"]
        assert f"**{provided.idxmax()}** gets the most credit: {provided.max():.1f}%" in current.insight_donut()

        matrix = read(folder, "correlations")
        off_diagonal = matrix.where(~np.eye(len(matrix), dtype=bool)).stack()
        low = off_diagonal.idxmin()
        assert f"**{low[0]}** and **{low[1]}** move most in opposite directions" in current.insight_correlations()
    assert changed.insight_journeys() != section.insight_journeys()
    assert changed.insight_funnel() != section.insight_funnel()


def test_computed_insight_names_the_model_leader(section, reference_journeys):
    section.credit_source = COMPUTED
    section.model = "markov"
    credit = attribute(reference_journeys)["markov"]
    assert (f"**{credit.idxmax()}** is credited with {credit.max():,.0f} of the {credit.sum():,.0f} conversions"
            in section.insight_donut())


def test_no_global_filter_applies(section):
    assert "applied here: none" in section.filter_note()
    assert all(name in section.filter_note() for name in ("date range", "channels", "regions", "campaign types"))


# --- partial data --------------------------------------------------------------------------------

def test_without_the_journeys_the_other_views_still_show(tmp_path, reference_dir):
    store = write_folder(tmp_path, reference_dir, drop=("journeys",))
    section = section_over(store)
    assert section.param.credit_source.objects == [PROVIDED]
    text = rendered_text(pn.panel(section).get_root())
    assert "The largest drop is from" in text                 # funnel
    assert "gets the most credit" in text                     # donut from the provided table
    assert "move most in opposite directions" in text         # heatmap
    assert "customer_journey.csv is not in" in text           # the notice where the journeys would be
    assert len(section.export_frame()) == len(read(reference_dir, "attribution")) * len(ATTRIBUTION_MODELS)
    # What the report gathers: the views whose files loaded, nothing failing for the missing one.
    assert section.insight_journeys() == ""
    charts = section.chart_objects()
    assert not any(isinstance(chart, hv.Sankey) for chart in charts)
    assert len(charts) == 4   # funnel, donut, provided bars, heatmap
    omitted = _Omissions()
    content = section_content(section, omitted)
    assert omitted == [] and len(content.charts) == 4


def test_journeys_alone_give_computed_credit_and_unreadable_journeys_say_why(tmp_path, reference_dir):
    only = tmp_path / "only"
    only.mkdir()
    section = section_over(write_folder(only, reference_dir, drop=("funnel", "attribution", "correlations")))
    assert section.param.credit_source.objects == [COMPUTED]
    assert section.credit_source == COMPUTED
    assert "conversions" in section.insight_donut()

    broken = tmp_path / "broken"
    broken.mkdir()

    def purchase_first(frame):
        frame.loc[0, "touchpoint_1"] = "Purchase"
        return frame
    section = section_over(write_folder(broken, reference_dir, {"journeys": purchase_first}))
    assert not section.has_view("journeys")
    assert "customer_journey.csv cannot be read as journeys" in section.view_problem("journeys")
    assert section.param.credit_source.objects == [PROVIDED]


def test_the_report_gets_every_chart_and_insight(section):
    omitted = _Omissions()
    content = section_content(section, omitted)
    assert omitted == []
    assert len(content.charts) == 7   # funnel, donut, provided, computed, removal effect, heatmap, Sankey
    assert len(content.insights) == 5
