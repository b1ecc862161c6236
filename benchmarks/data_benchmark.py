"""Data-layer benchmark (run by hand, never by the test suite): the DuckDB side of SPEC §5 at scale.

    python benchmarks/data_benchmark.py                                   # 10M campaign rows, 1M customers
    python benchmarks/data_benchmark.py --campaign-rows 1_000_000 --customers 100_000 --orders 1_000_000
    python benchmarks/data_benchmark.py --folder ../shared/reference-data/novamart   # any folder, no generation
    python benchmarks/data_benchmark.py --remove-data                     # delete the generated files afterwards

It generates the data once into benchmarks/data/ (git-ignored) and says how long that took, then measures,
each phase in a fresh Python process with its own empty cache folder (benchmarks/data/cache-*):

- first start: `DataStore(folder)` with an empty cache (CSV load, validation, rollups, the cache file);
- second start: the same in a new process (it attaches the cache file);
- filter change: the raw DuckDB time of the campaign queries the Executive overview and Campaign analytics
  tabs run when the channel filter changes (memo cleared before each change, so every query runs),
  median and p95 over several filter states and repeats, from the rollups and, beside it, from the raw
  table; and the same change again (answered by the memo);
- data-quality checks: computing them (the background job) and reading their results once computed;
- the resident memory (RSS) of each process.

The machine these numbers come from is shared (2 cores): read differences below ~20 % as noise.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = HERE / "data"

# -- phases, each run in its own process (`python data_benchmark.py --phase NAME FOLDER`) ---------------


def _rss_mb() -> dict:
    import resource

    current = None
    try:
        with open("/proc/self/status") as status:
            current = next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        pass
    return {"rss_mb": current, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}


def phase_open(folder: str) -> dict:
    """Open the folder (building or attaching the cache) and report how long it took."""
    start = time.perf_counter()
    from novamart_panel.data.store import DataStore
    imported = time.perf_counter()
    store = DataStore(folder)
    opened = time.perf_counter()
    rows = {table: report.rows for table, report in store.report.files.items()}
    return {"open_s": opened - imported, "with_imports_s": opened - start, "built_here": store.built_here,
            "rows": rows, "errors": len(store.report.errors), "cache_mb": (store.cache_file.stat().st_size // 2**20
                                                                            if store.cache_file else None), **_rss_mb()}


def filter_change_queries(store, state) -> None:
    """The campaign queries the overview and campaign tabs run after a filter change."""
    import datetime as dt
    from dataclasses import replace

    from novamart_panel.data import queries as q

    previous = state.previous_period()
    q.campaign_totals(store, state)                                         # KPI cards, this period
    q.campaign_totals(store, previous)                                      # … and the previous one
    store.scalar("SELECT count(*) FROM customers")                          # customers card
    q.campaign_sums_by(store, state, "channel")                             # channel bars and table
    q.campaign_sums_by(store, previous, "channel")                          # channel change
    q.campaign_sums_over_time(store, state, "daily", "channel")             # daily metrics per channel
    q.campaign_sums_over_time(store, state, "daily")                        # alerts, calendar
    q.revenue_trend(store, state)                                           # revenue trend
    year = state.end.year
    q.campaign_sums_by(store, replace(state, start=dt.date(year, 1, 1), end=dt.date(year, 12, 31)),
                       "quarter", "region")                                # region × quarter bars
    q.campaign_sums_over_time(store, state, "monthly", "campaign_type")     # spend by type
    q.campaign_sums_over_time(store, state, "weekly")                       # revenue trend (campaign tab)
    q.campaign_sums_over_time(store, state, "monthly", "channel")           # ROAS trend by channel
    q.campaign_sums_by(store, state, "campaign_id", "campaign_name", "channel")  # leaderboard


def phase_filters(folder: str, repeat: int) -> dict:
    """Filter changes from the rollups and from the raw table (memo cleared), then from the memo."""
    import datetime as dt

    from novamart_panel.data.queries import FilterState, date_bounds, distinct_values
    from novamart_panel.data.store import DataStore

    store = DataStore(folder)
    lo, hi = date_bounds(store)
    channels = distinct_values(store, "campaigns", "channel")
    last_90 = (hi - dt.timedelta(days=89), hi)
    states = [FilterState(start=lo, end=hi, channels=(c,)) for c in channels[:4]]
    states += [FilterState(start=lo, end=hi, channels=tuple(channels[:3])),
               FilterState(start=last_90[0], end=hi, channels=(channels[0],)),
               FilterState(start=dt.date(hi.year, 3, 17), end=dt.date(hi.year, 10, 9), channels=tuple(channels[1:3]),
                           regions=("West", "South"))]

    def changes(clear: bool) -> list[float]:
        times = []
        for _ in range(repeat):
            for state in states:
                if clear:
                    store._memo.clear()
                start = time.perf_counter()
                filter_change_queries(store, state)
                times.append(time.perf_counter() - start)
        return times

    changes(True)                      # warm DuckDB's buffer pool, as a running server has it
    rollup = changes(True)
    memo = changes(False)
    built = store._built
    store._built = set()               # the same queries over the raw campaign table
    raw = changes(True)[: len(states) * max(1, repeat // 3)]
    store._built = built
    return {"states": len(states), "rollup": _summary(rollup), "raw": _summary(raw), "memo": _summary(memo),
            **_rss_mb()}


def phase_quality(folder: str) -> dict:
    """Compute the data-quality checks (as the background job does), or read them if they are cached."""
    from novamart_panel.data import quality
    from novamart_panel.data.store import DataStore

    store = DataStore(folder)
    start = time.perf_counter()
    job = quality.start(store)
    job.wait()
    computed = time.perf_counter() - start
    start = time.perf_counter()
    quality.null_counts(store), quality.duplicate_keys(store), quality.reconciliation(store)
    quality.reconciliation_examples(store), quality.out_of_range(store), quality.zero_spend_rows(store)
    for threshold in (3.0, 5.0, 9.5):
        quality.anomalies(store, threshold), quality.anomaly_examples(store, threshold, 20)
    return {"checks_s": computed, "read_s": time.perf_counter() - start, **_rss_mb()}


def phase_quality_tab(folder: str) -> dict:
    """Build the Data quality tab's Bokeh model with the checks already computed (what a click costs)."""
    import holoviews as hv
    import panel as pn

    from novamart_panel.data.store import DataStore
    from novamart_panel.views.filters import Filters
    from novamart_panel.views.quality import QualitySection

    hv.extension("bokeh")
    store = DataStore(folder)
    filters = Filters(store)
    start = time.perf_counter()
    section = QualitySection(store=store, filters=filters)
    section.checks.wait()
    pn.panel(section).get_root()
    return {"tab_s": time.perf_counter() - start, **_rss_mb()}


def _summary(times: list[float]) -> dict:
    ordered = sorted(times)
    return {"median_ms": statistics.median(ordered) * 1000, "p95_ms": ordered[int(0.95 * (len(ordered) - 1))] * 1000,
            "n": len(ordered)}


PHASES = {"open": phase_open, "filters": phase_filters, "quality": phase_quality, "quality_tab": phase_quality_tab}


# -- the driver ------------------------------------------------------------------------------------------
def run_phase(name: str, folder: Path, cache: Path, *extra: str) -> dict:
    env = {**os.environ, "NOVAMART_CACHE_DIR": str(cache),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--phase", name, str(folder), *extra], env=env,
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"phase {name} failed:\n{done.stderr[-3000:]}")
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "process_s": time.perf_counter() - start}


def ensure_data(args) -> tuple[Path, float | None]:
    from novamart_panel.data.generator import generate

    folder = DATA / f"c{args.campaign_rows}-u{args.customers}-o{args.orders}"
    if (folder / "marketing_campaign.csv").exists():
        return folder, None
    start = time.perf_counter()
    generate(folder, campaign_rows=args.campaign_rows, customers=args.customers, orders=args.orders)
    return folder, time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--campaign-rows", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--folder", type=Path, help="benchmark this folder instead of generating one")
    parser.add_argument("--repeat", type=int, default=5, help="rounds of filter changes")
    parser.add_argument("--remove-data", action="store_true", help="delete the generated folder and caches after")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("phase_args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        folder, *extra = args.phase_args
        result = PHASES[args.phase](folder, *(int(x) for x in extra))
        print(json.dumps(result, default=str))
        return 0

    sys.path.insert(0, str(REPO))
    generated = None
    if args.folder:
        folder = args.folder.resolve()
    else:
        folder, generated = ensure_data(args)
        print(f"data: {folder}" + (f" (generated in {generated:.1f} s)" if generated is not None else " (existing)"))
    cache = DATA / f"cache-{os.getpid()}"
    shutil.rmtree(cache, ignore_errors=True)
    try:
        first = run_phase("open", folder, cache)
        print(f"first start (cache build): {first['open_s']:.1f} s open, {first['process_s']:.1f} s process, "
              f"peak RSS {first['peak_rss_mb']} MB, cache file {first['cache_mb']} MB; rows {first['rows']}")
        second = run_phase("open", folder, cache)
        print(f"second start (cache reuse): {second['open_s']:.2f} s open, {second['with_imports_s']:.2f} s with "
              f"imports, {second['process_s']:.1f} s process, RSS {second['rss_mb']} MB")
        quality = run_phase("quality", folder, cache)
        print(f"data-quality checks: {quality['checks_s']:.1f} s to compute (background), peak RSS "
              f"{quality['peak_rss_mb']} MB")
        again = run_phase("quality", folder, cache)
        print(f"data-quality checks, later start: {again['checks_s']:.2f} s to attach, {again['read_s'] * 1000:.0f} ms "
              "to read every result")
        tab = run_phase("quality_tab", folder, cache)
        print(f"Data quality tab, checks computed: {tab['tab_s']:.2f} s to build")
        filters = run_phase("filters", folder, cache, str(args.repeat))
        for source in ("rollup", "raw", "memo"):
            found = filters[source]
            print(f"filter change ({source}): median {found['median_ms']:.0f} ms, p95 {found['p95_ms']:.0f} ms "
                  f"({found['n']} changes of {filters['states']} states)")
        print(f"server-like process after the filter changes: RSS {filters['rss_mb']} MB, peak {filters['peak_rss_mb']} MB")
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        if args.remove_data and not args.folder:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
