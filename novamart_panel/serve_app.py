"""Entry script for `panel serve`: builds a fresh App for each session and marks it servable.

`panel serve novamart_panel/serve_app.py` (or `novamart-panel serve`) runs it; the data folder comes
from `NOVAMART_DATA` or `--args --data DIR`.
"""
import sys

from novamart_panel.app import App, extension

_data = None
if "--data" in sys.argv:
    _data = sys.argv[sys.argv.index("--data") + 1]

extension()
App(_data).servable()
