"""`python -m attn train` through the job runner: the run cache, --retrain, --no-store, Ctrl-C and kill -9.

No test times a behaviour: each waits for the event itself, with a timeout (HANG) that only keeps a
broken command from hanging the suite.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile

import torch

from attn.cli.main import main
from attn.config import preset
from attn.runs.store import RunStore, process_alive
from attn.runs.workers import threads_per_job
from tests.waiting import wait_until

HANG = 600.0  # seconds: only a hang reaches it
TIMINGS = ("train_seconds", "eval_seconds")
# Runs of about a minute each (20 000 steps): a test interrupts them while they train.
LONG_FLAGS = ["--preset", "tiny", "--n-train", "3000", "--epochs", "200", "--variants", "none,dot"]


def _until(predicate, what: str, timeout: float = HANG):
    return wait_until(predicate, what, timeout, poll=0.1)


def _train(tmp_path, capsys, *argv):
    out = tmp_path / "results.json"
    out.unlink(missing_ok=True)
    code = main(["train", *argv, "--out", str(out)])
    captured = capsys.readouterr()
    return code, (json.loads(out.read_text()) if out.exists() else None), captured.err


def _without_timings(result: dict) -> list[dict]:
    return [{k: v for k, v in run.items() if k not in TIMINGS} for run in result["runs"]]


def test_the_same_command_twice_answers_from_the_store_and_retrain_trains_again(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ATTN_HOME", str(tmp_path / "home"))
    store = RunStore(tmp_path / "home")
    argv = ["--preset", "tiny", "--variants", "none,dot"]
    code, first, err = _train(tmp_path, capsys, *argv)
    assert code == 0 and "stored 2 runs" in err and len(store.runs()) == 2, err
    code, second, err = _train(tmp_path, capsys, *argv)
    assert code == 0 and "2 runs answered from" in err and "stored" not in err, err
    assert second["runs"] == first["runs"] and len(store.runs()) == 2  # the same runs, not new ones
    code, third, err = _train(tmp_path, capsys, *argv, "--retrain")
    assert code == 0 and "stored 2 runs" in err and len(store.runs()) == 4, err
    assert _without_timings(third) == _without_timings(first)  # trained again, to the same results


def test_the_out_json_is_the_summary_of_the_same_runs_trained_in_process(tmp_path, capsys):
    from attn.training.experiment import run
    code, result, err = _train(tmp_path, capsys, "--preset", "tiny", "--variants", "none,additive", "--jobs", "2",
                               "--no-store")
    assert code == 0, err
    threads = torch.get_num_threads()
    torch.set_num_threads(threads_per_job(2))  # what each of the two workers had
    try:
        expected = {"runs": [run(preset("tiny").with_variant(v)).summary() for v in ("none", "additive")]}
    finally:
        torch.set_num_threads(threads)
    assert _without_timings(result) == _without_timings(expected)
    assert [list(run) for run in result["runs"]] == [list(run) for run in expected["runs"]]  # the same keys, in order


def test_no_store_trains_in_a_temporary_store_and_removes_it(tmp_path, capsys, monkeypatch):
    home, temp = tmp_path / "home", tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setenv("ATTN_HOME", str(home))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    for _ in range(2):  # the second is trained again: there is no cache without a store
        code, result, err = _train(tmp_path, capsys, "--preset", "tiny", "--variants", "dot", "--no-store")
        assert code == 0 and len(result["runs"]) == 1 and "answered" not in err and "stored" not in err, err
        assert not list(temp.glob("attn-*")) and not home.exists()


def test_train_prints_an_estimate_from_stored_runs_before_it_queues(tmp_path, capsys, monkeypatch):
    from attn.runs import speed
    monkeypatch.setenv("ATTN_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(speed, "_MEASURED", {})   # speeds another test measured in this process stay out
    monkeypatch.setattr(speed, "_MEASURING", {})
    code, _, err = _train(tmp_path, capsys, "--preset", "tiny", "--variants", "dot")
    assert code == 0 and "estimate: no stored runs to estimate from yet" in err, err
    code, _, err = _train(tmp_path, capsys, "--preset", "tiny", "--variants", "dot", "--seeds", "1")
    assert code == 0, err
    line = next(line for line in err.splitlines() if line.startswith("estimate:"))
    assert "on this machine" in line and "from 1 stored run of similar size" in line, line
    assert err.index("estimate:") < err.index("dot seed 1: done")  # said before the run trains


def test_a_big_run_with_nothing_stored_is_timed_first_and_one_with_stored_runs_is_not(tmp_path, capsys, monkeypatch):
    """From estimate.MEASURE_FROM target words up (lowered here so that the tiny preset counts as big), the
    CLI times a short run of the same model when the store has nothing to go by, and says so first."""
    from attn.runs import estimate, speed
    monkeypatch.setenv("ATTN_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(speed, "_MEASURED", {})
    monkeypatch.setattr(speed, "_MEASURING", {})
    monkeypatch.setattr(estimate, "MEASURE_FROM", 1)
    code, _, err = _train(tmp_path, capsys, "--preset", "tiny", "--variants", "dot")
    lines = [line for line in err.splitlines() if line.startswith("estimate:")]
    assert code == 0 and lines[0] == "estimate: timing a short run of each model first…", err
    assert "from a short measured run of the same model" in lines[1], lines
    code, _, err = _train(tmp_path, capsys, "--preset", "tiny", "--variants", "dot", "--seeds", "1")
    lines = [line for line in err.splitlines() if line.startswith("estimate:")]
    assert code == 0 and len(lines) == 1 and "from 1 stored run of similar size" in lines[0], err


def _cli(home, *argv, **environ) -> subprocess.Popen:
    env = {**os.environ, "ATTN_HOME": str(home), "ATTN_CANCEL_GRACE": str(int(HANG)),  # never killed by the runner
           **environ}
    return subprocess.Popen([sys.executable, "-m", "attn", "train", *argv], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=_as_in_a_terminal)


def _as_in_a_terminal() -> None:
    """Ctrl-C's default action, as in a terminal's foreground job. A suite started in the background by a
    non-interactive shell inherits SIGINT ignored, and Python then keeps ignoring it in the command."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _store_of(home) -> RunStore:
    return _until(lambda: (home / "runs.sqlite").exists() and RunStore(home), "the command to open its store")


def _training(store, n: int) -> list[str]:
    """Wait until `n` runs train (some steps written) -> their ids."""
    def ids():
        frame = store.runs(status="running")
        return list(frame["id"]) if len(frame) == n and (frame["step"].fillna(0) >= 4).all() else None
    return _until(ids, f"{n} runs to train")


def test_ctrl_c_cancels_the_runs_which_stop_themselves_and_keep_their_curves(tmp_path):
    home = tmp_path / "home"
    cli = _cli(home, *LONG_FLAGS, "--jobs", "2")
    try:
        store = _store_of(home)
        _training(store, 2)
        os.killpg(cli.pid, signal.SIGINT)  # Ctrl-C in a terminal: the command, its fork server and workers
        out, err = cli.communicate(timeout=HANG)
    finally:
        if cli.poll() is None:
            os.killpg(cli.pid, signal.SIGKILL)
    assert cli.returncode == 130 and "interrupted: cancelling 2 unfinished runs" in err, err
    assert "Traceback" not in err, err
    runs = store.runs()
    assert list(runs["status"]) == ["cancelled"] * 2
    assert list(runs["error"]) == ["stopped by request"] * 2  # each worker stopped itself
    assert all(step < total for step, total in zip(runs["step"], runs["total_steps"]))  # before the end
    assert all(len(store.curves(run_id)) >= 2 for run_id in runs["id"]) and store.integrity_check() == "ok"


def test_a_command_killed_with_sigkill_leaves_its_runs_interrupted_in_runs_list(tmp_path, capsys, monkeypatch):
    home = tmp_path / "home"
    cli = _cli(home, *LONG_FLAGS, "--jobs", "1")  # one run trains, the other waits in the queue
    try:
        store = _store_of(home)
        worker = store.run(_training(store, 1)[0]).worker
    finally:
        os.kill(cli.pid, signal.SIGKILL)  # the command only, as `kill -9 PID` does
        cli.communicate(timeout=HANG)
    _until(lambda: not process_alive(worker), "the worker to die with the command")
    monkeypatch.setenv("ATTN_HOME", str(home))
    assert main(["runs", "list", "--json"]) == 0  # the next look at the store
    rows = json.loads(capsys.readouterr().out)
    assert sorted(row["status"] for row in rows) == ["interrupted", "interrupted"]
    assert store.integrity_check() == "ok"


def test_sigterm_cancels_like_ctrl_c_and_removes_the_temporary_store(tmp_path):
    temp = tmp_path / "temp"
    temp.mkdir()
    cli = _cli(tmp_path / "home", *LONG_FLAGS, "--jobs", "2", "--no-store", TMPDIR=str(temp))
    try:
        folder = _until(lambda: next(temp.glob("attn-no-store-*/runs.sqlite"), None), "the temporary store").parent
        _training(RunStore(folder), 2)
        os.kill(cli.pid, signal.SIGTERM)  # `kill PID`, or `timeout` running out: the command only
        out, err = cli.communicate(timeout=HANG)
    finally:
        if cli.poll() is None:
            os.killpg(cli.pid, signal.SIGKILL)
    assert cli.returncode == 128 + signal.SIGTERM and "cancelling 2 unfinished runs" in err, err
    assert "Traceback" not in err and not folder.exists(), err


def test_no_store_removes_the_temporary_stores_of_commands_killed_with_sigkill(tmp_path, capsys, monkeypatch):
    from attn.cli.train import OWNER_FILE
    from attn.runs.store import process_token
    temp = tmp_path / "temp"
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setenv("ATTN_HOME", str(tmp_path / "home"))
    owners = {"abandoned": "999999999:1", "in-use": process_token(), "not-ours": None}  # 999999999: no such pid
    for name, owner in owners.items():
        (temp / f"attn-no-store-{name}").mkdir(parents=True)
        if owner is not None:
            (temp / f"attn-no-store-{name}" / OWNER_FILE).write_text(owner)
    code, _, err = _train(tmp_path, capsys, "--preset", "tiny", "--variants", "none", "--no-store")
    assert code == 0, err
    assert sorted(p.name for p in temp.glob("attn-no-store-*")) == ["attn-no-store-in-use", "attn-no-store-not-ours"]


def test_a_command_that_queues_the_lecture_demo_records_a_lecture_study(tmp_path, capsys):
    """The Lecture view opens on the newest lecture study: `train --preset lecture` and `preload` are that
    demo too, so their study has kind "lecture", not "cli" (record_study through plans.demo_kind)."""
    from attn.cli.train import record_study
    from attn.runs.plans import lecture_configs
    store = RunStore(tmp_path / "home")
    configs = lecture_configs()
    study = record_study(store, "attn train --preset lecture", configs, store.create_runs(configs))
    assert store.study(study).kind == "lecture"
    other = record_study(store, "attn train --preset tiny", [preset("tiny")], store.create_runs([preset("tiny")]))
    assert store.study(other).kind == "cli"


def test_preload_records_the_servers_own_demo_as_a_lecture_study_whatever_its_preset(tmp_path, monkeypatch, capsys):
    """A class server whose Home demo trains `tiny` (ATTN_DEMO_PRESET) preloads tiny runs: the Lecture view
    must open on them, so preload's study is a lecture study even though tiny is not the lecture preset."""
    from attn.cli.main import main
    home = tmp_path / "home"
    monkeypatch.setenv("ATTN_DEMO_PRESET", "tiny")
    assert main(["preload", "--home", str(home), "--variants", "none"]) == 0, capsys.readouterr().err
    store = RunStore(home)
    assert list(store.studies()["kind"]) == ["lecture"]
