"""Tokenizers and vocabularies: strings in, integer ids out, and back.

The word tokenizer splits punctuation off words and treats apostrophes the way each language reads
them: French elision keeps the apostrophe on the elided word ("l'homme" -> "l'", "homme"), English
clitics keep it on the clitic ("it's" -> "it", "'s"). The character tokenizer is for character tasks.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIALS = (PAD, UNK, BOS, EOS)
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3

# Words that elide their vowel before another word (French, Italian): the apostrophe stays with them.
_ELIDING = {"l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu",
            "presqu", "quelqu", "un", "dell", "all", "nell", "sull", "dall", "po"}
_APOSTROPHES = ("\u2019", "\u2018", "\u02bc", "`")  # all read as "'"
# A word is letters/digits possibly joined by inner hyphens or apostrophes; anything else alone.
_TOKEN = re.compile(r"\w+(?:[-']\w+)*'?|[^\w\s]", re.UNICODE)


def normalize_text(text: str) -> str:
    """The text as the word tokenizer reads it: NFC-normalised, every apostrophe written "'"."""
    text = unicodedata.normalize("NFC", text)
    for apostrophe in _APOSTROPHES:  # str.replace, not str.translate: 60x faster on corpus-sized input
        text = text.replace(apostrophe, "'")
    return text


def detokenize_words(tokens: Sequence[str]) -> str:
    """Word tokens back to running text for BLEU: joined by spaces, with the apostrophes the tokenizer split
    off re-attached ("l'", "homme" -> "l'homme"; "it", "'s" -> "it's"). Spaces around punctuation stay:
    sacrebleu's 13a tokenizer splits punctuation off again, so they do not change the score."""
    out: list[str] = []
    for tok in tokens:
        if out and ((out[-1].endswith("'") and len(out[-1]) > 1) or (tok.startswith("'") and len(tok) > 1)):
            out[-1] += tok
        else:
            out.append(tok)
    return " ".join(out)


def tokenize_words(text: str) -> list[str]:
    """Split a sentence into words and punctuation marks (NFC-normalised, apostrophes unified)."""
    text = normalize_text(text)
    tokens: list[str] = []
    for word in _TOKEN.findall(text):
        if "'" in word:
            tokens.extend(_split_apostrophes(word))
        else:
            tokens.append(word)
    return tokens


def _split_apostrophes(word: str) -> list[str]:
    """"l'homme" -> ["l'", "homme"]; "it's" -> ["it", "'s"]; "aujourd'hui" stays whole."""
    if "'" not in word or word.lower() in {"aujourd'hui", "prud'homme"}:
        return [word]
    head, _, tail = word.partition("'")
    if not tail:
        return [word]
    if head.lower() in _ELIDING:
        return [head + "'"] + _split_apostrophes(tail)
    return [head, "'" + tail]


def tokenize_chars(text: str) -> list[str]:
    """One token per character (spaces kept as tokens, since they carry meaning in dates)."""
    return list(unicodedata.normalize("NFC", text))


TOKENIZERS = {"word": tokenize_words, "char": tokenize_chars}


@dataclass(frozen=True)
class TypedForm:
    """How a data set writes its sources, beyond its tokenizer: what a typed sentence must be made to
    look like before the model reads it (attn.data.normalize). Each task declares its own (TaskSpec.typed)."""

    lowercase: bool = False         # every source is lowercase, so typed text is lowercased
    final: str | None = None        # every source ends with this token, so it is added when missing
    symbols: bool = False           # word level, every token one character: typed "abc" -> "a", "b", "c"
    separators: str = ""            # characters read as spaces between tokens (sort: "7, 3" -> "7", "3")
    single_spaces: bool = True      # char level: a run of spaces is one space, as in the generated sources


class Vocab:
    """A bijection between tokens and ids; ids 0-3 are <pad>, <unk>, <s>, </s>."""

    def __init__(self, tokens: Iterable[str]):
        self.itos: list[str] = list(SPECIALS)
        for tok in tokens:
            if tok not in SPECIALS:
                self.itos.append(tok)
        self.stoi = {tok: i for i, tok in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            repeated = next(tok for i, tok in enumerate(self.itos) if self.stoi[tok] != i)
            raise ValueError(f"vocabulary tokens must be unique, {repeated!r} occurs more than once")

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], min_freq: int = 1,
              max_size: int | None = None) -> "Vocab":
        """Keep tokens seen at least `min_freq` times, most frequent first (ties alphabetical)."""
        counts = Counter(tok for sent in sentences for tok in sent)
        kept = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[:max(0, max_size - len(SPECIALS))]
        return cls(kept)

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Token ids, unknown tokens as <unk>; no <s>/</s> added."""
        return [self.stoi.get(t, UNK_ID) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens for ids up to the first </s>, without <s> and <pad>."""
        out = []
        for i in ids:
            i = int(i)
            if i == EOS_ID:
                break
            if i in (PAD_ID, BOS_ID):
                continue
            out.append(self.itos[i] if 0 <= i < len(self.itos) else UNK)
        return out

    def to_list(self) -> list[str]:
        return list(self.itos)

    @classmethod
    def from_list(cls, itos: Sequence[str]) -> "Vocab":
        if tuple(itos[:len(SPECIALS)]) != SPECIALS:
            raise ValueError("a stored vocabulary must start with the special tokens " + ", ".join(SPECIALS))
        for i, tok in enumerate(itos):
            # __init__ drops specials from its input, which would shift every later id by one.
            if not isinstance(tok, str) or (i >= len(SPECIALS) and tok in SPECIALS):
                raise ValueError(f"a stored vocabulary must hold distinct strings with the special tokens only at "
                                 f"ids 0-{len(SPECIALS) - 1}, found {tok!r} at id {i}")
        return cls(itos[len(SPECIALS):])
