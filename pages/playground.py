"""Playground: scaled dot-product attention on three queries, five keys and five values, by hand; and
what each positional encoding adds to one query's scores over key positions 0..N."""
import streamlit as st

from attn.app import frame, render, state
from attn.config import LENGTH_TRANSFORMER, PRESETS, RunConfig
from attn.viz import charts
from attn.viz import playground as panels
from attn.viz import support as ds
from attn.nn import position_view
from attn.nn.playground import attention, draw_qkv, softmax_entropy_by_dim
from attn.nn.positions import BIDIRECTIONAL, CAUSAL, alibi_slopes
from attn.runs.store import StoreError, home

PANELS = {"attention": "scaled dot-product attention", "positions": "positional encodings"}
MODE_NAMES = {CAUSAL: "causal (a decoder: keys j ≤ i)", BIDIRECTIONAL: "bidirectional (an encoder: every key)"}
FRESH = "fresh encodings"


@st.cache_data(show_spinner=False)
def entropy_table():
    return softmax_entropy_by_dim()


def trained_table_runs() -> dict[str, dict]:
    """Done Transformer runs whose encoding has a trained table (learned, t5): id -> config dict.
    A store that cannot be read leaves only the fresh encodings (the page says why)."""
    try:
        snap = state.snapshot()
    except StoreError as exc:
        st.caption(f"Stored runs cannot be read ({exc}); the panel draws fresh encodings.")
        return {}
    return panels.trained_table_runs(snap.configs)


def positions_panel(sty: str) -> None:
    """A query at position i over keys 0..N: each encoding's term in the score, one small panel each."""
    st.markdown("Self-attention alone cannot tell positions apart. Each encoding adds something to the score "
                "of a query at position *i* and a key at position *j*: drawn here for one query over every key.")
    runs = trained_table_runs()
    top = st.columns([2, 2, 1, 1, 1])
    frame.keep_valid("playground.positions.run", [FRESH, *runs])
    run_id = top[0].selectbox("Tables from", [FRESH, *runs], key="playground.positions.run",
                              format_func=lambda r: r if r == FRESH else
                              f"{r[:8]} · {RunConfig.from_dict(runs[r]).model.label}",
                              help="a stored run with a learned or T5 table draws its trained table")
    if run_id == FRESH:
        model_cfg, train_len, modes = LENGTH_TRANSFORMER, PRESETS["length"].data.max_len, [CAUSAL, BIDIRECTIONAL]
        heads = top[2].selectbox("Heads", [1, 2, 4, 8], index=2, key="playground.positions.heads")
        d_model = top[3].selectbox("Width D", [32, 64, 128, 256], index=1, key="playground.positions.width")
        rows = top[4].number_input("Learned rows", 1, 512, 24, key="playground.positions.rows",
                                   help="max_positions: rows of the learned table")
    else:
        cfg = RunConfig.from_dict(runs[run_id])
        model_cfg, train_len = cfg.model, cfg.data.max_len
        modes = [CAUSAL] if model_cfg.arch == "decoder" else [BIDIRECTIONAL, CAUSAL]
        heads, d_model, rows = model_cfg.heads, model_cfg.hidden, model_cfg.max_positions
        for column, label, value in zip(top[2:], ("Heads", "Width D", "Learned rows"), (heads, d_model, rows)):
            column.metric(label, value)
    frame.keep_valid("playground.positions.mode", modes)
    mode = top[1].radio("Attention", modes, key="playground.positions.mode", format_func=MODE_NAMES.get)
    most = max(4 * train_len, int(rows) + 8)
    sliders = st.columns(2)
    last_key = sliders[0].slider("Last key position N", 1, most, min(2 * train_len, most),
                                 key="playground.positions.last_key",
                                 help=f"up to 4× the training length ({train_len} source tokens)")
    frame.keep_valid("playground.positions.query", range(last_key + 1))
    query = sliders[1].slider("Query position i", 0, last_key, min(train_len // 2, last_key),
                              key="playground.positions.query")
    tables = {}
    if run_id != FRESH:
        tables = position_view.trained_tables(state.load_model(str(home()), run_id)[0], mode)
    effects = position_view.position_effects(query, last_key, d_model=d_model, heads=heads, max_positions=int(rows),
                                             mode=mode, tables=tables)
    notes = panels.position_notes(query, last_key, int(rows), mode == CAUSAL, list(tables), alibi_slopes(heads))
    render.show_chart(charts.position_effects_chart, effects, query, style=sty, notes=notes, max_positions=int(rows),
                      key="playground.positions", name="positional-encodings")
    st.caption(f"RoPE per head of D / heads = {d_model // heads} dimensions with q = k = (1, …, 1)/√d; "
               "sinusoidal and learned: the dot product of the two position vectors; ALiBi, T5: the bias added "
               "to the score. A learned table has nothing past its last row: the models clamp every later "
               "position to that row (attn/nn/positions.py), and nothing was learned for rows no training "
               "sentence reached.")


frame.require_frame()
panel = st.session_state.get("playground.panel", "attention")
st.title(f"Playground: {PANELS.get(panel, PANELS['attention'])}")
st.radio("Panel", list(PANELS), key="playground.panel", horizontal=True, format_func=PANELS.get)
if panel == "positions":
    positions_panel(frame.style())
    st.stop()
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
matrix_panels = [(first[0], result.scores, "q", "k", "scores QKᵀ" + (" / √d" if scaled else ""), "playground.scores"),
          (first[1], result.weights, "q", "k", "weights = softmax(scores), masked", "playground.weights"),
          (second[0], V, "k", "v", "V (values)", "playground.values"),
          (second[1], result.output, "q", "v", "output = weights · V", "playground.output")]
for column, matrix, rows, cols, title, key in matrix_panels:
    with column:
        table = ds.matrix_frame(matrix, rows, cols)
        render.show_chart(charts.matrix_heatmap, matrix, list(table.index), list(table.columns), title=title,
                          style=sty, key=key)

st.subheader("Why divide by √d?")
st.markdown("With entries drawn from N(0, 1), a dot product of d terms has variance d: the larger d, the more "
            "the softmax piles all weight on one key, and its gradient vanishes. Dividing by √d keeps the "
            "scores at variance 1.")
render.show_chart(charts.entropy_vs_dim, entropy_table(), style=sty, key="playground.entropy", name="entropy-vs-d")
