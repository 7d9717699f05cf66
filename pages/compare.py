"""Compare: a metric against source-sentence length, one line per model, mean and spread over seeds."""
import streamlit as st

from attn.app import frame, render, state
from attn.app import live as live_view
from attn.app import groups as picker
from attn.viz import charts, length, tables
from attn.viz import support as ds
from attn.config import VARIANTS
from attn.records import METRIC_LABELS, METRICS

frame.require_frame()
st.title("Compare by sentence length")
store = state.store()
snap = state.finished_groups()
controls = st.columns([3, 1, 1])
comparison = picker.pick(snap, "compare.group", controls[0])
metric = controls[1].selectbox("Metric", list(METRICS), format_func=METRIC_LABELS.get, key="compare.metric")
band = controls[2].radio("Band over seeds", ["minmax", "std"], key="compare.band",
                         format_func={"minmax": "min–max", "std": "±1 std"}.get, horizontal=True)

runs = comparison.runs
in_group = list(runs["id"])
names = dict(zip(runs["id"], runs["name"]))
frame.keep_valid("compare.runs", in_group, multi=True)
if st.session_state.get("compare.group_seen") != comparison.option:  # a new choice starts from its latest runs
    st.session_state["compare.runs"] = ds.newest_per_model(runs)
    st.session_state["compare.group_seen"] = comparison.option
chosen = st.multiselect("Runs", in_group, format_func=names.get, key="compare.runs",
                        help="default: the latest run of each model and seed")
if not chosen:
    st.info("Choose at least one run.")
    st.stop()

picked = runs[runs["id"].isin(chosen)]
params = picked.dropna(subset=["params"]).groupby("variant")["params"].max().to_dict()  # one count per label
# 100 %: the finished runs on the test set; earlier: each run's newest checkpoint (a validation sample)
buckets, at_note = live_view.buckets_at_progress(store, picked, key="compare.progress")
summary = charts.bucket_summary(buckets, metric)
st.caption(length.describe_by_length(summary, metric))  # what these runs show, not the textbook's claim
render.show_chart(charts.metric_by_bucket, buckets, metric, style=frame.style(), band=band, params=params,
                  key="compare.metric", name=f"{metric}-by-length" + ("-while-training" if at_note else ""),
                  **live_view.checkpoint_options(at_note))
st.caption(tables.scoring_caption(store.run(i) for i in chosen))  # sacrebleu's signatures
st.dataframe(summary, hide_index=True, height="content",
             column_config={c: st.column_config.NumberColumn(c, format="%.1f") for c in ("mean", "std", "min", "max")})
styles = sorted(set(picked.loc[picked["variant"].isin(VARIANTS), "style"]))  # an RNN's decoder; not a Transformer's
for decoder in styles:
    st.caption(ds.STYLE_NOTES.get(decoder, decoder))
if len(styles) > 1:
    st.warning("These runs used different decoder styles; compare like with like.")
