"""Data quality (SPEC §3): does the data folder meet the contract, and what to know before trusting it.

Per-file status, the issue list, empty values, duplicate keys, the campaign file's stored ratios against
a recomputation, out-of-range values and anomalies, all computed from the loaded data
(`data.quality`). The checks cover whole files, so the global filters do not narrow them.
"""
from __future__ import annotations

from functools import cached_property

import holoviews as hv
import pandas as pd
import panel as pn
import param
from bokeh.models.widgets.tables import NumberFormatter

from ..data import quality
from ..format import count, number, percent
from .base import Section, chart, house_opts, insight, section_header

BAR_COLOUR = "#e45756"
ISSUE_FILTERS = {
    "severity": {"type": "list", "valuesLookup": True},
    "file": {"type": "list", "valuesLookup": True},
    "column": {"type": "input", "func": "like", "placeholder": "column"},
    "row": {"type": "number", "placeholder": "row"},
    "message": {"type": "input", "func": "like", "placeholder": "contains"},
    "check": {"type": "list", "valuesLookup": True},
}


class QualitySection(Section):
    """The validation report of the loaded folder and data-quality checks computed from the data."""

    title = "Data quality"
    slug = "quality"
    tables = ()
    spec_section = "3"

    z_threshold = param.Number(default=5.0, bounds=(3.0, 10.0), step=0.5,
                               doc="Robust z-score above which a campaign value counts as an anomaly")

    # -- data: the store never changes under a section, so each check runs once ------------------
    def file_summary(self) -> pd.DataFrame:
        """One row per contract file: kind, status, rows, errors, warnings."""
        return self.store.report.summary_frame()

    def issue_list(self) -> pd.DataFrame:
        """Every problem the loader found: severity, file, column, row, message, check."""
        return self.store.report.to_frame()

    @cached_property
    def _nulls(self) -> pd.DataFrame:
        return quality.null_counts(self.store)

    def columns_with_nulls(self) -> pd.DataFrame:
        """Only the columns that have empty values, most first."""
        found = self._nulls[self._nulls["nulls"] > 0]
        return found.sort_values(["allowed", "nulls"], ascending=[True, False], ignore_index=True)

    @cached_property
    def _duplicates(self) -> pd.DataFrame:
        return quality.duplicate_keys(self.store)

    def duplicates(self) -> pd.DataFrame:
        """Duplicated key values per keyed file."""
        return self._duplicates

    @cached_property
    def _reconciliation(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        return (quality.reconciliation(self.store), quality.reconciliation_examples(self.store),
                quality.zero_spend_rows(self.store))

    def reconciliation(self) -> pd.DataFrame:
        """The campaign file's stored ratios and calendar columns against their recomputation."""
        return self._reconciliation[0]

    def reconciliation_examples(self) -> pd.DataFrame:
        """The first rows whose stored ratio differs from the recomputation by more than rounding."""
        found = self._reconciliation[1]
        return found.assign(date=pd.to_datetime(found["date"]).dt.date)

    @cached_property
    def _ranges(self) -> pd.DataFrame:
        return quality.out_of_range(self.store)

    def out_of_range(self) -> pd.DataFrame:
        """Columns with values outside their contract range or set of values."""
        return self._ranges[self._ranges["outside"] > 0].reset_index(drop=True)

    @param.depends("z_threshold")
    def anomalies(self) -> pd.DataFrame:
        """Per campaign metric: values more than `z_threshold` robust z-scores from their campaign's median."""
        return quality.anomalies(self.store, self.z_threshold)

    @param.depends("z_threshold")
    def anomaly_examples(self) -> pd.DataFrame:
        """The furthest such values, largest |z| first, formatted in their units."""
        found = quality.anomaly_examples(self.store, self.z_threshold, limit=20)
        return pd.DataFrame({
            "row": found["row"],
            "campaign_id": found["campaign_id"],
            "date": pd.to_datetime(found["date"]).dt.date,
            "metric": found["metric"].map(quality.METRIC_LABELS),
            "value": [quality.format_campaign_value(m, v) for m, v in zip(found["metric"], found["value"])],
            "campaign median": [quality.format_campaign_value(m, v)
                                for m, v in zip(found["metric"], found["campaign_median"])],
            "robust z": found["robust_z"].round(1),
        })

    def export_frame(self) -> pd.DataFrame:
        """The issue list, for the download button."""
        return self.issue_list()

    # -- sentences ------------------------------------------------------------------------------
    def insight_verdict(self) -> str:
        return quality.verdict(self.store.report)

    def insight_nulls(self) -> str:
        return quality.nulls_sentence(self._nulls)

    def insight_duplicates(self) -> str:
        return quality.duplicates_sentence(self._duplicates)

    def insight_reconciliation(self) -> str:
        recon, _, zero_spend = self._reconciliation
        return quality.reconciliation_sentence(recon, zero_spend)

    def insight_ranges(self) -> str:
        return quality.range_sentence(self._ranges)

    @param.depends("z_threshold")
    def insight_anomalies(self) -> str:
        return quality.anomaly_sentence(self.anomalies(), quality.anomaly_examples(self.store, self.z_threshold, 1),
                                        self.z_threshold)

    # -- views ----------------------------------------------------------------------------------
    @param.depends("z_threshold")
    def plot_anomalies(self) -> hv.Bars:
        found = self.anomalies()
        shown = found.assign(label=found["metric"].map(quality.METRIC_LABELS),
                             scored_text=found["scored"].map(count), share_text=found["share"].map(percent),
                             max_text=found["max_abs_z"].map(lambda v: number(v, 1)))
        bars = hv.Bars(shown, hv.Dimension("label", label="Metric"),
                       [hv.Dimension("anomalies", label="Anomalies"), "scored_text", "share_text", "max_text"])
        return house_opts(bars, color=BAR_COLOUR, xlabel="", ylabel="Values flagged", xrotation=30,
                          title=f"Campaign values beyond |z| = {self.z_threshold:g}, per metric", height=340,
                          hover_tooltips=[("Metric", "@label"), ("Flagged", "@anomalies"),
                                          ("Scored rows", "@scored_text"), ("Share", "@share_text"),
                                          ("Largest |z|", "@max_text")])

    def layout(self) -> pn.viewable.Viewable:
        def card(title, *objects):
            return pn.Card(*objects, title=title, collapsible=False, sizing_mode="stretch_width")

        def table(frame, **options):
            defaults = dict(show_index=False, disabled=True, sizing_mode="stretch_width",
                            layout="fit_data_stretch", pagination="local", page_size=10)
            return pn.widgets.Tabulator(frame, **{**defaults, **options})

        decimals = NumberFormatter(format="0,0.000")
        threshold = pn.widgets.FloatSlider.from_param(self.param.z_threshold, name="Anomaly threshold (|z|)",
                                                      width=260)
        return pn.Column(
            section_header(self, "Does the data folder meet the contract, and what should you know before "
                                 "trusting its numbers? The checks cover whole files; the download is the "
                                 "issue list."),
            card("Files", insight(self.insight_verdict()), table(self.file_summary(), pagination=None)),
            card("Issues found while loading (filter by any column)",
                 table(self.issue_list(), header_filters=ISSUE_FILTERS, page_size=15, layout="fit_columns",
                       widths={"severity": 90, "file": 210, "column": 150, "row": 80, "check": 100},
                       formatters={"message": {"type": "textarea"}})),
            card("Empty values", insight(self.insight_nulls()),
                 table(self.columns_with_nulls(), formatters={"share": NumberFormatter(format="0.00%")})),
            card("Duplicate keys", insight(self.insight_duplicates()), table(self.duplicates())),
            card("Campaign file: stored ratios and calendar columns against a recomputation",
                 insight(self.insight_reconciliation()),
                 table(self.reconciliation(), pagination=None, formatters={"max_difference": decimals}),
                 pn.pane.Markdown("**Rows that differ by more than rounding** (first 10)"),
                 table(self.reconciliation_examples(),
                       formatters={c: decimals for c in ("stored", "recomputed", "difference")})),
            card("Values outside the contract's ranges", insight(self.insight_ranges()),
                 table(self.out_of_range())),
            card("Anomalies: campaign values far from their campaign's median", threshold,
                 chart(self.plot_anomalies, height=360), insight(self.insight_anomalies),
                 table(self.anomaly_examples)),
            sizing_mode="stretch_width",
        )
