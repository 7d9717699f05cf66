"""Every write action of the dashboard: queue, train again, cancel, rename and delete runs, keep an
uploaded corpus; and the upload size check.

Called from the Home, Data, Train and Runs pages. Each one asks `admin.refusal` first, so read-only
lecture mode and the admin password are enforced here, whatever a page shows. Button callbacks leave
their outcome in session state under 'notice', which `show_notice` shows once on the next run.
"""
from __future__ import annotations

import streamlit as st

from attn.app.admin import Refused, allowed, refusal
from attn.app.frame import guard
from attn.app.state import runner, session_id, settings, store
from attn.config import ConfigError
from attn.runs.runner import JobError
from attn.runs.store import StoreError


def submit_all(configs) -> tuple[list[str], int, list[str]]:
    """Queue every config, all or none -> (run ids, how many were trained before, why nothing was queued)."""
    refused = refusal("train")
    if refused:
        return [], 0, [refused]
    # One call, one store transaction: a click queues all of its runs or none, and a rerun that
    # interrupts the page (a click elsewhere) cannot fall between two of them.
    try:
        ids = runner().submit_many(list(configs), session=session_id())
    except (JobError, ConfigError) as exc:
        return [], 0, [f"nothing was queued: {exc}"]
    cached = sum(store().status(rid) == "done" for rid in ids)
    return ids, cached, []


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
