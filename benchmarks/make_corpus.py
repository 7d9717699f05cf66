"""A generated STAND-IN for a 29,000-pair English-French caption corpus: train/valid/test TSVs.

    python benchmarks/make_corpus.py --out /tmp/standin            # 29,000 / 1,014 / 1,000 pairs
    python benchmarks/make_corpus.py --out /tmp/small --n-train 2000 --stats

There is no public 30k corpus on the development machine (no internet), so this writes one of the same
shape as Multi30k's English-French captions: 29,000 training pairs, official validation (1,014) and
test (1,000) files, about 13 words a sentence, about 10,000-word vocabularies on each side with Zipfian
word frequencies (a few words everywhere, most words seen once or twice), and word order that needs
attention. It is NOT real language: the words are made-up syllable strings; every figure made from it
must say it is a stand-in.

The grammar is toy-fr's (attn/data/tasks/toy_fr.py) scaled up to an open vocabulary, with its
reorderings and agreement, in caption style:

    A small dog with a red ball is running on the grass .        (English, made-up words in place)
    Un petit chien avec une balle rouge court sur l'herbe .      (French)

  * adjectives: most follow the noun in French, in mirrored order (crossing links); a few stay before;
    they agree with the noun's gender and number (+e, +s);
  * noun compounds: English "Det A N1 N2" is French "Det N2 A de N1" (a long-range swap);
  * "is/are V-ing (particle)" is one French verb form, by number (two or three words -> one);
  * determiners by gender and number, "le/la" elided to "l'" before a vowel, "de le" -> "du",
    "de les" -> "des"; relative clauses ("who" -> "qui") and coordination ("and" -> "et", "while" ->
    "pendant que").

Nouns, adjectives and verbs are drawn with probability ~ 1/rank (Zipf, exponent ZIPF) from lexicons of
LEXICON sizes, chosen so that the 29,000 training pairs hold about 10,000 word types per side.
Deterministic for --seed; training, validation and test sources are distinct.
"""
from __future__ import annotations

import argparse
import bisect
import itertools
import json
import random
import statistics
from dataclasses import dataclass
from pathlib import Path

ZIPF = 1.0
LEXICON = {"noun": 4200, "adj": 800, "verb": 1100}   # lexemes per class (each has several forms)
SPLITS = {"train": 29_000, "valid": 1_014, "test": 1_000}  # Multi30k's split sizes
MAX_WORDS = 40          # longest English sentence kept, in words and punctuation (Multi30k's are shorter)

_ONSETS_EN = "b c d f g h j k l m n p r s t v w y z bl br ch cl cr dr fl fr gl gr pl pr sh sl sp st th tr".split()
_NUCLEI_EN = "a e i o u ea oo ai ou".split()
_CODAS_EN = ["", "", "n", "t", "r", "l", "ck", "nd", "st", "m", "p"]
_ONSETS_FR = "b c d f g j l m n p r s t v ch br cr dr fr gr pl pr tr".split()
_NUCLEI_FR = "a e i o u é è ou oi au eu ai".split()
_CODAS_FR = ["", "", "", "n", "r", "l", "s", "t"]
_VOWELS = tuple("aeiouéèh")


@dataclass(frozen=True)
class Noun:
    en: str                 # singular; plural en + "s"
    fr: str                 # singular; plural fr + "s" (fr + "x" after "eau"/"au")
    gender: str             # "m" | "f"

    def fr_form(self, plural: bool) -> str:
        return self.fr + ("x" if self.fr.endswith("au") else "s") if plural else self.fr


@dataclass(frozen=True)
class Adjective:
    en: str
    fr: str                 # masculine singular; +e feminine, +s plural
    before: bool            # stays before the noun in French (petit, grand, ...)

    def fr_form(self, gender: str, plural: bool) -> str:
        word = self.fr + ("e" if gender == "f" and not self.fr.endswith("e") else "")
        return word + ("s" if plural and not word.endswith("s") else "")


@dataclass(frozen=True)
class Verb:
    en: str                 # stem; "is/are" + stem + "ing"
    particle: str           # English particle after the -ing form ("" none): "looking at" -> "regarde"
    fr: str                 # stem; 3sg fr + "e", 3pl fr + "ent"
    transitive: bool


def _word(rng: random.Random, onsets, nuclei, codas, syllables: int, vowel_start: bool | None = None) -> str:
    parts = []
    for i in range(syllables):
        onset = "" if (i == 0 and vowel_start) else rng.choice(onsets)
        parts.append(onset + rng.choice(nuclei) + (rng.choice(codas) if i == syllables - 1 else ""))
    return "".join(parts)


def _unique(make, taken: set) -> str:
    while True:
        word = make()
        if word not in taken and len(word) > 1:
            taken.add(word)
            return word


def make_lexicon(seed: int, sizes: dict[str, int] = LEXICON) -> dict[str, list]:
    """Made-up nouns, adjectives and verbs, most frequent first; distinct words per side."""
    rng = random.Random(seed)
    en_taken, fr_taken = set(CLOSED_EN), set(CLOSED_FR)

    def en(vowel=None):
        return _unique(lambda: _word(rng, _ONSETS_EN, _NUCLEI_EN, _CODAS_EN, rng.choice((1, 2, 2, 3)), vowel), en_taken)

    def fr(vowel=None):
        return _unique(lambda: _word(rng, _ONSETS_FR, _NUCLEI_FR, _CODAS_FR, rng.choice((1, 2, 2, 3)), vowel), fr_taken)

    nouns = [Noun(en(), fr(rng.random() < 0.2), rng.choice("mf")) for _ in range(sizes["noun"])]
    adjectives = [Adjective(en(), fr(False), rng.random() < 0.1) for _ in range(sizes["adj"])]
    verbs = [Verb(en(), rng.choice(("",) * 6 + ("at", "for", "up", "down")), fr(), rng.random() < 0.6)
             for _ in range(sizes["verb"])]
    return {"noun": nouns, "adj": adjectives, "verb": verbs}


# closed classes: English -> French (by gender m/f, and plural)
DETS_SG = (("a", "un", "une"), ("the", "le", "la"), ("one", "un", "une"), ("this", "ce", "cette"))
DETS_PL = (("the", "les", "les"), ("two", "deux", "deux"), ("three", "trois", "trois"),
           ("some", "des", "des"), ("several", "plusieurs", "plusieurs"), ("many", "beaucoup de", "beaucoup de"))
PREPS = (("on", "sur"), ("in", "dans"), ("near", "près de"), ("behind", "derrière"), ("with", "avec"),
         ("under", "sous"), ("in front of", "devant"), ("next to", "à côté de"), ("at", "à"), ("of", "de"))
CLOSED_EN = {w for entry in DETS_SG + DETS_PL + PREPS for w in entry[0].split()} | {
    "is", "are", "who", "and", "while", "ing", "s"}
CLOSED_FR = {w for entry in DETS_SG + DETS_PL + PREPS for part in entry[1:] for w in part.split()} | {
    "qui", "et", "pendant", "que", "du", "des", "au", "aux", "l", "de"}


class Zipf:
    """Draws an index 0..n-1 with probability ~ 1 / (index + 1)^ZIPF."""

    def __init__(self, n: int, exponent: float = ZIPF):
        self.cumulative = list(itertools.accumulate(1.0 / (r + 1) ** exponent for r in range(n)))

    def __call__(self, rng: random.Random) -> int:
        return min(bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1]), len(self.cumulative) - 1)


class Captions:
    """Sentence pairs from the grammar in the module docstring; English and French built side by side."""

    def __init__(self, lexicon: dict[str, list]):
        self.lex = lexicon
        self.draw = {k: Zipf(len(v)) for k, v in lexicon.items()}

    def pick(self, rng, kind):
        return self.lex[kind][self.draw[kind](rng)]

    def noun_phrase(self, rng, depth: int) -> tuple[list[str], list[str], bool]:
        """(English words, French words, plural) of Det (Adj*) (N1) N (PP) (who VP)."""
        plural = rng.random() < 0.3
        noun = self.pick(rng, "noun")
        n_adj = rng.choices((0, 1, 2), (0.5, 0.4, 0.1))[0]
        adjectives = [self.pick(rng, "adj") for _ in range(n_adj)]
        modifier = self.pick(rng, "noun") if rng.random() < 0.15 else None   # compound: "tennis ball"
        det_en, *det_fr = rng.choice(DETS_PL if plural else DETS_SG)
        en = [det_en, *(a.en for a in adjectives)] + ([modifier.en] if modifier else []) + \
             [noun.en + ("s" if plural else "")]
        before = [a.fr_form(noun.gender, plural) for a in adjectives if a.before]
        after = [a.fr_form(noun.gender, plural) for a in reversed(adjectives) if not a.before]
        head = before + [noun.fr_form(plural)]
        fr = _det(det_fr[0 if noun.gender == "m" else 1], head[0]) + head[1:] + after
        if modifier:
            fr += ["de", modifier.fr]
        if depth > 0 and rng.random() < 0.25:                                  # PP modifier
            p_en, p_fr = rng.choice(PREPS)
            sub_en, sub_fr, _ = self.noun_phrase(rng, depth - 1)
            en += p_en.split() + sub_en
            fr += _prep(p_fr, sub_fr)
        if depth > 0 and rng.random() < 0.12:                                  # relative clause
            v_en, v_fr = self.verb_phrase(rng, plural, depth - 1)
            en += ["who"] + v_en
            fr += ["qui"] + v_fr
        return en, fr, plural

    def verb_phrase(self, rng, plural: bool, depth: int) -> tuple[list[str], list[str]]:
        """is/are V-ing (particle) (object NP) (PP) -> V(number) (object NP) (PP)."""
        verb = self.pick(rng, "verb")
        en = ["are" if plural else "is", verb.en + "ing"] + ([verb.particle] if verb.particle else [])
        fr = [verb.fr + ("ent" if plural else "e")]
        if verb.transitive:
            o_en, o_fr, _ = self.noun_phrase(rng, depth)
            en, fr = en + o_en, fr + o_fr
        if rng.random() < 0.45:
            p_en, p_fr = rng.choice(PREPS)
            l_en, l_fr, _ = self.noun_phrase(rng, max(depth - 1, 0))
            en += p_en.split() + l_en
            fr += _prep(p_fr, l_fr)
        return en, fr

    def pair(self, rng) -> tuple[str, str]:
        en, fr = self.clause(rng)
        if rng.random() < 0.12:
            (join_en, join_fr) = rng.choice((("and", "et"), ("while", "pendant que")))
            more_en, more_fr = self.clause(rng)
            en, fr = en + [join_en] + more_en, fr + join_fr.split() + more_fr
        return _sentence(en), _sentence(fr)

    def clause(self, rng) -> tuple[list[str], list[str]]:
        s_en, s_fr, plural = self.noun_phrase(rng, depth=1)
        v_en, v_fr = self.verb_phrase(rng, plural, depth=1)
        return s_en + v_en, s_fr + v_fr


def _det(det: str, word: str) -> list[str]:
    """le/la before a vowel -> l', "beaucoup de" -> "beaucoup d'" (glued to the word, as French writes it)."""
    if det in ("le", "la") and word.startswith(_VOWELS):
        return ["l'" + word]
    if det.endswith(" de") and word.startswith(_VOWELS):
        return det.split()[:-1] + ["d'" + word]
    return det.split() + [word]


def _prep(prep: str, phrase: list[str]) -> list[str]:
    """de le -> du, de les -> des, à le -> au, à les -> aux (the article follows the preposition)."""
    words = prep.split()
    last, first = words[-1], phrase[0]
    joined = {("de", "le"): "du", ("de", "les"): "des", ("à", "le"): "au", ("à", "les"): "aux",
              ("de", "des"): "de"}.get((last, first))
    if joined:
        return words[:-1] + [joined] + phrase[1:]
    if last == "de" and first.startswith(_VOWELS):
        return words[:-1] + ["d'" + first] + phrase[1:]
    return words + phrase


def _sentence(words: list[str]) -> str:
    text = " ".join(words)
    return text[0].upper() + text[1:] + " ."


def make_corpus(seed: int = 0, sizes: dict[str, int] = SPLITS) -> dict[str, list[tuple[str, str]]]:
    """{"train": [(en, fr), ...], "valid": ..., "test": ...}, sources distinct across splits."""
    grammar = Captions(make_lexicon(seed))
    rng = random.Random(seed + 1)
    seen: set[str] = set()
    out: dict[str, list[tuple[str, str]]] = {}
    for split, n in sizes.items():
        pairs = []
        while len(pairs) < n:
            en, fr = grammar.pair(rng)
            if en not in seen and len(en.split()) <= MAX_WORDS:
                seen.add(en)
                pairs.append((en, fr))
        out[split] = pairs
    return out


def stats(pairs: list[tuple[str, str]]) -> dict:
    """Sentence lengths and vocabulary sizes, with the project's own tokenizer."""
    from attn.data.text import tokenize_words
    en = [tokenize_words(s) for s, _ in pairs]
    fr = [tokenize_words(t) for _, t in pairs]
    lengths = [len(s) for s in en]
    return {"pairs": len(pairs), "mean_en_tokens": round(statistics.mean(lengths), 2),
            "mean_fr_tokens": round(statistics.mean(len(t) for t in fr), 2),
            "en_len_min_max": (min(lengths), max(lengths)),
            "en_vocab": len({w for s in en for w in s}), "fr_vocab": len({w for s in fr for w in s}),
            "en_words_seen_once": sum(1 for c in _counts(en).values() if c == 1)}


def _counts(sentences) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in sentences:
        for w in s:
            counts[w] = counts.get(w, 0) + 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for train.tsv, valid.tsv, test.tsv")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-train", type=int, default=SPLITS["train"])
    parser.add_argument("--stats", action="store_true", help="print lengths and vocabulary sizes")
    args = parser.parse_args()
    corpus = make_corpus(args.seed, {**SPLITS, "train": args.n_train})
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    note = "generated stand-in (benchmarks/make_corpus.py), not real language"
    for split, pairs in corpus.items():
        with open(folder / f"{split}.tsv", "w", encoding="utf-8") as f:
            f.writelines(f"{en}\t{fr}\t{note}\n" for en, fr in pairs)
    print(f"wrote {', '.join(f'{folder / s}.tsv ({len(p)} pairs)' for s, p in corpus.items())}")
    if args.stats:
        print(json.dumps({split: stats(pairs) for split, pairs in corpus.items()}, indent=1))


if __name__ == "__main__":
    main()
