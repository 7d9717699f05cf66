"""The class-of-forty load test: the dashboard with 200 stored runs, two trainings and forty visitors.

    python benchmarks/load_test.py [--visitors 40] [--seconds 60] [--out artifacts/load-test] [--skip-training]
    python benchmarks/load_test.py --store /tmp/store-200 --streamlit-option runner.postScriptGC=false

(--store keeps the filled store for the next run; --streamlit-option tries a server setting.)

Forty real browsers cannot be the load here (headless Chromium tabs cost seconds of CPU each on a
small machine), so each visitor speaks Streamlit's own websocket protocol, as the browser's frontend
does: one connection to ws://127.0.0.1:PORT/_stcore/stream per visitor; a page view is the BackMsg
`rerun_script` (page_name = the URL path on the first load, page_script_hash afterwards, the hashes
taken from the app's `navigation` message) and lasts until the ForwardMsg `script_finished`. A visitor
on the Train page also sends the fragment reruns its `auto_rerun` asks for (every second while runs
train), as the browser does. Page time = send to `script_finished`, on loopback.

Setup, in a temporary ATTN_HOME (never ./runs):
  1. real runs: the tiny preset (none, additive, dot) and the lecture preset's data trained for one
     epoch (none, additive, dot); their results are stored again under other seeds and learning rates
     until --runs runs (200) fill the store, in comparison groups of 3 variants x 3 seeds; the
     lecture-sized group is stored last, so every page opens on it;
  2. the app: streamlit run dashboard.py --server.headless true --server.port P --server.address 127.0.0.1;
  3. two trainings: the lecture preset (additive and dot) with --training-epochs epochs (30, so that
     they last through every scenario), queued by a JobRunner in a helper process (what the Lecture
     demo button does), training at low priority beside the server.
Scenarios:
  (c) one visitor: each page's time, median of 5 reruns 0.5 s apart after a warm-up view; once before
      the trainings start and once while they run;
  (a) a class browsing: --visitors visitors, each viewing the next page (cycling through all of them)
      every --period seconds for --seconds seconds, starts spread over one period;
  (b) a burst: --visitors new visitors open /compare at the same instant (index.html and its scripts
      over HTTP, then the websocket and the page run): the time until all are served.
One real Chromium (Playwright) opens Compare and Attention in the middle of (a) and screenshots them.
At the end: both trainings finished, runs before and after, PRAGMA integrity_check, the prefilled runs'
rows intact, tracebacks in the server log. One JSON summary is printed and written to OUT/summary.json.
Each scenario also reports whose CPU it saw (server, trainings, this load generator, the browser, other
users' processes): on a shared machine the last one changes every figure. Figures are printed, never
asserted; goals are shown beside them.

Beside this script: load_setup.py (the store, the app, the trainings), streamlit_visitor.py (the
protocol client) and load_report.py (statistics, CPU shares, row counts).
"""
from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from attn.runs.store import RunStore
# this folder's modules (the script's folder is on sys.path)
from load_report import cpu_by_process, cpu_shares, descendants, row_counts, source_mtimes, stats, trainings_state
from load_setup import ROOT, free_port, log, prefill, start_app, start_trainings
from streamlit_visitor import Page, View, Visitor, discover_pages, timed_view

GOALS = {"browse_p95_s": 1.5, "burst_all_served_s": 10.0, "single_page_ms": 150.0}


# --------------------------------------------------------------------------------------- scenarios

async def single_visitor(url: str, pages: list[Page], reruns: int = 5, pause: float = 0.5) -> dict:
    """(c) Each page: one warm-up view, then `reruns` timed reruns -> median/min/max ms per page.

    Reruns are `pause` s apart, as a person's clicks are: the server's work after a run (Streamlit's
    gc.collect() unless runner.postScriptGC is off) then does not count as the next page's time.
    """
    visitor = Visitor(url, pages)
    out: dict = {}

    async def timed(label: str, page_hash: str, fragment_id: str = "") -> None:
        times, errors = [], []
        for _ in range(reruns):
            await asyncio.sleep(pause)
            seconds, _, errs = await visitor.run(page_hash, fragment_id=fragment_id)
            times.append(seconds * 1000)
            errors += errs
        out[label] = {"median_ms": round(statistics.median(times), 1), "min_ms": round(min(times), 1),
                      "max_ms": round(max(times), 1), "errors": errors[:3]}

    await visitor.open()
    try:
        await visitor.run(page_name=pages[0].url)
        for page in pages:
            await visitor.run(page_hash=page.hash)  # warm-up: caches of this page filled
            await timed(page.name, page.hash)
            if visitor.auto is not None:  # the Train page's live fragment
                await timed(f"{page.name} (live fragment)", visitor.page_hash, visitor.auto[1])
    finally:
        await visitor.close()
    return out


async def browsing(url: str, pages: list[Page], visitors: int, seconds: float, period: float,
                   views: list[View], midway=None) -> None:
    """(a) Every visitor views the next page every `period` s; starts spread over one period."""
    t0 = time.monotonic() + 0.5
    end = t0 + seconds

    async def visitor(i: int) -> None:
        v = Visitor(url, pages)

        def record(page, kind, began, secs, received, errors):
            views.append(View("browse", i, page, kind, began - t0, secs, received, errors))

        at, k, first = t0 + period * i / visitors, i, True
        try:
            while at < end:
                if first:
                    await asyncio.sleep(max(0.0, at - time.monotonic()))
                else:
                    await v.idle_until(at, record)
                page = pages[k % len(pages)]
                began = time.monotonic()
                secs, received, errors = await timed_view(v, page, first)
                record(page.name, "load" if first else "nav", began, secs, received, errors)
                if first and errors:
                    return  # could not even open the app
                first, k = False, k + 1
                at = max(at + period, time.monotonic())
        finally:
            await v.close()

    tasks = [visitor(i) for i in range(visitors)]
    if midway is not None:
        tasks.append(midway(t0, seconds))
    await asyncio.gather(*tasks)


async def http_get(host: str, port: int, path: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept-Encoding: gzip\r\n"
                 f"Connection: close\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


async def burst(url: str, port: int, compare: Page, visitors: int, views: list[View]) -> dict:
    """(b) `visitors` new tabs open /compare at once: HTML and entry scripts, then the page itself."""
    status, html = await http_get("127.0.0.1", port, "/")
    assets = ["/" + a for a in re.findall(r'(?:src|href)="\./((?:static)/[^"]+)"', html.decode("utf-8", "replace"))]
    http_times, done = [], []
    t0 = time.monotonic()

    async def tab(i: int) -> None:
        began = time.monotonic()
        errors: list = []
        try:  # what a browser fetches before the websocket: the page, its entry scripts, two checks
            for path in [f"/{compare.url}", "/_stcore/health", "/_stcore/host-config"]:
                code, _ = await http_get("127.0.0.1", port, path)
                if code != 200:
                    errors.append(f"HTTP {code} for {path}")
            queue = list(assets)

            async def fetcher():
                while queue:
                    path = queue.pop()
                    code, _ = await http_get("127.0.0.1", port, path)
                    if code != 200:
                        errors.append(f"HTTP {code} for {path}")
            await asyncio.gather(*(fetcher() for _ in range(6)))  # a browser's 6 connections per host
        except Exception as exc:
            errors.append(f"HTTP {type(exc).__name__}: {exc}")
        http_times.append(time.monotonic() - began)
        v = Visitor(url, [compare])
        secs, received, errs = await timed_view(v, compare, first=True)
        await v.close()
        done.append(time.monotonic() - t0)
        views.append(View("burst", i, compare.name, "load", began - t0, time.monotonic() - began, received,
                          errors + errs))

    await asyncio.gather(*(tab(i) for i in range(visitors)))
    return {"all_served_s": round(max(done), 2), "http_p50_s": round(statistics.median(http_times), 2),
            "http_max_s": round(max(http_times), 2), "assets_per_visitor": len(assets) + 3}


async def browser_check(port: int, out: str, result: dict, t0: float, seconds: float) -> None:
    """Beside (a): one real Chromium opens Compare and Attention mid-load and screenshots them."""
    from playwright.async_api import async_playwright
    await asyncio.sleep(max(0.0, t0 + seconds * 0.35 - time.monotonic()))
    procs0, opened = cpu_by_process(), time.monotonic()
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path="/usr/bin/chromium",
                                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = await browser.new_page(viewport={"width": 1400, "height": 1000})
            for name in ("compare", "attention"):
                began = time.monotonic()
                await page.goto(f"http://127.0.0.1:{port}/{name}", wait_until="domcontentloaded", timeout=120_000)
                chart = '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg'
                await page.wait_for_selector(chart, timeout=120_000)
                drawn = time.monotonic() - began
                errors = await page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').count()
                path = os.path.join(out, f"midload-{name}.png")
                await page.screenshot(path=path, full_page=True)
                result[name] = {"chart_drawn_s": round(drawn, 2), "errors_on_page": errors,
                                "screenshot": path,
                                "at_s": round(began - t0, 1)}
            procs = cpu_by_process()  # the driver and Chromium: this process's children started meanwhile
            started = descendants(procs, os.getpid()) - set(procs0)
            result["cpu_percent_of_one_core_while_open"] = round(
                100 * sum(procs[pid][1] for pid in started) / (time.monotonic() - opened))
            await browser.close()
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"[:500]


def _overlap(run, start: float, end: float) -> float:
    """The share of [start, end] (epoch seconds) during which `run` (a store.run() RunRecord) was training."""
    began, ended = run.started or end, run.finished or end
    return round(max(0.0, min(end, ended) - max(start, began)) / max(end - start, 1e-9), 2)


def _rounded(value, digits: int = 1):
    return None if value is None or value != value else round(float(value), digits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the browsing scenario (a)")
    parser.add_argument("--period", type=float, default=10.0, help="seconds between one visitor's page views in (a)")
    parser.add_argument("--runs", type=int, default=200, help="runs in the store")
    parser.add_argument("--out", default=os.path.join(ROOT, "artifacts", "load-test"),
                        help="folder for summary.json, screenshots and the server log")
    parser.add_argument("--store", help="keep the filled store in this folder and reuse it next time (the test "
                                        "itself always runs on a temporary copy)")
    parser.add_argument("--streamlit-option", action="append", default=[], metavar="KEY=VALUE",
                        help="a Streamlit option for the app, e.g. runner.postScriptGC=false (repeatable)")
    parser.add_argument("--training-epochs", type=int, default=30,
                        help="epochs of the two lecture-preset trainings (default 30: they train through every "
                             "scenario; the preset's own 4 end within half a minute)")
    parser.add_argument("--skip-training", action="store_true", help="no trainings beside the load (quicker)")
    parser.add_argument("--no-checkpoints", action="store_true",
                        help="the trainings take no checkpoints, so the Train page has no live length chart "
                             "or probe map (to compare with the default, which has them)")
    parser.add_argument("--skip-browser", action="store_true", help="no real Chromium beside the load")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    out = os.path.abspath(args.out)
    summary: dict = {"command": "python benchmarks/load_test.py " + shlex.join(sys.argv[1:]),
                     "date": datetime.datetime.now().isoformat(timespec="seconds"),
                     "machine": {"cores": len(os.sched_getaffinity(0)), "python": platform.python_version(),
                                 "streamlit": __import__("streamlit").__version__},
                     "goals": GOALS}
    home = tempfile.mkdtemp(prefix="attn-load-")
    app = helper = None
    try:
        if args.store and os.path.exists(os.path.join(args.store, "runs.sqlite")):
            log(f"copying the filled store {args.store} to {home}")
            shutil.copytree(args.store, home, dirs_exist_ok=True)
            prefilled = list(RunStore(home).runs(status="done")["id"])
        else:
            log(f"store {home}: filling it with {args.runs} runs")
            prefilled = prefill(home, args.runs)
            if args.store:
                RunStore(home).close()
                shutil.copytree(home, args.store, dirs_exist_ok=True)
        store = RunStore(home)
        before = {"runs": len(store.runs()), "prefilled_rows": row_counts(home, prefilled)}

        sources = source_mtimes()
        port = free_port()
        app = start_app(home, port, os.path.join(out, "server.log"), args.streamlit_option)
        url = f"ws://127.0.0.1:{port}/_stcore/stream"
        pages = asyncio.run(discover_pages(url))
        log(f"app on port {port}, pages: {', '.join(p.name for p in pages)}")

        windows: dict[str, tuple[float, float]] = {}

        def scenario(name: str, coroutine):
            """Run one scenario -> (its result, whose CPU it saw)."""
            procs0, t0, started = cpu_by_process(), time.monotonic(), time.time()
            result = asyncio.run(coroutine)
            wall = time.monotonic() - t0
            windows[name] = (started, time.time())
            roots = {"server": app.pid, "trainings": helper.pid if helper else None}
            return result, {"wall_s": round(wall, 1),
                            "cpu_percent_of_one_core": cpu_shares(procs0, cpu_by_process(), wall, roots)}

        training_ids: list[str] = []
        log("(c) one visitor, no training")
        summary["single_visitor_idle"], summary["machine_during_single_visitor_idle"] = scenario(
            "single_visitor_idle", single_visitor(url, pages))
        if not args.skip_training:
            helper, training_ids = start_trainings(home, args.training_epochs, os.path.join(out, "trainings.log"),
                                                   checkpoints=not args.no_checkpoints)
            log(f"two lecture-preset trainings ({args.training_epochs} epochs): "
                f"{trainings_state(store, training_ids)} ({' '.join(training_ids)})")
            log("(c) one visitor, two trainings running")
            summary["single_visitor_training"], summary["machine_during_single_visitor_training"] = scenario(
                "single_visitor_training", single_visitor(url, pages))

        views: list[View] = []
        browser: dict = {}
        midway = None if args.skip_browser else (lambda t0, s: browser_check(port, out, browser, t0, s))
        log(f"(a) {args.visitors} visitors browsing for {args.seconds:.0f} s, a page every {args.period:.0f} s")
        _, machine = scenario("browsing", browsing(url, pages, args.visitors, args.seconds, args.period, views,
                                                   midway))
        pages_views = [v for v in views if v.kind != "fragment"]
        summary["browsing"] = {
            "visitors": args.visitors, "seconds": args.seconds, "period_s": args.period,
            "page_views": stats(pages_views),
            "per_page": {p.name: stats([v for v in pages_views if v.page == p.name]) for p in pages},
            "first_loads": stats([v for v in views if v.kind == "load"]),
            "train_live_fragment_reruns": stats([v for v in views if v.kind == "fragment"]),
            "error_samples": sorted({e for v in views for e in v.errors})[:8],
            "browser": browser, "machine": machine}

        log(f"(b) {args.visitors} visitors open Compare at once")
        compare = next(p for p in pages if p.url == "compare")
        burst_views: list[View] = []
        result, machine = scenario("burst", burst(url, port, compare, args.visitors, burst_views))
        summary["burst"] = {"visitors": args.visitors, **result, "page": stats(burst_views),
                            "error_samples": sorted({e for v in burst_views for e in v.errors})[:8],
                            "machine": machine}

        if helper is not None:
            log("waiting for the two trainings to finish")
            helper.wait(timeout=1800)
        after = {"runs": len(store.runs()), "prefilled_rows": row_counts(home, prefilled)}
        runs = store.runs().set_index("id")
        summary["trainings_running_share_of_each_scenario"] = {
            name: [_overlap(store.run(i), start, end) for i in training_ids] for name, (start, end) in windows.items()}
        summary["store"] = {
            "runs_before": before["runs"], "runs_after": after["runs"],
            "prefilled_rows_intact": before["prefilled_rows"] == after["prefilled_rows"],
            "integrity_check": store.integrity_check(),
            "trainings": [{"id": i, "status": runs.loc[i, "status"],
                           "train_seconds": _rounded(runs.loc[i, "train_seconds"]),
                           "bleu": _rounded(runs.loc[i, "bleu"])} for i in training_ids]}
        with open(os.path.join(out, "server.log"), errors="replace") as f:
            server_log = f.read()
        summary["server_log_tracebacks"] = server_log.count("Traceback (most recent call last)")
        now = source_mtimes()
        summary["sources_changed_during_test"] = sorted(p for p in set(now) | set(sources)
                                                        if now.get(p) != sources.get(p))
        # One Python process serves every visitor (the GIL): it keeps up only while the page views
        # asked for per second stay below 1 / (the mean server time of a page).
        single = [v["median_ms"] for k, v in summary["single_visitor_idle"].items() if "fragment" not in k]
        summary["capacity"] = {"offered_page_views_per_s": round(args.visitors / args.period, 2),
                               "pages_per_s_one_visitor_can_be_served": round(1000 / statistics.mean(single), 2)}
        verdict = summary["browsing"]["page_views"]
        summary["verdict"] = {
            "browse_p95_s": [verdict.get("p95_s"), "<", GOALS["browse_p95_s"]],
            "browse_errors": verdict.get("errors"),
            "burst_all_served_s": [summary["burst"]["all_served_s"], "<", GOALS["burst_all_served_s"]],
            "burst_errors": summary["burst"]["page"]["errors"],
            "single_page_ms_worst_median": [max(v["median_ms"] for v in summary["single_visitor_idle"].values()),
                                            "<", GOALS["single_page_ms"]]}
    finally:
        if app is not None:
            app.terminate()
            try:
                app.wait(15)
            except subprocess.TimeoutExpired:
                app.kill()
        if helper is not None and helper.poll() is None:
            helper.kill()
        shutil.rmtree(home, ignore_errors=True)
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
