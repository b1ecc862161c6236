"""URL state is checked against the loaded data (SPEC §7): unknown options are dropped, dates must parse and
are limited to the data's range, the tab and the threshold must be valid, and the page says what it ignored."""
from __future__ import annotations

import datetime as dt
import json
import re
import socket
import time
import urllib.request
from urllib.parse import urlencode

import panel as pn
import pytest

from novamart_panel.app import URL_FILTERS, App, extension
from novamart_panel.url_state import clean_url_values
from novamart_panel.views.filters import Filters
from novamart_panel.views.model_evaluation import ModelEvaluationSection
from ports import free_port

D = dt.date


@pytest.fixture(scope="module")
def filters(packaged_store) -> Filters:
    return Filters(packaged_store)


def test_known_options_are_kept_and_the_rest_named(filters):
    cleaned, problems = clean_url_values(filters, {"channels": [123, None, {"a": 1}, "Email", "Email", "Nope"]},
                                         URL_FILTERS)
    assert cleaned == {"channels": ["Email"]}
    assert problems == ['channels: ignored 123, null, {"a": 1}, Nope: not in the loaded data']


def test_a_list_with_nothing_known_means_all(filters):
    cleaned, problems = clean_url_values(filters, {"regions": ['<img src=x onerror="alert(1)">']}, URL_FILTERS)
    assert cleaned == {"regions": []}
    assert "not in the loaded data (showing all)" in problems[0] and "<img src=x" in problems[0]


def test_a_single_text_value_counts_as_a_one_item_list(filters):
    assert clean_url_values(filters, {"campaign_types": "Seasonal Sale"})[0] == {"campaign_types": ["Seasonal Sale"]}


def test_dates_are_clamped_to_the_data_and_bad_dates_refused(filters):
    low, high = filters.full_range
    cleaned, problems = clean_url_values(filters, {"date_range": ["2020-01-01", "2024-03-31"]}, URL_FILTERS)
    assert cleaned == {"date_range": (low, D(2024, 3, 31))}
    assert problems == [f"dates: limited to the data's dates, {low:%d %b %Y} – 31 Mar 2024"]
    # reversed order is read as a window
    assert clean_url_values(filters, {"date_range": ["2024-02-01", "2024-01-01"]})[0] == {
        "date_range": (D(2024, 1, 1), D(2024, 2, 1))}
    for bad in (["x", "2024-01-01"], "2024-01-01", ["2024-01-01"], [1, 2], None, ["2030-01-01", "2031-01-01"]):
        cleaned, problems = clean_url_values(filters, {"date_range": bad}, URL_FILTERS)
        assert cleaned == {} and problems[0].startswith("dates=") and "was ignored" in problems[0], bad


def test_tab_and_threshold_are_checked(packaged_store):
    app = App(packaged_store.folder)
    assert clean_url_values(app, {"section": "geography"}) == ({"section": "geography"}, [])
    cleaned, problems = clean_url_values(app, {"section": "<script>alert(1)</script>"}, {"section": "tab"})
    assert cleaned == {} and problems[0].startswith("tab=<script>alert(1)</script> was ignored: choose one of")
    model = app.section_view("model")
    assert isinstance(model, ModelEvaluationSection)
    keys = {"threshold": "threshold"}
    assert clean_url_values(model, {"threshold": 0.3}, keys) == ({"threshold": 0.3}, [])
    assert clean_url_values(model, {"threshold": 7}, keys) == ({"threshold": 1.0}, ["threshold: 7 is outside 0–1; 1 used"])
    for bad in ("javascript:alert(1)", float("nan"), float("inf"), True, [0.5], None):
        cleaned, problems = clean_url_values(model, {"threshold": bad}, keys)
        assert cleaned == {} and "was ignored" in problems[0], bad


def test_kpi_period_and_comparison_are_checked(packaged_store):
    overview = App(packaged_store.folder).section_view("overview")
    keys = {"kpi_period": "kpis", "comparison": "compare"}
    assert clean_url_values(overview, {"kpi_period": "all", "comparison": "year"}, keys) == (
        {"kpi_period": "all", "comparison": "year"}, [])
    cleaned, problems = clean_url_values(overview, {"kpi_period": "<b>x</b>", "comparison": "none"}, keys)
    assert cleaned == {"comparison": "none"} and problems[0].startswith("kpis=<b>x</b> was ignored")


def test_long_values_are_cut_in_the_message(filters):
    _, problems = clean_url_values(filters, {"channels": ["x" * 500]}, URL_FILTERS)
    assert len(problems[0]) < 140 and "…" in problems[0]


def test_filters_refuse_unknown_options_and_keep_their_own(packaged_store, reference_store):
    packaged, reference = Filters(packaged_store), Filters(reference_store)
    with pytest.raises(ValueError):
        packaged.channels = [123]
    # Each instance has the options of its own data (they used to be shared through the class).
    assert packaged.param.channels.objects == sorted(packaged_store.query(
        "SELECT DISTINCT channel FROM campaigns")["channel"])
    assert reference.param.channels.objects == sorted(reference_store.query(
        "SELECT DISTINCT channel FROM campaigns")["channel"])
    assert Filters.param.channels.objects == []


# -- served ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def served_apps(packaged_dir):
    """The app served in this process; each session's App is kept so a test can look at its state."""
    extension()
    sessions: list[App] = []

    def page():
        app = App(packaged_dir)
        sessions.append(app)
        return app.template()

    port = free_port()
    server = pn.serve({"app": page}, port=port, address="127.0.0.1", threaded=True, show=False, verbose=False)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            break
        except OSError:
            time.sleep(0.2)
    try:
        yield f"http://localhost:{port}/app", sessions
    finally:
        server.stop()


def test_a_hostile_url_builds_a_working_page_that_says_what_it_ignored(served_apps):
    url, sessions = served_apps
    query = urlencode({
        "tab": "<script>window.__xss=1</script>", "channels": json.dumps([123, None, {"a": 1}, "Email"]),
        "regions": json.dumps(['<img src=x onerror="window.__xss=2">']), "dates": json.dumps(["x", "y"]),
        "types": "[", "threshold": "javascript:window.__xss=3", "theme": '"><svg onload="window.__xss=4">',
    })
    with urllib.request.urlopen(f"{url}?{query}", timeout=300) as response:
        assert response.status == 200
        page = response.read().decode("utf-8")
    app = sessions[-1]
    assert app.section == "overview"
    assert app.filters.channels == ["Email"] and app.filters.regions == [] and app.filters.campaign_types == []
    assert app.filters.date_range == app.filters.full_range
    assert app.section_view("model").threshold == 0.5
    said = " ".join(app.url_problems)
    for key in ("tab=", "channels:", "regions:", "dates=", "types", "threshold=", "theme="):
        assert key in said, key
    notice = app.url_notice()
    assert notice.visible and r"\<img src=x" in notice[0].object
    assert re.search(r"(?<!\\)<", notice[0].object) is None   # every < of the URL's text is escaped
    # The views compute with the cleaned filters (no DuckDB error from the URL's values).
    assert set(app.section_view("overview").channel_revenue()["channel"]) == {"Email"}
    assert "<script>window.__xss" not in page and "<img src=x onerror" not in page


def test_a_valid_url_says_nothing(served_apps):
    url, sessions = served_apps
    query = urlencode({"tab": "geography", "channels": json.dumps(["Email"]),
                       "dates": json.dumps(["2024-01-01", "2024-03-31"]), "threshold": "0.4"})
    with urllib.request.urlopen(f"{url}?{query}", timeout=300) as response:
        assert response.status == 200
    app = sessions[-1]
    assert app.section == "geography" and app.filters.channels == ["Email"]
    assert app.filters.date_range == (D(2024, 1, 1), D(2024, 3, 31))
    assert app.section_view("model").threshold == 0.4
    assert app.url_problems == [] and not app.url_notice().visible
