"""One loader for whatever a `DataConfig` names: a built-in task or an imported corpus.

It sits above `pairs`, `corpus` and `tasks` (which import only `pairs` and `text`), so the data
package has no import circle.
"""
from __future__ import annotations

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
        return data
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
