"""`python -m attn sweep`: a grid of tiny runs into the store, cached cells, Ctrl-C, the cell limit, flag errors,
and the progress display.

No test times a behaviour: each waits for the event itself, with a timeout (HANG) that only keeps a broken
command from hanging the suite.
"""
import io
import json
import os
import re
import signal
import subprocess
import sys

from attn.cli.sweep import SweepProgress, main
from attn.runs.store import RunStore
from attn.training.events import TrainEvent
from tests.waiting import HANG, wait_until

TINY_SWEEP = ["--preset", "tiny", "--epochs", "1", "--variants", "none,dot", "--hidden", "16,32", "--seeds", "0"]
# Cells of about a minute each (20 000 steps): the Ctrl-C test interrupts them while they train.
LONG_SWEEP = ["--preset", "tiny", "--n-train", "3000", "--epochs", "200", "--variants", "none,dot", "--hidden", "16,32",
              "--jobs", "2"]


def _sweep(tmp_path, capsys, *argv):
    out = tmp_path / "cells.json"
    out.unlink(missing_ok=True)
    code = main([*argv, "--out", str(out)])
    captured = capsys.readouterr()
    return code, (json.loads(out.read_text()) if out.exists() else None), captured


def test_a_sweep_of_tiny_runs_finishes_with_every_cell_in_the_store_and_a_sweep_study(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ATTN_HOME", str(tmp_path / "home"))
    code, result, captured = _sweep(tmp_path, capsys, *TINY_SWEEP)
    assert code == 0, captured.err
    store = RunStore(tmp_path / "home")
    cells = result["cells"]
    assert [(c["hidden"], c["variant"]) for c in cells] == [(16, "none"), (16, "dot"), (32, "none"), (32, "dot")]
    assert {c["status"] for c in cells} == {"done"} and all(c["buckets"] for c in cells)
    assert sorted(store.runs()["id"]) == sorted(c["run_id"] for c in cells)
    assert {store.config(c["run_id"]).model.hidden for c in cells} == {16, 32}
    (study,) = store.studies("sweep")["id"]
    assert store.study(study).run_ids == tuple(c["run_id"] for c in cells)
    assert "bleu on the longest bucket" in captured.out and "cell 4/4 done" in captured.err
    assert re.search(r"4 cells, \d+ at a time on local workers", captured.err), captured.err
    code, shown, captured = _sweep(tmp_path, capsys, "--show", study)  # read back from the store, nothing trained
    assert code == 0 and shown["cells"] == cells and len(store.runs()) == 4
    assert "4 of 4 cells done" in captured.err and "bleu on the longest bucket" in captured.out


def test_the_same_sweep_again_answers_every_cell_from_the_store(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ATTN_HOME", str(tmp_path / "home"))
    code, first, _ = _sweep(tmp_path, capsys, *TINY_SWEEP)
    assert code == 0
    store = RunStore(tmp_path / "home")
    rows = sorted(store.runs()["id"])
    code, second, captured = _sweep(tmp_path, capsys, *TINY_SWEEP)
    assert code == 0 and "4 of 4 cells answered from the store" in captured.err, captured.err
    assert [c["run_id"] for c in second["cells"]] == [c["run_id"] for c in first["cells"]]  # no new job
    assert sorted(store.runs()["id"]) == rows
    code, third, captured = _sweep(tmp_path, capsys, *TINY_SWEEP, "--retrain")
    assert code == 0 and len(store.runs()) == 8 and not set(c["run_id"] for c in third["cells"]) & set(rows)


def test_more_cells_than_the_limit_are_refused_naming_ATTN_MAX_SWEEP_CELLS_and_nothing_is_queued(tmp_path, capsys,
                                                                                                 monkeypatch):
    monkeypatch.setenv("ATTN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ATTN_MAX_SWEEP_CELLS", "3")
    code, result, captured = _sweep(tmp_path, capsys, *TINY_SWEEP)
    assert code == 2 and result is None
    assert "this sweep has 4 cells (hidden 16,32 × none,dot × seeds 0), more than the 3 one sweep may have on this " \
           "server (ATTN_MAX_SWEEP_CELLS=3)" in captured.err
    assert not (tmp_path / "home").exists()


def test_a_bad_list_is_refused_naming_the_flag(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ATTN_HOME", str(tmp_path / "home"))
    for flags, message in ((["--hidden", "16,big"], "error: --hidden: 'big' is not a whole number or a range like 2-6"),
                           (["--hidden", "16,33"], "error: --hidden 33: model.hidden = 33 must be even"),
                           (["--seeds", "3-1"], "error: --seeds: the range '3-1' runs backwards; write 1-3"),
                           (["--lr", "0.1,x"], "error: --lr: 'x' is not a number")):
        code, _, captured = _sweep(tmp_path, capsys, "--preset", "tiny", *flags)
        assert code == 2 and message in captured.err, captured.err
    assert not (tmp_path / "home").exists()


def test_the_capacity_preset_with_one_seed_and_a_fixed_field(tmp_path, capsys, monkeypatch):
    from attn.cli import sweep
    args = sweep.add_parser(__import__("argparse").ArgumentParser().add_subparsers()).parse_args(
        ["--preset", "capacity", "--seeds", "0", "--epochs", "1"])
    grid = sweep.grid_from_args(args)
    assert grid.size == 15 and grid.describe() == "hidden 32,64,128,256,512 × none,additive,dot × seeds 0"
    assert {c.config.train.epochs for c in grid.cells()} == {1} and {c.config.data.task for c in grid.cells()} == {"toy-fr"}


def _as_in_a_terminal() -> None:
    """Ctrl-C's default action, as in a terminal's foreground job (a suite started in the background
    inherits SIGINT ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_cancels_the_cells_training_and_queued(tmp_path):
    home = tmp_path / "home"
    env = {**os.environ, "ATTN_HOME": str(home), "ATTN_CANCEL_GRACE": str(int(HANG))}  # never killed by the runner
    cli = subprocess.Popen([sys.executable, "-m", "attn.cli.sweep", *LONG_SWEEP], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=_as_in_a_terminal)
    try:
        store = wait_until(lambda: (home / "runs.sqlite").exists() and RunStore(home), "the sweep to open its store")

        def training():
            frame = store.runs(status="running")
            return len(frame) == 2 and (frame["step"].fillna(0) >= 4).all()
        wait_until(training, "two cells to train", poll=0.1)
        os.killpg(cli.pid, signal.SIGINT)  # Ctrl-C in a terminal: the command, its fork server and workers
        out, err = cli.communicate(timeout=HANG)
    finally:
        if cli.poll() is None:
            os.killpg(cli.pid, signal.SIGKILL)
    assert cli.returncode == 130, err
    assert "interrupted: cancelling 4 unfinished cells" in err and "0 of 4 cells done" in err, err
    runs = store.runs()
    assert len(runs) == 4 and set(runs["status"]) == {"cancelled"}  # the two training and the two queued
    trained = runs[runs["step"].fillna(0) > 0]
    assert len(trained) == 2 and all(len(store.curves(rid)) for rid in trained["id"])  # curves kept


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_progress_shows_one_bar_for_the_sweep_and_one_per_training_cell():
    stream = _Terminal()
    progress = SweepProgress(["hidden 16 · none · seed 0", "hidden 16 · dot · seed 0", "hidden 32 · none · seed 0"],
                             stream)
    progress.start(["a", "b", "c"], ["done", "running", "queued"])
    progress.event("b", TrainEvent("step", step=5, total_steps=10, epoch=0, epochs=1, elapsed=1.0, train_loss=2.5,
                                   eta=3.0))
    progress.update({"a": "done", "b": "running", "c": "queued"})
    progress.finish()
    last = stream.getvalue().rsplit("\x1b[J", 1)[-1].splitlines()
    assert last[0] == "sweep [######..............] 1/3 cells ended (1 from the store), 1 training, 1 queued"
    assert last[1:] == ["  hidden 16 · dot · seed 0  [##########..........]  50% loss 2.500 eta 3s"]


def test_a_sweep_runs_on_ray_when_ATTN_EXECUTOR_says_so_with_every_cell_in_the_store(tmp_path):
    """The same command on a real local Ray (started by the command itself, ATTN_RAY_ADDRESS unset)."""
    home = tmp_path / "home"
    env = {**os.environ, "ATTN_HOME": str(home), "ATTN_EXECUTOR": "ray"}
    env.pop("ATTN_RAY_ADDRESS", None)
    done = subprocess.run([sys.executable, "-m", "attn.cli.sweep", *TINY_SWEEP, "--out", str(tmp_path / "cells.json")],
                          env=env, capture_output=True, text=True, timeout=HANG)
    assert done.returncode == 0, done.stderr
    assert re.search(r"4 cells, \d+ at a time on Ray \(ATTN_EXECUTOR=ray\)", done.stderr), done.stderr
    cells = json.loads((tmp_path / "cells.json").read_text())["cells"]
    store = RunStore(home)
    assert sorted(store.runs()["id"]) == sorted(c["run_id"] for c in cells) and len(cells) == 4
    assert set(store.runs()["status"]) == {"done"} and store.studies("sweep")["runs"].tolist() == [4]
