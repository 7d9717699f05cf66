"""attn.viz.support, the pages' index of helpers: every name is there, and loading it loads no torch or Streamlit."""
import json
import subprocess
import sys

from attn.runs import plans
from attn.viz import datasets, groups, playground, support, tables, text


def test_every_name_the_index_exports_is_the_modules_own_object():
    homes = (plans, datasets, groups, playground, tables, text)
    for name in support.__all__:
        owners = [m for m in homes if name in vars(m)]
        assert hasattr(support, name), f"support.__all__ names {name}, which it lacks"
        assert all(getattr(support, name) is getattr(m, name) for m in owners), name


def test_loading_the_indexes_loads_neither_torch_nor_streamlit():
    code = ("import json, sys, attn.viz.charts, attn.viz.support, attn.runs.plans; "
            "print(json.dumps(['torch' in sys.modules, 'streamlit' in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == [False, False]
