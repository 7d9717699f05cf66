"""Every write action of the dashboard: queue, train again, cancel, rename and delete runs, keep an
uploaded corpus; and the upload size check.

Called from the Home, Data, Train and Runs pages. Each one asks `admin.refusal` first, so read-only
lecture mode and the admin password are enforced here, whatever a page shows. Button callbacks leave
their outcome in session state under 'notice', which `show_notice` shows once on the next run.
"""
from __future__ import annotations

import logging
from typing import NamedTuple

import streamlit as st

from attn.app.admin import Refused, allowed, refusal
from attn.app.frame import guard
from attn.app.state import runner, session_id, settings, store
from attn.config import ConfigError
from attn.runs.runner import JobError
from attn.runs.store import StoreError

log = logging.getLogger("attn.dashboard")
STUDY_KINDS = ("lecture", "length", "train")  # what a page's click queues (store.add_study's kind)
DEMO_KINDS = ("lecture", "length")              # Home's one-click demos


class Submitted(NamedTuple):
    """What one click queued: its runs, how many came from the store, why nothing was queued, its study."""

    run_ids: list[str]
    ready: int                   # runs trained before (answered from the store at once)
    errors: list[str]            # one message when nothing was queued, else []
    study: str | None            # the study id of this click (store.add_study), None when not recorded


def submit_all(configs, study: str | None = None, kind: str = "train") -> Submitted:
    """Queue every config, all or none, and record them as one study named `study` (store.add_study).

    One call, one store transaction: a click queues all of its runs or none, and a rerun that interrupts
    the page (a click elsewhere) cannot fall between two of them. Whatever goes wrong is ONE message.
    """
    refused = refusal("train")
    if refused:
        return Submitted([], 0, [refused], None)
    # A demo is a fixed set of runs that every click shares (the runner answers an identical request with
    # the same queued, training or stored runs), so it cannot fill the queue and is not held to the
    # visitor's limit (ATTN_MAX_QUEUED = 6 by default, fewer than the 9 runs of "Train short, test long").
    session = None if kind in DEMO_KINDS else session_id()
    try:
        ids = runner().submit_many(list(configs), session=session)
    except (JobError, ConfigError) as exc:
        return Submitted([], 0, [f"**Nothing was queued:** {exc}"], None)
    cached = sum(store().status(rid) == "done" for rid in ids)
    return Submitted(ids, cached, [], _record_study(study, kind, ids))


def _record_study(name: str | None, kind: str, run_ids: list[str]) -> str | None:
    """The study id of one click's runs, or None (no name, or it could not be stored)."""
    if name is None:
        return None
    try:
        return store().add_study(name, kind, run_ids)
    except (StoreError, ValueError, TypeError):  # the runs are queued: a missing study only loses the link
        log.exception("recording study %r of %d runs failed", name, len(run_ids))
        return None


def remember_outcome(where: str, submitted: Submitted) -> None:
    """Keep what a queue click did for `show_outcome`: it stays on the page until the next queue click."""
    st.session_state[f"outcome_{where}"] = submitted


def queue_click(where: str, configs, study: str, kind: str) -> None:
    """A queue button's on_click: Streamlit runs it first thing in the rerun the click starts, before any
    page code, so a click elsewhere (a link, another button) cannot interrupt the page before it queues.

    `configs`: the runs, or a function giving them, called at the click (the settings in force then).
    """
    configs = configs() if callable(configs) else configs
    remember_outcome(where, submit_all(configs, study=study, kind=kind))


def show_outcome(where: str, lecture_view: str | None = None) -> None:
    """What the last queue click on page `where` did: one error, or what was queued and where to watch it.

    `lecture_view`: the Lecture view page, linked with the click's study (?study=ID) when it has one.
    """
    done: Submitted | None = st.session_state.get(f"outcome_{where}")
    if done is None:
        return
    if done.errors:
        st.error(" ".join(done.errors), icon=":material/error:")
        return
    queued = len(done.run_ids) - done.ready
    if where == "train":
        st.success(f"{queued} run(s) queued" + (f", {done.ready} already trained with these settings "
                                                "(see Compare)" if done.ready else "") + ".",
                   icon=":material/check_circle:")
    elif not queued:
        st.success(f"All {done.ready} were trained before; their results are ready on Compare.",
                   icon=":material/check_circle:")
    else:
        st.success(f"Queued {queued} run(s)" + (f"; {done.ready} came from the store" if done.ready else "")
                   + ". Watch them on Train.", icon=":material/check_circle:")
    if done.study and lecture_view:
        st.page_link(lecture_view, label="Open the lecture view of these runs", icon=":material/co_present:",
                     query_params={"study": done.study})


def resubmit(run_id: str) -> None:
    """Button callback: train an interrupted or failed run's config again; a refusal goes to 'notice'."""
    if not allowed("train"):
        return
    with guard("Training the run again"):
        runner().resubmit(run_id, session=session_id())


def cancel(run_id: str) -> None:
    """Stop a queued or training run (a button callback); a refusal goes to 'notice'."""
    if not allowed("cancel"):
        return
    with guard("Cancelling the run"):
        runner().cancel(run_id)


def rename_run(run_id: str, key: str) -> None:
    """Button callback: rename `run_id` to the text in widget `key`; the outcome goes to 'notice'."""
    if not allowed("rename"):
        return
    try:
        store().rename(run_id, st.session_state.get(key, ""))
        st.session_state["notice"] = ("success", "Renamed.")
    except StoreError as exc:
        st.session_state["notice"] = ("error", str(exc))


def delete_runs(run_ids) -> None:
    """Button callback: delete finished runs with everything stored with them."""
    if not allowed("delete"):
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


# ------------------------------------------------------------------------------------------- uploads

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
