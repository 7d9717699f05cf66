"""What the AppTest tests share: the app opened fresh, a page switched to, its charts, and the checks
every test makes. Imported by the test modules as tests.app.apptest; fixtures are in conftest.py.
"""
from __future__ import annotations

import os

from streamlit.testing.v1 import AppTest

from tests import waiting

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAGES = ("home", "data", "train", "compare", "attention", "curves", "runs", "playground", "lecture", "heads", "sweep")
TSV = "Go.\tVa !\nHi.\tSalut !\nRun!\tCours !\nWho?\tQui ?\nWow!\tÇa alors !\nFire!\tAu feu !\n".encode()
# A script run that takes longer than this has hung; a busy machine takes a few seconds at most.
RUN_TIMEOUT = 300


def new_app() -> AppTest:
    """dashboard.py, not yet run (its secrets may still be set)."""
    return AppTest.from_file(os.path.join(ROOT, "dashboard.py"), default_timeout=RUN_TIMEOUT)


def start_app() -> AppTest:
    """A new visitor's first view of the app: Home, in the ATTN_HOME of the environment."""
    return new_app().run()


def open_page(at: AppTest, page: str) -> AppTest:
    """Switch to pages/<page>.py, as the sidebar link does."""
    return at.switch_page(f"pages/{page}.py").run()


def charts_of(at: AppTest) -> list:
    return list(at.get("vega_lite_chart"))


def assert_clean(at: AppTest) -> None:
    """No exception box and no error message on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def sign_in(at: AppTest, password: str) -> AppTest:
    return at.text_input(key="admin_password_input").input(password).run()


def wait_until(predicate, timeout: float, what: str):
    """Poll `predicate` until it returns something true -> that; `timeout` only guards against a hang."""
    return waiting.wait_until(predicate, what, timeout, poll=0.25)
