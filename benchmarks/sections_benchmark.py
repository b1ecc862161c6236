"""Benchmark (run by hand, never by the test suite): each section's first computation and a filter change,
at view-model level (no browser), on a large data folder.

    novamart-panel generate --campaign-rows 10000000 --customers 1000000 --orders 2000000 --out /tmp/nm10m
    python benchmarks/sections_benchmark.py --folder /tmp/nm10m
    python benchmarks/sections_benchmark.py --folder /tmp/nm10m --sections customers campaigns --detail

The store is opened once (its cache file is built on the first run: set NOVAMART_CACHE_DIR to keep it out of
your cache folder). For each section, in this process:

- **first**: construction, building the layout, then calling every plot, insight and note method once (what
  the server computes for the first render; the customer scatter's DynamicMap is evaluated too);
- **channel filter**: the global channel filter set to one channel (the shown section follows the filters at
  once, and its insight panes recompute), then the plot methods that depend on the changed filter, as the
  browser's DynamicMaps would (the customer scatter's DynamicMap when it depends on it);
- **region filter**: the same with one region (customer views follow regions only).

The store's query memo is cleared before each section, so no section profits from another's queries.
`--detail` prints the slowest methods of each step. Run it once at a time: the machine is shared.
"""
from __future__ import annotations

import argparse
import inspect
import os
import resource
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", required=True, type=Path)
    parser.add_argument("--sections", nargs="*", default=list(DEFAULT_SECTIONS))
    parser.add_argument("--channel", default=None, help="channel for the filter change (default: the second)")
    parser.add_argument("--region", default=None, help="region for the filter change (default: the first)")
    parser.add_argument("--detail", action="store_true", help="print the slowest methods of each step")
    args = parser.parse_args(argv)

    import holoviews as hv
    import panel as pn

    from novamart_panel.app import SECTIONS
    from novamart_panel.data.store import DataStore
    from novamart_panel.views.filters import Filters

    pn.extension("tabulator")
    hv.extension("bokeh")
    start = time.perf_counter()
    store = DataStore.open(args.folder)
    print(f"store opened in {time.perf_counter() - start:.1f} s "
          f"({'built the cache' if store.built_here else 'attached the cache'}); load {os.getloadavg()[0]:.2f}",
          flush=True)
    by_slug = {cls.slug: cls for cls in SECTIONS}
    rows = []
    for slug in args.sections:
        cls = by_slug[slug]
        store._memo.clear()
        filters = Filters(store)
        channel = args.channel or (filters.param.channels.objects[1:2] or filters.param.channels.objects)[0]
        region = args.region or filters.param.regions.objects[0]
        begin = time.perf_counter()
        section = cls(store=store, filters=filters, active=True)
        built = time.perf_counter() - begin
        pn.panel(section)
        laid_out = time.perf_counter() - begin
        if slug == "customers" and not section.missing_tables:
            section.scatter_view()[()]   # the scatter's DynamicMap (datashader above the threshold)
        methods = callables(section)
        calls, first_times = timed_calls(methods)
        first = time.perf_counter() - begin

        def change(**values):
            filters.param.update(date_range=filters.full_range, channels=[], regions=[], campaign_types=[])
            timed_calls(callables(section, prefixes=("plot_",), extra=()))   # back at the unfiltered state
            plots = [m for m in callables(section, prefixes=("plot_",), extra=()) if depends_on(section, m, values)]
            begin = time.perf_counter()
            filters.param.update(**values)
            if slug == "customers" and not section.missing_tables and depends_on(section, section.scatter_rows,
                                                                                  values):
                section.scatter_view()[()]
            _, times = timed_calls(plots)
            return time.perf_counter() - begin, times

        channel_change, channel_times = change(channels=[channel])
        region_change, region_times = change(regions=[region])
        rows.append((slug, built, laid_out, first, channel_change, region_change, os.getloadavg()[0]))
        print(f"{slug:12s} construct {built:6.2f} s  layout {laid_out:6.2f} s  first {first:6.2f} s "
              f"(calls {calls:5.2f} s)  channel change {channel_change * 1000:7.0f} ms  "
              f"region change {region_change * 1000:7.0f} ms  load {os.getloadavg()[0]:.2f}", flush=True)
        if args.detail:
            for label, times in (("first", first_times), ("channel", channel_times), ("region", region_times)):
                slowest = ", ".join(f"{name} {t * 1000:.0f} ms" for t, name in sorted(times, reverse=True)[:5])
                print(f"    {label:8s} {slowest}", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS {peak:,.0f} MB")
    print("\n| section | construct + layout | first computation | channel filter change | region filter change |")
    print("| --- | --- | --- | --- | --- |")
    for slug, built, laid_out, first, channel_change, region_change, load in rows:
        print(f"| {slug} | {laid_out:.2f} s | {first:.2f} s | {channel_change * 1000:.0f} ms | "
              f"{region_change * 1000:.0f} ms |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
