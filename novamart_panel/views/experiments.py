"""Experiments (SPEC §4.10): A/B test readouts per experiment and a power / sample-size calculator.

The numbers come from `analytics.experiments`; this module only arranges them. ab_test_results.csv has
no dates, channels, regions or campaign types, so the global filters do not apply here.
"""
from __future__ import annotations

import math

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.palettes import Category10_10
from scipy import stats

from ..analytics import experiments as ex
from ..data.contract import AB_TESTS
from ..data.experiment_queries import experiment_names, experiment_rows
from ..format import change, count, escape_markdown, percent, rupees, strong
from .base import (BAD, GOOD, NEUTRAL, Section, chart, csv_download, data_table, markdown, notice, section_header,
                   view_card)

ALL_SEGMENTS = "All segments"
MDE_KINDS = {"Relative (%)": True, "Absolute (pp)": False}
ALPHAS = {"1%": 0.01, "5%": 0.05, "10%": 0.10}
POWERS = {"80%": 0.8, "85%": 0.85, "90%": 0.9, "95%": 0.95}
GRID_POINTS = 400
CURVE_POINTS = 160
REVENUE_NOTE = (f"Revenue per visitor: the file holds revenue totals, not each visitor's revenue, so its interval "
                f"models a visitor's revenue as converted × order value with order values varying by a "
                f"coefficient of variation of {ex.ORDER_VALUE_CV:g} (an assumption, not measured): read it as "
                f"indicative.")
METHOD_NOTE = ("Rates: Wilson 95% intervals. Differences: Newcombe 95% intervals and a pooled two-proportion "
               "z-test; with several variants the p-values are Holm-corrected across all comparisons with the "
               "control. Chance to beat control: exact Beta(1, 1) posteriors. Expected loss: the conversion rate "
               "given up on average if the variant is shipped and is in fact worse.")
FILTER_SENTENCE = ("The experiment file has no dates, channels, regions or campaign types, so the sidebar filters "
                   "do not change anything in this section.")


def _rate_with_interval(rate, low, high) -> str:
    return "n/a" if not np.isfinite(rate) else f"{percent(rate)} ({percent(low)}–{percent(high)})"


def _diff_with_interval(diff, low, high) -> str:
    if not np.isfinite(diff):
        return "n/a"
    interval = ex.interval_text(low, high, diff) if np.isfinite(low) else "n/a"
    return f"{ex.signed_pp(diff, low, high)} pp ({interval})"


def _lift_with_interval(lift, low, high) -> str:
    return "n/a" if not np.isfinite(lift) else f"{change(lift)} ({change(low)} to {change(high)})"


def _signed_rupees(value) -> str:
    return f"{'−' if value < 0 else ''}{rupees(abs(value))}"


def _money_with_interval(diff, low, high) -> str:
    if not np.isfinite(diff):
        return "n/a"
    interval = f"{_signed_rupees(low)} to {_signed_rupees(high)}" if np.isfinite(low) else "n/a"
    return f"{'+' if diff >= 0 else ''}{_signed_rupees(diff)} ({interval})"


def _loss_text(loss) -> str:
    """Expected loss in percentage points; below 0.01 pp it reads as such rather than as 0.00."""
    if not np.isfinite(loss):
        return "n/a"
    return "< 0.01 pp" if loss < 0.00005 else f"{ex.pp_text(loss)[0]} pp"


def label_positions(density: pd.DataFrame) -> pd.DataFrame:
    """Each variant's name at its curve's peak, lifted above a neighbour's label when the peaks sit close."""
    if density.empty:
        return density
    peaks = density.loc[density.groupby("variant", sort=False)["density"].idxmax()].sort_values("rate")
    span = float(density["rate"].max() - density["rate"].min()) or 1.0
    step = 0.08 * float(density["density"].max())
    lifted, previous, level = [], None, 0
    for rate, height in zip(peaks["rate"], peaks["density"], strict=True):
        level = level + 1 if previous is not None and rate - previous < 0.15 * span else 0
        lifted.append(height + level * step)
        previous = rate
    return peaks.assign(density=lifted).reset_index(drop=True)


def _comparison_cells(row) -> dict:
    """Screen text of one readout row's comparison with the control."""
    if row["is_control"]:
        blank = "control"
        return {"Difference (95% CI)": blank, "Lift (95% CI)": blank, "p": blank, "Holm p": blank,
                "Chance to beat control": blank, "Expected loss": blank}
    return {
        "Difference (95% CI)": _diff_with_interval(row["diff"], row["diff_low"], row["diff_high"]),
        "Lift (95% CI)": _lift_with_interval(row["lift"], row["lift_low"], row["lift_high"]),
        "p": ex.p_value_text(row["p_value"]),
        "Holm p": ex.p_value_text(row["p_adjusted"]),
        "Chance to beat control": ex.chance_text(row["prob_beat_control"]),
        "Expected loss": _loss_text(row["expected_loss"]),
    }


class ExperimentSection(Section):
    """Experiments: per-experiment readout (table, forest plot, posteriors, segments, SRM) and a power calculator."""

    title = "Experiments"
    slug = "experiments"
    tables = ("ab_tests",)
    spec_section = "4.10"
    first_screen = 5   # header, experiment choice, split check, the readout and the difference-from-control chart

    experiment = param.Selector(default=None, objects=[], doc="Experiment shown")
    intended_split = param.String(default="", doc="Intended visitor split, e.g. 50/50 (empty = equal)")
    baseline = param.Number(default=3.0, bounds=(0.01, 99.99), doc="Baseline conversion rate (%)")
    mde_kind = param.Selector(default="Relative (%)", objects=list(MDE_KINDS), doc="How the effect is given")
    mde = param.Number(default=10.0, doc="Minimum detectable effect (% of the baseline, or percentage points)")
    alpha = param.Selector(default=0.05, objects=ALPHAS, doc="Significance level α (two-sided)")
    power = param.Selector(default=0.8, objects=POWERS, doc="Power: chance to detect the effect if it is real")
    treatment_share = param.Integer(default=50, bounds=(10, 90), doc="Share of test traffic in the variant (%)")
    daily_traffic = param.Integer(default=5_000, bounds=(1, None), doc="Visitors entering the test per day")

    def __init__(self, **params):
        super().__init__(**params)
        self._readouts: dict[tuple[str, str], ex.ExperimentReadout] = {}
        names = experiment_names(self.store)
        if not names:
            return
        self.param.experiment.objects = names
        self.experiment = names[0]
        control_rate = self._control_rate()
        if len(control_rate) and np.isfinite(control_rate.iloc[0]) and 0 < control_rate.iloc[0] < 1:
            self.baseline = round(float(control_rate.iloc[0]) * 100, 2)

    # -- data ------------------------------------------------------------------------------------
    @param.depends("experiment", "intended_split")
    def readout(self) -> ex.ExperimentReadout:
        """Everything computed about the selected experiment (memoised by experiment and split)."""
        key = (self.experiment, self.intended_split)
        if key not in self._readouts:
            rows = experiment_rows(self.store, self.experiment)
            self._readouts[key] = ex.analyse_experiment(rows, self.experiment or "", split=self.intended_split)
        return self._readouts[key]

    @param.depends("experiment", "intended_split")
    def variant_table(self) -> pd.DataFrame:
        """The readout as the table shows it: one row per variant, numbers as text with their intervals."""
        rows = []
        for _, row in self.readout().variants.iterrows():
            rows.append({
                "Variant": row["variant"], "Visitors": count(row["visitors"]),
                "Conversions": count(row["conversions"]),
                "Rate (95% CI)": _rate_with_interval(row["rate"], row["rate_low"], row["rate_high"]),
                **_comparison_cells(row),
                "Revenue / visitor": rupees(row["rpv"]),
                "RPV difference (approx. 95% CI)": "control" if row["is_control"] else _money_with_interval(
                    row["rpv_diff"], row["rpv_diff_low"], row["rpv_diff_high"]),
                "Note": "" if row["note"] == "control" else row["note"],
            })
        return pd.DataFrame(rows, columns=VARIANT_TABLE_COLUMNS)

    @param.depends("experiment", "intended_split")
    def segment_table(self) -> pd.DataFrame:
        """The readout per segment, Holm-corrected across every segment comparison."""
        segments = self.readout().segments
        rows = []
        for _, row in segments.iterrows():
            cells = _comparison_cells(row)
            rows.append({"Segment": row["segment"], "Variant": row["variant"], "Visitors": count(row["visitors"]),
                         "Rate (95% CI)": _rate_with_interval(row["rate"], row["rate_low"], row["rate_high"]),
                         "Difference (95% CI)": cells["Difference (95% CI)"], "p": cells["p"],
                         "Holm p (all segments)": cells["Holm p"],
                         "Chance to beat control": cells["Chance to beat control"],
                         "Split check p": ex.p_value_text(row["srm_p_value"])})
        return pd.DataFrame(rows, columns=SEGMENT_TABLE_COLUMNS)

    @param.depends("experiment", "intended_split")
    def pairs_table(self) -> pd.DataFrame:
        """Every pair of variants, Holm-corrected across pairs (the tournament)."""
        pairs = self.readout().tournament.pairs
        return pd.DataFrame({
            "Higher": pairs["better"], "Lower": pairs["worse"],
            "Difference": [f"{ex.pp_text(d)[0]} pp" for d in pairs["diff"]],
            "p": [ex.p_value_text(p) for p in pairs["p_value"]],
            "Holm p": [ex.p_value_text(p) for p in pairs["p_adjusted"]],
            "Significant": ["yes" if s else "no" for s in pairs["significant"]],
        }, columns=PAIR_TABLE_COLUMNS)

    @param.depends("experiment", "intended_split")
    def readout_export(self) -> pd.DataFrame:
        """The readout as numbers for the CSV download: all segments first, then each segment."""
        readout = self.readout()
        overall = readout.variants.assign(segment=ALL_SEGMENTS, srm_p_value=readout.srm.p_value)
        frame = pd.concat([overall, readout.segments], ignore_index=True) if len(readout.segments) else overall
        frame.insert(0, "experiment", readout.experiment)
        ordered = ["experiment", "segment", *ex.READOUT_COLUMNS, "srm_p_value"]
        return frame[ordered].rename(columns={"p_adjusted": "p_holm"})

    @param.depends("experiment", "intended_split")
    def forest_frame(self) -> pd.DataFrame:
        """One row per variant × (all segments, each segment): difference from control in pp with its
        interval, and whether it is significant after Holm (`status`)."""
        readout = self.readout()
        parts = [readout.variants.assign(segment=ALL_SEGMENTS)]
        if len(readout.segments) and readout.segments["segment"].nunique() > 1:
            parts.append(readout.segments)
        rows = []
        for part in parts:
            for _, row in part[~part["is_control"]].iterrows():
                if not (np.isfinite(row["diff_low"]) and np.isfinite(row["diff_high"])):
                    continue
                significant = np.isfinite(row["p_adjusted"]) and row["p_adjusted"] < readout.alpha
                status = ("better" if row["diff"] > 0 else "worse") if significant else "not significant"
                rows.append({
                    "label": f"{row['variant']} · {row['segment']}", "diff": row["diff"] * 100,
                    "low": row["diff_low"] * 100, "high": row["diff_high"] * 100, "status": status,
                    "diff_text": f"{ex.signed_pp(row['diff'], row['diff_low'], row['diff_high'])} pp",
                    "interval_text": ex.interval_text(row["diff_low"], row["diff_high"], row["diff"]),
                    "p_text": ex.p_value_text(row["p_adjusted"]),
                })
        frame = pd.DataFrame(rows, columns=FOREST_COLUMNS)
        frame["neg"] = frame["diff"] - frame["low"]
        frame["pos"] = frame["high"] - frame["diff"]
        return frame.iloc[::-1].reset_index(drop=True)   # the first row at the top of the inverted axis

    @param.depends("experiment", "intended_split")
    def posterior_frame(self) -> pd.DataFrame:
        """Beta posterior density of each variant's conversion rate on one grid (long format)."""
        variants = self.readout().variants
        usable = variants[variants["rate"].notna()]
        if usable.empty:
            return pd.DataFrame(columns=["variant", "rate", "density"])
        params = [ex.posterior(c, n) for c, n in zip(usable["conversions"], usable["visitors"], strict=True)]
        low = min(stats.beta.ppf(0.0005, a, b) for a, b in params)
        high = max(stats.beta.ppf(0.9995, a, b) for a, b in params)
        grid = np.linspace(low, high, GRID_POINTS)
        parts = [pd.DataFrame({"variant": name, "rate": grid * 100, "density": stats.beta.pdf(grid, a, b) / 100})
                 for name, (a, b) in zip(usable["variant"], params, strict=True)]
        return pd.concat(parts, ignore_index=True)

    def _control_rate(self) -> pd.Series:
        """The selected experiment's control conversion rate (empty without a control)."""
        variants = self.readout().variants
        return variants.loc[variants["is_control"], "rate"]

    def _colours(self) -> dict[str, str]:
        """One colour per variant, the control always the first (blue) wherever the file lists it."""
        variants = self.readout().variants
        names = list(variants.loc[variants["is_control"], "variant"]) + list(
            variants.loc[~variants["is_control"], "variant"])
        return dict(zip(names, Category10_10 * (len(names) // 10 + 1), strict=False))

    # -- power calculator ------------------------------------------------------------------------
    @param.depends("baseline", "mde_kind", "mde", "alpha", "power", "treatment_share", "daily_traffic")
    def power_plan(self) -> dict:
        """Visitors per arm and days for the calculator's inputs; `error` says why there is no answer."""
        relative = MDE_KINDS[self.mde_kind]
        baseline = self.baseline / 100
        mde = self.mde / 100
        ratio = self.treatment_share / (100 - self.treatment_share)
        plan = {"baseline": baseline, "treatment": ex.treatment_rate(baseline, mde, relative), "ratio": ratio,
                "control": math.nan, "variant": math.nan, "days": math.nan, "error": ""}
        try:
            control = ex.sample_size(baseline, mde, self.alpha, self.power, relative=relative, ratio=ratio)
            plan["days"] = ex.days_needed(control, self.daily_traffic, ratio)
        except ValueError as problem:
            plan["error"] = str(problem)
            return plan
        plan["control"], plan["variant"] = ex.arm_sizes(control, ratio)
        return plan

    @param.depends("baseline", "mde_kind", "mde", "alpha", "power", "treatment_share", "daily_traffic")
    def power_curve_frame(self) -> pd.DataFrame:
        """Power against visitors in the control arm (and days at the daily traffic), up to 2.5× the need."""
        plan = self.power_plan()
        if plan["error"]:
            return pd.DataFrame(columns=CURVE_COLUMNS)
        sizes = np.unique(np.linspace(2, max(2.5 * plan["control"], 20), CURVE_POINTS).round())
        power = ex.power_curve(plan["baseline"], plan["treatment"], sizes, self.alpha, plan["ratio"])
        days = np.ceil((sizes + np.ceil(sizes * plan["ratio"])) / self.daily_traffic)
        return pd.DataFrame({"visitors": sizes, "power": power * 100,
                             "visitors_text": [count(n) for n in sizes],
                             "days_text": [count(d) for d in days],
                             "power_text": [percent(p, 1) for p in power]}, columns=CURVE_COLUMNS)

    # -- charts ----------------------------------------------------------------------------------
    @param.depends("experiment", "intended_split")
    def plot_forest(self) -> hv.Overlay:
        """Difference from control (pp) with 95% intervals, overall and per segment; colour = Holm verdict."""
        frame = self.forest_frame()
        label = hv.Dimension("label", label="Variant · segment")
        diff = hv.Dimension("diff", label="Difference from control (pp)")
        tips = [("Variant · segment", "@{label}"), ("Difference", "@{diff_text}"),
                ("95% CI", "@{interval_text}"), ("Holm p", "@{p_text}")]
        errors = hv.ErrorBars(frame, kdims=[label], vdims=[diff, "neg", "pos"]).opts(
            invert_axes=True, color=NEUTRAL, line_width=2, lower_head=None, upper_head=None)
        points = [
            hv.Scatter(frame[frame["status"] == status], kdims=[label],
                       vdims=[diff, "diff_text", "interval_text", "p_text"], label=name).opts(
                invert_axes=True, color=colour, size=11, tools=["hover"], hover_tooltips=tips)
            for status, name, colour in (("better", "better than control", GOOD),
                                         ("worse", "worse than control", BAD),
                                         ("not significant", "not significant after Holm", NEUTRAL))
        ]
        zero = hv.HLine(0).opts(color="#444444", line_dash="dashed", line_width=1)  # vertical once inverted
        return hv.Overlay([errors, *points, zero]).opts(
            responsive=True, height=380, toolbar="above", legend_position="bottom",
            title=f"{self.experiment}: difference from control", show_legend=True)

    @param.depends("experiment", "intended_split")
    def plot_posteriors(self) -> hv.Overlay:
        """Posterior density of every variant's conversion rate (one path per variant) with name labels."""
        frame = self.posterior_frame()
        colours = self._colours()
        paths = [{"rate": group["rate"].to_numpy(), "density": group["density"].to_numpy(), "variant": name}
                 for name, group in frame.groupby("variant", sort=False)]
        curves = hv.Path(paths, kdims=[hv.Dimension("rate", label="Conversion rate (%)"),
                                       hv.Dimension("density", label="Posterior density")],
                         vdims=["variant"]).opts(
            color="variant", cmap=colours, line_width=2.5, tools=["hover"], colorbar=False,
            hover_tooltips=[("Variant", "@{variant}"), ("Conversion rate", "$x{0.00}%")])
        labels = hv.Labels(label_positions(frame), ["rate", "density"], "variant").opts(
            text_font_size="9pt", text_baseline="bottom", text_color="variant", cmap=colours)
        return hv.Overlay([curves, labels]).opts(
            responsive=True, height=340, toolbar="above", show_legend=False,
            title=f"{self.experiment}: posterior conversion rates")

    @param.depends("baseline", "mde_kind", "mde", "alpha", "power", "treatment_share", "daily_traffic")
    def plot_power_curve(self) -> hv.Overlay:
        """Power against visitors per control arm for the calculator's effect; the dot is the answer."""
        frame = self.power_curve_frame()
        plan = self.power_plan()
        visitors = hv.Dimension("visitors", label="Visitors in the control arm")
        power = hv.Dimension("power", label="Power (%)", range=(0, 100))
        vdims = [power, "visitors_text", "days_text", "power_text"]
        tips = [("Control arm", "@{visitors_text}"), ("Days", "@{days_text}"), ("Power", "@{power_text}")]
        curve = hv.Curve(frame, visitors, vdims).opts(color="#0072B5", line_width=2, tools=["hover"],
                                                      hover_tooltips=tips, hover_mode="vline")
        answer = frame.iloc[0:0] if plan["error"] else pd.DataFrame({
            "visitors": [plan["control"]], "power": [self.power * 100], "visitors_text": [count(plan["control"])],
            "days_text": [count(plan["days"])], "power_text": [percent(self.power, 0)]})
        dot = hv.Scatter(answer, visitors, vdims).opts(color=BAD, size=10, tools=["hover"], hover_tooltips=tips)
        target = hv.HLine(self.power * 100).opts(color=NEUTRAL, line_dash="dotted", line_width=1)
        title = ("Power curve: no design (see the note)" if plan["error"] else
                 f"Power to detect {percent(plan['baseline'])} → {percent(plan['treatment'])}: "
                 f"{count(plan['control'])} visitors in the control arm")
        return hv.Overlay([curve, dot, target]).opts(responsive=True, height=340, toolbar="above",
                                                     ylim=(0, 102), title=title)

    def chart_objects(self) -> list:
        return [self.plot_forest(), self.plot_posteriors(), self.plot_power_curve()]

    # -- insights --------------------------------------------------------------------------------
    @param.depends("experiment", "intended_split")
    def insight_readout(self) -> str:
        readout = self.readout()
        parts = [ex.verdict(readout), ex.control_sentence(readout),
                 ex.tournament_sentence(readout)]
        if readout.variants["revenue"].notna().any():
            parts.append(REVENUE_NOTE)
        parts.append(f"*{METHOD_NOTE}*")
        return "\n\n".join(p for p in parts if p)

    @param.depends("experiment", "intended_split")
    def insight_forest(self) -> str:
        frame = self.forest_frame()
        readout = self.readout()
        if frame.empty:
            return "No variant has a difference from the control that can be computed (see the notes in the table)."
        overall = frame[frame["label"].str.endswith(f" · {ALL_SEGMENTS}")]
        counts = frame["status"].value_counts()
        segment_rows = len(frame) - len(overall)
        text = (f"{len(frame)} interval{'s' if len(frame) != 1 else ''} ({len(overall)} over all segments"
                f"{f', {segment_rows} by segment' if segment_rows else ''}): "
                f"{counts.get('better', 0)} significantly above zero and {counts.get('worse', 0)} below it after "
                f"Holm correction (α = {percent(readout.alpha, 0)}); the rest cross the dashed line at zero.")
        widest = frame.loc[(frame["high"] - frame["low"]).idxmax()]
        return (text + f" The widest, {escape_markdown(widest['label'])} ({widest['interval_text']}), "
                f"has the fewest visitors behind it.")

    @param.depends("experiment", "intended_split")
    def insight_posteriors(self) -> str:
        readout = self.readout()
        challengers = readout.variants[~readout.variants["is_control"] & readout.variants["prob_beat_control"].notna()]
        if challengers.empty:
            return "There is no variant to set against the control, so there is no chance to beat it to report."
        lines = [f"{strong(r['variant'])} beats {escape_markdown(readout.control)} with probability "
                 f"{ex.chance_text(r['prob_beat_control'])}; shipping it gives up on average "
                 f"{_loss_text(r['expected_loss'])} of conversion (the risk if it is in fact worse)."
                 for _, r in challengers.iterrows()]
        return " ".join(lines) + (" Narrow, separate curves mean the data tell the variants apart; overlapping "
                                  "curves mean they do not.")

    @param.depends("experiment", "intended_split")
    def insight_segments(self) -> str:
        readout = self.readout()
        text = ex.segment_note(readout)
        segments = readout.segments
        if len(segments):
            skewed = segments.drop_duplicates("segment")
            skewed = skewed[skewed["srm_p_value"] < ex.SRM_ALPHA]
            if len(skewed):
                names = ", ".join(escape_markdown(s) for s in skewed["segment"])
                text += (f" **Visitor split mismatch within {names}** (p < {ex.SRM_ALPHA}): treat "
                         f"{'that segment' if len(skewed) == 1 else 'those segments'} with suspicion.")
        return text

    @param.depends("experiment", "intended_split")
    def insight_pairs(self) -> str:
        text = ex.tournament_sentence(self.readout())
        return text or ("With two variants the tournament is the single comparison with the control shown above.")

    @param.depends("experiment", "intended_split")
    def srm_text(self) -> str:
        return ex.srm_sentence(self.readout())

    @param.depends("experiment", "intended_split")
    def srm_kind(self) -> str:
        srm = self.readout().srm
        return "danger" if srm.mismatch else "success" if np.isfinite(srm.p_value) else "secondary"

    @param.depends("baseline", "mde_kind", "mde", "alpha", "power", "treatment_share", "daily_traffic",
                   "experiment")
    def insight_power(self) -> str:
        plan = self.power_plan()
        if plan["error"]:
            return f"No sample size: {plan['error']}."
        text = (f"To detect {percent(plan['baseline'])} → {percent(plan['treatment'])} "
                f"({ex.signed_pp(plan['treatment'] - plan['baseline'])} pp) with {percent(self.power, 0)} power at "
                f"α = {percent(self.alpha, 0)} (two-sided), you need "
                + ex.sample_size_sentence(plan["control"], plan["ratio"], self.daily_traffic))
        readout = self.readout()
        base = readout.variants[readout.variants["is_control"]]
        others = readout.variants[~readout.variants["is_control"] & readout.variants["visitors"].gt(1)]
        if len(base) and len(others) and base["visitors"].iloc[0] > 1:
            achieved = ex.achieved_power(plan["baseline"], plan["treatment"], float(base["visitors"].iloc[0]),
                                         float(others["visitors"].min()), self.alpha)
            text += (f" {escape_markdown(readout.experiment)}, with {count(base['visitors'].iloc[0])} visitors in "
                     f"its control, had {'> 99%' if achieved > 0.995 else percent(achieved, 0)} power for this "
                     f"effect.")
        return text + (" Sample sizes use Cohen's h (arcsine) and statsmodels' normal power; with several "
                       "variants, lower α (e.g. Bonferroni) before planning.")

    def use_experiment_baseline(self, event=None) -> None:
        """Set the calculator's baseline to the selected experiment's control rate."""
        rate = self._control_rate()
        if len(rate) and np.isfinite(rate.iloc[0]) and 0 < rate.iloc[0] < 1:
            self.baseline = round(float(rate.iloc[0]) * 100, 2)

    # -- page ------------------------------------------------------------------------------------
    def export_frame(self) -> pd.DataFrame:
        """Every row of ab_test_results.csv the section reads."""
        return experiment_rows(self.store)

    def __panel__(self):
        if self._layout is None and self.missing_tables:
            self._layout = notice(
                f"{escape_markdown(self.missing_message('ab_tests'))} The file holds one row per experiment × variant × "
                f"segment with the columns {', '.join(AB_TESTS.headers)}; the variant named “control” (in any "
                f"case) is the control, otherwise the first variant listed.", kind="warning")
        return super().__panel__()

    def layout(self) -> pn.viewable.Viewable:
        if not self.param.experiment.objects:
            return notice(f"{AB_TESTS.filename} has no row with both an experiment and a variant name, so there "
                          f"is nothing to read out.", kind="warning")

        def table(frame_fn, widths: dict[str, int]):
            # Tabulator's "textarea" cells wrap (and escape their text), so an estimate and its interval fit
            # the card without a horizontal scroll.
            return data_table(frame_fn, show_index=False, disabled=True, layout="fit_columns",
                              sizing_mode="stretch_width", configuration={"columnDefaults": {
                                  "headerSort": False, "headerWordWrap": True}},
                              formatters={c: {"type": "textarea"} for c in widths},
                              widths={c: f"{w}%" for c, w in widths.items()}, stylesheets=[TABLE_CSS])

        selector = pn.Row(
            pn.Column(self.widget("experiment", name="Experiment"), width=340),
            pn.Column(self.widget("intended_split", pn.widgets.TextInput,
                             name="Intended split (e.g. 50/50; empty = equal)"), width=340),
            sizing_mode="stretch_width")
        srm_banner = markdown(self.srm_text, pane=pn.pane.Alert, alert_type=self.srm_kind, css_classes=["srm-banner"])
        use_baseline = pn.widgets.Button(label="Use this experiment's control rate", color="light",
                                         sizing_mode="stretch_width")
        use_baseline.on_click(self.use_experiment_baseline)
        power_controls = [
            self.widget("baseline", pn.widgets.FloatInput, name="Baseline conversion rate (%)", step=0.1),
            use_baseline,
            self.widget("mde_kind", pn.widgets.RadioButtonGroup, name="Effect given as"),
            self.widget("mde", pn.widgets.FloatInput, name="Minimum detectable effect", step=0.5),
            self.widget("alpha", name="Significance level α"), self.widget("power", name="Power"),
            self.widget("treatment_share", pn.widgets.IntSlider, name="Traffic to the variant (%)"),
            self.widget("daily_traffic", pn.widgets.IntInput, name="Visitors per day entering the test", step=500),
        ]
        views = [
            ("1. Readout by variant",
             [csv_download(self.readout_export, "novamart_experiment_readout.csv", "Download readout (CSV)")],
             table(self.variant_table, VARIANT_TABLE_WIDTHS), self.insight_readout, True),
            ("2. Difference from control, overall and by segment", [], chart(self.plot_forest),
             self.insight_forest),
            ("3. Posterior conversion rates", [], chart(self.plot_posteriors), self.insight_posteriors),
            ("4. By segment", [], table(self.segment_table, SEGMENT_TABLE_WIDTHS), self.insight_segments, True),
            ("5. Every pair of variants (tournament)", [], table(self.pairs_table, PAIR_TABLE_WIDTHS),
             self.insight_pairs, True),
            ("6. Power and sample size for the next test", power_controls, chart(self.plot_power_curve),
             self.insight_power),
        ]
        description = ("Did a test work, how sure are we, for whom, and how long must the next one run? "
                       + FILTER_SENTENCE)
        return pn.Column(section_header(self, description), selector, srm_banner,
                         *[view_card(*view) for view in views], sizing_mode="stretch_width")


TABLE_CSS = ":host .tabulator { font-size: 0.9em; }"
# column → share of the table's width (%): intervals get room, single numbers little.
VARIANT_TABLE_WIDTHS = {"Variant": 9, "Visitors": 6, "Conversions": 8, "Rate (95% CI)": 10,
                        "Difference (95% CI)": 11, "Lift (95% CI)": 11, "p": 5, "Holm p": 5,
                        "Chance to beat control": 7, "Expected loss": 7, "Revenue / visitor": 7,
                        "RPV difference (approx. 95% CI)": 10, "Note": 4}
SEGMENT_TABLE_WIDTHS = {"Segment": 10, "Variant": 12, "Visitors": 9, "Rate (95% CI)": 14,
                        "Difference (95% CI)": 16, "p": 8, "Holm p (all segments)": 10, "Chance to beat control": 11,
                        "Split check p": 10}
VARIANT_TABLE_COLUMNS = list(VARIANT_TABLE_WIDTHS)
SEGMENT_TABLE_COLUMNS = list(SEGMENT_TABLE_WIDTHS)
PAIR_TABLE_WIDTHS = {"Higher": 22, "Lower": 22, "Difference": 14, "p": 14, "Holm p": 14, "Significant": 14}
PAIR_TABLE_COLUMNS = list(PAIR_TABLE_WIDTHS)
FOREST_COLUMNS = ["label", "diff", "low", "high", "status", "diff_text", "interval_text", "p_text"]
CURVE_COLUMNS = ["visitors", "power", "visitors_text", "days_text", "power_text"]
