"""Reading never waits for torch: the frame and every page that only reads runs render without importing it.

Importing torch costs a fresh server's first visitor seconds (benchmarks/first_view.py). Only models
need it: the Attention page for a sentence typed in, the Playground (the models' masked_softmax), and
training, in the job runner's workers. This test process has torch loaded already, so each page is
opened in a fresh interpreter, first thing after the frame, on the store of tiny trained runs (so
Compare, Curves and Attention draw their charts). When torch is imported anyway, the failure shows the
chain of imports that did it.
"""
import json
import os
import subprocess
import sys

import pytest

from tests.app.apptest import ROOT, RUN_TIMEOUT

# Each page and its title (seen, so the page is known to have been drawn to its end). Not here: the
# Playground, which computes its attention with the models' own masked_softmax (torch).
READING_PAGES = {"home": "Attention Lab", "data": "Data", "compare": "Compare by sentence length",
                 "curves": "Loss curves", "runs": "Runs", "train": "Train", "attention": "Attention maps",
                 "heads": "Heads", "sweep": "Sweep"}

OPEN_PAGE = r"""
import json, sys, traceback

chains = {"torch": [], "altair": []}


class WhoImports:
    '''A meta path finder that finds nothing: it notes the stack of the first `import torch` / `import altair`.'''

    def find_spec(self, name, path=None, target=None):
        if name in chains and not chains[name]:
            chains[name].extend(f"{f.filename}:{f.lineno}: {f.line}" for f in traceback.extract_stack()[:-1]
                                if f.filename.startswith(sys.argv[1]))
        return None


sys.meta_path.insert(0, WhoImports())
from streamlit.testing.v1 import AppTest

at = AppTest.from_file(sys.argv[1] + "/dashboard.py", default_timeout=float(sys.argv[3]))
if sys.argv[2] != "home":
    at.switch_page(f"pages/{sys.argv[2]}.py")
at.run()
print(json.dumps({"torch": "torch" in sys.modules, "chain": chains["torch"], "altair": "altair" in sys.modules,
                  "altair_chain": chains["altair"], "titles": [t.value for t in at.title],
                  "problems": [e.value for e in at.exception] + [e.value for e in at.error]}))
"""


def open_fresh(home, page: str) -> dict:
    """Open `page` first thing in a fresh interpreter on the store at `home`: what it imported, and its titles."""
    env = {**os.environ, "ATTN_HOME": str(home)}
    done = subprocess.run([sys.executable, "-c", OPEN_PAGE, ROOT, page, str(RUN_TIMEOUT)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=2 * RUN_TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["titles"] == [READING_PAGES[page]] and not seen["problems"], seen
    return seen


@pytest.mark.parametrize("page", list(READING_PAGES))
def test_a_page_that_only_reads_never_imports_torch(trained, page):
    seen = open_fresh(trained, page)
    assert not seen["torch"], f"opening {page} imported torch:\n  " + "\n  ".join(seen["chain"])


def test_home_draws_no_chart_and_imports_no_altair(trained):
    """Altair takes about as long to import as pandas; Home draws no chart, so a fresh server's first
    visitor does not wait for it (benchmarks/first_view.py). Chart pages import it when they draw."""
    seen = open_fresh(trained, "home")
    assert not seen["altair"], "opening Home imported altair:\n  " + "\n  ".join(seen["altair_chain"])
    assert open_fresh(trained, "curves")["altair"]  # the finder sees an import of altair where there is one


HEAD_IMPORTS = r"""
import sys
import attn.app.actions, attn.app.admin, attn.app.frame, attn.app.state
from attn.viz import support as ds
ds.EQUATIONS, ds.QUERY_NOTE, ds.lecture_configs  # Home's head, drawn before its column of stored runs
print(sorted(m for m in ("pandas", "altair", "torch") if m in sys.modules))
"""


def test_the_frame_and_homes_head_load_without_pandas():
    """What a fresh server's first visitor waits for before Home's title shows: the frame's modules and
    the helpers of Home's head. pandas loads with the first run table, after the title is on screen."""
    done = subprocess.run([sys.executable, "-c", HEAD_IMPORTS], cwd=ROOT, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["[]"], f"the frame or Home's head imported {done.stdout.strip()}"
