"""The caption under a BLEU/chrF table: sacrebleu's signatures of the runs shown, each distinct one once."""
from __future__ import annotations

from types import SimpleNamespace

from attn.data.scoring import signature_note, signatures
from attn.viz.tables import scoring_caption


def _run(level: str, overall: dict | None = None):
    return SimpleNamespace(config={"data": {"level": level}}, overall=overall or {"bleu": 10.0})


def test_runs_at_one_level_give_one_signature_and_a_char_run_adds_its_own():
    word, char = signature_note(signatures("word")), signature_note(signatures("char"))
    caption = scoring_caption([_run("word"), _run("word")])
    assert caption.count("sacrebleu BLEU") == 1 and word in caption and "not stored" in caption
    both = scoring_caption([_run("word"), _run("char")])
    assert word in both and char in both and "tok:char" in both


def test_signatures_stored_with_the_runs_are_shown_as_stored():
    stored = {"bleu": 1.0, **signatures("word")}
    caption = scoring_caption([_run("word", stored)])
    assert signature_note(stored) in caption and "not stored" not in caption
    assert scoring_caption([]) == ""
