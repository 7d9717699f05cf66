"""Train: queue variants x seeds on the chosen data, and watch every active run's loss live."""
import streamlit as st

from attn.app import actions, admin, frame, render, state
from attn.app import live as live_view
from attn.config import ConfigError
from attn.data.load import corpus_name
from attn.training.checkpoints import check_probe, probe_vocab, with_probe
from attn.viz import support as ds
from attn.config import ARCHS, FAMILIES, LENGTH_TRANSFORMER, POSITIONS, PRESETS, STYLES, VARIANTS, preset_data
from attn.runs import plans
from attn.runs.plans import form_fields
from attn.runs.store import ACTIVE, FINISHED


def _apply_preset():
    name = st.session_state["train.preset"]
    for key, value in ds.preset_values(name).items():
        st.session_state[key] = value
    # an imported corpus stays chosen (the corpus preset adds its subwords); else the preset's own data
    st.session_state["data_config"] = preset_data(name, st.session_state.get("data_config"))


def _form_values() -> dict:
    """The form's values as its widgets hold them (their defaults before they are first drawn)."""
    got, base = st.session_state.get, PRESETS[ds.DEFAULT_PRESET]
    family = got("train.family") or "rnn"
    values = {"style": got("train.style", STYLES[0]), "scaled": got("train.scaled", base.model.scaled),
              "emb": got("train.emb", base.model.emb), "hidden": got("train.hidden", base.model.hidden),
              "epochs": got("train.epochs", base.train.epochs), "batch": got("train.batch", base.train.batch),
              "lr": got("train.lr", base.train.lr), "seeds": got("train.seeds", "0"),
              "teacher_forcing": got("train.teacher_forcing", base.train.teacher_forcing),
              "variants": got("train.variants", list(ds.LECTURE_VARIANTS))}
    if family == "transformer":  # one model per seed; a Transformer reads the whole gold prefix at once
        values.update(family=family, variants=[base.model.variant], style=base.model.style, emb=base.model.emb,
                      scaled=base.model.scaled, teacher_forcing=1.0, arch=got("train.arch", "decoder"),
                      positions=got("train.positions", POSITIONS[0]),
                      layers=got("train.layers", LENGTH_TRANSFORMER.layers),
                      heads=got("train.heads", LENGTH_TRANSFORMER.heads))
    return values


def _queue() -> None:
    """Queue runs' on_click: run before any page code, so a click elsewhere cannot cut it short."""
    data = st.session_state.get("data_config", PRESETS[ds.DEFAULT_PRESET].data)
    configs, problems = plans.plan_form(data, st.session_state.get("train.preset", ds.DEFAULT_PRESET),
                                        _form_values())
    probe = (st.session_state.get("train.probe") or "").strip()
    if probe and not problems:  # checked against the data's own words before anything is queued
        try:
            check_probe(probe, data, probe_vocab(state.load_data(data), data))
            configs = [with_probe(cfg, probe) for cfg in configs]
        except ConfigError as exc:
            problems = [str(exc)]
    if problems:  # one message naming every bad field, its value and its range; nothing is queued
        fix = "this field" if len(problems) == 1 else f"these {len(problems)} fields"
        actions.remember_outcome("train", actions.Submitted(
            [], 0, [f"**Nothing was queued.** Fix {fix}:\n\n" + "\n".join(f"- {p}" for p in problems)], None))
    else:
        actions.queue_click("train", configs, "Train form", "train")


frame.require_frame()
st.title("Train")
fields = form_fields()  # every number's range, read from attn.config's own checks (one source of truth)
data_cfg = st.session_state.get("data_config", PRESETS[ds.DEFAULT_PRESET].data)
st.markdown(f"**Data:** {ds.describe_data(data_cfg, corpus_name(data_cfg))}")
st.page_link("pages/data.py", label="Choose other data", icon=":material/dataset:")


def number(column, name: str, default, **options):
    """A number field without widget bounds: what is typed reaches validate_form, which names a bad value."""
    return column.number_input(fields[name].label, value=default, key=f"train.{name}", help=fields[name].help,
                               **options)


with st.container(border=True):
    top = st.columns([2, 1, 1, 1, 1, 1], vertical_alignment="bottom")
    top[0].segmented_control("Model family", list(FAMILIES), default="rnn", key="train.family",
                             help="rnn: the GRU encoder–decoder with an attention variant; transformer: "
                                  "self-attention with a positional encoding")
    family = st.session_state.get("train.family") or "rnn"
    top[1].text_input("Seeds", "0", key="train.seeds", help=fields["seeds"].help)
    preset = top[2].selectbox("Preset", list(PRESETS), key="train.preset",
                              help="the settings a run starts from; Apply copies them into every field")
    top[3].button("Apply preset", key="train.preset_button", on_click=_apply_preset,
                  help="sets the data, sizes and training settings of the chosen preset")
    base = PRESETS[ds.DEFAULT_PRESET]
    if family == "rnn":
        row = st.columns([2, 1, 1], vertical_alignment="bottom")
        row[0].multiselect("Variants", list(VARIANTS), default=list(ds.LECTURE_VARIANTS), key="train.variants")
        row[1].selectbox("Decoder style", list(STYLES), key="train.style",
                         help="luong: score from s_t; bahdanau: score from s_{t-1}, context fed to the GRU")
        row[2].checkbox("Scale dot by √d", base.model.scaled, key="train.scaled")
    else:
        row = st.columns(4, vertical_alignment="bottom")
        row[0].selectbox("Architecture", list(ARCHS), index=list(ARCHS).index("decoder"), key="train.arch",
                         help="decoder: source, separator and target in one causal sequence "
                              "(Kazemnejad et al. 2023); encdec: encoder and decoder with cross-attention")
        row[1].selectbox("Positions", list(POSITIONS), key="train.positions",
                         help="the positional encoding; none (NoPE) needs the causal decoder-only "
                              "model: a bidirectional encoder without positions cannot tell word order")
        number(row[2], "layers", LENGTH_TRANSFORMER.layers, step=1)
        number(row[3], "heads", LENGTH_TRANSFORMER.heads, step=1)
    row = st.columns(7, vertical_alignment="bottom")
    if family == "rnn":
        number(row[0], "emb", base.model.emb, step=16)
    number(row[1], "hidden", base.model.hidden, step=32)
    number(row[2], "epochs", base.train.epochs, step=1)
    number(row[3], "batch", base.train.batch, step=16)
    number(row[4], "lr", base.train.lr, step=1e-3, format="%.6f")
    row[5].slider("Teacher forcing", 0.0, 1.0, base.train.teacher_forcing if family == "rnn" else 1.0,
                  0.05, key="train.teacher_forcing", help=fields["teacher_forcing"].help,
                  disabled=family != "rnn")
    st.text_input("Probe sentence (optional)", key="train.probe", placeholder="one validation sentence per length bucket",
                  help="a source sentence whose attention every checkpoint keeps, drawn live below and on the "
                       "Attention page's checkpoint slider; empty: one validation sentence per length bucket")
    configs, problems = plans.plan_form(data_cfg, preset, _form_values())
    if configs:
        labels = list(dict.fromkeys(cfg.model.label for cfg in configs))
        st.caption(f"Will queue: **{', '.join(labels)}** × {len({cfg.seed for cfg in configs})} seed(s) = "
                   f"{len(configs)} run(s).")
        st.caption(f":material/timer: {state.estimate_note(configs)}")  # before anything is queued (issue 15)
        if st.button("Count parameters", key="train.count_button", icon=":material/functions:",
                     help="builds each model once on this data's vocabularies (the first count loads PyTorch)"):
            with frame.guard("Counting parameters"):
                models = {cfg.model.label: cfg.model for cfg in configs}
                st.caption(" · ".join(f"**{label}**: {state.parameter_count(model, data_cfg):,} parameters"
                                      for label, model in models.items()))
    refused = admin.show_refusal("train")
    st.button("Queue runs", key="train.queue_button", type="primary", icon=":material/play_arrow:",
              disabled=bool(refused), help=refused, on_click=_queue)
    actions.show_outcome("train", frame.LECTURE_PAGE)


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
        finished = ds.recent(store.runs(status=list(FINISHED)))
        if active.empty:
            st.info("No run is training. Queue runs above, or press **Lecture demo** on Home.")
            if len(finished):  # the live chart stays as the finished picture of the runs that just ended
                ended = list(finished.head(9)["id"])
                render.show_live_loss(ds.curves_frame(store.curves(ended), store.curves(ended, "epoch")),
                                      style=frame.style(), key="train.live", name="finished-loss",
                                      marks=live_view.alignment_marks(store, ended))
                st.caption("Finished: the loss of the runs that ended in the last 10 minutes.")
                live_view.show_progress(store, finished.head(9), style=frame.style(), key="train.progress")
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
            render.show_live_loss(curves, style=frame.style(), key="train.live", name="live-loss",
                                  marks=live_view.alignment_marks(store, active["id"]))
            live_view.show_progress(store, active, style=frame.style(), key="train.progress")
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
