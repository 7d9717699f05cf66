"""`python -m attn train`: the per-bucket table, the --out JSON, imported corpora and worker processes.

The runner's side of `train` (the cache, --retrain, --no-store, Ctrl-C, kill -9) is in test_train_runs.py.
"""
from __future__ import annotations

import json

import pytest

from attn.cli.main import main
from attn.config import preset
from attn.runs.workers import default_jobs, threads_per_job

BUCKET_KEYS = {"bucket", "lo", "hi", "n", "bleu", "chrf", "exact", "token_acc", "align"}


@pytest.mark.parametrize("runs, cores, expected", [(1, 2, 1), (3, 2, 3), (4, 2, 2), (9, 2, 2), (3, 8, 3), (2, 1, 2)])
def test_default_jobs_runs_a_comparison_side_by_side_but_caps_long_queues(runs, cores, expected):
    assert default_jobs(runs, cores) == expected


def test_side_by_side_workers_get_one_thread_each():
    assert threads_per_job(3, cores=2) == 1 and threads_per_job(2, cores=8) == 4


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTN_HOME", str(tmp_path / "home"))  # never ./runs, whatever a test passes


def _train(tmp_path, capsys, *argv):
    out = tmp_path / "results.json"
    code = main(["train", *argv, "--out", str(out), "--no-store"])
    captured = capsys.readouterr()
    return code, (json.loads(out.read_text()) if out.exists() else None), captured


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_train_writes_the_documented_json_with_one_or_two_workers(tmp_path, capsys, jobs):
    code, result, captured = _train(tmp_path, capsys, "--preset", "tiny", "--variants", "none,dot",
                                    "--seeds", "0", "--jobs", jobs)
    assert code == 0, captured.err
    assert [(r["variant"], r["seed"], r["task"]) for r in result["runs"]] == [("none", 0, "reverse"),
                                                                               ("dot", 0, "reverse")]
    for run in result["runs"]:
        assert run["params"] > 0 and run["train_seconds"] > 0
        assert run["buckets"] and all(set(b) >= BUCKET_KEYS for b in run["buckets"])
        assert sum(b["n"] for b in run["buckets"]) == 60  # the tiny preset's test split
    none, dot = result["runs"]
    assert all(b["align"] is None for b in none["buckets"])           # no attention, nothing to score
    assert all(b["align"] is not None for b in dot["buckets"] if b["n"])  # reverse has gold alignments
    assert "BLEU by source length" in captured.out and f"({jobs} at a time)" in captured.err


def test_train_on_an_imported_tsv_uses_the_given_bucket_edges(tmp_path, capsys):
    corpus = tmp_path / "pairs.tsv"
    words = ["go", "run", "stop", "wait", "look", "eat", "sing", "walk"]
    lines = [f"{' '.join(words[(i + k) % 8] for k in range(1 + i % 7))}\t"
             f"{' '.join(words[(i + k) % 8].upper() for k in range(1 + i % 7))}" for i in range(240)]
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, result, captured = _train(tmp_path, capsys, "--data", str(corpus), "--variants", "additive",
                                    "--buckets", "0,3,8", "--epochs", "1", "--hidden", "32", "--emb", "16")
    assert code == 0, captured.err
    (run,) = result["runs"]
    assert [(b["lo"], b["hi"]) for b in run["buckets"]] == [(0, 2), (3, 7)]  # edges are half-open: [0, 3) and [3, 8)
    assert all(b["align"] is None for b in run["buckets"])  # an imported corpus has no gold alignment


def test_train_reports_bad_input_without_a_traceback(tmp_path, capsys):
    empty = tmp_path / "empty.tsv"
    empty.write_text("", encoding="utf-8")
    code, result, captured = _train(tmp_path, capsys, "--data", str(empty))
    assert code == 2 and result is None
    assert captured.err.startswith("error:") and "empty.tsv" in captured.err and "Traceback" not in captured.err
    code, _, captured = _train(tmp_path, capsys, "--preset", "tiny", "--variants", "none,nope")
    assert code == 2 and "unknown variant 'nope'" in captured.err


def test_bench_prints_one_json_object_with_the_documented_fields(capsys):
    """The schema only: speed itself is measured by running the benchmark, never asserted in a test."""
    assert main(["bench", "--json", "--skip-lecture", "--steps", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert set(report) >= {"lecture_seconds", "train_tokens_per_s", "config"}
    assert report["lecture_seconds"] is None  # skipped
    assert set(report["train_tokens_per_s"]) == {"none", "additive", "dot"}
    assert all(v > 0 for v in report["train_tokens_per_s"].values())
    lecture = preset("lecture")  # throughput is measured at the lecture preset's sizes
    assert (report["config"]["emb"], report["config"]["hidden"], report["config"]["batch"]) == (
        lecture.model.emb, lecture.model.hidden, lecture.train.batch)


def test_parsing_a_train_command_imports_neither_torch_nor_pandas():
    """`train` starts its workers first; importing torch before that delayed their start by seconds."""
    import subprocess
    import sys
    code = ("import sys; from attn.cli.main import LIGHT_COMMANDS, build_parser; "
            "args = build_parser(all_commands=False).parse_args(['train', '--preset', 'tiny']); "
            "print(args.command, 'torch' in sys.modules, 'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["train", "False", "False"]


def test_help_still_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in ("train", "bench", "runs", "figures", "preload", "sweep"))


def test_python_m_attn_sweep_reaches_the_sweep_command():
    from attn.cli.main import build_parser
    from attn.cli.sweep import cmd_sweep
    args = build_parser().parse_args(["sweep", "--preset", "tiny", "--hidden", "16,32", "--seeds", "0-1"])
    assert (args.command, args.func, args.field_hidden, args.seeds) == ("sweep", cmd_sweep, "16,32", "0-1")


def test_every_training_flag_lands_in_the_config_and_the_rest_keep_the_preset():
    from attn.cli.main import base_config, build_parser
    args = build_parser(all_commands=False).parse_args(
        ["train", "--preset", "tiny", "--epochs", "3", "--batch", "16", "--lr", "0.002", "--lr-schedule", "linear",
         "--clip", "0.5", "--teacher-forcing", "0.75", "--patience", "2", "--beam", "4", "--style", "bahdanau"])
    cfg, tiny = base_config(args), preset("tiny")
    assert (cfg.train.epochs, cfg.train.batch, cfg.train.lr, cfg.train.lr_schedule, cfg.train.clip,
            cfg.train.teacher_forcing, cfg.train.patience, cfg.train.beam) == (3, 16, 0.002, "linear", 0.5, 0.75, 2, 4)
    assert cfg.model.style == "bahdanau" and cfg.model.emb == tiny.model.emb and cfg.data == tiny.data
    untouched = base_config(build_parser(all_commands=False).parse_args(["train", "--preset", "tiny"]))
    assert untouched.train == tiny.train and untouched.model == tiny.model


def test_the_corpus_preset_and_tied_embeddings_reach_the_config_from_the_command_line():
    from attn.cli.main import base_config, build_parser
    cfg = base_config(build_parser(all_commands=False).parse_args(["train", "--preset", "corpus"]))
    assert cfg.model.tied and cfg.data.min_freq == 2 and cfg.model.hidden == 192
    tied = base_config(build_parser(all_commands=False).parse_args(["train", "--preset", "tiny", "--tied"]))
    assert tied.model.tied and not preset("tiny").model.tied
