"""Hostile input in a real browser (SPEC §6, §7): nothing runs, nothing is fetched from another host.

One server, started here, serves the app on two folders: the packaged data with script and markup payloads in
every free-text column of every file (tests/hostile.py), and the packaged data as shipped. The first test
opens every tab of the hostile data; the second opens the shipped data with payloads in every URL parameter,
checks what the page says and then opens every tab. Each payload would set `window.__xss`, open a dialog or
fetch from another host if it got through; the `page` fixture (tests/ui/conftest.py) blocks and records any
request that leaves the machine, and console errors, page errors and failed requests.
"""
from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from playwright.sync_api import Page, expect

from hostile import make_hostile_folder
from novamart_panel.app import SECTIONS, create_app
from ui_helpers import ACTIVE_SECTION, NAV_BUTTON, nav_button, serve_apps

pytestmark = pytest.mark.ui

FIRST_LOAD_MS = 120_000
# The URL's payloads: each parameter the app reads, plus the theme Panel reads.
HOSTILE_QUERY = {
    "tab": "<script>window.__xss=11</script>",
    "dates": json.dumps(['"><img src=x onerror="window.__xss=12">', "2024-01-01"]),
    "channels": json.dumps([123, None, {"a": 1}, '<img src=x onerror="window.__xss=13">', "Email"]),
    "regions": json.dumps(['<img src=x onerror="window.__xss=14">']),
    "types": json.dumps(["[x](javascript:window.__xss=15)", '"><svg onload="window.__xss=16">']),
    "threshold": "javascript:window.__xss=17",
    "theme": '"><img src=x onerror="window.__xss=18">',
}


@pytest.fixture(scope="module")
def hostile_server(packaged_dir, tmp_path_factory) -> str:
    """Base URL of the app on the hostile copy of the data (/hostile) and on the shipped data (/packaged)."""
    folder = make_hostile_folder(packaged_dir, tmp_path_factory.mktemp("hostile"))
    apps = {"hostile": lambda: create_app(folder), "packaged": lambda: create_app(packaged_dir)}
    with serve_apps(apps) as url:
        yield url


def watch_dialogs(page: Page) -> list[str]:
    """Dialogs (alert, confirm, prompt) the page opens, dismissed as they come."""
    opened: list[str] = []
    page.on("dialog", lambda dialog: (opened.append(dialog.message), dialog.dismiss()))
    return opened


def tab(page: Page, title: str):
    return nav_button(page, title)


def open_every_tab(page: Page) -> None:
    """Click through every tab and wait until it shows its title or the notice it owes the user."""
    for section in SECTIONS[1:] + SECTIONS[:1]:
        tab(page, section.title).click()
        expect(page.locator(ACTIVE_SECTION)).to_have_text(section.title)
        # The section's heading, or the notice that stands for it (hidden sections stay on the page).
        shown = page.locator("#main h2:visible", has_text=section.title).or_(page.locator("#main .alert:visible"))
        expect(shown.first).to_be_visible(timeout=FIRST_LOAD_MS)


def open_sidebar_choices(page: Page) -> None:
    """Open each sidebar multi-choice list, so every option name is rendered."""
    for choice in page.locator("#sidebar .choices").all():
        choice.locator(".choices__inner").click()
        expect(choice.locator(".choices__list--dropdown")).to_be_visible()
        page.keyboard.press("Escape")


def assert_nothing_ran(page: Page, dialogs: list[str], browser_log) -> None:
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert dialogs == []
    browser_log.assert_clean()   # includes: no request left the machine


def test_hostile_data_runs_nothing_on_any_tab(page, browser_log, hostile_server):
    dialogs = watch_dialogs(page)
    page.goto(f"{hostile_server}/hostile", timeout=FIRST_LOAD_MS)
    page.locator(NAV_BUTTON).first.wait_for(timeout=FIRST_LOAD_MS)
    open_sidebar_choices(page)
    open_every_tab(page)
    # A hover tooltip names the channel under the mouse.
    tab(page, SECTIONS[0].title).click()
    page.locator("#main .bk-events").first.hover()
    page.wait_for_timeout(500)
    assert_nothing_ran(page, dialogs, browser_log)


def test_hostile_url_is_named_cleaned_and_runs_nothing(page, browser_log, hostile_server):
    dialogs = watch_dialogs(page)
    page.goto(f"{hostile_server}/packaged?{urlencode(HOSTILE_QUERY)}", timeout=FIRST_LOAD_MS)
    page.locator(NAV_BUTTON).first.wait_for(timeout=FIRST_LOAD_MS)
    notice = page.locator(".url-notice")
    expect(notice.get_by_text("Some settings in the page address were not used")).to_be_visible()
    expect(notice.get_by_text('regions: ignored <img src=x onerror="window.__xss=14">')).to_be_visible()
    expect(page.locator(ACTIVE_SECTION)).to_have_text(SECTIONS[0].title)
    # The address now holds the values in force: the known channel kept, everything else dropped.
    expect(page).to_have_url(re.compile(r"[?&]tab=overview(&|$)"))
    query = parse_qs(urlparse(page.url).query)
    assert json.loads(query["channels"][0]) == ["Email"] and json.loads(query["regions"][0]) == []
    assert query["threshold"] == ["0.5"] and query["theme"] == ["default"]
    open_every_tab(page)
    assert_nothing_ran(page, dialogs, browser_log)
