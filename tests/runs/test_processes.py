"""Process tokens: a run's owner is named by pid and start time, so a reused pid is not mistaken for it."""
import os
import subprocess
import sys

from attn.runs.processes import process_alive, process_token


def test_this_process_is_alive_under_its_token():
    token = process_token()
    assert token.startswith(f"{os.getpid()}:") and process_alive(token)


def test_a_finished_process_is_gone():
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                           check=True, timeout=60)
    assert not process_alive(f"{int(child.stdout)}:0")


def test_a_live_pid_with_another_start_time_is_another_process():
    pid, _, start = process_token().partition(":")
    assert start != "?", "this test needs /proc"
    assert not process_alive(f"{pid}:{int(start) + 1}")  # the pid was reused by a later process


def test_no_token_or_a_malformed_one_names_no_live_process():
    assert not process_alive(None) and not process_alive("") and not process_alive("not-a-pid:1")
