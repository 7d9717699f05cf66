"""A data set as the Data and Train pages show it: an upload read, a config in one line, sizes, lengths, pairs."""
from __future__ import annotations

from typing import Sequence

import pandas as pd

from attn.config import DataConfig
from attn.data.corpus import CorpusError, CorpusOptions, load_parallel_bytes, load_tsv_bytes
from attn.data.pairs import ParallelData, bucket_label, run_edges
from attn.data.tasks import TASKS
from attn.data.text import Vocab


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


def describe_data(cfg: DataConfig, name: str | None = None) -> str:
    """One line for the Train page: which data a run will see. name: an imported corpus's file name(s) as
    uploaded ("eng-fra.txt", "en.txt+fr.txt"), as its runs are called; without one, its content hash."""
    if cfg.corpus:
        extra = [f"at most {cfg.max_pairs:,} pairs" if cfg.max_pairs else "",
                 f"at most {cfg.max_len} tokens" if cfg.max_len else "", "lowercased" if cfg.lowercase else "",
                 f"{cfg.level} tokens"]
        called = f"corpus {name}" if name else "imported corpus " + (cfg.corpus_sha256 or "")[:10]
        return called + " (" + ", ".join(e for e in extra if e) + ")"
    spec = TASKS[cfg.task]
    lo = cfg.min_len if cfg.min_len is not None else spec.default_min_len
    hi = cfg.max_len if cfg.max_len is not None else spec.default_max_len
    spread = " (short ones more common)" if cfg.length_dist == "natural" else ""
    return (f"task {cfg.task}: {cfg.n_train:,} training / {cfg.n_valid:,} validation / {cfg.n_test:,} test pairs, "
            f"sources of {lo}–{hi} tokens{spread}")


def edges_in_use(data: ParallelData, edges: Sequence[int] | None, n_buckets: int = 5) -> list[int]:
    """The bucket edges evaluation uses (attn.data.pairs.run_edges, the one rule)."""
    return run_edges(data, edges, n_buckets)


def data_overview(data: ParallelData, cfg: DataConfig) -> dict:
    """Split sizes, vocabulary sizes (built as training builds them) and the bucket edges in use."""
    src_vocab = Vocab.build((p.src for p in data.train), min_freq=cfg.min_freq)
    tgt_vocab = Vocab.build((p.tgt for p in data.train), min_freq=cfg.min_freq)
    edges = edges_in_use(data, cfg.buckets, cfg.n_buckets)
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
