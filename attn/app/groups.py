"""The comparison picker of Compare and Attention: runs trained with the same settings (a comparison group)
and studies (the runs one click queued, attn.runs.studies), with a default that a newer run cannot take over.

The default is the comparison in the URL (?group=), else the study this visitor just queued, else the
newest lecture study, else the newest group (attn.viz.groups.default_choice); the choice is written back
to the URL, so a reload or a copied link shows the same runs.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from attn.app import frame, state
from attn.viz import groups

QUEUED_STUDY = "queued_study"   # session key: the study id of this visitor's last click (remember_queued)
URL_GROUP = "group"             # ?group=<comparison key> or ?group=study-<study id>
MAX_STUDIES = 30                # newest studies offered in the picker
LECTURE_KINDS = ("lecture", "length")


@dataclass(frozen=True)
class Comparison:
    """One picker option: what it is called and the done runs it holds."""

    option: str                 # a comparison key or "study-<id>"
    label: str
    runs: pd.DataFrame          # the snapshot's done runs in it (with `group`), newest first
    study: str | None           # the study id, None for a settings group


def remember_queued(study_id: str | None) -> None:
    """Called after a click queued a study: Compare and Attention open on it next."""
    if study_id:
        st.session_state[QUEUED_STUDY] = study_id


def queued_study() -> str | None:
    """The study this visitor queued last: remember_queued's, else the newest study among the outcomes the
    Home and Train pages keep of their last queue click (attn.app.actions: session "outcome_<page>")."""
    if st.session_state.get(QUEUED_STUDY):
        return st.session_state[QUEUED_STUDY]
    mine = {getattr(st.session_state.get(f"outcome_{page}"), "study", None) for page in ("home", "train")} - {None}
    return next((study.id for study in studies() if study.id in mine), None)


@st.cache_resource(show_spinner=False, max_entries=4)
def _studies(path: str, version: str) -> tuple:
    """The newest studies (attn.runs.studies.Study) of the store at `version`, newest first: read only."""
    store = state.store()
    return tuple(store.study(i) for i in store.studies().head(MAX_STUDIES)["id"])


def studies() -> tuple:
    store = state.store()
    return _studies(str(store.home), store.version())


def newest_lecture_study(kinds=LECTURE_KINDS) -> str | None:
    """The id of the newest study a lecture demo queued ("lecture", else "length"), or None."""
    for kind in kinds:
        for study in studies():
            if study.kind == kind:
                return study.id
    return None


def comparisons(snap: state.Snapshot) -> dict[str, Comparison]:
    """Studies with a finished run (newest first), then settings groups (newest first)."""
    done = snap.done
    found: dict[str, Comparison] = {}
    for study in studies():
        if study.kind == "sweep":  # its runs differ in a swept field too: the Sweep page links each value instead
            continue
        runs = done[done["id"].isin(study.run_ids)]
        if not runs.empty:
            option = groups.study_option(study.id)
            found[option] = Comparison(option, groups.study_label(study.name, study.created, runs), runs, study.id)
    for key, label in snap.labels.items():
        found[key] = Comparison(key, label, done[done["group"] == key], None)
    return found


def pick(snap: state.Snapshot, key: str, column=st) -> Comparison:
    """The comparison picker (widget `key`), defaulting as the module says; writes ?group= to the URL."""
    options = comparisons(snap)
    url = st.query_params.get(URL_GROUP)
    if url and url not in options:
        st.warning(f"The link asks for runs {url!r}, which this store does not hold (deleted, or another "
                   "server's); showing another comparison instead.", icon=":material/link_off:")
    queued = queued_study()
    default = groups.default_choice(list(options), url, queued, newest_lecture_study())
    frame.keep_valid(key, list(options))
    seen_key = f"{key}_queued_seen"  # a study queued since this picker last ran takes over once
    if key not in st.session_state or (queued and st.session_state.get(seen_key) != queued
                                       and default == groups.study_option(queued)):
        st.session_state[key] = default
    st.session_state[seen_key] = queued
    choice = column.selectbox("Runs to compare", list(options), format_func=lambda o: options[o].label, key=key,
                              help="a study (the runs one click queued) or runs trained with the same settings, "
                                   "newest first; the URL keeps the choice")
    if st.query_params.get(URL_GROUP) != choice:
        st.query_params[URL_GROUP] = choice
    return options[choice]


# ------------------------------------------------------------------ a Transformer's layers (Attention page)

@st.cache_resource(show_spinner="Reading every layer…", max_entries=64)
def cross_by_layer(path: str, run_id: str, src: tuple, out: tuple, with_eos: bool):
    """(layers, T, S) float32: each layer's cross-attention averaged over heads, while the Transformer of
    `run_id` reads the output tokens `out` (+ </s> when `with_eos`) after the source `src`.

    Decoder-only: the target rows over the source positions, renormalised over the source
    (attn.nn.heads). The last layer's is the map stored with the run. Imports torch.
    """
    from attn.data.text import EOS_ID
    from attn.nn.heads import head_maps
    model, src_vocab, tgt_vocab, _ = state.load_model(path, run_id)
    out_ids = tgt_vocab.encode(list(out)) + ([EOS_ID] if with_eos else [])
    return head_maps(model, src_vocab.encode(list(src)), out_ids).cross.mean(axis=1)  # (layers, T, S)
