"""Served beside the app by tests/test_server_memory.py: each page load prints, to the server's output, how
many App objects the server process still holds, how many clean-ups ran after closed sessions, and its
resident memory. Nothing is collected first, so an App only a garbage collection would free still counts."""
import gc
import os

import panel as pn

from novamart_panel.session import COLLECTOR

live_apps = sum(type(obj).__name__ == "App" and type(obj).__module__ == "novamart_panel.app"
                for obj in gc.get_objects())
with open(f"/proc/{os.getpid()}/status") as status:
    rss_kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
print(f"MEMORY-PROBE apps={live_apps} collections={COLLECTOR.runs} rss_kb={rss_kb}", flush=True)
pn.pane.Str("memory probe").servable()
