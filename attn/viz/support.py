"""Pure helpers behind the dashboard pages: widget values in, configs / tidy frames / messages out.

Nothing here imports Streamlit, so every helper is tested like the rest of `attn`. The pages hold
widgets and one call each into these helpers, the run store, the job runner and `attn.charts`.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from attn.config import PRESETS, VARIANTS, ConfigError, DataConfig, RunConfig
from attn.data.corpus import CorpusError, CorpusOptions, load_parallel_bytes, load_tsv_bytes
from attn.data.pairs import ParallelData, bucket_label, parse_edges
from attn.training.evaluate import resolve_edges
from attn.records import Decode
from attn.runs.store import STATUSES
from attn.data.tasks import TASKS
from attn.data.text import EOS, Vocab

LECTURE_VARIANTS = ("none", "additive", "dot")
DEFAULT_PRESET = "lecture"
# Equations shown on Home, one per variant (e_tj: score of source word j for output step t). The
# query q_t is the decoder state the score reads: s_t in the luong decoder (the presets' style),
# s_{t-1} in the bahdanau decoder, as in each paper; QUERY_NOTE says so under the equations.
EQUATIONS = {
    "none": r"c_t = h_{\mathrm{summary}} \quad\text{(the same vector at every output step } t\text{)}",
    "additive": r"e_{tj} = v^\top \tanh\left(W q_t + U h_j\right) \quad\text{(Bahdanau et al. 2015)}",
    "dot": r"e_{tj} = \frac{q_t^\top h_j}{\sqrt{d}} \quad\text{(Luong et al. 2015; scaled as in Vaswani et al. 2017)}",
    "general": r"e_{tj} = q_t^\top W h_j \quad\text{(Luong et al. 2015)}",
    "context": r"\alpha_{tj} = \frac{\exp(e_{tj})}{\sum_{k} \exp(e_{tk})}, \qquad c_t = \sum_j \alpha_{tj}\, h_j",
}
QUERY_NOTE = ("The query $q_t$ is a decoder state: the current one, $s_t$, in the Luong decoder (the presets' "
              "style), the previous one, $s_{t-1}$, in the Bahdanau decoder, as in each paper.")
STYLE_NOTES = {
    "luong": "Luong decoder: the score uses the current decoder state s_t, computed before the context.",
    "bahdanau": "Bahdanau decoder: the score uses the previous state s_{t-1}, and the context feeds the GRU.",
}


# ----------------------------------------------------------------------------- runs to queue

def lecture_configs(preset: str = DEFAULT_PRESET, epochs: int | None = None) -> list[RunConfig]:
    """The Lecture demo: none, additive and dot on the preset's task, seed 0 (`epochs`: instead of the preset's)."""
    base = PRESETS[preset]
    if epochs is not None:
        base = dataclasses.replace(base, train=dataclasses.replace(base.train, epochs=int(epochs)))
    return [base.with_variant(v) for v in LECTURE_VARIANTS]


def parse_seeds(text: str) -> list[int]:
    """"0", "0,1,2" or "0-2" -> distinct seeds in the order given; the error says what is expected."""
    seeds: list[int] = []
    for part in str(text).replace(" ", "").split(","):
        if not part:
            continue
        try:
            if "-" in part[1:]:
                lo, hi = (int(x) for x in part.split("-", 1))
                if hi < lo or hi - lo > 99:
                    raise ValueError
                values = range(lo, hi + 1)
            else:
                values = [int(part)]
        except ValueError:
            raise ValueError(f"seeds: {part!r} is not a whole number or a range like 0-2; "
                             "write e.g. 0 or 0,1,2 or 0-2") from None
        for value in values:
            if value < 0:
                raise ValueError(f"seeds must not be negative, got {value}")
            if value not in seeds:
                seeds.append(value)
    if not seeds:
        raise ValueError("seeds: give at least one seed, e.g. 0 or 0,1,2")
    return seeds


def training_config(data: DataConfig, preset: str = DEFAULT_PRESET, *, style: str, emb: int, hidden: int,
                    scaled: bool, epochs: int, batch: int, lr: float, teacher_forcing: float) -> RunConfig:
    """The preset's run with the Train page's settings laid over it (raises ConfigError on a bad value)."""
    base = PRESETS[preset]
    return RunConfig(data=data,
                     model=dataclasses.replace(base.model, style=style, emb=int(emb), hidden=int(hidden),
                                               scaled=bool(scaled)),
                     train=dataclasses.replace(base.train, epochs=int(epochs), batch=int(batch), lr=float(lr),
                                               teacher_forcing=float(teacher_forcing)),
                     seed=base.seed)


def plan_runs(base: RunConfig, variants: Sequence[str], seeds: Sequence[int]) -> list[RunConfig]:
    """One config per seed x variant (seeds outer, so the first seed of every variant starts first)."""
    if not variants:
        raise ConfigError(f"choose at least one variant ({', '.join(VARIANTS)})")
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ConfigError(f"unknown variant(s) {', '.join(unknown)}; valid: {', '.join(VARIANTS)}")
    return [base.with_variant(v, seed=int(s)) for s in seeds for v in variants]


def preset_values(name: str) -> dict[str, Any]:
    """Widget values (by key) of the Train and Data pages that reproduce preset `name`."""
    cfg = PRESETS[name]
    spec = TASKS[cfg.data.task]
    lo = cfg.data.min_len if cfg.data.min_len is not None else spec.default_min_len
    hi = cfg.data.max_len if cfg.data.max_len is not None else spec.default_max_len
    return {"train.style": cfg.model.style, "train.emb": cfg.model.emb, "train.hidden": cfg.model.hidden,
            "train.scaled": cfg.model.scaled, "train.epochs": cfg.train.epochs, "train.batch": cfg.train.batch,
            "train.lr": cfg.train.lr, "train.teacher_forcing": cfg.train.teacher_forcing,
            "data.source": "built-in task", "data.task": cfg.data.task, "data.length": (lo, hi),
            "data.length_dist": cfg.data.length_dist, "data.n_train": cfg.data.n_train,
            "data.n_valid": cfg.data.n_valid, "data.n_test": cfg.data.n_test,
            "data.n_buckets": cfg.data.n_buckets, "data.edges": ""}


# ------------------------------------------------------------------------------------ data

def _edges(edges_text: str) -> tuple[int, ...] | None:
    return tuple(parse_edges(edges_text)) if edges_text and edges_text.strip() else None


def task_length_range(task: str) -> tuple[int, int]:
    """The Data page's default source-length range: the lecture preset's on its task, else the task's."""
    spec, base = TASKS[task], PRESETS[DEFAULT_PRESET].data
    same = base.task == task
    lo = base.min_len if same and base.min_len is not None else spec.default_min_len
    hi = base.max_len if same and base.max_len is not None else spec.default_max_len
    return lo, hi


def task_data_config(task: str, length: tuple[int, int], n_train: int, n_valid: int, n_test: int,
                     n_buckets: int = 5, edges_text: str = "", length_dist: str | None = None) -> DataConfig:
    """A built-in task's DataConfig, built on the lecture preset's data settings.

    A length end is stored as the preset stores it when it has the preset's value on the preset's
    task, and as None when it is the task's default, so the Data page's defaults give exactly the
    lecture preset's config (and so the same cached runs).
    """
    spec, base = TASKS[task], PRESETS[DEFAULT_PRESET].data
    same = base.task == task

    def end(value: int, preset_value: int | None, task_default: int) -> int | None:
        if same and value == (preset_value if preset_value is not None else task_default):
            return preset_value
        return None if value == task_default else value

    return dataclasses.replace(
        base, task=task, corpus=None, corpus_sha256=None, n_train=int(n_train), n_valid=int(n_valid),
        n_test=int(n_test), min_len=end(int(length[0]), base.min_len, spec.default_min_len),
        max_len=end(int(length[1]), base.max_len, spec.default_max_len),
        length_dist=length_dist or base.length_dist, n_buckets=int(n_buckets), buckets=_edges(edges_text))


def corpus_data_config(spec: str, sha256: str, *, lowercase: bool, max_len: int | None, max_pairs: int | None,
                       level: str, n_buckets: int = 5, edges_text: str = "") -> DataConfig:
    """An imported corpus, stored in the run store under its content hash (`spec` from store_corpus)."""
    return DataConfig(task="corpus", corpus=spec, corpus_sha256=sha256, lowercase=bool(lowercase),
                      max_len=max_len or None, max_pairs=max_pairs or None, level=level,
                      n_buckets=int(n_buckets), buckets=_edges(edges_text))


def load_upload(files: Sequence[tuple[str, bytes]],
                options: CorpusOptions = CorpusOptions()) -> tuple[ParallelData | None, str | None]:
    """Uploaded files -> (data, None), or (None, the reason to show the user). Never raises.

    One file is a TSV (source<TAB>target), two are line-aligned source and target files, in that order.
    """
    files = list(files)
    if len(files) not in (1, 2):
        return None, (f"upload one TSV file (source<TAB>target per line) or two line-aligned files "
                      f"(source, then target); got {len(files)} files")
    try:
        if len(files) == 1:
            (name, blob), = files
            return load_tsv_bytes(bytes(blob), name, options), None
        (src_name, src), (tgt_name, tgt) = files
        return load_parallel_bytes(bytes(src), bytes(tgt), src_name, tgt_name, options), None
    except (CorpusError, ValueError, TypeError) as exc:
        return None, str(exc)


def describe_data(cfg: DataConfig) -> str:
    """One line for the Train page: which data a run will see."""
    if cfg.corpus:
        extra = [f"at most {cfg.max_pairs:,} pairs" if cfg.max_pairs else "",
                 f"at most {cfg.max_len} tokens" if cfg.max_len else "", "lowercased" if cfg.lowercase else "",
                 f"{cfg.level} tokens"]
        return "imported corpus " + (cfg.corpus_sha256 or "")[:10] + " (" + ", ".join(e for e in extra if e) + ")"
    spec = TASKS[cfg.task]
    lo = cfg.min_len if cfg.min_len is not None else spec.default_min_len
    hi = cfg.max_len if cfg.max_len is not None else spec.default_max_len
    spread = " (short ones more common)" if cfg.length_dist == "natural" else ""
    return (f"task {cfg.task}: {cfg.n_train:,} training / {cfg.n_valid:,} validation / {cfg.n_test:,} test pairs, "
            f"sources of {lo}–{hi} tokens{spread}")


def data_overview(data: ParallelData, cfg: DataConfig) -> dict:
    """Split sizes, vocabulary sizes (built as training builds them) and the bucket edges in use."""
    src_vocab = Vocab.build((p.src for p in data.train), min_freq=cfg.min_freq)
    tgt_vocab = Vocab.build((p.tgt for p in data.train), min_freq=cfg.min_freq)
    edges = resolve_edges(data, cfg.buckets, cfg.n_buckets)
    return {"train": len(data.train), "valid": len(data.valid), "test": len(data.test),
            "src_vocab": len(src_vocab), "tgt_vocab": len(tgt_vocab), "edges": edges,
            "buckets": [bucket_label(edges, k) for k in range(len(edges) - 1)]}


def source_lengths(data: ParallelData) -> list[int]:
    """Source lengths of the test split: the sentences the length buckets of Compare count and score."""
    return [len(p.src) for p in (data.test or data.train)]


def preview_pairs(data: ParallelData, n: int = 8) -> pd.DataFrame:
    """The first `n` training pairs as text with their lengths in tokens, numbered from 1."""
    rows = [{"source": data.detok(p.src), "target": data.detok(p.tgt), "tokens": f"{len(p.src)} → {len(p.tgt)}"}
            for p in data.train[:n]]
    frame = pd.DataFrame(rows, columns=["source", "target", "tokens"])
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="#")
    return frame


# ------------------------------------------------------------------------- grouping runs

def comparison_key(config: Mapping) -> str:
    """Hash of a run's config without its variant and seed: runs with equal keys are comparable."""
    cfg = json.loads(json.dumps(config))
    cfg.get("model", {}).pop("variant", None)
    cfg.pop("seed", None)
    return hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:10]


def comparison_label(task: str, config: Mapping) -> str:
    m, t, d = config.get("model", {}), config.get("train", {}), config.get("data", {})
    size = f"{d.get('n_train', '?'):,} pairs · " if not d.get("corpus") else ""
    return (f"{task} · {size}{m.get('style')} · emb {m.get('emb')} · hidden {m.get('hidden')} · "
            f"{t.get('epochs')} epochs · lr {t.get('lr'):g} · #{comparison_key(config)[:6]}")


def with_groups(runs: pd.DataFrame, configs: Mapping[str, Mapping]) -> pd.DataFrame:
    """The done runs among `runs` that have a config, with their comparison key in a `group` column.

    Hashing 200 configs takes milliseconds, so a page computes this once per store version and hands
    the result to `comparison_groups` and `latest_runs`, which then keep its `group` column.
    """
    done = runs[(runs["status"] == "done") & runs["id"].isin(list(configs))] if len(runs) else runs
    if "group" in done.columns:
        return done
    if done.empty:
        return done.assign(group=pd.Series(dtype=object))
    return done.assign(group=[comparison_key(configs[i]) for i in done["id"]])


def comparison_groups(runs: pd.DataFrame, configs: Mapping[str, Mapping]) -> pd.DataFrame:
    """Done runs grouped by comparison key, newest group first.

    runs: store.runs() rows (id, task, variant, seed, status, finished), or `with_groups` of them;
    configs: run id -> config dict. Returns key, label, variants (fixed order), seeds, runs (count),
    finished (latest).
    """
    columns = ["key", "label", "variants", "seeds", "runs", "finished", "style", "task"]
    done = with_groups(runs, configs)
    if done.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for key, group in done.groupby("group", sort=False):
        first = group.iloc[0]
        present = set(group["variant"])
        rows.append({"key": key, "label": comparison_label(first["task"], configs[first["id"]]),
                     "variants": [v for v in VARIANTS if v in present] + sorted(present - set(VARIANTS)),
                     "seeds": sorted(int(s) for s in set(group["seed"])), "runs": len(group),
                     "finished": group["finished"].max(), "style": first["style"], "task": first["task"]})
    return pd.DataFrame(rows, columns=columns).sort_values("finished", ascending=False, kind="stable",
                                                           na_position="last").reset_index(drop=True)


def latest_runs(runs: pd.DataFrame, configs: Mapping[str, Mapping], key: str,
                seed: int | None = None) -> list[str]:
    """The newest done run of each variant x seed in comparison group `key` (one seed if given)."""
    if runs.empty:
        return []
    done = with_groups(runs, configs)
    done = done[done["group"] == key]
    if seed is not None:
        done = done[done["seed"] == seed]
    done = done.sort_values("finished", ascending=False, kind="stable").drop_duplicates(["variant", "seed"])
    order = {v: i for i, v in enumerate(VARIANTS)}
    done = done.assign(_o=done["variant"].map(lambda v: order.get(v, len(order)))).sort_values(["_o", "seed"])
    return list(done["id"])


def status_counts(runs: pd.DataFrame) -> dict[str, int]:
    """Runs per status, in the store's order of statuses, zero counts left out."""
    counts = runs["status"].value_counts() if len(runs) else pd.Series(dtype=int)
    return {s: int(counts[s]) for s in STATUSES if s in counts and counts[s] > 0}


def store_line(runs: pd.DataFrame) -> str:
    """The sidebar's line: how many runs are stored, training and queued."""
    counts = status_counts(runs)
    parts = [f"{len(runs)} run{'s' if len(runs) != 1 else ''} stored"]
    if counts.get("running"):
        parts.append(f"{counts['running']} training")
    if counts.get("queued"):
        parts.append(f"{counts['queued']} queued")
    if not counts.get("running") and not counts.get("queued"):
        parts.append("no jobs active")
    return " · ".join(parts)


# ------------------------------------------------------------------------------- progress

def format_seconds(seconds) -> str:
    """12 s, 3 min 05 s, 1 h 02 min; '–' when unknown."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "–"
    seconds = max(0, int(round(float(seconds))))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _number(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA else value


def progress_text(row: Mapping) -> str:
    """'additive seed 0 — epoch 2/8 · step 120/400 · ETA 12 s' for one row of store.runs()."""
    status = row.get("status")
    head = str(row.get("name"))
    if status == "queued":
        return f"{head} — queued"
    step, total = _number(row.get("step")), _number(row.get("total_steps"))
    epoch, epochs = _number(row.get("epoch")), _number(row.get("epochs"))
    parts = []
    if epochs:
        parts.append(f"epoch {int(epoch or 0)}/{int(epochs)}")
    if total:
        parts.append(f"step {int(step or 0)}/{int(total)}")
    if not parts:
        parts.append("starting (loading data)")
    elif step is not None and total and int(step) >= int(total):
        parts.append("evaluating on the test set")
    else:
        parts.append(f"ETA {format_seconds(_number(row.get('eta')))}")
    return f"{head} — " + " · ".join(parts)


def recent(runs: pd.DataFrame, seconds: float = 600.0, now: float | None = None) -> pd.DataFrame:
    """Finished runs whose end lies within the last `seconds` (newest first)."""
    if runs.empty:
        return runs
    now = time.time() if now is None else now
    finished = pd.to_datetime(runs["finished"], errors="coerce")
    cutoff = pd.Timestamp.fromtimestamp(now - seconds)
    return runs[finished.notna() & (finished >= cutoff)].sort_values("finished", ascending=False)


def curves_frame(steps: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """Step and epoch rows of store.curves in one frame with a `kind` column (what charts expect)."""
    frames = [f.assign(kind=k) for f, k in ((steps, "step"), (epochs, "epoch")) if f is not None and len(f)]
    if not frames:
        return pd.DataFrame(columns=[*steps.columns, "kind"]) if steps is not None else pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


# ------------------------------------------------------------------------------ attention

def out_tokens(hyp: Sequence[str], weights: np.ndarray | None) -> list[str]:
    """Row labels of a generation's attention (T_hyp, S): the output, plus </s> when the weights have its row."""
    tokens = list(hyp)
    if weights is not None and weights.shape[0] == len(tokens) + 1:
        tokens.append(EOS)
    return tokens


def sentence_label(decode: Decode, level: str = "word", width: int = 70) -> str:
    """'#17 · 9 tokens · the source text…' for a test sentence picker."""
    text = ("" if level == "char" else " ").join(decode.src)
    text = text if len(text) <= width else text[:width - 1] + "…"
    return f"#{decode.index} · {len(decode.src)} tokens · {text}"


def attention_items(decodes: Mapping[str, Decode], view: str, gold=None) -> tuple[list[dict], dict[str, Decode]]:
    """Heatmap panels for the variants with attention, and {variant: decode} of those without.

    decodes: variant -> one Decode of the same sentence; view: "generated" (the model's own output;
    gold marked only where the output equals the reference) or "reference" (forced decoding of the
    reference; gold marked). gold: (t, s) pairs of the reference, or None.
    """
    if view not in ("generated", "reference"):
        raise ValueError(f"view must be 'generated' or 'reference', got {view!r}")
    items, without = [], {}
    for variant, d in decodes.items():
        weights = d.weights if view == "generated" else d.forced          # (T, S) float32 | None
        if weights is None:
            without[variant] = d
            continue
        if view == "generated":
            out = out_tokens(d.hyp, weights)
            marks = gold if gold and d.hyp == d.ref else None
        else:
            out, marks = list(d.ref), gold
        items.append({"title": variant, "src_tokens": list(d.src), "out_tokens": out, "weights": weights,
                      "gold": marks})
    return items, without


# ----------------------------------------------------------------------------- playground

MASKS = ("none", "causal", "custom")


def playground_mask(kind: str, n_q: int, n_k: int, custom=None) -> np.ndarray | None:
    """Boolean (n_q, n_k) mask, True = may attend. causal: query i sees keys 0..i."""
    if kind == "none":
        return None
    if kind == "causal":
        return np.tril(np.ones((n_q, n_k), dtype=bool))
    if kind == "custom":
        m = np.asarray(custom, dtype=bool) if custom is not None else np.ones((n_q, n_k), dtype=bool)
        if m.shape != (n_q, n_k):
            raise ValueError(f"custom mask must be {n_q}×{n_k}, got {m.shape}")
        return m
    raise ValueError(f"mask must be one of {', '.join(MASKS)}, got {kind!r}")


def matrix_frame(matrix, row_prefix: str, col_prefix: str) -> pd.DataFrame:
    """A matrix as a labelled frame for st.data_editor: rows q1.., columns d1.."""
    m = np.asarray(matrix)
    return pd.DataFrame(m, index=[f"{row_prefix}{i + 1}" for i in range(m.shape[0])],
                        columns=[f"{col_prefix}{j + 1}" for j in range(m.shape[1])])


def editor_matrix(frame: pd.DataFrame) -> tuple[np.ndarray, int]:
    """An edited frame back to floats; emptied cells become 0 -> (matrix, how many were emptied)."""
    values = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    missing = int(np.isnan(values).sum())
    return np.nan_to_num(values, nan=0.0), missing


def shape_text(matrix) -> str:
    rows, cols = np.asarray(matrix).shape
    return f"({rows}, {cols})"


# ------------------------------------------------------------------------------------ runs

RUN_COLUMNS = ["name", "status", "task", "variant", "style", "seed", "bleu", "progress", "created", "finished",
               "train_seconds", "params", "id", "error"]


def runs_table(runs: pd.DataFrame) -> pd.DataFrame:
    """The Runs page's table: the columns people read, in reading order."""
    return runs[[c for c in RUN_COLUMNS if c in runs.columns]].reset_index(drop=True)


def filter_runs(runs: pd.DataFrame, status: Iterable[str] = (), task: Iterable[str] = (),
                variant: Iterable[str] = ()) -> pd.DataFrame:
    """Rows matching every non-empty filter (an empty filter keeps everything)."""
    keep = pd.Series(True, index=runs.index)
    for column, values in (("status", status), ("task", task), ("variant", variant)):
        values = list(values)
        if values:
            keep &= runs[column].isin(values)
    return runs[keep]
