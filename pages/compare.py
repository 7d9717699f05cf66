"""Compare: a metric against source-sentence length, one line per variant, mean and spread over seeds."""
import streamlit as st

from attn.app import frame, render, state
from attn.viz import charts
from attn.viz import support as ds
from attn.records import METRIC_LABELS, METRICS

frame.require_frame()
st.title("Compare by sentence length")
st.caption("Bahdanau et al. (2015), Fig. 2: without attention, quality falls as sentences get longer.")
store = state.store()
snap = state.finished_groups()
runs, configs, labels = snap.done, snap.configs, snap.labels
frame.keep_valid("compare.group", list(labels))
controls = st.columns([3, 1, 1])
group = controls[0].selectbox("Runs trained with the same settings", list(labels), format_func=labels.get,
                              key="compare.group", help="newest first; runs differ only in variant and seed")
metric = controls[1].selectbox("Metric", list(METRICS), format_func=METRIC_LABELS.get, key="compare.metric")
band = controls[2].radio("Band over seeds", ["minmax", "std"], key="compare.band",
                         format_func={"minmax": "min–max", "std": "±1 std"}.get, horizontal=True)

in_group = list(runs.loc[runs["group"] == group, "id"])
names = dict(zip(runs["id"], runs["name"]))
frame.keep_valid("compare.runs", in_group, multi=True)
if st.session_state.get("compare.group_seen") != group:  # a new group starts from its latest runs
    st.session_state["compare.runs"] = ds.latest_runs(runs, configs, group)
    st.session_state["compare.group_seen"] = group
chosen = st.multiselect("Runs", in_group, format_func=names.get, key="compare.runs",
                        help="default: the latest run of each variant and seed")
if not chosen:
    st.info("Choose at least one run.")
    st.stop()

buckets = store.buckets(chosen)
render.show_chart(charts.metric_by_bucket, buckets, metric, style=frame.style(), band=band, key="compare.metric",
                  name=f"{metric}-by-length")
st.dataframe(charts.bucket_summary(buckets, metric), hide_index=True, height="content",
             column_config={c: st.column_config.NumberColumn(c, format="%.1f") for c in ("mean", "std", "min", "max")})
styles = sorted(set(runs.loc[runs["id"].isin(chosen), "style"]))
for decoder in styles:
    st.caption(ds.STYLE_NOTES.get(decoder, decoder))
if len(styles) > 1:
    st.warning("These runs used different decoder styles; compare like with like.")
