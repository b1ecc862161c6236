"""Locators the browser tests share (tests/ui is on sys.path: pytest puts a conftest's folder there)."""
from __future__ import annotations

import contextlib
import re
import socket
import time
from collections.abc import Callable, Iterator

import panel as pn
import pytest
from playwright.sync_api import Page

from novamart_panel.app import SECTIONS, TITLE
from ports import free_port

# The sidebar's section navigation: one button per section (class `nav-<slug>`); the column around them names
# the shown section (class `nav-at-<slug>`), which fills that button.
NAV_BUTTON = ".section-nav .bk-btn"
ACTIVE_SECTION = ", ".join(f".nav-at-{s.slug} .nav-{s.slug} .bk-btn" for s in SECTIONS)


def nav_button(page: Page, title: str):
    """The navigation button of the section titled `title`."""
    return page.locator(NAV_BUTTON).filter(has_text=re.compile(rf"^\s*{re.escape(title)}\s*$"))


# Every figure title on the page, from BokehJS's documents.
FIGURE_TITLES_JS = """() => {
  const titles = [];
  for (const doc of Bokeh.documents) for (const model of doc.all_models)
    if (model.type === 'Title' && model.text) titles.push(model.text);
  return titles;
}"""


def insight(page: Page, text: str):
    """The insight sentence containing `text`."""
    return page.locator(".insight", has_text=text)


def card(page: Page, title: str):
    """The first card whose text contains `title`, scrolled into view."""
    view = page.locator(".card", has_text=title).first
    view.scroll_into_view_if_needed()
    return view


@contextlib.contextmanager
def serve_apps(apps: dict[str, Callable], timeout_s: float = 60) -> Iterator[str]:
    """Serve `apps` (URL path → app factory) on a free local port in a thread; yield the base URL."""
    port = free_port()
    server = pn.serve(apps, port=port, address="127.0.0.1", threaded=True, show=False, verbose=False, title=TITLE)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(f"the test server did not listen on port {port}")
            time.sleep(0.2)
    try:
        yield f"http://localhost:{port}"
    finally:
        server.stop()
