"""Home: why attention, the equation of every variant, the Lecture demo, and the state of the store."""
import streamlit as st

from attn.app import actions, admin, frame, state
from attn.config import length_configs
from attn.viz import support as ds

def _lecture_demo():
    """The Lecture demo's runs under the server's settings (ATTN_DEMO_PRESET, ATTN_DEMO_EPOCHS)."""
    server = state.settings()
    return ds.lecture_configs(server.demo_preset, server.demo_epochs)


frame.require_frame()
st.title("Attention Lab")
st.markdown(
    "An encoder–decoder without attention squeezes the whole source sentence into **one fixed-length "
    "vector**, and that vector becomes a bottleneck as sentences get longer. **Attention** lets every "
    "output word look back at all the source words and take what it needs from them.")

left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader("The variants")
    for variant, label in (("none", "No attention: one summary vector (Cho et al. 2014)"),
                           ("additive", "Additive attention (Bahdanau et al. 2015)"),
                           ("dot", "Dot-product attention, scaled (Luong et al. 2015, Vaswani et al. 2017)"),
                           ("general", "General attention (Luong et al. 2015)")):
        st.markdown(f"**{variant}** — {label}")
        st.latex(ds.EQUATIONS[variant])
    st.markdown("Every attention variant then turns the scores into weights and averages the encoder states "
                "$h_j$ with them:")
    st.latex(ds.EQUATIONS["context"])
    st.caption(ds.QUERY_NOTE)

with right:
    server = state.settings()
    demo = ds.lecture_configs(server.demo_preset, server.demo_epochs)
    length_demo = length_configs()
    lecture_view = frame.LECTURE_PAGE
    refused = admin.show_refusal("train")

    st.subheader("Lecture demo")
    chosen = ("" if (server.demo_preset, server.demo_epochs) == (ds.DEFAULT_PRESET, None)
              else " (the demo this server's ATTN_DEMO_PRESET / ATTN_DEMO_EPOCHS chose)")
    st.markdown(f"One click trains **none**, **additive** and **dot** side by side: "
                f"{ds.describe_data(demo[0].data)}, {demo[0].train.epochs} epochs{chosen}. "
                "Runs trained before come back from the store at once.")
    st.caption(f":material/timer: {state.estimate_note(demo)}")
    st.button("Lecture demo", key="home.lecture_button", type="primary", icon=":material/play_arrow:",
              disabled=bool(refused), help=refused, on_click=actions.queue_click,
              args=("home", _lecture_demo, "Lecture demo", "lecture"))

    st.subheader("Train short, test long")
    st.markdown(f"One click trains {len(length_demo)} models on sources of at most "
                f"{length_demo[0].data.max_len} tokens and tests them up to {length_demo[0].data.test_max_len}: "
                "the RNN without attention, with additive and with dot attention, and a decoder-only "
                "Transformer with each positional encoding (sinusoidal, learned, RoPE, ALiBi, T5, none).")
    st.caption("What it shows: which models still work past the longest training sentence. ALiBi was "
               "built for this (Press et al. 2022, *Train Short, Test Long*); Kazemnejad et al. 2023 found "
               "NoPE and T5's bias generalize best in decoder-only models. Compare shades the unseen lengths.")
    st.caption(f":material/timer: {state.estimate_note(length_demo)}")
    st.button("Train short, test long", key="home.length_button", type="primary", icon=":material/straighten:",
              disabled=bool(refused), help=refused, on_click=actions.queue_click,
              args=("home", length_configs, "Train short, test long", "length"))
    actions.show_outcome("home", lecture_view)
    st.page_link("pages/train.py", label="Watch training live", icon=":material/model_training:")
    st.page_link("pages/compare.py", label="Compare by sentence length", icon=":material/stacked_line_chart:")

    st.subheader("Stored runs")
    snap = state.snapshot()
    runs = snap.runs
    if runs.empty:
        st.info("No runs stored yet. Press **Lecture demo** above, or queue runs on **Train**.")
    else:
        counts = ds.status_counts(runs)
        for column, (status, n) in zip(st.columns(len(counts)), counts.items()):
            column.metric(status, n)
        groups = snap.groups
        if groups.empty:
            st.caption("No run has finished yet.")
        else:
            latest = groups.iloc[0]
            ids = ds.latest_runs(snap.done, snap.configs, latest["key"])
            table = runs.set_index("id").loc[ids, ["variant", "seed", "bleu", "train_seconds", "finished"]]
            st.markdown(f"**Last finished comparison** — {latest['label']}")
            st.dataframe(table.reset_index(drop=True), hide_index=True,
                         column_config={"bleu": st.column_config.NumberColumn("BLEU (test)", format="%.1f"),
                                        "train_seconds": st.column_config.NumberColumn("training (s)",
                                                                                       format="%.0f"),
                                        "finished": st.column_config.DatetimeColumn("finished",
                                                                                    format="HH:mm:ss")})
