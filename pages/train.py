"""Train: queue variants x seeds on the chosen data, and watch every active run's loss live."""
import streamlit as st

from attn.app import actions, admin, frame, render, state
from attn.viz import support as ds
from attn.config import PRESETS, STYLES, VARIANTS, limits
from attn.runs.store import ACTIVE, FINISHED


def _apply_preset():
    name = st.session_state["train.preset"]
    for key, value in ds.preset_values(name).items():
        st.session_state[key] = value
    st.session_state["data_config"] = PRESETS[name].data


frame.require_frame()
st.title("Train")
lim = limits()
data_cfg = st.session_state.get("data_config", PRESETS[ds.DEFAULT_PRESET].data)
st.markdown(f"**Data:** {ds.describe_data(data_cfg)}")
st.page_link("pages/data.py", label="Choose other data", icon=":material/dataset:")

with st.container(border=True):
    top = st.columns([2, 1, 1, 1, 1], vertical_alignment="bottom")
    variants = top[0].multiselect("Variants", list(VARIANTS), default=list(ds.LECTURE_VARIANTS), key="train.variants")
    seeds_text = top[1].text_input("Seeds", "0", key="train.seeds", help="e.g. 0, or 0,1,2, or 0-2")
    style = top[2].selectbox("Decoder style", list(STYLES), key="train.style",
                             help="luong: score from s_t; bahdanau: score from s_{t-1}, context fed to the GRU")
    preset = top[3].selectbox("Preset", list(PRESETS), key="train.preset",
                              help="the settings a run starts from; Apply copies them into every field")
    top[4].button("Apply preset", key="train.preset_button", on_click=_apply_preset,
                  help="sets the data, sizes and training settings of the chosen preset")
    row = st.columns(7, vertical_alignment="bottom")
    base = PRESETS[ds.DEFAULT_PRESET]
    emb = row[0].number_input("Embedding size", 2, lim["emb"], base.model.emb, step=16, key="train.emb")
    hidden = row[1].number_input("Hidden size", 2, lim["hidden"], base.model.hidden, step=32, key="train.hidden")
    epochs = row[2].number_input("Epochs", 1, lim["epochs"], base.train.epochs, key="train.epochs")
    batch = row[3].number_input("Batch", 1, 4096, base.train.batch, step=16, key="train.batch")
    lr = row[4].number_input("Learning rate", 1e-5, 1.0, base.train.lr, step=1e-3, format="%.4f", key="train.lr")
    teacher = row[5].slider("Teacher forcing", 0.0, 1.0, base.train.teacher_forcing, 0.05, key="train.teacher_forcing",
                            help="how often the decoder reads the true previous word instead of its own guess")
    scaled = row[6].checkbox("Scale dot by √d", base.model.scaled, key="train.scaled")

    refused = admin.show_refusal("train")
    if st.button("Queue runs", key="train.queue_button", type="primary", icon=":material/play_arrow:",
                 disabled=bool(refused), help=refused):
        try:
            run_config = ds.training_config(data_cfg, preset, style=style, emb=emb, hidden=hidden, scaled=scaled,
                                            epochs=epochs, batch=batch, lr=lr, teacher_forcing=teacher)
            configs = ds.plan_runs(run_config, variants, ds.parse_seeds(seeds_text))
        except ValueError as exc:  # ConfigError is a ValueError: the message names the field and range
            st.error(f"**Nothing was queued.** {exc}", icon=":material/error:")
        else:
            run_ids, ready, errors = actions.submit_all(configs)
            for error in errors:
                st.error(error, icon=":material/error:")
            if run_ids:
                st.success(f"{len(run_ids) - ready} run(s) queued" +
                           (f", {ready} already trained with these settings (see Compare)" if ready else "") + ".")


def live(watching: bool, sidebar_line: str, page_run: list) -> None:
    """Active runs: progress, cancel buttons, the live loss chart. Reruns alone, once a second.

    `watching` and `sidebar_line` are as of the page's run; this fragment cannot redraw the sidebar.
    `page_run` is [True] from the page and empty afterwards: Streamlit keeps the arguments (the same
    list) for the fragment's own reruns, so only those compare. In the page's run there is nothing to
    refresh -- the page just set the timer, the frame redraws the sidebar after it -- and a worker
    taking a queued run between the two reads would rerun the page and lose its "queued" message.
    """
    with frame.guard("The live view"):
        actions.show_notice()  # a refused Cancel or Train again (their callbacks rerun only this fragment)
        store = state.store()
        active = store.runs(status=list(ACTIVE))
        in_page_run = bool(page_run) and page_run.pop()
        if not in_page_run and (watching == active.empty or state.store_line() != sidebar_line):
            st.rerun()  # runs started, ended or were queued: refresh the page, its timer and the sidebar once
        if active.empty:
            st.info("No run is training. Queue runs above, or press **Lecture demo** on Home.")
        else:
            st.subheader(f"Training now ({len(active)})")
            no_cancel = admin.refusal("cancel")
            for _, run in active.iloc[::-1].iterrows():  # oldest first: the order they started
                bar, button = st.columns([8, 1], vertical_alignment="bottom")
                progress = run["progress"] if run["progress"] == run["progress"] and run["progress"] else 0.0
                bar.progress(float(progress), text=ds.progress_text(run))
                button.button("Cancel", key=f"train.{run['id']}.cancel_button", on_click=actions.cancel,
                              args=(run["id"],), icon=":material/stop:", disabled=bool(no_cancel), help=no_cancel)
            curves = ds.curves_frame(store.curves(list(active["id"])), store.curves(list(active["id"]), "epoch"))
            render.show_live_loss(curves, style=frame.style(), key="train.live", name="live-loss")
        finished = ds.recent(store.runs(status=list(FINISHED)))
        if len(finished):
            st.markdown("**Finished in the last 10 minutes**")
            no_train = admin.refusal("train")
            for _, run in finished.head(8).iterrows():
                if run["status"] == "done":
                    st.markdown(f":material/check_circle: {run['name']} — BLEU {run['bleu']:.1f} on the test set, "
                                f"trained in {ds.format_seconds(run['train_seconds'])}")
                else:
                    text, again = st.columns([8, 1], vertical_alignment="center")
                    text.markdown(f":material/cancel: {run['name']} — {run['status']}: {run['error'] or ''}")
                    again.button("Train again", key=f"train.{run['id']}.resubmit_button", on_click=actions.resubmit,
                                 args=(run["id"],), icon=":material/replay:", disabled=bool(no_train), help=no_train)
            st.page_link("pages/compare.py", label="Compare them by sentence length",
                         icon=":material/stacked_line_chart:")


watching = not state.store().runs(status=list(ACTIVE)).empty
st.fragment(live, run_every=1.0 if watching else 5.0)(watching, state.store_line(), [True])
