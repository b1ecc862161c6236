"""Benchmark (run by hand, never by the test suite): each section's first computation and a filter change,
at view-model level (no browser), on a large data folder.

    novamart-panel generate --campaign-rows 10000000 --customers 1000000 --orders 2000000 --out /tmp/nm10m
    python benchmarks/sections_benchmark.py --folder /tmp/nm10m
    python benchmarks/sections_benchmark.py --folder /tmp/nm10m --sections customers campaigns --detail

The store's cache file is built first if needed (set NOVAMART_CACHE_DIR to keep it out of your cache folder).
Each section is then measured in a fresh process that imports the app and opens the store, as a server does
at start:

- **first**: construction, building the layout, then calling every plot, insight and note method once (what
  the server computes for the first render; the customer scatter's DynamicMap is evaluated too), the first
  time in the process (one-time imports and compilation included);
  `--warm-rasteriser` first warms datashader up (import and compilation), as a served page starts doing
  once loaded (`views.customers.warm_up_rasteriser`), and reports that time apart;
- **again**: the same for a second session of the process, with the store's query memo cleared;
- **channel / region change**: the global filter set to one value (the shown section follows the filters at
  once, and its insight panes recompute), then the plot methods that depend on the changed filter, as the
  browser's DynamicMaps would (the customer scatter's DynamicMap when it depends on it); `--changes` values
  each, starting from no filter, median and maximum.

`--detail` prints the slowest methods of each step. Run it once at a time: the machine is shared.
"""
from __future__ import annotations

import argparse
import inspect
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEFAULT_SECTIONS = ("overview", "campaigns", "customers", "products", "geography", "attribution", "model")
PREFIXES = ("plot_", "insight_")
NOTES = ("ltv_note", "satisfaction_note", "scatter_note", "raster_legend", "kpi_html", "metrics_html", "level_text")


def callables(section, prefixes=PREFIXES, extra=NOTES) -> list:
    """The section's bound plot and insight methods (and notes) that take no argument."""
    found = []
    for name in sorted(dir(type(section))):
        if not (name.startswith(prefixes) or name in extra):
            continue
        method = getattr(section, name)
        if not callable(method):
            continue
        try:
            required = [p for p in inspect.signature(method).parameters.values()
                        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):
            continue
        if not required:
            found.append(method)
    return found


def depends_on(section, method, names) -> bool:
    """Whether a section's method depends on any of the section's params `names`."""
    return any(dep.name in names and dep.inst in (None, section)
               for dep in section.param.method_dependencies(method.__name__))


def timed_calls(methods) -> tuple[float, list[tuple[float, str]]]:
    """Call each method once; the total and each call's time."""
    times = []
    begin = time.perf_counter()
    for method in methods:
        start = time.perf_counter()
        method()
        times.append((time.perf_counter() - start, method.__name__))
    return time.perf_counter() - begin, times


def measure(slug: str, folder: Path, changes: int, detail: bool, warm: bool) -> dict:
    """One section in this process: two sessions' first computation, then filter changes in the second."""
    import holoviews as hv
    import panel as pn

    from novamart_panel.app import SECTIONS
    from novamart_panel.data.store import DataStore
    from novamart_panel.views.filters import Filters

    pn.extension("tabulator")
    hv.extension("bokeh")
    store = DataStore.open(folder)   # as a server does at start (the cache exists: see main)
    cls = {c.slug: c for c in SECTIONS}[slug]
    result = {"slug": slug, "load": os.getloadavg()[0]}
    if warm and slug == "customers":
        from novamart_panel.views.customers import warm_up_rasteriser

        begin = time.perf_counter()
        warm_up_rasteriser()   # what a served page starts once loaded, before the user opens the tab
        result["warm_up"] = time.perf_counter() - begin
    for session in ("first", "again"):
        store._memo.clear()   # a new session in the same process: no query answered from memory
        filters = Filters(store)
        begin, cpu = time.perf_counter(), time.process_time()
        section = cls(store=store, filters=filters, active=True)
        pn.panel(section)
        result[f"{session}_layout"] = time.perf_counter() - begin
        if slug == "customers" and not section.missing_tables:
            section.scatter_view()[()]   # the scatter's DynamicMap (datashader above the threshold)
        _, times = timed_calls(callables(section))
        result[session] = time.perf_counter() - begin
        result[f"{session}_cpu"] = time.process_time() - cpu
        if detail:
            print(f"    {slug} {session}: layout {result[f'{session}_layout']:.2f} s; slowest calls after it: "
                  + ", ".join(f"{name} {t * 1000:.0f} ms" for t, name in sorted(times, reverse=True)[:4]), flush=True)

    def change(**values):
        filters.param.update(date_range=filters.full_range, channels=[], regions=[], campaign_types=[])
        timed_calls(callables(section, prefixes=("plot_",), extra=()))   # back at the unfiltered state
        plots = [m for m in callables(section, prefixes=("plot_",), extra=()) if depends_on(section, m, values)]
        begin, cpu = time.perf_counter(), time.process_time()
        filters.param.update(**values)
        if slug == "customers" and not section.missing_tables and depends_on(section, section.scatter_rows, values):
            section.scatter_view()[()]
        _, times = timed_calls(plots)
        return time.perf_counter() - begin, times, time.process_time() - cpu

    for name in ("channels", "regions"):
        options = list(filters.param[name].objects)[:changes]
        timings = [change(**{name: [value]}) for value in options]
        result[name] = sorted(t for t, _, _ in timings)
        result[f"{name}_cpu"] = sorted(c for _, _, c in timings)
        if detail:
            slowest = max(timings, key=lambda triple: triple[0])[1]
            print(f"    {slug} {name}: slowest change's calls: "
                  + ", ".join(f"{n} {t * 1000:.0f} ms" for t, n in sorted(slowest, reverse=True)[:4]), flush=True)
    result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", required=True, type=Path)
    parser.add_argument("--sections", nargs="*", default=list(DEFAULT_SECTIONS))
    parser.add_argument("--changes", type=int, default=5, help="filter changes of each kind (one value each)")
    parser.add_argument("--detail", action="store_true", help="print the slowest methods of each step")
    parser.add_argument("--warm-rasteriser", action="store_true",
                        help="warm datashader up before the customer section, as a served page does once loaded")
    parser.add_argument("--one", help=argparse.SUPPRESS)   # internal: measure one section, print JSON
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one, args.folder, args.changes, args.detail, args.warm_rasteriser)), flush=True)
        return 0

    start = time.perf_counter()
    from novamart_panel.data.store import DataStore

    store = DataStore.open(args.folder)
    print(f"store opened in {time.perf_counter() - start:.1f} s "
          f"({'built the cache' if store.built_here else 'attached the cache'}); load {os.getloadavg()[0]:.2f}",
          flush=True)
    rows = []
    for slug in args.sections:
        command = [sys.executable, __file__, "--folder", str(args.folder), "--one", slug, "--changes",
                   str(args.changes), *(["--detail"] if args.detail else []),
                   *(["--warm-rasteriser"] if args.warm_rasteriser else [])]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip().splitlines()
        for line in output[:-1]:
            print(line)
        row = json.loads(output[-1])
        rows.append(row)
        print(f"{slug:12s} first {row['first']:5.2f} s (layout {row['first_layout']:4.2f} s), again "
              f"{row['again']:5.2f} s; channel change median {statistics.median(row['channels']) * 1000:5.0f} ms, "
              f"max {max(row['channels']) * 1000:5.0f} ms; region change median "
              f"{statistics.median(row['regions']) * 1000:5.0f} ms, max {max(row['regions']) * 1000:5.0f} ms; "
              f"RSS {row['rss_mb']:,.0f} MB; load {row['load']:.1f}"
              + (f"; datashader warm-up before it {row['warm_up']:.2f} s" if "warm_up" in row else ""), flush=True)
    print("\nWall-clock time (CPU time of the process, all its threads, in brackets):\n")
    print("| section | first computation (fresh process) | again (new session) | channel change median / max "
          "| region change median / max |")
    print("| --- | --- | --- | --- | --- |")
    for row in rows:
        def changes(name):
            wall, cpu = row[name], row[f"{name}_cpu"]
            return (f"{statistics.median(wall) * 1000:.0f} / {max(wall) * 1000:.0f} ms "
                    f"({statistics.median(cpu) * 1000:.0f} / {max(cpu) * 1000:.0f})")
        print(f"| {row['slug']} | {row['first']:.2f} s ({row['first_cpu']:.2f}) | {row['again']:.2f} s "
              f"({row['again_cpu']:.2f}) | {changes('channels')} | {changes('regions')} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
