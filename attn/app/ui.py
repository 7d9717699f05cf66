"""What every page shares: one RunStore and one JobRunner per server process, the chart style,
`show_chart`, the error guard and cached loaders of immutable things (finished runs' models, decodes).

Page reruns are cheap because what many visitors ask for is computed once for all of them: the run
list, configs and groups once per store version (`snapshot`: any add, delete, rename or status change
makes a new one), chart specs once per builder and inputs (`show_chart`), data and models once per
config or run. Everything kept that way is shared between sessions and must never be mutated.

Every write action lives here (submit_all, resubmit, cancel, store_corpus, rename_run, delete_runs), called from
the Home, Data, Train and Runs pages. Each one asks `refusal` first, so read-only lecture mode and the admin
password are enforced here, whatever a page shows; pages also disable the widgets of refused actions.
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import hashlib
import hmac
import json
import logging
import os
import pickle
import re
import runpy
import secrets
import threading
import time
import uuid

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from attn.viz import charts
from attn.viz import support as ds
from attn.config import ConfigError
from attn.data.corpus import CorpusError
from attn.runs.runner import JobError, JobRunner
from attn.runs.settings import ServerSettings, server_settings
from attn.runs.store import FINISHED, RunStore, StoreError, home

log = logging.getLogger("attn.dashboard")

# Widget keys ending like this hold actions or uploads, whose values Streamlit refuses to have set.
ACTION_SUFFIXES = ("_button", "_upload", "_editor", "_download", "_chart")
ENTRY = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "dashboard.py")
EMPTY_HINT = "No finished runs yet: press **Lecture demo** on Home or queue runs on **Train**."


# ------------------------------------------------------------------ one store, one runner per process

@st.cache_resource(show_spinner=False)
def _store(path: str) -> RunStore:
    return RunStore(path)


@st.cache_resource(show_spinner=False)
def _runner(path: str) -> JobRunner:
    s = settings()
    return JobRunner(_store(path), max_jobs=s.max_jobs, max_queued=s.max_queued)


def store() -> RunStore:
    """The run store of $ATTN_HOME (one per folder and process)."""
    return _store(str(home()))


def runner() -> JobRunner:
    """The job runner of this server process; created with the first page view."""
    return _runner(str(home()))


def store_line() -> str:
    """The sidebar's line about stored runs and active jobs."""
    return snapshot().line


def session_id() -> str:
    """This browser session's id, which the runner uses for its per-visitor queue limit."""
    return st.session_state.setdefault("session_id", uuid.uuid4().hex[:12])


def submit_all(configs) -> tuple[list[str], int, list[str]]:
    """Queue every config -> (run ids, how many were trained before, reasons some were refused)."""
    refused = refusal("train")
    if refused:
        return [], 0, [refused]
    ids, errors = [], []
    for cfg in configs:
        try:
            ids.append(runner().submit(cfg, session=session_id()))
        except (JobError, ConfigError) as exc:
            errors.append(f"{cfg.model.variant} seed {cfg.seed}: {exc}")
    cached = sum(store().status(rid) == "done" for rid in ids)
    return ids, cached, errors


def resubmit(run_id: str) -> None:
    """Button callback: train an interrupted or failed run's config again; a refusal goes to 'notice'."""
    if not _allowed("train"):
        return
    with guard("Training the run again"):
        runner().resubmit(run_id, session=session_id())


def upload_limit_mb() -> int:
    """The largest corpus file an upload may have: ATTN_MAX_UPLOAD_MB, capped by server.maxUploadSize."""
    return min(settings().max_upload_mb, int(st.get_option("server.maxUploadSize")))


def check_upload(files: list[tuple[str, bytes]]) -> None:
    """Raise ValueError naming the first file larger than `upload_limit_mb` (checked before parsing)."""
    limit = upload_limit_mb()
    for name, blob in files:
        if len(blob) > limit * 2**20:
            raise ValueError(f"{name} is {len(blob) / 2**20:.1f} MB, more than the {limit} MB a corpus file may "
                             "have here (ATTN_MAX_UPLOAD_MB, server.maxUploadSize); import it with "
                             "`python -m attn` instead")


def store_corpus(files: list[tuple[str, bytes]]) -> tuple[str, str]:
    """Keep an uploaded corpus in the run store -> (DataConfig.corpus spec, sha256).

    The store names the folder by the content's sha256 and the files corpus.tsv / source.txt /
    target.txt; the uploaded file names are only shown, never part of a path.
    """
    refused = refusal("upload")
    if refused:
        raise Refused(refused)
    check_upload(files)
    return store().store_corpus(dict(files))


def cancel(run_id: str) -> None:
    """Stop a queued or training run (a button callback); a refusal goes to 'notice'."""
    if not _allowed("cancel"):
        return
    with guard("Cancelling the run"):
        runner().cancel(run_id)


def rename_run(run_id: str, key: str) -> None:
    """Button callback: rename `run_id` to the text in widget `key`; the outcome goes to 'notice'."""
    if not _allowed("rename"):
        return
    try:
        store().rename(run_id, st.session_state.get(key, ""))
        st.session_state["notice"] = ("success", "Renamed.")
    except StoreError as exc:
        st.session_state["notice"] = ("error", str(exc))


def delete_runs(run_ids) -> None:
    """Button callback: delete finished runs with everything stored with them."""
    if not _allowed("delete"):
        return
    try:
        store().delete(list(run_ids))
        st.session_state["notice"] = ("success", f"Deleted {len(run_ids)} run(s).")
    except StoreError as exc:
        st.session_state["notice"] = ("error", str(exc))


def show_notice() -> None:
    """The outcome of the last button callback, shown once."""
    kind, text = st.session_state.pop("notice", (None, None))
    if kind == "success":
        st.success(text, icon=":material/check_circle:")
    elif kind == "error":
        st.error(text, icon=":material/error:")


# ------------------------------------------------------------------ who may write: read-only mode, admin password

class Refused(PermissionError):
    """A write action this visitor may not do on this server (read-only mode, no admin password)."""


ACTIONS = {"train": "Training", "cancel": "Cancelling runs", "rename": "Renaming runs",
           "delete": "Deleting runs", "upload": "Uploading a corpus"}
ADMIN_KEY = "admin_fingerprint"        # session state: fingerprint of the password this visitor entered
PASSWORD_KEY = "admin_password_input"  # the sidebar field (no "." in it: keep_widget_values leaves it alone)
WRONG_PER_MINUTE = 30                  # wrong passwords the whole server checks per minute, against guessing
_PROCESS_KEY = secrets.token_bytes(32)  # fingerprints are HMACs under a key that dies with the process
_wrong: collections.deque = collections.deque()  # times of recent wrong passwords (all sessions)
_wrong_lock = threading.Lock()


def settings() -> ServerSettings:
    """This server's settings (attn.settings), with the admin password also taken from st.secrets."""
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
        if getattr(exc, "error_id", None) == "no-secrets-found":
            return None
        raise ConfigError(f"the Streamlit secrets cannot be read, so the admin password is unknown: {exc}") from None
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f"admin_password in the Streamlit secrets must be a string, got {type(value).__name__}")
    return value


def _fingerprint(password: str) -> str:
    return hmac.new(_PROCESS_KEY, password.encode(), hashlib.sha256).hexdigest()


def is_admin(s: ServerSettings | None = None) -> bool:
    """True when this visitor entered the admin password now in force."""
    s = s or settings()
    entered = st.session_state.get(ADMIN_KEY)
    return bool(s.admin_password and entered and hmac.compare_digest(entered, _fingerprint(s.admin_password)))


def refusal(*actions: str) -> str | None:
    """Why this visitor may not do `actions` (keys of ACTIONS) on this server, or None when they may.

    Settings that cannot be read refuse every action (a broken secrets file must not open the server).
    """
    names = [ACTIONS[a] for a in actions]
    what = " and ".join([names[0], *(n.lower() for n in names[1:])])
    is_, needs = ("is", "needs") if len(names) == 1 else ("are", "need")
    try:
        s = settings()
    except ConfigError as exc:
        return f"{what} {is_} switched off: this server's settings cannot be read ({exc})."
    if not s.locked or is_admin(s):
        return None
    if s.read_only:
        unlock = " The lecturer can unlock this with the admin password in the sidebar." if s.admin_password else ""
        return (f"This server is in read-only lecture mode (ATTN_READ_ONLY=1): {what.lower()} {is_} switched off. "
                f"You can browse the stored runs and type your own sentences on the Attention page.{unlock}")
    return f"{what} {needs} the admin password (set by ATTN_ADMIN_PASSWORD): enter it in the sidebar."


def _allowed(action: str) -> bool:
    """For button callbacks: True, or False with the refusal left in 'notice' for the page to show."""
    refused = refusal(action)
    if refused:
        st.session_state["notice"] = ("error", refused)
    return refused is None


def show_refusal(*actions: str) -> str | None:
    """Show why `actions` are refused (one info box) and return the reason; None, and nothing shown, if allowed."""
    refused = refusal(*actions)
    if refused:
        st.info(refused, icon=":material/lock:")
    return refused


def _check_password() -> None:
    """The sidebar field's callback: remember a right password in session state; say so when wrong."""
    entered = st.session_state.get(PASSWORD_KEY) or ""
    st.session_state[PASSWORD_KEY] = ""  # the password itself is not kept
    if not entered:
        return
    now = time.monotonic()
    with _wrong_lock:
        while _wrong and now - _wrong[0] > 60:
            _wrong.popleft()
        if len(_wrong) >= WRONG_PER_MINUTE:
            st.session_state["admin_notice"] = ("Too many wrong passwords on this server in the last minute; "
                                                "wait a minute.")
            return
    try:
        password = settings().admin_password
    except ConfigError as exc:  # a broken secrets file: nobody can sign in until it is fixed
        st.session_state["admin_notice"] = str(exc)
        return
    if password and hmac.compare_digest(entered.encode(), password.encode()):
        st.session_state[ADMIN_KEY] = _fingerprint(password)
        st.session_state.pop("admin_notice", None)
        log.info("session %s entered the admin password", session_id())
    else:
        with _wrong_lock:
            _wrong.append(now)
        st.session_state["admin_notice"] = "That is not the admin password."


def _sign_out() -> None:
    st.session_state.pop(ADMIN_KEY, None)


def admin_sidebar() -> None:
    """The sidebar's lock: the mode this server is in, and the admin password field when one is set."""
    s = settings()
    if s.read_only:
        st.caption(":material/lock: Read-only lecture mode")
    if s.admin_password is None:
        return
    if is_admin(s):
        st.caption(":material/lock_open: Admin: you may train, cancel, rename, upload and delete")
        st.button("Sign out", key="admin.signout_button", on_click=_sign_out, icon=":material/logout:")
        return
    st.text_input("Admin password", key=PASSWORD_KEY, type="password", on_change=_check_password,
                  help="the password set by ATTN_ADMIN_PASSWORD; press Enter. It unlocks training, cancelling, "
                       "renaming, uploading and deleting for this browser tab")
    notice = st.session_state.pop("admin_notice", None)
    if notice:
        st.error(notice, icon=":material/error:")


# ------------------------------------------------------------------------------ page state and style

_frame = threading.local()  # .active: the frame (dashboard.py) is running a page in this script thread


@contextlib.contextmanager
def framed():
    """Marks the frame running a page (see `require_frame`)."""
    _frame.active = True
    try:
        yield
    finally:
        _frame.active = False


def require_frame() -> None:
    """First line of every page: make sure the page runs inside dashboard.py's frame.

    Because the page files live in pages/, Streamlit's old pages-directory mode runs a page file on
    its own when a fresh server's first request is a deep link (/train, e.g. a tab reconnecting
    after a restart), and AppTest starts every run that way. Then leave that mode the way
    st.navigation does, run the frame here (it opens this same page, in this same script run, so
    button clicks are kept), and stop this outer copy of the page.
    """
    if getattr(_frame, "active", False):
        return
    from streamlit.runtime.pages_manager import PagesManager
    PagesManager.uses_pages_directory = False
    runpy.run_path(ENTRY, run_name="__main__")
    st.stop()


def keep_widget_values() -> None:
    """Keep page widgets' values when their page is not shown (Streamlit drops unrendered widgets' state).

    Re-assigning a key turns it into plain session state, which survives; action widgets are skipped.
    """
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and "." in key and not key.endswith(ACTION_SUFFIXES):
            st.session_state[key] = st.session_state[key]


def keep_valid(key: str, options, multi: bool = False, default=None) -> None:
    """Drop a remembered choice that is no longer among `options` (a deleted run, another task)."""
    if key not in st.session_state:
        if default is not None:
            st.session_state[key] = default
        return
    value = st.session_state[key]
    options = list(options)
    if multi:
        kept = [v for v in (value or []) if v in options]
        if kept != list(value or []):
            st.session_state[key] = kept if kept or default is None else default
    elif value not in options:
        if default is not None and default in options:
            st.session_state[key] = default
        else:
            del st.session_state[key]


def style() -> str:
    """'slide' when the sidebar's slide-style toggle is on, else 'screen'."""
    return "slide" if st.session_state.get("slide_style") else "screen"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-") or "chart"


def show_chart(build, *args, key: str, name: str | None = None, **kwargs) -> None:
    """The chart `build(*args, **kwargs)` (a builder of attn.charts), then PNG (2x) and SVG downloads.

    The Vega-Lite spec is built once per builder and inputs (compared by value) and kept for every
    visitor: building and validating an Altair chart costs 40-70 ms, sending a kept spec well under
    one. The downloads build the chart again, only when clicked.
    """
    spec_json, datasets = _chart_spec(build.__name__, args, kwargs)
    _send(spec_json, datasets, build, args, kwargs, key, name)


def show_live_loss(df: pd.DataFrame, *, key: str, name: str, style: str) -> None:
    """charts.live_loss_chart(df), redrawn every second while runs train.

    Its data changes at every redraw, so a spec kept per input would never be reused; instead the
    spec is built (~130 ms with Altair's validation) once per shape (the variants present) and only
    the rows are swapped in (~5 ms): the same spec `show_chart` would send, for the price of the rows.
    """
    parts = charts.live_loss_parts(df)
    if parts is None:
        show_chart(charts.live_loss_chart, df, style=style, key=key, name=name)
        return
    shape, rows = parts
    from streamlit.dataframe_util import convert_anything_to_arrow_bytes
    values = charts.rows_json(rows)
    # Named as Altair names inline data (its api._dataset_name), so the spec is the one it would make.
    rows_name = "data-" + hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:32]
    spec = json.loads(_live_template(shape, style, df))
    spec["data"] = {"name": rows_name}
    _send(json.dumps(spec), {rows_name: convert_anything_to_arrow_bytes(values)},
          charts.live_loss_chart, (df,), {"style": style}, key, name)


@st.cache_resource(show_spinner=False, max_entries=32)
def _live_template(shape: tuple, style: str, _df: pd.DataFrame) -> str:
    """The spec JSON of live_loss_chart without its rows, per shape (built from the first frame seen)."""
    return _convert(charts.live_loss_chart(_df, style=style))[0]


def _send(spec_json: str, datasets: dict, build, args: tuple, kwargs: dict, key: str, name: str | None) -> None:
    file_name = _slug(name or key)
    spec = json.loads(spec_json)  # a fresh dict each time: Streamlit may edit the one it is handed
    spec["datasets"] = dict(datasets)
    st.vega_lite_chart(spec, key=f"{key}_chart", width="content", alt=file_name.replace("-", " "))
    with st.container(horizontal=True, gap="small"):
        st.download_button("PNG", data=lambda: charts.to_png(build(*args, **kwargs), 2), file_name=f"{file_name}.png",
                           mime="image/png", key=f"{key}.png_download", on_click="ignore",
                           icon=":material/download:", help="the chart as a PNG image at twice screen size")
        st.download_button("SVG", data=lambda: charts.to_svg(build(*args, **kwargs)), file_name=f"{file_name}.svg",
                           mime="image/svg+xml", key=f"{key}.svg_download", on_click="ignore",
                           icon=":material/download:", help="the chart as an SVG vector image")


def _frame_digest(frame: pd.DataFrame) -> bytes:
    """Every row of a frame, with its columns and types (Streamlit's own hash samples large frames)."""
    head = repr((list(frame.columns), [str(t) for t in frame.dtypes], frame.shape)).encode()
    try:
        return head + pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()
    except TypeError:  # unhashable cells (lists): their pickled form
        return head + pickle.dumps(frame, pickle.HIGHEST_PROTOCOL)


def _array_digest(array: np.ndarray) -> bytes:
    """Every value of an array, with its shape and type (Streamlit's own hash samples large arrays)."""
    return repr((array.shape, str(array.dtype))).encode() + np.ascontiguousarray(array).tobytes()


@st.cache_resource(show_spinner=False, max_entries=256,
                   hash_funcs={pd.DataFrame: _frame_digest, np.ndarray: _array_digest,
                               frozenset: lambda s: sorted(map(repr, s)), set: lambda s: sorted(map(repr, s))})
def _chart_spec(builder: str, args: tuple, kwargs: dict) -> tuple[str, dict[str, bytes]]:
    """(the Vega-Lite spec as JSON without its data, {dataset name: Arrow bytes}) of charts.<builder>."""
    return _convert(getattr(charts, builder)(*args, **kwargs))


def _convert(chart) -> tuple[str, dict[str, bytes]]:
    """The conversion st.altair_chart does on every call (Streamlit's own, so the chart sent is the
    same), with the pad sizing of `show_chart`: Vega's own ("pad": the builder's width is the data
    area), which Streamlit would replace with "fit" (squeezing axes, legends and labels into that
    width); exports use "pad" too.
    """
    from streamlit.dataframe_util import convert_anything_to_arrow_bytes
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec
    sized = chart.properties(autosize=alt.AutoSizeParams(type="pad", contains="padding"))
    spec = _convert_altair_to_vega_lite_spec(sized)
    datasets = {name: values if isinstance(values, bytes) else convert_anything_to_arrow_bytes(values)
                for name, values in spec.pop("datasets", {}).items()}
    return json.dumps(spec), datasets


# ------------------------------------------------------------------------------------------ errors

EXPECTED = (ConfigError, CorpusError, StoreError, JobError, ValueError, Refused)


def reason(exc: BaseException) -> str:
    """What a person should read: the message of errors we raise on purpose, the type of others."""
    if isinstance(exc, EXPECTED):
        return str(exc)
    return f"{type(exc).__name__}: {exc} (the details are in the server log)"


@contextlib.contextmanager
def guard(what: str):
    """Turn any error inside the block into st.error with the reason; the traceback goes to the log."""
    try:
        yield
    except Exception as exc:  # Streamlit's rerun/stop signals are BaseExceptions and pass through
        log.exception("%s failed", what)
        st.error(f"**{what} failed.** {reason(exc)}", icon=":material/error:")


# ---------------------------------------------------------------- cached reads of immutable things

@st.cache_resource(show_spinner="Loading the model…", max_entries=16)
def load_model(path: str, run_id: str):
    """(model, src_vocab, tgt_vocab, config) of a finished run; a run id never changes its weights."""
    return _store(path).load_model(run_id)


@st.cache_resource(show_spinner=False, max_entries=16)
def decodes(path: str, run_id: str) -> list[dict]:
    """A finished run's test decodes (tokens and attention matrices), shared by every visitor: read only."""
    return _store(path).decodes(run_id)


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
    line: str                 # the sidebar's line (ds.store_line)


@st.cache_resource(show_spinner=False, max_entries=4)
def _snapshot(path: str, version: str) -> Snapshot:
    # The caller read `version` before this reads the runs, so what is kept is never older than its key.
    runs = _store(path).runs()
    finished = runs[runs["status"].isin(FINISHED)]
    configs = _store(path).configs(list(runs.loc[runs["status"] == "done", "id"]))
    done = ds.with_groups(runs, configs)
    groups = ds.comparison_groups(done, configs)
    return Snapshot(runs=runs, finished=finished, done=done, configs=configs, groups=groups,
                    labels=dict(zip(groups["key"], groups["label"])), line=ds.store_line(runs))


def snapshot() -> Snapshot:
    """The store's runs as of now: computed once per store version, for every visitor."""
    s = store()
    return _snapshot(str(s.home), s.version())


def finished_groups() -> Snapshot:
    """The snapshot, when some runs are finished; else the page says what to do and stops.

    Compare and Attention both start from the groups of runs trained with the same settings.
    """
    snap = snapshot()
    if snap.groups.empty:
        st.info(EMPTY_HINT)
        st.stop()
    return snap


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
    """attn.dashboard_support.load_upload, once per uploaded content and options."""
    return ds.load_upload(_files, options)
