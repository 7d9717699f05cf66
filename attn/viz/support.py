"""Pure helpers behind the dashboard pages, in one index: callers write `ds.<name>` after
`from attn.viz import support as ds`, whichever module holds the helper.

Nothing here imports Streamlit or torch, so every helper is tested like the rest of `attn`.

    attn.runs.plans        run configs from widget values: DEFAULT_PRESET, LECTURE_VARIANTS, lecture_configs,
                           parse_seeds, training_config, plan_runs, preset_values, task_length_range,
                           task_data_config, corpus_data_config
    attn.viz.datasets      a data set on the Data/Train pages: load_upload, describe_data, data_overview,
                           source_lengths, preview_pairs
    attn.viz.groups        comparable runs: comparison_key, comparison_label, with_groups, comparison_groups,
                           latest_runs, newest_per_model
    attn.viz.tables        runs as tables: RUN_COLUMNS, runs_table, filter_runs, status_counts, recent,
                           curves_frame
    attn.viz.text          page texts: EQUATIONS, QUERY_NOTE, STYLE_NOTES, store_line, format_seconds,
                           progress_text
    attn.viz.matrices      the Playground's matrices: MASKS, playground_mask, matrix_frame, editor_matrix,
                           shape_text
    here                   attention panels of test decodes: out_tokens, sentence_label, attention_items,
                           per_word_items, longest_sentence
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Mapping, Sequence

from attn.data.text import EOS
from attn.records import Decode

if TYPE_CHECKING:
    import numpy as np

# Where each helper lives. A name is imported from its module when a page first asks for it (PEP 562
# module __getattr__), so a page pays only for what it uses: Home's equations do not wait for pandas,
# which a fresh server's first visitor would otherwise wait for before any of Home shows
# (benchmarks/first_view.py; tests/app/test_torch_free.py checks what Home imports).
HOMES = {
    "attn.runs.plans": ("DEFAULT_PRESET", "LECTURE_VARIANTS", "corpus_data_config", "lecture_configs", "parse_seeds",
                        "plan_runs", "preset_values", "task_data_config", "task_length_range", "training_config"),
    "attn.viz.datasets": ("data_overview", "describe_data", "load_upload", "preview_pairs", "source_lengths"),
    "attn.viz.groups": ("comparison_groups", "comparison_key", "comparison_label", "latest_runs", "newest_per_model",
                        "with_groups"),
    "attn.viz.matrices": ("MASKS", "editor_matrix", "matrix_frame", "playground_mask", "shape_text"),
    "attn.viz.tables": ("RUN_COLUMNS", "curves_frame", "filter_runs", "recent", "runs_table", "status_counts"),
    "attn.viz.text": ("EQUATIONS", "QUERY_NOTE", "STYLE_NOTES", "format_seconds", "progress_text", "store_line"),
}
_HOME_OF = {name: module for module, names in HOMES.items() for name in names}

__all__ = sorted([*_HOME_OF, "attention_items", "longest_sentence", "out_tokens", "per_word_items", "sentence_label"])


def __getattr__(name: str):
    """`ds.<name>` for a helper of another module: imported from there on first use, then kept here."""
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


# ------------------------------------------------------------------------------ attention

def out_tokens(hyp: Sequence[str], weights: np.ndarray | None) -> list[str]:
    """Row labels of a generation's attention (T_hyp, S): the output, plus </s> when the weights have its row."""
    tokens = list(hyp)
    if weights is not None and weights.shape[0] == len(tokens) + 1:
        tokens.append(EOS)
    return tokens


def sentence_label(decode: Decode, level: str = "word", width: int = 70, words=None) -> str:
    """'#17 · 9 tokens · the source text…' for a test sentence picker. words: a subword run's pieces -> the
    words they spell (subwords.merged_words): then the label counts and shows words, as its bucket does."""
    tokens = decode.src if words is None else words(decode.src)
    text = ("" if level == "char" else " ").join(tokens)
    text = text if len(text) <= width else text[:width - 1] + "…"
    return f"#{decode.index} · {len(tokens)} {'words' if words is not None else 'tokens'} · {text}"


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


def per_word_items(items: Sequence[dict]) -> list[dict]:
    """attention_items' panels of a subword run merged per word (attn.data.subwords.merge_per_word: each
    word's target rows averaged, its source columns summed), titled so; a panel without weights as it is."""
    from attn.data.subwords import merge_per_word

    merged = []
    for it in items:
        if it.get("weights") is None:
            merged.append(it)
            continue
        weights, out_words, src_words = merge_per_word(it["weights"], it["src_tokens"], it["out_tokens"])
        merged.append({**it, "weights": weights, "src_tokens": list(src_words), "out_tokens": list(out_words),
                       "gold": None, "title": f"{it['title']} · per word"})
    return merged


def longest_sentence(by_run: Mapping[str, Mapping[int, Decode]]) -> int | None:
    """The index of the longest test source every run decoded (the lowest index among equals), or None.

    by_run: run id -> {test index: Decode}. The Lecture view shows this sentence's attention maps.
    """
    common = set.intersection(*(set(d) for d in by_run.values())) if by_run else set()
    if not common:
        return None
    first = next(iter(by_run.values()))
    return min(common, key=lambda i: (-len(first[i].src), i))
