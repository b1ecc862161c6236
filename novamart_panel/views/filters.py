"""The global filters every section shares: date range, channels, regions, campaign types."""
from __future__ import annotations

import datetime as dt

import panel as pn
import param

from ..data.queries import FilterState, date_bounds, distinct_values
from ..data.store import DataStore
from ..format import escape_html

FILTER_LABELS = {
    "date_range": "Date range",
    "channels": "Channels",
    "regions": "Regions",
    "campaign_types": "Campaign types",
}


class TextMultiChoice(pn.widgets.MultiChoice):
    """A MultiChoice whose option names show as text: Bokeh's Choices.js inserts labels as HTML, so a name
    from the data such as `<img onerror=…>` would otherwise run. Values stay the unescaped names.

    A pick is sent to the server at once: Panel holds every widget change for 50 ms in case more follow
    (typing), which a pick from a list never has.
    """

    _priority_changes = ["value"]

    @property
    def labels(self):
        return [escape_html(label) for label in super().labels]


class Filters(pn.viewable.Viewer):
    """Global filter state. Empty selections mean "all"; option lists come from the loaded data."""

    date_range = param.DateRange(default=None, doc="First and last campaign day included")
    channels = param.ListSelector(default=[], objects=[], doc="Marketing channels (empty = all)")
    regions = param.ListSelector(default=[], objects=[], doc="Regions (empty = all)")
    campaign_types = param.ListSelector(default=[], objects=[], doc="Campaign types (empty = all)")

    def __init__(self, store: DataStore, **params):
        super().__init__()
        # Options and bounds belong to this instance: set on the class they would leak to every other
        # session (and data folder) in the process.
        options = {
            "channels": distinct_values(store, "campaigns", "channel"),
            "campaign_types": distinct_values(store, "campaigns", "campaign_type"),
            "regions": sorted(set(distinct_values(store, "campaigns", "region"))
                              | set(distinct_values(store, "customers", "region"))),
        }
        for name, objects in options.items():
            self.param[name].objects = objects
            # Refuse values the data does not have (e.g. from a URL) instead of querying with them.
            self.param[name].check_on_set = True
        bounds = date_bounds(store)
        if bounds:
            self.param.date_range.bounds = bounds
            params.setdefault("date_range", bounds)
        self.param.update(**params)
        self.full_range = bounds

    @param.depends("date_range", "channels", "regions", "campaign_types")
    def state(self) -> FilterState:
        """The current values as plain, hashable data for the query layer."""
        return filter_state(self.date_range, self.channels, self.regions, self.campaign_types)

    def reset(self, event=None) -> None:
        """Back to everything."""
        self.param.update(date_range=self.full_range, channels=[], regions=[], campaign_types=[])

    def __panel__(self):
        widgets = []
        if self.full_range:
            widgets.append(pn.widgets.DateRangeSlider.from_param(
                self.param.date_range, label=FILTER_LABELS["date_range"], sizing_mode="stretch_width",
                format="%d %b %Y"))
        for name in ("channels", "regions", "campaign_types"):
            label = FILTER_LABELS[name]
            widgets.append(TextMultiChoice.from_param(
                getattr(self.param, name), label=label, placeholder=f"All {label.lower()}",
                sizing_mode="stretch_width"))
        reset = pn.widgets.Button(label="Reset filters", color="light", sizing_mode="stretch_width")
        reset.on_click(self.reset)
        return pn.Column(*widgets, reset, sizing_mode="stretch_width")


def filter_state(date_range, channels, regions, campaign_types) -> FilterState:
    """Filter values (as the params hold them) as a `FilterState`."""
    start, end = date_range or (None, None)
    return FilterState(start=_as_date(start), end=_as_date(end), channels=tuple(channels),
                       regions=tuple(regions), campaign_types=tuple(campaign_types))


def _as_date(value) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    return value
