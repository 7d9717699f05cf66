"""Importing real parallel corpora: a Tatoeba-style TSV or two line-aligned files, plain or gzip.

A corpus comes from a user's disk or an upload widget, so every way it can be wrong (missing, binary,
Latin-1, zipped, misaligned, too big) ends in a `CorpusError` that names the file, the line and what
would be right -- never in a traceback. A few bad lines in a good file are skipped and counted in the
report, because real corpora (Tatoeba included) always hold a few; a file where most lines are bad is
the wrong file or the wrong layout, and is refused.

Layouts:
  TSV       one pair per line, `source<TAB>target[<TAB>attribution...]` (Tatoeba / manythings.org)
  parallel  two files, one sentence per line, line N of one translating line N of the other (Multi30k)

Skip reasons, as counted in `report["skipped"]`: "no tab", "empty source", "empty target",
"NUL byte", "not UTF-8".
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
from collections import Counter
from dataclasses import dataclass
from itertools import zip_longest
from typing import Iterable, Iterator

from attn.data.pairs import Pair, ParallelData, split_pairs
from attn.data.files import CorpusError, as_bytes, decode_lines, read_file, unpack
from attn.data.text import TOKENIZERS, normalize_text

TSV_LAYOUT = "expected 'source<TAB>target[<TAB>attribution]'"
MAX_PROBLEMS_SHOWN = 5


@dataclass(frozen=True)
class CorpusOptions:
    """How to turn a corpus file into token pairs and splits; saved with each run that uses it."""

    lowercase: bool = False          # lowercase both sides before tokenizing (smaller vocabulary)
    max_len: int | None = None       # drop pairs whose source or target has more tokens than this
    max_pairs: int | None = None     # keep only the first N good pairs (quick experiments)
    level: str = "word"              # tokenizer from attn.text.TOKENIZERS: "word" or "char"
    valid_frac: float = 0.1          # share of pairs held out for validation
    test_frac: float = 0.1           # share of pairs held out for the test split
    split_seed: int = 0              # seed of the shuffle before splitting
    max_bytes: int = 100 * 1024 * 1024  # refuse files (and gzip contents) larger than this

    def __post_init__(self):
        if not isinstance(self.lowercase, bool):
            raise ValueError(f"CorpusOptions.lowercase must be True or False, got {self.lowercase!r}")
        _check_whole("max_len", self.max_len, 1, optional=True)
        _check_whole("max_pairs", self.max_pairs, 1, optional=True)
        _check_whole("max_bytes", self.max_bytes, 1)
        _check_whole("split_seed", self.split_seed, None)
        if self.level not in TOKENIZERS:
            raise ValueError(f"CorpusOptions.level must be one of {sorted(TOKENIZERS)}, got {self.level!r}")
        for name in ("valid_frac", "test_frac"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise ValueError(f"CorpusOptions.{name} must be a number in [0, 1), got {value!r}")
        if self.valid_frac + self.test_frac >= 1:
            raise ValueError("CorpusOptions.valid_frac + test_frac must be below 1 to leave pairs to train on, "
                             f"got {self.valid_frac} + {self.test_frac}")

    @classmethod
    def for_config(cls, cfg) -> "CorpusOptions":
        """The options a run's DataConfig names: what training reads and what the Data page previews."""
        return cls(lowercase=cfg.lowercase, max_len=cfg.max_len, max_pairs=cfg.max_pairs,
                   level=cfg.level, split_seed=cfg.data_seed)


def _check_whole(name: str, value, low: int | None, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or (low is not None and value < low):
        allowed = "a whole number" + (f" >= {low}" if low is not None else "") + (" or None" if optional else "")
        raise ValueError(f"CorpusOptions.{name} must be {allowed}, got {value!r}")


# ----------------------------------------------------------------------------------------- public API

def load_corpus(spec: str, options: CorpusOptions = CorpusOptions(), valid: str | None = None,
                test: str | None = None) -> ParallelData:
    """Load "PATH" (a TSV file) or "SRC_PATH,TGT_PATH" (two line-aligned files): the CLI's --data.

    `valid` and `test` name official splits in the same form (the CLI's --valid, --test): each is used as
    given (no max_len, no max_pairs), and the training file is split only into the splits not given.
    """
    if valid is None and test is None:
        return _load_one(spec, options)
    return _with_official_splits(_load_one(spec, _unsplit(options, valid, test)), options,
                                 {"valid": valid, "test": test})


def _unsplit(options: CorpusOptions, valid, test) -> CorpusOptions:
    """Options for the training file when official splits replace part of the seeded split."""
    return dataclasses.replace(options, valid_frac=0.0 if valid is not None else options.valid_frac,
                               test_frac=0.0 if test is not None else options.test_frac)


def _load_one(spec: str, options: CorpusOptions) -> ParallelData:
    spec = os.fspath(spec)
    if not spec.strip():
        raise CorpusError("--data", "no path given; expected PATH (a TSV file) or SRC_PATH,TGT_PATH")
    if "," in spec and not os.path.exists(spec):  # a real file name may contain a comma
        parts = [part.strip() for part in spec.split(",")]
        if len(parts) != 2 or not all(parts):
            raise CorpusError(spec, "expected PATH (a TSV file) or SRC_PATH,TGT_PATH (two line-aligned files), "
                                    f"got {len(parts)} comma-separated parts")
        return load_parallel(parts[0], parts[1], options)
    return load_tsv(spec, options)


def load_tsv(path, options: CorpusOptions = CorpusOptions()) -> ParallelData:
    """Load a `source<TAB>target[<TAB>attribution]` file (Tatoeba, manythings.org), plain or gzip."""
    shown = os.fspath(path)
    return _tsv(read_file(shown, options.max_bytes), shown, os.path.basename(shown), options)


def load_tsv_bytes(data: bytes, name: str, options: CorpusOptions = CorpusOptions()) -> ParallelData:
    """`load_tsv` for bytes already in memory (an upload); `name` is used in errors and as the data name."""
    return _tsv(as_bytes(data, name), name, name, options)


def load_parallel(src_path, tgt_path, options: CorpusOptions = CorpusOptions()) -> ParallelData:
    """Load two files with one sentence per line, line N of `tgt_path` translating line N of `src_path`."""
    src_shown, tgt_shown = os.fspath(src_path), os.fspath(tgt_path)
    src = read_file(src_shown, options.max_bytes)
    tgt = read_file(tgt_shown, options.max_bytes)
    return _parallel(src, tgt, (src_shown, tgt_shown),
                     (os.path.basename(src_shown), os.path.basename(tgt_shown)), options)


def load_parallel_bytes(src: bytes, tgt: bytes, src_name: str, tgt_name: str,
                        options: CorpusOptions = CorpusOptions()) -> ParallelData:
    """`load_parallel` for two uploads already in memory."""
    return _parallel(as_bytes(src, src_name), as_bytes(tgt, tgt_name),
                     (src_name, tgt_name), (src_name, tgt_name), options)




# ------------------------------------------------------------------------------------------ layouts

def _tsv(raw: bytes, shown: str, name: str, options: CorpusOptions) -> ParallelData:
    lines, bad = decode_lines(*unpack(raw, shown, options.max_bytes))
    pairs, report = _collect(_tsv_rows(lines, bad), (shown, shown), len(lines), options,
                             "a source<TAB>target corpus")
    # The column layout: the most common number of tab-separated fields (2, or 3 with attribution).
    counts = Counter(line.count("\t") + 1 for i, line in enumerate(lines, 1) if line.strip() and i not in bad)
    report = {"files": [name], "sha256": hashlib.sha256(raw).hexdigest(), "layout": "tsv",
              "columns": counts.most_common(1)[0][0] if counts else 2, **report}
    return _finish(name, pairs, report, options)


def _tsv_rows(lines: list[str], bad: dict[int, tuple[str, str]]) -> Iterator[tuple]:
    for number, line in enumerate(lines, 1):
        if number in bad:
            yield number, None, (0, *bad[number])
        elif not line.strip():
            yield number, None, None
        else:
            fields = line.split("\t")
            if len(fields) < 2:
                yield number, None, (0, "no tab", f"no tab between source and target ({TSV_LAYOUT})")
            else:
                yield number, (fields[0], fields[1]), None


def _parallel(src_raw: bytes, tgt_raw: bytes, shown: tuple[str, str], names: tuple[str, str],
              options: CorpusOptions) -> ParallelData:
    src_lines, src_bad = decode_lines(*unpack(src_raw, shown[0], options.max_bytes))
    tgt_lines, tgt_bad = decode_lines(*unpack(tgt_raw, shown[1], options.max_bytes))
    if not _same_length(src_lines, src_bad, tgt_lines, tgt_bad):
        raise CorpusError(f"{shown[0]} + {shown[1]}",
                          f"different line counts: {names[0]} has {len(src_lines):,} lines, {names[1]} has "
                          f"{len(tgt_lines):,}; the files must be line-aligned, line N of one translating "
                          "line N of the other")
    rows = _parallel_rows(src_lines, src_bad, tgt_lines, tgt_bad)
    pairs, report = _collect(rows, shown, max(len(src_lines), len(tgt_lines)), options,
                             "two line-aligned files of one sentence per line")
    digests = [hashlib.sha256(src_raw).hexdigest(), hashlib.sha256(tgt_raw).hexdigest()]
    # Hash of the two hashes: unambiguous where raw concatenation is not ("ab"+"c" vs "a"+"bc").
    combined = hashlib.sha256(("\n".join(digests)).encode("ascii")).hexdigest()
    report = {"files": list(names), "sha256": combined, "sha256_files": digests, "layout": "parallel",
              "columns": 1, **report}
    return _finish(f"{names[0]}+{names[1]}", pairs, report, options)


def _same_length(src_lines, src_bad, tgt_lines, tgt_bad) -> bool:
    """Equal line counts, forgiving extra blank lines at the end of the longer file (an editor's habit)."""
    (short, _), (long, long_bad) = sorted([(src_lines, src_bad), (tgt_lines, tgt_bad)], key=lambda f: len(f[0]))
    return all(not long[i].strip() and i + 1 not in long_bad for i in range(len(short), len(long)))


def _parallel_rows(src_lines, src_bad, tgt_lines, tgt_bad) -> Iterator[tuple]:
    for number, (src, tgt) in enumerate(zip_longest(src_lines, tgt_lines, fillvalue=""), 1):
        if number in src_bad:
            yield number, None, (0, *src_bad[number])
        elif number in tgt_bad:
            yield number, None, (1, *tgt_bad[number])
        elif not src.strip() and not tgt.strip():
            yield number, None, None
        else:
            yield number, (src, tgt), None


def _collect(rows: Iterable[tuple], files: tuple[str, str], n_lines: int, options: CorpusOptions,
             layout: str) -> tuple[list[Pair], dict]:
    """Tokenize good rows into pairs, count the rest; refuse the file if most lines are bad.

    Each row is (line number, (source, target) or None, problem or None) where a problem is
    (index of the file it is in, skip reason, detail); a row with neither is a blank line.
    """
    tokenize, lowercase = TOKENIZERS[options.level], options.lowercase
    max_len, max_pairs = options.max_len, options.max_pairs
    pairs: list[Pair] = []
    skipped: Counter = Counter()
    first_problems: list[str] = []
    first_bad = first_nul = None
    blank = too_long = 0
    lines_read, truncated = n_lines, False
    for number, texts, problem in rows:
        if texts is None and problem is None:
            blank += 1
            continue
        if max_pairs is not None and len(pairs) >= max_pairs:
            lines_read, truncated = number - 1, True
            break
        if problem is None:
            src, tgt = texts[0].strip(), texts[1].strip()
            if lowercase:
                src, tgt = src.lower(), tgt.lower()
            src_tokens = tuple(tokenize(src)) if src else ()
            tgt_tokens = tuple(tokenize(tgt)) if tgt else ()
            if not src_tokens:
                problem = (0, "empty source", "empty source side")
            elif not tgt_tokens:
                problem = (1, "empty target", "empty target side")
            elif max_len is not None and (len(src_tokens) > max_len or len(tgt_tokens) > max_len):
                too_long += 1
                continue
            else:
                # the written target, BLEU's reference (char level: the joined characters already are)
                ref = " ".join(normalize_text(tgt).split()) if options.level == "word" else None
                pairs.append(Pair(src_tokens, tgt_tokens, ref=ref))
                continue
        which, reason, detail = problem
        skipped[reason] += 1
        if len(first_problems) < MAX_PROBLEMS_SHOWN:
            where = f" (in {files[which]})" if files[0] != files[1] else ""
            first_problems.append(f"line {number}: {detail}{where}")
        first_bad = first_bad or (files[which], number, detail)
        if reason == "NUL byte" and first_nul is None:
            first_nul = (files[which], number, detail)
    nonblank, n_bad = lines_read - blank, sum(skipped.values())
    if n_bad * 2 > nonblank:
        file, number, detail = first_nul or first_bad
        verdict = ("it looks like binary data (or UTF-16 text without a byte-order mark), not a text corpus"
                   if first_nul else f"it does not look like {layout}")
        raise CorpusError(file, f"{detail}; {n_bad:,} of {nonblank:,} non-blank lines are unusable, more than "
                                f"half, so the file is refused: {verdict}", line=number)
    if not pairs:
        if too_long:
            why = (f"all {too_long:,} pairs have a side longer than max_len={max_len} tokens; "
                   "raise CorpusOptions.max_len")
        else:
            why = f"all {lines_read:,} lines are blank" if lines_read else "no lines of text"
        raise CorpusError(files[0] if files[0] == files[1] else f"{files[0]} + {files[1]}",
                          f"no usable pairs: {why}")
    report = {"lines": n_lines, "lines_read": lines_read, "blank": blank, "kept": len(pairs),
              "skipped": dict(skipped), "first_problems": first_problems, "too_long": too_long,
              "truncated": truncated}
    return pairs, report


def _finish(name: str, pairs: list[Pair], report: dict, options: CorpusOptions) -> ParallelData:
    if options.valid_frac == 0 and options.test_frac == 0:  # both splits official: every pair trains, in order
        return ParallelData(name=name, train=tuple(pairs), valid=(), test=(), level=options.level, report=report)
    train, valid, test = split_pairs(pairs, options.valid_frac, options.test_frac, seed=options.split_seed)
    # A fraction of 0 means that split comes from an official file: its one seeded pair goes back to training.
    if options.valid_frac == 0:
        train, valid = train + valid, ()
    if options.test_frac == 0:
        train, test = train + test, ()
    return ParallelData(name=name, train=train, valid=valid, test=test, level=options.level, report=report)


# ----------------------------------------------------------------------------------- official splits

def _with_official_splits(data: ParallelData, options: CorpusOptions, specs: dict) -> ParallelData:
    """`data` (the training file) with its valid and/or test split replaced by the official files, as given.

    Each official file must have the training file's column layout (a TSV with as many columns, or two
    parallel files) and share vocabulary with the training split on both sides.
    """
    splits, reports, digests = {"valid": data.valid, "test": data.test}, {}, [data.report["sha256"]]
    for split, spec in specs.items():
        if spec is None:
            continue
        loaded = _load_one(spec, as_given(options))
        check_official_split(split, loaded, data)
        splits[split], reports[split] = loaded.train, loaded.report
        digests.append(f"{split}:{loaded.report['sha256']}")
    report = {**data.report, "official": reports, "train_sha256": data.report["sha256"],
              # one hash over every file, so a changed test file changes the corpus a run names
              "sha256": hashlib.sha256("\n".join(digests).encode("ascii")).hexdigest()}
    return dataclasses.replace(data, valid=splits["valid"], test=splits["test"], report=report)


def as_given(options: CorpusOptions) -> CorpusOptions:
    """The options an official split is read with: the training file's tokenization, every pair kept, in
    order (no max_len, no max_pairs, no split); its pairs end in `.train`."""
    return dataclasses.replace(options, max_len=None, max_pairs=None, valid_frac=0.0, test_frac=0.0)


def check_official_split(split: str, loaded: ParallelData, data: ParallelData) -> None:
    """Refuse an official `split` ("valid" or "test", read with `as_given`) that does not fit the training
    file `data`: another column layout, or no token in common on one side (CorpusError naming the file)."""
    _check_layout(split, loaded.report, data.report)
    _check_shared_vocabulary(split, loaded, data)


def _layout_text(report: dict) -> str:
    if report["layout"] == "parallel":
        return "two line-aligned files of one sentence per line (SRC,TGT)"
    extra = " + attribution" if report["columns"] == 3 else ""
    return f"a TSV of {report['columns']} tab-separated columns (source<TAB>target{extra})"


def _check_layout(split: str, report: dict, train: dict) -> None:
    if (report["layout"], report["columns"]) != (train["layout"], train["columns"]):
        raise CorpusError(" + ".join(report["files"]),
                          f"the {split} file is {_layout_text(report)}, but the training file "
                          f"({' + '.join(train['files'])}) is {_layout_text(train)}; give the {split} split "
                          "in the training file's layout")


def _check_shared_vocabulary(split: str, loaded: ParallelData, data: ParallelData) -> None:
    """Refuse an official split none of whose tokens (on one side) occur in training: the wrong file or
    the wrong language pair, which would score 0 BLEU after a whole training run. Only tokens with a
    letter count: punctuation and numbers are shared by any two languages."""
    for side, name in (("src", "source"), ("tgt", "target")):
        seen = {tok for p in data.train for tok in getattr(p, side) if _wordlike(tok)}
        if not any(tok in seen for p in loaded.train for tok in getattr(p, side)):
            example = " ".join(getattr(loaded.train[0], side)[:8])
            raise CorpusError(" + ".join(loaded.report["files"]),
                              f"the {split} file shares no {name} token with the training data (its first "
                              f"{name} reads {example!r}); expected the same language pair in the same "
                              "order (source first) as the training file")


def _wordlike(token: str) -> bool:
    return any(ch.isalpha() for ch in token)
