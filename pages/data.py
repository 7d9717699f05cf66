"""Data: a built-in task or an imported corpus; a preview, source lengths with bucket edges, vocabularies."""
import dataclasses
import hashlib

import streamlit as st

from attn.app import actions, admin, frame, render, state
from attn.viz import charts
from attn.viz import support as ds
from attn.config import PRESETS, limits
from attn.data.corpus import CorpusOptions, as_given, check_official_split
from attn.data.load import check_subwords, corpus_name, remember_corpus_names
from attn.data.tasks import LENGTH_DISTRIBUTIONS, TASKS

SUBWORDS = {"off (whole words)": None, "BPE": "bpe", "unigram": "unigram"}
SPLITS = {"valid": "validation", "test": "test"}


def _source_first(uploads, key: str) -> list:
    """Two line-aligned uploads ordered source file first (the visitor says which); one TSV as it is."""
    if len(uploads) != 2:
        return list(uploads)
    frame.keep_valid(key, [f.name for f in uploads])
    first = st.radio("Which file holds the source sentences?", [f.name for f in uploads], key=key,
                     horizontal=True)
    return sorted(uploads, key=lambda f: f.name != first)


def _official_split(split: str, uploads, options: CorpusOptions, data) -> str | None:
    """An uploaded official split, checked against the training file `data` (layout, shared vocabulary)
    under the names it was uploaded with, then kept in the run store -> its corpus spec (None: no upload)."""
    if not uploads:
        return None
    files = [(f.name, f.getvalue()) for f in _source_first(uploads, f"data.{split}_source_file")]
    actions.check_upload(files)
    loaded, error = state.parse_upload(tuple((n, hashlib.sha256(b).hexdigest()) for n, b in files),
                                       as_given(options), files)
    if error:
        raise ValueError(f"**The {SPLITS[split]} file cannot be used.** {error}")
    check_official_split(split, loaded, data)
    spec, _ = actions.store_corpus(files)
    remember_corpus_names(spec, [name for name, _ in files])
    return spec


def _task_changed():
    st.session_state["data.length"] = st.session_state["data.test_length"] = \
        ds.task_length_range(st.session_state["data.task"])


def _training_length_changed():
    """The test range follows a longer training range: its longest test source may not be shorter."""
    lo, hi = st.session_state["data.length"]
    test_lo, test_hi = st.session_state.get("data.test_length", (lo, hi))
    st.session_state["data.test_length"] = (min(test_lo, lo), max(test_hi, hi))


frame.require_frame()
st.title("Data")
st.caption("What the models read. Train queues every run on the data chosen here.")
lim = limits()
default = PRESETS[ds.DEFAULT_PRESET].data
source = st.radio("Data source", ["built-in task", "import a corpus"], key="data.source", horizontal=True)

if source == "built-in task":
    choose, describe = st.columns([1, 3], vertical_alignment="bottom")
    task = choose.selectbox("Task", list(TASKS), key="data.task", on_change=_task_changed,
                            index=list(TASKS).index(default.task))
    spec = TASKS[task]
    describe.markdown(spec.description)
    lo_limit, hi_limit = spec.limits[0], min(spec.limits[1], lim["max_len"])
    if "data.length" in st.session_state:  # clamp a remembered range into this task's limits
        lo, hi = st.session_state["data.length"]
        st.session_state["data.length"] = (max(lo_limit, min(lo, hi_limit)), max(lo_limit, min(hi, hi_limit)))
    sizes = st.columns([3, 2, 1, 1, 1], gap="medium")
    default_lo, default_hi = ds.task_length_range(task)
    length = sizes[0].slider("Training sentence length (tokens)", lo_limit, hi_limit, key="data.length",
                             on_change=_training_length_changed,
                             value=(default_lo, min(default_hi, hi_limit)))
    remembered = st.session_state.get("data.test_length")
    if remembered and (min(remembered) < lo_limit or max(remembered) > hi_limit):
        del st.session_state["data.test_length"]  # another task's range: start again from the training range
    test_length = sizes[0].slider("Test sentence length (tokens)", lo_limit, hi_limit, key="data.test_length",
                                  value=length, help="train short, test long: test sources may be longer than any "
                                  "training source (the longest must be at least the training's longest); Compare "
                                  "marks the buckets past the training length")
    length_dist = sizes[1].radio("Lengths", LENGTH_DISTRIBUTIONS, key="data.length_dist", horizontal=True,
                                 index=LENGTH_DISTRIBUTIONS.index(default.length_dist),
                                 format_func={"uniform": "uniform", "natural": "natural (1/L)"}.get,
                                 help="uniform: every length equally often; natural: P(L) ∝ 1/L, short "
                                      "sentences common and long ones rare, as in real text")
    n_train = sizes[2].number_input("Training pairs", 1, lim["n_train"], default.n_train, step=500,
                                    key="data.n_train")
    n_valid = sizes[3].number_input("Validation pairs", 1, 100_000, default.n_valid, step=100, key="data.n_valid")
    n_test = sizes[4].number_input("Test pairs", 1, 100_000, default.n_test, step=100, key="data.n_test")
else:
    no_upload = admin.show_refusal("upload")
    uploads = st.file_uploader("Corpus: one TSV file (source<TAB>target per line), or two line-aligned "
                               "files, one sentence per line (plain text or .gz)", accept_multiple_files=True,
                               key="data.files_upload", max_upload_size=actions.upload_limit_mb(),
                               disabled=bool(no_upload), help=no_upload)
    opts = st.columns(4)
    lowercase = opts[0].checkbox("Lowercase", key="data.lowercase")
    max_len = opts[1].number_input("Longest sentence (tokens, 0 = any)", 0, lim["max_len"], 50,
                                   key="data.corpus_max_len")
    max_pairs = opts[2].number_input("Most pairs (0 = all)", 0, lim["n_train"], 20_000, step=1000,
                                     key="data.max_pairs")
    level = opts[3].selectbox("Tokens", ["word", "char"], key="data.level")
    splits = st.columns(2)
    split_uploads = {split: splits[i].file_uploader(
        f"Official {SPLITS[split]} split (optional): the corpus's layout, used as given instead of a random "
        f"share", accept_multiple_files=True, key=f"data.{split}_upload", max_upload_size=actions.upload_limit_mb(),
        disabled=bool(no_upload), help=no_upload) for i, split in enumerate(SPLITS)}
    pieces = st.columns(2)
    subwords = SUBWORDS[pieces[0].radio(
        "Subwords (SentencePiece, trained on the training split)", list(SUBWORDS), key="data.subwords",
        horizontal=True, disabled=level != "word", help="word tokens only; buckets stay in source words")]
    subword_vocab = pieces[1].number_input("Subword vocabulary (pieces per side)", 8, lim["vocab"], 8000, step=500,
                                           key="data.subword_vocab", disabled=subwords is None or level != "word")

buckets = st.columns([3, 3], gap="medium")
n_buckets = buckets[0].slider("Length buckets", 1, 10, default.n_buckets, key="data.n_buckets")
edges_text = buckets[1].text_input("…or bucket edges (e.g. 0,10,20,30,60)", key="data.edges",
                                   help="bucket k holds lengths from edge k up to edge k+1, exclusive")

try:
    if source == "built-in task":
        cfg = ds.task_data_config(task, length, n_train, n_valid, n_test, n_buckets, edges_text, length_dist)
        if tuple(test_length) != tuple(length):  # else None: "as in training", the config runs are cached under
            cfg = dataclasses.replace(cfg, test_min_len=int(test_length[0]), test_max_len=int(test_length[1]))
        data = state.load_data(cfg)
    else:
        current = st.session_state.get("data_config")
        options_cfg = ds.corpus_data_config("", "", lowercase=lowercase, max_len=max_len, max_pairs=max_pairs,
                                            level=level, n_buckets=n_buckets, edges_text=edges_text)
        if uploads:
            uploads = _source_first(uploads, "data.source_file")
            files = [(f.name, f.getvalue()) for f in uploads]
            actions.check_upload(files)  # the size limit again, in code, before anything reads the bytes
            digest = tuple((name, hashlib.sha256(blob).hexdigest()) for name, blob in files)
            data, error = state.parse_upload(digest, CorpusOptions.for_config(options_cfg), files)
            if error:
                st.error(f"**This corpus cannot be used.** {error}", icon=":material/error:")
                st.stop()
            sha = data.report["sha256"]
            if current is not None and current.corpus_sha256 == sha:
                spec_path = current.corpus  # stored already
            else:
                spec_path, sha = actions.store_corpus(files)
                remember_corpus_names(spec_path, [f.name for f in uploads])  # every page calls it by them
            cfg = ds.corpus_data_config(spec_path, sha, lowercase=lowercase, max_len=max_len, max_pairs=max_pairs,
                                        level=level, n_buckets=n_buckets, edges_text=edges_text)
            options = CorpusOptions.for_config(cfg)
            cfg = dataclasses.replace(cfg, **{f"corpus_{split}": _official_split(split, split_uploads[split],
                                                                                 options, data)
                                              for split in SPLITS})
        elif current is not None and current.corpus:
            cfg = ds.corpus_data_config(current.corpus, current.corpus_sha256, lowercase=lowercase,
                                        max_len=max_len, max_pairs=max_pairs, level=level,
                                        n_buckets=n_buckets, edges_text=edges_text)
            # its official splits stay with it (new uploads replace them)
            data = state.load_data(cfg)
            options = CorpusOptions.for_config(cfg)
            cfg = dataclasses.replace(cfg, **{f"corpus_{split}": _official_split(split, split_uploads[split],
                                                                                 options, data)
                                              or getattr(current, f"corpus_{split}") for split in SPLITS})
            st.caption("Showing the corpus uploaded before (kept in the run store); upload files to replace it.")
        else:
            st.info("Upload a corpus: a TSV file such as Tatoeba's `eng-fra.txt`, or two files with one "
                    "sentence per line, line N of one translating line N of the other.")
            st.stop()
    if source != "built-in task":
        cfg = dataclasses.replace(cfg, subwords=subwords if level == "word" else None,
                                  subword_vocab=int(subword_vocab))
        if cfg.corpus_valid or cfg.corpus_test:
            data = state.load_data(cfg)  # the official splits in place of the random ones
        with st.spinner("Training the subword models on the training split (once per corpus and size)…"):
            subword_models = check_subwords(cfg, data)  # a size the corpus cannot hold: refused here, not in training
except (ValueError, admin.Refused) as exc:  # ConfigError, CorpusError, a file too large, an upload refused
    st.error(str(exc), icon=":material/error:")
    st.stop()

st.session_state["data_config"] = cfg
overview = state.data_overview(cfg, data)
numbers = st.columns(5)
for column, (label, value) in zip(numbers, [("training pairs", overview["train"]),
                                            ("validation pairs", overview["valid"]),
                                            ("test pairs", overview["test"]),
                                            ("source vocabulary", overview["src_vocab"]),
                                            ("target vocabulary", overview["tgt_vocab"])]):
    column.metric(label, f"{value:,}")

# Side by side on screen; in slide style the histogram is 1,000 px wide, so the table goes below it.
left, right = st.columns([1, 1], gap="large") if frame.style() == "screen" else (st.container(), st.container())
with left:
    render.show_chart(charts.length_histogram, ds.source_lengths(data), overview["edges"], style=frame.style(),
                      key="data.lengths", name="source-lengths")
    st.caption("The official test split, as given, which Compare scores bucket by bucket." if cfg.corpus_test else
               "The test split, which Compare scores bucket by bucket; training data has the same spread.")
with right:
    st.markdown("**Training pairs (first 8)**")
    st.table(ds.preview_pairs(data))
skipped = data.report.get("skipped") or {}
if skipped:
    st.warning("Skipped lines: " + ", ".join(f"{n:,} {why}" for why, n in skipped.items()) + ". First problems: "
               + "; ".join(data.report.get("first_problems", [])), icon=":material/warning:")
if cfg.corpus and cfg.subwords:
    st.caption(f"Subwords: {cfg.subwords}, {subword_models.src.get_piece_size():,} source and "
               f"{subword_models.tgt.get_piece_size():,} target pieces, trained on the training split (the "
               "vocabularies above count words); buckets stay in source words.")
st.caption(f"Train will use: {ds.describe_data(cfg, corpus_name(cfg))}; buckets {', '.join(overview['buckets'])}.")
