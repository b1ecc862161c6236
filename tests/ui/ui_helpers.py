"""Locators the browser tests share (tests/ui is on sys.path: pytest puts a conftest's folder there)."""
from __future__ import annotations

import re

from playwright.sync_api import Page

# The sidebar's section navigation: one button per section, the shown one marked `nav-shown`.
NAV_BUTTON = ".section-nav .bk-btn"
ACTIVE_SECTION = ".section-nav.nav-shown .bk-btn"


def nav_button(page: Page, title: str):
    """The navigation button of the section titled `title`."""
    return page.locator(NAV_BUTTON).filter(has_text=re.compile(rf"^\s*{re.escape(title)}\s*$"))
