"""What wraps every page: the frame's marker, widget values kept across pages, the chart style, and
the error guard that turns an exception into a message a person can read.
"""
from __future__ import annotations

import contextlib
import logging
import os
import runpy
import threading

import streamlit as st

from attn.app.admin import Refused
from attn.config import ConfigError
from attn.data.corpus import CorpusError
from attn.runs import plans
from attn.runs.runner import JobError
from attn.runs.store import StoreError, home

log = logging.getLogger("attn.dashboard")

# Widget keys ending like this hold actions or uploads, whose values Streamlit refuses to have set.
ACTION_SUFFIXES = ("_button", "_upload", "_editor", "_download", "_chart")
ENTRY = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "dashboard.py")

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
    after a restart), and AppTest starts every run that way. Then run the frame here: its
    st.navigation leaves that mode for good (the public way to do it) and opens this same page, in
    this same script run, so button clicks are kept; and stop this outer copy of the page.
    """
    if getattr(_frame, "active", False):
        return
    runpy.run_path(ENTRY, run_name="__main__")
    st.stop()


LECTURE_PAGE = "pages/lecture.py"  # the projector view of one study, linked with ?study=ID


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


# ------------------------------------------------------------------------------ settings in the URL

# The URL keeps what a reload must not forget and a link should reproduce: ?style=slide (the sidebar's
# Slide style) and ?data=... (the data chosen on Data, plans.data_param). Other parameters (a page's own,
# e.g. ?study=) are left alone.
URL_STYLE, URL_DATA = "style", "data"


def restore_from_url() -> str | None:
    """A session's first run: slide style and data from the URL -> what was wrong with the link, or None."""
    if st.session_state.get("url_restored"):  # no "." in the key: keep_widget_values leaves it alone
        return None
    st.session_state["url_restored"] = True
    if st.query_params.get(URL_STYLE) == "slide":
        st.session_state["slide_style"] = True
    text = st.query_params.get(URL_DATA)
    if not text or "data_config" in st.session_state:
        return None
    try:
        st.session_state["data_config"] = plans.data_from_param(text, home())
    except ConfigError as exc:
        del st.query_params[URL_DATA]
        return f"{exc}. The built-in default data is used instead."
    return None


def write_url() -> None:
    """After every run: the URL says the slide style and the chosen data, so a reload shows the same."""
    want = {URL_STYLE: "slide" if st.session_state.get("slide_style") else None, URL_DATA: None}
    data = st.session_state.get("data_config")
    if data is not None and data != plans.PRESETS[plans.DEFAULT_PRESET].data:
        want[URL_DATA] = plans.data_param(data)
    for key, value in want.items():
        if value is None:
            st.query_params.pop(key, None)
        elif st.query_params.get(key) != value:
            st.query_params[key] = value


def style() -> str:
    """'slide' when the sidebar's slide-style toggle is on, else 'screen'."""
    return "slide" if st.session_state.get("slide_style") else "screen"


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
