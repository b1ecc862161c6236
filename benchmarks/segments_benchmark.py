"""Benchmark (run by hand, never by the test suite): the Segments section's first render at a million customers.

    python benchmarks/segments_benchmark.py                    # 1,000,000 customers, no orders.csv
    python benchmarks/segments_benchmark.py --customers 200000 --with-orders

It writes a temporary data folder: the packaged files, with customer_data.csv replicated (new customer ids) up
to --customers rows. Without --with-orders the folder has no orders.csv, so histories are derived from the
customer totals (the reference data's situation); with it, orders.csv is replicated with the same new ids
(about 28 orders per customer: large and slow to write). The CRM export stays the packaged 2,240 rows.

It then measures, in this process (view-model level, no browser): loading the folder into DuckDB, building the
section and computing every chart's and table's data and every insight (the first render), and three
interactions afterwards: a new k, a new contact cost and a new CLV horizon. Run it once: the machine is shared.
"""
from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def replicate(folder: Path, customers: int, with_orders: bool) -> None:
    """Copy the packaged data into `folder` with `customers` customers (and their orders, if asked)."""
    packaged = REPO / "data"
    for path in packaged.glob("*.csv"):
        if path.name not in ("customer_data.csv", "orders.csv"):
            shutil.copy(path, folder / path.name)
    base = pd.read_csv(packaged / "customer_data.csv", dtype=str, keep_default_na=False)
    copies = -(-customers // len(base))
    frame = pd.concat([base] * copies, ignore_index=True).iloc[:customers].copy()
    frame["customer_id"] = [f"CUST_{i:07d}" for i in range(len(frame))]   # copy c of row j: c·len(base) + j
    frame.to_csv(folder / "customer_data.csv", index=False)
    if with_orders:
        position = {customer: j for j, customer in enumerate(base["customer_id"])}
        orders = pd.read_csv(packaged / "orders.csv", dtype=str, keep_default_na=False)
        row = orders["customer_id"].map(position).to_numpy()
        with open(folder / "orders.csv", "w", encoding="utf-8") as out:
            out.write("customer_id,order_date,amount\n")
            for copy in range(copies):
                number = copy * len(base) + row
                keep = number < customers
                part = orders[keep].assign(customer_id=[f"CUST_{i:07d}" for i in number[keep]])
                part.to_csv(out, index=False, header=False)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--with-orders", action="store_true")
    args = parser.parse_args(argv)

    import holoviews as hv
    import panel as pn

    from novamart_panel.data.store import DataStore
    from novamart_panel.views.filters import Filters
    from novamart_panel.views.segments import SegmentSection

    pn.extension("tabulator")
    hv.extension("bokeh")
    rows = []
    with tempfile.TemporaryDirectory(prefix="novamart-segments-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        replicate(folder, args.customers, args.with_orders)
        print(f"wrote {args.customers:,} customers{' and their orders' if args.with_orders else ''} in "
              f"{time.perf_counter() - start:.1f} s", flush=True)

        def step(name, fn):
            begin = time.perf_counter()
            result = fn()
            rows.append((name, time.perf_counter() - begin))
            print(f"  {name}: {rows[-1][1]:.2f} s", flush=True)
            return result

        store = step("load the folder into DuckDB (typed, validated)", lambda: DataStore.open(folder))
        render_start = time.perf_counter()
        section = step("construct the section", lambda: SegmentSection(store=store, filters=Filters(store)))
        step("customer histories + BG/NBD and Gamma-Gamma fits", section.customer_model)
        step("CLV, P(alive), expected purchases per customer", section.customer_values)
        step("RFM scores, grid and segment table", lambda: (section.rfm_grid(), section.segment_display()))
        step("features + k selection (k = 2…8, four metrics)", section.segmentation)
        step("clusters at the chosen k + profiles + PCA sample", lambda: (section.profile_display(),
                                                                          section.cluster_points()))
        step("CLV histogram + top customers", lambda: (section.clv_histogram(), section.top_customers()))
        step("LTV:CAC by acquisition channel", section.ltv_cac_display)
        step("cohorts", section.cohort_retention)
        step("CRM: ETL, RFM, k selection, fits, policy", lambda: (section.crm_profile_display(),
                                                                  section.policy_display(), section.acceptance()))
        step("every chart element and insight", lambda: (section.chart_objects(), [
            getattr(section, name)() for name in dir(section) if name.startswith("insight_")]))
        first_render = time.perf_counter() - render_start
        k = section.effective_k()
        new_k = 4 if k != 4 else 5
        step(f"interaction: k {k} → {new_k} (refit + profiles + scatter)",
             lambda: (setattr(section, "k", new_k), section.profile_display(), section.plot_clusters(),
                      section.plot_k_selection()))
        step("interaction: contact cost 3 → 5 (policy table + insight)",
             lambda: (setattr(section, "contact_cost", 5.0), section.policy_display(), section.insight_policy()))
        step("interaction: CLV horizon 12 → 24 months (no refit)",
             lambda: (setattr(section, "horizon_months", 24), section.plot_clv(), section.insight_clv(),
                      section.segment_display()))
        peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
        histories = len(section.customer_model().histories)
    print()
    print(f"| Segments section, {args.customers:,} customers ({histories:,} with a purchase), "
          f"{'orders.csv' if args.with_orders else 'no orders.csv (derived histories)'} | seconds |")
    print("| --- | ---: |")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.2f} |")
    print(f"| **first render (construct → every chart's data and insight)** | **{first_render:.2f}** |")
    print(f"\npeak memory (max RSS): {peak_gb:.2f} GB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
