"""One loader for whatever a `DataConfig` names: a built-in task or an imported corpus.

It sits above `pairs`, `corpus` and `tasks` (which import only `pairs` and `text`), so the data
package has no import circle.
"""
from __future__ import annotations

import dataclasses
import os
import secrets
from pathlib import Path
from typing import Sequence

from attn.config import ConfigError, DataConfig
from attn.data.corpus import CorpusOptions, load_corpus
from attn.data.pairs import ParallelData
from attn.data.tasks import load_task


def load_data(cfg: DataConfig) -> ParallelData:
    """The built-in task or the imported corpus that `cfg` names.

    Pure Python, no torch: `python -m attn train` generates the data while its workers start.
    """
    if cfg.corpus:
        # official validation / test files, used as given
        data = load_corpus(cfg.corpus, CorpusOptions.for_config(cfg), valid=cfg.corpus_valid,
                           test=cfg.corpus_test)
        # corpus_sha256 names the training file (an upload kept in the store, by its hash) or, with official
        # splits from the CLI, every file at once (report["sha256"]), so a changed test file is another corpus
        found = data.report.get("train_sha256", data.report.get("sha256"))
        if cfg.corpus_sha256 and found and cfg.corpus_sha256 not in (found, data.report.get("sha256")):
            raise ConfigError(f"corpus {cfg.corpus!r} has changed since the run was configured: its content "
                              f"hash is {found[:12]}..., the config expects {cfg.corpus_sha256[:12]}...")
        uploaded = _spec_name(cfg.corpus)  # an upload kept in the store goes by its own names, not corpus.tsv
        return dataclasses.replace(data, name=uploaded) if uploaded else data
    return load_task(cfg.task, n_train=cfg.n_train, n_valid=cfg.n_valid, n_test=cfg.n_test,
                     min_len=cfg.min_len, max_len=cfg.max_len, seed=cfg.data_seed,
                     length_dist=cfg.length_dist, test_min_len=cfg.test_min_len,
                     test_max_len=cfg.test_max_len)


def check_subwords(cfg: DataConfig, data: ParallelData):
    """The SentencePiece models `cfg` asks for on `data` (its training split), trained now or loaded from the
    corpus folder's cache -> attn.data.subwords.Subwords, or None without cfg.subwords.

    Called before anything is queued (the CLI, the Data page), so that a vocabulary size the corpus cannot
    hold is a CorpusError naming the largest size that works, not a run that fails in its worker; the
    worker then loads the same cached models instead of training them again.
    """
    if not cfg.subwords:
        return None
    from attn.data.subwords import subwords_for  # imports sentencepiece on use
    return subwords_for(data, cfg.subwords, cfg.subword_vocab)


# ------------------------------------------------------------------------ an uploaded corpus's names

NAMES_FILE = "names.txt"  # beside an uploaded corpus kept in the run store: the names its files had
STORE_FILE_NAMES = {"corpus.tsv", "source.txt", "target.txt"}  # what the store calls them (RunStore.store_corpus)


def _folder(spec: str) -> Path:
    """The folder of a corpus spec's first file ("PATH" or "SRC,TGT")."""
    return Path(spec.split(",")[0].strip()).parent


def remember_corpus_names(spec: str, names: Sequence[str]) -> None:
    """Keep the names an upload's files had ("eng-fra.txt", or "train.en", "train.fr") beside the files the
    store kept under its own names, so every page can call the corpus by them (`corpus_name`). Written
    to a temp file and renamed; a read-only store only loses the names, never the corpus."""
    folder, text = _folder(spec), "+".join(" ".join(str(n).split()) for n in names)
    staging = folder / f".{NAMES_FILE}.{secrets.token_hex(4)}.tmp"
    try:
        staging.write_text(text, encoding="utf-8")
        os.replace(staging, folder / NAMES_FILE)
    except OSError:
        staging.unlink(missing_ok=True)


def _spec_name(spec: str) -> str | None:
    try:
        return (_folder(spec) / NAMES_FILE).read_text(encoding="utf-8").strip() or None
    except OSError:
        names = [os.path.basename(p.strip()) for p in spec.split(",")]
        return None if set(names) <= STORE_FILE_NAMES else "+".join(names)  # a file of the user's, by its name


def corpus_name(cfg: DataConfig) -> str | None:
    """What to call the corpus `cfg` imports: its files' names as uploaded (or as given on the CLI), with
    the official splits' -> "eng-fra.txt", "train.tsv, validation valid.tsv, test test.tsv"; None for a
    built-in task, or an upload whose names were not kept (say its hash instead)."""
    if not cfg.corpus:
        return None
    name = _spec_name(cfg.corpus)
    if name is None:
        return None
    for split, spec in (("validation", cfg.corpus_valid), ("test", cfg.corpus_test)):
        if spec:
            name += f", {split} {_spec_name(spec) or 'file'}"
    return name
