"""Benchmark of the budget, forecast & mix section (run by hand, never by the test suite).

    python benchmarks/mmm_benchmark.py                    # packaged data and 1M campaign rows
    python benchmarks/mmm_benchmark.py --rows 0 --repeat 5

Measures, on the packaged data and on a campaign file of about --rows rows (the packaged file replicated
with new campaign ids into a temporary folder; its other files copied):
- load: the DuckDB store opening the folder (typed load + validation);
- aggregate: DuckDB summing the campaign rows per day and channel (what the model is fitted on);
- fit: the marketing-mix model (hyperparameter search under rolling-origin CV, bootstrap intervals);
- mediation, forecast + backtest: the section's other fits;
- optimizer: one optimizer run on the fitted curves (a new budget each time);
- scenario: a scenario slider change in the view-model (new allocation → predicted revenue table);
and prints a Markdown table of medians. The machine is shared (2 cores): read differences below ~20 % as noise.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from novamart_panel.analytics.forecast import backtest, forecast_series  # noqa: E402
from novamart_panel.analytics.mediation import mediation_analysis  # noqa: E402
from novamart_panel.analytics.mmm import festival_controls, fit_mmm  # noqa: E402
from novamart_panel.data.budget_queries import OUTCOMES, mix_frame  # noqa: E402
from novamart_panel.data.queries import FilterState  # noqa: E402
from novamart_panel.data.store import PACKAGED_DATA, DataStore  # noqa: E402

CAMPAIGNS = "campaign_performance.csv"


def timed(fn, repeat: int) -> tuple[float, object]:
    """Median seconds of `repeat` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def replicated(folder: Path, rows: int) -> Path:
    """`folder` with its campaign file repeated (new campaign ids per copy) to at least `rows` rows."""
    import duckdb

    copies = -(-rows // sum(1 for _ in open(PACKAGED_DATA / CAMPAIGNS, encoding="utf-8")))
    for path in PACKAGED_DATA.glob("*.csv"):
        if path.name != CAMPAIGNS:
            shutil.copy(path, folder / path.name)
    with duckdb.connect() as con:
        # Same columns and formats; campaign ids CMP_<copy><original number> keep every (campaign, day) unique.
        con.execute(
            "COPY (SELECT * REPLACE ('CMP_' || lpad(c.i::VARCHAR, 4, '0') || substr(campaign_id, 5) AS campaign_id) "
            "FROM read_csv(?, header = true, all_varchar = true) AS r, range(?) AS c(i) ORDER BY c.i, r.date) "
            "TO '" + str(folder / CAMPAIGNS).replace("'", "''") + "' (HEADER true)",
            [str(PACKAGED_DATA / CAMPAIGNS), copies])
    return folder


def measure(folder: Path, label: str, repeat: int) -> dict:
    from novamart_panel.views.budget import BudgetSection
    from novamart_panel.views.filters import Filters

    load, store = timed(lambda: DataStore(folder), 1)
    rows = int(store.scalar("SELECT count(*) FROM campaigns"))
    state = FilterState()
    aggregate, frame = timed(lambda: mix_frame(store, state), repeat)
    channels = [c for c in frame.columns if c not in ("date", *OUTCOMES)]
    festivals = festival_controls(frame["date"])
    data = pd.concat([frame, festivals], axis=1)
    fit, model = timed(lambda: fit_mmm(data, "date", "revenue", channels, controls=list(festivals.columns)), repeat)
    clicks = mix_frame(store, state, by_channel="clicks")
    data["search_clicks"] = clicks["Google Ads"]
    social = [c for c in ("Facebook", "Instagram") if c in model.channels]
    mediation, _ = timed(lambda: mediation_analysis(
        data, "date", social, "search_clicks", "revenue", [c for c in model.channels if c not in social],
        list(festivals.columns)), repeat)
    series = frame.set_index("date")["revenue"]
    forecasting, _ = timed(lambda: (forecast_series(series), backtest(series)), repeat)

    budgets = iter([model.current.sum() * (0.8 + 0.01 * k) for k in range(1000)])
    optimizer, _ = timed(lambda: model.optimize(next(budgets)), max(repeat, 10))

    section = BudgetSection(store=store, filters=Filters(store))
    section.refresh()   # fits in place: no server session here
    levels = iter(range(50, 301, 5))

    def slide():
        """What the page recomputes when a scenario slider moves: the table, the figures and the sentence."""
        section.scenario = {**section.scenario, section.model.channels[0]: next(levels)}
        return section.scenario_display(), section.scenario_figures(), section.insight_scenario()

    scenario, _ = timed(slide, max(repeat, 10))
    return {"data": label, "campaign rows": f"{rows:,}", "periods": len(frame), "load (s)": load,
            "aggregate (s)": aggregate, "fit (s)": fit, "mediation (s)": mediation,
            "forecast + backtest (s)": forecasting, "optimizer (ms)": optimizer * 1000,
            "scenario change (ms)": scenario * 1000}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="campaign rows of the large case (0: skip)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    results = [measure(PACKAGED_DATA, "packaged", args.repeat)]
    if args.rows:
        with tempfile.TemporaryDirectory(prefix="novamart-mmm-") as scratch:
            start = time.perf_counter()
            folder = replicated(Path(scratch), args.rows)
            print(f"wrote {args.rows:,}+ campaign rows in {time.perf_counter() - start:.1f} s", flush=True)
            results.append(measure(folder, "replicated", args.repeat))
    table = pd.DataFrame(results)
    print(table.to_markdown(index=False, floatfmt=".2f") if _has_tabulate() else table.to_string(index=False))
    return 0


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    raise SystemExit(main())
