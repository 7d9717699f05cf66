"""First view: seconds until Home's title, and then its Lecture demo button, show for the first and the second
visitor of a fresh server.

    python benchmarks/first_view.py [REPO] [--repeats 3] [--timeout 300]

REPO is the checkout whose dashboard.py is served (default: this one), so the same script measures
another tree, e.g. a worktree of an older commit:

    git worktree add /tmp/fv-before <commit>
    python benchmarks/first_view.py /tmp/fv-before

Each repetition starts `python -m streamlit run dashboard.py --server.headless true --server.port P
--server.address 127.0.0.1` in REPO (its own .streamlit/config.toml, PYTHONPATH=REPO so REPO's attn
is imported, a fresh empty ATTN_HOME), waits for /_stcore/health, then opens Home in headless
Chromium twice, each time in a new browser context (no shared cache or cookies): the first visitor
pays for whatever the server imports on its first page view, the second for a page view of a warm
server. A visit's times run from `page.goto` until the heading "Attention Lab" is visible (Home's head:
title, introduction, equations), and until the Lecture demo button is (Home's right column, which reads
the store: drawn after pandas has loaded). Also
printed: the server's start (process start to a healthy /_stcore/health), and whether the server
process had loaded torch (libtorch in /proc/PID/maps) once both visitors were served.
Figures are printed, never asserted.
"""
from __future__ import annotations

import argparse
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
TITLE = "Attention Lab"  # Home's heading
BUTTON = "Lecture demo"  # Home's first button, in the column that reads the store
THIS_REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(repo: Path, home: Path) -> dict:
    """The environment of a server of `repo`: its attn first on the path, its own ATTN_HOME, no other ATTN_."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTN_")}
    env.update(ATTN_HOME=str(home), PYTHONPATH=str(repo))
    return env


def check_attn_source(repo: Path) -> None:
    """Refuse to measure when REPO's dashboard would import attn from somewhere else (an editable install)."""
    env = server_env(repo, Path(tempfile.gettempdir()))
    found = subprocess.run([sys.executable, "-c", "import attn; print(attn.__file__)"], cwd=repo, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    if not Path(found).resolve().is_relative_to(repo):
        sys.exit(f"{repo}/dashboard.py would import attn from {found}, not from {repo}/attn")


def start_server(repo: Path, home: Path, log) -> tuple[subprocess.Popen, str, float]:
    """A fresh server of `repo` -> (process, base URL, seconds until /_stcore/health said ok)."""
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--browser.gatherUsageStats", "false"],
                            cwd=repo, env=server_env(repo, home), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode}; see {log.name}")
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return proc, url, time.perf_counter() - started
        except OSError:
            time.sleep(0.05)


def stop_server(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def torch_loaded(pid: int) -> bool:
    """True when the process has libtorch mapped (it imported torch)."""
    try:
        return "libtorch" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def visit(browser, url: str, timeout_ms: float) -> tuple[float, float]:
    """Seconds from opening `url` in a new browser context until Home's title, and its demo button, are visible."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    try:
        page = context.new_page()
        started = time.perf_counter()
        page.goto(url, timeout=timeout_ms)
        page.get_by_role("heading", name=TITLE, exact=True).wait_for(state="visible", timeout=timeout_ms)
        title = time.perf_counter() - started
        page.get_by_role("button", name=BUTTON).wait_for(state="visible", timeout=timeout_ms)
        return title, time.perf_counter() - started
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("repo", nargs="?", type=Path, default=THIS_REPO, help="the checkout to serve")
    parser.add_argument("--repeats", type=int, default=3, help="fresh servers, one after the other")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds before a visit counts as hung")
    args = parser.parse_args()
    repo = args.repo.resolve()
    if not (repo / "dashboard.py").exists():
        sys.exit(f"{repo} has no dashboard.py")
    check_attn_source(repo)
    commit = subprocess.run(["git", "-C", str(repo), "log", "-1", "--format=%h %s"], capture_output=True,
                            text=True).stdout.strip()[:90]
    print(f"first_view.py: {repo} ({commit or 'not a git checkout'})")
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    rows = []
    with sync_playwright() as p, tempfile.TemporaryDirectory(prefix="first-view-") as scratch:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        visit_timeout_ms = args.timeout * 1000
        for i in range(args.repeats):
            home = Path(scratch) / f"home{i}"
            home.mkdir()
            with open(Path(scratch) / f"server{i}.log", "w") as log:
                proc, url, start = start_server(repo, home, log)
                try:
                    first = visit(browser, url, visit_timeout_ms)
                    second = visit(browser, url, visit_timeout_ms)
                    torch = torch_loaded(proc.pid)
                finally:
                    stop_server(proc)
            rows.append((start, *first, *second, torch))
            print(f"  repeat {i + 1}: server start {start:5.2f} s | first visitor: title {first[0]:5.2f} s, "
                  f"button {first[1]:5.2f} s | second visitor: title {second[0]:5.2f} s, button {second[1]:5.2f} s | "
                  f"torch in the server afterwards: {'yes' if torch else 'no'}")
        browser.close()
    for label, column in (("server start", 0), ("first: title", 1), ("first: button", 2), ("second: title", 3),
                          ("second: button", 4)):
        values = [row[column] for row in rows]
        print(f"{label:>15}: median {statistics.median(values):5.2f} s  (min {min(values):.2f}, max {max(values):.2f})")


if __name__ == "__main__":
    main()
