"""Lecture: one study on a projector, no controls. While its runs train, BLEU by length at their newest
checkpoints and the loss; then the metric by sentence length on the test set, then the attention of one
long test sentence; always in slide style.

The study is ?study=<id>; without it, the newest study a lecture demo queued, whose id is then written
into the URL, so a reload or a copied link keeps showing these runs and never a newer group.
"""
import streamlit as st

from attn.app import frame, render, state
from attn.app import groups as picker
from attn.runs.store import ACTIVE, StoreError, home
from attn.viz import charts, length
from attn.viz import support as ds

STYLE = "slide"   # projector-first: large fonts and thick lines whatever the sidebar says
MAX_MAPS = 3      # attention maps of the long sentence: the first models with attention, in MODEL_ORDER

frame.require_frame()
store = state.store()
study_id = st.query_params.get("study") or picker.newest_lecture_study()
if not study_id:
    st.info("No lecture demo yet: press **Lecture demo** or **Train short, test long** on Home, then come back; "
            "this page shows the runs of that one click.")
    st.stop()
try:
    study = store.study(study_id)
except StoreError as exc:
    st.warning(f"This link's study cannot be shown: {exc}. Open Lecture from the sidebar for the newest demo.",
               icon=":material/link_off:")
    st.stop()
if st.query_params.get("study") != study.id:
    st.query_params["study"] = study.id  # a reload or a copied link keeps these runs
st.title(study.name)


def loss_while_training(was_active: bool) -> None:
    """The loss of the study's runs, redrawn every 2 s while some train; the page reruns once when they end."""
    runs = store.runs()
    runs = runs[runs["id"].isin(study.run_ids)]
    active = runs["status"].isin(list(ACTIVE))
    if was_active and not active.any():
        st.rerun()  # all ended: draw the by-length figure and the maps below
    if active.any():
        st.subheader(f"Training: {int((~active).sum())} of {len(runs)} runs finished")
    ids = list(runs["id"])
    rows = length.at_checkpoint(store.checkpoint_buckets(ids), runs) if active.any() else None
    if rows is not None and not rows.empty:  # the length gap forming: BLEU by length at each newest checkpoint
        render.show_chart(charts.metric_by_bucket, rows, "bleu", style=STYLE, note=length.checkpoint_note(rows),
                          min_sentences=length.CHECKPOINT_MIN_SENTENCES, key="lecture.live_length",
                          name="bleu-by-length-while-training")
    curves = ds.curves_frame(store.curves(ids), store.curves(ids, "epoch"))
    if len(curves):
        render.show_live_loss(curves, style=STYLE, key="lecture.loss", name="lecture-loss")


training = store.runs(status=list(ACTIVE))["id"].isin(study.run_ids).any()
st.fragment(loss_while_training, run_every=2.0 if training else None)(bool(training))

runs = state.snapshot().done
runs = runs[runs["id"].isin(study.run_ids)]
if runs.empty:
    st.caption("The figures by sentence length and the attention maps follow when the first run has finished.")
    st.stop()
chosen = ds.newest_per_model(runs)
buckets = store.buckets(chosen)
params = runs.dropna(subset=["params"]).groupby("variant")["params"].max().to_dict()
st.header("Quality by sentence length")
render.show_chart(charts.metric_by_bucket, buckets, "bleu", style=STYLE, params=params, key="lecture.length",
                  name="bleu-by-length")
st.markdown(length.describe_by_length(charts.bucket_summary(buckets, "bleu"), "bleu"))

path = str(home())
by_run = {rid: {d.index: d for d in state.decodes(path, rid)} for rid in chosen}
seed = min(int(s) for s in runs["seed"])
one_seed = [rid for rid in ds.newest_per_model(runs, seed) if rid in by_run]
index = ds.longest_sentence({rid: by_run[rid] for rid in one_seed})
if index is None:
    st.stop()
variant_of = dict(zip(runs["id"], runs["variant"]))
items, without = ds.attention_items({variant_of[rid]: by_run[rid][index] for rid in one_seed}, "generated")
decode = by_run[one_seed[0]][index]
st.header(f"Attention on one long test sentence ({len(decode.src)} tokens)")
st.markdown(f"**Source:** {' '.join(decode.src)}")
if items:
    render.show_chart(charts.attention_grid, items[:MAX_MAPS], style=STYLE, key="lecture.maps",
                      name="attention-long-sentence")
    shown = ", ".join(it["title"] for it in items[:MAX_MAPS])
    st.caption(f"Seed {seed}: {shown}" + (f"; {len(items) - MAX_MAPS} more on the Attention page"
                                          if len(items) > MAX_MAPS else "")
               + (f". No map: {', '.join(without)} (one fixed vector, no attention)." if without else "."))
