"""The insights report: the CLI writes it; its key figures match pandas; every built section contributes
insights and charts; it needs nothing from the network; data values are escaped; it follows data and filters."""
from __future__ import annotations

import html
import json
import re

import holoviews as hv
import pandas as pd
import panel as pn
import pytest

from novamart_panel import format as fmt
from novamart_panel.app import App, extension
from novamart_panel.cli import main
from novamart_panel.report import build_report_html, markdown_html, write_report
from novamart_panel.views.base import Section, notice
from novamart_panel.views.geography import GeographySection
from novamart_panel.views.overview import OverviewSection

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(scope="module", autouse=True)
def _extension():
    extension()


@pytest.fixture(scope="module")
def reference_report(reference_dir, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("report") / "r.html"
    assert main(["report", "--data", str(reference_dir), "--out", str(out)]) == 0
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def hostile_dir(reference_dir, tmp_path_factory):
    """Only the campaign file, every campaign renamed to a script tag."""
    folder = tmp_path_factory.mktemp("hostile")
    campaigns = pd.read_csv(reference_dir / "campaign_performance.csv")
    campaigns.assign(campaign_name=HOSTILE).to_csv(folder / "campaign_performance.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def email_report(hostile_dir, tmp_path_factory) -> str:
    out = write_report(tmp_path_factory.mktemp("email") / "email.html", data_dir=hostile_dir,
                       filters={"channels": ["Email"]})
    return out.read_text(encoding="utf-8")


def chunks(page: str) -> dict[str, str]:
    """The page cut at each section heading, by the heading's id."""
    return {m.group(1): m.group(0) for m in re.finditer(r'<h2 id="([^"]+)">.*?(?=<h2 id="|</main>)', page, re.S)}


def key_figures(page: str) -> dict[str, str]:
    block = page[page.index("<h2>Key figures</h2>"):page.index("<h2>Sections</h2>")]
    return {k: html.unescape(v) for k, v in re.findall(r'data-kpi="([^"]+)".*?class="kpi-value"[^>]*>([^<]*)<', block)}


def last_90_days(campaigns: pd.DataFrame) -> pd.DataFrame:
    """The rows in the key figures' default period: the last 90 days of these rows."""
    dates = pd.to_datetime(campaigns["date"])
    return campaigns[dates > dates.max() - pd.Timedelta(days=90)]


def insight_texts(chunk: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", t)).strip()
            for t in re.findall(r'<div class="insight">(.*?)</div>', chunk, re.S)]


def embedded_document(page: str) -> dict:
    """The Bokeh document the page's charts are drawn from (the JSON is HTML-escaped in its script tag)."""
    payload = re.search(r'<script type="application/json"[^>]*>(.*?)</script>', page, re.S).group(1)
    (document,) = json.loads(html.unescape(payload)).values()
    return document


def built_sections(folder) -> list[Section]:
    return [s for s in App(folder).sections if not s.missing_tables and type(s).layout is not Section.layout]


def test_key_figures_equal_pandas(reference_report, reference_dir):
    # The cards' default period: the last 90 days of the data, against the 90 days before.
    campaigns = pd.read_csv(reference_dir / "campaign_performance.csv", parse_dates=["date"])
    last = campaigns["date"].max()
    campaigns = campaigns[campaigns["date"] > last - pd.Timedelta(days=90)]
    revenue, spend, conversions = campaigns[["revenue", "spend", "conversions"]].sum()
    assert f"<strong>{last - pd.Timedelta(days=89):%d %b %Y} – {last:%d %b %Y}</strong> (90 days)" in reference_report
    customers = len(pd.read_csv(reference_dir / "customer_data.csv"))
    assert key_figures(reference_report) == {
        "revenue": fmt.rupees(revenue), "spend": fmt.rupees(spend), "conversions": fmt.count(conversions),
        "roas": fmt.ratio(revenue / spend), "cpa": fmt.rupees(spend / conversions), "customers": fmt.count(customers)}


def test_every_built_section_has_insights_and_charts(reference_report, reference_dir):
    by_slug = chunks(reference_report)
    sections = built_sections(reference_dir)
    assert {s.slug for s in sections} >= {"overview", "model"}
    for section in sections:
        chunk = by_slug[section.slug]
        texts = insight_texts(chunk)
        assert texts and all(texts), section.slug
        assert chunk.count("data-root-id") >= 1, section.slug
    # Sections that are not built, or lack data, are named in the appendix instead.
    built = {s.slug for s in sections}
    left_out = [s for s in App(reference_dir).sections if s.slug not in built]
    for section in left_out:
        assert html.escape(section.title) in by_slug["not-included"]
        assert section.slug not in by_slug


def test_every_chart_div_has_its_root_in_the_embedded_document(reference_report):
    divs = re.findall(r'data-root-id="([^"]+)"', reference_report)
    document = embedded_document(reference_report)
    assert len(divs) >= 10
    assert sorted(divs) == sorted(root["id"] for root in document["roots"])


def test_report_needs_no_network(reference_report):
    lowered = reference_report.lower()
    assert not re.search(r'<script[^>]*\ssrc=', lowered)       # every script inline, none fetched
    assert not re.search(r'<link[^>]*\shref=', lowered)
    assert not re.search(r'url\(\s*["\']?https?:', lowered)
    assert not re.search(r'@import\s|<(?:script|link|img|iframe)\b[^>]*\s(?:src|href)\s*=\s*["\']?\s*(?:https?:)?//',
                         lowered)                                 # no remote resource of any kind
    assert "cdn.holoviz.org" not in lowered and not re.search(r"<script[^>]*mathjax", lowered)
    scripts = re.findall(r"<script>(.*?)</script>", reference_report, re.S)
    assert max(map(len, scripts)) > 500_000   # BokehJS itself is in the page


def test_context_filters_and_quality(reference_report, reference_dir):
    assert html.escape(str(reference_dir.resolve())) in reference_report
    assert "<b>Channels</b>: all" in reference_report
    # The reference folder lacks the optional files: one line for each, none for the files that are fine.
    quality = reference_report[reference_report.index("<h2>Data quality</h2>"):reference_report.index("<h2>Key")]
    assert "ab_test_results.csv</b> (optional): absent (optional)" in quality
    assert "campaign_performance.csv" not in quality


def test_hostile_values_are_escaped(email_report):
    assert HOSTILE not in email_report
    campaigns = chunks(email_report)["campaigns"]
    assert html.escape(HOSTILE, quote=False) in campaigns   # named in the leaderboard insight, as text


def test_filtered_report_shows_the_channel(email_report, hostile_dir):
    campaigns = pd.read_csv(hostile_dir / "campaign_performance.csv")
    # the cards end on the selection's last day with rows
    email = last_90_days(campaigns[campaigns["channel"] == "Email"])
    figures = key_figures(email_report)
    assert figures["revenue"] == fmt.rupees(email["revenue"].sum())
    assert figures["revenue"] != fmt.rupees(last_90_days(campaigns)["revenue"].sum())
    assert "<b>Channels</b>: Email" in email_report
    # customer_data.csv is not in that folder: its section is left out, saying why.
    assert "customer_data.csv is not in" in chunks(email_report)["not-included"]


def test_different_data_different_sentences(reference_report, reference_dir, packaged_dir):
    app = App(packaged_dir)
    app.sections = [s for s in app.sections if isinstance(s, OverviewSection)]
    packaged = build_report_html(app)
    campaigns = pd.read_csv(packaged_dir / "campaign_performance.csv")
    assert key_figures(packaged)["revenue"] == fmt.rupees(last_90_days(campaigns)["revenue"].sum())
    reference_sentences = insight_texts(chunks(reference_report)["overview"])
    packaged_sentences = insight_texts(chunks(packaged)["overview"])
    assert len(packaged_sentences) == len(reference_sentences)
    assert set(packaged_sentences).isdisjoint(reference_sentences)


class BrokenSection(Section):
    """A built section whose parts fail in every way the report must survive."""

    title = "Broken <section>"
    slug = "broken"
    tables = ("campaigns",)

    def layout(self):
        return notice("built")

    def insight_fine(self) -> str:
        return "Revenue is **fine** <i>here</i>"

    def insight_boom(self) -> str:
        raise RuntimeError("no insight today")

    def insight_with_argument(self, metric) -> str:
        return "never shown"

    def plot_boom(self):
        raise ValueError("no chart today")

    def plot_text(self):
        return "a sentence"

    def plot_curve(self):
        return hv.Curve([(0, 1), (1, 3)])

    def plot_figure_pane(self):
        return pn.pane.HoloViews(hv.Bars([("a", 1), ("b", 2)]))


def test_failures_are_listed_not_fatal(reference_dir):
    app = App(reference_dir)
    app.sections = [BrokenSection(store=app.store, filters=app.filters)]
    page = build_report_html(app)
    chunk = chunks(page)["broken"]
    assert "Broken &lt;section&gt;" in chunk
    assert insight_texts(chunk) == ["Revenue is fine <i>here</i>"]
    assert "<strong>fine</strong> &lt;i&gt;here&lt;/i&gt;" in chunk
    assert chunk.count("data-root-id") == 2
    assert "never shown" not in page
    appendix = chunks(page)["not-included"]
    assert "insight_boom</b>: RuntimeError: no insight today" in appendix
    assert "plot_boom</b>: ValueError: no chart today" in appendix
    assert "plot_text</b>: a str is not a chart" in appendix
    assert "The app has no overview section" in page


def test_online_map_tiles_are_left_out(reference_dir):
    app = App(reference_dir)
    geography = next(s for s in app.sections if isinstance(s, GeographySection))
    geography.show_tiles = True
    app.sections = [geography]
    page = build_report_html(app)
    assert chunks(page)["geography"].count("data-root-id") == 2
    charts = json.dumps(embedded_document(page))
    assert "WMTSTileSource" not in charts and "openstreetmap" not in charts
    assert "online map tiles left out" in chunks(page)["not-included"]
    assert "Online map tiles (OpenStreetMap): True" in page   # the changed setting is stated


def test_sidebar_button_downloads_the_current_report(reference_dir):
    app = App(reference_dir)
    app.sections = [s for s in app.sections if isinstance(s, OverviewSection)]
    app.filters.channels = ["Email"]
    (button,) = [w for w in app.sidebar().select(pn.widgets.FileDownload)]
    page = button.callback().getvalue().decode("utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<b>Channels</b>: Email" in page


def test_empty_folder_still_gives_a_report(tmp_path):
    out = tmp_path / "empty.html"
    assert main(["report", "--data", str(tmp_path), "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "<b>campaign_performance.csv</b> (required): missing, 0 rows, 1 error(s)" in page
    assert "campaign_performance.csv is not in" in page   # why the overview and its key figures are absent
    app = App(tmp_path)
    app.sections = []
    bare = build_report_html(app)   # no chart at all: a page without Bokeh
    assert bare.startswith("<!DOCTYPE html>") and "<script" not in bare and "Key figures" in bare


def test_markdown_escapes_markup_and_unsafe_links():
    assert markdown_html("**A & B** <img src=x onerror=alert(1)>") == (
        "<p><strong>A &amp; B</strong> &lt;img src=x onerror=alert(1)&gt;</p>\n")
    assert "href" not in markdown_html("[x](javascript:alert(1))")   # left as text, not a link


def test_bad_arguments(tmp_path, reference_dir, capsys):
    assert main(["report", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r.html")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown filter"):
        write_report(tmp_path / "r.html", data_dir=reference_dir, filters={"channel": ["Email"]})
    assert not (tmp_path / "r.html").exists()
