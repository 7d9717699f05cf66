"""Curves: training and validation loss of finished runs, side by side or overlaid."""
import streamlit as st

from attn.app import frame, render, state
from attn.viz import charts
from attn.viz import support as ds

frame.require_frame()
st.title("Loss curves")
store, snap = state.store(), state.snapshot()
runs = snap.finished
if runs.empty:
    st.info(state.EMPTY_HINT)
    st.stop()

names = dict(zip(runs["id"], runs["name"]))
groups = snap.groups
latest = ds.latest_runs(snap.done, snap.configs, groups.iloc[0]["key"]) if len(groups) else list(runs["id"][:3])
frame.keep_valid("curves.runs", list(runs["id"]), multi=True, default=latest)
chosen = st.multiselect("Runs", list(runs["id"]), format_func=names.get, key="curves.runs",
                        help="default: the latest comparison; cancelled and failed runs keep their curves too")
controls = st.columns([2, 2, 1, 2])
layout = controls[0].radio("Layout", ["side_by_side", "overlay"], key="curves.layout", horizontal=True,
                           format_func={"side_by_side": "side by side", "overlay": "overlaid"}.get)
x = controls[1].radio("x axis", list(charts.LOSS_X), key="curves.x", horizontal=True,
                      format_func={"step": "step", "epoch": "epoch", "elapsed": "wall time"}.get)
log_y = controls[2].toggle("Log scale", key="curves.log")
smoothing = controls[3].slider("Smoothing", 0.0, 0.95, 0.0, 0.05, key="curves.smoothing",
                               help="exponential moving average of the training loss; the raw curve stays faint")
if not chosen:
    st.info("Choose at least one run.")
    st.stop()

curves = ds.curves_frame(store.curves(chosen), store.curves(chosen, "epoch"))
render.show_chart(charts.loss_curves, curves, x=x, log_y=log_y, smoothing=smoothing, layout=layout,
                  style=frame.style(), key="curves.loss", name="loss-curves")
