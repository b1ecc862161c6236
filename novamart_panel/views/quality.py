"""Data quality (SPEC §3): does the data folder meet the contract, and what to know before trusting it.

Per-file status, the issue list, empty values, duplicate keys, the campaign file's stored ratios against
a recomputation, out-of-range values and anomalies, all computed from the loaded data
(`data.quality`). The checks cover whole files, so the global filters do not narrow them. They run once
per data folder in the background; until they are done the tab shows the load report and a progress bar.
"""
from __future__ import annotations

import contextlib
from functools import cached_property

import holoviews as hv
import pandas as pd
import panel as pn
import param
from bokeh.models.widgets.tables import NumberFormatter

from ..data import quality
from ..format import count, escape_markdown, number, percent
from .base import BuiltWhenAsked, Section, card, chart, house_opts, insight, markdown, section_header

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

    z_threshold = param.Number(default=5.0, bounds=(quality.CANDIDATE_FLOOR, 10.0), step=0.5,
                               doc="Robust z-score above which a campaign value counts as an anomaly")
    poll_period = 500  # ms between progress updates while the checks run

    def __init__(self, **params):
        super().__init__(**params)
        self.checks = quality.start(self.store)   # off the request path: a background thread

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

    # -- views ----------------------------------------------------------------------------------
    def progress_message(self) -> str:
        """What the checks are doing, for the placeholder shown until they are done."""
        job = self.checks
        if job.state == "failed":
            return (f"The data-quality checks could not be computed ({escape_markdown(job.error or 'unknown error')}); "
                    "the load report above is complete.")
        rows = sum(r.rows for r in self.store.report.files.values())
        step = f"step {min(job.done + 1, len(job.STEPS))} of {len(job.STEPS)}: {job.step or job.STEPS[0]}"
        return (f"Computing the data-quality checks over {count(rows)} rows ({step}). They run once per data "
                "folder and are kept for later starts; this part of the tab fills in when they are done.")

    def layout(self) -> pn.viewable.Viewable:
        return pn.Column(
            section_header(self, "Does the data folder meet the contract, and what should you know before "
                                 "trusting its numbers? The checks cover whole files; the download is the "
                                 "issue list."),
            card("Files", insight(self.insight_verdict()), self._table(self.file_summary(), pagination=None)),
            card("Issues found while loading (filter by any column)",
                       self._table(self.issue_list(), header_filters=ISSUE_FILTERS, page_size=15, layout="fit_columns",
                                   widths={"severity": 90, "file": 210, "column": 150, "row": 80, "check": 100},
                                   formatters={"message": {"type": "textarea"}})),
            self.later(BuiltWhenAsked(self.checks_view)),   # below the first screen: built after it is sent
            sizing_mode="stretch_width",
        )

    def checks_view(self, served: bool | None = None) -> pn.Column:
        """The check cards; while the checks run in a served session, a progress bar that becomes them.

        Outside a server (a notebook, a test) there is no periodic callback to swap them in, so this waits.
        """
        holder = pn.Column(sizing_mode="stretch_width")
        served = bool(pn.state.curdoc and pn.state.curdoc.session_context) if served is None else served
        if not served and not self.checks.ready:
            with contextlib.suppress(RuntimeError):   # a failure is shown by the placeholder
                self.checks.wait()
        if self.checks.ready:
            holder.objects = self.check_cards()
            return holder
        bar = pn.indicators.Progress(value=round(self.checks.progress * 100), max=100, bar_color="info",
                                     sizing_mode="stretch_width")
        message = markdown(self.progress_message())
        holder.objects = [card("Data-quality checks", message, bar)]
        if not served:
            return holder

        def poll():
            if self.checks.ready and not self.active:
                return   # the cards are drawn when the tab is shown: tables need a visible page to start
            if self.checks.ready:
                holder.objects = self.check_cards()
            elif self.checks.state != "failed":
                bar.value, message.object = round(self.checks.progress * 100), self.progress_message()
                return
            else:
                message.object, bar.visible = self.progress_message(), False
            callback.stop()

        callback = pn.state.add_periodic_callback(poll, period=self.poll_period)
        return holder

    def check_cards(self) -> list:
        """One card per check (the checks must be ready)."""
        decimals = NumberFormatter(format="0,0.000")
        threshold = pn.widgets.FloatSlider.from_param(self.param.z_threshold, name="Anomaly threshold (|z|)",
                                                      width=260)
        return [
            card("Empty values", insight(self.insight_nulls()),
                       self._table(self.columns_with_nulls(), formatters={"share": NumberFormatter(format="0.00%")})),
            card("Duplicate keys", insight(self.insight_duplicates()), self._table(self.duplicates())),
            card("Campaign file: stored ratios and calendar columns against a recomputation",
                       insight(self.insight_reconciliation()),
                       self._table(self.reconciliation(), pagination=None, formatters={"max_difference": decimals}),
                       markdown("**Rows that differ by more than rounding** (first 10)"),
                       self._table(self.reconciliation_examples(),
                                   formatters={c: decimals for c in ("stored", "recomputed", "difference")})),
            card("Values outside the contract's ranges", insight(self.insight_ranges()),
                       self._table(self.out_of_range())),
            card("Anomalies: campaign values far from their campaign's median", threshold,
                       chart(self.plot_anomalies, height=360), insight(self.insight_anomalies),
                       self._table(self.anomaly_examples)),
        ]


    @staticmethod
    def _table(frame, **options) -> pn.widgets.Tabulator:
        defaults = dict(show_index=False, disabled=True, sizing_mode="stretch_width",
                        layout="fit_data_stretch", pagination="local", page_size=10)
        return pn.widgets.Tabulator(frame, **{**defaults, **options})
