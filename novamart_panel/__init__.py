"""NovaMart marketing analytics on the HoloViz stack.

`import novamart_panel as nm; nm.App()` displays the app in a notebook. Importing the package has no
side effects: the Panel app and its dependencies load on first use of `App`.
"""
__version__ = "0.1.0"
__all__ = ["App", "DataStore", "__version__"]


def __getattr__(name):
    if name == "App":
        from .app import App

        return App
    if name == "DataStore":
        from .data.store import DataStore

        return DataStore
    raise AttributeError(f"module 'novamart_panel' has no attribute {name!r}")
