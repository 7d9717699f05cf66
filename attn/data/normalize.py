"""A sentence typed by a person, written the way the training data writes its sources.

A model reads token ids; a typed sentence reaches it only through the data set's own conventions.
toy-fr is generated lowercase and every source ends with " .": typed "The cat sat on the mat" would
give "The" -> <unk> and a sentence without its end mark, on which the attention models loop. So a
typed sentence gets exactly what the task's sources got (TaskSpec.typed, a `TypedForm`), or for an
imported corpus what its options did (lowercase, word or char level), and every change is said:

    normalize_typed("The cat sat on the mat", "toy-fr").tokens
        -> ("the", "cat", "sat", "on", "the", "mat", ".")
    .notes -> ("lowercased, as every training sentence is",
               "added the final '.' that every training sentence ends with")
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Mapping

from attn.config import DataConfig, limits
from attn.data.tasks import get_task
from attn.data.text import UNK, TOKENIZERS, TypedForm, Vocab

CHARS_PER_TOKEN = 20      # a typed text longer than this many characters per allowed token is refused unread
SHOWN = 8                 # words listed by name in a note; the rest are counted
_SPACES = re.compile(r"[ \t\r\n\f\v]+")


@dataclass(frozen=True)
class TypedSentence:
    """A typed sentence made ready for a model: the tokens it reads and what was changed to get them."""

    text: str                       # as typed
    tokens: tuple[str, ...]         # what the model reads (before <unk>), in the data set's own form
    notes: tuple[str, ...]          # one plain sentence per change, e.g. "lowercased, as every ..."
    unknown: tuple[str, ...] = ()   # tokens outside the given vocabulary, read as <unk>; first use order


@dataclass(frozen=True)
class DataForm:
    """Everything normalization needs to know about a data set."""

    level: str                      # "word" or "char": the tokenizer
    typed: TypedForm                # the task's conventions (or the corpus options)
    train_max_len: int | None       # longest training source in tokens, if known
    why_lower: str                  # the reason given in the "lowercased" note


def data_form(data: DataConfig | Mapping[str, Any] | str) -> DataForm:
    """The form of a built-in task (by name or DataConfig) or of an imported corpus (its DataConfig).

    A Mapping is a stored config's "data" section (RunStore.configs()[run_id]["data"]).
    """
    if isinstance(data, str):
        data = {"task": data}
    elif isinstance(data, DataConfig):
        data = {"task": data.task, "corpus": data.corpus, "lowercase": data.lowercase, "level": data.level,
                "max_len": data.max_len}
    elif not isinstance(data, Mapping):
        raise TypeError(f"data must be a task name, a DataConfig or a stored data config, got {type(data).__name__}")
    if data.get("corpus"):
        return DataForm(level=data.get("level", "word"),
                        typed=TypedForm(lowercase=bool(data.get("lowercase")), single_spaces=False),
                        train_max_len=data.get("max_len"), why_lower="as the corpus was imported lowercased")
    spec = get_task(data.get("task", "toy-fr"))
    most = data.get("max_len") or spec.default_max_len
    return DataForm(level=spec.level, typed=spec.typed, train_max_len=most,
                    why_lower="as every training sentence is")


def normalize_typed(text: str, data: DataConfig | Mapping[str, Any] | str, vocab: Vocab | None = None,
                    limit: int | None = None) -> TypedSentence:
    """`text` as the data set writes a source: its tokens, the notes on what changed, the unknown tokens.

    `limit` is the most tokens a sentence may have (default: ATTN_MAX_LEN, attn.config.limits()).
    Raises ValueError for an empty text, a text over the limit, and a text with nothing left to read.
    """
    if not isinstance(text, str):
        raise TypeError(f"a typed sentence must be a str, got {type(text).__name__}")
    form = data_form(data)
    limit = limit if limit is not None else limits()["max_len"]
    if not text.strip():
        raise ValueError("the sentence is empty: type a sentence in the source language")
    if len(text) > CHARS_PER_TOKEN * limit:
        raise ValueError(f"the sentence has {len(text)} characters; a model reads at most {limit} tokens "
                         f"(ATTN_MAX_LEN), so type at most {CHARS_PER_TOKEN * limit} characters")
    notes: list[str] = []
    clean = _visible(unicodedata.normalize("NFC", text), notes).strip()
    typed = form.typed
    if typed.lowercase and clean != clean.lower():
        clean = clean.lower()
        notes.append(f"lowercased, {form.why_lower}")
    if form.level == "char":
        tokens = _characters(clean, typed, notes)
    else:
        tokens = _words(clean, typed, notes)
    if not any(c.isalnum() for t in tokens for c in t):
        raise ValueError(f"nothing is left to translate in {text!r} after normalization: "
                         + (f"{' '.join(tokens)} holds no letter or digit" if tokens else "no token remains")
                         + "; type some words of the source language")
    if typed.final is not None:
        tokens = _finish(tokens, typed.final, notes)
    unit = "characters" if form.level == "char" else "tokens"
    if len(tokens) > limit:
        raise ValueError(f"the sentence has {len(tokens)} {unit} after normalization; the limit is {limit} "
                         f"(ATTN_MAX_LEN): shorten it")
    if form.train_max_len is not None and len(tokens) > form.train_max_len:
        notes.append(f"{len(tokens)} {unit}: longer than any training sentence (at most {form.train_max_len}), "
                     "so the model has never read one this long")
    unknown = _unknown(tokens, vocab)
    if unknown:
        kind = "character" if form.level == "char" else "symbol" if typed.symbols else "word"
        named = ", ".join(repr(t) for t in unknown[:SHOWN]) + (f" and {len(unknown) - SHOWN} more"
                                                                if len(unknown) > SHOWN else "")
        notes.append(f"{len(unknown)} unknown {kind}{'s' if len(unknown) > 1 else ''}: {named} "
                     f"will be read as {UNK}")
    return TypedSentence(text, tuple(tokens), tuple(notes), unknown)


def _visible(text: str, notes: list[str]) -> str:
    """Drop invisible characters (zero-width spaces, soft hyphens, control codes); whitespace stays."""
    kept = "".join(c for c in text if c.isspace() or unicodedata.category(c) not in ("Cc", "Cf"))
    if len(kept) != len(text):
        n = len(text) - len(kept)
        notes.append(f"removed {n} invisible character{'s' if n > 1 else ''}")
    return kept


def _characters(text: str, typed: TypedForm, notes: list[str]) -> list[str]:
    """Char level: one token per character; runs of spaces made one, as the generated sources have them."""
    if typed.single_spaces:
        single = _SPACES.sub(" ", text)
        if single != text:
            notes.append("wrote each run of spaces as one space, as the training sentences do")
            text = single
    return TOKENIZERS["char"](text)


def _words(text: str, typed: TypedForm, notes: list[str]) -> list[str]:
    """Word level: the data set's word tokenizer, with its separators and single-character symbols."""
    if typed.separators and any(c in text for c in typed.separators):
        read = "".join(sorted({c for c in text if c in typed.separators}))
        text = "".join(" " if c in typed.separators else c for c in text)
        notes.append(f"read {' '.join(repr(c) for c in read)} as a space between tokens")
    tokens: list[str] = []
    split = []
    for piece in text.split():
        parts = TOKENIZERS["word"](piece)
        if typed.symbols:
            parts = [c for part in parts for c in part]
        if len(parts) > 1:
            split.append(f"{piece!r} -> {' '.join(parts)}")
        tokens += parts
    if split:
        what = "symbol" if typed.symbols else "token"
        shown = "; ".join(split[:SHOWN]) + (f"; and {len(split) - SHOWN} more" if len(split) > SHOWN else "")
        notes.append(f"wrote every {what} separately, as the training sentences do: {shown}")
    return tokens


def _finish(tokens: list[str], final: str, notes: list[str]) -> list[str]:
    """End with the data set's end mark: replace another final punctuation mark, else add it."""
    if tokens[-1] == final:
        return tokens
    if not any(c.isalnum() for c in tokens[-1]):
        notes.append(f"replaced the final {tokens[-1]!r} with the {final!r} that every training sentence ends with")
        return tokens[:-1] + [final]
    notes.append(f"added the final {final!r} that every training sentence ends with")
    return tokens + [final]


def _unknown(tokens: list[str], vocab: Vocab | None) -> tuple[str, ...]:
    """Tokens the vocabulary lacks, each once, in the order they first occur."""
    if vocab is None:
        return ()
    return tuple(dict.fromkeys(t for t in tokens if t not in vocab.stoi))
