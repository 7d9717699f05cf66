"""pages/lecture.py: one study on a projector, chosen by ?study= or the newest lecture study, and kept
in the URL. The page is run inside the frame's marker (its link in dashboard.py's navigation is the
frame's business), on a copy of the tiny trained runs."""
import os

from streamlit.testing.v1 import AppTest

from attn.runs.store import RunStore
from tests.app.apptest import RUN_TIMEOUT, ROOT, assert_clean, charts_of

SCRIPT = f"""
import runpy
from attn.app import frame
with frame.framed():
    runpy.run_path({os.path.join(ROOT, "pages", "lecture.py")!r}, run_name="__page__")
"""


def lecture(query: dict | None = None) -> AppTest:
    at = AppTest.from_string(SCRIPT, default_timeout=RUN_TIMEOUT)
    at.query_params.update(query or {})
    return at.run()


def test_without_a_link_it_shows_the_newest_lecture_study_and_puts_it_in_the_url(trained_copy):
    store = RunStore(trained_copy)
    ids = list(store.runs()["id"])
    demo = store.add_study("Lecture demo", "lecture", ids)
    store.add_study("a student's run", "train", ids[:1])  # newer, but not a lecture: never shown here
    at = lecture()
    assert_clean(at)
    assert at.title[0].value == "Lecture demo"
    assert at.query_params["study"] == [demo] or at.query_params["study"] == demo
    assert len(charts_of(at)) == 3  # the loss, the metric by length, the maps of one long sentence
    assert any("falls most" in m.value or "one length bucket" in m.value for m in at.markdown)


def test_a_link_keeps_its_study_when_a_newer_demo_is_queued(trained_copy):
    store = RunStore(trained_copy)
    ids = list(store.runs()["id"])
    first = store.add_study("Monday's demo", "lecture", ids)
    store.add_study("Tuesday's demo", "lecture", ids[:2])
    at = lecture({"study": first})
    assert_clean(at)
    assert at.title[0].value == "Monday's demo"
    assert lecture().title[0].value == "Tuesday's demo"


def test_an_unknown_study_says_so_without_a_traceback(trained_copy):
    at = lecture({"study": "0123456789ab"})
    assert_clean(at)
    assert "0123456789ab" in at.warning[0].value
