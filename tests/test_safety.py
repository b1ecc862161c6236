"""Escaping at the boundary where data or URL text becomes HTML or Markdown (SPEC §7).

Each helper is checked by rendering its output the way the app does (markdown-it, as Panel's Markdown pane
and the report use it) and looking at the HTML: no element, link, image or emphasis may come out of the
text, and the text must read exactly as it was.
"""
from __future__ import annotations

import html
import re

import pandas as pd
import panel as pn
import pytest
from markdown_it import MarkdownIt

from hostile import PAYLOADS
from novamart_panel.analytics import attribution_insights, campaign_insights, customer_insights, insights
from novamart_panel.analytics import geo_insights, product_insights
from novamart_panel.format import escape_html, escape_markdown, strong
from novamart_panel.views.base import TextMultiChoice, insight, kpi_card, markdown, notice

# Panel's Markdown pane renders with markdown-it's "gfm-like" preset; raw HTML stays on here, so the escaping
# is shown to hold on its own (the app's panes also turn HTML off), web addresses are not linked (as in the app).
PANEL_MARKDOWN = MarkdownIt("gfm-like", {"linkify": False})
TAGS = re.compile(r"<(?!/?(p|strong|em|ul|li)>)[^>]*>")   # any element but the ones sentences use
NAMES = PAYLOADS + (
    "Home & Living", "snake_case_name", "1. not a list", "# not a heading", "- not an item", "> not a quote",
    "a | b", "x\n\n# y", "C:\\data\\x", "$$x^2$$", "~~struck~~", "_under_", "&lt;b&gt;", "<https://example.org>",
)


def rendered_text(markup: str) -> str:
    """The visible text of rendered HTML (tags stripped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


@pytest.mark.parametrize("name", NAMES)
def test_escaped_markdown_renders_as_the_literal_text(name):
    rendered = PANEL_MARKDOWN.render(f"Channel {escape_markdown(name)} leads.")
    assert TAGS.search(rendered) is None, rendered
    expected = " ".join(name.split())   # line breaks become spaces
    assert " ".join(rendered_text(rendered).split()) == f"Channel {expected} leads."


@pytest.mark.parametrize("name", NAMES)
def test_strong_keeps_the_bold_and_only_the_bold(name):
    rendered = PANEL_MARKDOWN.renderInline(f"{strong(name)} brings the most revenue.")
    assert rendered.startswith("<strong>") and rendered.count("<strong>") == 1, rendered
    assert TAGS.search(rendered) is None
    assert " ".join(rendered_text(rendered).split()) == f"{' '.join(name.split())} brings the most revenue."


def test_plain_names_are_left_as_they_are():
    for name in ("Google Ads", "Email", "Q1 2023", "webinar_attendance", "Home & Living", "-₹25 L", "12.5%"):
        assert escape_markdown(name) == name


def test_escape_html_escapes_markup_and_quotes():
    assert escape_html('"><img src=x onerror="a">') == "&quot;&gt;&lt;img src=x onerror=&quot;a&quot;&gt;"
    assert escape_html(12.5) == "12.5"


def test_kpi_card_shows_its_texts_as_text():
    card = kpi_card("<b>Revenue</b>", "₹1 L", "+2.0%", True, caption='customer file, <img src=x onerror="a">')
    assert "<img" not in card and "<b>Revenue" not in card
    assert "&lt;img src=x onerror=&quot;a&quot;&gt;" in card


@pytest.mark.parametrize("factory", [markdown, insight, notice])
def test_markdown_panes_render_no_html_no_images_no_math(factory):
    pane = factory('<img src=x onerror="window.__xss=1"> ![p](http://offsite.invalid/p.png) $$x^2$$ **ok**')
    assert pane.renderer_options.get("html") is False and pane.renderer_options.get("linkify") is False
    assert pane.disable_math is True
    rendered = pane._render_markdown(pane.object)
    assert "<img" not in rendered and "<strong>ok</strong>" in rendered
    assert "&lt;img src=x" in rendered


def test_multichoice_option_names_reach_the_browser_escaped():
    names = ['<img src=x onerror="window.__xss=1"> Email', "Home & Living"]
    widget = TextMultiChoice(options=names, value=[names[0]])
    model = widget.get_root()
    assert model.options == [escape_html(n) for n in names]
    assert model.value == [escape_html(names[0])]
    model.value = [escape_html(names[1])]   # a choice made in the browser comes back as its label
    widget._process_events({"value": model.value})
    assert widget.value == [names[1]]


HOSTILE = '<img src=x onerror="window.__xss=1"> Email'
BOLD_HOSTILE = strong(HOSTILE)


def by_channel(names=(HOSTILE, "Referral", "Direct")) -> pd.DataFrame:
    return pd.DataFrame({"channel": list(names), "spend": [100.0, 50.0, 0.0], "revenue": [900.0, 100.0, 50.0],
                         "impressions": [1000, 800, 500], "clicks": [100, 40, 20], "conversions": [10, 4, 2]})


@pytest.mark.parametrize("sentence", [
    lambda: insights.top_revenue_channel(by_channel()),
    lambda: insights.roas_extremes(by_channel()),
    lambda: insights.channel_concentration(by_channel()),
    lambda: campaign_insights.channel_ranking(by_channel(), "revenue"),
    lambda: campaign_insights.channel_efficiency_summary(by_channel()),
    lambda: campaign_insights.cpa_roas_summary(by_channel(("Referral", HOSTILE, "Direct"))),
    lambda: customer_insights.names([HOSTILE, "Email"]),
    lambda: attribution_insights.top_credit_sentence(pd.Series({HOSTILE: 60.0, "Email": 40.0}), "linear"),
    lambda: attribution_insights.shared_names_sentence([HOSTILE], ["Website", HOSTILE]),
    lambda: geo_insights.leaders_sentence(pd.DataFrame({"state": [HOSTILE, "Kerala"], "region": ["South"] * 2,
                                                        "total_revenue": [2.0e7, 1.0e7]}), "total_revenue"),
    lambda: product_insights.leader_sentence(pd.DataFrame({"name": [HOSTILE, "TV"], "sales": [10.0, 5.0],
                                                           "profit": [1.0, 2.0]}), "products", HOSTILE),
])
def test_insight_sentences_escape_the_names_they_quote(sentence):
    text = sentence()
    assert text and "<img" not in text.replace(escape_markdown("<img"), "")
    rendered = PANEL_MARKDOWN.render(text)
    assert TAGS.search(rendered) is None, rendered
    assert 'onerror="window.__xss=1"' in html.unescape(rendered)   # shown as text, not dropped


def test_insight_sentences_still_read_the_same_for_plain_names():
    text = insights.top_revenue_channel(by_channel(("Google Ads", "Email", "Direct")))
    assert text.startswith("**Google Ads** brings the most revenue")


def test_no_section_builds_a_markdown_pane_outside_the_factory(packaged_store):
    """Every Markdown pane of every section and of the sidebar renders without raw HTML."""
    from novamart_panel.app import App, extension

    extension()
    app = App(packaged_store.folder)
    layouts = [app.sidebar()] + [section.__panel__() for section in app.sections]
    panes = [pane for layout in layouts for pane in pn.panel(layout).select(pn.pane.Markdown)]
    assert panes
    unsafe = [pane for pane in panes if pane.renderer_options.get("html") is not False or not pane.disable_math]
    assert unsafe == [], [str(pane.object)[:80] for pane in unsafe]
