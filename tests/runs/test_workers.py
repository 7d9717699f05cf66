"""Where workers come from: a fork server, launched without the caller's __main__ script."""
import os
import sys
import types

from attn.config import PRESETS
from attn.runs import workers
from attn.runs.runner import JobRunner
from attn.runs.store import RunStore

HANG = 600.0  # seconds: only a hang reaches it


def test_a_worker_never_runs_the_callers_main_script(tmp_path, monkeypatch):
    # Streamlit's ScriptRunner puts the page being run in sys.modules["__main__"]; multiprocessing
    # would re-run that file in every new process. Here it is a script that leaves a mark.
    marker = tmp_path / "the page ran"
    script = tmp_path / "page.py"
    script.write_text(f"open({str(marker)!r}, 'w').close()\n")
    page = types.ModuleType("__main__")
    page.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", page)
    store = RunStore(tmp_path / "home")
    runner = JobRunner(store, max_jobs=2)
    try:
        ids = runner.submit_many([PRESETS["tiny"].with_variant(v) for v in ("none", "dot")])
        assert set(runner.wait_many(ids, timeout=HANG).values()) == {"done"}
    finally:
        runner.shutdown()
    assert sys.modules["__main__"] is page  # the caller's __main__ is back
    assert not marker.exists()


def test_start_puts_back_the_callers_main_unless_a_new_one_was_installed_meanwhile(monkeypatch):
    class Launch:
        """Stands in for a process: records the __main__ its start() saw, may install another one."""
        def __init__(self, install=None):
            self.install, self.seen = install, None

        def start(self):
            self.seen = sys.modules["__main__"]
            if self.install is not None:
                sys.modules["__main__"] = self.install

    page, next_page = types.ModuleType("__main__"), types.ModuleType("__main__")
    page.__file__ = "/somewhere/page.py"
    monkeypatch.setitem(sys.modules, "__main__", page)
    launch = Launch()
    workers.start(launch)
    assert not hasattr(launch.seen, "__file__") and launch.seen.__spec__ is None  # nothing to re-run
    assert sys.modules["__main__"] is page
    workers.start(Launch(install=next_page))  # Streamlit started the next page run meanwhile
    assert sys.modules["__main__"] is next_page


def test_a_process_started_through_the_adapter_comes_from_the_fork_server_and_runs():
    ctx = workers.mp_context()
    if "forkserver" in __import__("multiprocessing").get_all_start_methods():
        assert ctx.get_start_method() == "forkserver"
    process = ctx.Process(target=os.getpid)
    workers.start(process)
    process.join(HANG)
    assert process.exitcode == 0
