"""Subword vocabularies with SentencePiece (Kudo & Richardson 2018): BPE (Sennrich et al. 2016) or unigram
(Kudo 2018), one model per side, trained on the training split only.

A subword run reads and writes pieces ("▁the", "▁ch", "at"), but everything measured stays in words:
its buckets are cut by SOURCE WORDS (so a subword run and a word run fall into the same buckets), and its
output is decoded back to text (`Subwords.decode`) before BLEU. The text a model is trained on is the
word tokenizer's output joined by spaces (NFC, apostrophes unified, lowercased if asked); SentencePiece's
own normalisation is off ("identity"), so decode(encode(text)) == text exactly.

Each model is cached as a file under <ATTN_HOME>/corpora/<corpus hash>/subwords/, named by side, kind,
vocabulary size and a hash of the training sentences, so a second run on the same corpus and settings
loads it instead of training it again.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from attn.data.files import CorpusError
from attn.data.pairs import Pair, ParallelData

KINDS = ("bpe", "unigram")
_LARGEST = re.compile(r"value <= (\d+)")                          # SentencePiece: size too large
_SMALLEST = re.compile(r"smaller than required_chars\. \d+ vs (\d+)")  # too small for every character


def cache_root() -> Path:
    """Where imported corpora live in the run store: $ATTN_HOME/corpora (default ./runs/corpora)."""
    return Path(os.environ.get("ATTN_HOME") or "runs") / "corpora"


def _processor(proto: bytes):
    import sentencepiece as spm  # imported on use: pages that never train subwords do not load it

    return spm.SentencePieceProcessor(model_proto=proto)


def train_model(sentences: Sequence[str], kind: str, vocab_size: int, where: str) -> bytes:
    """A SentencePiece model (its serialized bytes) of `vocab_size` pieces over `sentences`.

    Only <unk> is reserved (id 0); <pad>, <s> and </s> are the model vocabulary's own (attn.data.text).
    A size larger than the sentences allow is a CorpusError naming `where` and the largest size that works.
    """
    import sentencepiece as spm

    if kind not in KINDS:
        raise ValueError(f"subword kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 2:
        raise ValueError(f"subword vocabulary size must be a whole number >= 2, got {vocab_size!r}")
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences), model_writer=model, vocab_size=vocab_size, model_type=kind,
            normalization_rule_name="identity", character_coverage=1.0, hard_vocab_limit=True,
            unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1, num_threads=1, minloglevel=2)
    except RuntimeError as err:
        largest, smallest = _LARGEST.search(str(err)), _SMALLEST.search(str(err))
        if smallest is not None:
            raise CorpusError(where, f"a {kind} vocabulary of {vocab_size:,} subwords cannot hold the training "
                                     f"split's {int(smallest.group(1)) - 1:,} distinct characters and <unk>; the "
                                     f"smallest size that works here is {int(smallest.group(1)):,}") from None
        if largest is None:
            raise CorpusError(where, f"SentencePiece could not train a {kind} model: {err}") from None
        raise CorpusError(where, f"a {kind} vocabulary of {vocab_size:,} subwords is larger than the training "
                                 f"split allows; the largest size that works here is {int(largest.group(1)):,} "
                                 "(lower the subword vocabulary size)") from None
    return model.getvalue()


def cached_model(sentences: Sequence[str], kind: str, vocab_size: int, folder: Path, side: str, where: str):
    """The SentencePiece processor for these sentences and settings, loaded from `folder` if it was trained
    before, else trained and written there (temp file + rename, so a crash leaves no half model)."""
    digest = hashlib.sha256("\n".join(sentences).encode("utf-8")).hexdigest()[:16]
    path = Path(folder) / f"{side}.{kind}.{vocab_size}.{digest}.model"
    if path.is_file():
        return _processor(path.read_bytes())
    proto = train_model(sentences, kind, vocab_size, where)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        staging.write_bytes(proto)
        os.replace(staging, path)
    except OSError:
        pass  # a read-only store still trains: the model is only not kept
    return _processor(proto)


@dataclass(frozen=True)
class Subwords:
    """The two SentencePiece models of one corpus: `encode` text to pieces, `decode` pieces back to text."""

    kind: str
    vocab_size: int
    src: object  # sentencepiece.SentencePieceProcessor of the source side
    tgt: object  # ... of the target side

    def encode(self, side: str, text: str) -> tuple[str, ...]:
        return tuple(getattr(self, side).encode(text, out_type=str))

    def decode(self, side: str, pieces: Sequence[str]) -> str:
        return getattr(self, side).decode(list(pieces))


def subwords_for(data: ParallelData, kind: str, vocab_size: int, folder: Path | None = None) -> Subwords:
    """Both sides' models, trained on data.train only and cached under `folder` (default: the corpus's
    folder in the run store, by its hash; a built-in task by its name)."""
    if data.level != "word":
        raise ValueError(f"subwords split words; data set {data.name!r} is at {data.level!r} level")
    folder = folder or cache_root() / str(data.report.get("sha256") or data.name) / "subwords"
    models = {side: cached_model([data.detok(getattr(p, side)) for p in data.train], kind, vocab_size, folder,
                                 side, f"{data.name} ({'source' if side == 'src' else 'target'} side)")
              for side in ("src", "tgt")}
    return Subwords(kind, vocab_size, models["src"], models["tgt"])


def to_pieces(data: ParallelData, subwords: Subwords) -> ParallelData:
    """`data` with every sentence in pieces instead of words (gold alignments, which link words, dropped).
    Lengths in words, for buckets, come from the word-level `data` itself."""
    def convert(pairs: Sequence[Pair]) -> tuple[Pair, ...]:
        return tuple(Pair(subwords.encode("src", data.detok(p.src)), subwords.encode("tgt", data.detok(p.tgt)),
                          ref=p.ref) for p in pairs)

    return replace(data, train=convert(data.train), valid=convert(data.valid), test=convert(data.test),
                   report={**data.report, "subwords": {"kind": subwords.kind, "vocab_size": subwords.vocab_size}})


# ------------------------------------------------------------------------------ attention per word

WORD_START = "▁"  # SentencePiece's mark of a piece that begins a word (U+2581)
# What a figure of a merged map says (its title or caption), so nobody reads it as the model's own pieces.
MERGED_NOTE = "merged per word: target pieces' rows averaged, source pieces' columns summed"


def word_spans(pieces: Sequence[str]) -> list[tuple[int, int]]:
    """[start, end) of each word's pieces: a piece beginning with "▁" starts a word, the others continue it.
    A special token (<s>, </s>, <unk>, <pad>) is a word of its own, as is a first piece without the mark."""
    spans: list[tuple[int, int]] = []
    for i, piece in enumerate(pieces):
        special = piece.startswith("<") and piece.endswith(">") and len(piece) > 2
        previous_special = i > 0 and pieces[i - 1].startswith("<") and pieces[i - 1].endswith(">")
        if not spans or piece.startswith(WORD_START) or special or previous_special:
            spans.append((i, i + 1))
        else:
            spans[-1] = (spans[-1][0], i + 1)
    return spans


def merged_words(pieces: Sequence[str]) -> tuple[str, ...]:
    """The words `pieces` spell, one per span of `word_spans` ("▁ch", "at" -> "chat")."""
    return tuple("".join(pieces[a:b]).removeprefix(WORD_START) or WORD_START for a, b in word_spans(pieces))


def merge_per_word(weights, src_pieces: Sequence[str], tgt_pieces: Sequence[str]):
    """An attention map over subword pieces (T, S) -> the same map over words (T_w, S_w), with the words.

    Rows (target pieces) of one word are AVERAGED: each row is a distribution over the source, so their
    mean still sums to 1. Columns (source pieces) of one word are SUMMED: the weight a target word puts on
    a source word is the weight on all of its pieces. So every merged row still sums to what a row summed.
        merged[u, v] = mean_{t in word u} sum_{s in word v} weights[t, s]
    Returns (merged (T_w, S_w) float32 array, target words, source words).
    """
    import numpy as np

    matrix = np.asarray(weights, dtype=np.float32)                          # (T, S)
    if matrix.shape != (len(tgt_pieces), len(src_pieces)):
        raise ValueError(f"attention map of shape {matrix.shape} does not match {len(tgt_pieces)} target and "
                         f"{len(src_pieces)} source pieces")
    columns = np.stack([matrix[:, a:b].sum(axis=1) for a, b in word_spans(src_pieces)], axis=1)  # (T, S_w)
    rows = np.stack([columns[a:b].mean(axis=0) for a, b in word_spans(tgt_pieces)], axis=0)      # (T_w, S_w)
    return rows, merged_words(tgt_pieces), merged_words(src_pieces)
