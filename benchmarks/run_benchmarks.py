"""Benchmarks (run by hand, never by the test suite): start-up, first render, filter-change latency.

    python benchmarks/run_benchmarks.py                 # scales 1 and 100
    python benchmarks/run_benchmarks.py --scales 1 100 1700 --repeat 5

For each scale it generates data once into benchmarks/data/scale-S (gitignored), then measures:
- load: DuckDB store opening the folder (typed load + validation), in this process;
- server start-up to first page: `novamart-panel serve` subprocess until the page answers 200
  (the GET creates a session, so this includes the first render of the overview);
- first render: building an App and rendering the Executive Overview to a Bokeh model;
- filter change: new filter values → KPI totals and daily revenue recomputed (DuckDB), against the same
  aggregation in plain pandas on a DataFrame already in memory (and pandas' CSV load, for scale);
and prints a Markdown table. Timings are medians of --repeat runs; the machine is shared (2 cores), so
read differences below ~20 % as noise.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"


def timed(fn, repeat: int = 3) -> tuple[float, object]:
    """Median seconds of `repeat` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def ensure_data(scale: float) -> Path:
    from novamart_panel.data.generator import generate

    folder = DATA / f"scale-{scale:g}"
    if not (folder / "campaign_performance.csv").exists():
        start = time.perf_counter()
        generate(folder, seed=42, scale=scale)
        print(f"  generated scale {scale:g} in {time.perf_counter() - start:.1f}s", flush=True)
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_first_page(folder: Path, timeout: float = 900) -> float:
    """Seconds from launching `novamart-panel serve` to the first page (a rendered session) answering."""
    port = free_port()
    exe = Path(sys.executable).with_name("novamart-panel")
    start = time.perf_counter()
    proc = subprocess.Popen([str(exe), "serve", "--data", str(folder), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - start < timeout:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/serve_app", timeout=timeout) as resp:
                    if resp.status == 200:
                        return time.perf_counter() - start
            except OSError:
                time.sleep(0.2)
        return float("nan")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def bench_scale(scale: float, repeat: int) -> dict[str, float]:
    import pandas as pd
    import panel as pn

    from novamart_panel.app import App, extension
    from novamart_panel.data.queries import FilterState, campaign_sums_over_time, campaign_totals
    from novamart_panel.data.store import DataStore

    folder = ensure_data(scale)
    row = {"scale": scale}
    csv = folder / "campaign_performance.csv"
    row["campaign rows"] = sum(1 for _ in open(csv, "rb")) - 1

    start = time.perf_counter()
    store = DataStore(folder)  # not the cached opener: measure a cold load
    row["store load (s)"] = time.perf_counter() - start

    row["server start → first page (s)"] = server_first_page(folder)

    extension()

    def first_render():
        app = App(folder)
        return pn.panel(app.section_view("overview")).get_root()

    row["overview first render (s)"], _ = timed(first_render, repeat)

    channels = store.query("SELECT DISTINCT channel FROM campaigns ORDER BY 1")["channel"].tolist()
    lo, hi = store.query("SELECT min(date), max(date) FROM campaigns").iloc[0]
    states = [FilterState(channels=tuple(channels[:2])),
              FilterState(start=(lo + pd.Timedelta(days=90)).date(), end=hi.date(), regions=("West", "South")),
              FilterState(channels=tuple(channels[2:5]), campaign_types=("Seasonal Sale",))]

    def duckdb_change():
        for state in states:
            campaign_totals(store, state)
            campaign_sums_over_time(store, state, "daily")

    row["filter change, DuckDB (ms)"] = timed(duckdb_change, repeat)[0] / len(states) * 1000

    row["pandas CSV load (s)"], frame = timed(lambda: pd.read_csv(csv, parse_dates=["date"]), 1)

    def pandas_change():
        for state in states:
            mask = pd.Series(True, index=frame.index)
            if state.channels:
                mask &= frame["channel"].isin(state.channels)
            if state.regions:
                mask &= frame["region"].isin(state.regions)
            if state.campaign_types:
                mask &= frame["campaign_type"].isin(state.campaign_types)
            if state.start:
                mask &= frame["date"].between(pd.Timestamp(state.start), pd.Timestamp(state.end))
            part = frame.loc[mask]
            part[["spend", "impressions", "clicks", "conversions", "revenue"]].sum()
            part.groupby("date")[["spend", "impressions", "clicks", "conversions", "revenue"]].sum()

    row["filter change, pandas (ms)"] = timed(pandas_change, repeat)[0] / len(states) * 1000
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", type=float, nargs="+", default=[1, 100])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    rows = []
    for scale in args.scales:
        print(f"scale {scale:g} …", flush=True)
        rows.append(bench_scale(scale, args.repeat))
    keys = list(rows[0])
    print(f"\nBenchmarks {dt.datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores, Python {sys.version.split()[0]}\n")
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(f"{row[k]:,.2f}" if isinstance(row[k], float) else f"{row[k]:,}" for k in keys) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
