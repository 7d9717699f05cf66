"""Heads: every layer and head of a Transformer run for one test sentence (encoder self-, decoder self- and
cross-attention), the head average one click away, and each head's entropy and mean attention distance."""
import streamlit as st

from attn.app import explain, frame, render, state
from attn.data.tasks import TASKS
from attn.runs.store import home
from attn.viz import charts
from attn.viz import support as ds
from attn.viz.heads import KIND_LABELS

SUMMARY_WIDTH = {"screen": 380, "slide": 640}  # px of the summary's plot, under the grid

frame.require_frame()
st.title("Heads")
path = str(home())
snap = state.finished_groups()
runs = explain.transformer_runs(snap)
if not runs:
    st.info(explain.HEADS_ONLY_TRANSFORMERS, icon=":material/info:")
    st.stop()

seed_of, label_of = dict(zip(snap.done["id"], snap.done["seed"])), dict(zip(snap.done["id"], snap.done["variant"]))
top = st.columns([2, 4])
frame.keep_valid("heads.run", runs)
run_id = top[0].selectbox("Transformer run", runs, key="heads.run",
                          format_func=lambda r: f"{label_of[r]} · seed {seed_of[r]} · {r}")
data_cfg = snap.configs[run_id]["data"]
level = data_cfg["level"] if data_cfg.get("corpus") else TASKS[data_cfg["task"]].level
decodes = {d.index: d for d in state.decodes(path, run_id) if d.ref}
if not decodes:
    st.info("This run stored no test sentences with a reference to read.")
    st.stop()
frame.keep_valid(f"heads.sentence.{run_id}", list(decodes))
index = top[1].selectbox("Test sentence (the model reads its reference)", list(decodes), key=f"heads.sentence.{run_id}",
                         format_func=lambda i: ds.sentence_label(decodes[i], level))
decode = decodes[index]
maps = explain.sentence_heads(path, run_id, tuple(decode.src), tuple(decode.ref))

pick = st.columns([3, 2, 2])
kinds = [k for k in KIND_LABELS if maps.of(k) is not None]
frame.keep_valid("heads.kind", kinds)
kind = pick[0].radio("Attention", kinds, key="heads.kind", horizontal=True, format_func=KIND_LABELS.get)
show = pick[1].radio("Show", ["every head", "head average"], key="heads.show", horizontal=True)
weights = maps.of(kind)                                                    # (layers, heads, rows, cols)
rows, cols = explain.head_tokens(kind, decode.src, decode.ref)
# The grid takes the page's width (its cells are sized for it: in a column it ran under the summary);
# the per-head summary sits under it.
if show == "every head":
    render.show_chart(charts.head_grid, rows, cols, weights, kind=kind, style=frame.style(), key="heads.grid",
                      name=f"heads-{kind}-{label_of[run_id]}")
else:
    layers = list(range(1, weights.shape[0] + 1))
    frame.keep_valid("heads.layer", layers)
    layer = pick[2].selectbox("Layer", layers, index=len(layers) - 1, key="heads.layer")
    render.show_chart(charts.head_average, rows, cols, weights, layer=layer - 1, kind=kind, style=frame.style(),
                      key="heads.average", name=f"heads-{kind}-layer{layer}-average-{label_of[run_id]}")
with st.columns([2, 3])[0]:
    render.show_chart(charts.head_summary, explain.head_stats_frame(maps), n_keys=len(decode.src),
                      style=frame.style(), width=SUMMARY_WIDTH[frame.style()], key="heads.summary", name=f"heads-summary-{label_of[run_id]}")
st.caption("Entropy −Σ_j α_ij log α_ij and mean attention distance Σ_j α_ij·|i−j|, each averaged over the rows "
           "of the sentence: heads that look at one neighbour, at themselves or spread over the sentence "
           "(Clark et al. 2019; Voita et al. 2019).")
