"""How BLEU and chrF are computed, in one torch-free place: sacrebleu's metric objects (Post 2018, "A Call
for Clarity in Reporting BLEU Scores") and their signatures, which say exactly what was computed so a score
can be put beside anyone else's.

BLEU tokenizes with sacrebleu's standard "13a" at word level and "char" at character level (a date written
as characters has no words to split); chrF is the same at both. Every reference is one sentence (nrefs:1).
The signatures read, e.g.:
    BLEU  nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0
    chrF  nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0
Pages that never touch torch (Compare, Runs) show them from here; attn.training.evaluate scores with the
same settings.
"""
from __future__ import annotations

from sacrebleu.metrics import BLEU, CHRF


def bleu_tokenizer(level: str) -> str:
    """sacrebleu's tokenizer for BLEU on data at `level`: "char" at character level, else the standard "13a"."""
    return "char" if level == "char" else "13a"


def metrics(level: str) -> tuple[BLEU, CHRF]:
    """The BLEU and chrF objects scores at `level` are computed with. force=True: word-level hypotheses
    arrive already split, which sacrebleu would otherwise warn about."""
    return BLEU(tokenize=bleu_tokenizer(level), force=True), CHRF()


def signatures(level: str) -> dict[str, str]:
    """{"bleu_signature": ..., "chrf_signature": ...} of the scores at `level`. chrF's signature needs a
    scored corpus (it reads the number of references), so both score one dummy sentence first."""
    bleu, chrf = metrics(level)
    for metric in (bleu, chrf):
        metric.corpus_score(["x"], [["x"]])
    return {"bleu_signature": str(bleu.get_signature()), "chrf_signature": str(chrf.get_signature())}


def run_signatures(overall: dict | None, level: str) -> tuple[dict[str, str], bool]:
    """A stored run's signatures -> (signatures, stored): those kept with its overall metrics, else the ones
    this code computes at the run's token `level` (stored False: say so, the store kept only numbers)."""
    if overall and overall.get("bleu_signature"):
        return {k: overall[k] for k in ("bleu_signature", "chrf_signature") if k in overall}, True
    return signatures(level), False


def signature_note(found: dict) -> str:
    """One line for a table's footer or a chart's caption: "sacrebleu BLEU nrefs:1|...; chrF nrefs:1|..."."""
    return (f"sacrebleu BLEU {found.get('bleu_signature', '?')}; "
            f"chrF {found.get('chrf_signature', '?')}")
