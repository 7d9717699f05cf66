"""`python -m attn train --data ... --valid ... --test ... --subwords ...`: official splits, subwords, every
test sentence in a bucket and sacrebleu's signature on the CLI. Each test writes its own small corpus."""
from __future__ import annotations

import json
import random

import pytest

from attn.cli.main import main
from attn.runs.store import RunStore

NOUNS = [("cat", "chat"), ("dog", "chien"), ("house", "maison"), ("garden", "jardin"), ("bird", "oiseau"),
         ("tree", "arbre"), ("man", "homme"), ("apple", "pomme")]
VERBS = [("sees", "voit"), ("likes", "aime"), ("finds", "trouve"), ("eats", "mange")]


def english_french_pairs(n: int, seed: int, longest: int = 6) -> list[tuple[str, str]]:
    """`n` English-French pairs of 3..3+2*longest words ("the cat sees the dog and the bird ...")."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        verb = rng.choice(VERBS)
        objects = [rng.choice(NOUNS) for _ in range(rng.randint(1, longest))]
        subject = rng.choice(NOUNS)
        src = f"the {subject[0]} {verb[0]} " + " and ".join(f"the {o[0]}" for o in objects)
        tgt = f"le {subject[1]} {verb[1]} " + " et ".join(f"le {o[1]}" for o in objects)
        pairs.append((src, tgt))
    return pairs


def _tsv(path, pairs, columns: int = 2) -> str:
    tail = "\tCC-BY" if columns == 3 else ""
    path.write_text("".join(f"{s}\t{t}{tail}\n" for s, t in pairs), encoding="utf-8")
    return str(path)


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    """A training, validation and test TSV, and a run store of their own."""
    monkeypatch.setenv("ATTN_HOME", str(tmp_path / "home"))
    return {"train": _tsv(tmp_path / "train.tsv", english_french_pairs(240, 0, longest=3)),
            "valid": _tsv(tmp_path / "valid.tsv", english_french_pairs(20, 1, longest=3)),
            "test": _tsv(tmp_path / "test.tsv", english_french_pairs(30, 2, longest=6)), "folder": tmp_path}


def _train(corpus, capsys, *argv):
    out = corpus["folder"] / "out.json"
    code = main(["train", "--preset", "tiny", "--data", corpus["train"], "--epochs", "1", *argv, "--out", str(out)])
    captured = capsys.readouterr()
    return code, (json.loads(out.read_text()) if code == 0 else None), captured


def _stored_runs(corpus) -> int:
    return len(RunStore(corpus["folder"] / "home").runs())


def test_a_valid_file_in_another_column_layout_is_refused_before_anything_is_queued(corpus, capsys):
    valid = _tsv(corpus["folder"] / "valid3.tsv", english_french_pairs(20, 1), columns=3)
    code, _, captured = _train(corpus, capsys, "--valid", valid)
    assert code == 2 and "Traceback" not in captured.err
    assert "valid3.tsv" in captured.err and "3 tab-separated columns" in captured.err
    assert "training file" in captured.err and _stored_runs(corpus) == 0


def test_a_test_file_sharing_no_vocabulary_is_refused_naming_the_file(corpus, capsys):
    german = _tsv(corpus["folder"] / "test.de.tsv", [("der Hund läuft", "die Katze schläft")] * 5)
    code, _, captured = _train(corpus, capsys, "--test", german)
    assert code == 2 and "Traceback" not in captured.err
    assert "test.de.tsv" in captured.err and "shares no source token" in captured.err
    assert _stored_runs(corpus) == 0


def test_a_subword_vocabulary_larger_than_the_corpus_allows_names_the_largest_that_works(corpus, capsys):
    code, _, captured = _train(corpus, capsys, "--subwords", "bpe", "--subword-vocab", "5000")
    assert code == 2 and "Traceback" not in captured.err
    assert "5,000" in captured.err and "largest size that works here is" in captured.err
    assert _stored_runs(corpus) == 0


def test_official_splits_are_used_every_test_sentence_is_counted_and_the_signature_is_shown(corpus, capsys):
    # test sources run to 20 words, training ones to 11: past the last edge an open bucket, cut at the
    # training length (12) into "9-11" and "12+" (lengths the models never saw)
    code, result, captured = _train(corpus, capsys, "--valid", corpus["valid"], "--test", corpus["test"],
                                    "--variants", "dot", "--buckets", "0,5,7,9")
    assert code == 0, captured.err
    run = result["runs"][0]
    assert sum(b["n"] for b in run["buckets"]) == 30                      # the whole official test file
    assert [b["bucket"] for b in run["buckets"]] == ["0-4", "5-6", "7-8", "9-11", "12+"]
    assert "official test split: test.tsv (30 pairs, as given)" in captured.err
    signature = run["overall"]["bleu_signature"]
    assert "tok:13a" in signature and "nrefs:1" in signature and "chrF" not in signature
    assert f"BLEU {signature}" in captured.out                             # the tables' footer
    assert f"chrF {run['overall']['chrf_signature']}" in captured.out
    overall = run["overall"]                                               # corpus-level beside the buckets
    assert "corpus-level, whole test split (30 sentences)" in captured.out
    assert f"dot seed 0: BLEU {overall['bleu']:.1f}, chrF {overall['chrf']:.1f}" in captured.out
    run_id = RunStore(corpus["folder"] / "home").runs()["id"].iloc[0]
    assert main(["runs", "show", run_id]) == 0
    assert f"BLEU {signature}" in capsys.readouterr().out                  # `runs show` says it too


def test_a_character_level_run_is_scored_with_the_char_tokenizer(corpus, capsys):
    code, result, captured = _train(corpus, capsys, "--level", "char", "--variants", "none", "--max-len", "60")
    assert code == 0, captured.err
    signature = result["runs"][0]["overall"]["bleu_signature"]
    assert "tok:char" in signature and f"BLEU {signature}" in captured.out


def test_subwords_train_and_keep_the_buckets_in_source_words(corpus, capsys):
    argv = ["--test", corpus["test"], "--variants", "none", "--buckets", "0,5,7,9"]
    code, words, captured = _train(corpus, capsys, *argv)
    assert code == 0, captured.err
    code, pieces, captured = _train(corpus, capsys, *argv, "--subwords", "unigram", "--subword-vocab", "30")
    assert code == 0, captured.err
    buckets = lambda result: [(b["bucket"], b["n"]) for b in result["runs"][0]["buckets"]]
    assert buckets(pieces) == buckets(words) and sum(n for _, n in buckets(words)) == 30
