"""sacrebleu's settings in one torch-free place (attn.data.scoring), equal to what the evaluation runs."""
from __future__ import annotations

import pytest

from attn.data.pairs import ParallelData
from attn.data.scoring import run_signatures, signature_note, signatures


@pytest.mark.parametrize("level, tokenizer", [("word", "tok:13a"), ("char", "tok:char")])
def test_the_signatures_are_the_evaluations_own_at_each_level(level, tokenizer):
    from attn.training.evaluate import signatures as evaluation_signatures
    found = signatures(level)
    assert found == evaluation_signatures(ParallelData("x", (), (), (), level=level))
    assert tokenizer in found["bleu_signature"] and "nrefs:1" in found["chrf_signature"]


def test_a_runs_stored_signatures_come_first_and_computed_ones_say_so():
    stored = {"bleu": 12.5, "bleu_signature": "nrefs:1|tok:13a|version:9", "chrf_signature": "nrefs:1|nc:6"}
    assert run_signatures(stored, "char") == ({"bleu_signature": "nrefs:1|tok:13a|version:9",
                                               "chrf_signature": "nrefs:1|nc:6"}, True)
    assert run_signatures({"bleu": 12.5}, "char") == (signatures("char"), False)
    assert signature_note(signatures("word")).startswith("sacrebleu BLEU nrefs:1|")
