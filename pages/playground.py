"""Playground: scaled dot-product attention on three queries, five keys and five values, by hand."""
import streamlit as st

from attn.app import frame, render
from attn.viz import charts
from attn.viz import support as ds
from attn.nn.playground import attention, draw_qkv, softmax_entropy_by_dim


@st.cache_data(show_spinner=False)
def entropy_table():
    return softmax_entropy_by_dim()


frame.require_frame()
st.title("Playground: scaled dot-product attention")
st.latex(r"\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}}\right) V")
controls = st.columns([1, 2, 1])
seed = controls[0].number_input("Seed", 0, 10_000, 0, key="playground.seed")
mask_kind = controls[1].radio("Mask", list(ds.MASKS), key="playground.mask", horizontal=True,
                              format_func={"none": "none", "causal": "causal (query i sees keys 1..i)",
                                           "custom": "custom"}.get)
scaled = controls[2].toggle("Divide by √d", True, key="playground.scaled")

Q, K, V = draw_qkv(int(seed))
st.caption("Edit Q and K; the drawn values come back with another seed.")
edit_q, edit_k = st.columns(2)
with edit_q:
    st.markdown("**Q** (queries)")
    Q, q_missing = ds.editor_matrix(st.data_editor(ds.matrix_frame(Q, "q", "d").round(3),
                                                   key=f"playground.seed{seed}.q_editor"))
with edit_k:
    st.markdown("**K** (keys)")
    K, k_missing = ds.editor_matrix(st.data_editor(ds.matrix_frame(K, "k", "d").round(3),
                                                   key=f"playground.seed{seed}.k_editor"))
if q_missing or k_missing:
    st.warning(f"{q_missing + k_missing} emptied cell(s) count as 0.", icon=":material/warning:")
custom = None
if mask_kind == "custom":
    st.markdown("**Mask** (ticked: the query may look at the key)")
    custom = st.data_editor(ds.matrix_frame([[True] * K.shape[0]] * Q.shape[0], "q", "k"),
                            key="playground.mask_editor").to_numpy(dtype=bool)

result = attention(Q, K, V, mask=ds.playground_mask(mask_kind, Q.shape[0], K.shape[0], custom), scaled=scaled)
shapes = st.columns(5)
for column, (label, matrix) in zip(shapes, [("Q", Q), ("K", K), ("V", V), ("weights", result.weights),
                                            ("output", result.output)]):
    column.metric(f"{label} shape", ds.shape_text(matrix))
if result.empty_rows.any():
    st.warning("Queries with every key masked have nothing to attend to: like the models, they spread their "
               "weight evenly over all keys, so their output is the mean of V.",
               icon=":material/warning:")

first, second = st.columns(2), st.columns(2)
sty = frame.style()
panels = [(first[0], result.scores, "q", "k", "scores QKᵀ" + (" / √d" if scaled else ""), "playground.scores"),
          (first[1], result.weights, "q", "k", "weights = softmax(scores), masked", "playground.weights"),
          (second[0], V, "k", "v", "V (values)", "playground.values"),
          (second[1], result.output, "q", "v", "output = weights · V", "playground.output")]
for column, matrix, rows, cols, title, key in panels:
    with column:
        table = ds.matrix_frame(matrix, rows, cols)
        render.show_chart(charts.matrix_heatmap, matrix, list(table.index), list(table.columns), title=title,
                          style=sty, key=key)

st.subheader("Why divide by √d?")
st.markdown("With entries drawn from N(0, 1), a dot product of d terms has variance d: the larger d, the more "
            "the softmax piles all weight on one key, and its gradient vanishes. Dividing by √d keeps the "
            "scores at variance 1.")
render.show_chart(charts.entropy_vs_dim, entropy_table(), style=sty, key="playground.entropy", name="entropy-vs-d")
