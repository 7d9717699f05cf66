"""Attention: every variant's output, its attention map and its saliency for the same sentence, side by side."""
import pandas as pd
import streamlit as st

from attn.app import explain, frame, render, state
from attn.app import groups as picker
from attn.viz import charts
from attn.viz import support as ds
from attn.runs.store import home
from attn.data.tasks import TASKS
from attn.data.normalize import normalize_typed
from attn.data.subwords import MERGED_NOTE, merged_words

NO_ATTENTION = ("has no attention weights: its decoder reads **one fixed vector**, the encoder's summary of the "
                "whole sentence, at every output step. Its *saliency* shows where it looks anyway.")

frame.require_frame()
st.title("Attention maps")
store, path = state.store(), str(home())
snap = state.finished_groups()
configs = snap.configs
top = st.columns([3, 1, 2])
comparison = picker.pick(snap, "attention.group", top[0])
seeds = sorted(int(s) for s in set(comparison.runs["seed"]))
frame.keep_valid("attention.seed", seeds)
seed = top[1].selectbox("Seed", seeds, key="attention.seed")
source = top[2].radio("Sentence", ["test sentence", "your own", "while training"], key="attention.source",
                      horizontal=True, help="while training: the probe sentences' attention at every checkpoint")

run_ids = ds.newest_per_model(comparison.runs, seed)
variant_of = dict(zip(comparison.runs["id"], comparison.runs["variant"]))
data_cfg = configs[run_ids[0]]["data"]
level = data_cfg["level"] if data_cfg.get("corpus") else TASKS[data_cfg["task"]].level
words = merged_words if data_cfg.get("subwords") else None  # pieces ("▁fol", "lows") read as the words they spell
detok = ("" if level == "char" else " ").join
if words is not None:
    detok = lambda pieces: " ".join(words(pieces))  # noqa: E731
run_of = {variant_of[rid]: rid for rid in run_ids}

if source == "while training":  # the probe sentences at every stored checkpoint, with a player
    explain.training_player(path, run_of, detok, frame.style())
    st.stop()
if source == "test sentence":
    by_run = {rid: {d.index: d for d in state.decodes(path, rid)} for rid in run_ids}
    first = by_run[run_ids[0]]
    bucket_names = list(store.buckets(run_ids[0])["bucket"])
    pick = st.columns([1, 4, 2])
    frame.keep_valid("attention.bucket", ["all", *bucket_names])
    bucket = pick[0].selectbox("Length bucket", ["all", *bucket_names], key="attention.bucket")
    common = set.intersection(*(set(b) for b in by_run.values()))  # sentences every run decoded
    indices = [i for i, d in first.items()
               if i in common and (bucket == "all" or d.bucket == bucket_names.index(bucket))]
    sentence_key = f"attention.sentence.{bucket}"  # one box per bucket: a box never shows another bucket's sentence
    frame.keep_valid(sentence_key, indices)
    index = pick[1].selectbox("Test sentence", indices, key=sentence_key,
                              format_func=lambda i: ds.sentence_label(first[i], level, words=words))
    view = pick[2].radio("Attention while", ["generated", "reference"], key="attention.view", horizontal=True,
                         format_func={"generated": "writing its output", "reference": "reading the reference"}.get)
    chosen = {variant_of[rid]: by_run[rid][index] for rid in run_ids if index in by_run[rid]}
    gold = None
    if not data_cfg.get("corpus"):
        from attn.config import RunConfig
        gold = state.load_data(RunConfig.from_dict(configs[run_ids[0]]).data).test[index].align
    st.markdown(f"**Source:** {detok(first[index].src)}  \n**Reference:** {detok(first[index].ref)}")
else:
    example = detok(next((d.src for d in state.decodes(path, run_ids[0])), ()))
    text = st.text_input("Type a sentence in the source language", example, key="attention.text")
    if not text.strip():
        st.info("Type a sentence to translate.")
        st.stop()
    from attn.training.evaluate import translate  # imports torch: only a typed sentence needs a model
    src_vocab = state.load_model(path, run_ids[0])[1]  # one comparison group: one data set, one vocabulary
    try:  # the task's own form: its case, its punctuation spacing, its final mark (attn.data.normalize)
        typed = normalize_typed(text, data_cfg, src_vocab)
    except ValueError as exc:
        st.warning(f"This sentence cannot be read: {exc}.", icon=":material/warning:")
        st.stop()
    st.markdown(f"**The models read:** `{' '.join(typed.tokens)}` ({len(typed.tokens)} tokens)")
    for note in typed.notes:
        st.caption(note)
    chosen = {}
    for rid in run_ids:
        model, src_vocab, tgt_vocab, _ = state.load_model(path, rid)
        chosen[variant_of[rid]] = translate(model, list(typed.tokens), src_vocab, tgt_vocab)  # a Decode without ref
    view, gold = "generated", None
    if typed.unknown:
        st.warning(f"Not in the training vocabulary, read as <unk>: {', '.join(typed.unknown)}",
                   icon=":material/warning:")

outputs = pd.DataFrame([{"variant": v, "output": detok(d.hyp),
                         **({"matches reference": d.hyp == d.ref} if d.ref is not None else {})}
                        for v, d in chosen.items()])
st.dataframe(outputs, hide_index=True)

items, without = ds.attention_items(chosen, view, gold)
layers = {rid: configs[rid]["model"].get("layers", 1) for rid in run_ids
          if configs[rid]["model"].get("family") == "transformer" and variant_of[rid] in chosen}
if layers and items:  # a Transformer's map: cross-attention averaged over heads, in the layer chosen here
    most = max(layers.values())
    frame.keep_valid("attention.layer", list(range(1, most + 1)))
    layer = st.selectbox("Transformer layer", list(range(1, most + 1)), index=most - 1, key="attention.layer",
                         help="cross-attention (decoder-only: the target rows over the source), averaged over "
                              "heads; the last layer's map is the one stored with the run")
    by_variant = {variant_of[rid]: rid for rid in layers}
    for it in items:
        rid = by_variant.get(it["title"])
        if rid is not None and layer < layers[rid]:
            with_eos = len(it["out_tokens"]) and it["out_tokens"][-1] == "</s>"
            out = it["out_tokens"][:-1] if with_eos else it["out_tokens"]
            maps = picker.cross_by_layer(path, rid, tuple(it["src_tokens"]), tuple(out), bool(with_eos))  # (L, T, S)
            it["weights"] = maps[layer - 1]
            it["title"] = f"{it['title']} · layer {layer}"
per_word = bool(data_cfg.get("subwords") and items) and st.toggle(
    "Merge pieces into words", key="attention.per_word",
    help=f"this run reads {data_cfg.get('subwords')} subword pieces; {MERGED_NOTE}")
show_saliency = st.toggle("Saliency beside attention", key="attention.saliency",
                          help="where each model looks, with or without attention: gradient × input of each "
                               "output word (loads the models; a few seconds the first time)")
if show_saliency:
    rows = explain.explain_rows(path, run_of, chosen, items, without, view)
    for row in rows:
        render.show_chart(charts.attention_grid, row.panels, style=frame.style(), key=f"attention.explain.{row.variant}",
                          name=f"attention-saliency-{row.variant}")
    table = explain.rho_table(rows)
    if len(table):
        st.markdown("**Does attention rank the source words as the gradient does?** Spearman's ρ per output row")
        st.dataframe(table, hide_index=True, key="attention.rho_table", column_config={
            "mean ρ": st.column_config.NumberColumn(format="%.2f"),
            "ρ per output row": st.column_config.BarChartColumn(y_min=-1, y_max=1)})
    st.caption(explain.SALIENCY_NOTE)
    if per_word:
        st.caption("Beside saliency the maps stay per subword piece, as the gradient is computed.")
else:
    for variant, decode in without.items():
        with st.container(border=True):
            st.markdown(f"**{variant}** {NO_ATTENTION}  \nIts output: *{detok(decode.hyp) or '(empty)'}*")
            st.button("Show where it looks", key=f"attention.saliency_{variant}_button", icon=":material/visibility:",
                      on_click=lambda: st.session_state.update({"attention.saliency": True}))
    if items:
        render.show_chart(charts.attention_grid, ds.per_word_items(items) if per_word else items, style=frame.style(),
                          key="attention.grid", name="attention-maps-per-word" if per_word else "attention-maps")
        if per_word:
            st.caption(f"Subword maps {MERGED_NOTE}: each row still sums to 1.")
if items and gold and view == "generated" and not any(it["gold"] for it in items):
    st.caption("Gold alignments are outlined only where a model's output equals the reference; "
               "switch to *reading the reference* to see them for every variant.")
