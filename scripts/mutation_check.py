"""A small mutation check of the science core: do the tests notice when one line of it is wrong?

Each mutation below changes one line of library code (the file, its exact original text, the
replacement) and names the tests that should fail because of it. For each one the script mutates a
temporary COPY of the working tree, runs those tests there (PYTHONPATH and the working directory point
at the copy, so the shared tree is never touched), restores the line and records:

    caught    the tests failed (or could not even be collected)
    survived  the tests passed with the mutation: a missing test, or an equivalent change (say why
              in the mutation's `equivalent` note, and it is reported as such)
    n/a       the original text is not in the file (exactly once) any more: update the list

Not part of the test suite or CI: it runs the named tests once per mutation (a few minutes).

    python scripts/mutation_check.py              # every mutation, then the table
    python scripts/mutation_check.py --only beam  # the mutations whose name contains "beam"
    python scripts/mutation_check.py --list       # the list, without running anything
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVALUATE, PAIRS, DECODE = "attn/training/evaluate.py", "attn/data/pairs.py", "attn/nn/decode.py"
ATTENTION, MODEL = "attn/nn/attention.py", "attn/nn/model.py"
T_EVALUATE, T_PAIRS, T_DECODE = "tests/training/test_evaluate.py", "tests/data/test_pairs.py", "tests/nn/test_decode.py"
T_ATTENTION, T_MODEL = "tests/nn/test_attention.py", "tests/nn/test_model.py"


@dataclass(frozen=True)
class Mutation:
    name: str
    file: str                  # path from the repository root
    original: str              # exact text, found exactly once in the file
    replacement: str
    tests: tuple[str, ...]     # pytest arguments (files or node ids) that should fail
    equivalent: str = ""       # why a survivor changes nothing observable (empty: it must be caught)


MUTATIONS = [
    # 1. alignment score and AER per bucket
    Mutation("aer-without-factor-2", EVALUATE,
             "aer = 100.0 * (1 - 2 * inter / max(size, 1))", "aer = 100.0 * (1 - inter / max(size, 1))",
             (T_EVALUATE,)),
    Mutation("forced-attention-shifted-one-word", EVALUATE,
             "forced=attention_matrix(forced[row, :n_ref, :n_src])",
             "forced=attention_matrix(forced[row, 1:n_ref + 1, :n_src])", (T_EVALUATE,)),
    # 3. scaled dot attention, seen from the model (not from the formula's own test)
    Mutation("dot-without-1/sqrt(d)", ATTENTION,
             "self.scale = 1.0 / math.sqrt(hidden) if scaled else 1.0", "self.scale = 1.0", (T_MODEL,)),
    Mutation("scaled-flag-not-passed-to-attention", MODEL,
             "make_attention(cfg.variant, cfg.hidden, scaled=cfg.scaled)", "make_attention(cfg.variant, cfg.hidden)",
             (T_MODEL,)),
    Mutation("cli-unscaled-ignored", "attn/cli/main.py",
             'model_changes["scaled"] = False', 'model_changes["scaled"] = True', (T_MODEL,)),
    # 4. beam search
    Mutation("beam-no-length-penalty", DECODE,
             "lp = ((5 + len(ids)) / 6) ** alpha", "lp = 1.0", (T_DECODE,)),
    Mutation("beam-ranked-by-raw-log-p", DECODE,
             "results.append(max(finished, key=lambda f: f[0])[1])",
             "results.append(max(finished, key=lambda f: f[1].score)[1])", (T_DECODE,)),
    Mutation("beam-stop-bound-without-length-penalty", DECODE,
             "max(f[0] for f in finished) > beams[0][0] / (((5 + limit) / 6) ** alpha)):",
             "max(f[0] for f in finished) > beams[0][0]):", (T_DECODE,)),
    Mutation("beam-never-stops-early", DECODE,
             "if not beams or (len(finished) >= beam and", "if not beams or (False and", (T_DECODE,)),
    Mutation("beam-keeps-two-beams", DECODE,
             "beams = candidates[:beam]", "beams = candidates[:2]", (T_DECODE,)),
    # 5. BLEU and chrF per bucket
    Mutation("char-level-bleu-with-word-tokenizer", EVALUATE,
             'return "char" if data.level == "char" else "13a"', 'return "13a"', (T_EVALUATE,)),
    Mutation("bucket-members-leak-from-earlier-buckets", EVALUATE,
             "members = [d for d in decodes if d.bucket == k]", "members = [d for d in decodes if d.bucket <= k]",
             (T_EVALUATE,)),
    Mutation("chrf-hypotheses-and-references-swapped", EVALUATE,
             "chrf = chrf_metric.corpus_score(hyps, streams).score", "chrf = chrf_metric.corpus_score(refs, [hyps]).score",
             (T_EVALUATE,)),
    Mutation("char-tokens-joined-with-spaces", PAIRS,
             'return ("" if self.level == "char" else " ").join(tokens)', 'return " ".join(tokens)',
             (T_PAIRS, T_EVALUATE)),
    # 6. buckets that drop sentences
    Mutation("user-edges-not-widened", PAIRS,
             "return cover_lengths(edges, lengths)", "return list(edges)", (T_PAIRS, T_EVALUATE)),
    Mutation("last-edge-misses-the-longest-sentence", PAIRS,
             "return OpenEdges([*edges, max(lengths) + 1])", "return OpenEdges([*edges, max(lengths)])",
             (T_PAIRS, T_EVALUATE)),
    Mutation("first-edge-not-lowered", PAIRS,
             "edges[0] = min(edges[0], min(lengths))", "edges[0] = edges[0]", (T_PAIRS, T_EVALUATE)),
    Mutation("bucket-of-upper-edge-inclusive", PAIRS,
             "if edges[k] <= length < edges[k + 1]:", "if edges[k] < length <= edges[k + 1]:", (T_PAIRS,)),
    # 7. greedy decoding independent of the batch
    Mutation("greedy-limit-of-the-longest-in-the-batch", DECODE,
             "limits = (torch.clamp(2 * src_len + 10, max=200) if max_len is None",
             "limits = (torch.full_like(src_len, max_output_length(src_len)) if max_len is None", (T_DECODE,)),
    Mutation("greedy-output-not-cut-at-its-limit", DECODE,
             "row = row[:int(limits[b])]", "row = row", (T_DECODE,)),
    # masking and the attention formulas
    Mutation("padding-not-masked", ATTENTION,
             "scores = scores.masked_fill(~mask[:, None, :], torch.finfo(scores.dtype).min)",
             "scores = scores.masked_fill(~mask[:, None, :], 0.0)", (T_ATTENTION,)),
    Mutation("mask-with-minus-infinity", ATTENTION,
             "scores = scores.masked_fill(~mask[:, None, :], torch.finfo(scores.dtype).min)",
             'scores = scores.masked_fill(~mask[:, None, :], float("-inf"))', (T_ATTENTION,)),
    Mutation("additive-without-tanh", ATTENTION,
             "parts = [self.v(torch.tanh(q[b:b + rows, :, None, :] + keys[b:b + rows, None, :, :])).squeeze(-1)",
             "parts = [self.v(q[b:b + rows, :, None, :] + keys[b:b + rows, None, :, :]).squeeze(-1)", (T_ATTENTION,)),
    Mutation("additive-keys-not-projected", ATTENTION,
             "return self.key_proj(memory)", "return memory", (T_ATTENTION,)),
    # the big-vocabulary loss and early stopping (issue 15)
    Mutation("fused-softmax-not-normalized", "attn/nn/fused.py",
             "dz = z.div_(norm)                                                  # softmax, in place",
             "dz = z                                                             # softmax, in place",
             ("tests/nn/test_model_loss.py",)),
    Mutation("fused-loss-without-max-shift", "attn/nn/fused.py",
             "total += (top + norm.log() - picked).sum()                             # logsumexp - z_y",
             "total += (norm.log() - picked).sum()                                   # logsumexp - z_y",
             ("tests/nn/test_model_loss.py",)),
    Mutation("early-stop-watches-the-loss-whatever-it-says", "attn/training/trainer.py",
             "score = -valid_loss if valid_bleu is None else valid_bleu", "score = -valid_loss",
             ("tests/training/test_early_stop_bleu.py",)),
]


def copy_tree(dest: Path) -> Path:
    """The working tree as it is now (uncommitted work included), without git, caches and artifacts."""
    repo = dest / "repo"
    shutil.copytree(ROOT, repo, ignore=shutil.ignore_patterns(
        ".git", "__pycache__", ".pytest_cache", ".benchmarks", "artifacts", "*.egg-info", "*.db", "*.sqlite*"))
    return repo


def run_tests(repo: Path, tests: tuple[str, ...], timeout: float) -> tuple[str, float, str]:
    """('pass' | 'fail' | 'timeout', seconds, what failed first or the output's last lines) of pytest
    in the copy."""
    env = {**os.environ, "PYTHONPATH": str(repo), "PYTHONDONTWRITEBYTECODE": "1",  # no stale .pyc after a restore
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    start = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
                              cwd=repo, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", time.perf_counter() - start, ""
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    failed = [line.split(" - ")[0].split("::", 1)[-1] for line in lines if line.startswith(("FAILED ", "ERROR "))]
    detail = failed[0] if failed else "\n".join(lines[-3:])
    return ("pass" if proc.returncode == 0 else "fail"), time.perf_counter() - start, detail


def check(repo: Path, m: Mutation, timeout: float) -> tuple[str, float, str]:
    """(result, seconds, the first test that failed) of one mutation, the file restored afterwards."""
    path = repo / m.file
    source = path.read_text(encoding="utf-8")
    if source.count(m.original) != 1:
        return f"n/a ({source.count(m.original)} matches)", 0.0, ""
    path.write_text(source.replace(m.original, m.replacement), encoding="utf-8")
    try:
        outcome, seconds, detail = run_tests(repo, m.tests, timeout)
    finally:
        path.write_text(source, encoding="utf-8")
    if outcome == "pass":
        return ("equivalent" if m.equivalent else "SURVIVED"), seconds, ""
    return ("caught" if outcome == "fail" else "caught (timeout)"), seconds, detail if outcome == "fail" else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run the mutations whose name contains this text")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per pytest run (a hang counts as caught)")
    parser.add_argument("--list", action="store_true", help="print the mutations and exit")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTATIONS if args.only in m.name]
    if args.list or not chosen:
        for m in chosen:
            print(f"{m.name:44s} {m.file:28s} {' '.join(m.tests)}")
        return 0 if chosen else 2

    with tempfile.TemporaryDirectory(prefix="mutation-check-") as tmp:
        repo = copy_tree(Path(tmp))
        needed = tuple(sorted({t for m in chosen for t in m.tests}))
        outcome, seconds, tail = run_tests(repo, needed, args.timeout)
        print(f"baseline: {' '.join(needed)} -> {outcome} ({seconds:.0f} s)", flush=True)
        if outcome != "pass":
            print(f"the tests fail without any mutation; fix that first:\n{tail}", file=sys.stderr)
            return 2
        rows = []
        for m in chosen:
            result, seconds, detail = check(repo, m, args.timeout)
            rows.append((m, result, detail))
            print(f"  {m.name:44s} {result:12s} {seconds:5.0f} s  {detail}", flush=True)

    print("\n| mutation | file | tests run | result | first failing test |\n|---|---|---|---|---|")
    for m, result, detail in rows:
        note = f" ({m.equivalent})" if result == "equivalent" else ""
        print(f"| {m.name} | {m.file} | {', '.join(Path(t).name for t in m.tests)} | {result}{note} | {detail} |")
    survived = [m.name for m, result, _ in rows if result == "SURVIVED" or result.startswith("n/a")]
    caught = sum(result.startswith("caught") for _, result, _ in rows)
    print(f"\n{caught} of {len(rows)} caught" + (f"; to look at: {', '.join(survived)}" if survived else ""))
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
