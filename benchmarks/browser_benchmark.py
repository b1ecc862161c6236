"""Browser benchmark (run by hand, never by the test suite): what a user waits for, in Chromium (SPEC §5).

    python benchmarks/browser_benchmark.py --data ../shared/reference-data/novamart --repeat 5
    python benchmarks/browser_benchmark.py --scale-dir /tmp/nm_bench_10m --remove-scale-data

Each round starts `novamart-panel serve` afresh (no round is answered from an earlier round's memo) and
drives a headless Chromium (Debian's /usr/bin/chromium through Playwright; no browser download):

- start: process start → the landing section's first chart drawn (and all its charts, the page quiet);
  the very first start of a data set builds the DuckDB cache and is reported on its own;
- reload: the landing URL loaded again (a new session) → first chart drawn, from the navigation start, the
  page's scripts and styles from the browser's cache as on any reload (the start's page fetches them);
- channel filter, in a fresh session (only the landing section and Campaign analytics built): one channel
  picked in the sidebar → on the Executive overview the revenue KPI card text and the "Revenue by channel"
  chart updated; on Campaign analytics its "Revenue by channel" chart updated; and the page quiet again;
- first switch to each section, in another session: click → its first chart drawn (its content shown
  when it has no chart), all its charts drawn (a section sends its first views, then the rest: "all" waits
  for the rest), the page quiet, and how long the server stayed busy after;
- server memory (RSS of the `panel serve` process, and its peak) once every section was visited;
- the channel filter cases again, now with every section's views in the page.

Every measured filter state is new to the server (single channels, then pairs), so no memo answers it;
before each measured click the page is quiet and the server idle. Times run from the press (pointerdown)
in the page. "Drawn" is read from BokehJS (a figure view reports it has painted); "updated" is the moment
the chart's data source (or the KPI pane's text) changed, plus the next animation frame.

Beside the filter cases, once the servers are gone, the same channel selections in this process: the raw
DuckDB time of the queries the section runs for them (recorded from the section's own filter-dependent
methods, then replayed on fresh cursors, memo bypassed, after a warm-up), those methods themselves (the
server's Python share, without Bokeh), and the same aggregations in plain pandas on the CSV in memory.

`--scale-dir DIR` does the same on a large data set, generated there with `novamart-panel generate` when
missing (10M campaign rows and 1M customers by default). Each data set gets an empty DuckDB cache folder
of its own, deleted at the end with the server logs (`--work-dir` keeps them). The machine is shared and
noisy: each result is a median with its p95, min, max and count, and the load average is printed.
"""
from __future__ import annotations

import argparse
import datetime as dt
import inspect
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CHROMIUM = os.environ.get("NOVAMART_CHROMIUM", "/usr/bin/chromium")
# The app must work offline: no host name but this machine's resolves. (Playwright's request routing would do it
# too, but routing turns the browser's cache off, and a reload then fetched 5.5 MB of scripts again.)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"]
LOCAL_URL = re.compile(r"^(https?://(127\.0\.0\.1|localhost)[:/]|data:|blob:|about:)")
QUIET_MS = 1000          # "settled": no document change for this long
IDLE_CPU, IDLE_WINDOW_S = 15.0, 0.5   # the server counts as idle below this CPU % over this window
LANDING = "Executive overview"
CAMPAIGNS = "Campaign analytics"
CHANNEL_CHART = "Revenue by channel"
KPI_NEEDLE = 'data-kpi="revenue"'  # the overview's revenue KPI card

# Targets of issue 7 / SPEC §5, in seconds, by the measure keys used below.
REFERENCE_TARGETS = {"filter_campaigns": ("≤ 0.150 median", "median", 0.150),
                     "filter_overview_chart": ("≤ 0.150 median", "median", 0.150),
                     "filter_overview_kpi": ("≤ 0.150 median", "median", 0.150),
                     "reload": ("≤ 1.5", "median", 1.5),
                     "switch": ("≤ 1", "max", 1.0)}
SCALE_TARGETS = {"start": ("≤ 15 with the cache", "median", 15.0),
                 "filter_campaigns": ("≤ 0.300 p95", "p95", 0.300),
                 "filter_overview_chart": ("≤ 0.300 p95", "p95", 0.300),
                 "filter_overview_kpi": ("≤ 0.300 p95", "p95", 0.300),
                 "switch": ("≤ 2", "max", 2.0),
                 "rss": ("≤ 3 GB", "max", 3 * 1024)}

# -- in-page instruments (added to every document before its scripts run) --------------------------------
PAGE_JS = r"""
window.__nmlib = (() => {
  const lib = {};
  const children = (v) => (v && v.child_views) ? Array.from(v.child_views) : [];
  lib.visible = (v) => v != null && v.el != null && v.el.isConnected && v.el.getClientRects().length > 0;
  lib.isPlot = (v) => v != null && v.model != null && ["Figure", "Plot", "GMapPlot"].includes(v.model.type);
  // Depth-first over the view tree; `visit` returning false skips a subtree.
  lib.walk = (visit, roots) => {
    const seen = new Set();
    const go = (v) => {
      if (v == null || seen.has(v)) return;
      seen.add(v);
      if (visit(v) === false) return;
      for (const c of children(v)) go(c);
    };
    for (const v of roots ?? Object.values(window.Bokeh ? Bokeh.index : {})) go(v);
  };
  const sectionOf = (v) => {
    const classes = v.model && v.model.css_classes;
    const found = Array.isArray(classes) ? classes.find((c) => c.startsWith("section-")) : null;
    return found ? found.slice("section-".length) : null;
  };
  // The views with a "section-" class (each section's holder, a root of its own, and the navigation), in page
  // order. The walk does not go into them: after a visit to every section they are most of the page (a walk of
  // every view per frame cost the page it measures 100-200 ms of script during a first switch).
  lib.holders = () => {
    const out = [];
    lib.walk((v) => { if (sectionOf(v)) { out.push(v); return false; } });
    return out;
  };
  lib.holder = (slug) => lib.holders().find((v) => sectionOf(v) === slug) ?? null;
  lib.shownHolder = () => lib.holders().find((v) => lib.visible(v)) ?? null;
  lib.plots = (root) => {
    const out = [];
    lib.walk((v) => { if (lib.isPlot(v)) { if (lib.visible(v)) out.push(v); return false; } }, [root]);
    return out;
  };
  // What the shown section has drawn: {slug, shown, figures, first, all} (first/all: painted).
  // A section sends its first views, then the others in place of a line of class "views-pending" (app.py).
  lib.pending = (root) => {
    let found = false;
    lib.walk((v) => { if (found) return false; if ((v.model.css_classes || []).includes("views-pending")) found = true; }, [root]);
    return found;
  };
  lib.state = (root) => {
    const holder = root ?? lib.shownHolder();
    if (holder == null || !lib.visible(holder) || children(holder).length === 0) return null;
    const plots = lib.plots(holder);
    const done = plots.filter((p) => p.has_finished());
    const pending = lib.pending(holder);
    return {slug: sectionOf(holder), figures: plots.length, first: plots.length > 0 && plots[0].has_finished(),
            all: !pending && plots.length > 0 && done.length === plots.length, finished: done.length, pending};
  };
  lib.figure = (title) => {
    const found = [];
    lib.walk((v) => {
      if (lib.isPlot(v)) {
        const text = v.model.title && v.model.title.text;
        if (typeof text === "string" && text.startsWith(title) && lib.visible(v)) found.push(v);
        return false;
      }
    });
    return found.length === 1 ? found[0] : null;
  };
  // Hooks on the session's document: last change time, the press that starts a measurement.
  lib.install = () => {
    if (!(window.Bokeh && Bokeh.documents.length > 0)) return false;
    const doc = Bokeh.documents[0];
    if (lib.doc === doc) return true;
    lib.doc = doc;
    lib.lastChange = performance.now();
    lib.changes = 0;
    lib.hits = {};
    doc.on_change(() => { lib.lastChange = performance.now(); lib.changes += 1; }, true);
    if (!lib.listening) {
      lib.listening = true;
      window.addEventListener("pointerdown", () => {
        if (lib.armed) { lib.t0 = performance.now(); lib.armed = false; }
      }, true);
    }
    return true;
  };
  lib.arm = () => { lib.t0 = null; lib.armed = true; };
  const hit = (key, extra) => {
    const h = lib.hits[key] = {data: null, frame: null, ...extra};
    h.mark = () => {
      if (h.data != null) return;
      h.data = performance.now();
      requestAnimationFrame(() => { h.frame = performance.now(); });
    };
    return h;
  };
  // Resolve when the figure titled `title` gets data with `rows` rows (any new data when rows is null).
  lib.watchFigure = (key, title, rows) => {
    const view = lib.figure(title);
    if (view == null) return false;
    const renderer = view.model.renderers.find((r) => r.data_source != null);
    if (renderer == null) return false;
    const source = renderer.data_source;
    const h = hit(key, {before: source.get_length(), source: source.id});
    const slot = () => {
      if (rows == null || source.get_length() === rows) { h.after = source.get_length(); h.mark(); }
    };
    for (const signal of [source.properties.data.change, source.streaming, source.patching]) signal.connect(slot);
    return true;
  };
  // Resolve when the shown text model holding `needle` (e.g. a KPI card) shows other text.
  lib.watchText = (key, needle) => {
    const escaped = needle.replaceAll('"', "&quot;");
    const found = [];
    lib.walk((v) => {
      const m = v.model, text = m && m.text;
      if (typeof text === "string" && (text.includes(needle) || text.includes(escaped)) && lib.visible(v)) found.push(m);
    });
    if (found.length !== 1) return false;
    const model = found[0];
    const before = model.text;
    const h = hit(key, {});
    model.properties.text.change.connect(() => { if (model.text !== before) h.mark(); });
    return true;
  };
  // Record, frame by frame, when section `slug` shows up, draws its first chart and all its charts.
  lib.track = (slug) => {
    const t = lib.tracking = {slug, shown: null, first: null, all: null, figures: 0, finished: 0};
    let holder = null;   // found once: the holder's view stays while its contents change
    const tick = () => {
      if (lib.tracking !== t) return;
      if (holder == null) holder = lib.holder(slug);
      const s = holder ? lib.state(holder) : null;
      if (s) {
        const now = performance.now();
        if (t.shown == null) t.shown = now;
        if (s.first && t.first == null) t.first = now;
        if (s.all) { if (t.all == null) t.all = now; } else t.all = null;
        t.figures = s.figures; t.finished = s.finished; t.pending = s.pending;
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  };
  lib.untrack = () => { lib.tracking = null; };
  return lib;
})();
"""

# Landing page drawn: the shown section's first chart painted (or, with `all`, every chart of it).
DRAWN_JS = """
(all) => {
  const lib = window.__nmlib;
  if (!(lib && window.Bokeh && Bokeh.documents.length > 0)) return null;
  const s = lib.state();
  if (s == null || !(all ? s.all : s.first)) return null;
  return {now: performance.now(), epoch: performance.timeOrigin + performance.now(), slug: s.slug, figures: s.figures};
}
"""


# -- statistics and formatting --------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    """Linear-interpolation percentile (numpy's default) of a non-empty list."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(rank), math.ceil(rank)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def summary(values: list[float | None]) -> dict | None:
    """median, p95, min, max and count of the measured values (None = not reached within the time limit)."""
    got = [v for v in values if v is not None]
    if not got:
        return {"n": 0, "missed": len(values)} if values else None
    return {"median": percentile(got, 50), "p95": percentile(got, 95), "min": min(got), "max": max(got),
            "n": len(got), "missed": len(values) - len(got)}


def seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def describe(stats: dict | None, unit: str = "s") -> str:
    """'median (p95; min–max; n)' in ms or s, or in MB for memory."""
    if not stats:
        return "–"
    if stats["n"] == 0:
        return f"not reached ({stats['missed']} tries)"
    fmt = (lambda v: f"{v:,.0f} MB") if unit == "MB" else seconds
    text = (f"{fmt(stats['median'])} (p95 {fmt(stats['p95'])}; {fmt(stats['min'])}–{fmt(stats['max'])}; "
            f"n={stats['n']})")
    if stats["missed"]:
        text += f", {stats['missed']} not reached"
    return text


def verdict(stats: dict | None, target) -> str:
    if not stats or target is None:
        return ""
    label, which, limit = target
    if stats["n"] == 0:
        return f"{label}: **miss** (never reached)"
    value = stats[which]
    ok = value <= limit and not stats["missed"]
    return f"{label}: {'met' if ok else '**miss**'}"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def log(message: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S} load {load_average()}] {message}", file=sys.stderr, flush=True)


# -- the server -----------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """`novamart-panel serve` in its own process group (stopped by that group's id)."""

    folder: Path
    cache_dir: Path
    log_path: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    started: float = 0.0          # time.time() just before the process started
    listening_s: float | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self, timeout: float) -> None:
        env = dict(os.environ, NOVAMART_CACHE_DIR=str(self.cache_dir),
                   PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
        command = [sys.executable, "-m", "novamart_panel.cli", "serve", "--data", str(self.folder),
                   "--port", str(self.port), "--address", "127.0.0.1"]
        self.started = time.time()
        self.proc = subprocess.Popen(command, env=env, cwd=REPO, stdout=self.log_path.open("ab"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        while time.time() - self.started < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited ({self.proc.returncode}); see {self.log_path}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                self.listening_s = time.time() - self.started
                return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"the server did not listen within {timeout:.0f} s")

    def panel_process(self):
        """The `python -m panel serve` process the CLI started (the one holding the data)."""
        import psutil

        parent = psutil.Process(self.proc.pid)
        kids = parent.children(recursive=True)
        return kids[0] if kids else parent

    def memory_mb(self) -> dict:
        """Resident memory of the panel server now and at its peak (VmHWM), in MB."""
        try:
            pid = self.panel_process().pid
            values = {}
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith(("VmRSS:", "VmHWM:")):
                        values[line.split(":")[0]] = int(line.split()[1]) / 1024
            return {"rss": values.get("VmRSS"), "peak": values.get("VmHWM")}
        except Exception as exc:  # noqa: BLE001 - memory is a side measure; say why it is missing
            return {"rss": None, "peak": None, "error": str(exc)}

    def wait_idle(self, limit: float, cpu_below: float = IDLE_CPU, window: float = IDLE_WINDOW_S) -> float | None:
        """Wait until the server process uses (almost) no CPU for `window` seconds (background work such
        as the data-quality checks or a model fit finished); how long that took, None if not within `limit`."""
        start = time.time()
        proc = self.panel_process()
        while time.time() - start < limit:
            if proc.cpu_percent(interval=window) < cpu_below:
                return max(0.0, time.time() - start - window)
        return None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        except ProcessLookupError:
            pass


# -- one round in the browser ---------------------------------------------------------------------------
class Round:
    """One server start and everything measured against it in one browser context."""

    def __init__(self, browser, server: Server, args, result: dict, channels: list[str], index: int,
                 timeout_s: float):
        self.browser, self.server, self.args, self.result = browser, server, args, result
        self.channels, self.index, self.timeout_ms = channels, index, int(timeout_s * 1000)
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.context.add_init_script(PAGE_JS)
        self.context.set_default_timeout(self.timeout_ms)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.picks = 0
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        # Refused (CHROMIUM_ARGS), and reported: the app must work offline.
        self.context.on("request", lambda request: None if LOCAL_URL.match(request.url) else
                        self.errors.append(f"request off this machine: {request.url}"))

    def close(self) -> None:
        self.context.close()

    def add(self, key: str, value) -> None:
        self.result.setdefault(key, []).append(value)

    # -- page load ---------------------------------------------------------------------------------------
    def wait_drawn(self, all_charts: bool = False, timeout_ms: int | None = None) -> dict | None:
        try:
            return self.page.wait_for_function(DRAWN_JS, arg=all_charts, polling="raf",
                                               timeout=timeout_ms or self.timeout_ms).json_value()
        except Exception:  # noqa: BLE001 - a timeout is a result ("not reached"), not a crash
            return None

    def install(self) -> None:
        self.page.wait_for_function("() => window.__nmlib.install()", timeout=self.timeout_ms)

    def wait_quiet(self, limit_s: float = 60.0) -> float | None:
        """Wait until no document change for QUIET_MS; the performance.now() of the last change."""
        deadline = time.time() + limit_s
        while time.time() < deadline:
            quiet, last = self.page.evaluate(
                "() => [performance.now() - window.__nmlib.lastChange, window.__nmlib.lastChange]")
            if quiet >= QUIET_MS:
                return last
            time.sleep(max(0.05, (QUIET_MS - quiet) / 1000))
        return None

    def cold_start(self, key: str) -> None:
        """Process start → landing page's first chart drawn (the server was started just before)."""
        self.page.goto(self.server.url, wait_until="commit", timeout=self.timeout_ms)
        first = self.wait_drawn()
        everything = self.wait_drawn(all_charts=True) if first else None
        self.install()
        quiet = self.wait_quiet()
        t0 = self.server.started * 1000
        origin = self.page.evaluate("() => performance.timeOrigin")
        self.add(key, None if first is None else (first["epoch"] - t0) / 1000)
        self.add(f"{key}_all", None if everything is None else (everything["epoch"] - t0) / 1000)
        self.add(f"{key}_settled", None if quiet is None else (origin + quiet - t0) / 1000)
        self.add("listening", self.server.listening_s)
        log(f"  {key}: first chart {seconds(self.result[key][-1])}, settled {seconds(self.result[f'{key}_settled'][-1])}"
            f" (listening after {seconds(self.server.listening_s)})")

    def reload(self, record: bool = True) -> None:
        """Load the landing page again (a new session) → its first chart drawn, timed from the navigation
        start. The landing URL, not `page.reload()`: the URL keeps the last tab and filters."""
        self.server.wait_idle(self.timeout_ms / 1000)
        self.page.goto(self.server.url, wait_until="commit", timeout=self.timeout_ms)
        first = self.wait_drawn()
        everything = self.wait_drawn(all_charts=True) if first else None
        self.install()
        quiet = self.wait_quiet()
        if not record:
            return
        self.add("reload", None if first is None else first["now"] / 1000)
        self.add("reload_all", None if everything is None else everything["now"] / 1000)
        self.add("reload_settled", None if quiet is None else quiet / 1000)
        log(f"  reload: first chart {seconds(self.result['reload'][-1])}")

    # -- sections ----------------------------------------------------------------------------------------
    def nav(self, title: str):
        return self.page.locator(".section-nav .bk-btn").filter(has_text=re.compile(rf"^\s*{re.escape(title)}\s*$"))

    def switch(self, title: str, slug: str, limit_s: float) -> dict:
        """Click a section in the navigation; when it showed, drew its first and all charts, went quiet;
        then how long the server stayed busy (background work) after that. The click waits for an idle
        server, so that no earlier section's background work is counted here."""
        self.server.wait_idle(limit_s)
        self.page.evaluate("(slug) => { window.__nmlib.arm(); window.__nmlib.track(slug); }", slug)
        self.nav(title).click()
        deadline = time.time() + limit_s
        state = {}
        while time.time() < deadline:
            state = self.page.evaluate(
                "() => ({...window.__nmlib.tracking, t0: window.__nmlib.t0, now: performance.now(),"
                " last: window.__nmlib.lastChange})")
            shown = state.get("shown") is not None
            charts_done = state.get("all") is not None or (shown and state.get("figures", 0) == 0
                                                           and not state.get("pending", True))
            if shown and charts_done and state["now"] - state["last"] >= QUIET_MS:
                break
            time.sleep(0.1)
        else:
            state["timed_out"] = True
        self.page.evaluate("() => window.__nmlib.untrack()")
        t0 = state.get("t0")

        def since(name):
            value = state.get(name)
            return None if value is None or t0 is None else (value - t0) / 1000

        shown = since("shown")
        out = {"shown": shown, "first": since("first"), "all": since("all"), "figures": state.get("figures", 0),
               "settled": None if state.get("timed_out") else since("last"), "timed_out": bool(state.get("timed_out"))}
        # No chart in the section (a notice, tables only): what the user waits for is the content shown.
        out["drawn"] = out["first"] if out["figures"] else shown
        if out["timed_out"] and out["drawn"] is None:
            out["drawn"] = None
        if out["timed_out"]:
            # Let the server finish that section before the next click queues behind it.
            self.wait_quiet(limit_s)
        out["busy_after"] = self.server.wait_idle(limit_s)
        return out

    def sections(self, sections: list[tuple[str, str]], limit_s: float) -> None:
        for title, slug in sections:
            if title == LANDING:
                continue
            if self.nav(title).count() == 0:
                self.result.setdefault("switch_missing", []).append(title)
                continue
            found = self.switch(title, slug, limit_s)
            self.result.setdefault("switch", {}).setdefault(title, []).append(found)
            log(f"  switch → {title}: drawn {seconds(found['drawn'])}, all charts {seconds(found['all'])}, "
                f"settled {seconds(found['settled'])}, {found['figures']} charts, server busy "
                f"{seconds(found['busy_after'])} more"
                + (" (TIMED OUT)" if found["timed_out"] else ""))

    # -- filters -----------------------------------------------------------------------------------------
    def settle(self, limit_s: float) -> None:
        """Let the page and the server finish before the next measured click."""
        self.wait_quiet(limit_s)
        self.server.wait_idle(limit_s)
        self.wait_quiet(limit_s)

    def reset_filters(self, limit_s: float) -> None:
        self.page.get_by_role("button", name="Reset filters").click()
        self.settle(limit_s)

    def pick_channel(self, channel: str, watches: dict[str, tuple], limit_s: float, rows: int | None = None) -> dict:
        """Pick one channel in the sidebar; the time until each watched thing updated (a figure with `rows`
        rows of data, or a text that changed), and until the page was quiet."""
        choices = self.page.locator("#sidebar .bk-input-group", has_text="Channels").locator(".choices")
        choices.click()
        option = choices.locator(f'.choices__item--choice[data-value="{channel}"]')
        option.wait_for()
        self.picks += 1
        keys = {key: f"{key}#{self.index}#{self.picks}" for key in watches}
        armed = {}
        for key, (kind, spec) in watches.items():
            if kind == "figure":
                armed[key] = self.page.evaluate("([k, t, n]) => window.__nmlib.watchFigure(k, t, n)",
                                                [keys[key], spec, rows])
            else:
                armed[key] = self.page.evaluate("([k, t]) => window.__nmlib.watchText(k, t)", [keys[key], spec])
        self.page.evaluate("() => window.__nmlib.arm()")
        option.click()
        self.page.keyboard.press("Escape")
        waiting = [keys[key] for key, ok in armed.items() if ok]
        if waiting:
            try:
                self.page.wait_for_function("(keys) => keys.every((k) => window.__nmlib.hits[k].frame != null)",
                                            arg=waiting, timeout=int(limit_s * 1000), polling=20)
            except Exception:  # noqa: BLE001 - not reached in time: recorded as missing
                pass
        quiet = self.wait_quiet(limit_s)
        t0, hits = self.page.evaluate(
            "(keys) => [window.__nmlib.t0, Object.fromEntries(keys.map((k) => [k, window.__nmlib.hits[k]]))]", waiting)

        def since(value):
            return None if value is None or t0 is None else (value - t0) / 1000

        out = {"settled": None if quiet is None else since(quiet)}
        for key, ok in armed.items():
            hit = hits.get(keys[key]) or {}
            out[key], out[f"{key}_data"] = since(hit.get("frame")), since(hit.get("data"))
            if not ok:
                out[f"{key}_missing"] = True
        return out

    def filters(self, title: str, slug: str, cases: dict[str, tuple], prefix: str, states: list[tuple[str, ...]],
                limit_s: float) -> None:
        """Show a section, then for each state: reset the filters, pick its channels (the last pick is
        measured, so every measured state is new to the server) and record the times under `prefix`."""
        self.switch(title, slug, limit_s)      # shown, drawn, quiet and the server idle (not recorded)
        for state in states:
            self.reset_filters(limit_s)
            for channel in state[:-1]:
                self.pick_channel(channel, {}, limit_s)
                self.settle(limit_s)
            found = self.pick_channel(state[-1], cases, limit_s, rows=len(state))
            for key in cases:
                self.add(prefix + key, found[key])
                self.add(f"{prefix}{key}_data", found[f"{key}_data"])
                if found.get(f"{key}_missing"):
                    self.result.setdefault("watch_missing", []).append(f"{title}: {key}")
            self.add(f"{prefix}settled_{slug}", found["settled"])
            self.result.setdefault("states", {}).setdefault(slug, []).append(state)
            log(f"  {prefix}{title}, channels {'+'.join(state)}: "
                + ", ".join(f"{k} {seconds(found[k])}" for k in cases) + f", settled {seconds(found['settled'])}")
            self.server.wait_idle(limit_s)
        self.reset_filters(limit_s)


# -- in-process comparisons: DuckDB queries, the section's Python, pandas --------------------------------
SUMS = ["spend", "impressions", "clicks", "conversions", "revenue"]


def _filter_methods(section) -> list[str]:
    """Public methods of a section that depend on the global filters and take no argument: what a filter
    change makes the page call (charts, insights, tables)."""
    from novamart_panel.views.base import FILTER_DEPS

    names = []
    for name in dir(type(section)):
        if name.startswith("_"):
            continue
        method = getattr(type(section), name, None)
        info = getattr(method, "_dinfo", None)
        if not callable(method) or not info:
            continue
        deps = {d.split(".")[-1] if isinstance(d, str) else getattr(d, "name", "") for d in info.get("dependencies", ())}
        if not deps & set(FILTER_DEPS):
            continue
        params = [p for p in inspect.signature(method).parameters.values()][1:]
        if any(p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
               for p in params):
            continue
        names.append(name)
    return names


def in_process(folder: Path, states: dict[str, list[tuple[str, ...]]], repeat: int) -> dict:
    """Per section (slug) and for the channel selections the browser measured: the section's recompute in
    this process (its filter-dependent methods, both memos cleared), the raw DuckDB time of the queries that
    recompute ran (replayed on fresh cursors) and the same aggregations in pandas on the CSV in memory."""
    import pandas as pd

    from novamart_panel.app import SECTIONS, extension
    from novamart_panel.data.store import DataStore
    from novamart_panel.views.filters import Filters

    extension()   # the plot methods use HoloViews options of the Bokeh backend
    store = DataStore.open(folder)
    by_slug = {cls.slug: cls for cls in SECTIONS}
    out: dict = {}
    for slug, selections in states.items():
        if not selections or slug not in by_slug or slug not in PANDAS_WORK:
            continue
        filters = Filters(store)
        section = by_slug[slug](store=store, filters=filters, active=True)
        methods = _filter_methods(section)
        recorded: dict[tuple, tuple] = {}

        def recompute(channels: tuple[str, ...]) -> float:
            recorded.clear()
            store._memo.clear()
            section._memo.clear()
            query, scalar = store.query, store.scalar

            def recording(original):
                def call(sql, params=None):
                    recorded.setdefault((sql, repr(params)), (sql, params))
                    return original(sql, params)
                return call

            store.query, store.scalar = recording(query), recording(scalar)
            try:
                start = time.perf_counter()
                filters.param.update(channels=list(channels))
                for name in methods:
                    getattr(section, name)()
                elapsed = time.perf_counter() - start
            finally:
                del store.query, store.scalar
                filters.param.update(channels=[])
            return elapsed

        def replay() -> float:
            start = time.perf_counter()
            for sql, params in recorded.values():
                with store.cursor() as cur:
                    cur.execute(sql, list(params or [])).fetchall()
            return time.perf_counter() - start

        recompute(selections[0])                               # warm-up: imports, DuckDB's buffers
        replay()
        python_times, query_times, counts = [], [], []
        for _ in range(repeat):
            for channels in selections:
                python_times.append(recompute(channels))
                counts.append(len(recorded))
                query_times.append(replay())
        out[slug] = {"section_python": summary(python_times), "duckdb": summary(query_times),
                     "queries": max(counts), "methods": len(methods)}

    start = time.perf_counter()
    columns = ["date", "campaign_id", "campaign_name", "campaign_type", "channel", "region", *SUMS]
    frame = pd.read_csv(folder / "campaign_performance.csv", usecols=columns, parse_dates=["date"])
    out["pandas_load_s"] = time.perf_counter() - start
    customers = None
    if (folder / "customer_data.csv").exists():
        customers = pd.read_csv(folder / "customer_data.csv", usecols=["region"])
    for slug, selections in states.items():
        if slug not in out:
            continue
        work = PANDAS_WORK[slug]
        work(frame, customers, selections[0])                  # warm-up
        times = []
        for _ in range(repeat):
            for channels in selections:
                start = time.perf_counter()
                work(frame, customers, channels)
                times.append(time.perf_counter() - start)
        out[slug]["pandas"] = summary(times)
    return out


def _filtered(frame, channels: tuple[str, ...], start=None, end=None):
    mask = frame["channel"].isin(list(channels))
    if start is not None:
        mask &= frame["date"].between(start, end)
    return frame.loc[mask]


def _by_period(part, freq: str, *by: str):
    period = part["date"].dt.to_period(freq).dt.start_time.rename("period")
    return part.groupby([period, *[part[b] for b in by]])[SUMS].sum()


def pandas_overview(frame, customers, channels: tuple[str, ...]) -> None:
    """The Executive overview's aggregations under a channel filter, in pandas (cf. views/overview.py)."""
    import pandas as pd

    lo, hi = frame["date"].min(), frame["date"].max()
    part = _filtered(frame, channels, lo, hi)
    part[SUMS].sum()                                                      # KPI cards
    length = hi - lo
    previous = _filtered(frame, channels, lo - length - pd.Timedelta(days=1), lo - pd.Timedelta(days=1))
    previous[SUMS].sum()                                                  # … previous period
    part.groupby("channel")[SUMS].sum()                                   # revenue by channel
    previous.groupby("channel")[SUMS].sum()
    history = _filtered(frame, channels)
    daily = history.groupby("date")[SUMS].sum()                           # alerts: whole history
    calendar = pd.date_range(lo, hi, freq="D")
    revenue = daily["revenue"].reindex(calendar, fill_value=0)
    revenue.rolling(7).mean(), revenue.rolling(30).mean()                 # revenue trend
    part.groupby("date")[SUMS].sum()                                      # daily metrics
    if customers is not None:
        len(customers)                                                    # customers card


def pandas_campaigns(frame, customers, channels: tuple[str, ...]) -> None:
    """Campaign analytics' aggregations under a channel filter, in pandas (cf. views/campaigns.py)."""
    lo, hi = frame["date"].min(), frame["date"].max()
    part = _filtered(frame, channels, lo, hi)
    part.groupby("channel")[SUMS].sum()                                   # channel bars and table
    year = part[part["date"].dt.year == hi.year]
    year.groupby([year["date"].dt.quarter.rename("quarter"), year["region"]])[SUMS].sum()  # region × quarter
    _by_period(part, "M", "campaign_type")                                # monthly spend by type
    _by_period(part, "W")                                                 # weekly revenue trend
    part.groupby(["date", "channel"])[SUMS].sum()                         # cumulative conversions
    part.groupby("date")[SUMS].sum()                                      # calendar
    _by_period(part, "M", "channel")                                      # ROAS trend, bubbles
    part.groupby(["campaign_id", "campaign_name", "channel"])[SUMS].sum()  # leaderboard


PANDAS_WORK = {"overview": pandas_overview, "campaigns": pandas_campaigns}


# -- a data set -----------------------------------------------------------------------------------------
def channels_of(folder: Path) -> list[str]:
    """The channel names of the campaign file (read with DuckDB, no app import)."""
    import duckdb

    path = str(folder / "campaign_performance.csv").replace("'", "''")
    rows = duckdb.sql(f"SELECT DISTINCT channel FROM read_csv('{path}', header=true, all_varchar=true) "
                      "WHERE channel IS NOT NULL ORDER BY 1").fetchall()
    return [r[0] for r in rows]


def section_list() -> list[tuple[str, str]]:
    from novamart_panel.app import NAVIGATION, SECTIONS

    titles = {cls.slug: cls.title for cls in SECTIONS}
    ordered = [slug for _, slugs in NAVIGATION for slug in slugs if slug in titles]
    ordered += [slug for slug in titles if slug not in ordered]
    return [(titles[slug], slug) for slug in ordered]


def filter_states(channels: list[str], offset: int, count: int) -> list[tuple[str, ...]]:
    """`count` distinct channel selections: single channels (starting at `offset`), then pairs."""
    n = len(channels)
    singles = [(channels[(offset + i) % n],) for i in range(n)]
    pairs = [(channels[(offset + i) % n], channels[(offset + j) % n]) for i in range(n) for j in range(i + 1, n)]
    states = singles + pairs
    return [states[i % len(states)] for i in range(count)]


OVERVIEW_CASES = {"filter_overview_kpi": ("text", KPI_NEEDLE), "filter_overview_chart": ("figure", CHANNEL_CHART)}
CAMPAIGN_CASES = {"filter_campaigns": ("figure", CHANNEL_CHART)}


def run_filters(run: Round, prefix: str, plan: dict[str, list], limit_s: float) -> None:
    run.filters(LANDING, "overview", OVERVIEW_CASES, prefix, plan["overview"], limit_s)
    run.filters(CAMPAIGNS, "campaigns", CAMPAIGN_CASES, prefix, plan["campaigns"], limit_s)


def bench_data_set(browser, name: str, folder: Path, args, work: Path, rounds: int, filter_samples: int,
                   timeout_s: float, section_limit_s: float) -> dict:
    """Every round of one data set; then the in-process comparisons for the same filter states."""
    result: dict = {"name": name, "folder": str(folder), "load": [], "filter_samples": filter_samples}
    cache_dir = work / f"cache-{name}"
    cache_dir.mkdir(parents=True, exist_ok=True)
    server_log = work / f"server-{name}.log"
    channels = channels_of(folder)
    sections = section_list()
    result["channels"] = channels

    # The very first start builds the DuckDB cache: reported on its own, then wait for the background
    # data-quality checks so that they do not run during the rounds.
    log(f"{name}: first start (builds the cache in {cache_dir})")
    server = Server(folder, cache_dir, server_log)
    first: dict = {}
    try:
        server.start(timeout_s)
        first_round = Round(browser, server, args, first, channels, -1, timeout_s)
        try:
            first_round.cold_start("start")
            waited = server.wait_idle(timeout_s)
            log(f"  server idle after {waited:.0f} s more (data-quality checks)")
        finally:
            first_round.close()
    finally:
        server.stop()
    result["first_start"] = first.get("start", [None])[0]
    result["first_start_settled"] = first.get("start_settled", [None])[0]

    for index in range(rounds):
        result["load"].append(load_average())
        log(f"{name}: round {index + 1}/{rounds}")
        server = Server(folder, cache_dir, server_log)
        run = None
        try:
            server.start(timeout_s)
            run = Round(browser, server, args, result, channels, index, timeout_s)
            run.cold_start("start")
            for _ in range(args.reloads):
                run.reload()
            # Every measured filter state is new to this server (no memo answers it): k per case and phase.
            picks = iter(filter_states(channels, index, 4 * filter_samples))
            plan = {prefix: {slug: [next(picks) for _ in range(filter_samples)] for slug in ("overview", "campaigns")}
                    for prefix in ("fresh:", "after:")}
            # A fresh session: only the landing section and Campaign analytics in the page.
            run.reload(record=False)
            run_filters(run, "fresh:", plan["fresh:"], section_limit_s)
            # Another session: every section once (first switch), memory, then the same filter cases again
            # with every section's views in the page.
            run.reload(record=False)
            run.sections(sections, section_limit_s)
            result.setdefault("rss_after_sections", []).append(server.memory_mb())
            log(f"  server memory after every section: {result['rss_after_sections'][-1]}")
            run_filters(run, "after:", plan["after:"], section_limit_s)
            result.setdefault("rss_end", []).append(server.memory_mb())
            result.setdefault("page_errors", []).extend(run.errors)
        except Exception as exc:  # noqa: BLE001 - one failed round is reported, the others still count
            result.setdefault("round_errors", []).append(f"round {index + 1}: {type(exc).__name__}: {exc}")
            log(f"  round {index + 1} failed: {exc}")
        finally:
            if run is not None:
                run.close()
            server.stop()
    result["load"].append(load_average())

    if not args.skip_in_process:
        log(f"{name}: DuckDB, section Python and pandas in this process")
        os.environ["NOVAMART_CACHE_DIR"] = str(cache_dir)
        states = {slug: sorted(set(map(tuple, v))) for slug, v in result.get("states", {}).items()}
        result["in_process"] = in_process(folder, states, args.in_process_repeat)
    return result


# -- report ---------------------------------------------------------------------------------------------
def report(result: dict, targets: dict) -> str:
    """The Markdown section of one data set."""
    lines = [f"### {result['name']}: `{result['folder']}`", ""]
    if result.get("generated_s"):
        lines.append(f"Generated by `novamart-panel generate` in {result['generated_s']:.0f} s.")
    lines.append(f"Load average (1/5/15 min) at each round start and at the end: {'; '.join(result.get('load', []))}.")
    lines += ["", "| measure | median (p95; min–max; n) | target |", "| --- | --- | --- |"]

    def row(label, key, target_key=None):
        stats = summary(result.get(key, []))
        if stats is not None:
            lines.append(f"| {label} | {describe(stats)} | {verdict(stats, targets.get(target_key))} |")

    lines.append(f"| first start, builds the cache: process start → first chart | {seconds(result.get('first_start'))} "
                 f"(settled {seconds(result.get('first_start_settled'))}) | |")
    row("start with the cache: process start → first chart", "start", "start")
    row("… → all charts of the landing section", "start_all")
    row("… → page settled", "start_settled")
    row("… of which process start → port listening", "listening")
    row("reload → first chart (a new session)", "reload", "reload")
    row("reload → all charts", "reload_all")
    row("reload → page settled", "reload_settled")
    for prefix, where in (("fresh:", "fresh session"), ("after:", "after visiting every section")):
        for key, label in (("filter_overview_kpi", "Executive overview: channel → KPI card text updated"),
                           ("filter_overview_chart", f"Executive overview: channel → “{CHANNEL_CHART}” updated"),
                           ("settled_overview", "Executive overview: channel → page settled"),
                           ("filter_campaigns", f"Campaign analytics: channel → “{CHANNEL_CHART}” updated"),
                           ("settled_campaigns", "Campaign analytics: channel → page settled")):
            row(f"{label} ({where})", prefix + key, key)
            if key.startswith("settled"):
                continue
            row("… of which until its new data reached the page (before painting)", f"{prefix}{key}_data")
            k = result.get("filter_samples") or 0
            values = result.get(prefix + key, [])
            if k > 1 and len(values) >= k:   # in each round and phase, the first pick comes first
                first = summary(values[0::k])
                later = summary([v for i, v in enumerate(values) if i % k])
                lines.append(f"| … the first change in the session / the later ones | {describe(first)} / "
                             f"{describe(later)} | |")
    memory = [m for m in result.get("rss_after_sections", []) if m.get("rss") is not None]
    if memory:
        rss = summary([m["rss"] for m in memory])
        peak = summary([m["peak"] for m in memory])
        lines.append(f"| server RSS after visiting every section (peak) | {rss['median']:,.0f} MB (max {rss['max']:,.0f} MB; "
                     f"peak {peak['max']:,.0f} MB; n={rss['n']}) | {verdict(peak, targets.get('rss'))} |")

    ip = result.get("in_process", {})
    if any(slug in ip for slug in PANDAS_WORK):
        lines += ["", f"The same channel selections in this process (pandas read the CSV in {ip['pandas_load_s']:.1f} s):",
                  "", "| section | DuckDB: the section's queries | the section's Python (data, charts, insights; "
                      "no Bokeh) | pandas: the same aggregations |", "| --- | --- | --- | --- |"]
        for slug, label in (("overview", LANDING), ("campaigns", CAMPAIGNS)):
            if slug in ip:
                c = ip[slug]
                lines.append(f"| {label} | {describe(c['duckdb'])}, {c['queries']} queries | "
                             f"{describe(c['section_python'])}, {c['methods']} methods | {describe(c.get('pandas'))} |")

    switches = result.get("switch", {})
    if switches:
        lines += ["", "First switch to each section: click → its first views shown (the first screen's tables and "
                      "text; its top chart too, when it has one there), its first chart drawn (its content shown when "
                      "it has no chart), all its charts drawn, the page settled; and how long the server stayed busy "
                      "after that (work in the background). Each click waits for an idle server.", "",
                  "| section | charts | first views shown | drawn | all charts | settled | server busy after (max) "
                  "| target |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for title, runs in switches.items():
            drawn = summary([r["drawn"] for r in runs])
            figures = max(r["figures"] for r in runs)
            timeouts = sum(r["timed_out"] for r in runs)
            busy = [r["busy_after"] for r in runs if r.get("busy_after") is not None]
            lines.append(f"| {title}{'' if figures else ' (no chart)'} | {figures} | "
                         f"{describe(summary([r['shown'] for r in runs]))} | {describe(drawn)} | "
                         f"{describe(summary([r['all'] for r in runs])) if figures else '–'} | "
                         f"{describe(summary([r['settled'] for r in runs]))}{f', {timeouts} timed out' if timeouts else ''} | "
                         f"{seconds(max(busy)) if busy else '–'} | {verdict(drawn, targets.get('switch'))} |")
    for key, label in (("switch_missing", "Sections not in the navigation"), ("watch_missing", "Not found on the page"),
                       ("round_errors", "Failed rounds"), ("page_errors", "Page errors")):
        if result.get(key):
            lines.append(f"\n{label}: {'; '.join(sorted(set(map(str, result[key]))))}")
    return "\n".join(lines)


def generate(folder: Path, campaign_rows: int, customers: int) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "novamart_panel.cli", "generate", "--campaign-rows", str(campaign_rows),
                    "--customers", str(customers), "--out", str(folder)], check=True, cwd=REPO,
                   env=dict(os.environ, PYTHONPATH=str(REPO)))
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="the reference data folder (rounds at this size)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (server starts) on --data")
    parser.add_argument("--reloads", type=int, default=2, help="reloads per round")
    parser.add_argument("--filter-samples", type=int, default=2,
                        help="channels picked per round on each of the two sections (distinct states)")
    parser.add_argument("--scale-dir", type=Path, help="large data folder (generated there when missing)")
    parser.add_argument("--scale-repeat", type=int, default=2, help="rounds on --scale-dir")
    parser.add_argument("--campaign-rows", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--remove-scale-data", action="store_true", help="delete --scale-dir at the end")
    parser.add_argument("--in-process-repeat", type=int, default=5)
    parser.add_argument("--skip-in-process", action="store_true", help="no DuckDB/pandas comparison")
    parser.add_argument("--timeout", type=float, default=300, help="seconds for a start or a page load")
    parser.add_argument("--section-timeout", type=float, default=120, help="seconds for a switch or a filter")
    parser.add_argument("--json", type=Path, help="also write every sample here")
    parser.add_argument("--work-dir", type=Path, help="cache folders and server logs (default: a temp folder)")
    parser.add_argument("--from-json", type=Path, help="only print the tables of a run saved with --json")
    args = parser.parse_args(argv)
    if args.from_json:
        for result in json.loads(args.from_json.read_text()):
            kind = result.get("kind") or ("reference" if result["name"] == "reference data" else "scale")
            print(report(result, REFERENCE_TARGETS if kind == "reference" else SCALE_TARGETS), end="\n\n")
        return 0
    if not args.data and not args.scale_dir:
        parser.error("give --data, --scale-dir or both")
    if not Path(CHROMIUM).is_file():
        parser.error(f"no Chromium at {CHROMIUM} (set NOVAMART_CHROMIUM)")

    from playwright.sync_api import sync_playwright

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="nm_browser_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    results, generated = [], None
    started = time.time()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                if args.data:
                    reference = bench_data_set(browser, "reference data", args.data.resolve(), args, work,
                                               args.repeat, args.filter_samples, args.timeout, args.section_timeout)
                    reference["kind"] = "reference"
                    results.append((reference, REFERENCE_TARGETS))
                if args.scale_dir:
                    folder = args.scale_dir.resolve()
                    if not (folder / "campaign_performance.csv").exists():
                        log(f"generating {args.campaign_rows:,} campaign rows and {args.customers:,} customers "
                            f"into {folder}")
                        generated = generate(folder, args.campaign_rows, args.customers)
                        log(f"  generated in {generated:.0f} s")
                    name = f"{args.campaign_rows / 1e6:g}M campaign rows + {args.customers / 1e6:g}M customers"
                    scale = bench_data_set(browser, name, folder, args, work, args.scale_repeat,
                                           args.filter_samples, args.timeout, args.section_timeout)
                    scale["generated_s"], scale["kind"] = generated, "scale"
                    results.append((scale, SCALE_TARGETS))
            finally:
                browser.close()
    finally:
        if args.remove_scale_data and args.scale_dir and args.scale_dir.exists():
            shutil.rmtree(args.scale_dir)
        if not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)

    import platform

    print(f"## Browser benchmark, {dt.datetime.now():%Y-%m-%d %H:%M}\n")
    print(f"{os.cpu_count()} cores, Python {platform.python_version()}, Chromium headless; "
          f"{time.time() - started:.0f} s in all. Times are from the press (pointerdown) in the page.\n")
    for result, targets in results:
        print(report(result, targets))
        print()
    if args.json:
        args.json.write_text(json.dumps([r for r, _ in results], indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
