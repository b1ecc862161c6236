"""Browser-test fixtures: one served app, one headless Chromium, pages that record what goes wrong.

The app is served in-process (threaded `pn.serve`, one server for the whole test session) on the packaged
data at /app and on the reference data at /reference. Chromium is Debian's (/usr/bin/chromium, or
$NOVAMART_CHROMIUM): Playwright never downloads a browser, and one Chromium serves every browser test of a
run. Every page records console errors and warnings (less a short allowlist of third-party notices),
uncaught page errors, failed and 4xx/5xx requests, any request to a host other than this machine, which
is blocked: the app must work offline (SPEC §6), and every error the server logs while the page is open (a
failed callback leaves the page as it was, without a word in the browser).
"""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from novamart_panel.app import create_app
from ui_helpers import NAV_BUTTON, serve_apps

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "screenshots"
CHROMIUM = os.environ.get("NOVAMART_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 30_000
expect.set_options(timeout=TIMEOUT_MS)
# A cold session builds the whole app; on 2 busy cores the first page can take far longer than a click.
FIRST_LOAD_TIMEOUT_MS = 120_000
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}
# Console messages that are not the app's: third-party deprecation notices and GPU driver chatter.
ALLOWED_CONSOLE = (
    re.compile(r"Deprecation warning: allowHTML will default to false"),   # Choices.js in MultiChoice
    re.compile(r"GL Driver Message"),                                         # software WebGL in headless
)
APP_PATHS = {"packaged": "app", "reference": "reference"}
# Server errors that are not the app's: Tornado writing to the socket of a page already closed (an earlier test).
ALLOWED_SERVER_ERRORS = ("WebSocketClosedError", "StreamClosedError")


@dataclass
class BrowserLog:
    """What went wrong in one page: console errors/warnings, page errors, failed or off-machine requests, and
    errors the server logged meanwhile."""

    console: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    offsite_requests: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)

    def on_console(self, message) -> None:
        if message.type in ("error", "warning") and not any(p.search(message.text) for p in ALLOWED_CONSOLE):
            where = message.location.get("url", "").rsplit("/", 1)[-1]
            self.console.append(f"{message.type}: {message.text}" + (f" ({where}:{message.location.get('lineNumber')})" if where else ""))

    def on_page_error(self, error) -> None:
        # The first frames of the stack say which model failed (a bare message rarely does).
        frames = [line.strip() for line in (error.stack or "").splitlines()[1:4]]
        self.page_errors.append(" | ".join([str(error), *frames]) if frames else str(error))

    def on_response(self, response) -> None:
        if response.status >= 400:
            self.failed_requests.append(f"{response.status} {response.url}")

    def on_request_failed(self, request) -> None:
        if request.url not in self.offsite_requests:
            self.failed_requests.append(f"{request.failure} {request.url}")

    def on_server_record(self, record: logging.LogRecord) -> None:
        """An error the in-process server logged while the page was open (a callback that failed)."""
        if record.exc_info and record.exc_info[0].__name__ in ALLOWED_SERVER_ERRORS:
            return
        error = f" ({record.exc_info[0].__name__}: {record.exc_info[1]})" if record.exc_info else ""
        self.server_errors.append(f"{record.name}: {record.getMessage()}{error}")

    def problems(self) -> dict[str, list[str]]:
        found = {item.name: getattr(self, item.name) for item in fields(self)}
        return {name: values for name, values in found.items() if values}

    def assert_clean(self) -> None:
        assert self.problems() == {}


class ServerErrors(logging.Handler):
    """Hands the server's ERROR records to a page's `BrowserLog`."""

    def __init__(self, log: BrowserLog) -> None:
        super().__init__(logging.ERROR)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        self.log.on_server_record(record)


def is_local(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("data", "blob", "about") or parsed.hostname in LOCAL_HOSTS


@pytest.fixture(scope="session")
def app_server(packaged_dir, reference_dir) -> str:
    """Base URL of the app on both data sets (a factory: each page load is a fresh session)."""
    folders = {"packaged": packaged_dir, "reference": reference_dir}
    with serve_apps({APP_PATHS[name]: (lambda folder=folder: create_app(folder))
                     for name, folder in folders.items()}) as url:
        yield url


class ChromiumRun:
    """One Playwright and one Chromium shared by consecutive browser tests.

    Stopped as soon as the next test needs no browser: a live sync Playwright leaves an event loop marked
    running in this thread, so `asyncio.run` in later (non-browser) tests would fail.
    """

    def __init__(self) -> None:
        self._playwright = None
        self._browser = None

    def browser(self):
        if self._browser is None:
            if not Path(CHROMIUM).is_file():
                pytest.fail(f"no Chromium at {CHROMIUM}: `apt-get install chromium` (bash .ci/run does it)")
            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                             args=CHROMIUM_ARGS)
        return self._browser

    def stop(self) -> None:
        if self._playwright is not None:
            self._browser.close()
            self._playwright.stop()
            self._playwright = self._browser = None


CHROMIUM_RUN = ChromiumRun()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    try:
        return (yield)
    finally:
        if nextitem is None or "browser" not in nextitem.fixturenames:
            CHROMIUM_RUN.stop()


@pytest.fixture
def browser():
    """The run's headless Chromium (started by the first browser test)."""
    return CHROMIUM_RUN.browser()


@pytest.fixture
def browser_log() -> BrowserLog:
    return BrowserLog()


@pytest.fixture
def page(browser, browser_log) -> Page:
    """A fresh page (own context: no shared cookies or storage) whose problems land in `browser_log`."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)

    def route(route):
        if is_local(route.request.url):
            route.continue_()
        else:
            browser_log.offsite_requests.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", browser_log.on_console)
    page.on("pageerror", browser_log.on_page_error)
    page.on("response", browser_log.on_response)
    page.on("requestfailed", browser_log.on_request_failed)
    # Panel's logger does not propagate to the root one: the server's errors are taken from both.
    handler = ServerErrors(browser_log)
    loggers = [logging.getLogger(), logging.getLogger("panel")]
    for logger in loggers:
        logger.addHandler(handler)
    yield page
    context.close()
    for logger in loggers:
        logger.removeHandler(handler)


@pytest.fixture
def screenshot():
    """Save a full-page screenshot under screenshots/ (not committed) for a person to look at."""

    def save(page: Page, name: str) -> Path:
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


@pytest.fixture
def open_app(app_server):
    """Open the app on a data set ("packaged" or "reference") with an optional query string.

    The first load may take up to FIRST_LOAD_TIMEOUT_MS until `ready` (a CSS selector) shows: the section
    navigation by default, or a view of the section the query opens.
    """

    def open_(page: Page, data: str = "packaged", query: str = "", ready: str = NAV_BUTTON) -> Page:
        page.goto(f"{app_server}/{APP_PATHS[data]}{query}", timeout=FIRST_LOAD_TIMEOUT_MS)
        page.locator(ready).first.wait_for(timeout=FIRST_LOAD_TIMEOUT_MS)
        return page

    return open_
