"""Shared fixtures: the reference data beside the repository, the packaged data, and stores over them."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

# Tests load many throw-away folders: their cache databases go to a temporary folder, not the user's cache.
if "NOVAMART_CACHE_DIR" not in os.environ:
    os.environ["NOVAMART_CACHE_DIR"] = tempfile.mkdtemp(prefix="novamart-test-cache-")
    atexit.register(shutil.rmtree, os.environ["NOVAMART_CACHE_DIR"], ignore_errors=True)

REPO = Path(__file__).resolve().parents[1]
PACKAGED_DIR = REPO / "data"
# CI clones the repository with shared/ beside it; NOVAMART_REFERENCE overrides the location.
REFERENCE_DIR = Path(os.environ.get("NOVAMART_REFERENCE", REPO.parent / "shared" / "reference-data" / "novamart"))
if not REFERENCE_DIR.is_dir():
    REFERENCE_DIR = Path("/work/shared/reference-data/novamart")


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The real NovaMart files (read-only); tests that need them skip where they are not beside the repo."""
    if not REFERENCE_DIR.is_dir():
        pytest.skip("the reference data folder ../shared/reference-data/novamart is not present")
    return REFERENCE_DIR


@pytest.fixture(scope="session")
def packaged_dir() -> Path:
    """The generated data shipped in data/."""
    return PACKAGED_DIR


@pytest.fixture(scope="session")
def reference_store(reference_dir):
    from novamart_panel.data.store import DataStore

    return DataStore.open(reference_dir)


@pytest.fixture(scope="session")
def packaged_store(packaged_dir):
    from novamart_panel.data.store import DataStore

    return DataStore.open(packaged_dir)


@pytest.fixture(scope="module", autouse=True)
def no_busy_indicators_left_behind():
    """Each test module ends with the busy indicators Panel had when it started.

    A template registers its busy indicator with Panel (`pn.state._indicators`) for as long as its session lives.
    A module that serves the app in this process and stops its server leaves the sessions the server never
    closed (a page fetched but never connected) registered: a later session's busy state was then sent to their
    documents, whose event loop is closed, and its event failed ('Event loop is closed' in later browser tests).
    """
    import panel as pn

    before = {id(indicator) for indicator in pn.state._indicators}
    yield
    pn.state._indicators[:] = [indicator for indicator in pn.state._indicators if id(indicator) in before]


@pytest.fixture
def hold_execute(monkeypatch):
    """`hold_execute(keep)`: `pn.state.execute` hands this thread's callbacks to `keep` instead of running them,
    so a test runs a served app's scheduled steps itself, in order. Callbacks from other threads run as before:
    a server an earlier test started in this process may still be sending its sessions' updates from its own
    thread, and taking them shifted the steps (a first switch's prose was taken for its views below, in CI).
    The app's callbacks run on the event loop (`next_on_loop`, e.g. a section's first switch) are held alike."""
    import panel as pn

    import novamart_panel.app as app_module

    execute, on_loop, here = pn.state.execute, app_module.next_on_loop, threading.get_ident()

    def hold(keep):
        def held(run):
            def schedule(callback, *args, **kwargs):
                if threading.get_ident() == here:
                    keep(callback)
                else:
                    run(callback, *args, **kwargs)
            return schedule
        monkeypatch.setattr(pn.state, "execute", held(execute))
        monkeypatch.setattr(app_module, "next_on_loop", held(on_loop))
    return hold
