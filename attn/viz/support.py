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
    attn.viz.playground    the Playground's matrices: MASKS, playground_mask, matrix_frame, editor_matrix,
                           shape_text
    here                   attention panels of test decodes: out_tokens, sentence_label, attention_items,
                           longest_sentence
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from attn.data.text import EOS
from attn.records import Decode
from attn.runs.plans import (DEFAULT_PRESET, LECTURE_VARIANTS, corpus_data_config, lecture_configs, parse_seeds,
                             plan_runs, preset_values, task_data_config, task_length_range, training_config)
from attn.viz.datasets import data_overview, describe_data, load_upload, preview_pairs, source_lengths
from attn.viz.groups import (comparison_groups, comparison_key, comparison_label, latest_runs, newest_per_model,
                             with_groups)
from attn.viz.playground import MASKS, editor_matrix, matrix_frame, playground_mask, shape_text
from attn.viz.tables import RUN_COLUMNS, curves_frame, filter_runs, recent, runs_table, status_counts
from attn.viz.text import EQUATIONS, QUERY_NOTE, STYLE_NOTES, format_seconds, progress_text, store_line

__all__ = ["DEFAULT_PRESET", "EQUATIONS", "LECTURE_VARIANTS", "MASKS", "QUERY_NOTE", "RUN_COLUMNS", "STYLE_NOTES",
           "attention_items", "comparison_groups", "comparison_key", "comparison_label", "corpus_data_config",
           "curves_frame", "data_overview", "describe_data", "editor_matrix", "filter_runs", "format_seconds",
           "latest_runs", "lecture_configs", "load_upload", "matrix_frame", "newest_per_model", "out_tokens",
           "parse_seeds", "plan_runs", "playground_mask", "preset_values", "preview_pairs", "progress_text", "recent",
           "longest_sentence", "runs_table", "sentence_label", "shape_text", "source_lengths", "status_counts",
           "store_line",
           "task_data_config", "task_length_range", "training_config", "with_groups"]


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


def longest_sentence(by_run: Mapping[str, Mapping[int, Decode]]) -> int | None:
    """The index of the longest test source every run decoded (the lowest index among equals), or None.

    by_run: run id -> {test index: Decode}. The Lecture view shows this sentence's attention maps.
    """
    common = set.intersection(*(set(d) for d in by_run.values())) if by_run else set()
    if not common:
        return None
    first = next(iter(by_run.values()))
    return min(common, key=lambda i: (-len(first[i].src), i))
