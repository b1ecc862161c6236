"""Setup script for `panel serve --setup` (`novamart-panel serve` passes it): runs once in each server process,
before its first session.

It imports the app and the libraries it draws with, including those the sections import on first use, then
moves every object alive at that point to the garbage collector's permanent generation (`gc.freeze`). Those
objects (the modules of pandas, HoloViews, Bokeh, Panel and the rest, about 290,000 of them) live as long as the
process, and a full collection no longer walks them: during filter changes on Campaign analytics, full
collections took 0.22–0.34 s before and 0.07–0.12 s after (measured in one process, reference data). A session's
own objects are collected as before, and the full collections wait until the process is idle
(`session.collect_when_idle`).

The collector is off while the imports run: they only add objects that live as long as the process, and each of
the seven full collections they set off walked all of them again (1.1 s of collections, 0.5 s of this script).
"""
import gc
import importlib

gc.disable()   # before the imports below (re-enabled at the end)

import holoviews.plotting.bokeh  # noqa: E402, F401 - the Bokeh backend the first chart would load
import novamart_panel.app  # noqa: E402, F401 - the app and every library it imports
from novamart_panel.session import collect_when_idle  # noqa: E402

# Modules a section imports the first time it is shown: imported here, a process's first user does not wait for
# them on a first switch (about 2 s in all on a slow machine, measured in one process on the reference data).
FIRST_USE_IMPORTS = (
    "matplotlib.figure",   # Panel's pane-type check imports it once HoloViews has imported matplotlib
    "colorcet",   # HoloViews' colour maps (Campaign analytics)
    "markdown_it", "mdit_py_plugins.deflist", "mdit_py_plugins.footnote", "mdit_py_plugins.tasklists",
    "narwhals.stable.v1",   # Panel's Markdown renderer and Tabulator
    "holoviews.operation.datashader",   # the customers scatter above the point threshold (with numba)
    "statsmodels.tsa.statespace.structural",   # Budget's forecast
    "sklearn.model_selection", "scipy.optimize", "scipy.stats",   # Budget's mix model
)

for name in FIRST_USE_IMPORTS:
    try:
        importlib.import_module(name)
    except ImportError:   # an optional library that is not installed: the section does without it
        pass

gc.collect()
gc.freeze()
gc.enable()
collect_when_idle()
