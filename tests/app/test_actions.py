"""A click queues all of its runs or none: the Lecture demo or the Train form cannot be half-queued."""
from streamlit.testing.v1 import AppTest

from attn.runs.store import RunStore
from tests.app.apptest import RUN_TIMEOUT


def _queue_the_tiny_demo() -> None:
    """An AppTest script: the Lecture demo's three runs through the page's action, then what it said."""
    import streamlit as st
    from attn.app import actions, state
    from attn.viz import support as ds
    ids, cached, errors, _ = actions.submit_all(ds.lecture_configs("tiny"))  # a form's click: held to the limit
    for run_id in ids:  # nothing needs to train here: stop what was queued before the test ends
        state.runner().cancel(run_id)
    st.error(f"{len(ids)} {cached} {errors}")


def test_a_demo_over_the_visitors_limit_queues_none_of_its_runs(home, monkeypatch):
    monkeypatch.setenv("ATTN_MAX_QUEUED", "2")  # the demo asks for three
    at = AppTest.from_function(_queue_the_tiny_demo, default_timeout=RUN_TIMEOUT).run()
    assert not at.exception
    message = at.error[0].value
    assert message.startswith("0 0 ") and "Nothing was queued" in message and "at most 2" in message
    assert RunStore(home).runs().empty  # not two of the three


def test_a_demo_within_the_limit_queues_all_of_its_runs_together(home, monkeypatch):
    monkeypatch.setenv("ATTN_MAX_QUEUED", "3")
    at = AppTest.from_function(_queue_the_tiny_demo, default_timeout=RUN_TIMEOUT).run()
    assert not at.exception and at.error[0].value.startswith("3 0 []")
    runs = RunStore(home).runs()
    assert sorted(runs["variant"]) == ["additive", "dot", "none"]


def _press_the_length_demo() -> None:
    """An AppTest script: Home's "Train short, test long" click, then what it said; everything cancelled."""
    import streamlit as st
    from attn.app import actions, state
    from attn.config import length_configs
    done = actions.submit_all(length_configs(), study="Train short, test long", kind="length")
    for run_id in done.run_ids:
        state.runner().cancel(run_id)
    st.error(f"{len(done.run_ids)} {done.errors}")


def test_a_demo_is_not_held_to_the_visitors_limit(home, monkeypatch):
    monkeypatch.setenv("ATTN_MAX_QUEUED", "6")  # the default; the demo is a fixed set of 9 runs
    at = AppTest.from_function(_press_the_length_demo, default_timeout=RUN_TIMEOUT).run()
    assert not at.exception and at.error[0].value == "9 []"
    assert len(RunStore(home).runs()) == 9
