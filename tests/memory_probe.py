"""Served beside the app by tests/test_server_memory.py: each page load prints, to the server's output, how
many App objects the server process still holds, how many clean-ups ran after closed sessions, and its
resident memory. Nothing is collected first, so an App only a garbage collection would free still counts.

The Apps are found as the objects that refer to their class, not by listing every object: `gc.get_objects()`
holds a reference to every tracked object, and a tuple another thread is still growing from a generator then
fails in CPython 3.12 (`SystemError: bad argument to internal function`, from `_PyTuple_Resize`)."""
import gc
import os

import panel as pn

from novamart_panel.app import App
from novamart_panel.session import COLLECTOR

live_apps = sum(type(obj) is App for obj in gc.get_referrers(App))
with open(f"/proc/{os.getpid()}/status") as status:
    rss_kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
print(f"MEMORY-PROBE apps={live_apps} collections={COLLECTOR.runs} rss_kb={rss_kb}", flush=True)
pn.pane.Str("memory probe").servable()
