"""What the server keeps for every visitor: one RunStore and one JobRunner per process, the server's
settings, this visitor's session id, the store's snapshot, and cached loaders of immutable things.

Page reruns are cheap because what many visitors ask for is computed once for all of them: the run
list, configs and groups once per store version (`snapshot`: any add, delete, rename or status change
makes a new one), data and models once per config or run. Everything kept that way is shared between
sessions and must never be mutated.

Nothing here imports torch: only `load_model` does, when a page asks for a model (the Attention page,
for a sentence typed in). The job runner's workers import it in their own processes.
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import time
from typing import TYPE_CHECKING

import streamlit as st

from attn.app import compat
from attn.config import ConfigError
from attn.records import Decode
from attn.runs.executors import executor_name, make_runner
from attn.runs.runner import JobRunner
from attn.runs.settings import ServerSettings, server_settings
from attn.runs.store import FINISHED, RunStore, home
from attn.viz import support as ds

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("attn.dashboard")
EMPTY_HINT = "No finished runs yet: press **Lecture demo** on Home or queue runs on **Train**."


# ------------------------------------------------------------------ one store, one runner per process

@st.cache_resource(show_spinner=False)
def _store(path: str) -> RunStore:
    return RunStore(path)


@st.cache_resource(show_spinner=False)
def _runner(path: str, executor: str, address: str | None) -> JobRunner:
    s = settings()
    return make_runner(_store(path), executor=executor, address=address, max_jobs=s.max_jobs,
                       max_queued=s.max_queued)


RUNNER_RETRY_SECONDS = 30.0  # a runner that could not start (Ray unreachable) is tried again this often
_runner_failure: dict = {}   # (path, executor, address) -> (monotonic time, the ConfigError it raised)


def store() -> RunStore:
    """The run store of $ATTN_HOME (one per folder and process)."""
    return _store(str(home()))


def runner() -> JobRunner:
    """The job runner of this server process; created with the first page view, which also marks runs
    a crashed server left behind as interrupted. Its workers import torch in their own processes.

    On the executor ATTN_EXECUTOR names (attn.runs.executors): with ATTN_EXECUTOR=ray and the cluster at
    ATTN_RAY_ADDRESS unreachable this raises a ConfigError naming ATTN_RAY_ADDRESS, which the frame shows
    while the stored runs stay browsable; the cluster is tried again every RUNNER_RETRY_SECONDS, not at
    every page view."""
    server = settings()  # ATTN_EXECUTOR / ATTN_RAY_ADDRESS as read with the other server variables
    key = (str(home()), executor_name(server.executor), server.ray_address)
    failed = _runner_failure.get(key)
    if failed is not None and time.monotonic() - failed[0] < RUNNER_RETRY_SECONDS:
        raise failed[1]
    try:
        return _runner(*key)
    except ConfigError as exc:
        _runner_failure[key] = (time.monotonic(), exc)
        raise


SHARED_VISITOR = "everyone"  # no cookie and no address (localhost, tests): one limit for all of them


def session_id() -> str:
    """Who this visitor is, for the runner's per-visitor queue limit (ATTN_MAX_QUEUED); kept across reloads.

    A visitor is told apart by their browser's XSRF cookie (a reload, a new tab of the same browser: the
    same visitor), else by their IP address, else (localhost without the cookie, AppTest) everyone shares
    one limit. Only a hash is kept, never the cookie. It is a fair-use limit, not a security boundary: a
    visitor who clears cookies in a private window gets a new one.
    """
    if "session_id" not in st.session_state:
        cookie, address = compat.xsrf_cookie(), st.context.ip_address
        st.session_state["session_id"] = visitor_key(cookie, address if isinstance(address, str) else None)
    return st.session_state["session_id"]


def visitor_key(xsrf_cookie: str | None, ip_address: str | None) -> str:
    """A 12-hex-digit visitor key from the XSRF cookie's token (else the address); SHARED_VISITOR without both."""
    if xsrf_cookie:
        return "c" + hashlib.sha256(compat.xsrf_token(xsrf_cookie).encode()).hexdigest()[:11]
    if ip_address:
        return "a" + hashlib.sha256(ip_address.encode()).hexdigest()[:11]
    return SHARED_VISITOR


def settings() -> ServerSettings:
    """This server's settings (attn.runs.settings), with the admin password also taken from st.secrets."""
    s = server_settings()
    if s.admin_password is None:
        secret = _secret_password()
        if secret is not None:
            s = dataclasses.replace(s, admin_password=secret)
    return s


def _secret_password() -> str | None:
    """st.secrets["admin_password"], or None without a secrets file. A broken file raises ConfigError."""
    try:
        value = st.secrets.get("admin_password")
    except FileNotFoundError as exc:  # StreamlitSecretNotFoundError: no file, or one that does not parse
        if not any(os.path.exists(path) for path in st.get_option("secrets.files")):
            return None
        raise ConfigError(f"the Streamlit secrets cannot be read, so the admin password is unknown: {exc}") from None
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f"admin_password in the Streamlit secrets must be a string, got {type(value).__name__}")
    return value


_ESTIMATES: dict = {}  # (store, version, runs asked, jobs) -> note: the Train form reruns on every keystroke
_ESTIMATES_KEPT = 64


def estimate_note(configs) -> str:
    """How long `configs` would take on this machine (attn.runs.estimate), in one sentence; never waits.

    Without a stored run of similar size a short measuring run starts in the background and the note says
    so until it is done; a failure is said in the sentence (the traceback goes to the log). A finished
    estimate is kept per store version (it reads every stored run's config), so a form that reruns does
    not read them again; one still measuring is asked again.
    """
    from attn.runs.estimate import estimate_runs  # pandas: not before a page asks for an estimate

    try:
        s, jobs = store(), runner().max_jobs
        key = (str(s.home), s.version(), tuple((c.key(), c.seed) for c in configs), jobs)
        if key in _ESTIMATES:
            return _ESTIMATES[key]
        estimate = estimate_runs(configs, jobs=jobs, store=s, measuring="background")
    except Exception as exc:  # an estimate is a courtesy: it must never break the page
        log.exception("estimating %d runs failed", len(configs))
        return f"no time estimate ({type(exc).__name__}: {exc})"
    if estimate.basis in ("stored runs", "measured"):  # not one still measuring, nor a failure
        if len(_ESTIMATES) >= _ESTIMATES_KEPT:
            _ESTIMATES.clear()
        _ESTIMATES[key] = estimate.note
    return estimate.note


# ---------------------------------------------------------------- the store's runs, once per version

@dataclasses.dataclass(frozen=True)
class Snapshot:
    """The runs of the store at one `RunStore.version`, and what the pages derive from them.

    Shared by every visitor until the next add, delete, rename or status change: read only. The
    progress columns of active runs are as of that version (the Train page reads them fresh).
    """

    runs: pd.DataFrame        # every run, newest first
    finished: pd.DataFrame    # done, failed, cancelled and interrupted runs
    done: pd.DataFrame        # done runs, with their comparison key in `group` (ds.with_groups)
    configs: dict             # run id -> config dict of every done run
    groups: pd.DataFrame      # ds.comparison_groups: runs trained with the same settings, newest first
    labels: dict              # group key -> label


@st.cache_resource(show_spinner=False, max_entries=4)
def _snapshot(path: str, version: str) -> Snapshot:
    # The caller read `version` before this reads the runs, so what is kept is never older than its key.
    runs = _store(path).runs()
    finished = runs[runs["status"].isin(FINISHED)]
    configs = _store(path).configs(list(runs.loc[runs["status"] == "done", "id"]))
    done = ds.with_groups(runs, configs)
    groups = ds.comparison_groups(done, configs)
    return Snapshot(runs=runs, finished=finished, done=done, configs=configs, groups=groups,
                    labels=dict(zip(groups["key"], groups["label"])))


def snapshot() -> Snapshot:
    """The store's runs as of now: computed once per store version, for every visitor."""
    s = store()
    return _snapshot(str(s.home), s.version())


def store_line() -> str:
    """The sidebar's line about stored runs and active jobs (a count in SQL: the frame draws it before any
    page, and it must not wait for pandas)."""
    return ds.store_line(store().status_counts())


def finished_groups() -> Snapshot:
    """The snapshot, when some runs are finished; else the page says what to do and stops.

    Compare and Attention both start from the groups of runs trained with the same settings.
    """
    snap = snapshot()
    if snap.groups.empty:
        st.info(EMPTY_HINT)
        st.stop()
    return snap


# ---------------------------------------------------------------- cached reads of immutable things

@st.cache_resource(show_spinner="Loading the model…", max_entries=16)
def load_model(path: str, run_id: str):
    """(model, src_vocab, tgt_vocab, config) of a finished run; a run id never changes its weights.
    The first call imports torch (a few seconds on a small machine)."""
    return _store(path).load_model(run_id)


@st.cache_resource(show_spinner=False, max_entries=16)
def decodes(path: str, run_id: str) -> list[Decode]:
    """A finished run's test decodes (tokens and attention matrices), shared by every visitor: read only."""
    return _store(path).decodes(run_id)


@st.cache_resource(show_spinner="Preparing the data…", max_entries=8)
def load_data(data_config):
    """The ParallelData of a DataConfig: a generated task or a stored corpus (both fixed by the config)."""
    from attn.data.load import load_data as load
    return load(data_config)


@st.cache_resource(show_spinner=False, max_entries=8)
def data_overview(data_config, _data):
    """ds.data_overview of `_data`, the ParallelData `data_config` names (its vocabularies take a while)."""
    return ds.data_overview(_data, data_config)


@st.cache_resource(show_spinner="Reading the corpus…", max_entries=4)
def parse_upload(names_and_hashes: tuple, options, _files: list):
    """ds.load_upload, once per uploaded content and options."""
    return ds.load_upload(_files, options)


@st.cache_resource(show_spinner="Counting parameters (the first count loads PyTorch)…", max_entries=32)
def parameter_count(model_config, data_config) -> int:
    """Trainable parameters of `model_config` on `data_config`'s vocabularies, as training would build it.
    Imports torch (seconds on a fresh server), so pages call it only when a visitor asks."""
    from attn.nn.model import count_parameters
    from attn.nn.models import build_model
    overview = data_overview(data_config, load_data(data_config))
    return count_parameters(build_model(model_config, overview["src_vocab"], overview["tgt_vocab"]))
